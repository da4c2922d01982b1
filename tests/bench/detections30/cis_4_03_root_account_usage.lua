-- CIS AWS Foundations 4.3: any use of the root user that AWS did not make itself.

id = "Bench.CIS.RootAccountUsage"
display_name = "Root account used"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = { CIS = { "4.3" }, ["MITRE ATT&CK"] = { "TA0004:T1078.004" } }
tags = { "AWS", "CIS", "Privilege Escalation" }

match = { ["userIdentity.type"] = "Root" }

function rule(e)
  return deep_get(e, "userIdentity", "invokedBy") == nil
    and e.eventType ~= "AwsServiceEvent"
end

function title(e)
  return "Root user of account [" .. (deep_get(e, "userIdentity", "accountId") or "?")
    .. "] called [" .. (e.eventName or "?") .. "] from [" .. (e.sourceIPAddress or "?") .. "]"
end

-- One alert per account and hour, whatever the root user did.
function dedup(e)
  return "root-" .. (deep_get(e, "userIdentity", "accountId") or "?")
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "root lists users", expect = true, dedup = "root-570214836620",
    event = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "ListUsers",
              eventType = "AwsApiCall", sourceIPAddress = "81.2.69.160",
              userIdentity = { type = "Root", accountId = "570214836620",
                               arn = "arn:aws:iam::570214836620:root" } } },
  { name = "AWS acting as root", expect = false,
    event = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "GetAccountSummary",
              eventType = "AwsApiCall",
              userIdentity = { type = "Root", accountId = "570214836620",
                               invokedBy = "support.amazonaws.com" } } },
}
