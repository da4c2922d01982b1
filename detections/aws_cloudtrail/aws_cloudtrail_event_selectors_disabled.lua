-- AWS.CloudTrail.EventSelectorsDisabled: a trail's event selectors were changed to leave
-- out management events.
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_cloudtrail_event_selectors_disabled.yml, Apache-2.0),
-- written from the English spec in shared/conformance/panther.
-- Tests: aws_cloudtrail_event_selectors_disabled.tests.json.

id = "AWS.CloudTrail.EventSelectorsDisabled"
display_name = "CloudTrail Event Selectors Disabled"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
threshold = 1
reports = {
  CIS = { "3.5" },
  ["MITRE ATT&CK"] = { "TA0005:T1562" },
  ["Stratus Red Team"] = { "aws.defense-evasion.cloudtrail-event-selectors" },
}
tags = { "AWS", "Security Control", "Defense Evasion:Impair Defenses" }

match = { eventName = "PutEventSelectors" }

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

-- Python falsiness of a JSON value.
local function falsy(v)
  return v == nil or v == false or v == 0 or v == "" or (type(v) == "table" and next(v) == nil)
end

-- Only the (basic) event selectors are inspected, not advanced event selectors.
function rule(e)
  if e.eventName ~= "PutEventSelectors" or not aws_cloudtrail_success(e) then
    return false
  end
  local found = deep_walk(e, "requestParameters", "eventSelectors", "includeManagementEvents")
  if found == nil then
    return false
  end
  -- deep_walk gives the value itself when all selectors agree, else an array of values.
  if type(found) ~= "table" then
    return falsy(found)
  end
  for _, v in ipairs(found) do
    if falsy(v) then
      return true
    end
  end
  return false
end

function dedup(e)
  return text(deep_get(e, "requestParameters", "trailName") or "<UNKNOWN_NAME>")
end

-- "exluded" is upstream's spelling, kept so titles match Panther's.
function title(e)
  return "Management events have been exluded from CloudTrail [" .. dedup(e) ..
    "] in account [" .. text(e.recipientAccountId) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

-- Cases beyond the upstream events (those are in the sidecar).
tests = {
  { name = "one of two selectors drops management events", expect = true,
    event = [[{"eventName": "PutEventSelectors", "recipientAccountId": "111122223333",
      "requestParameters": {"trailName": "main", "eventSelectors": [
        {"includeManagementEvents": true, "readWriteType": "All"},
        {"includeManagementEvents": false, "readWriteType": "ReadOnly"}]}}]],
    dedup = "main" },
  { name = "only advanced event selectors", expect = false,
    event = [[{"eventName": "PutEventSelectors", "requestParameters": {"trailName": "main",
      "advancedEventSelectors": [{"name": "x", "fieldSelectors": []}]}}]] },
}
