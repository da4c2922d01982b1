-- Threat.AWS.STS.FederationTokenCreated: an IAM user obtained federation credentials
-- (GetFederationToken). Such sessions keep working for up to 36 hours even after the
-- user's access key is deleted, so attackers use them to persist (Stratus Red Team
-- aws.persistence.sts-federation-token). MEDIUM; HIGH when the session policy allows
-- Action "*".

local util = require "pack_util"

id = "Threat.AWS.STS.FederationTokenCreated"
display_name = "STS federation token created"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0003:T1550.001", "TA0005:T1550.001" },
  ["Stratus Red Team"] = { "aws.persistence.sts-federation-token" },
}
tags = { "AWS", "STS", "Persistence" }
default_runbook = "Few tools still use GetFederationToken. Unless this user is one of them, " ..
  "attach a deny-all policy with an aws:TokenIssueTime condition to the user to revoke the " ..
  "federated session, then delete the user's access keys."

match = { eventSource = "sts.amazonaws.com", eventName = "GetFederationToken" }

local function allows_everything(e)
  local doc = util.decode_policy(deep_get(e, "requestParameters", "policy"))
  for _, st in ipairs(util.statements(doc)) do
    if util.allows(st) and util.contains(util.list(deep_get(st, "Action")), "*") then return true end
  end
  return false
end

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "Federation token [" .. util.text(deep_get(e, "requestParameters", "name")) ..
    "] issued to [" .. util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(util.actor_arn(e))
end

function severity(e)
  if allows_everything(e) then return "HIGH" end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.federatedUser = deep_get(e, "responseElements", "federatedUser", "arn")
  ctx.sessionAccessKeyId = deep_get(e, "responseElements", "credentials", "accessKeyId")
  return ctx
end

local function fed(policy, extra)
  local t = { eventSource = "sts.amazonaws.com", eventName = "GetFederationToken", eventTime = "2024-11-30T08:43:17Z",
    recipientAccountId = "111122223333", requestParameters = { name = "tmp", policy = policy },
    responseElements = { federatedUser = { arn = "arn:aws:sts::111122223333:federated-user/tmp" },
      credentials = { accessKeyId = "ASIAEXAMPLEFEDERATE" } },
    userIdentity = { type = "IAMUser", userName = "svc", arn = "arn:aws:iam::111122223333:user/svc" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "full-access session policy", expect = true, severity = "HIGH",
    title = "Federation token [tmp] issued to [arn:aws:iam::111122223333:user/svc]",
    event = fed("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}") },
  { name = "scoped session policy", expect = true, severity = "MEDIUM",
    event = fed("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":\"*\"}]}") },
  { name = "no session policy", expect = true, severity = "MEDIUM", event = fed(nil) },
  { name = "denied", expect = false, event = fed(nil, { errorCode = "AccessDenied" }) },
  { name = "GetSessionToken", expect = false, event = fed(nil, { eventName = "GetSessionToken" }) },
}
