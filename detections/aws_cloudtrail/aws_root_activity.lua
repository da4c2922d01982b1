-- AWS.Root.Activity: the root user did something that changes the account (CIS 3.3).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_root_activity.yml, Apache-2.0), written from the English
-- spec in shared/conformance/panther. Tests: aws_root_activity.tests.json.

id = "AWS.Root.Activity"
display_name = "Root Account Activity"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
threshold = 1
reports = { CIS = { "3.3" }, ["MITRE ATT&CK"] = { "TA0004:T1078" } }
tags = {
  "AWS", "Identity & Access Management", "DemoThreatHunting",
  "Privilege Escalation:Valid Accounts",
}

match = { ["userIdentity.type"] = "Root" }

-- Root actions that are expected and not worth an alert.
local IGNORED_EVENTS = { CreateServiceLinkedRole = true }

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

-- Python truthiness, as upstream tests readOnly.
local function truthy(v)
  return v ~= nil and v ~= false and v ~= "" and v ~= 0
end

function rule(e)
  return deep_get(e, "userIdentity", "type") == "Root"
    and aws_cloudtrail_success(e)
    -- done by an AWS service on the account's behalf
    and deep_get(e, "userIdentity", "invokedBy") == nil
    and e.eventType ~= "AwsServiceEvent"
    and not IGNORED_EVENTS[e.eventName]
    and not truthy(e.readOnly)
end

function title(e)
  return "AWS root user activity [" .. text(e.eventName) .. "] in account [" ..
    text(e.recipientAccountId) .. "]"
end

-- One alert per source IP per window; later root actions from it join the alert.
function dedup(e)
  return text(e.sourceIPAddress or "<UNKNOWN_IP>")
end

function alert_context(e)
  return {
    sourceIPAddress = e.sourceIPAddress,
    userIdentityAccountId = deep_get(e, "userIdentity", "accountId"),
    userIdentityArn = deep_get(e, "userIdentity", "arn"),
    eventTime = e.eventTime,
    mfaUsed = deep_get(e, "additionalEventData", "MFAUsed"),
  }
end

-- Cases beyond the upstream events (those are in the sidecar).
tests = {
  { name = "root action done by an AWS service", expect = false,
    event = { eventName = "PutBucketPolicy", eventType = "AwsApiCall",
      userIdentity = { type = "Root", invokedBy = "cloudformation.amazonaws.com" } } },
  { name = "no source address: a fixed dedup key", expect = true,
    event = {
      eventName = "DeleteBucket", eventType = "AwsApiCall", recipientAccountId = "123456789012",
      userIdentity = { type = "Root", accountId = "123456789012" } },
    dedup = "<UNKNOWN_IP>" },
}
