-- CIS AWS Foundations 4.1: unauthorized API calls. One caller collecting five denials
-- within 30 minutes is reconnaissance or a broken deployment; either way someone looks.

id = "Bench.CIS.UnauthorizedAPICalls"
display_name = "Repeated unauthorized AWS API calls"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
dedup_minutes = 30
threshold = 5
reports = { CIS = { "4.1" }, ["MITRE ATT&CK"] = { "TA0007:T1580" } }
tags = { "AWS", "CIS", "Discovery" }

match = {
  errorCode = { "AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation",
                "UnauthorizedOperation" },
}

local util = require "bench_util"

function rule(e)
  -- Services probing on a customer's behalf (s3 replication, config) are not people.
  if deep_get(e, "userIdentity", "type") == "AWSService" then return false end
  if deep_get(e, "userIdentity", "invokedBy") then return false end
  return (e.errorMessage or "") ~= ""
end

function title(e)
  return "Unauthorized API calls by [" .. util.actor(e) .. "] in account ["
    .. (e.recipientAccountId or "?") .. "]"
end

function dedup(e)
  return deep_get(e, "userIdentity", "arn") or e.sourceIPAddress or "unknown"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.errorCode = e.errorCode
  return ctx
end

tests = {
  { name = "EC2 denial", expect = true,
    title = "Unauthorized API calls by [ci-deployer] in account [318462095713]",
    event = {
      eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "DescribeInstances",
      awsRegion = "us-east-1", sourceIPAddress = "52.14.3.9", recipientAccountId = "318462095713",
      errorCode = "Client.UnauthorizedOperation",
      errorMessage = "You are not authorized to perform this operation.",
      userIdentity = { type = "IAMUser", userName = "ci-deployer",
                       arn = "arn:aws:iam::318462095713:user/ci-deployer" },
    } },
  { name = "service-invoked denial", expect = false,
    event = {
      eventSource = "kms.amazonaws.com", eventName = "Decrypt", errorCode = "AccessDeniedException",
      errorMessage = "denied", userIdentity = { type = "AWSService", invokedBy = "s3.amazonaws.com" },
    } },
  { name = "five denials make an alert", expect_alerts = 1,
    events = (function()
      local evs = {}
      for i = 1, 5 do
        evs[i] = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "ListUsers",
                   eventTime = string.format("2024-05-06T10:0%d:00Z", i), awsRegion = "us-east-1",
                   errorCode = "AccessDenied", errorMessage = "User is not authorized",
                   userIdentity = { type = "IAMUser", userName = "mallory",
                                    arn = "arn:aws:iam::318462095713:user/mallory" } }
      end
      return evs
    end)() },
}
