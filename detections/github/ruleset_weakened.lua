-- GitHub: a repository or organisation ruleset was deleted, stopped being enforced,
-- or lost rules. lp0 detection (not a Panther port); rulesets are the successor of
-- branch protection, which GitHub.Branch.ProtectionDisabled covers.

id = "GitHub.Ruleset.Weakened"
log_types = { "GitHub.Audit" }
default_severity = "HIGH"
display_name = "GitHub ruleset deleted or weakened"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0001:T1195" } }
tags = { "GitHub", "Initial Access:Supply Chain Compromise" }
match = { action = { "repository_ruleset.destroy", "repository_ruleset.update" } }

local ENFORCING = { enabled = true, active = true }

-- What happened to the ruleset, and how bad it is; nil when it was not weakened.
local function change(e)
  local action = deep_get(e, "action")
  if action == "repository_ruleset.destroy" then
    return "deleted", "HIGH"
  end
  if action ~= "repository_ruleset.update" then return nil end
  local now, before = deep_get(e, "ruleset_enforcement"), deep_get(e, "ruleset_old_enforcement")
  if now == "disabled" and before ~= "disabled" then
    return "enforcement disabled", "HIGH"
  end
  if now == "evaluate" and ENFORCING[before] then
    return "switched to evaluate mode", "MEDIUM"
  end
  local deleted = deep_get(e, "ruleset_rules_deleted")
  if type(deleted) == "table" and deleted[1] ~= nil then
    return "lost rules", "MEDIUM"
  end
  return nil
end

function rule(e)
  return change(e) ~= nil
end

function title(e)
  return string.format("GitHub: ruleset [%s] %s in [%s] by [%s]",
    tostring(deep_get(e, "ruleset_name") or deep_get(e, "ruleset_id") or "<unknown-ruleset>"),
    (change(e)), tostring(deep_get(e, "repo") or deep_get(e, "org") or "<unknown>"),
    tostring(deep_get(e, "actor") or "<unknown-actor>"))
end

function severity(e)
  local _, sev = change(e)
  return sev
end

function alert_context(e)
  local ctx = {}
  for k, v in pairs(github.alert_context(e)) do ctx[k] = v end
  ctx.ruleset_id = deep_get(e, "ruleset_id")
  ctx.ruleset_source_type = deep_get(e, "ruleset_source_type")
  ctx.ruleset_enforcement = deep_get(e, "ruleset_enforcement")
  ctx.ruleset_old_enforcement = deep_get(e, "ruleset_old_enforcement")
  return ctx
end

tests = {
  { name = "Active ruleset switched to evaluate mode", expect = true,
    event = { action = "repository_ruleset.update", actor = "dog", org = "some-org",
      repo = "some-org/app", ruleset_name = "protect-main", ruleset_enforcement = "evaluate",
      ruleset_old_enforcement = "active" },
    title = "GitHub: ruleset [protect-main] switched to evaluate mode in [some-org/app] by [dog]",
    severity = "MEDIUM" },
  { name = "Rules removed from an enforced ruleset", expect = true,
    event = { action = "repository_ruleset.update", actor = "dog", org = "some-org",
      repo = "some-org/app", ruleset_name = "protect-main", ruleset_enforcement = "active",
      ruleset_rules_deleted = { { id = 1, type = "pull_request" } } },
    severity = "MEDIUM" },
  { name = "Disabled ruleset re-enabled", expect = false,
    event = { action = "repository_ruleset.update", actor = "dog", org = "some-org",
      ruleset_name = "protect-main", ruleset_enforcement = "active", ruleset_old_enforcement = "disabled" } },
}
