-- Okta: an administrator privilege was granted to a user.
-- Conformance port of Panther's Okta.AdminRoleAssigned, written from the English spec.

id = "Okta.AdminRoleAssigned"
log_types = { "Okta.SystemLog" }
default_severity = "INFO"
display_name = "Okta Admin Role Assigned"
enabled = true
dedup_minutes = 15
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0004:T1078" } }
tags = { "Identity & Access Management", "Okta", "Privilege Escalation:Valid Accounts" }
match = { eventType = "user.account.privilege.grant", ["outcome.result"] = "SUCCESS" }

local function py(v)
  if v == nil then return "None" end
  return tostring(v)
end

local function privilege(e)
  local p = deep_get(e, "debugContext", "debugData", "privilegeGranted")
  if p == nil then return nil end
  return tostring(p)
end

function rule(e)
  return deep_get(e, "eventType") == "user.account.privilege.grant"
    and deep_get(e, "outcome", "result") == "SUCCESS"
    and string.find(privilege(e) or "", "[aA]dministrator") ~= nil
end

function title(e)
  -- An absent or empty target list renders both recipient fields as empty strings.
  local name, alt = "", ""
  local targets = deep_get(e, "target")
  if type(targets) == "table" and targets[1] ~= nil then
    name = deep_get(targets[1], "displayName") or "MISSING DISPLAY NAME"
    alt = deep_get(targets[1], "alternateId") or "MISSING ALTERNATE ID"
  end
  return string.format("%s <%s> granted [%s] privileges to %s <%s>",
    py(deep_get(e, "actor", "displayName")), py(deep_get(e, "actor", "alternateId")),
    privilege(e) or "<UNKNOWN_PRIVILEGE>", py(name), py(alt))
end

function severity(e)
  if strings.contains(privilege(e) or "", "Super administrator") then
    return "HIGH"
  end
  return "INFO"
end

function dedup(e)
  return py(deep_get(e, "debugContext", "debugData", "requestId") or "<UNKNOWN_REQUEST_ID>")
end

function alert_context(e)
  return okta.alert_context(e)
end
