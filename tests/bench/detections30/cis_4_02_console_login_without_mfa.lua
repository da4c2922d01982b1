-- CIS AWS Foundations 4.2: management console sign-in without MFA. Identity Center and
-- federated sign-ins enforce MFA at the identity provider, so only IAM users count.

id = "Bench.CIS.ConsoleLoginWithoutMFA"
display_name = "Console sign-in without MFA"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "4.2" }, ["MITRE ATT&CK"] = { "TA0001:T1078.004" } }
tags = { "AWS", "CIS", "Initial Access" }

match = { eventName = "ConsoleLogin", eventSource = "signin.amazonaws.com" }

local config = require "bench_config"

function rule(e)
  return deep_get(e, "responseElements", "ConsoleLogin") == "Success"
    and deep_get(e, "userIdentity", "type") == "IAMUser"
    and deep_get(e, "additionalEventData", "MFAUsed") ~= "Yes"
end

function title(e)
  return "IAM user [" .. (deep_get(e, "userIdentity", "userName") or "?")
    .. "] signed in to account [" .. (e.recipientAccountId or "?") .. "] without MFA"
end

-- From outside the office ranges this is what a phished password looks like.
function severity(e)
  if ip.in_cidr(e.sourceIPAddress, config.trusted_cidrs) then return "LOW" end
  return "DEFAULT"
end

function alert_context(e)
  return aws.rule_context(e)
end

local function login(mfa, result, ip_addr)
  return {
    eventVersion = "1.09", eventSource = "signin.amazonaws.com", eventName = "ConsoleLogin",
    eventType = "AwsConsoleSignIn", awsRegion = "us-east-1", sourceIPAddress = ip_addr,
    recipientAccountId = "318462095713",
    userIdentity = { type = "IAMUser", userName = "alice.nguyen", accountId = "318462095713",
                     arn = "arn:aws:iam::318462095713:user/alice.nguyen" },
    responseElements = { ConsoleLogin = result },
    additionalEventData = { MFAUsed = mfa, MobileVersion = "No" },
  }
end

tests = {
  { name = "no MFA from the internet", expect = true, severity = "MEDIUM",
    title = "IAM user [alice.nguyen] signed in to account [318462095713] without MFA",
    event = login("No", "Success", "81.2.69.160") },
  { name = "no MFA from the office", expect = true, severity = "LOW",
    event = login("No", "Success", "198.18.4.20") },
  { name = "with MFA", expect = false, event = login("Yes", "Success", "81.2.69.160") },
  { name = "failed sign-in", expect = false, event = login("No", "Failure", "81.2.69.160") },
}
