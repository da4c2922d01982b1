-- CIS AWS Foundations 4.15: AWS Organizations changes. An account leaving the
-- organisation escapes its SCPs and central logging.

id = "Bench.CIS.OrganizationsChanges"
display_name = "AWS Organizations changed"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "4.15" }, ["MITRE ATT&CK"] = { "TA0005:T1666" } }
tags = { "AWS", "CIS", "Defense Evasion" }

match = {
  eventSource = "organizations.amazonaws.com",
  eventName = { "AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit",
                "CreatePolicy", "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit",
                "DeletePolicy", "DetachPolicy", "DisablePolicyType", "EnablePolicyType",
                "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount",
                "RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit" },
}

local util = require "bench_util"
local ESCAPES = { LeaveOrganization = true, RemoveAccountFromOrganization = true,
                  DetachPolicy = true, DisablePolicyType = true, DeleteOrganization = true }

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "AWS Organizations: " .. e.eventName .. " in account [" .. (e.recipientAccountId or "?")
    .. "] by [" .. util.actor(e) .. "]"
end

function severity(e)
  if ESCAPES[e.eventName] then return "HIGH" end
  return "DEFAULT"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "leave organization", expect = true, severity = "HIGH",
    event = { eventVersion = "1.09", eventSource = "organizations.amazonaws.com",
              eventName = "LeaveOrganization", recipientAccountId = "144960271358",
              userIdentity = { type = "IAMUser", userName = "nils.eriksen" } } },
  { name = "new OU", expect = true, severity = "MEDIUM",
    event = { eventVersion = "1.09", eventSource = "organizations.amazonaws.com",
              eventName = "CreateOrganizationalUnit" } },
  { name = "denied", expect = false,
    event = { eventVersion = "1.09", eventSource = "organizations.amazonaws.com",
              eventName = "LeaveOrganization", errorCode = "AccessDeniedException",
              errorMessage = "denied by SCP" } },
}
