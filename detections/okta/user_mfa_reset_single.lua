-- Okta: a user reset one of their own MFA factors.
-- Conformance port of Panther's Okta.User.MFA.Reset.Single (English spec).
-- No `match`: the upstream test event spells the key `eventtype` (see README).

id = "Okta.User.MFA.Reset.Single"
log_types = { "Okta.SystemLog" }
default_severity = "INFO"
display_name = "Okta User MFA Own Reset"
enabled = true
dedup_minutes = 60
threshold = 1
reports = {}
tags = {}

function rule(e)
  return okta.event_type(e) == "mfa_reset"
end

-- outcome.reason reads "User reset <FACTOR> factor": the factor is the third word.
local function factor(e)
  local reason = deep_get(e, "outcome", "reason")
  local n = 0
  for word in tostring(reason or ""):gmatch("%S+") do
    n = n + 1
    if n == 3 then return word end
  end
  return "<FACTOR_NOT_FOUND>"
end

function title(e)
  local targets = deep_get(e, "target")
  local user = type(targets) == "table" and targets[1] and deep_get(targets[1], "alternateId")
  return string.format("Okta: User reset their MFA factor [%s] [%s] by [%s]",
    factor(e), tostring(user or "<id-not-found>"),
    tostring(deep_get(e, "actor", "alternateId") or "<id-not-found>"))
end

function alert_context(e)
  return okta.alert_context(e)
end
