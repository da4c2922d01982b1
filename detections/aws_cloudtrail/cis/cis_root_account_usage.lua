-- CIS.AWS.RootAccountUsage: any use of the root user (CIS AWS Foundations 4.3 in
-- v1.4-v3.0, 3.3 in v1.2): "Ensure a log metric filter and alarm exist for usage of
-- 'root' account". The CIS metric filter is followed exactly:
--   userIdentity.type = "Root" AND userIdentity.invokedBy NOT EXISTS
--   AND eventType != "AwsServiceEvent"
-- so failed calls, read-only calls and console sign-ins count too. The conformance rule
-- AWS.Root.Activity is narrower (successful, non read-only calls only) and is kept
-- alongside; this one is the compliance control. One alert per account and source IP
-- per hour.

id = "CIS.AWS.RootAccountUsage"
display_name = "CIS: root account used"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["CIS AWS Foundations v3.0"] = { "4.3" },
  ["CIS AWS Foundations v1.2"] = { "3.3" },
  ["MITRE ATT&CK"] = { "TA0004:T1078.004" },
}
tags = { "AWS", "CIS", "Identity & Access Management" }
default_runbook = "Confirm with the account owner that root was used on purpose (break-glass " ..
  "procedure, a root-only task). Otherwise treat the root credentials as compromised: rotate " ..
  "the password, remove root access keys, check MFA and review the calls listed in the alert."

match = { ["userIdentity.type"] = "Root" }

function rule(e)
  if deep_get(e, "userIdentity", "type") ~= "Root" then return false end
  -- invokedBy NOT EXISTS: absent or JSON null
  if deep_get(e, "userIdentity", "invokedBy") ~= nil then return false end
  return e.eventType ~= "AwsServiceEvent"
end

local function text(v)
  if v == nil then return "<unknown>" end
  return tostring(v)
end

function title(e)
  return "Root account used: " .. text(e.eventName) .. " in account [" ..
    text(e.recipientAccountId) .. "] from " .. text(e.sourceIPAddress)
end

function dedup(e)
  return text(e.recipientAccountId) .. ":" .. text(e.sourceIPAddress)
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.mfaUsed = deep_get(e, "additionalEventData", "MFAUsed")
  ctx.errorCode = e.errorCode
  return ctx
end

tests = {
  {
    name = "root API call",
    expect = true,
    title = "Root account used: CreateUser in account [111122223333] from 198.51.100.7",
    dedup = "111122223333:198.51.100.7",
    event = {
      eventVersion = "1.08", eventTime = "2024-05-02T10:00:00Z", eventSource = "iam.amazonaws.com",
      eventName = "CreateUser", eventType = "AwsApiCall", awsRegion = "us-east-1",
      sourceIPAddress = "198.51.100.7", userAgent = "aws-cli/2.15.0", recipientAccountId = "111122223333",
      userIdentity = { type = "Root", principalId = "111122223333", arn = "arn:aws:iam::111122223333:root",
        accountId = "111122223333", accessKeyId = "AKIAEXAMPLEROOT" },
      requestParameters = { userName = "backup" },
    },
  },
  {
    name = "failed root call still counts (CIS filter has no success condition)",
    expect = true,
    event = {
      eventTime = "2024-05-02T10:01:00Z", eventSource = "ec2.amazonaws.com", eventName = "DescribeInstances",
      eventType = "AwsApiCall", readOnly = true, errorCode = "Client.UnauthorizedOperation",
      sourceIPAddress = "198.51.100.7", recipientAccountId = "111122223333",
      userIdentity = { type = "Root", arn = "arn:aws:iam::111122223333:root", accountId = "111122223333" },
    },
  },
  {
    name = "root action performed by an AWS service (invokedBy)",
    expect = false,
    event = {
      eventTime = "2024-05-02T10:02:00Z", eventSource = "s3.amazonaws.com", eventName = "PutObject",
      eventType = "AwsApiCall", sourceIPAddress = "cloudtrail.amazonaws.com", recipientAccountId = "111122223333",
      userIdentity = { type = "Root", accountId = "111122223333", invokedBy = "cloudtrail.amazonaws.com" },
    },
  },
  {
    name = "AwsServiceEvent attributed to root",
    expect = false,
    event = {
      eventTime = "2024-05-02T10:03:00Z", eventSource = "health.amazonaws.com", eventName = "AWSHealthEvent",
      eventType = "AwsServiceEvent", recipientAccountId = "111122223333",
      userIdentity = { type = "Root", accountId = "111122223333" },
    },
  },
  {
    name = "IAM user",
    expect = false,
    event = {
      eventTime = "2024-05-02T10:04:00Z", eventSource = "iam.amazonaws.com", eventName = "CreateUser",
      eventType = "AwsApiCall", recipientAccountId = "111122223333",
      userIdentity = { type = "IAMUser", userName = "alice", arn = "arn:aws:iam::111122223333:user/alice" },
    },
  },
}
