-- Okta.Signal.LoginSuccess: every successful Okta sign-in, as a signal (no alert of its
-- own) for Okta.BruteForce.ThenSuccess.

id = "Okta.Signal.LoginSuccess"
display_name = "Okta sign-in succeeded (signal)"
log_types = { "Okta.SystemLog" }
default_severity = "INFO"
create_alert = false
tags = { "Okta", "Signal" }
match = { eventType = "user.session.start", ["outcome.result"] = "SUCCESS" }

function rule(e)
  return true
end

tests = {
  { name = "successful sign-in", expect = true,
    event = { eventType = "user.session.start", outcome = { result = "SUCCESS" },
              actor = { alternateId = "alice@example.com", type = "User" }, published = "2024-10-31T08:00:00Z" } },
  { name = "failed sign-in", expect = false,
    event = { eventType = "user.session.start", outcome = { result = "FAILURE" },
              actor = { alternateId = "alice@example.com", type = "User" }, published = "2024-10-31T08:00:00Z" } },
}
