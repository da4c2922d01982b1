-- GitHub: a webhook was created, changed or deleted (repository, org or app hook).
-- Conformance port of Panther's GitHub.Webhook.Modified (English spec).
-- No `match`: the rule is a prefix test on `action` ("hook."), which `match` cannot express.

id = "GitHub.Webhook.Modified"
log_types = { "GitHub.Audit" }
default_severity = "INFO"
display_name = "GitHub Web Hook Modified"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0010:T1020" } }
tags = { "GitHub", "Exfiltration:Automated Exfiltration" }

local function action(e)
  local a = deep_get(e, "action")
  if type(a) ~= "string" then return "" end
  return a
end

function rule(e)
  return strings.starts_with(action(e), "hook.")
end

local function verb(e)
  local a = action(e)
  if strings.ends_with(a, "destroy") then return "deleted" end
  if strings.ends_with(a, "create") then return "created" end
  return "modified"
end

function title(e)
  local t = string.format("Github webhook [%s] %s by [%s]",
    tostring(deep_get(e, "config", "url") or "<UNKNOWN_URL>"), verb(e),
    tostring(deep_get(e, "actor") or "<UNKNOWN_ACTOR>"))
  local repo = deep_get(e, "repo")
  if repo ~= nil then
    t = t .. " in repository [" .. tostring(repo) .. "]"
  end
  return t
end

function severity(e)
  if strings.ends_with(action(e), "create") then
    return "MEDIUM"
  end
  return "INFO"
end

function alert_context(e)
  local ctx = {}
  for k, v in pairs(github.alert_context(e)) do ctx[k] = v end
  for _, k in ipairs({ "business", "hook_id", "integration", "operation_type" }) do
    local v = deep_get(e, k)
    if v == nil then v = "" end
    ctx[k] = v
  end
  ctx.url = deep_get(e, "config", "url") or "<UNKNOWN_URL>"
  return ctx
end
