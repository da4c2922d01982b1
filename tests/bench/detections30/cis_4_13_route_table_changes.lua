-- CIS AWS Foundations 4.13: route table changes.

id = "Bench.CIS.RouteTableChanges"
display_name = "Route table changed"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
reports = { CIS = { "4.13" } }
tags = { "AWS", "CIS" }

match = {
  eventSource = "ec2.amazonaws.com",
  eventName = { "CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation",
                "DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable" },
}

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "Route table [" .. (deep_get(e, "requestParameters", "routeTableId") or "?") .. "]: "
    .. e.eventName .. " by [" .. util.actor(e) .. "]"
end

function dedup(e)
  return deep_get(e, "requestParameters", "routeTableId") or "?"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.destination = deep_get(e, "requestParameters", "destinationCidrBlock")
  return ctx
end

tests = {
  { name = "default route replaced", expect = true, dedup = "rtb-0aa",
    context = { destination = "0.0.0.0/0" },
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "ReplaceRoute",
              requestParameters = { routeTableId = "rtb-0aa", destinationCidrBlock = "0.0.0.0/0",
                                    gatewayId = "igw-0bb" } } },
  { name = "failed", expect = false,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "CreateRoute",
              errorCode = "Client.RouteAlreadyExists", errorMessage = "exists",
              requestParameters = { routeTableId = "rtb-0aa" } } },
}
