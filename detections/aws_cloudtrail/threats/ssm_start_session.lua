-- Threat.AWS.SSM.StartSession: an interactive Session Manager session (shell or port
-- forwarding) was opened on an instance (Stratus Red Team
-- aws.execution.ssm-start-session). Legitimate for operators, so LOW: it gives context
-- for other alerts on the same principal. One alert per caller per hour.

local util = require "pack_util"

id = "Threat.AWS.SSM.StartSession"
display_name = "SSM session started"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0008:T1021.007", "TA0002:T1651" },
  ["Stratus Red Team"] = { "aws.execution.ssm-start-session" },
}
tags = { "AWS", "SSM", "Execution", "Lateral Movement" }

match = { eventSource = "ssm.amazonaws.com", eventName = "StartSession" }

function rule(e)
  return aws_cloudtrail_success(e)
end

local function target(e)
  return deep_get(e, "requestParameters", "target")
end

function title(e)
  local doc = deep_get(e, "requestParameters", "documentName")
  local kind = doc and (" (" .. tostring(doc) .. ")") or ""
  return "SSM session" .. kind .. " started on [" .. util.text(target(e)) .. "] by [" ..
    util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(util.actor_arn(e))
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.target = target(e)
  ctx.sessionId = deep_get(e, "responseElements", "sessionId")
  return ctx
end

tests = {
  { name = "shell session", expect = true,
    title = "SSM session started on [i-0123456789abcdef0] by [arn:aws:iam::111122223333:user/dev]",
    event = { eventSource = "ssm.amazonaws.com", eventName = "StartSession", eventTime = "2024-08-01T12:19:16Z",
      requestParameters = { target = "i-0123456789abcdef0" },
      responseElements = { sessionId = "dev-0a1b2c3d4e5f", streamUrl = "wss://ssmmessages.example", tokenValue = "Value hidden due to security reasons." },
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } } },
  { name = "port forwarding", expect = true,
    title = "SSM session (AWS-StartPortForwardingSession) started on [i-1] by [arn:aws:iam::111122223333:user/dev]",
    event = { eventSource = "ssm.amazonaws.com", eventName = "StartSession",
      requestParameters = { target = "i-1", documentName = "AWS-StartPortForwardingSession" },
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } } },
  { name = "denied", expect = false,
    event = { eventSource = "ssm.amazonaws.com", eventName = "StartSession", errorCode = "AccessDeniedException",
      requestParameters = { target = "i-1" }, userIdentity = { type = "IAMUser", arn = "arn:aws:iam::1:user/x" } } },
  { name = "TerminateSession", expect = false,
    event = { eventSource = "ssm.amazonaws.com", eventName = "TerminateSession",
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::1:user/x" } } },
}
