-- Okta: an end user reported that an Okta notification (new sign-in, factor change, ...)
-- was not them. lp0 detection (not a Panther port).

id = "Okta.User.ReportedSuspiciousActivity"
log_types = { "Okta.SystemLog" }
default_severity = "MEDIUM"
display_name = "Okta user reported suspicious activity"
default_runbook = "Contact the user, review the reported event (suspiciousActivityEventId) and the "
  .. "account's recent sessions; clear sessions and reset factors if the report holds."
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0001:T1078.004" } }
tags = { "Okta", "Initial Access:Valid Accounts" }
match = { eventType = "user.account.report_suspicious_activity_by_enduser" }

local function debug_data(e, key)
  return deep_get(e, "debugContext", "debugData", key)
end

function rule(e)
  return deep_get(e, "eventType") == "user.account.report_suspicious_activity_by_enduser"
end

function title(e)
  return string.format("Okta: [%s] reported suspicious activity [%s] from [%s]",
    tostring(okta.actor_user(e)),
    tostring(debug_data(e, "suspiciousActivityEventType") or "<unknown-event>"),
    tostring(debug_data(e, "suspiciousActivityEventIp") or "<unknown-ip>"))
end

-- One alert per reported event, even if the user clicks "report" twice.
function dedup(e)
  return tostring(okta.actor_user(e)) .. ":" .. tostring(debug_data(e, "suspiciousActivityEventId") or "")
end

function alert_context(e)
  local ctx = okta.alert_context(e)
  return {
    user = okta.actor_user(e),
    reported_event_type = debug_data(e, "suspiciousActivityEventType"),
    reported_event_id = debug_data(e, "suspiciousActivityEventId"),
    reported_ip = debug_data(e, "suspiciousActivityEventIp"),
    reported_location = string.format("%s, %s, %s",
      tostring(debug_data(e, "suspiciousActivityEventCity")),
      tostring(debug_data(e, "suspiciousActivityEventState")),
      tostring(debug_data(e, "suspiciousActivityEventCountry"))),
    reported_at = debug_data(e, "suspiciousActivityTimestamp"),
    debug_context = ctx.debug_context,
  }
end
