-- A console password set for someone else (CreateLoginProfile / UpdateLoginProfile):
-- attackers give service users a password to get a console session.

id = "Bench.AWS.IAM.LoginProfileForOtherUser"
display_name = "Console password set for another user"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { ["MITRE ATT&CK"] = { "TA0003:T1098" } }
tags = { "AWS", "IAM", "Persistence" }

match = { eventSource = "iam.amazonaws.com", eventName = { "CreateLoginProfile", "UpdateLoginProfile" } }

local util = require "bench_util"

function rule(e)
  local target = deep_get(e, "requestParameters", "userName")
  return aws_cloudtrail_success(e) and target ~= nil and target ~= util.actor_name(e)
end

function title(e)
  return "[" .. util.actor(e) .. "] set the console password of [" ..
    deep_get(e, "requestParameters", "userName") .. "] (" .. e.eventName .. ")"
end

-- A password that need not be changed at first sign-in is meant to be used by whoever set it.
function severity(e)
  if deep_get(e, "requestParameters", "passwordResetRequired") == false then return "HIGH" end
  return "DEFAULT"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "password without reset", expect = true, severity = "HIGH",
    title = "[hiro.tanaka] set the console password of [legacy-etl] (CreateLoginProfile)",
    event = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "CreateLoginProfile",
              userIdentity = { type = "IAMUser", userName = "hiro.tanaka" },
              requestParameters = { userName = "legacy-etl", passwordResetRequired = false } } },
  { name = "own password change", expect = false,
    event = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "UpdateLoginProfile",
              userIdentity = { type = "IAMUser", userName = "hiro.tanaka" },
              requestParameters = { userName = "hiro.tanaka" } } },
}
