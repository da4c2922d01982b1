-- Threat.AWS.Route53Resolver.QueryLoggingDeleted: a Route 53 Resolver query logging
-- configuration was deleted or detached from a VPC, blinding DNS-based detection
-- (Stratus Red Team aws.defense-evasion.dns-delete-logs).

local util = require "pack_util"

id = "Threat.AWS.Route53Resolver.QueryLoggingDeleted"
display_name = "Route 53 Resolver query logging removed"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0005:T1562.008" },
  ["Stratus Red Team"] = { "aws.defense-evasion.dns-delete-logs" },
}
tags = { "AWS", "Route 53", "Defense Evasion" }
default_runbook = "Recreate or re-associate the query log configuration and check for " ..
  "other logging changes (CloudTrail, VPC flow logs) by the same principal."

match = {
  eventSource = "route53resolver.amazonaws.com",
  eventName = { "DeleteResolverQueryLogConfig", "DisassociateResolverQueryLogConfig" },
}

function rule(e)
  return aws_cloudtrail_success(e)
end

local function config_id(e)
  return deep_get(e, "requestParameters", "resolverQueryLogConfigId")
end

function title(e)
  return "Route 53 Resolver query logging [" .. util.text(config_id(e)) .. "] removed (" ..
    util.text(e.eventName) .. ") by [" .. util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(e.recipientAccountId) .. ":" .. util.text(config_id(e))
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.resolverQueryLogConfigId = config_id(e)
  ctx.destinationArn = deep_get(e, "responseElements", "resolverQueryLogConfig", "destinationArn")
  return ctx
end

local function ev(name, extra)
  local t = { eventSource = "route53resolver.amazonaws.com", eventName = name, eventTime = "2024-07-31T14:23:46Z",
    recipientAccountId = "111122223333", requestParameters = { resolverQueryLogConfigId = "rqlc-4473f20ca554c07" },
    userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "configuration deleted", expect = true,
    title = "Route 53 Resolver query logging [rqlc-4473f20ca554c07] removed (DeleteResolverQueryLogConfig) by [arn:aws:iam::111122223333:user/dev]",
    event = ev("DeleteResolverQueryLogConfig") },
  { name = "configuration detached from a VPC", expect = true, event = ev("DisassociateResolverQueryLogConfig") },
  { name = "configuration created", expect = false, event = ev("CreateResolverQueryLogConfig") },
  { name = "failed deletion", expect = false,
    event = ev("DeleteResolverQueryLogConfig", { errorCode = "ResourceNotFoundException" }) },
}
