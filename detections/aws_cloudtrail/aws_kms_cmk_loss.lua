-- AWS.KMS.CustomerManagedKeyLoss: a customer managed KMS key was disabled or scheduled
-- for deletion (CIS 3.7).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_kms_cmk_loss.yml, Apache-2.0), written from the English
-- spec in shared/conformance/panther. Tests: aws_kms_cmk_loss.tests.json.

id = "AWS.KMS.CustomerManagedKeyLoss"
display_name = "KMS CMK Disabled or Deleted"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
dedup_minutes = 60
threshold = 1
reports = { CIS = { "3.7" }, ["MITRE ATT&CK"] = { "TA0040:T1485" } }
tags = { "AWS", "Identity & Access Management", "Impact:Data Destruction" }

match = { eventName = { "DisableKey", "ScheduleKeyDeletion" } }

local WATCHED = {}
for _, name in ipairs(match.eventName) do WATCHED[name] = true end

function rule(e)
  return WATCHED[e.eventName] == true and aws_cloudtrail_success(e)
end

-- One alert per key: the ARN of the first KMS key among the resources, else the event name.
function dedup(e)
  local resources = e.resources
  if type(resources) ~= "table" then resources = {} end
  for _, resource in ipairs(resources) do
    if type(resource) == "table" and resource.type == "AWS::KMS::Key" then
      local arn = resource.ARN
      return arn ~= nil and tostring(arn) or nil
    end
  end
  return e.eventName
end

function alert_context(e)
  return aws.rule_context(e)
end
