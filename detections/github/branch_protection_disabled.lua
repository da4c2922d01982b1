-- GitHub: branch protection was removed from a repository.
-- Conformance port of Panther's GitHub.Branch.ProtectionDisabled (English spec).

id = "GitHub.Branch.ProtectionDisabled"
log_types = { "GitHub.Audit" }
default_severity = "HIGH"
display_name = "GitHub Branch Protection Disabled"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0001:T1195" } }
tags = { "GitHub", "Initial Access:Supply Chain Compromise" }
match = { action = "protected_branch.destroy" }

function rule(e)
  return deep_get(e, "action") == "protected_branch.destroy"
end

function title(e)
  return string.format("A branch protection was removed from the repository [%s] by [%s]",
    tostring(deep_get(e, "repo") or "<UNKNOWN_REPO>"),
    tostring(deep_get(e, "actor") or "<UNKNOWN_ACTOR>"))
end
