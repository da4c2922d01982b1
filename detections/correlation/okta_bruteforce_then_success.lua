-- Okta.BruteForce.ThenSuccess: four or more failed sign-ins, then a successful one, for
-- the same user within 15 minutes: the password was guessed (or sprayed) and it worked.
-- A sequence over two signals (signals_okta*.lua); the alert lists the events of each
-- step (docs/correlation.md).

id = "Okta.BruteForce.ThenSuccess"
display_name = "Okta brute force followed by a successful sign-in"
default_severity = "HIGH"
dedup_minutes = 60
reports = { ["MITRE ATT&CK"] = { "TA0006:T1110", "TA0001:T1078" } }
tags = { "Okta", "Correlation", "Credential Access:Brute Force" }
default_runbook = "Treat the account as compromised until the user confirms the sign-in: " ..
  "compare the successful sign-in's IP and device with the failures', clear the user's " ..
  "sessions and reset the password and factors if in doubt."

sequence = {
  { detection = "Okta.Signal.LoginFailed", min = 4 },
  { detection = "Okta.Signal.LoginSuccess" },
}
within_minutes = 15
group_by = "actor.alternateId"

local function login(user, result, t, ip)
  return { eventType = "user.session.start", outcome = { result = result },
           actor = { alternateId = user, type = "User" }, published = t,
           client = { ipAddress = ip or "198.51.100.7" } }
end

tests = {
  { name = "four failures then a success within 15 minutes", expect_alerts = 1,
    expect_titles = { "Okta brute force followed by a successful sign-in: alice@example.com" },
    events = {
      login("alice@example.com", "FAILURE", "2024-10-31T08:00:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:01:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:02:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:03:00Z"),
      login("alice@example.com", "SUCCESS", "2024-10-31T08:05:00Z"),
    } },
  { name = "three failures are not enough", expect_alerts = 0,
    events = {
      login("alice@example.com", "FAILURE", "2024-10-31T08:00:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:01:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:02:00Z"),
      login("alice@example.com", "SUCCESS", "2024-10-31T08:05:00Z"),
    } },
  { name = "the success must come after the failures", expect_alerts = 0,
    events = {
      login("alice@example.com", "SUCCESS", "2024-10-31T07:59:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:00:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:01:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:02:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:03:00Z"),
    } },
  { name = "spread over more than 15 minutes", expect_alerts = 0,
    events = {
      login("alice@example.com", "FAILURE", "2024-10-31T08:00:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:05:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:10:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:14:00Z"),
      login("alice@example.com", "SUCCESS", "2024-10-31T08:20:00Z"),
    } },
  { name = "failures of another user do not count", expect_alerts = 0,
    events = {
      login("bob@example.com", "FAILURE", "2024-10-31T08:00:00Z"),
      login("bob@example.com", "FAILURE", "2024-10-31T08:01:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:02:00Z"),
      login("alice@example.com", "FAILURE", "2024-10-31T08:03:00Z"),
      login("alice@example.com", "SUCCESS", "2024-10-31T08:05:00Z"),
    } },
}
