-- Threat.AWS.IAM.PrivilegedRoleAssumed: a successful sts:AssumeRole of a role listed
-- as privileged in detections/lib/pack_config.lua (`privileged_roles`, globs matched
-- against the role name and the role ARN; read through the global `config`). Service
-- principals assuming roles on their own behalf (userIdentity.type AWSService) are not
-- reported. One alert per caller and role per hour.

config = require "pack_config"
local util = require "pack_util"

id = "Threat.AWS.IAM.PrivilegedRoleAssumed"
display_name = "Privileged role assumed"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = { ["MITRE ATT&CK"] = { "TA0004:T1078.004", "TA0008:T1550.001" } }
tags = { "AWS", "Identity & Access Management", "Privilege Escalation" }
default_runbook = "Confirm that the caller was expected to use this role now (change " ..
  "ticket, on-call). Review what the new session did: its access key id is in " ..
  "responseElements.credentials.accessKeyId."

match = { eventSource = "sts.amazonaws.com", eventName = "AssumeRole" }

local function role_arn(e)
  return deep_get(e, "requestParameters", "roleArn")
end

local function role_name(e)
  local arn = role_arn(e)
  if type(arn) ~= "string" then return nil end
  return arn:match(":role/(.+)$") and arn:match("([^/]+)$") or arn
end

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  if deep_get(e, "userIdentity", "type") == "AWSService" then return false end
  local arn, name = role_arn(e), role_name(e)
  if not arn then return false end
  return util.glob_any(config.privileged_roles, name, arn)
end

function title(e)
  return "User " .. util.text(aws.actor_user(e)) .. " has assumed " .. util.text(role_name(e)) ..
    " from " .. util.text(e.sourceIPAddress)
end

function dedup(e)
  return util.text(util.actor_arn(e)) .. ":" .. util.text(role_arn(e))
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.roleArn = role_arn(e)
  ctx.roleSessionName = deep_get(e, "requestParameters", "roleSessionName")
  ctx.sessionAccessKeyId = deep_get(e, "responseElements", "credentials", "accessKeyId")
  return ctx
end

local function assume(role, extra)
  local t = {
    eventVersion = "1.08", eventTime = "2024-04-04T04:04:04Z", eventSource = "sts.amazonaws.com",
    eventName = "AssumeRole", eventType = "AwsApiCall", awsRegion = "us-east-1",
    sourceIPAddress = "198.51.100.61", userAgent = "aws-cli/2.15.0", recipientAccountId = "111122223333",
    userIdentity = { type = "IAMUser", userName = "alice", principalId = "AIDAEXAMPLEALICE",
      arn = "arn:aws:iam::111122223333:user/alice", accountId = "111122223333" },
    requestParameters = { roleArn = "arn:aws:iam::111122223333:role/" .. role, roleSessionName = "alice" },
    responseElements = { credentials = { accessKeyId = "ASIAEXAMPLESESSION01" },
      assumedRoleUser = { arn = "arn:aws:sts::111122223333:assumed-role/" .. role .. "/alice" } },
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "OrganizationAccountAccessRole (shipped config)", expect = true,
    title = "User alice has assumed OrganizationAccountAccessRole from 198.51.100.61",
    dedup = "arn:aws:iam::111122223333:user/alice:arn:aws:iam::111122223333:role/OrganizationAccountAccessRole",
    event = assume("OrganizationAccountAccessRole") },
  { name = "glob on role name (*-admin)", expect = true,
    title = "User alice has assumed platform-admin from 198.51.100.61",
    event = assume("platform-admin") },
  { name = "role with a path, matched by mocked ARN glob", expect = true,
    mocks = { config = { privileged_roles = { "arn:aws:iam::*:role/breakglass/*" } } },
    title = "User alice has assumed Emergency from 198.51.100.61",
    event = assume("breakglass/Emergency") },
  { name = "ordinary role", expect = false, event = assume("ReadOnlyViewer") },
  { name = "denied AssumeRole", expect = false,
    event = assume("OrganizationAccountAccessRole", { errorCode = "AccessDenied",
      errorMessage = "User is not authorized to perform: sts:AssumeRole" }) },
  { name = "AWS service assuming the role", expect = false,
    event = assume("OrganizationAccountAccessRole", { sourceIPAddress = "lambda.amazonaws.com",
      userIdentity = { type = "AWSService", invokedBy = "lambda.amazonaws.com" } }) },
}
