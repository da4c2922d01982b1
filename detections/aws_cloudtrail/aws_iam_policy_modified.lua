-- AWS.IAM.PolicyModified: an IAM policy was created, changed, deleted, attached or
-- detached (CIS 3.4).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_iam_policy_modified.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_iam_policy_modified.tests.json.

id = "AWS.IAM.PolicyModified"
display_name = "IAM Policy Modified"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
dedup_minutes = 720
threshold = 1
reports = {
  CIS = { "3.4" },
  ["MITRE ATT&CK"] = { "TA0004:T1548" },
  ["Stratus Red Team"] = {
    "aws.persistence.iam-create-admin-user", "aws.persistence.iam-create-backdoor-role",
  },
}
tags = {
  "AWS", "Identity & Access Management",
  "Privilege Escalation:Abuse Elevation Control Mechanism",
}

match = {
  eventName = {
    "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy",
    "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion",
    "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy",
    "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy",
  },
}

local WATCHED = {}
for _, name in ipairs(match.eventName) do WATCHED[name] = true end

function rule(e)
  return WATCHED[e.eventName] == true and aws_cloudtrail_success(e)
end

-- No title hook (the display name is the title); one rolling alert per account.
function dedup(e)
  local account = e.recipientAccountId
  return account ~= nil and tostring(account) or nil
end

function alert_context(e)
  return aws.rule_context(e)
end
