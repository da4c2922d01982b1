-- Okta: someone revealed the stored app password of another user
-- (application.user_membership.show_password where the owner is not the actor).
-- lp0 detection (not a Panther port).

id = "Okta.Password.RevealedForOtherUser"
log_types = { "Okta.SystemLog" }
default_severity = "MEDIUM"
display_name = "Okta app password revealed for another user"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0006:T1555" } }
tags = { "Okta", "Credential Access:Credentials from Password Stores" }
match = { eventType = "application.user_membership.show_password", ["outcome.result"] = "SUCCESS" }

-- The Okta user who owns the app assignment: the target of type User; the AppUser
-- target (the username inside the app) is only a fallback, since it often differs
-- from the Okta login even for the owner.
local function target_of_type(e, kind)
  local targets = deep_get(e, "target")
  if type(targets) ~= "table" then return nil end
  for _, t in ipairs(targets) do
    if deep_get(t, "type") == kind then return t end
  end
  return nil
end

local function owner(e)
  local t = target_of_type(e, "User") or target_of_type(e, "AppUser")
  return t and deep_get(t, "alternateId")
end

function rule(e)
  if deep_get(e, "eventType") ~= "application.user_membership.show_password"
    or deep_get(e, "outcome", "result") ~= "SUCCESS" then
    return false
  end
  local who, whose = deep_get(e, "actor", "alternateId"), owner(e)
  if type(who) ~= "string" or type(whose) ~= "string" then return false end
  return string.lower(who) ~= string.lower(whose)
end

local function app_name(e)
  local app = target_of_type(e, "AppInstance")
  return app and (deep_get(app, "displayName") or deep_get(app, "alternateId")) or "<unknown-app>"
end

function title(e)
  return string.format("Okta: [%s] revealed the [%s] password of [%s]",
    tostring(okta.actor_user(e)), tostring(app_name(e)), tostring(owner(e)))
end

function dedup(e)
  return tostring(okta.actor_user(e)) .. " -> " .. tostring(owner(e))
end

function alert_context(e)
  return okta.alert_context(e)
end
