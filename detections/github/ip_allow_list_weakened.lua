-- GitHub: the organisation/enterprise IP allow list was disabled or widened.
-- lp0 detection (not a Panther port). Removing an entry narrows access, so
-- ip_allow_list_entry.destroy is deliberately not matched.

id = "GitHub.Org.IPAllowList.Weakened"
log_types = { "GitHub.Audit" }
default_severity = "MEDIUM"
display_name = "GitHub IP allow list disabled or widened"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0005:T1562.007" } }
tags = { "GitHub", "Defense Evasion:Impair Defenses" }

-- action -> title phrase, severity
local ACTIONS = {
  ["ip_allow_list.disable"] = { "IP allow list disabled", "HIGH" },
  ["ip_allow_list.disable_for_installed_apps"] = { "IP allow list disabled for installed apps", "MEDIUM" },
  ["ip_allow_list_entry.create"] = { "IP allow list entry added", "LOW" },
  ["ip_allow_list_entry.update"] = { "IP allow list entry changed", "LOW" },
}
match = { action = { "ip_allow_list.disable", "ip_allow_list.disable_for_installed_apps",
  "ip_allow_list_entry.create", "ip_allow_list_entry.update" } }

function rule(e)
  return ACTIONS[deep_get(e, "action")] ~= nil
end

function title(e)
  return string.format("GitHub: %s in [%s] by [%s]", ACTIONS[deep_get(e, "action")][1],
    tostring(deep_get(e, "org") or deep_get(e, "business") or "<unknown-org>"),
    tostring(deep_get(e, "actor") or "<unknown-actor>"))
end

function severity(e)
  return ACTIONS[deep_get(e, "action")][2]
end

function alert_context(e)
  return github.alert_context(e)
end

tests = {
  { name = "Allow list disabled for installed apps", expect = true,
    event = { action = "ip_allow_list.disable_for_installed_apps", actor = "owner", org = "acme" },
    title = "GitHub: IP allow list disabled for installed apps in [acme] by [owner]", severity = "MEDIUM" },
  { name = "Allow list entry removed (narrows access)", expect = false,
    event = { action = "ip_allow_list_entry.destroy", actor = "owner", org = "acme" } },
}
