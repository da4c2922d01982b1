-- AWS.ConfigService.Created: AWS Config recording or delivery was set up (CIS 3.9).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_config_service_created.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_config_service_created.tests.json.

id = "AWS.ConfigService.Created"
display_name = "AWS Config Service Created"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
dedup_minutes = 60
threshold = 1
reports = { CIS = { "3.9" }, ["MITRE ATT&CK"] = { "TA0007:T1526" } }
tags = { "AWS", "Security Control", "Discovery:Cloud Service Discovery" }

match = {
  eventName = { "PutDeliveryChannel", "PutConfigurationRecorder", "StartConfigurationRecorder" },
}

local WATCHED = {}
for _, name in ipairs(match.eventName) do WATCHED[name] = true end

-- No title or dedup hook: every match shares the display name.
function rule(e)
  return WATCHED[e.eventName] == true and aws_cloudtrail_success(e)
end

function alert_context(e)
  return aws.rule_context(e)
end
