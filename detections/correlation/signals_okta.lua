-- Okta sign-in signals: every failed and every successful Okta sign-in, as matches that
-- never alert by themselves (create_alert = false). They feed the sequence
-- Okta.BruteForce.ThenSuccess, and failed sign-ins add a little risk to the user
-- (docs/correlation.md).
-- Two detections in one pack folder: Okta.Signal.LoginFailed and Okta.Signal.LoginSuccess
-- live in separate files because one file is one detection; this one is the failures.

id = "Okta.Signal.LoginFailed"
display_name = "Okta sign-in failed (signal)"
log_types = { "Okta.SystemLog" }
default_severity = "INFO"
create_alert = false
reports = { ["MITRE ATT&CK"] = { "TA0006:T1110" } }
tags = { "Okta", "Signal" }
match = { eventType = "user.session.start", ["outcome.result"] = "FAILURE" }
risk = { entity = "actor.alternateId", score = 5 }

function rule(e)
  return okta.event_type(e) == "failed_login"
end

function title(e)
  return "Okta sign-in failed for " .. tostring(okta.actor_user(e))
end

tests = {
  { name = "failed sign-in", expect = true,
    event = { eventType = "user.session.start", outcome = { result = "FAILURE", reason = "INVALID_CREDENTIALS" },
              actor = { alternateId = "alice@example.com", type = "User" }, published = "2024-10-31T08:00:00Z" } },
  { name = "successful sign-in", expect = false,
    event = { eventType = "user.session.start", outcome = { result = "SUCCESS" },
              actor = { alternateId = "alice@example.com", type = "User" }, published = "2024-10-31T08:00:00Z" } },
}
