-- GitHub: a repository's visibility changed (e.g. private -> public).
-- Conformance port of Panther's Github.Repo.VisibilityChange (English spec).

id = "Github.Repo.VisibilityChange"
log_types = { "GitHub.Audit" }
default_severity = "HIGH"
display_name = "GitHub Repository Visibility Change"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0010:T1567" } }
tags = { "GitHub", "Exfiltration:Exfiltration Over Web Service" }
match = { action = "repo.access" }

function rule(e)
  return deep_get(e, "action") == "repo.access"
end

function title(e)
  local repo = tostring(deep_get(e, "repo") or "<UNKNOWN_REPO>")
  return string.format(
    "Repository [%s] visibility changed. View current visibility here: https://github.com/%s/settings/access",
    repo, repo)
end
