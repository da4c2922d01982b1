-- Threat.AWS.Lambda.PublicInvokePermission: a Lambda resource policy statement was added
-- (AddPermission, logged as AddPermission20150331 / AddPermission20150331v2) whose
-- principal is "*": anyone can invoke the function (Stratus Red Team
-- aws.persistence.lambda-backdoor-function). HIGH; MEDIUM when the statement is scoped
-- by sourceArn, sourceAccount or principalOrgID.

local util = require "pack_util"

id = "Threat.AWS.Lambda.PublicInvokePermission"
display_name = "Lambda function made invocable by anyone"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0003:T1546", "TA0005:T1562" },
  ["Stratus Red Team"] = { "aws.persistence.lambda-backdoor-function" },
}
tags = { "AWS", "Lambda", "Persistence" }
default_runbook = "Remove the statement (RemovePermission with its statementId) unless the " ..
  "function is meant to be public, and review the function's recent invocations."

match = { eventSource = "lambda.amazonaws.com" }

local function scoped(rp)
  return deep_get(rp, "sourceArn") ~= nil or deep_get(rp, "sourceAccount") ~= nil or
    deep_get(rp, "principalOrgID") ~= nil
end

function rule(e)
  if util.base_name(e.eventName) ~= "AddPermission" then return false end
  if not aws_cloudtrail_success(e) then return false end
  return deep_get(e, "requestParameters", "principal") == "*"
end

local function fn(e)
  return deep_get(e, "requestParameters", "functionName")
end

function title(e)
  return "Lambda function [" .. util.text(fn(e)) .. "] can be invoked by anyone (" ..
    util.text(deep_get(e, "requestParameters", "action")) .. ", added by [" ..
    util.text(util.actor_arn(e)) .. "])"
end

function dedup(e)
  return util.text(fn(e))
end

function severity(e)
  if scoped(e.requestParameters) then return "MEDIUM" end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.functionName = fn(e)
  ctx.statementId = deep_get(e, "requestParameters", "statementId")
  ctx.statement = deep_get(e, "responseElements", "statement")
  return ctx
end

local function add(rp, name, extra)
  local t = { eventSource = "lambda.amazonaws.com", eventName = name or "AddPermission20150331v2",
    eventTime = "2024-08-01T13:47:16Z", recipientAccountId = "111122223333", requestParameters = rp,
    userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "principal * unscoped", expect = true, severity = "HIGH",
    title = "Lambda function [orders] can be invoked by anyone (lambda:InvokeFunction, added by [arn:aws:iam::111122223333:user/dev])",
    event = add({ action = "lambda:InvokeFunction", functionName = "orders", principal = "*", statementId = "x" }) },
  { name = "principal * scoped by sourceArn (older API version name)", expect = true, severity = "MEDIUM",
    event = add({ action = "lambda:InvokeFunction", functionName = "orders", principal = "*",
      sourceArn = "arn:aws:execute-api:us-east-1:111122223333:abc/*" }, "AddPermission20150331") },
  { name = "service principal", expect = false,
    event = add({ action = "lambda:InvokeFunction", functionName = "orders", principal = "s3.amazonaws.com" }) },
  { name = "layer permission is another API", expect = false,
    event = add({ layerName = "l", principal = "*" }, "AddLayerVersionPermission20181031") },
  { name = "failed call", expect = false,
    event = add({ functionName = "orders", principal = "*" }, nil, { errorCode = "ResourceConflictException" }) },
}
