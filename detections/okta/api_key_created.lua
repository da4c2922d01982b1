-- Okta: an API token was created.
-- Conformance port of Panther's Okta.APIKeyCreated, written from the English spec in
-- shared/conformance/panther/Okta.SystemLog/Okta.APIKeyCreated.json.

id = "Okta.APIKeyCreated"
log_types = { "Okta.SystemLog" }
default_severity = "INFO"
display_name = "Okta API Key Created"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0006:T1528" } }
tags = { "Identity & Access Management", "Okta", "Credential Access:Steal Application Access Token" }
match = { eventType = "system.api_token.create", ["outcome.result"] = "SUCCESS" }

-- Python-style rendering: a missing value prints as None, as in the upstream titles.
local function py(v)
  if v == nil then return "None" end
  return tostring(v)
end

function rule(e)
  return deep_get(e, "eventType") == "system.api_token.create"
    and deep_get(e, "outcome", "result") == "SUCCESS"
end

local function key_name(e)
  local targets = deep_get(e, "target")
  if type(targets) ~= "table" or targets[1] == nil then
    return "MISSING TARGET"
  end
  return deep_get(targets[1], "displayName") or "MISSING DISPLAY NAME"
end

function title(e)
  -- No space before "created": kept exactly as upstream renders it.
  return string.format("%s <%s>created a new API key - <%s>",
    py(deep_get(e, "actor", "displayName")), py(deep_get(e, "actor", "alternateId")),
    py(key_name(e)))
end

function alert_context(e)
  return okta.alert_context(e)
end

tests = {
  {
    name = "API key revoked (lp0 extra negative)",
    expect = false,
    event = {
      uuid = "2a992f80-d1ad-4f62-900e-8c68bb72a21b", published = "2021-01-08 21:28:34.875",
      eventType = "system.api_token.revoke", version = "0", severity = "INFO",
      legacyEventType = "api.token.revoke", displayMessage = "Revoke API token",
      actor = { alternateId = "user@example.com", displayName = "Test User",
        id = "00u3q14ei6KUOm4Xi2p4", type = "User" },
      outcome = { result = "SUCCESS" },
      target = { { id = "00Tpki36zlWjhjQ1u2p4", type = "Token", alternateId = "unknown",
        displayName = "test_key" } },
    },
  },
  {
    name = "API key creation failed (lp0 extra negative)",
    expect = false,
    event = { eventType = "system.api_token.create", outcome = { result = "FAILURE" },
      actor = { alternateId = "user@example.com", displayName = "Test User" } },
  },
}
