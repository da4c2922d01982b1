-- CIS AWS Foundations 4.10: security group changes. Noisy by design (deployments touch
-- groups), so INFO with one alert per group and hour; Bench.AWS.EC2.SecurityGroupOpenToWorld
-- is the one that pages.

id = "Bench.CIS.SecurityGroupChanges"
display_name = "Security group changed"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
reports = { CIS = { "4.10" } }
tags = { "AWS", "CIS" }

match = {
  eventSource = "ec2.amazonaws.com",
  eventName = { "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
                "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
                "CreateSecurityGroup", "DeleteSecurityGroup" },
}

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e)
end

local function group(e)
  return deep_get(e, "requestParameters", "groupId")
    or deep_get(e, "responseElements", "groupId")
    or deep_get(e, "requestParameters", "groupName") or "?"
end

function title(e)
  return "Security group [" .. group(e) .. "]: " .. e.eventName .. " by [" .. util.actor(e) .. "]"
end

function dedup(e)
  return group(e)
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.ipPermissions = deep_get(e, "requestParameters", "ipPermissions")
  return ctx
end

tests = {
  { name = "ingress added", expect = true, dedup = "sg-0a1b2c3d4e5f60718",
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com",
              eventName = "AuthorizeSecurityGroupIngress",
              userIdentity = { type = "IAMUser", userName = "terraform-runner" },
              requestParameters = { groupId = "sg-0a1b2c3d4e5f60718" } } },
  { name = "unauthorized", expect = false,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com",
              eventName = "DeleteSecurityGroup", errorCode = "Client.UnauthorizedOperation",
              errorMessage = "You are not authorized to perform this operation." } },
}
