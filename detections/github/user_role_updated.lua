-- GitHub: an organisation member's role changed (admin <-> member).
-- Conformance port of Panther's GitHub.User.RoleUpdated (English spec).

id = "GitHub.User.RoleUpdated"
log_types = { "GitHub.Audit" }
default_severity = "HIGH"
display_name = "GitHub User Role Updated"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0003:T1098" } }
tags = { "GitHub", "Persistence:Account Manipulation" }
match = { action = "org.update_member" }

local function py(v)
  if v == nil then return "None" end
  return tostring(v)
end

function rule(e)
  return deep_get(e, "action") == "org.update_member"
end

function title(e)
  return string.format("Org owner [%s] updated user's [%s] role ('admin' or 'member')",
    py(deep_get(e, "actor")), py(deep_get(e, "user")))
end
