-- Threat.AWS.EC2.SerialConsoleAccessEnabled: EC2 serial console access was turned on
-- for the account and region (EnableSerialConsoleAccess). It is off by default and
-- gives out-of-band access to every instance, bypassing security groups (the first step
-- of Stratus Red Team aws.lateral-movement.ec2-serial-console-send-ssh-public-key).

local util = require "pack_util"

id = "Threat.AWS.EC2.SerialConsoleAccessEnabled"
display_name = "EC2 serial console access enabled"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0005:T1562", "TA0008:T1021" },
  ["Stratus Red Team"] = { "aws.lateral-movement.ec2-serial-console-send-ssh-public-key" },
}
tags = { "AWS", "EC2", "Configuration Change" }

match = { eventSource = "ec2.amazonaws.com", eventName = "EnableSerialConsoleAccess" }

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "EC2 serial console access enabled in " .. util.text(e.awsRegion) .. " of account [" ..
    util.text(e.recipientAccountId) .. "] by [" .. util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(e.recipientAccountId) .. ":" .. util.text(e.awsRegion)
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "enabled", expect = true,
    title = "EC2 serial console access enabled in us-east-1 of account [111122223333] by [arn:aws:iam::111122223333:user/dev]",
    event = { eventSource = "ec2.amazonaws.com", eventName = "EnableSerialConsoleAccess", awsRegion = "us-east-1",
      recipientAccountId = "111122223333", requestParameters = { EnableSerialConsoleAccessRequest = "" },
      responseElements = { EnableSerialConsoleAccessResponse = { serialConsoleAccessEnabled = true } },
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } } },
  { name = "disabled", expect = false,
    event = { eventSource = "ec2.amazonaws.com", eventName = "DisableSerialConsoleAccess",
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } } },
  { name = "denied", expect = false,
    event = { eventSource = "ec2.amazonaws.com", eventName = "EnableSerialConsoleAccess",
      errorCode = "Client.UnauthorizedOperation", userIdentity = { type = "IAMUser", arn = "arn:aws:iam::1:user/d" } } },
}
