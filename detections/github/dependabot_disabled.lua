-- GitHub: Dependabot alerts or security updates were switched off.
-- lp0 detection (not a Panther port).

local feature = require "github_feature_disabled"

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
match = { action = feature.action_names(ACTIONS) }

function rule(e)
  return feature.is_disabled(ACTIONS, e)
end

function title(e)
  return feature.title(ACTIONS, e)
end

-- "New repositories only" leaves existing repositories covered.
function severity(e)
  local _, _, new_repos = feature.entry(ACTIONS, e)
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
