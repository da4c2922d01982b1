-- CIS AWS Foundations 4.16: Security Hub must stay enabled.

id = "Bench.CIS.SecurityHubDisabled"
display_name = "Security Hub disabled"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
reports = { CIS = { "4.16" }, ["MITRE ATT&CK"] = { "TA0005:T1562.001" } }
tags = { "AWS", "CIS", "Defense Evasion" }

match = {
  eventSource = "securityhub.amazonaws.com",
  eventName = { "DisableSecurityHub", "BatchDisableStandards", "DisableImportFindingsForProduct" },
}

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "Security Hub: " .. e.eventName .. " in [" .. (e.recipientAccountId or "?") .. "/"
    .. (e.awsRegion or "?") .. "] by [" .. util.actor(e) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "disabled", expect = true,
    title = "Security Hub: DisableSecurityHub in [1/us-east-1] by [kavya.rao]",
    event = { eventVersion = "1.09", eventSource = "securityhub.amazonaws.com",
              eventName = "DisableSecurityHub", recipientAccountId = "1", awsRegion = "us-east-1",
              userIdentity = { type = "IAMUser", userName = "kavya.rao" } } },
  { name = "not subscribed", expect = false,
    event = { eventVersion = "1.09", eventSource = "securityhub.amazonaws.com",
              eventName = "DisableSecurityHub", errorCode = "InvalidAccessException",
              errorMessage = "Account is not subscribed to AWS Security Hub" } },
}
