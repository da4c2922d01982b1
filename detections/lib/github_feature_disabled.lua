-- github_feature_disabled.lua — helpers for the GitHub detections of a security feature
-- being switched off (GitHub.Dependabot.Disabled, GitHub.SecretScanning.Disabled).
-- Each such detection keeps a table of the audit-log actions it reports:
--   ACTIONS[action] = { what, scope, new_repos }
-- what: the feature's name for the title; scope: "organization", "repository" or
-- "enterprise"; new_repos: true when the action only turns the feature off for
-- repositories created from now on.
-- SPDX-License-Identifier: MIT

local M = {}

-- The audit-log field naming the object at each scope.
local SCOPE_FIELD = { organization = "org", repository = "repo", enterprise = "business" }

-- action_names(actions): the actions of the table, sorted (for the match prefilter).
function M.action_names(actions)
  local names = {}
  for a in pairs(actions) do names[#names + 1] = a end
  table.sort(names)
  return names
end

-- entry(actions, e): what, scope, new_repos of the event's action (the event must be
-- one of the table's actions).
function M.entry(actions, e)
  return table.unpack(actions[deep_get(e, "action")])
end

-- is_disabled(actions, e): the event's action is in the table.
function M.is_disabled(actions, e)
  return actions[deep_get(e, "action")] ~= nil
end

-- title(actions, e): "GitHub: <what> disabled for [new repositories in ]<scope> [<name>]
-- by [<actor>]".
function M.title(actions, e)
  local what, scope, new_repos = M.entry(actions, e)
  local where = string.format("%s [%s]", scope, tostring(deep_get(e, SCOPE_FIELD[scope]) or "<unknown>"))
  if new_repos then where = "new repositories in " .. where end
  return string.format("GitHub: %s disabled for %s by [%s]", what, where,
    tostring(deep_get(e, "actor") or "<unknown-actor>"))
end

return M
