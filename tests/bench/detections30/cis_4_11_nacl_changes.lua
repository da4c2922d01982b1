-- CIS AWS Foundations 4.11: network ACL changes.

id = "Bench.CIS.NetworkACLChanges"
display_name = "Network ACL changed"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
reports = { CIS = { "4.11" } }
tags = { "AWS", "CIS" }

match = {
  eventSource = "ec2.amazonaws.com",
  eventName = { "CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl",
                "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation" },
}

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "Network ACL [" .. (deep_get(e, "requestParameters", "networkAclId") or "?") .. "]: "
    .. e.eventName .. " by [" .. util.actor(e) .. "]"
end

-- An inbound allow-everything entry undoes the ACL.
function severity(e)
  local rp = e.requestParameters or {}
  if rp.cidrBlock == "0.0.0.0/0" and rp.ruleAction == "allow" and rp.egress == false then
    return "HIGH"
  end
  return "DEFAULT"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "allow all inbound", expect = true, severity = "HIGH",
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "CreateNetworkAclEntry",
              userIdentity = { type = "IAMUser", userName = "jonas.berg" },
              requestParameters = { networkAclId = "acl-0f1e2d3c4b5a69788", ruleNumber = 90,
                                    egress = false, ruleAction = "allow", cidrBlock = "0.0.0.0/0" } } },
  { name = "deny entry", expect = true, severity = "LOW",
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "CreateNetworkAclEntry",
              requestParameters = { networkAclId = "acl-1", egress = false, ruleAction = "deny",
                                    cidrBlock = "0.0.0.0/0" } } },
  { name = "failed", expect = false,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "DeleteNetworkAcl",
              errorCode = "Client.InvalidNetworkAclID.NotFound", errorMessage = "not found" } },
}
