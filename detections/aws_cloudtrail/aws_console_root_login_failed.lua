-- AWS.Console.RootLoginFailed: repeated failed console logins as the root user (CIS 3.6).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_console_root_login_failed.yml, Apache-2.0), written from
-- the English spec in shared/conformance/panther.
-- Tests: aws_console_root_login_failed.tests.json.

id = "AWS.Console.RootLoginFailed"
display_name = "Failed Root Console Login"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
-- 5 failures from one source IP into one account within 15 minutes make an alert.
dedup_minutes = 15
threshold = 5
reports = { CIS = { "3.6" }, ["MITRE ATT&CK"] = { "TA0006:T1110" } }
tags = {
  "AWS", "Identity & Access Management", "Authentication", "DemoThreatHunting",
  "Credential Access:Brute Force",
}

match = {
  eventName = "ConsoleLogin",
  ["userIdentity.type"] = "Root",
  ["responseElements.ConsoleLogin"] = "Failure",
}

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

function rule(e)
  return e.eventName == "ConsoleLogin"
    and deep_get(e, "userIdentity", "type") == "Root"
    and deep_get(e, "responseElements", "ConsoleLogin") == "Failure"
end

-- No dedup hook: the title (source IP + account) groups the failures.
function title(e)
  return "AWS root login failed from [" .. text(e.sourceIPAddress) .. "] in account [" ..
    text(e.recipientAccountId) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

-- Threshold cases (the upstream events are in the sidecar).
local function failure(addr)
  return {
    eventName = "ConsoleLogin",
    eventSource = "signin.amazonaws.com",
    sourceIPAddress = addr,
    recipientAccountId = "123456789012",
    responseElements = { ConsoleLogin = "Failure" },
    userIdentity = { type = "Root", accountId = "123456789012" },
  }
end
local function failures(n, addr)
  local list = {}
  for i = 1, n do list[i] = failure(addr) end
  return list
end
local mixed = failures(4, "198.51.100.7")
for _, ev in ipairs(failures(4, "203.0.113.9")) do mixed[#mixed + 1] = ev end

tests = {
  { name = "five failures from one address alert once", events = failures(5, "198.51.100.7"),
    expect_alerts = 1,
    expect_titles = { "AWS root login failed from [198.51.100.7] in account [123456789012]" } },
  { name = "four failures stay below the threshold", events = failures(4, "198.51.100.7"),
    expect_alerts = 0 },
  { name = "failures from two addresses are counted apart", events = mixed, expect_alerts = 0 },
}
