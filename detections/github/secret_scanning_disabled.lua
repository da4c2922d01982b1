-- GitHub: secret scanning or its push protection was switched off for a repository,
-- an organisation or an enterprise. lp0 detection (not a Panther port).

local feature = require "github_feature_disabled"

id = "GitHub.SecretScanning.Disabled"
log_types = { "GitHub.Audit" }
default_severity = "HIGH"
display_name = "GitHub secret scanning disabled"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0005:T1562.001" } }
tags = { "GitHub", "Defense Evasion:Impair Defenses" }

local SS, PP, CP = "secret scanning", "secret scanning push protection",
  "secret scanning custom pattern push protection"
-- action -> what was disabled, at which scope, and whether only for new repositories
local ACTIONS = {
  ["secret_scanning.disable"] = { SS, "organization" },
  ["secret_scanning_new_repos.disable"] = { SS, "organization", true },
  ["org.secret_scanning_push_protection_disable"] = { PP, "organization" },
  ["org.secret_scanning_push_protection_new_repos_disable"] = { PP, "organization", true },
  ["org.secret_scanning_custom_pattern_push_protection_disabled"] = { CP, "organization" },
  ["repository_secret_scanning.disable"] = { SS, "repository" },
  ["repository_secret_scanning_push_protection.disable"] = { PP, "repository" },
  ["repository_secret_scanning_custom_pattern_push_protection.disabled"] = { CP, "repository" },
  ["business_secret_scanning.disable"] = { SS, "enterprise" },
  ["business_secret_scanning.disabled_for_new_repos"] = { SS, "enterprise", true },
  ["business_secret_scanning_push_protection.disable"] = { PP, "enterprise" },
  ["business_secret_scanning_push_protection.disabled_for_new_repos"] = { PP, "enterprise", true },
  ["business_secret_scanning_custom_pattern_push_protection.disabled"] = { CP, "enterprise" },
}
match = { action = feature.action_names(ACTIONS) }

function rule(e)
  return feature.is_disabled(ACTIONS, e)
end

function title(e)
  return feature.title(ACTIONS, e)
end

-- Turning scanning itself off for existing code is the serious case; push protection
-- and "new repositories only" leave existing detection in place.
function severity(e)
  local what, _, new_repos = feature.entry(ACTIONS, e)
  if what == SS and not new_repos then return "HIGH" end
  return "MEDIUM"
end

function alert_context(e)
  return github.alert_context(e)
end

tests = {
  { name = "Enterprise-wide secret scanning disabled", expect = true,
    event = { action = "business_secret_scanning.disable", actor = "ent-owner", business = "acme-ent",
      created_at = 1700000000000 },
    title = "GitHub: secret scanning disabled for enterprise [acme-ent] by [ent-owner]", severity = "HIGH" },
  { name = "Secret scanning enabled", expect = false,
    event = { action = "secret_scanning.enable", actor = "bobert", org = "an-org" } },
}
