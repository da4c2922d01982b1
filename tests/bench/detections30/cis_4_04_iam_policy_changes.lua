-- CIS AWS Foundations 4.4: changes to IAM policies (inline, managed, attachments).

id = "Bench.CIS.IAMPolicyChanges"
display_name = "IAM policy changed"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
dedup_minutes = 60
reports = { CIS = { "4.4" }, ["MITRE ATT&CK"] = { "TA0003:T1098" } }
tags = { "AWS", "CIS", "Persistence" }

match = {
  eventSource = "iam.amazonaws.com",
  eventName = {
    "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy",
    "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion",
    "DeletePolicyVersion", "SetDefaultPolicyVersion", "AttachRolePolicy", "DetachRolePolicy",
    "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy",
  },
}

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  local rp = e.requestParameters or {}
  local target = rp.userName or rp.roleName or rp.groupName or rp.policyArn or rp.policyName or "?"
  return "IAM policy change [" .. e.eventName .. "] on [" .. target .. "] by [" .. util.actor(e) .. "]"
end

function dedup(e)
  return util.actor(e)
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.requestParameters = e.requestParameters
  return ctx
end

tests = {
  { name = "role policy attached", expect = true,
    title = "IAM policy change [AttachRolePolicy] on [batch-worker-role] by [terraform-runner]",
    event = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "AttachRolePolicy",
              userIdentity = { type = "IAMUser", userName = "terraform-runner" },
              requestParameters = { roleName = "batch-worker-role",
                                    policyArn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" } } },
  { name = "denied attempt", expect = false,
    event = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "PutUserPolicy",
              errorCode = "AccessDenied", errorMessage = "not authorized",
              userIdentity = { type = "IAMUser", userName = "mallory" } } },
}
