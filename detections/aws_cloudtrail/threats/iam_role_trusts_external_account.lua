-- Threat.AWS.IAM.RoleTrustsExternalAccount: a role's trust policy (CreateRole
-- assumeRolePolicyDocument, UpdateAssumeRolePolicy policyDocument) lets a principal of
-- another AWS account, or anyone ("*"), assume it: a classic persistence backdoor
-- (Stratus Red Team aws.persistence.iam-backdoor-role and iam-create-backdoor-role).
-- "Another account" means neither recipientAccountId nor the caller's account, nor an
-- account listed in pack_config `trusted_accounts`. HIGH; CRITICAL for an
-- unconditional "*" principal.

config = require "pack_config"
local util = require "pack_util"

id = "Threat.AWS.IAM.RoleTrustsExternalAccount"
display_name = "IAM role trust policy allows an external account"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0003:T1098.003", "TA0004:T1098" },
  ["Stratus Red Team"] = { "aws.persistence.iam-backdoor-role", "aws.persistence.iam-create-backdoor-role" },
}
tags = { "AWS", "IAM", "Persistence" }
default_runbook = "Identify the external account. If it is not a known partner, restore " ..
  "the previous trust policy (or delete the new role), then look for sts:AssumeRole calls " ..
  "into this role from that account."

match = { eventSource = "iam.amazonaws.com", eventName = { "CreateRole", "UpdateAssumeRolePolicy" } }

local function trust_doc(e)
  local rp = e.requestParameters
  if e.eventName == "CreateRole" then return util.decode_policy(deep_get(rp, "assumeRolePolicyDocument")) end
  return util.decode_policy(deep_get(rp, "policyDocument"))
end

-- findings(e): external account ids (array) and whether an unconditional "*" appears.
local function findings(e)
  local accounts, wildcard = {}, false
  for _, st in ipairs(util.statements(trust_doc(e))) do
    if util.allows(st) then
      for _, p in ipairs(util.principals(st)) do
        if p == "*" then
          accounts[#accounts + 1] = "*"
          if not util.has_condition(st) then wildcard = true end
        else
          local acct = util.account_of(p)
          if acct then accounts[#accounts + 1] = acct end
        end
      end
    end
  end
  return util.external(accounts, util.own_accounts(e), config.trusted_accounts), wildcard
end

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  local ext = findings(e)
  return #ext > 0
end

local function role(e)
  return deep_get(e, "requestParameters", "roleName")
end

function title(e)
  local ext = findings(e)
  return "IAM role [" .. util.text(role(e)) .. "] can be assumed from external account(s) " ..
    util.join(ext) .. " (" .. util.text(e.eventName) .. " by [" .. util.text(util.actor_arn(e)) .. "])"
end

function dedup(e)
  return util.text(e.recipientAccountId) .. ":" .. util.text(role(e))
end

function severity(e)
  local _, wildcard = findings(e)
  if wildcard then return "CRITICAL" end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  local ext = findings(e)
  ctx.roleName = role(e)
  ctx.externalAccounts = json.array(ext)
  return ctx
end

local function update(doc, extra)
  local t = {
    eventVersion = "1.09", eventTime = "2024-08-01T13:29:57Z", eventSource = "iam.amazonaws.com",
    eventName = "UpdateAssumeRolePolicy", eventType = "AwsApiCall", sourceIPAddress = "198.51.100.4",
    recipientAccountId = "111122223333",
    requestParameters = { roleName = "app-role", policyDocument = doc },
    userIdentity = { type = "IAMUser", userName = "dev", accountId = "111122223333",
      arn = "arn:aws:iam::111122223333:user/dev" },
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local EXTERNAL = [[{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}]]
local INTERNAL = [[{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/ci","111122223333"]},"Action":"sts:AssumeRole"}]}]]
local WILDCARD = [[{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}]]

tests = {
  { name = "external account added", expect = true, severity = "HIGH",
    title = "IAM role [app-role] can be assumed from external account(s) 999988887777 (UpdateAssumeRolePolicy by [arn:aws:iam::111122223333:user/dev])",
    context = { externalAccounts = { "999988887777" } },
    event = update(EXTERNAL) },
  { name = "anyone may assume: CRITICAL", expect = true, severity = "CRITICAL", event = update(WILDCARD) },
  { name = "same-account principals only", expect = false, event = update(INTERNAL) },
  { name = "trusted partner account (mocked config)", expect = false,
    mocks = { config = { trusted_accounts = { "999988887777" } } }, event = update(EXTERNAL) },
  { name = "denied update", expect = false,
    event = update(EXTERNAL, { errorCode = "AccessDenied", errorMessage = "denied" }) },
  { name = "CreateRole trusting an external account (URL-encoded document)", expect = true,
    event = { eventSource = "iam.amazonaws.com", eventName = "CreateRole", recipientAccountId = "111122223333",
      requestParameters = { roleName = "x",
        assumeRolePolicyDocument = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22444455556666%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D" },
      userIdentity = { type = "IAMUser", accountId = "111122223333", arn = "arn:aws:iam::111122223333:user/dev" } } },
}
