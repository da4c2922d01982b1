-- Threat.AWS.EC2.InstanceConnectKeyPushed: an SSH public key was pushed to an instance
-- with EC2 Instance Connect (SendSSHPublicKey) or to its serial console
-- (SendSerialConsoleSSHPublicKey): interactive access that bypasses the instance's own
-- key management (Stratus Red Team aws.lateral-movement.ec2-instance-connect and
-- ec2-serial-console-send-ssh-public-key). LOW for Instance Connect (common operator
-- practice), MEDIUM for the serial console. One alert per caller per hour.

local util = require "pack_util"

id = "Threat.AWS.EC2.InstanceConnectKeyPushed"
display_name = "SSH key pushed with EC2 Instance Connect"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0008:T1021.004", "TA0003:T1098.004" },
  ["Stratus Red Team"] = {
    "aws.lateral-movement.ec2-instance-connect",
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
  },
}
tags = { "AWS", "EC2", "Lateral Movement" }

match = {
  eventSource = "ec2-instance-connect.amazonaws.com",
  eventName = { "SendSSHPublicKey", "SendSerialConsoleSSHPublicKey" },
}

function rule(e)
  return aws_cloudtrail_success(e)
end

local function instance(e)
  return deep_get(e, "requestParameters", "instanceId")
end

function title(e)
  local via = e.eventName == "SendSerialConsoleSSHPublicKey" and "serial console of" or "instance"
  return "SSH key pushed to " .. via .. " [" .. util.text(instance(e)) .. "] by [" ..
    util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(util.actor_arn(e)) .. ":" .. util.text(e.eventName)
end

function severity(e)
  if e.eventName == "SendSerialConsoleSSHPublicKey" then return "MEDIUM" end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.instanceId = instance(e)
  ctx.instanceOSUser = deep_get(e, "requestParameters", "instanceOSUser")
  return ctx
end

local function push(name, extra)
  local t = { eventSource = "ec2-instance-connect.amazonaws.com", eventName = name,
    eventTime = "2024-08-01T13:24:47Z", recipientAccountId = "111122223333",
    requestParameters = { instanceId = "i-0123456789abcdef0", instanceOSUser = "ec2-user",
      sSHPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyMaterial" },
    responseElements = { requestId = "1f1786bd-e04c-4fd9-af8c-6a5d69376c41", success = true },
    userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "Instance Connect", expect = true, severity = "LOW",
    title = "SSH key pushed to instance [i-0123456789abcdef0] by [arn:aws:iam::111122223333:user/dev]",
    event = push("SendSSHPublicKey") },
  { name = "serial console", expect = true, severity = "MEDIUM",
    title = "SSH key pushed to serial console of [i-0123456789abcdef0] by [arn:aws:iam::111122223333:user/dev]",
    event = push("SendSerialConsoleSSHPublicKey") },
  { name = "denied", expect = false, event = push("SendSSHPublicKey", { errorCode = "AccessDenied" }) },
}
