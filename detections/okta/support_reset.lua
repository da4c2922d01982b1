-- Okta: a password or MFA reset carrying the fingerprint of an Okta-support action
-- (actor system@okta.com, transaction id "unknown", no user agent string, no geo data).
-- Conformance port of Panther's Okta.Support.Reset (English spec).

id = "Okta.Support.Reset"
log_types = { "Okta.SystemLog" }
default_severity = "HIGH"
display_name = "Okta Support Reset Credential"
enabled = true
dedup_minutes = 15
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0001:T1199" } }
tags = { "Identity & Access Management", "DataModel", "Okta", "Initial Access:Trusted Relationship" }

local RESET_EVENTS = {
  "user.account.reset_password",
  "user.mfa.factor.update",
  "system.mfa.factor.deactivate",
  "user.mfa.attempt_bypass",
}
match = {
  eventType = RESET_EVENTS,
  ["actor.alternateId"] = "system@okta.com",
  ["transaction.id"] = "unknown",
}

local function is_reset_event(t)
  for _, name in ipairs(RESET_EVENTS) do
    if t == name then return true end
  end
  return false
end

function rule(e)
  return is_reset_event(deep_get(e, "eventType"))
    and deep_get(e, "actor", "alternateId") == "system@okta.com"
    and deep_get(e, "transaction", "id") == "unknown"
    and deep_get(e, "client", "userAgent", "rawUserAgent") == nil
    and deep_get(e, "client", "geographicalContext", "country") == nil
end

-- The first target of type User names the account that was reset.
local function reset_user(e)
  local targets = deep_get(e, "target")
  if type(targets) ~= "table" then return "<unknown-user>" end
  for _, t in ipairs(targets) do
    if deep_get(t, "type") == "User" then
      return deep_get(t, "alternateId") or deep_get(t, "displayName") or "<unknown-user>"
    end
  end
  return "<unknown-user>"
end

function title(e)
  return "Okta Support Reset Password or MFA for user " .. tostring(reset_user(e))
end

function alert_context(e)
  return okta.alert_context(e)
end
