-- Threat.AWS.S3.BucketPolicyTiered: an S3 bucket's policy, ACL, CORS, lifecycle or
-- replication configuration was changed (the CIS 4.8 event set), with a severity that
-- depends on where it happened:
--   HIGH    the account (recipientAccountId) is a production account AND the bucket is
--           a monitored bucket,
--   MEDIUM  any other bucket of a production account,
--   LOW     everywhere else.
-- Production accounts and monitored buckets are the lookup tables
-- detections/lookups/production_accounts.csv and monitored_buckets.csv; tests mock
-- them with mocks = { lookup = { ... } }. The dedup key is principal + bucket, so a change to a monitored
-- bucket never hides inside an earlier, lower-severity alert about another bucket.
-- The plain CIS control is the conformance rule AWS.S3.BucketPolicyModified.

local util = require "pack_util"

id = "Threat.AWS.S3.BucketPolicyTiered"
display_name = "S3 bucket policy modified (tiered by environment)"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
dedup_minutes = 60
reports = {
  ["CIS AWS Foundations v3.0"] = { "4.8" },
  ["MITRE ATT&CK"] = { "TA0005:T1562", "TA0010:T1537" },
}
tags = { "AWS", "S3", "Configuration Change" }
default_runbook = "Review the new bucket policy/ACL in the alert context. For monitored " ..
  "production buckets, confirm a matching change request; look for public or cross-account " ..
  "principals and for removed deny statements."

match = {
  eventSource = "s3.amazonaws.com",
  eventName = {
    "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication",
    "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication",
  },
}

local WATCHED = {}
for _, name in ipairs(match.eventName) do WATCHED[name] = true end

local function bucket(e)
  return deep_get(e, "requestParameters", "bucketName")
end

function rule(e)
  return WATCHED[e.eventName] == true and aws_cloudtrail_success(e)
end

function title(e)
  return "S3 bucket modified by [" .. util.text(deep_get(e, "userIdentity", "arn")) .. "]"
end

function dedup(e)
  return util.text(deep_get(e, "userIdentity", "arn")) .. ":" .. util.text(bucket(e))
end

function severity(e)
  local account = e.recipientAccountId
  if lookup("production_accounts", account) then
    if lookup("monitored_buckets", bucket(e)) then return "HIGH" end
    return "MEDIUM"
  end
  return "LOW"
end

function alert_context(e)
  return {
    sourceIPAddress = e.sourceIPAddress,
    bucketName = bucket(e),
    userArn = deep_get(e, "userIdentity", "arn"),
    recipientAccountId = e.recipientAccountId,
    eventTime = e.eventTime,
    eventName = e.eventName,
  }
end

-- IAM user walbolbob (MFA) puts a bucket policy on bloblaw-blog-blob.
local WALBOLBOB = [[{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAVKQ3EXAMPLEWALBO","arn":"arn:aws:iam::34894817398:user/walbolbob","accountId":"34894817398","accessKeyId":"ASIAVKQ3EXAMPLEKEY01","userName":"walbolbob","sessionContext":{"attributes":{"creationDate":"2024-10-31T07:41:12Z","mfaAuthenticated":"true"}}},"eventTime":"2024-10-31T08:04:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","sourceIPAddress":"172.16.165.101","userAgent":"[aws-cli/2.17.50 md/awscrt#0.21.2 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#s3api.put-bucket-policy]","requestParameters":{"bucketPolicy":{"Version":"2012-10-17","Statement":[{"Sid":"BlogReaders","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::34894817398:role/blog-reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bloblaw-blog-blob/*"}]},"bucketName":"bloblaw-blog-blob","Host":"bloblaw-blog-blob.s3.eu-west-1.amazonaws.com","policy":""},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":262,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"Zm9vYmFyZXhhbXBsZWlkMg==","bytesTransferredOut":0},"requestID":"8E1A6B1F2C3D4E5F","eventID":"5b0a7f4e-2c1d-4e7a-9a51-0c6d1c2b3a40","readOnly":false,"resources":[{"accountId":"34894817398","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::bloblaw-blog-blob"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"34894817398","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"bloblaw-blog-blob.s3.eu-west-1.amazonaws.com"}}]]

local WALBOLBOB_CONTEXT = {
  sourceIPAddress = "172.16.165.101", bucketName = "bloblaw-blog-blob",
  userArn = "arn:aws:iam::34894817398:user/walbolbob", recipientAccountId = "34894817398",
  eventTime = "2024-10-31T08:04:00Z",
}

tests = {
  { name = "monitored bucket in a production account (shipped lookup tables) is HIGH",
    expect = true, severity = "HIGH",
    title = "S3 bucket modified by [arn:aws:iam::34894817398:user/walbolbob]",
    dedup = "arn:aws:iam::34894817398:user/walbolbob:bloblaw-blog-blob",
    context = WALBOLBOB_CONTEXT, event = WALBOLBOB },
  { name = "other bucket in a production account is MEDIUM",
    expect = true, severity = "MEDIUM", context = WALBOLBOB_CONTEXT, event = WALBOLBOB,
    mocks = { lookup = { production_accounts = { ["34894817398"] = true }, monitored_buckets = { ["payroll-exports"] = true } } } },
  { name = "non-production account is LOW",
    expect = true, severity = "LOW", context = WALBOLBOB_CONTEXT, event = WALBOLBOB,
    mocks = { lookup = { production_accounts = { ["111122223333"] = true }, monitored_buckets = { ["bloblaw-blog-blob"] = true } } } },
  { name = "empty configuration is LOW",
    expect = true, severity = "LOW", event = WALBOLBOB, mocks = { lookup = {} } },
  { name = "denied PutBucketPolicy",
    expect = false,
    event = { eventSource = "s3.amazonaws.com", eventName = "PutBucketPolicy", errorCode = "AccessDenied",
      errorMessage = "Access Denied", recipientAccountId = "34894817398",
      requestParameters = { bucketName = "bloblaw-blog-blob" },
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::34894817398:user/walbolbob" } } },
  { name = "read-only GetBucketPolicy",
    expect = false,
    event = { eventSource = "s3.amazonaws.com", eventName = "GetBucketPolicy", recipientAccountId = "34894817398",
      requestParameters = { bucketName = "bloblaw-blog-blob" },
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::34894817398:user/walbolbob" } } },
}
