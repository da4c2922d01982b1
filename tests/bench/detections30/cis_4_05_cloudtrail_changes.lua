-- CIS AWS Foundations 4.5: CloudTrail configuration changes. Stopping or deleting a
-- trail blinds every other detection, so those two are HIGH.

id = "Bench.CIS.CloudTrailChanges"
display_name = "CloudTrail configuration changed"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "4.5" }, ["MITRE ATT&CK"] = { "TA0005:T1562.008" } }
tags = { "AWS", "CIS", "Defense Evasion" }

match = {
  eventSource = "cloudtrail.amazonaws.com",
  eventName = { "CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging",
                "PutEventSelectors" },
}

local BLINDING = { StopLogging = true, DeleteTrail = true }

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "CloudTrail [" .. (deep_get(e, "requestParameters", "name") or "<unknown trail>")
    .. "]: " .. e.eventName .. " in account [" .. (e.recipientAccountId or "?") .. "]"
end

function severity(e)
  if BLINDING[e.eventName] then return "HIGH" end
  -- A selector that drops management events is as bad as stopping the trail.
  for _, sel in ipairs(deep_get(e, "requestParameters", "eventSelectors") or {}) do
    if sel.includeManagementEvents == false then return "HIGH" end
  end
  return "DEFAULT"
end

function alert_context(e)
  return aws.rule_context(e)
end

local function trail(name, extra)
  local ev = { eventVersion = "1.09", eventSource = "cloudtrail.amazonaws.com", eventName = name,
               recipientAccountId = "318462095713",
               userIdentity = { type = "IAMUser", userName = "bob.okafor" },
               requestParameters = { name = "org-management-events" } }
  for k, v in pairs(extra or {}) do ev[k] = v end
  return ev
end

tests = {
  { name = "stop logging", expect = true, severity = "HIGH",
    title = "CloudTrail [org-management-events]: StopLogging in account [318462095713]",
    event = trail("StopLogging") },
  { name = "update trail", expect = true, severity = "MEDIUM", event = trail("UpdateTrail") },
  { name = "selectors drop management events", expect = true, severity = "HIGH",
    event = trail("PutEventSelectors", { requestParameters = { name = "t",
      eventSelectors = { { readWriteType = "ReadOnly", includeManagementEvents = false } } } }) },
  { name = "failed delete", expect = false,
    event = trail("DeleteTrail", { errorCode = "TrailNotFoundException", errorMessage = "Unknown trail" }) },
}
