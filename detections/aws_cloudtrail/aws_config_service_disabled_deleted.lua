-- AWS.ConfigService.DisabledDeleted: AWS Config recording stopped or its delivery
-- channel deleted (CIS 3.9).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_config_service_disabled_deleted.yml, Apache-2.0), written
-- from the English spec in shared/conformance/panther.
-- Tests: aws_config_service_disabled_deleted.tests.json.

id = "AWS.ConfigService.DisabledDeleted"
display_name = "AWS Config Service Disabled"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
threshold = 1
reports = { CIS = { "3.9" }, ["MITRE ATT&CK"] = { "TA0005:T1562" } }
tags = { "AWS", "Security Control", "Defense Evasion:Impair Defenses" }

match = { eventName = { "StopConfigurationRecorder", "DeleteDeliveryChannel" } }

local WATCHED = {}
for _, name in ipairs(match.eventName) do WATCHED[name] = true end

function rule(e)
  return WATCHED[e.eventName] == true and aws_cloudtrail_success(e)
end

function alert_context(e)
  return aws.rule_context(e)
end
