-- AWS.CloudTrail.Stopped: a CloudTrail trail was deleted or stopped logging.
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_cloudtrail_stopped.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_cloudtrail_stopped.tests.json.

id = "AWS.CloudTrail.Stopped"
display_name = "CloudTrail Stopped"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
threshold = 1
reports = {
  CIS = { "3.5" },
  ["MITRE ATT&CK"] = { "TA0005:T1562" },
  ["Stratus Red Team"] = {
    "aws.defense-evasion.cloudtrail-delete", "aws.defense-evasion.cloudtrail-stop",
  },
}
tags = { "AWS", "Security Control", "DemoThreatHunting", "Defense Evasion:Impair Defenses" }

match = { eventName = { "DeleteTrail", "StopLogging" } }

local WATCHED = {}
for _, name in ipairs(match.eventName) do WATCHED[name] = true end

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

function rule(e)
  return WATCHED[e.eventName] == true and aws_cloudtrail_success(e)
end

-- The trail name or ARN: one alert per trail.
function dedup(e)
  return text(deep_get(e, "requestParameters", "name") or "<UNKNOWN_NAME>")
end

function title(e)
  return "CloudTrail [" .. dedup(e) .. "] in account [" .. text(e.recipientAccountId) ..
    "] was stopped/deleted"
end

function alert_context(e)
  return aws.rule_context(e)
end
