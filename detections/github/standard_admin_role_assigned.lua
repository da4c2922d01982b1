-- Admin privileges assigned to a user or team (multi-log-type "Standard" rule).
-- Conformance port of Panther's Standard.AdminRoleAssigned, written from the English spec.
-- Upstream is driven by per-log-type data models; lp0 has the GitHub.Audit model only,
-- so events of the other listed log types never match. No `match`: the fields differ
-- per log type.

id = "Standard.AdminRoleAssigned"
log_types = {
  "Asana.Audit", "Atlassian.Audit", "GCP.AuditLog", "GitHub.Audit", "GSuite.ActivityEvent",
  "OneLogin.Events", "Zendesk.Audit",
}
default_severity = "MEDIUM"
display_name = "Admin Role Assigned"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0004:T1078" } }
tags = { "DataModel", "Privilege Escalation:Valid Accounts" }

local function py(v)
  if v == nil then return "None" end
  return tostring(v)
end

-- The event's log type: Panther's p_log_type when present, else a guess from its shape
-- (a GitHub audit entry has string `action` and `actor` fields).
local function log_type(e)
  local lt = deep_get(e, "p_log_type")
  if lt ~= nil then return lt end
  if type(deep_get(e, "action")) == "string" and type(deep_get(e, "actor")) == "string" then
    return "GitHub.Audit"
  end
  return nil
end

local function is_github(e)
  return log_type(e) == "GitHub.Audit"
end

function rule(e)
  return is_github(e) and github.event_type(e) == "admin_role_assigned"
end

function title(e)
  -- rule() only matched when the action is one of the admin-granting ones
  local role = "<UNKNOWN_ADMIN_ROLE>"
  if github.event_type(e) == "admin_role_assigned" then
    role = deep_get(e, "action")
  end
  local recipient = deep_get(e, "user")
  if recipient == nil or recipient == "" then
    recipient = deep_get(e, "team")
  end
  if recipient == nil or recipient == "" then
    recipient = "USER_OR_TEAM_NOT_FOUND"
  end
  return string.format("%s: [%s] assigned admin privileges [%s] to [%s]",
    py(log_type(e)), py(deep_get(e, "actor")), py(role), py(recipient))
end

function alert_context(e)
  local ips = deep_get(e, "p_any_ip_addresses")
  if ips == nil then ips = json.array({}) end
  return {
    ips = ips,
    actor = deep_get(e, "actor"),
    user = deep_get(e, "user"),
  }
end
