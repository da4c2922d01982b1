-- Okta: an administrator deactivated an MFA factor for the whole org.
-- Conformance port of Panther's Okta.Global.MFA.Disabled (English spec).

id = "Okta.Global.MFA.Disabled"
log_types = { "Okta.SystemLog" }
default_severity = "HIGH"
display_name = "Okta MFA Globally Disabled"
enabled = true
dedup_minutes = 15
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0005:T1556" } }
tags = { "Identity & Access Management", "DataModel", "Okta", "Defense Evasion:Modify Authentication Process" }
match = { eventType = "system.mfa.factor.deactivate" }

function rule(e)
  return okta.event_type(e) == "admin_mfa_disabled"
end

function title(e)
  return "Okta System-wide MFA Disabled by Admin User " .. tostring(okta.actor_user(e))
end

function alert_context(e)
  return {
    user = okta.actor_user(e),
    ip = deep_get(e, "client", "ipAddress"),
    event = deep_get(e, "eventType"),
  }
end
