-- AWS.CloudTrail.RootAccessKeyCreated: the root user created an access key for itself.
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_root_access_key_created.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_root_access_key_created.tests.json.

id = "AWS.CloudTrail.RootAccessKeyCreated"
display_name = "Root Account Access Key Created"
log_types = { "AWS.CloudTrail" }
default_severity = "CRITICAL"
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0003:T1098" } }
tags = { "AWS", "Identity and Access Management", "Persistence:Account Manipulation" }

match = { eventName = "CreateAccessKey", ["userIdentity.type"] = "Root" }

-- No success check (as upstream). When root creates a key for an IAM user the request
-- names that user; a key for root itself carries no request parameters at all.
function rule(e)
  return e.eventName == "CreateAccessKey"
    and deep_get(e, "userIdentity", "type") == "Root"
    and e.requestParameters == nil
end

function alert_context(e)
  return aws.rule_context(e)
end
