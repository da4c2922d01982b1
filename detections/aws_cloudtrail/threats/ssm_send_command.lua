-- Threat.AWS.SSM.SendCommand: commands were sent to EC2 instances through Systems
-- Manager (ssm:SendCommand), i.e. remote code execution with the instance's privileges
-- (Stratus Red Team aws.execution.ssm-send-command, and the first step of
-- aws.credential-access.ec2-steal-instance-credentials). Shell documents
-- (AWS-RunShellScript, AWS-RunPowerShellScript) are MEDIUM, other documents LOW, and a
-- shell document aimed at tag targets or at 5+ instances is HIGH. One alert per caller
-- and document per hour.

local util = require "pack_util"

id = "Threat.AWS.SSM.SendCommand"
display_name = "SSM command sent to instances"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0002:T1651" },
  ["Stratus Red Team"] = { "aws.execution.ssm-send-command", "aws.credential-access.ec2-steal-instance-credentials" },
}
tags = { "AWS", "SSM", "Execution" }
default_runbook = "Read the command output (GetCommandInvocation, or the S3/CloudWatch " ..
  "output location) and confirm the command with the instance owner. Unexpected shell " ..
  "commands from an interactive user or an unfamiliar IP are hands-on-keyboard activity."

match = { eventSource = "ssm.amazonaws.com", eventName = "SendCommand" }

local SHELL = { ["AWS-RunShellScript"] = true, ["AWS-RunPowerShellScript"] = true }

local function document(e)
  return deep_get(e, "requestParameters", "documentName")
end

local function instance_count(e)
  local ids = deep_get(e, "requestParameters", "instanceIds")
  if type(ids) == "table" then return #ids end
  return 0
end

local function has_targets(e)
  local t = deep_get(e, "requestParameters", "targets")
  return type(t) == "table" and t[1] ~= nil
end

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  local n = instance_count(e)
  local where = has_targets(e) and "tag/resource-group targets" or (tostring(n) .. " instance(s)")
  return "SSM " .. util.text(document(e)) .. " sent to " .. where .. " by [" ..
    util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(util.actor_arn(e)) .. ":" .. util.text(document(e))
end

function severity(e)
  if not SHELL[document(e)] then return "LOW" end
  if has_targets(e) or instance_count(e) >= 5 then return "HIGH" end
  return "MEDIUM"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.documentName = document(e)
  ctx.instanceIds = deep_get(e, "requestParameters", "instanceIds")
  ctx.commandId = deep_get(e, "responseElements", "command", "commandId")
  return ctx
end

local function send(rp, extra)
  local t = { eventSource = "ssm.amazonaws.com", eventName = "SendCommand", eventTime = "2024-08-02T08:23:24Z",
    sourceIPAddress = "198.51.100.47", recipientAccountId = "111122223333", requestParameters = rp,
    userIdentity = { type = "IAMUser", userName = "dev", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "shell script to one instance", expect = true, severity = "MEDIUM",
    title = "SSM AWS-RunShellScript sent to 1 instance(s) by [arn:aws:iam::111122223333:user/dev]",
    event = send({ documentName = "AWS-RunShellScript", instanceIds = { "i-0123456789abcdef0" },
      parameters = "HIDDEN_DUE_TO_SECURITY_REASONS" }) },
  { name = "shell script to tag targets", expect = true, severity = "HIGH",
    title = "SSM AWS-RunShellScript sent to tag/resource-group targets by [arn:aws:iam::111122223333:user/dev]",
    event = send({ documentName = "AWS-RunShellScript", targets = { { key = "tag:env", values = { "prod" } } } }) },
  { name = "patch baseline document", expect = true, severity = "LOW",
    event = send({ documentName = "AWS-RunPatchBaseline", instanceIds = { "i-1" } }) },
  { name = "failed call", expect = false,
    event = send({ documentName = "AWS-RunShellScript", instanceIds = { "i-1" } }, { errorCode = "InvalidInstanceId" }) },
  { name = "GetCommandInvocation", expect = false,
    event = { eventSource = "ssm.amazonaws.com", eventName = "GetCommandInvocation",
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } } },
}
