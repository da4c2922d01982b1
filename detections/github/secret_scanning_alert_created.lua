-- GitHub secret scanning found a secret in a repository.
-- Conformance port of Panther's GitHub.Secret.Scanning.Alert.Created (English spec).

id = "GitHub.Secret.Scanning.Alert.Created"
log_types = { "GitHub.Audit" }
default_severity = "MEDIUM"
display_name = "GitHub Secret Scanning Alert Created"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0006:T1552" } }
tags = { "GitHub" }
match = { action = "secret_scanning_alert.create" }

function rule(e)
  return deep_get(e, "action") == "secret_scanning_alert.create"
end

function title(e)
  return string.format("Github detected a secret in %s (#%s)",
    tostring(deep_get(e, "repo") or "<REPO_NOT_FOUND>"),
    tostring(deep_get(e, "number") or "<NUMBER_NOT_FOUND>"))
end

-- Python truthiness, which the upstream URL test uses: nil, false, "" and 0 are false.
local function truthy(v)
  return v ~= nil and v ~= false and v ~= "" and v ~= 0
end

function alert_context(e)
  local repo, number = deep_get(e, "repo"), deep_get(e, "number")
  local url = "<URL_NOT_FOUND>"
  if truthy(repo) and truthy(number) then
    url = string.format("https://github.com/%s/security/secret-scanning/%s", tostring(repo), tostring(number))
  end
  return {
    github_organization = deep_get(e, "org") or "<ORG_NOT_FOUND>",
    github_repository = repo or "<REPO_NOT_FOUND>",
    alert_number = number ~= nil and tostring(number) or "<NUMBER_NOT_FOUND>",
    url = url,
  }
end
