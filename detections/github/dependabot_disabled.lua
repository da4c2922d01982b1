-- GitHub: Dependabot alerts or security updates were switched off.
-- lp0 detection (not a Panther port).

id = "GitHub.Dependabot.Disabled"
log_types = { "GitHub.Audit" }
default_severity = "MEDIUM"
display_name = "GitHub Dependabot disabled"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0005:T1562.001" } }
tags = { "GitHub", "Defense Evasion:Impair Defenses" }

local AL, SU = "Dependabot alerts", "Dependabot security updates"
-- action -> what was disabled, at which scope, and whether only for new repositories
local ACTIONS = {
  ["dependabot_alerts.disable"] = { AL, "organization" },
  ["dependabot_alerts_new_repos.disable"] = { AL, "organization", true },
  ["dependabot_security_updates.disable"] = { SU, "organization" },
  ["dependabot_security_updates_new_repos.disable"] = { SU, "organization", true },
  ["repository_vulnerability_alerts.disable"] = { AL, "repository" },
}
local names = {}
for a in pairs(ACTIONS) do names[#names + 1] = a end
table.sort(names)
match = { action = names }

local SCOPE_FIELD = { organization = "org", repository = "repo" }

function rule(e)
  return ACTIONS[deep_get(e, "action")] ~= nil
end

function title(e)
  local what, scope, new_repos = table.unpack(ACTIONS[deep_get(e, "action")])
  local where = string.format("%s [%s]", scope, tostring(deep_get(e, SCOPE_FIELD[scope]) or "<unknown>"))
  if new_repos then where = "new repositories in " .. where end
  return string.format("GitHub: %s disabled for %s by [%s]", what, where,
    tostring(deep_get(e, "actor") or "<unknown-actor>"))
end

-- "New repositories only" leaves existing repositories covered.
function severity(e)
  local _, _, new_repos = table.unpack(ACTIONS[deep_get(e, "action")])
  if new_repos then return "LOW" end
  return "MEDIUM"
end

function alert_context(e)
  return github.alert_context(e)
end

tests = {
  { name = "Vulnerability alerts disabled on one repository", expect = true,
    event = { action = "repository_vulnerability_alerts.disable", actor = "dev1", org = "acme",
      repo = "acme/payments", created_at = 1700000000000 },
    title = "GitHub: Dependabot alerts disabled for repository [acme/payments] by [dev1]", severity = "MEDIUM" },
  { name = "Dependabot alerts enabled", expect = false,
    event = { action = "dependabot_alerts.enable", actor = "bobert", org = "an-org" } },
}
