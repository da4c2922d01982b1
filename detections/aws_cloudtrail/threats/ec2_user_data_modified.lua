-- Threat.AWS.EC2.UserDataModified: the user data of an existing instance was replaced
-- (ModifyInstanceAttribute with userData). Combined with a stop/start, the new script
-- runs as root at boot: code execution on the instance (Stratus Red Team
-- aws.execution.ec2-user-data).

local util = require "pack_util"

id = "Threat.AWS.EC2.UserDataModified"
display_name = "EC2 instance user data modified"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0002:T1059.009", "TA0003:T1037" },
  ["Stratus Red Team"] = { "aws.execution.ec2-user-data" },
}
tags = { "AWS", "EC2", "Execution" }
default_runbook = "Retrieve the new user data (DescribeInstanceAttribute userData) and " ..
  "compare it with the launch template. Look for a StopInstances/StartInstances pair by " ..
  "the same principal right after the change."

match = { eventSource = "ec2.amazonaws.com", eventName = "ModifyInstanceAttribute" }

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  local rp = e.requestParameters
  return deep_get(rp, "userData") ~= nil or deep_get(rp, "attribute") == "userData"
end

local function instance(e)
  return deep_get(e, "requestParameters", "instanceId")
end

function title(e)
  return "User data of EC2 instance [" .. util.text(instance(e)) .. "] modified by [" ..
    util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(instance(e))
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.instanceId = instance(e)
  return ctx
end

local function mod(rp, extra)
  local t = { eventSource = "ec2.amazonaws.com", eventName = "ModifyInstanceAttribute",
    eventTime = "2024-08-01T12:04:18Z", recipientAccountId = "111122223333", requestParameters = rp,
    userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "user data replaced", expect = true,
    title = "User data of EC2 instance [i-0123456789abcdef0] modified by [arn:aws:iam::111122223333:user/dev]",
    event = mod({ instanceId = "i-0123456789abcdef0", userData = "<sensitiveDataRemoved>" }) },
  { name = "attribute form", expect = true,
    event = mod({ instanceId = "i-1", attribute = "userData", value = "<sensitiveDataRemoved>" }) },
  { name = "instance type change", expect = false,
    event = mod({ instanceId = "i-1", instanceType = { value = "t3.large" } }) },
  { name = "failed change (instance running)", expect = false,
    event = mod({ instanceId = "i-1", userData = "<sensitiveDataRemoved>" }, { errorCode = "Client.IncorrectInstanceState" }) },
}
