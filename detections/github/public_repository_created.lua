-- GitHub: a repository was created with public visibility.
-- Conformance port of Panther's Github.Public.Repository.Created (English spec).

id = "Github.Public.Repository.Created"
log_types = { "GitHub.Audit" }
default_severity = "MEDIUM"
display_name = "Github Public Repository Created"
enabled = true
dedup_minutes = 60
threshold = 1
reports = {}
tags = { "Github Repository", "Public", "Repository Created" }
match = { action = "repo.create", visibility = "public" }

local function py(v)
  if v == nil then return "None" end
  return tostring(v)
end

function rule(e)
  return deep_get(e, "action") == "repo.create" and deep_get(e, "visibility") == "public"
end

function title(e)
  return string.format("Repository [%s] created with public status by Github user [%s].",
    py(deep_get(e, "repo") or "<UNKNOWN_REPO>"), py(deep_get(e, "actor")))
end

function alert_context(e)
  return github.alert_context(e)
end
