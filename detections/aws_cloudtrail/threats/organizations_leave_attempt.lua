-- Threat.AWS.Organizations.LeaveAttempt: an account tried to leave its AWS
-- Organization (LeaveOrganization). Leaving removes SCP guardrails and central
-- logging at once (Stratus Red Team aws.defense-evasion.organizations-leave). Denied
-- attempts are reported too (HIGH: someone tried); a successful call is CRITICAL.
-- CIS.AWS.OrganizationsChanges also lists the call among all organisation changes.

local util = require "pack_util"

id = "Threat.AWS.Organizations.LeaveAttempt"
display_name = "Account attempted to leave the organization"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0005:T1562", "TA0005:T1666" },
  ["Stratus Red Team"] = { "aws.defense-evasion.organizations-leave" },
}
tags = { "AWS", "Organizations", "Defense Evasion" }
default_runbook = "Find who holds the calling credentials; a member account should never " ..
  "call LeaveOrganization. If it succeeded, re-invite the account and check what the " ..
  "caller did while SCPs no longer applied."

match = { eventSource = "organizations.amazonaws.com", eventName = "LeaveOrganization" }

function rule(e)
  return e.eventName == "LeaveOrganization"
end

function title(e)
  local outcome = aws_cloudtrail_success(e) and "succeeded" or ("denied: " .. util.text(e.errorCode))
  return "Account [" .. util.text(e.recipientAccountId) .. "] attempted to leave its organization (" ..
    outcome .. ") by [" .. util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(e.recipientAccountId)
end

function severity(e)
  if aws_cloudtrail_success(e) then return "CRITICAL" end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.errorCode = e.errorCode
  return ctx
end

local function leave(extra)
  local t = { eventSource = "organizations.amazonaws.com", eventName = "LeaveOrganization",
    eventTime = "2024-08-02T08:30:00Z", recipientAccountId = "111122223333",
    userIdentity = { type = "AssumedRole", arn = "arn:aws:sts::111122223333:assumed-role/Admin/x" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "successful leave is CRITICAL", expect = true, severity = "CRITICAL",
    title = "Account [111122223333] attempted to leave its organization (succeeded) by [arn:aws:sts::111122223333:assumed-role/Admin/x]",
    event = leave() },
  { name = "denied attempt is HIGH", expect = true, severity = "HIGH",
    title = "Account [111122223333] attempted to leave its organization (denied: AccessDenied) by [arn:aws:sts::111122223333:assumed-role/Admin/x]",
    event = leave({ errorCode = "AccessDenied", errorMessage = "not authorized" }) },
  { name = "other organizations call", expect = false, event = leave({ eventName = "DescribeOrganization" }) },
}
