-- Okta: every MFA factor of a user was reset.
-- Conformance port of Panther's Okta.User.MFA.Reset.All (English spec).
-- No `match`: the upstream test events spell the key `eventtype` (see README).

id = "Okta.User.MFA.Reset.All"
log_types = { "Okta.SystemLog" }
default_severity = "LOW"
display_name = "Okta User MFA Reset All"
enabled = true
dedup_minutes = 60
threshold = 1
reports = {}
tags = {}

function rule(e)
  return deep_get(e, "eventType") == "user.mfa.factor.reset_all"
end

function title(e)
  local targets = deep_get(e, "target")
  local user = type(targets) == "table" and targets[1] and deep_get(targets[1], "alternateId")
  return string.format("Okta: All MFA factors were reset for [%s] by [%s]",
    tostring(user or "<id-not-found>"),
    tostring(deep_get(e, "actor", "alternateId") or "<id-not-found>"))
end

function alert_context(e)
  return okta.alert_context(e)
end
