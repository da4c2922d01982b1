-- Threat.AWS.Secrets.RetrievalBurst: one principal retrieves many secrets within 10
-- minutes: Secrets Manager GetSecretValue and BatchGetSecretValue, and SSM Parameter
-- Store GetParameter/GetParameters/GetParametersByPath with decryption (SecureString
-- values). The threshold counts distinct retrievals: 5 distinct secrets, parameter
-- sets or batch calls (a batch returns up to 20 secrets, so each batch call counts
-- once). Applications re-reading the same secret do not add up. Successful calls only.

local util = require "pack_util"

id = "Threat.AWS.Secrets.RetrievalBurst"
display_name = "Burst of secret retrievals"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 10
threshold = 5
reports = {
  ["MITRE ATT&CK"] = { "TA0006:T1555.006", "TA0006:T1552" },
  ["Stratus Red Team"] = {
    "aws.credential-access.secretsmanager-retrieve-secrets",
    "aws.credential-access.secretsmanager-batch-retrieve-secrets",
    "aws.credential-access.ssm-retrieve-securestring-parameters",
  },
}
tags = { "AWS", "Secrets Manager", "SSM", "Credential Access" }
default_runbook = "Compare with the principal's usual secret reads. An interactive user or " ..
  "an unfamiliar IP pulling many secrets is credential harvesting: revoke the session and " ..
  "rotate the secrets listed in the matching events."

match = {
  eventName = { "GetSecretValue", "BatchGetSecretValue", "GetParameter", "GetParameters",
    "GetParametersByPath" },
}

local SECRETS = "secretsmanager.amazonaws.com"
local SSM = "ssm.amazonaws.com"

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  if e.eventSource == SECRETS then
    return e.eventName == "GetSecretValue" or e.eventName == "BatchGetSecretValue"
  end
  if e.eventSource == SSM then
    return deep_get(e, "requestParameters", "withDecryption") == true
  end
  return false
end

function unique(e)
  local rp = e.requestParameters
  if e.eventName == "GetSecretValue" then
    return "secret:" .. util.text(deep_get(rp, "secretId"))
  elseif e.eventName == "BatchGetSecretValue" then
    return "batch:" .. util.text(e.eventID or e.requestID)
  elseif e.eventName == "GetParametersByPath" then
    return "path:" .. util.text(deep_get(rp, "path"))
  end
  local names = {}
  for _, n in ipairs(util.list(deep_get(rp, "names") or deep_get(rp, "name"))) do
    names[#names + 1] = tostring(n)
  end
  table.sort(names)
  return "ssm:" .. table.concat(names, ",")
end

function dedup(e)
  return util.text(util.actor_arn(e))
end

function title(e)
  return "Burst of secret retrievals by [" .. util.text(util.actor_arn(e)) .. "]"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.requestParameters = e.requestParameters
  return ctx
end

local function gsv(secret, t, extra)
  local ev = {
    eventTime = t or "2024-01-01T00:00:00Z", eventSource = SECRETS, eventName = "GetSecretValue",
    sourceIPAddress = "198.51.100.8", requestParameters = { secretId = secret },
    userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" },
  }
  for k, v in pairs(extra or {}) do ev[k] = v end
  return ev
end

local function ssm(names, decrypt)
  return {
    eventTime = "2024-01-01T00:00:00Z", eventSource = SSM, eventName = "GetParameters",
    requestParameters = { names = names, withDecryption = decrypt },
    userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" },
  }
end

tests = {
  { name = "GetSecretValue", expect = true, event = gsv("prod/db"),
    title = "Burst of secret retrievals by [arn:aws:iam::111122223333:user/dev]" },
  { name = "SSM GetParameters with decryption", expect = true, event = ssm({ "/a", "/b" }, true) },
  { name = "SSM GetParameters without decryption", expect = false, event = ssm({ "/a", "/b" }, false) },
  { name = "denied GetSecretValue", expect = false,
    event = gsv("prod/db", nil, { errorCode = "AccessDeniedException" }) },
  { name = "same secret read ten times", expect_alerts = 0,
    events = { gsv("prod/db", "2024-01-01T00:00:00Z"), gsv("prod/db", "2024-01-01T00:00:01Z"),
      gsv("prod/db", "2024-01-01T00:00:02Z"), gsv("prod/db", "2024-01-01T00:00:03Z"),
      gsv("prod/db", "2024-01-01T00:00:04Z"), gsv("prod/db", "2024-01-01T00:00:05Z"),
      gsv("prod/db", "2024-01-01T00:00:06Z"), gsv("prod/db", "2024-01-01T00:00:07Z") } },
  { name = "five distinct secrets", expect_alerts = 1,
    events = { gsv("s1", "2024-01-01T00:00:00Z"), gsv("s2", "2024-01-01T00:00:01Z"),
      gsv("s3", "2024-01-01T00:00:02Z"), gsv("s4", "2024-01-01T00:00:03Z"), gsv("s5", "2024-01-01T00:00:04Z") } },
}
