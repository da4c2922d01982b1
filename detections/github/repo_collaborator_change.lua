-- GitHub: an outside collaborator was added to or removed from a repository.
-- Conformance port of Panther's Github.Repo.CollaboratorChange (English spec).

id = "Github.Repo.CollaboratorChange"
log_types = { "GitHub.Audit" }
default_severity = "MEDIUM"
display_name = "GitHub Repository Collaborator Change"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0001:T1195" } }
tags = { "GitHub", "Initial Access:Supply Chain Compromise" }
match = { action = { "repo.add_member", "repo.remove_member" } }

function rule(e)
  local a = deep_get(e, "action")
  return a == "repo.add_member" or a == "repo.remove_member"
end

local function removed(e)
  return deep_get(e, "action") == "repo.remove_member"
end

function title(e)
  local repo = tostring(deep_get(e, "repo") or "<UNKNOWN_REPO>")
  return string.format(
    "Repository collaborator [%s] %s repository %s. View current collaborators here: https://github.com/%s/settings/access",
    tostring(deep_get(e, "user") or "<UNKNOWN_USER>"), removed(e) and "removed from" or "added to",
    repo, repo)
end

function severity(e)
  if removed(e) then return "INFO" end
  return "MEDIUM"
end
