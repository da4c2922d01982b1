-- CIS AWS Foundations 4.12: internet and customer gateway changes.

id = "Bench.CIS.NetworkGatewayChanges"
display_name = "Network gateway changed"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "4.12" } }
tags = { "AWS", "CIS" }

match = {
  eventSource = "ec2.amazonaws.com",
  eventName = { "CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway",
                "CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway" },
}

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  local rp = e.requestParameters or {}
  return "Gateway change " .. e.eventName .. " [" .. (rp.internetGatewayId or rp.customerGatewayId
    or rp.ipAddress or "?") .. "] by [" .. util.actor(e) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "igw attached", expect = true,
    title = "Gateway change AttachInternetGateway [igw-0123] by [liam.obrien]",
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "AttachInternetGateway",
              userIdentity = { type = "IAMUser", userName = "liam.obrien" },
              requestParameters = { internetGatewayId = "igw-0123", vpcId = "vpc-0456" } } },
  { name = "failed", expect = false,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "DeleteInternetGateway",
              errorCode = "Client.DependencyViolation", errorMessage = "has dependencies" } },
}
