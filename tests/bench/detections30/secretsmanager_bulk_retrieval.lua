-- One principal reading ten or more distinct secrets within 15 minutes: credential
-- harvesting. Applications read the same few secrets over and over, which this ignores.

id = "Bench.AWS.SecretsManager.BulkRetrieval"
display_name = "Many secrets read by one principal"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 15
threshold = 10
reports = { ["MITRE ATT&CK"] = { "TA0006:T1555.006" } }
tags = { "AWS", "Secrets Manager", "Credential Access" }

match = { eventSource = "secretsmanager.amazonaws.com", eventName = { "GetSecretValue", "BatchGetSecretValue" } }

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e) and deep_get(e, "userIdentity", "type") ~= "AWSService"
end

function title(e)
  return "[" .. util.actor(e) .. "] read many secrets in account [" .. (e.recipientAccountId or "?") .. "]"
end

function dedup(e)
  return deep_get(e, "userIdentity", "arn") or util.actor(e)
end

-- The secret, without the random six-character suffix Secrets Manager adds to ARNs.
function unique(e)
  local id = deep_get(e, "requestParameters", "secretId")
  if type(id) ~= "string" then return json.encode(deep_get(e, "requestParameters") or {}) end
  return (id:gsub("%-%w%w%w%w%w%w$", ""))
end

function alert_context(e)
  return aws.rule_context(e)
end

local function read(t, secret)
  return { eventVersion = "1.09", eventSource = "secretsmanager.amazonaws.com", eventName = "GetSecretValue",
           eventTime = t, recipientAccountId = "318462095713",
           userIdentity = { type = "IAMUser", userName = "mallory", arn = "arn:aws:iam::318462095713:user/mallory" },
           requestParameters = { secretId = "arn:aws:secretsmanager:us-east-1:318462095713:secret:" .. secret } }
end

local burst, same = {}, {}
for i = 1, 10 do
  burst[i] = read(string.format("2024-05-06T10:%02d:00Z", i), "prod/app-" .. i .. "-Ab12Cd")
  same[i] = read(string.format("2024-05-06T10:%02d:00Z", i), "prod/app-1-Ab12Cd")
end

tests = {
  { name = "a read matches", expect = true, event = burst[1],
    title = "[mallory] read many secrets in account [318462095713]" },
  { name = "ten distinct secrets alert", events = burst, expect_alerts = 1 },
  { name = "one secret ten times does not", events = same, expect_alerts = 0 },
  { name = "service principal", expect = false,
    event = { eventVersion = "1.09", eventSource = "secretsmanager.amazonaws.com", eventName = "GetSecretValue",
              userIdentity = { type = "AWSService", invokedBy = "lambda.amazonaws.com" } } },
}
