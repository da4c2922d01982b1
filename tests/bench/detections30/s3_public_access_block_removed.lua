-- S3 Block Public Access removed or weakened on a bucket: the guard rail that keeps a
-- careless policy from publishing data.

id = "Bench.AWS.S3.PublicAccessBlockRemoved"
display_name = "S3 Block Public Access removed"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "2.1.4" }, ["MITRE ATT&CK"] = { "TA0005:T1562" } }
tags = { "AWS", "S3", "Defense Evasion" }

match = {
  eventSource = "s3.amazonaws.com",
  eventName = { "DeleteBucketPublicAccessBlock", "PutBucketPublicAccessBlock" },
}

local util = require "bench_util"
local SETTINGS = { "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets" }

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  if e.eventName == "DeleteBucketPublicAccessBlock" then return true end
  local cfg = deep_get(e, "requestParameters", "PublicAccessBlockConfiguration")
  if cfg == nil then return false end
  for _, k in ipairs(SETTINGS) do
    if cfg[k] == false then return true end
  end
  return false
end

function title(e)
  return "Block Public Access weakened on bucket [" .. (deep_get(e, "requestParameters", "bucketName") or "?")
    .. "] by [" .. util.actor(e) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

local function put(v)
  return { eventVersion = "1.09", eventSource = "s3.amazonaws.com", eventName = "PutBucketPublicAccessBlock",
           userIdentity = { type = "IAMUser", userName = "terraform-runner" },
           requestParameters = { bucketName = "prod-data-lake-5713", PublicAccessBlockConfiguration = {
             BlockPublicAcls = v, IgnorePublicAcls = true, BlockPublicPolicy = true, RestrictPublicBuckets = true } } }
end

tests = {
  { name = "block deleted", expect = true,
    event = { eventVersion = "1.09", eventSource = "s3.amazonaws.com", eventName = "DeleteBucketPublicAccessBlock",
              requestParameters = { bucketName = "prod-data-lake-5713" } } },
  { name = "one setting off", expect = true,
    title = "Block Public Access weakened on bucket [prod-data-lake-5713] by [terraform-runner]",
    event = put(false) },
  { name = "all settings on", expect = false, event = put(true) },
}
