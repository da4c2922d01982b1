-- AWS.CloudTrail.RootPasswordChanged: the root user's password was changed.
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_root_password_changed.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_root_password_changed.tests.json.

id = "AWS.CloudTrail.RootPasswordChanged"
display_name = "Root Password Changed"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0003:T1098" } }
tags = { "AWS", "Identity and Access Management", "Persistence:Account Manipulation" }

match = {
  eventName = "PasswordUpdated",
  ["userIdentity.type"] = "Root",
  ["responseElements.PasswordUpdated"] = "Success",
}

function rule(e)
  return e.eventName == "PasswordUpdated"
    and deep_get(e, "userIdentity", "type") == "Root"
    and deep_get(e, "responseElements", "PasswordUpdated") == "Success"
end

function alert_context(e)
  return aws.rule_context(e)
end
