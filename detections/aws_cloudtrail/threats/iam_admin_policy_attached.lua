-- Threat.AWS.IAM.AdminPolicyAttached: administrator-equivalent permissions were granted
-- to a user, role or group: the AWS managed AdministratorAccess or IAMFullAccess policy
-- attached (Attach{User,Role,Group}Policy), or an inline policy (Put{User,Role,Group}Policy)
-- with an Allow statement for Action "*" on Resource "*". Seen in Stratus Red Team
-- aws.persistence.iam-create-admin-user and iam-create-backdoor-role. The CIS 4.4
-- control (any IAM policy change) is the conformance rule AWS.IAM.PolicyModified.

local util = require "pack_util"

id = "Threat.AWS.IAM.AdminPolicyAttached"
display_name = "Administrator policy granted"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0004:T1098.003", "TA0003:T1098" },
  ["Stratus Red Team"] = { "aws.persistence.iam-create-admin-user", "aws.persistence.iam-create-backdoor-role" },
}
tags = { "AWS", "IAM", "Privilege Escalation" }
default_runbook = "Confirm the grant with the identity team. Unexpected administrator " ..
  "grants, especially to newly created users or roles, should be reverted and the new " ..
  "principal's keys and sessions revoked."

match = {
  eventSource = "iam.amazonaws.com",
  eventName = { "AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy", "PutUserPolicy",
    "PutRolePolicy", "PutGroupPolicy" },
}

local ADMIN_POLICIES = { "AdministratorAccess", "IAMFullAccess" }

local function is_star(v)
  for _, x in ipairs(util.list(v)) do
    if x == "*" then return true end
  end
  return false
end

local function granted(e)
  local rp = e.requestParameters
  if strings.starts_with(e.eventName, "Attach") then
    local arn = deep_get(rp, "policyArn")
    if type(arn) ~= "string" then return nil end
    for _, name in ipairs(ADMIN_POLICIES) do
      if arn == "arn:aws:iam::aws:policy/" .. name or strings.ends_with(arn, ":aws:policy/" .. name) then
        return name
      end
    end
    return nil
  end
  local doc = util.decode_policy(deep_get(rp, "policyDocument"))
  for _, st in ipairs(util.statements(doc)) do
    if util.allows(st) and is_star(deep_get(st, "Action")) and is_star(deep_get(st, "Resource")) then
      return "inline policy " .. util.text(deep_get(rp, "policyName")) .. " (Action * on Resource *)"
    end
  end
  return nil
end

local function grantee(e)
  local rp = e.requestParameters
  local u, r, g = deep_get(rp, "userName"), deep_get(rp, "roleName"), deep_get(rp, "groupName")
  if u then return "user " .. tostring(u) end
  if r then return "role " .. tostring(r) end
  if g then return "group " .. tostring(g) end
  return "<unknown>"
end

function rule(e)
  return aws_cloudtrail_success(e) and granted(e) ~= nil
end

function title(e)
  return util.text(granted(e)) .. " granted to " .. grantee(e) .. " by [" ..
    util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(e.recipientAccountId) .. ":" .. grantee(e)
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.grantee = grantee(e)
  ctx.policy = granted(e)
  return ctx
end

local function attach(name, rp, extra)
  local t = { eventSource = "iam.amazonaws.com", eventName = name, recipientAccountId = "111122223333",
    eventTime = "2024-08-01T13:33:28Z", requestParameters = rp,
    userIdentity = { type = "IAMUser", userName = "dev", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "AdministratorAccess attached to a user", expect = true,
    title = "AdministratorAccess granted to user mallory by [arn:aws:iam::111122223333:user/dev]",
    event = attach("AttachUserPolicy", { userName = "mallory", policyArn = "arn:aws:iam::aws:policy/AdministratorAccess" }) },
  { name = "IAMFullAccess attached to a group", expect = true,
    event = attach("AttachGroupPolicy", { groupName = "ops", policyArn = "arn:aws:iam::aws:policy/IAMFullAccess" }) },
  { name = "inline star policy on a role", expect = true,
    title = "inline policy pwn (Action * on Resource *) granted to role r by [arn:aws:iam::111122223333:user/dev]",
    event = attach("PutRolePolicy", { roleName = "r", policyName = "pwn",
      policyDocument = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}" }) },
  { name = "read-only managed policy", expect = false,
    event = attach("AttachUserPolicy", { userName = "x", policyArn = "arn:aws:iam::aws:policy/ReadOnlyAccess" }) },
  { name = "customer policy named like AdministratorAccess", expect = false,
    event = attach("AttachUserPolicy", { userName = "x", policyArn = "arn:aws:iam::111122223333:policy/AdministratorAccessLite" }) },
  { name = "scoped inline policy", expect = false,
    event = attach("PutUserPolicy", { userName = "x", policyName = "s3",
      policyDocument = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}" }) },
  { name = "denied attach", expect = false,
    event = attach("AttachUserPolicy", { userName = "mallory", policyArn = "arn:aws:iam::aws:policy/AdministratorAccess" },
      { errorCode = "AccessDenied" }) },
}
