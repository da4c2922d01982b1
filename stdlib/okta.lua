-- okta.lua — Okta System Log helpers: alert_context (the standard Okta alert
-- context), actor_user, source_ip and event_type (the Okta data-model fields).
--
-- They follow "Shared contexts" and "Data-model fields" of
-- ../shared/conformance/panther/README.md. The context omits `PantherFlow
-- Investigation`. Missing objects default to {} and missing lists (target, ips) to an
-- empty JSON array, so the context always has the same shape; event values are
-- returned as they are, not copied.
-- SPDX-License-Identifier: MIT

local type, sub, pcall, require = type, string.sub, pcall, require
local deep_get = require("prelude").deep_get

-- json is a C module of the engine; a bare Lua interpreter (a test harness) lacks it,
-- and then a plain {} stands in for an empty JSON array.
local has_json, json = pcall(require, "json")
if not has_json or type(json) ~= "table" or json.array == nil then
  json = nil
end

local function empty_array()
  local t = {}
  if json then
    return json.array(t) or t
  end
  return t
end

local M = {}

-- alert_context(e): the standard Okta alert context.
function M.alert_context(e)
  return {
    event_type = deep_get(e, "eventType") or "",
    severity = deep_get(e, "severity") or "",
    actor = deep_get(e, "actor") or {},
    client = deep_get(e, "client") or {},
    request = deep_get(e, "request") or {},
    outcome = deep_get(e, "outcome") or {},
    target = deep_get(e, "target") or empty_array(),
    debug_context = deep_get(e, "debugContext") or {},
    authentication_context = deep_get(e, "authenticationContext") or {},
    security_context = deep_get(e, "securityContext") or {},
    ips = deep_get(e, "p_any_ip_addresses") or empty_array(),
  }
end

local function present(v)
  if v ~= nil and v ~= "" then
    return v
  end
  return nil
end

-- actor_user(e): actor.alternateId, else actor.displayName, else "Unknown User".
function M.actor_user(e)
  return present(deep_get(e, "actor", "alternateId"))
    or present(deep_get(e, "actor", "displayName"))
    or "Unknown User"
end

-- source_ip(e): client.ipAddress, or nil.
function M.source_ip(e)
  return deep_get(e, "client", "ipAddress")
end

local MFA_OFF = {
  ["user.mfa.factor.deactivate"] = true,
  ["user.mfa.factor.suspend"] = true,
}
local MFA_ON = {
  ["user.mfa.factor.activate"] = true,
  ["user.mfa.factor.unsuspend"] = true,
}
local RESET = "User reset"

-- event_type(e): the data-model event type (failed_login, successful_login,
-- mfa_reset, mfa_disabled, mfa_enabled, admin_mfa_disabled), or nil.
function M.event_type(e)
  local et = deep_get(e, "eventType")
  if et == "user.session.start" then
    local result = deep_get(e, "outcome", "result")
    if result == "FAILURE" then
      return "failed_login"
    elseif result == "SUCCESS" then
      return "successful_login"
    end
    return nil
  end
  if MFA_OFF[et] then
    local reason = deep_get(e, "outcome", "reason")
    if type(reason) == "string" and sub(reason, 1, #RESET) == RESET then
      return "mfa_reset"
    end
    return "mfa_disabled"
  end
  if MFA_ON[et] then
    return "mfa_enabled"
  end
  if et == "system.mfa.factor.deactivate" then
    return "admin_mfa_disabled"
  end
  return nil
end

return M
