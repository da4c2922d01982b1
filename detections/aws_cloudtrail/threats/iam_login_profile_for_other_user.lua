-- Threat.AWS.IAM.LoginProfileForOtherUser: a principal created or changed the console
-- password (CreateLoginProfile / UpdateLoginProfile) of a different IAM user: a way to
-- take over or backdoor that user (Stratus Red Team
-- aws.persistence.iam-create-user-login-profile and
-- aws.privilege-escalation.iam-update-user-login-profile). A user changing their own
-- password is not reported, nor is an event without a caller identity (the comparison
-- is then impossible). HIGH when no password reset is forced at next sign-in (the
-- caller keeps a working password), MEDIUM otherwise.

local util = require "pack_util"

id = "Threat.AWS.IAM.LoginProfileForOtherUser"
display_name = "Console password set for another IAM user"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0003:T1098", "TA0004:T1098" },
  ["Stratus Red Team"] = {
    "aws.persistence.iam-create-user-login-profile",
    "aws.privilege-escalation.iam-update-user-login-profile",
  },
}
tags = { "AWS", "IAM", "Persistence" }
default_runbook = "Ask the target user and the caller's owner whether the password change " ..
  "was requested. If not, delete the login profile, and review ConsoleLogin events of the " ..
  "target user after this change."

match = { eventSource = "iam.amazonaws.com", eventName = { "CreateLoginProfile", "UpdateLoginProfile" } }

local function target(e)
  return deep_get(e, "requestParameters", "userName")
end

-- caller_user(e): the IAM user name of the caller, "root" for the root user, false when
-- the caller is another kind of principal (roles), nil when the identity is missing.
local function caller_user(e)
  local typ = deep_get(e, "userIdentity", "type")
  if typ == nil then return nil end
  if typ == "IAMUser" then return deep_get(e, "userIdentity", "userName") end
  if typ == "Root" then return "root" end
  return false
end

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  local t, c = target(e), caller_user(e)
  if t == nil or c == nil then return false end
  return c ~= t
end

function title(e)
  return "[" .. util.text(util.actor_arn(e)) .. "] set the console password of IAM user [" ..
    util.text(target(e)) .. "] (" .. util.text(e.eventName) .. ")"
end

function dedup(e)
  return util.text(util.actor_arn(e)) .. ":" .. util.text(target(e))
end

function severity(e)
  if deep_get(e, "requestParameters", "passwordResetRequired") ~= true then return "HIGH" end
  return "MEDIUM"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.targetUser = target(e)
  ctx.passwordResetRequired = deep_get(e, "requestParameters", "passwordResetRequired")
  return ctx
end

local function lp(name, caller, reset, extra)
  local t = {
    eventTime = "2024-08-01T13:42:21Z", eventSource = "iam.amazonaws.com", eventName = name,
    sourceIPAddress = "198.51.100.5", recipientAccountId = "111122223333",
    requestParameters = { userName = "victim", passwordResetRequired = reset },
    userIdentity = caller,
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end
local ALICE = { type = "IAMUser", userName = "alice", arn = "arn:aws:iam::111122223333:user/alice" }
local VICTIM = { type = "IAMUser", userName = "victim", arn = "arn:aws:iam::111122223333:user/victim" }
local ROLE = { type = "AssumedRole", arn = "arn:aws:sts::111122223333:assumed-role/Admin/jo",
  sessionContext = { sessionIssuer = { type = "Role", userName = "Admin" } } }

tests = {
  { name = "password for another user, no reset forced", expect = true, severity = "HIGH",
    title = "[arn:aws:iam::111122223333:user/alice] set the console password of IAM user [victim] (CreateLoginProfile)",
    event = lp("CreateLoginProfile", ALICE, false) },
  { name = "admin role resets a password with forced change", expect = true, severity = "MEDIUM",
    event = lp("UpdateLoginProfile", ROLE, true) },
  { name = "user updates own login profile", expect = false, event = lp("UpdateLoginProfile", VICTIM, false) },
  { name = "no caller identity (trimmed record)", expect = false, event = lp("CreateLoginProfile", nil, false) },
  { name = "failed call", expect = false,
    event = lp("CreateLoginProfile", ALICE, false, { errorCode = "EntityAlreadyExists", errorMessage = "exists" }) },
}
