-- Okta: repeated attempts by one user to open an app they are not assigned to.
-- Conformance port of Panther's Okta.App.Unauthorized.Access.Attempt (English spec).
-- No `match`: the upstream test events spell the key `eventtype`, which only the
-- case-insensitive event lookup finds, and `match` compares key names exactly.

id = "Okta.App.Unauthorized.Access.Attempt"
log_types = { "Okta.SystemLog" }
default_severity = "LOW"
display_name = "Okta App Unauthorized Access Attempt"
enabled = true
dedup_minutes = 60
threshold = 5
reports = {}
tags = {}

local function first_target(e)
  local targets = deep_get(e, "target")
  if type(targets) == "table" then return targets[1] end
  return nil
end

function rule(e)
  return deep_get(e, "eventType") == "app.generic.unauth_app_access_attempt"
end

function title(e)
  local t = first_target(e)
  local app = t and deep_get(t, "alternateId") or "<id-not-found>"
  return string.format("[%s] attempted unauthorized access to [%s]",
    tostring(deep_get(e, "actor", "alternateId") or "<id-not-found>"), tostring(app))
end

function alert_context(e)
  return okta.alert_context(e)
end
