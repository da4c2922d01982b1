-- Okta: one source IP fails to sign in as 10 or more distinct users within 10 minutes
-- (password spraying: one or two passwords tried against many accounts).
-- lp0 scenario detection (not a Panther port).

id = "Okta.PasswordSpray"
log_types = { "Okta.SystemLog" }
default_severity = "HIGH"
display_name = "Okta password spraying from one IP"
default_description = "Failed Okta sign-ins for 10 or more distinct users from the same IP within 10 minutes."
default_runbook = "Block or rate-limit the IP (network zone), look for any successful login from it, "
  .. "and reset the passwords of users who then signed in from it."
enabled = true
dedup_minutes = 10
threshold = 10
reports = { ["MITRE ATT&CK"] = { "TA0006:T1110.003" } }
tags = { "Okta", "Credential Access:Password Spraying" }
match = { eventType = "user.session.start", ["outcome.result"] = "FAILURE" }

local function source_ip(e)
  return deep_get(e, "client", "ipAddress")
end

function rule(e)
  -- Without a source IP there is nothing to group on.
  return okta.event_type(e) == "failed_login" and source_ip(e) ~= nil
end

-- The threshold counts distinct users; usernames compare case-insensitively.
function unique(e)
  return string.lower(tostring(okta.actor_user(e)))
end

function dedup(e)
  return "ip:" .. tostring(source_ip(e))
end

function title(e)
  return "Okta: password spraying from [" .. tostring(source_ip(e)) .. "] against 10 or more users"
end

function alert_context(e)
  return {
    ip = source_ip(e),
    first_user = okta.actor_user(e),
    country = deep_get(e, "client", "geographicalContext", "country"),
    user_agent = deep_get(e, "client", "userAgent", "rawUserAgent"),
    as_org = deep_get(e, "securityContext", "asOrg"),
  }
end
