-- Okta: four or more failed sign-ins for the same user within 15 minutes.
-- lp0 scenario detection (not a Panther port). Targets password guessing against one
-- account; the upstream Standard.BruteForceByUser needs 20 failures in an hour.

id = "Okta.User.RepeatedFailedLogins"
log_types = { "Okta.SystemLog" }
default_severity = "MEDIUM"
display_name = "Okta repeated failed logins for one user"
default_description = "Four or more failed Okta sign-ins for the same user within 15 minutes."
default_runbook = "Compare the source IPs and locations with the user's usual ones, check for a "
  .. "successful login by the same user right after the failures, and ask the user."
enabled = true
dedup_minutes = 15
threshold = 4
reports = { ["MITRE ATT&CK"] = { "TA0006:T1110.001" } }
tags = { "Okta", "Credential Access:Brute Force" }
match = { eventType = "user.session.start", ["outcome.result"] = "FAILURE" }

function rule(e)
  return okta.event_type(e) == "failed_login"
end

function title(e)
  return "Okta: repeated failed logins for [" .. tostring(okta.actor_user(e)) .. "]"
end

-- One window per user, whatever the source IP.
function dedup(e)
  return "user:" .. string.lower(tostring(okta.actor_user(e)))
end

function alert_context(e)
  return {
    user = okta.actor_user(e),
    ip = deep_get(e, "client", "ipAddress"),
    reason = deep_get(e, "outcome", "reason"),
    country = deep_get(e, "client", "geographicalContext", "country"),
  }
end
