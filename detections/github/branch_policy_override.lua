-- GitHub: someone pushed or merged past a branch protection requirement.
-- Conformance port of Panther's GitHub.Branch.PolicyOverride, written from the English spec.

id = "GitHub.Branch.PolicyOverride"
log_types = { "GitHub.Audit" }
default_severity = "HIGH"
display_name = "GitHub Branch Protection Policy Override"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0001:T1195" } }
tags = { "GitHub", "Initial Access:Supply Chain Compromise" }
match = { action = "protected_branch.policy_override" }

local function py(v)
  if v == nil then return "None" end
  return tostring(v)
end

function rule(e)
  return deep_get(e, "action") == "protected_branch.policy_override"
end

function title(e)
  return string.format(
    "A branch protection requirement in the repository [%s] was overridden by user [%s] on branch [%s]",
    py(deep_get(e, "repo") or "<UNKNOWN_REPO>"), py(deep_get(e, "actor")),
    py(deep_get(e, "branch") or "<UNKNOWN_BRANCH>"))
end
