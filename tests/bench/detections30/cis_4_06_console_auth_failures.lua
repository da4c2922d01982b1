-- CIS AWS Foundations 4.6: console authentication failures. Three from one address in
-- half an hour is password guessing.

id = "Bench.CIS.ConsoleAuthFailures"
display_name = "Repeated console sign-in failures"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 30
threshold = 3
reports = { CIS = { "4.6" }, ["MITRE ATT&CK"] = { "TA0006:T1110" } }
tags = { "AWS", "CIS", "Credential Access" }

match = { eventName = "ConsoleLogin", eventSource = "signin.amazonaws.com" }

function rule(e)
  return deep_get(e, "responseElements", "ConsoleLogin") == "Failure"
end

function title(e)
  return "Console sign-in failures from [" .. (e.sourceIPAddress or "?") .. "]"
end

function dedup(e)
  return e.sourceIPAddress or "unknown"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.userName = deep_get(e, "userIdentity", "userName")
  return ctx
end

local function failure(t)
  return { eventVersion = "1.09", eventSource = "signin.amazonaws.com", eventName = "ConsoleLogin",
           eventTime = t, sourceIPAddress = "185.220.101.4", errorMessage = "Failed authentication",
           userIdentity = { type = "IAMUser", userName = "grace.lee", accessKeyId = "" },
           responseElements = { ConsoleLogin = "Failure" } }
end

tests = {
  { name = "one failure matches", expect = true, title = "Console sign-in failures from [185.220.101.4]",
    event = failure("2024-05-06T10:00:00Z") },
  { name = "success does not", expect = false,
    event = { eventVersion = "1.09", eventSource = "signin.amazonaws.com", eventName = "ConsoleLogin",
              responseElements = { ConsoleLogin = "Success" } } },
  { name = "three failures alert once", expect_alerts = 1,
    expect_titles = { "Console sign-in failures from [185.220.101.4]" },
    events = { failure("2024-05-06T10:00:00Z"), failure("2024-05-06T10:00:09Z"),
               failure("2024-05-06T10:01:30Z") } },
  { name = "two failures stay below threshold", expect_alerts = 0,
    events = { failure("2024-05-06T10:00:00Z"), failure("2024-05-06T10:00:09Z") } },
}
