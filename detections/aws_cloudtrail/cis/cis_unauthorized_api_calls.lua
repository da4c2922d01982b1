-- CIS.AWS.UnauthorizedAPICalls: unauthorized API calls (CIS AWS Foundations 4.1 in
-- v1.4-v3.0, 3.1 in v1.2). The CIS v1.5+ metric filter, with its intended grouping:
--   (errorCode = "*UnauthorizedOperation" OR errorCode = "AccessDenied*")
--   AND sourceIPAddress != "delivery.logs.amazonaws.com" AND eventName != "HeadBucket"
-- (v1.2-v1.4 have only the two errorCode terms; the two exclusions only remove AWS log
-- delivery and S3 HeadBucket probes). CIS leaves the alarm threshold to the reader: here
-- an alert needs 10 denied calls by the same principal within 60 minutes (tune
-- `threshold`). The conformance signal AWS.CloudTrail.UnauthorizedAPICall is narrower
-- (exact "AccessDenied", literal source IPs only) and never alerts.

id = "CIS.AWS.UnauthorizedAPICalls"
display_name = "CIS: unauthorized API calls"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
dedup_minutes = 60
threshold = 10
reports = {
  ["CIS AWS Foundations v3.0"] = { "4.1" },
  ["CIS AWS Foundations v1.2"] = { "3.1" },
  ["MITRE ATT&CK"] = { "TA0007:T1580", "TA0006:T1110" },
}
tags = { "AWS", "CIS", "Discovery" }
default_runbook = "List the denied calls of this principal around the alert time. A burst of " ..
  "denials on Describe/List/Get calls from an unfamiliar IP or user agent is typical of a " ..
  "stolen key being enumerated; a steady trickle is usually a misconfigured application."

local function principal(e)
  return deep_get(e, "userIdentity", "arn") or deep_get(e, "userIdentity", "principalId") or
    aws.actor_user(e)
end

function rule(e)
  local code = e.errorCode
  if type(code) ~= "string" then return false end
  local denied = strings.ends_with(code, "UnauthorizedOperation") or
    strings.starts_with(code, "AccessDenied")
  if not denied then return false end
  return e.sourceIPAddress ~= "delivery.logs.amazonaws.com" and e.eventName ~= "HeadBucket"
end

function dedup(e)
  return tostring(principal(e))
end

function title(e)
  return "Repeated unauthorized API calls by [" .. tostring(principal(e)) .. "] (first: " ..
    tostring(e.eventSource) .. " " .. tostring(e.eventName) .. ")"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.errorCode = e.errorCode
  ctx.errorMessage = e.errorMessage
  return ctx
end

local function denied(name, code, arn, t)
  return {
    eventTime = t or "2024-06-01T12:00:00Z", eventSource = "ec2.amazonaws.com", eventName = name,
    errorCode = code, errorMessage = "You are not authorized to perform this operation.",
    sourceIPAddress = "203.0.113.50", recipientAccountId = "111122223333",
    userIdentity = { type = "IAMUser", userName = "app", arn = arn or "arn:aws:iam::111122223333:user/app" },
  }
end

tests = {
  { name = "EC2 UnauthorizedOperation", expect = true,
    dedup = "arn:aws:iam::111122223333:user/app",
    title = "Repeated unauthorized API calls by [arn:aws:iam::111122223333:user/app] (first: ec2.amazonaws.com DescribeInstances)",
    event = denied("DescribeInstances", "Client.UnauthorizedOperation") },
  { name = "AccessDeniedException prefix", expect = true,
    event = denied("ListSecrets", "AccessDeniedException") },
  { name = "other error", expect = false, event = denied("RunInstances", "InsufficientInstanceCapacity") },
  { name = "no error", expect = false,
    event = { eventName = "DescribeInstances", eventSource = "ec2.amazonaws.com",
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/app" } } },
  { name = "HeadBucket probe excluded", expect = false,
    event = { eventName = "HeadBucket", eventSource = "s3.amazonaws.com", errorCode = "AccessDenied",
      sourceIPAddress = "203.0.113.50", userIdentity = { type = "IAMUser", arn = "arn:aws:iam::1:user/a" } } },
  { name = "log delivery excluded", expect = false,
    event = { eventName = "PutObject", eventSource = "s3.amazonaws.com", errorCode = "AccessDenied",
      sourceIPAddress = "delivery.logs.amazonaws.com",
      userIdentity = { type = "AWSService", invokedBy = "delivery.logs.amazonaws.com" } } },
  { name = "ten denials by one principal make one alert, nine do not",
    events = {
      denied("DescribeInstances", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:00Z"),
      denied("DescribeVolumes", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:01Z"),
      denied("DescribeSnapshots", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:02Z"),
      denied("DescribeImages", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:03Z"),
      denied("DescribeVpcs", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:04Z"),
      denied("DescribeSubnets", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:05Z"),
      denied("DescribeRegions", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:06Z"),
      denied("DescribeKeyPairs", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:07Z"),
      denied("DescribeAddresses", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:08Z"),
      denied("DescribeInstances", "Client.UnauthorizedOperation", "arn:aws:iam::111122223333:user/other", "2024-06-01T12:00:09Z"),
      denied("DescribeTags", "Client.UnauthorizedOperation", nil, "2024-06-01T12:00:10Z"),
    },
    expect_alerts = 1,
    expect_titles = { "Repeated unauthorized API calls by [arn:aws:iam::111122223333:user/app] (first: ec2.amazonaws.com DescribeInstances)" },
  },
}
