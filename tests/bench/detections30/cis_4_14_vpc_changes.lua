-- CIS AWS Foundations 4.14: VPC, peering and ClassicLink changes.

id = "Bench.CIS.VPCChanges"
display_name = "VPC changed"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
reports = { CIS = { "4.14" } }
tags = { "AWS", "CIS" }

match = {
  eventSource = "ec2.amazonaws.com",
  eventName = { "CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection",
                "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection",
                "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc",
                "DisableVpcClassicLink", "EnableVpcClassicLink" },
}

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "VPC [" .. (deep_get(e, "requestParameters", "vpcId") or "?") .. "]: " .. e.eventName
    .. " by [" .. util.actor(e) .. "]"
end

-- Peering towards an account outside the organisation opens a network path out.
function severity(e)
  local peer = deep_get(e, "requestParameters", "peerOwnerId")
  if peer and peer ~= e.recipientAccountId then return "MEDIUM" end
  return "DEFAULT"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "peering to a foreign account", expect = true, severity = "MEDIUM",
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com",
              eventName = "CreateVpcPeeringConnection", recipientAccountId = "318462095713",
              requestParameters = { vpcId = "vpc-01", peerVpcId = "vpc-99", peerOwnerId = "999988887777" } } },
  { name = "attribute change", expect = true, severity = "LOW",
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "ModifyVpcAttribute",
              requestParameters = { vpcId = "vpc-01", enableDnsHostnames = { value = true } } } },
  { name = "failed", expect = false,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "DeleteVpc",
              errorCode = "Client.DependencyViolation", errorMessage = "dependencies" } },
}
