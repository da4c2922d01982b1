-- Okta: administrator privileges were granted to a group.
-- Conformance port of Panther's Okta.Group.Admin.Role.Assigned (English spec).
-- No `match`: the upstream test events spell the key `eventtype` (see README).

id = "Okta.Group.Admin.Role.Assigned"
log_types = { "Okta.SystemLog" }
default_severity = "HIGH"
display_name = "Okta Group Admin Role Assigned"
enabled = true
dedup_minutes = 60
threshold = 1
reports = {}
tags = {}

function rule(e)
  return deep_get(e, "eventType") == "group.privilege.grant"
end

function title(e)
  local targets = deep_get(e, "target")
  local group = type(targets) == "table" and targets[1] and deep_get(targets[1], "alternateId")
  return string.format("Okta Admin Privileges Assigned to Group [%s]",
    tostring(group or "<id-not-found>"))
end

function alert_context(e)
  return okta.alert_context(e)
end
