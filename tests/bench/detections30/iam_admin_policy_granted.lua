-- Full administrator rights granted: a managed admin policy attached, or an inline policy
-- allowing every action on every resource.

id = "Bench.AWS.IAM.AdminPolicyGranted"
display_name = "Administrator policy granted"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
reports = { ["MITRE ATT&CK"] = { "TA0004:T1098.003" } }
tags = { "AWS", "IAM", "Privilege Escalation" }

match = {
  eventSource = "iam.amazonaws.com",
  eventName = { "AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy",
                "PutUserPolicy", "PutRolePolicy", "PutGroupPolicy" },
}

local config = require "bench_config"
local util = require "bench_util"

local function is_star(v)
  if v == "*" then return true end
  return type(v) == "table" and util.has(v, "*")
end

-- An inline document arrives as JSON text (URL-decoded by CloudTrail).
local function allows_everything(doc_text)
  if type(doc_text) ~= "string" then return false end
  local doc = json.decode(doc_text)
  if type(doc) ~= "table" then return false end
  local stmts = doc.Statement
  if type(stmts) ~= "table" then return false end
  if stmts.Effect then stmts = { stmts } end -- a single statement object
  for _, s in ipairs(stmts) do
    if s.Effect == "Allow" and is_star(s.Action) and is_star(s.Resource) then return true end
  end
  return false
end

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  local rp = e.requestParameters
  if rp == nil then return false end
  if rp.policyArn then return config.admin_policy_arns[rp.policyArn] == true end
  return allows_everything(rp.policyDocument)
end

function title(e)
  local rp = e.requestParameters
  return "Admin rights granted to [" .. (rp.userName or rp.roleName or rp.groupName or "?")
    .. "] by [" .. util.actor(e) .. "]"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.policy = deep_get(e, "requestParameters", "policyArn") or deep_get(e, "requestParameters", "policyName")
  return ctx
end

local function ev(name, rp)
  return { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = name,
           userIdentity = { type = "IAMUser", userName = "farid.haddad" }, requestParameters = rp }
end

tests = {
  { name = "AdministratorAccess attached", expect = true,
    title = "Admin rights granted to [web-tier-instance-role] by [farid.haddad]",
    event = ev("AttachRolePolicy", { roleName = "web-tier-instance-role",
                                     policyArn = "arn:aws:iam::aws:policy/AdministratorAccess" }) },
  { name = "inline star policy", expect = true,
    event = ev("PutUserPolicy", { userName = "legacy-etl", policyName = "x",
      policyDocument = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["*"],"Resource":"*"}}' }) },
  { name = "read-only policy", expect = false,
    event = ev("AttachUserPolicy", { userName = "grace.lee",
                                     policyArn = "arn:aws:iam::aws:policy/ReadOnlyAccess" }) },
  { name = "scoped inline policy", expect = false,
    event = ev("PutRolePolicy", { roleName = "r", policyName = "s3",
      policyDocument = '{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}' }) },
  { name = "broken policy text", expect = false,
    event = ev("PutGroupPolicy", { groupName = "g", policyDocument = "{not json" }) },
}
