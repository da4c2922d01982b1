-- An S3 bucket made readable by anyone: a policy statement for Principal "*" without a
-- condition, or an ACL grant to AllUsers / AuthenticatedUsers.

id = "Bench.AWS.S3.BucketMadePublic"
display_name = "S3 bucket made public"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
reports = { ["MITRE ATT&CK"] = { "TA0010:T1537" } }
tags = { "AWS", "S3", "Exfiltration" }

match = { eventSource = "s3.amazonaws.com", eventName = { "PutBucketPolicy", "PutBucketAcl" } }

local util = require "bench_util"
local PUBLIC_GROUPS = {
  "http://acs.amazonaws.com/groups/global/AllUsers",
  "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}

local function public_principal(p)
  if p == "*" then return true end
  return type(p) == "table" and (p.AWS == "*" or util.has(p.AWS, "*"))
end

local function public_policy(policy)
  if type(policy) == "string" then policy = json.decode(policy) end
  if type(policy) ~= "table" then return false end
  local stmts = policy.Statement
  if type(stmts) ~= "table" then return false end
  if stmts.Effect then stmts = { stmts } end
  for _, s in ipairs(stmts) do
    if s.Effect == "Allow" and public_principal(s.Principal) and s.Condition == nil then
      return true
    end
  end
  return false
end

local function public_acl(rp)
  local uris = deep_walk(rp, "AccessControlPolicy", "AccessControlList", "Grant", "Grantee", "URI")
  for _, g in ipairs(PUBLIC_GROUPS) do
    if util.has(uris, g) then return true end
  end
  return false
end

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  local rp = e.requestParameters
  if rp == nil then return false end
  if e.eventName == "PutBucketPolicy" then return public_policy(rp.bucketPolicy) end
  return public_acl(rp)
end

function title(e)
  return "S3 bucket [" .. (deep_get(e, "requestParameters", "bucketName") or "?")
    .. "] made public by [" .. util.actor(e) .. "] (" .. e.eventName .. ")"
end

function dedup(e)
  return deep_get(e, "requestParameters", "bucketName") or "?"
end

function alert_context(e)
  return aws.rule_context(e)
end

local function put_policy(stmt)
  return { eventVersion = "1.09", eventSource = "s3.amazonaws.com", eventName = "PutBucketPolicy",
           userIdentity = { type = "IAMUser", userName = "maya.cohen" },
           requestParameters = { bucketName = "prod-static-site-5713",
                                 bucketPolicy = { Version = "2012-10-17", Statement = { stmt } } } }
end

tests = {
  { name = "public read policy", expect = true,
    title = "S3 bucket [prod-static-site-5713] made public by [maya.cohen] (PutBucketPolicy)",
    event = put_policy({ Effect = "Allow", Principal = "*", Action = "s3:GetObject",
                         Resource = "arn:aws:s3:::prod-static-site-5713/*" }) },
  { name = "policy for AWS *", expect = true,
    event = put_policy({ Effect = "Allow", Principal = { AWS = { "*" } }, Action = "s3:*", Resource = "*" }) },
  { name = "CloudFront only", expect = false,
    event = put_policy({ Effect = "Allow", Principal = { Service = "cloudfront.amazonaws.com" },
                         Action = "s3:GetObject", Resource = "*",
                         Condition = { StringEquals = { ["AWS:SourceArn"] = "arn:aws:cloudfront::1:distribution/E1" } } }) },
  { name = "public ACL", expect = true,
    event = { eventVersion = "1.09", eventSource = "s3.amazonaws.com", eventName = "PutBucketAcl",
              requestParameters = { bucketName = "b", AccessControlPolicy = { AccessControlList = { Grant = {
                { Grantee = { ID = "abc" }, Permission = "FULL_CONTROL" },
                { Grantee = { URI = "http://acs.amazonaws.com/groups/global/AllUsers" }, Permission = "READ" },
              } } } } } },
  { name = "private ACL", expect = false,
    event = { eventVersion = "1.09", eventSource = "s3.amazonaws.com", eventName = "PutBucketAcl",
              requestParameters = { bucketName = "b", AccessControlPolicy = { AccessControlList = { Grant = {
                { Grantee = { ID = "abc" }, Permission = "FULL_CONTROL" } } } } } } },
}
