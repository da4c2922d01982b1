-- Threat.AWS.IAM.BreakGlassUserActivity: any successful API call or console sign-in by
-- a designated emergency ("break-glass") IAM user. These users should sit unused, so
-- every use is at least HIGH; it is CRITICAL for a console sign-in without MFA and for
-- write calls to IAM, STS, Organizations, CloudTrail or KMS. The users are the lookup
-- table detections/lookups/break_glass_users.csv (user names or user ARNs); tests mock it
-- with mocks = { lookup = { break_glass_users = { ... } } }. One alert per user and API call per
-- hour.

local util = require "pack_util"

id = "Threat.AWS.IAM.BreakGlassUserActivity"
display_name = "Break-glass user activity"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = { ["MITRE ATT&CK"] = { "TA0001:T1078.004", "TA0003:T1078.004" } }
tags = { "AWS", "Identity & Access Management", "Break Glass" }
match = { ["userIdentity.type"] = "IAMUser" }  -- break-glass users are IAM users
default_runbook = "Contact the holder of the break-glass credentials and the incident " ..
  "commander: was an emergency declared? If not, disable the user's console password and " ..
  "access keys, then review everything the user did since the sign-in."

local SENSITIVE_SOURCES = {
  ["iam.amazonaws.com"] = true, ["sts.amazonaws.com"] = true,
  ["organizations.amazonaws.com"] = true, ["cloudtrail.amazonaws.com"] = true,
  ["kms.amazonaws.com"] = true,
}

local function user(e)
  return deep_get(e, "userIdentity", "userName")
end

function rule(e)
  if deep_get(e, "userIdentity", "type") ~= "IAMUser" then return false end
  local name, arn = user(e), deep_get(e, "userIdentity", "arn")
  if not (lookup("break_glass_users", name) or lookup("break_glass_users", arn)) then
    return false
  end
  if not aws_cloudtrail_success(e) then return false end
  if e.eventName == "ConsoleLogin" then
    return deep_get(e, "responseElements", "ConsoleLogin") == "Success"
  end
  return true
end

function title(e)
  return "Break-glass user [" .. util.text(user(e)) .. "] called " .. util.text(e.eventName) ..
    " (" .. util.text(e.eventSource) .. ")"
end

function severity(e)
  if e.eventName == "ConsoleLogin" and deep_get(e, "additionalEventData", "MFAUsed") ~= "Yes" then
    return "CRITICAL"
  end
  if e.readOnly ~= true and SENSITIVE_SOURCES[e.eventSource] then return "CRITICAL" end
  return "HIGH"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.mfaUsed = deep_get(e, "additionalEventData", "MFAUsed")
  ctx.readOnly = e.readOnly
  return ctx
end

local function ev(name, source, extra)
  local t = {
    eventVersion = "1.08", eventTime = "2024-09-09T03:12:00Z", eventSource = source, eventName = name,
    eventType = "AwsApiCall", awsRegion = "us-east-1", sourceIPAddress = "198.51.100.200",
    userAgent = "aws-cli/2.15.0", recipientAccountId = "111122223333", readOnly = false,
    userIdentity = { type = "IAMUser", principalId = "AIDAEXAMPLEBREAKGLASS", accountId = "111122223333",
      arn = "arn:aws:iam::111122223333:user/breakglass-admin", userName = "breakglass-admin",
      accessKeyId = "AKIAEXAMPLEBREAKGLAS" },
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "read-only call is HIGH", expect = true, severity = "HIGH",
    title = "Break-glass user [breakglass-admin] called DescribeInstances (ec2.amazonaws.com)",
    event = ev("DescribeInstances", "ec2.amazonaws.com", { readOnly = true }) },
  { name = "IAM write is CRITICAL", expect = true, severity = "CRITICAL",
    title = "Break-glass user [breakglass-admin] called CreateAccessKey (iam.amazonaws.com)",
    event = ev("CreateAccessKey", "iam.amazonaws.com", { requestParameters = { userName = "breakglass-admin" } }) },
  { name = "console sign-in without MFA is CRITICAL", expect = true, severity = "CRITICAL",
    event = ev("ConsoleLogin", "signin.amazonaws.com", { eventType = "AwsConsoleSignIn",
      responseElements = { ConsoleLogin = "Success" }, additionalEventData = { MFAUsed = "No" } }) },
  { name = "console sign-in with MFA is HIGH", expect = true, severity = "HIGH",
    event = ev("ConsoleLogin", "signin.amazonaws.com", { eventType = "AwsConsoleSignIn",
      responseElements = { ConsoleLogin = "Success" }, additionalEventData = { MFAUsed = "Yes" } }) },
  { name = "user listed by ARN in a mocked table", expect = true,
    mocks = { lookup = { break_glass_users = { ["arn:aws:iam::111122223333:user/breakglass-admin"] = true } } },
    event = ev("ListUsers", "iam.amazonaws.com", { readOnly = true }) },
  { name = "failed console sign-in", expect = false,
    event = ev("ConsoleLogin", "signin.amazonaws.com", { errorMessage = "Failed authentication",
      responseElements = { ConsoleLogin = "Failure" } }) },
  { name = "denied call", expect = false,
    event = ev("DeleteTrail", "cloudtrail.amazonaws.com", { errorCode = "AccessDenied" }) },
  { name = "ordinary user", expect = false,
    event = ev("DescribeInstances", "ec2.amazonaws.com", { userIdentity = { type = "IAMUser",
      userName = "alice", arn = "arn:aws:iam::111122223333:user/alice" } }) },
  { name = "no break-glass users configured", expect = false, mocks = { lookup = {} },
    event = ev("DescribeInstances", "ec2.amazonaws.com") },
}
