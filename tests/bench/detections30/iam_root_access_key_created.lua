-- The root user created an access key for itself. Root keys should never exist.

id = "Bench.AWS.IAM.RootAccessKeyCreated"
display_name = "Root access key created"
log_types = { "AWS.CloudTrail" }
default_severity = "CRITICAL"
reports = { CIS = { "1.4" }, ["MITRE ATT&CK"] = { "TA0003:T1098.001" } }
tags = { "AWS", "IAM", "Persistence" }

match = { eventName = "CreateAccessKey", ["userIdentity.type"] = "Root" }

function rule(e)
  return aws_cloudtrail_success(e) and deep_get(e, "requestParameters", "userName") == nil
end

function title(e)
  return "Root access key created in account [" .. (e.recipientAccountId or "?") .. "] from ["
    .. (e.sourceIPAddress or "?") .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "root key", expect = true,
    title = "Root access key created in account [570214836620] from [81.2.69.160]",
    event = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "CreateAccessKey",
              recipientAccountId = "570214836620", sourceIPAddress = "81.2.69.160",
              userIdentity = { type = "Root", arn = "arn:aws:iam::570214836620:root" },
              responseElements = { accessKey = { accessKeyId = "AKIAROOTEXAMPLE00001", status = "Active" } } } },
  { name = "root making a key for a user", expect = false,
    event = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "CreateAccessKey",
              userIdentity = { type = "Root" }, requestParameters = { userName = "ci-deployer" } } },
}
