-- CIS AWS Foundations 4.7: customer-managed KMS keys disabled or scheduled for deletion.
-- Data encrypted under a deleted key is gone for good.

id = "Bench.CIS.CMKDisabledOrScheduledForDeletion"
display_name = "KMS key disabled or scheduled for deletion"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "4.7" }, ["MITRE ATT&CK"] = { "TA0040:T1485" } }
tags = { "AWS", "CIS", "Impact" }

match = { eventSource = "kms.amazonaws.com", eventName = { "DisableKey", "ScheduleKeyDeletion" } }

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "KMS key [" .. (deep_get(e, "requestParameters", "keyId") or "?") .. "]: "
    .. e.eventName .. " by [" .. util.actor(e) .. "]"
end

-- The shortest waiting period leaves a week to notice.
function severity(e)
  local days = deep_get(e, "requestParameters", "pendingWindowInDays")
  if e.eventName == "ScheduleKeyDeletion" and type(days) == "number" and days < 30 then
    return "HIGH"
  end
  return "DEFAULT"
end

function alert_context(e)
  return aws.rule_context(e)
end

local KEY = "arn:aws:kms:us-east-1:318462095713:key/4f1c2a9e-7d7e-4b7e-9d8b-0c2b8e1f3a55"

tests = {
  { name = "deletion in 7 days", expect = true, severity = "HIGH",
    event = { eventVersion = "1.09", eventSource = "kms.amazonaws.com", eventName = "ScheduleKeyDeletion",
              userIdentity = { type = "IAMUser", userName = "dmitri.volkov" },
              requestParameters = { keyId = KEY, pendingWindowInDays = 7 } } },
  { name = "disable", expect = true, severity = "MEDIUM",
    event = { eventVersion = "1.09", eventSource = "kms.amazonaws.com", eventName = "DisableKey",
              userIdentity = { type = "IAMUser", userName = "dmitri.volkov" },
              requestParameters = { keyId = KEY } } },
  { name = "denied", expect = false,
    event = { eventVersion = "1.09", eventSource = "kms.amazonaws.com", eventName = "DisableKey",
              errorCode = "AccessDeniedException", errorMessage = "no",
              requestParameters = { keyId = KEY } } },
}
