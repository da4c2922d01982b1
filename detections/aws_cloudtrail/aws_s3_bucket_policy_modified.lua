-- AWS.S3.BucketPolicyModified: an S3 bucket's ACL, policy, CORS, lifecycle or
-- replication configuration was put or deleted (CIS 3.8).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_s3_bucket_policy_modified.yml, Apache-2.0), written from
-- the English spec in shared/conformance/panther.
-- Tests: aws_s3_bucket_policy_modified.tests.json.

id = "AWS.S3.BucketPolicyModified"
display_name = "AWS S3 Bucket Policy Modified"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
dedup_minutes = 720
threshold = 1
reports = {
  CIS = { "3.8" },
  ["MITRE ATT&CK"] = { "TA0010:T1567" },
  ["Stratus Red Team"] = {
    "aws.defense-evasion.cloudtrail-lifecycle-rule", "aws.exfiltration.s3-backdoor-bucket-policy",
  },
}
tags = { "AWS", "Identity & Access Management", "Exfiltration:Exfiltration Over Web Service" }

match = {
  eventName = {
    "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle",
    "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle",
    "DeleteBucketReplication",
  },
}

local WATCHED = {}
for _, name in ipairs(match.eventName) do WATCHED[name] = true end

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

function rule(e)
  return WATCHED[e.eventName] == true and aws_cloudtrail_success(e)
end

-- No dedup hook: the title groups the alerts per acting ARN.
function title(e)
  return "S3 bucket modified by [" .. text(deep_get(e, "userIdentity", "arn")) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end
