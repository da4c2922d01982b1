-- CIS AWS Foundations 4.8: S3 bucket policy, ACL, CORS, lifecycle and replication changes.

id = "Bench.CIS.S3BucketPolicyChanges"
display_name = "S3 bucket access configuration changed"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
reports = { CIS = { "4.8" }, ["MITRE ATT&CK"] = { "TA0010:T1537" } }
tags = { "AWS", "CIS", "Exfiltration" }

match = {
  eventSource = "s3.amazonaws.com",
  eventName = { "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle",
                "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors",
                "DeleteBucketLifecycle", "DeleteBucketReplication" },
}

local util = require "bench_util"

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "S3 bucket [" .. (deep_get(e, "requestParameters", "bucketName") or "?") .. "]: "
    .. e.eventName .. " by [" .. util.actor(e) .. "]"
end

function dedup(e)
  return deep_get(e, "requestParameters", "bucketName") or "?"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "policy replaced", expect = true, dedup = "prod-logs-5713",
    event = { eventVersion = "1.09", eventSource = "s3.amazonaws.com", eventName = "PutBucketPolicy",
              userIdentity = { type = "IAMUser", userName = "terraform-runner" },
              requestParameters = { bucketName = "prod-logs-5713" } } },
  { name = "failed", expect = false,
    event = { eventVersion = "1.09", eventSource = "s3.amazonaws.com", eventName = "PutBucketAcl",
              errorCode = "AccessDenied", errorMessage = "Access Denied",
              requestParameters = { bucketName = "prod-logs-5713" } } },
}
