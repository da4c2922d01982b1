-- Threat.AWS.Lambda.FunctionCodeUpdated: a function's code was replaced
-- (UpdateFunctionCode, logged with an API version suffix) by a principal that is not a
-- known deployer: overwriting the code of an existing function is a quiet persistence
-- and execution path (Stratus Red Team aws.persistence.lambda-overwrite-code).
-- Deployers (CI/CD roles) are listed in pack_config `lambda_deployers` (globs on the
-- caller ARN and on the session issuer name); calls made through CloudFormation
-- (invokedBy) are ignored.

config = require "pack_config"
local util = require "pack_util"

id = "Threat.AWS.Lambda.FunctionCodeUpdated"
display_name = "Lambda function code updated outside CI/CD"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0003:T1546", "TA0002:T1648" },
  ["Stratus Red Team"] = { "aws.persistence.lambda-overwrite-code" },
}
tags = { "AWS", "Lambda", "Persistence" }
default_runbook = "Compare the new codeSha256 with the last release of the function. If " ..
  "the update did not come from your pipeline, roll back to the previous version and " ..
  "inspect the uploaded package."

match = { eventSource = "lambda.amazonaws.com" }

function rule(e)
  if util.base_name(e.eventName) ~= "UpdateFunctionCode" then return false end
  if not aws_cloudtrail_success(e) then return false end
  if deep_get(e, "userIdentity", "invokedBy") == "cloudformation.amazonaws.com" then return false end
  return not util.glob_any(config.lambda_deployers, deep_get(e, "userIdentity", "arn"),
    deep_get(e, "userIdentity", "sessionContext", "sessionIssuer", "userName"))
end

local function fn(e)
  return deep_get(e, "responseElements", "functionName") or deep_get(e, "requestParameters", "functionName")
end

function title(e)
  return "Lambda function [" .. util.text(fn(e)) .. "] code updated by [" .. util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(fn(e))
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.functionName = fn(e)
  ctx.codeSha256 = deep_get(e, "responseElements", "codeSha256")
  return ctx
end

local function upd(caller, extra)
  local t = { eventSource = "lambda.amazonaws.com", eventName = "UpdateFunctionCode20150331v2",
    eventTime = "2024-08-01T13:52:02Z", recipientAccountId = "111122223333",
    requestParameters = { functionName = "arn:aws:lambda:us-east-1:111122223333:function:orders", publish = true },
    responseElements = { functionName = "orders", codeSha256 = "Pt1c8vVaBygmNtAeSyjlpdy7r8nHRqJAAL++HEGlQkc=" },
    userIdentity = caller }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end
local DEV = { type = "IAMUser", userName = "dev", arn = "arn:aws:iam::111122223333:user/dev" }
local CI = { type = "AssumedRole", arn = "arn:aws:sts::111122223333:assumed-role/github-deploy/run-42",
  sessionContext = { sessionIssuer = { type = "Role", userName = "github-deploy" } } }

tests = {
  { name = "IAM user overwrites code", expect = true,
    title = "Lambda function [orders] code updated by [arn:aws:iam::111122223333:user/dev]", event = upd(DEV) },
  { name = "CI role, not configured as deployer", expect = true, event = upd(CI) },
  { name = "CI role listed in lambda_deployers (mocked config)", expect = false,
    mocks = { config = { lambda_deployers = { "github-deploy" } } }, event = upd(CI) },
  { name = "CloudFormation deployment", expect = false,
    event = upd({ type = "AssumedRole", arn = "arn:aws:sts::111122223333:assumed-role/cfn/x",
      invokedBy = "cloudformation.amazonaws.com" }) },
  { name = "configuration update", expect = false,
    event = upd(DEV, { eventName = "UpdateFunctionConfiguration20150331v2" }) },
  { name = "failed update", expect = false, event = upd(DEV, { errorCode = "CodeStorageExceededException" }) },
}
