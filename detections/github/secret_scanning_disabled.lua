-- GitHub: secret scanning or its push protection was switched off for a repository,
-- an organisation or an enterprise. lp0 detection (not a Panther port).

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
local names = {}
for a in pairs(ACTIONS) do names[#names + 1] = a end
table.sort(names)
match = { action = names }

local SCOPE_FIELD = { organization = "org", repository = "repo", enterprise = "business" }

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

-- Turning scanning itself off for existing code is the serious case; push protection
-- and "new repositories only" leave existing detection in place.
function severity(e)
  local what, _, new_repos = table.unpack(ACTIONS[deep_get(e, "action")])
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
