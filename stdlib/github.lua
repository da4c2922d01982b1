-- github.lua — GitHub audit-log helpers: alert_context (the standard GitHub alert
-- context), actor_user, user and event_type (the GitHub data-model fields).
--
-- They follow "Shared contexts" and "Data-model fields" of
-- ../shared/conformance/panther/README.md.
-- SPDX-License-Identifier: MIT

local require = require
local deep_get = require("prelude").deep_get

local M = {}

-- alert_context(e): action, actor, org, repo, user (each "" when missing) and
-- actor_location (actor_location.country_code; nil, so absent, when missing).
function M.alert_context(e)
  return {
    action = deep_get(e, "action") or "",
    actor = deep_get(e, "actor") or "",
    actor_location = deep_get(e, "actor_location", "country_code"),
    org = deep_get(e, "org") or "",
    repo = deep_get(e, "repo") or "",
    user = deep_get(e, "user") or "",
  }
end

-- actor_user(e): the actor field, or nil.
function M.actor_user(e)
  return deep_get(e, "actor")
end

-- user(e): the user field, or nil.
function M.user(e)
  return deep_get(e, "user")
end

local ADMIN_ACTIONS = {
  ["business.add_admin"] = true,
  ["business.invite_admin"] = true,
  ["team.promote_maintainer"] = true,
}

-- event_type(e): "admin_role_assigned", "mfa_disabled", or nil.
function M.event_type(e)
  local action = deep_get(e, "action")
  if ADMIN_ACTIONS[action] then
    return "admin_role_assigned"
  end
  if action == "team.add_repository" and deep_get(e, "permission") == "admin" then
    return "admin_role_assigned"
  end
  if action == "org.disable_two_factor_requirement" then
    return "mfa_disabled"
  end
  return nil
end

return M
