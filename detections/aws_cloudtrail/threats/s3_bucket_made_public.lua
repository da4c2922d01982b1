-- Threat.AWS.S3.BucketMadePublic: a bucket ACL or bucket policy now grants access to
-- everyone.
--   PutBucketAcl     a grant to the AllUsers or AuthenticatedUsers group (in the ACL body
--                    or an x-amz-grant-* header), or a public canned ACL (x-amz-acl
--                    public-read, public-read-write, authenticated-read).
--   PutBucketPolicy  an Allow statement whose Principal is "*" or {"AWS": "*"} (also in
--                    an array). requestParameters.bucketPolicy may be an object or a
--                    JSON string.
-- HIGH, CRITICAL for a bucket in the lookup table `monitored_buckets`, and MEDIUM when
-- every public policy statement carries a Condition (which may restrict it to an
-- organisation, VPC or IP range: check it).

local util = require "pack_util"

id = "Threat.AWS.S3.BucketMadePublic"
display_name = "S3 bucket made public"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = { ["MITRE ATT&CK"] = { "TA0010:T1537", "TA0009:T1530" } }
tags = { "AWS", "S3", "Data Exposure" }
default_runbook = "Check what the bucket holds and whether public access is intended (a " ..
  "static website). If not, restore the previous ACL/policy and enable S3 Block Public " ..
  "Access; review GetObject/ListBucket access logs for the exposure window."

match = { eventSource = "s3.amazonaws.com", eventName = { "PutBucketAcl", "PutBucketPolicy" } }

local PUBLIC_GROUPS = {
  "acs.amazonaws.com/groups/global/AllUsers",
  "acs.amazonaws.com/groups/global/AuthenticatedUsers",
}
local PUBLIC_CANNED = { ["public-read"] = true, ["public-read-write"] = true, ["authenticated-read"] = true }

local function acl_public(rp)
  local canned = util.list(deep_get(rp, "x-amz-acl"))
  for _, c in ipairs(canned) do
    if PUBLIC_CANNED[c] then return true end
  end
  -- grants appear in the AccessControlPolicy body or in x-amz-grant-* headers: look for
  -- the group URIs anywhere in the request.
  local text = json.encode(rp) or ""
  for _, uri in ipairs(PUBLIC_GROUPS) do
    if strings.contains(text, uri) then return true end
  end
  return false
end

-- policy_public(rp): true and whether every public statement is conditional, or false.
local function policy_public(rp)
  local doc = util.decode_policy(deep_get(rp, "bucketPolicy"))
  local public, conditional = false, true
  for _, st in ipairs(util.statements(doc)) do
    if util.allows(st) and util.contains(util.principals(st), "*") then
      public = true
      if not util.has_condition(st) then conditional = false end
    end
  end
  return public, conditional
end

local function analyse(e)
  local rp = e.requestParameters
  if type(rp) ~= "table" then return false end
  if e.eventName == "PutBucketAcl" then return acl_public(rp), false end
  return policy_public(rp)
end

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  local public = analyse(e)
  return public
end

local function bucket(e)
  return deep_get(e, "requestParameters", "bucketName")
end

function title(e)
  local how = e.eventName == "PutBucketAcl" and "ACL" or "bucket policy"
  return "S3 bucket [" .. util.text(bucket(e)) .. "] made public via " .. how .. " by [" ..
    util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(bucket(e))
end

function severity(e)
  if lookup("monitored_buckets", bucket(e)) then return "CRITICAL" end
  local _, conditional = analyse(e)
  if conditional then return "MEDIUM" end
  return "HIGH"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.bucketName = bucket(e)
  ctx.bucketPolicy = deep_get(e, "requestParameters", "bucketPolicy")
  ctx.accessControlPolicy = deep_get(e, "requestParameters", "AccessControlPolicy")
  return ctx
end

local function put(name, rp, extra)
  local t = {
    eventVersion = "1.09", eventTime = "2024-07-07T07:07:07Z", eventSource = "s3.amazonaws.com",
    eventName = name, eventType = "AwsApiCall", awsRegion = "us-east-1", sourceIPAddress = "198.51.100.14",
    recipientAccountId = "111122223333", requestParameters = rp,
    userIdentity = { type = "IAMUser", userName = "dev", arn = "arn:aws:iam::111122223333:user/dev" },
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local ALLUSERS_ACL = {
  bucketName = "media-assets", Host = "media-assets.s3.us-east-1.amazonaws.com", acl = { "" },
  AccessControlPolicy = {
    xmlns = "http://s3.amazonaws.com/doc/2006-03-01/",
    Owner = { ID = "4f2bexampleownerid" },
    AccessControlList = { Grant = {
      { Grantee = { ["xsi:type"] = "CanonicalUser", ID = "4f2bexampleownerid" }, Permission = "FULL_CONTROL" },
      { Grantee = { ["xsi:type"] = "Group", URI = "http://acs.amazonaws.com/groups/global/AllUsers" },
        Permission = "READ" },
    } },
  },
}

tests = {
  { name = "ACL grants READ to AllUsers", expect = true, severity = "HIGH",
    title = "S3 bucket [media-assets] made public via ACL by [arn:aws:iam::111122223333:user/dev]",
    dedup = "media-assets", event = put("PutBucketAcl", ALLUSERS_ACL) },
  { name = "public-read canned ACL", expect = true,
    event = put("PutBucketAcl", { bucketName = "b1", ["x-amz-acl"] = { "public-read" } }) },
  { name = "grant header to AuthenticatedUsers", expect = true,
    event = put("PutBucketAcl", { bucketName = "b1",
      ["x-amz-grant-read"] = { "uri=\"http://acs.amazonaws.com/groups/global/AuthenticatedUsers\"" } }) },
  { name = "private canned ACL", expect = false,
    event = put("PutBucketAcl", { bucketName = "b1", ["x-amz-acl"] = { "private" } }) },
  { name = "policy with Principal * (object)", expect = true, severity = "HIGH",
    event = put("PutBucketPolicy", { bucketName = "web", bucketPolicy = { Version = "2012-10-17", Statement = {
      { Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "arn:aws:s3:::web/*" } } } }) },
  { name = "policy with AWS * given as a JSON string", expect = true,
    event = put("PutBucketPolicy", { bucketName = "web",
      bucketPolicy = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"*\"]},\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::web\"}}" }) },
  { name = "public statement with a Condition is MEDIUM", expect = true, severity = "MEDIUM",
    event = put("PutBucketPolicy", { bucketName = "web", bucketPolicy = { Statement = {
      { Effect = "Allow", Principal = { AWS = "*" }, Action = "s3:GetObject", Resource = "arn:aws:s3:::web/*",
        Condition = { StringEquals = { ["aws:PrincipalOrgID"] = "o-abc123" } } } } } }) },
  { name = "monitored bucket is CRITICAL", expect = true, severity = "CRITICAL",
    event = put("PutBucketPolicy", { bucketName = "bloblaw-blog-blob", bucketPolicy = { Statement = {
      { Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "*" } } } }) },
  { name = "Deny with Principal * is not public", expect = false,
    event = put("PutBucketPolicy", { bucketName = "web", bucketPolicy = { Statement = {
      { Effect = "Deny", Principal = "*", Action = "s3:*", Resource = "*",
        Condition = { Bool = { ["aws:SecureTransport"] = "false" } } } } } }) },
  { name = "service principal is not public", expect = false,
    event = put("PutBucketPolicy", { bucketName = "logs", bucketPolicy = { Statement = {
      { Effect = "Allow", Principal = { Service = "cloudtrail.amazonaws.com" }, Action = "s3:PutObject",
        Resource = "arn:aws:s3:::logs/*" } } } }) },
  { name = "undecodable policy string", expect = false,
    event = put("PutBucketPolicy", { bucketName = "web", bucketPolicy = "invalid-json-policy" }) },
  { name = "denied call", expect = false,
    event = put("PutBucketAcl", { bucketName = "b1", ["x-amz-acl"] = { "public-read" } },
      { errorCode = "AccessDenied", errorMessage = "Access Denied" }) },
}
