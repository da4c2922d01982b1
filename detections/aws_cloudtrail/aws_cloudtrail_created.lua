-- AWS.CloudTrail.Created: a CloudTrail trail was created, updated or started logging.
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_cloudtrail_created.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_cloudtrail_created.tests.json.

id = "AWS.CloudTrail.Created"
display_name = "A CloudTrail Was Created or Updated"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
dedup_minutes = 60
threshold = 1
reports = {
  CIS = { "3.5" },
  ["MITRE ATT&CK"] = { "TA0007:T1538" },
  ["Stratus Red Team"] = { "aws.defense-evasion.cloudtrail-stop" },
}
tags = { "AWS", "Security Control", "Discovery:Cloud Service Dashboard" }

match = { eventName = { "CreateTrail", "UpdateTrail", "StartLogging" } }

local WATCHED = {}
for _, name in ipairs(match.eventName) do WATCHED[name] = true end

-- Python-style rendering: a missing value prints as None, as upstream titles do.
local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

function rule(e)
  return WATCHED[e.eventName] == true and aws_cloudtrail_success(e)
end

-- No dedup hook: the title (one alert per trail) is the dedup key.
function title(e)
  return "CloudTrail [" .. text(deep_get(e, "requestParameters", "name")) .. "] was created/updated"
end

function alert_context(e)
  return aws.rule_context(e)
end
