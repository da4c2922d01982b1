-- GitHub: a repository was archived. A signal (create_alert = false): it labels the
-- event for correlation but never alerts on its own.
-- Conformance port of Panther's Github.Repo.Archived, a YAML-only simple detection.

id = "Github.Repo.Archived"
log_types = { "GitHub.Audit" }
default_severity = "INFO"
display_name = "GitHub Repository Archived"
enabled = true
create_alert = false
dedup_minutes = 60
threshold = 1
reports = {}
tags = { "GitHub", "panther-signal" }
match = { action = "repo.archived" }

local function py(v)
  if v == nil then return "None" end
  return tostring(v)
end

function rule(e)
  return deep_get(e, "action") == "repo.archived"
end

function title(e)
  return "Repository [" .. py(deep_get(e, "repo")) .. "] archived."
end

-- The upstream AlertContext template: the top-level fields as they are (missing = null).
function alert_context(e)
  return {
    action = deep_get(e, "action"),
    actor = deep_get(e, "actor"),
    org = deep_get(e, "org"),
    repo = deep_get(e, "repo"),
    user = deep_get(e, "user"),
    actor_location = deep_get(e, "actor_location", "country_code"),
  }
end
