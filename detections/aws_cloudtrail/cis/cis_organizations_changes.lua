-- CIS.AWS.OrganizationsChanges: AWS Organizations changes (CIS AWS Foundations 4.15 in
-- v1.4-v3.0). The CIS metric filter exactly: eventSource = organizations.amazonaws.com
-- AND eventName in the 18 calls below. Like the filter, failed calls count (an attempt
-- to leave the organisation or to detach an SCP matters even when denied). One alert
-- per account per hour. Threat.AWS.Organizations.LeaveAttempt reports LeaveOrganization
-- on its own at HIGH/CRITICAL.

id = "CIS.AWS.OrganizationsChanges"
display_name = "CIS: AWS Organizations changed"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["CIS AWS Foundations v3.0"] = { "4.15" },
  ["MITRE ATT&CK"] = { "TA0005:T1562", "TA0004:T1484" },
}
tags = { "AWS", "CIS", "Organizations" }
default_runbook = "Confirm the change with the team that administers the organisation. " ..
  "Unexpected SCP detachment, policy-type changes, new or moved accounts and accounts " ..
  "leaving the organisation remove guardrails and deserve immediate follow-up."

match = {
  eventSource = "organizations.amazonaws.com",
  eventName = {
    "AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy",
    "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy",
    "DetachPolicy", "DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization",
    "LeaveOrganization", "MoveAccount", "RemoveAccountFromOrganization", "UpdatePolicy",
    "UpdateOrganizationalUnit",
  },
}

local WATCHED = {}
for _, name in ipairs(match.eventName) do WATCHED[name] = true end

function rule(e)
  return e.eventSource == "organizations.amazonaws.com" and WATCHED[e.eventName] == true
end

function title(e)
  local outcome = aws_cloudtrail_success(e) and "" or (" (failed: " .. tostring(e.errorCode) .. ")")
  return "AWS Organizations change " .. tostring(e.eventName) .. outcome .. " by [" ..
    tostring(deep_get(e, "userIdentity", "arn") or aws.actor_user(e)) .. "] in account [" ..
    tostring(e.recipientAccountId) .. "]"
end

function dedup(e)
  return tostring(e.recipientAccountId)
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.errorCode = e.errorCode
  ctx.requestParameters = e.requestParameters
  return ctx
end

local function org(name, err)
  return {
    eventVersion = "1.08", eventTime = "2024-02-02T09:00:00Z", eventSource = "organizations.amazonaws.com",
    eventName = name, eventType = "AwsApiCall", awsRegion = "us-east-1", errorCode = err,
    sourceIPAddress = "198.51.100.9", recipientAccountId = "111122223333",
    userIdentity = { type = "AssumedRole", arn = "arn:aws:sts::111122223333:assumed-role/OrgAdmin/jane",
      accountId = "111122223333" },
    requestParameters = { policyId = "p-examplepolicy", targetId = "ou-exam-ple12345" },
  }
end

tests = {
  { name = "SCP detached", expect = true,
    title = "AWS Organizations change DetachPolicy by [arn:aws:sts::111122223333:assumed-role/OrgAdmin/jane] in account [111122223333]",
    dedup = "111122223333", event = org("DetachPolicy") },
  { name = "denied attempt counts", expect = true,
    title = "AWS Organizations change DisablePolicyType (failed: AccessDeniedException) by [arn:aws:sts::111122223333:assumed-role/OrgAdmin/jane] in account [111122223333]",
    event = org("DisablePolicyType", "AccessDeniedException") },
  { name = "read-only call", expect = false, event = org("ListPolicies") },
  { name = "same name on another service", expect = false,
    event = { eventSource = "iam.amazonaws.com", eventName = "CreatePolicy", recipientAccountId = "111122223333",
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/a" } } },
}
