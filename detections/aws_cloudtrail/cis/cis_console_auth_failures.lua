-- CIS.AWS.ConsoleAuthFailures: AWS Management Console authentication failures (CIS AWS
-- Foundations 4.6 in v1.4-v3.0, 3.6 in v1.2). The CIS metric filter exactly:
--   eventName = "ConsoleLogin" AND errorMessage = "Failed authentication"
-- Every failure counts (CIS alarms on one); failures from the same source IP against the
-- same account are grouped into one alert per hour, with the user names tried in the
-- title of the first. Root failures are HIGH. The conformance rule
-- AWS.Console.RootLoginFailed covers only root, at 5 failures in 15 minutes.

id = "CIS.AWS.ConsoleAuthFailures"
display_name = "CIS: console authentication failure"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["CIS AWS Foundations v3.0"] = { "4.6" },
  ["CIS AWS Foundations v1.2"] = { "3.6" },
  ["MITRE ATT&CK"] = { "TA0006:T1110" },
}
tags = { "AWS", "CIS", "Credential Access" }
default_runbook = "Check whether the user mistyped a password (a single failure followed by " ..
  "a success from the same IP) or whether many users or many attempts come from one IP " ..
  "(password spraying/brute force). Block the IP and reset the targeted passwords if needed."

match = { eventName = "ConsoleLogin" }

function rule(e)
  return e.eventName == "ConsoleLogin" and e.errorMessage == "Failed authentication"
end

local function who(e)
  if deep_get(e, "userIdentity", "type") == "Root" then return "root" end
  return deep_get(e, "userIdentity", "userName") or aws.actor_user(e)
end

function title(e)
  return "Console login failed for [" .. tostring(who(e)) .. "] from " ..
    tostring(e.sourceIPAddress) .. " in account [" .. tostring(e.recipientAccountId) .. "]"
end

function dedup(e)
  return tostring(e.recipientAccountId) .. ":" .. tostring(e.sourceIPAddress)
end

function severity(e)
  if deep_get(e, "userIdentity", "type") == "Root" then return "HIGH" end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.mfaUsed = deep_get(e, "additionalEventData", "MFAUsed")
  return ctx
end

local function login(user, kind, err, ip, t)
  return {
    eventVersion = "1.08", eventTime = t or "2024-03-04T07:00:00Z", eventSource = "signin.amazonaws.com",
    eventName = "ConsoleLogin", eventType = "AwsConsoleSignIn", awsRegion = "us-east-1",
    sourceIPAddress = ip or "198.51.100.23", userAgent = "Mozilla/5.0", recipientAccountId = "111122223333",
    errorMessage = err,
    userIdentity = { type = kind or "IAMUser", principalId = "AIDAEXAMPLE", accountId = "111122223333",
      userName = user },
    responseElements = { ConsoleLogin = err and "Failure" or "Success" },
    additionalEventData = { LoginTo = "https://console.aws.amazon.com/console/home", MobileVersion = "No",
      MFAUsed = "No" },
  }
end

tests = {
  { name = "failed IAM user login", expect = true, severity = "MEDIUM",
    title = "Console login failed for [alice] from 198.51.100.23 in account [111122223333]",
    dedup = "111122223333:198.51.100.23",
    event = login("alice", "IAMUser", "Failed authentication") },
  { name = "failed root login is HIGH", expect = true, severity = "HIGH",
    title = "Console login failed for [root] from 198.51.100.23 in account [111122223333]",
    event = login(nil, "Root", "Failed authentication") },
  { name = "successful login", expect = false, event = login("alice", "IAMUser", nil) },
  { name = "other sign-in error (not an authentication failure)", expect = false,
    event = login("alice", "IAMUser", "No username found in supplied account") },
  { name = "spray from one IP groups into one alert",
    events = {
      login("alice", "IAMUser", "Failed authentication", "198.51.100.23", "2024-03-04T07:00:00Z"),
      login("bob", "IAMUser", "Failed authentication", "198.51.100.23", "2024-03-04T07:00:05Z"),
      login("carol", "IAMUser", "Failed authentication", "198.51.100.23", "2024-03-04T07:00:09Z"),
      login("alice", "IAMUser", "Failed authentication", "192.0.2.77", "2024-03-04T07:01:00Z"),
    },
    expect_alerts = 2,
    expect_titles = {
      "Console login failed for [alice] from 198.51.100.23 in account [111122223333]",
      "Console login failed for [alice] from 192.0.2.77 in account [111122223333]",
    },
  },
}
