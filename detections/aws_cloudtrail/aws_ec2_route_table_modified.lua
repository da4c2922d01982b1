-- AWS.EC2.RouteTableModified: a route or route table was created, replaced, deleted or
-- disassociated (CIS 3.13).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_ec2_route_table_modified.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_ec2_route_table_modified.tests.json.

id = "AWS.EC2.RouteTableModified"
display_name = "EC2 Route Table Modified"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
dedup_minutes = 60
threshold = 1
reports = { CIS = { "3.13" }, ["MITRE ATT&CK"] = { "TA0010:T1048" } }
tags = { "AWS", "Exfiltration:Exfiltration Over Alternative Protocol" }

match = {
  eventName = {
    "CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation",
    "DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable",
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
