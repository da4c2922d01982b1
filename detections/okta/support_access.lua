-- Okta: Okta support was granted (or started) impersonation access to the org.
-- Conformance port of Panther's Okta.Support.Access (English spec).

id = "Okta.Support.Access"
log_types = { "Okta.SystemLog" }
default_severity = "MEDIUM"
display_name = "Okta Support Access Granted"
enabled = true
dedup_minutes = 15
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0001:T1199" } }
tags = { "Identity & Access Management", "DataModel", "Okta", "Initial Access:Trusted Relationship" }

local EVENTS = { "user.session.impersonation.grant", "user.session.impersonation.initiate" }
match = { eventType = EVENTS }

function rule(e)
  local t = deep_get(e, "eventType")
  return t == EVENTS[1] or t == EVENTS[2]
end

function title(e)
  return "Okta Support Access Granted by " .. tostring(okta.actor_user(e))
end

function alert_context(e)
  return {
    user = okta.actor_user(e),
    ip = deep_get(e, "client", "ipAddress"),
    event = deep_get(e, "eventType"),
  }
end
