-- AWS.EC2.SecurityGroupModified: a security group or one of its ingress/egress rules
-- changed (CIS 3.10).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_ec2_security_group_modified.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_ec2_security_group_modified.tests.json.

id = "AWS.EC2.SecurityGroupModified"
display_name = "EC2 Security Group Modified"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
dedup_minutes = 720
threshold = 1
reports = {
  -- CIS 3.10 (security group changes); the upstream data reads "3.1", the float its
  -- YAML loader makes of 3.10
  CIS = { "3.10" },
  ["MITRE ATT&CK"] = { "TA0005:T1562" },
  ["Stratus Red Team"] = { "aws.exfiltration.ec2-security-group-open-port-22-ingress" },
}
tags = { "AWS", "Security Control", "Defense Evasion:Impair Defenses" }

match = {
  eventName = {
    "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "CreateSecurityGroup",
    "DeleteSecurityGroup",
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
