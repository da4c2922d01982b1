-- Okta ThreatInsight flagged a request as coming from a malicious actor.
-- Conformance port of Panther's Okta.ThreatInsight.Security.Threat.Detected (English spec).
-- No `match`: the upstream test events spell the key `eventtype` (see README).

id = "Okta.ThreatInsight.Security.Threat.Detected"
log_types = { "Okta.SystemLog" }
default_severity = "HIGH"
display_name = "Okta ThreatInsight Security Threat Detected"
enabled = true
dedup_minutes = 60
threshold = 1
reports = {}
tags = {}

-- Checked in this order; the first level named anywhere in threatDetections wins.
local LEVELS = { "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO" }

function rule(e)
  return deep_get(e, "eventType") == "security.threat.detected"
end

function title(e)
  return string.format(
    "Okta: ThreatInsight identified potentially malicious behavior for [%s]",
    tostring(deep_get(e, "actor", "displayName") or "<display-name-not-found>"))
end

function severity(e)
  -- Okta already blocked the request: informational only.
  if deep_get(e, "outcome", "result") == "DENY" then
    return "INFO"
  end
  -- threatDetections is a JSON document serialised into a string; a plain substring
  -- search is enough to find the levels it mentions.
  local detections = deep_get(e, "debugContext", "debugData", "threatDetections")
  if type(detections) ~= "string" then
    detections = detections == nil and "<threat-detection-not-found>" or json.encode(detections)
  end
  for _, level in ipairs(LEVELS) do
    if strings.contains(detections, level) then
      return level
    end
  end
  return "MEDIUM"
end

function alert_context(e)
  return okta.alert_context(e)
end
