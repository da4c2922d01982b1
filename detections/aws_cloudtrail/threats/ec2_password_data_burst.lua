-- Threat.AWS.EC2.PasswordDataBurst: one principal asks for the Windows administrator
-- password data (ec2:GetPasswordData) of at least 5 distinct instances within 10
-- minutes. Attempts count whether or not they succeed: a denied burst is the same
-- credential-access technique run with too few permissions (Stratus Red Team
-- aws.credential-access.ec2-get-password-data). Operators normally fetch one password
-- at a time from the console.

local util = require "pack_util"

id = "Threat.AWS.EC2.PasswordDataBurst"
display_name = "EC2 password data requested for many instances"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 10
threshold = 5
reports = {
  ["MITRE ATT&CK"] = { "TA0006:T1552" },
  ["Stratus Red Team"] = { "aws.credential-access.ec2-get-password-data" },
}
tags = { "AWS", "EC2", "Credential Access" }
default_runbook = "Identify the principal and where it runs. Unless it is a known " ..
  "password-rotation tool, revoke its sessions and rotate the local administrator " ..
  "passwords of the instances it reached (those with successful calls first)."

match = { eventSource = "ec2.amazonaws.com", eventName = "GetPasswordData" }

function rule(e)
  return e.eventName == "GetPasswordData" and util.instance_id(e) ~= nil
end

function unique(e)
  return tostring(util.instance_id(e))
end

function dedup(e)
  return util.text(util.actor_arn(e))
end

function title(e)
  return "Password data of many EC2 instances requested by [" .. util.text(util.actor_arn(e)) .. "]"
end

function alert_context(e)
  return util.instance_context(e)
end

local function gpd(instance, t, arn)
  return {
    eventTime = t, eventSource = "ec2.amazonaws.com", eventName = "GetPasswordData",
    eventType = "AwsApiCall", readOnly = true, sourceIPAddress = "198.51.100.3",
    recipientAccountId = "111122223333", requestParameters = { instanceId = instance },
    userIdentity = { type = "IAMUser", arn = arn or "arn:aws:iam::111122223333:user/ops" },
  }
end

tests = {
  { name = "single request matches (the threshold decides)", expect = true,
    title = "Password data of many EC2 instances requested by [arn:aws:iam::111122223333:user/ops]",
    event = gpd("i-0123456789abcdef0", "2024-01-01T00:00:00Z") },
  { name = "other EC2 call", expect = false,
    event = { eventSource = "ec2.amazonaws.com", eventName = "DescribeInstances",
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/ops" } } },
  { name = "the same instance five times is not a burst",
    events = {
      gpd("i-01", "2024-01-01T00:00:00Z"), gpd("i-01", "2024-01-01T00:00:10Z"), gpd("i-01", "2024-01-01T00:00:20Z"),
      gpd("i-01", "2024-01-01T00:00:30Z"), gpd("i-01", "2024-01-01T00:00:40Z"),
    },
    expect_alerts = 0 },
  { name = "five instances spread over more than ten minutes are not a burst",
    events = {
      gpd("i-01", "2024-01-01T00:00:00Z"), gpd("i-02", "2024-01-01T00:04:00Z"), gpd("i-03", "2024-01-01T00:08:00Z"),
      gpd("i-04", "2024-01-01T00:12:00Z"), gpd("i-05", "2024-01-01T00:16:00Z"),
    },
    expect_alerts = 0 },
  { name = "five instances in a minute", expect_alerts = 1,
    events = {
      gpd("i-01", "2024-01-01T00:00:00Z"), gpd("i-02", "2024-01-01T00:00:10Z"), gpd("i-03", "2024-01-01T00:00:20Z"),
      gpd("i-04", "2024-01-01T00:00:30Z"), gpd("i-05", "2024-01-01T00:00:40Z"),
    } },
}
