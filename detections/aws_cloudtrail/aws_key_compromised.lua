-- AWS.IAM.AccessKeyCompromised: AWS attached one of its quarantine policies to a user
-- because that user's access key was found exposed.
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_key_compromised.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_key_compromised.tests.json.

id = "AWS.IAM.AccessKeyCompromised"
display_name = "AWS IAM Access Key Compromise Detection"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0006:T1552" } }
tags = { "AWS", "Credential Access:Unsecured Credentials" }

match = {
  eventName = "PutUserPolicy",
  ["requestParameters.policyName"] = {
    "AWSExposedCredentialPolicy_DO_NOT_REMOVE", "AWSCompromisedKeyQuarantine",
    "AWSCompromisedKeyQuarantineV2", "AWSCompromisedKeyQuarantineV3",
  },
}

local QUARANTINE_POLICIES = {}
for _, name in ipairs(match["requestParameters.policyName"]) do QUARANTINE_POLICIES[name] = true end

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

-- No success check (as upstream).
function rule(e)
  local policy = deep_get(e, "requestParameters", "policyName")
  return e.eventName == "PutUserPolicy" and QUARANTINE_POLICIES[policy] == true
end

function title(e)
  return "[" .. text(deep_get(e, "userIdentity", "userName")) .. "]'s AWS IAM Access Key ID [" ..
    text(deep_get(e, "userIdentity", "accessKeyId")) .. "] was exposed and quarantined by AWS"
end

function alert_context(e)
  return aws.rule_context(e)
end
