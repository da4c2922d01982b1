-- AWS.CloudTrail.NetworkACLPermissiveEntry: a network ACL entry that allows inbound
-- traffic from anywhere (0.0.0.0/0) was created.
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_network_acl_permissive_entry.yml, Apache-2.0), written
-- from the English spec in shared/conformance/panther.
-- Tests: aws_network_acl_permissive_entry.tests.json.

id = "AWS.CloudTrail.NetworkACLPermissiveEntry"
display_name = "AWS Network ACL Overly Permissive Entry Created"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0003:T1098" } }
tags = { "AWS", "Persistence:Account Manipulation" }

-- egress must be the boolean false: a missing or null egress is not an ingress entry.
match = {
  eventName = "CreateNetworkAclEntry",
  ["requestParameters.cidrBlock"] = "0.0.0.0/0",
  ["requestParameters.ruleAction"] = "allow",
  ["requestParameters.egress"] = false,
}

function rule(e)
  return e.eventName == "CreateNetworkAclEntry"
    and aws_cloudtrail_success(e)
    and deep_get(e, "requestParameters", "cidrBlock") == "0.0.0.0/0"
    and deep_get(e, "requestParameters", "ruleAction") == "allow"
    and deep_get(e, "requestParameters", "egress") == false
end

function alert_context(e)
  return aws.rule_context(e)
end
