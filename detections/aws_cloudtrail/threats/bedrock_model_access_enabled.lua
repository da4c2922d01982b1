-- Threat.AWS.Bedrock.ModelAccessEnabled: access to a Bedrock foundation model was
-- requested or granted (PutUseCaseForModelAccess, CreateFoundationModelAgreement,
-- PutFoundationModelEntitlement). Attackers with stolen keys enable models to resell
-- or abuse them ("LLMjacking"), the preparation step of Stratus Red Team
-- aws.impact.bedrock-invoke-model. One alert per caller per hour.

local util = require "pack_util"

id = "Threat.AWS.Bedrock.ModelAccessEnabled"
display_name = "Bedrock model access enabled"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0040:T1496" },
  ["Stratus Red Team"] = { "aws.impact.bedrock-invoke-model" },
}
tags = { "AWS", "Bedrock", "Resource Hijacking" }
default_runbook = "Check whether the account is supposed to use Bedrock. If not, revoke " ..
  "the caller's credentials, remove the model access and review InvokeModel volume and cost."

match = {
  eventSource = "bedrock.amazonaws.com",
  eventName = { "PutUseCaseForModelAccess", "CreateFoundationModelAgreement", "PutFoundationModelEntitlement" },
}

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  local model = deep_get(e, "requestParameters", "modelId")
  local what = model and (" for " .. tostring(model)) or ""
  return "Bedrock model access enabled" .. what .. " by [" .. util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(util.actor_arn(e))
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.modelId = deep_get(e, "requestParameters", "modelId")
  return ctx
end

local function ev(name, rp, extra)
  local t = { eventSource = "bedrock.amazonaws.com", eventName = name, eventTime = "2024-10-17T20:09:52Z",
    recipientAccountId = "111122223333", requestParameters = rp,
    userIdentity = { type = "AssumedRole", arn = "arn:aws:sts::111122223333:assumed-role/test-role/cli" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "model entitlement", expect = true,
    title = "Bedrock model access enabled for anthropic.claude-3-sonnet-20240229-v1:0 by [arn:aws:sts::111122223333:assumed-role/test-role/cli]",
    event = ev("PutFoundationModelEntitlement", { modelId = "anthropic.claude-3-sonnet-20240229-v1:0" }) },
  { name = "use case submitted", expect = true,
    title = "Bedrock model access enabled by [arn:aws:sts::111122223333:assumed-role/test-role/cli]",
    event = ev("PutUseCaseForModelAccess", nil) },
  { name = "availability check", expect = false,
    event = ev("GetFoundationModelAvailability", { modelId = "anthropic.claude-3-sonnet-20240229-v1:0" }) },
  { name = "denied", expect = false,
    event = ev("CreateFoundationModelAgreement", { modelId = "m" }, { errorCode = "AccessDeniedException" }) },
}
