-- GitHub: the organisation's authentication settings changed (SAML, 2FA requirement,
-- OAuth app restrictions), in either direction.
-- Conformance port of Panther's GitHub.Org.AuthChange (English spec).

id = "GitHub.Org.AuthChange"
log_types = { "GitHub.Audit" }
default_severity = "CRITICAL"
display_name = "GitHub Org Authentication Method Changed"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0003:T1098" } }
tags = {
  "GitHub", "Persistence", "Account Manipulation", "Identity and Access Management",
  "Security Configuration", "Privilege Escalation", "Defense Evasion", "Organization Security",
}

local AUTH_ACTIONS = {
  "org.saml_disabled",
  "org.saml_enabled",
  "org.disable_two_factor_requirement",
  "org.enable_two_factor_requirement",
  "org.update_saml_provider_settings",
  "org.enable_oauth_app_restrictions",
  "org.disable_oauth_app_restrictions",
}
match = { action = AUTH_ACTIONS }

local IS_AUTH_ACTION = {}
for _, a in ipairs(AUTH_ACTIONS) do IS_AUTH_ACTION[a] = true end

function rule(e)
  local action = deep_get(e, "action")
  -- upstream raises on a missing action; here it simply does not match
  return type(action) == "string" and strings.starts_with(action, "org.")
    and IS_AUTH_ACTION[action] == true
end

function title(e)
  return "GitHub auth configuration was changed by " .. tostring(deep_get(e, "actor") or "<UNKNOWN USER>")
end
