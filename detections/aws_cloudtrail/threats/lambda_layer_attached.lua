-- Threat.AWS.Lambda.LayerAttached: layers were attached to an existing function
-- (UpdateFunctionConfiguration with a non-empty `layers` list), or a function was
-- created with a layer from another account. A layer can carry a Lambda extension that
-- runs beside the function code and reads its events and credentials (Stratus Red
-- Team aws.persistence.lambda-layer-extension). HIGH when a layer belongs to another
-- account (not in pack_config `trusted_accounts`), MEDIUM otherwise. Deployers listed
-- in pack_config `lambda_deployers` are ignored.

config = require "pack_config"
local util = require "pack_util"

id = "Threat.AWS.Lambda.LayerAttached"
display_name = "Lambda layer attached to a function"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0003:T1546", "TA0005:T1574" },
  ["Stratus Red Team"] = { "aws.persistence.lambda-layer-extension" },
}
tags = { "AWS", "Lambda", "Persistence" }
default_runbook = "Identify the layer and who published it. Layers from unknown accounts " ..
  "or containing an extensions/ directory should be removed and the function's secrets rotated."

match = { eventSource = "lambda.amazonaws.com" }

local function layers(e)
  local out = {}
  for _, l in ipairs(util.list(deep_get(e, "requestParameters", "layers"))) do
    if type(l) == "string" then out[#out + 1] = l end
  end
  return out
end

local function external_layers(e)
  local accts = {}
  for _, l in ipairs(layers(e)) do
    local a = util.account_of(l)
    if a then accts[#accts + 1] = a end
  end
  return util.external(accts, util.own_accounts(e), config.trusted_accounts)
end

function rule(e)
  local base = util.base_name(e.eventName)
  if base ~= "UpdateFunctionConfiguration" and base ~= "CreateFunction" then return false end
  if not aws_cloudtrail_success(e) then return false end
  if #layers(e) == 0 then return false end
  if util.glob_any(config.lambda_deployers, deep_get(e, "userIdentity", "arn"),
      deep_get(e, "userIdentity", "sessionContext", "sessionIssuer", "userName")) then
    return false
  end
  if base == "CreateFunction" then return #external_layers(e) > 0 end
  return true
end

local function fn(e)
  return deep_get(e, "responseElements", "functionName") or deep_get(e, "requestParameters", "functionName")
end

function title(e)
  return "Lambda layer(s) " .. util.join(layers(e)) .. " attached to [" .. util.text(fn(e)) ..
    "] by [" .. util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(fn(e))
end

function severity(e)
  if #external_layers(e) > 0 then return "HIGH" end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.functionName = fn(e)
  ctx.layers = json.array(layers(e))
  ctx.externalLayerAccounts = json.array(external_layers(e))
  return ctx
end

local OWN = "arn:aws:lambda:us-east-1:111122223333:layer:tools:3"
local FOREIGN = "arn:aws:lambda:us-east-1:999988887777:layer:ext:1"
local function ev(name, layer_list, extra)
  local t = { eventSource = "lambda.amazonaws.com", eventName = name, eventTime = "2024-07-30T21:57:20Z",
    recipientAccountId = "111122223333",
    requestParameters = { functionName = "arn:aws:lambda:us-east-1:111122223333:function:orders", layers = layer_list },
    responseElements = { functionName = "orders" },
    userIdentity = { type = "IAMUser", accountId = "111122223333", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "own-account layer added to a function", expect = true, severity = "MEDIUM",
    title = "Lambda layer(s) " .. OWN .. " attached to [orders] by [arn:aws:iam::111122223333:user/dev]",
    event = ev("UpdateFunctionConfiguration20150331v2", { OWN }) },
  { name = "foreign layer is HIGH", expect = true, severity = "HIGH",
    event = ev("UpdateFunctionConfiguration20150331v2", { OWN, FOREIGN }) },
  { name = "new function with a foreign layer", expect = true, severity = "HIGH",
    event = ev("CreateFunction20150331", { FOREIGN }) },
  { name = "new function with an own layer", expect = false, event = ev("CreateFunction20150331", { OWN }) },
  { name = "configuration change without layers", expect = false,
    event = ev("UpdateFunctionConfiguration20150331v2", nil) },
  { name = "deployer (mocked config)", expect = false, mocks = { config = { lambda_deployers = { "*:user/dev" } } },
    event = ev("UpdateFunctionConfiguration20150331v2", { FOREIGN }) },
}
