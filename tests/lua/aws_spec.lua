-- aws_spec.lua — aws.rule_context, aws.actor_user, aws.parse_arn, aws.account_from_arn.
-- SPDX-License-Identifier: MIT

local function uid(t, extra)
  local e = { userIdentity = t }
  for k, v in pairs(extra or {}) do
    e[k] = v
  end
  return e
end

tests = {
  { name = "rule_context: fields copied", run = function()
    local identity = { type = "IAMUser", userName = "alice" }
    local e = {
      eventName = "PutBucketPolicy", eventSource = "s3.amazonaws.com", awsRegion = "us-west-2",
      recipientAccountId = "123456789012", sourceIPAddress = "1.2.3.4", userAgent = "aws-cli",
      userIdentity = identity, requestParameters = { bucketName = "b" },
    }
    local ctx = aws.rule_context(e)
    assert_eq(ctx, {
      eventName = "PutBucketPolicy", eventSource = "s3.amazonaws.com", awsRegion = "us-west-2",
      recipientAccountId = "123456789012", sourceIPAddress = "1.2.3.4", userAgent = "aws-cli",
      userIdentity = { type = "IAMUser", userName = "alice" },
    })
    assert(ctx["PantherFlow Investigation"] == nil)
  end },
  { name = "rule_context: every default", run = function()
    assert_eq(aws.rule_context({}), {
      eventName = "<MISSING_EVENT_NAME>",
      eventSource = "<MISSING_ACCOUNT_ID>",
      awsRegion = "<MISSING_AWS_REGION>",
      recipientAccountId = "<MISSING_ACCOUNT_ID>",
      sourceIPAddress = "<MISSING_SOURCE_IP>",
      userAgent = "<MISSING_USER_AGENT>",
      userIdentity = "<MISSING_USER_IDENTITY>",
    })
  end },
  { name = "rule_context: case-insensitive field names", run = function()
    local ctx = aws.rule_context({ sourceIpAddress = "5.6.7.8", EVENTNAME = "X" })
    assert_eq(ctx.sourceIPAddress, "5.6.7.8")
    assert_eq(ctx.eventName, "X")
  end },
  { name = "actor_user: Root", run = function()
    assert_eq(aws.actor_user(uid({ type = "Root", userName = "root", accountId = "1" })), "root")
    assert_eq(aws.actor_user(uid({ type = "Root", accountId = "123456789012" })), "123456789012")
    assert_eq(aws.actor_user(uid({ type = "Root", userName = "", accountId = "1" })), "1")
    assert_eq(aws.actor_user(uid({ type = "Root" })), "UnknownRootUser")
  end },
  { name = "actor_user: userName types", run = function()
    for _, t in ipairs({ "IAMUser", "Directory", "Unknown", "SAMLUser", "WebIdentityUser" }) do
      assert_eq(aws.actor_user(uid({ type = t, userName = "bob" })), "bob", t)
      assert_eq(aws.actor_user(uid({ type = t })), "Unknown" .. t, t)
    end
  end },
  { name = "actor_user: role types use the session issuer", run = function()
    for _, t in ipairs({ "AssumedRole", "Role", "FederatedUser" }) do
      local e = uid({ type = t, userName = "ignored",
        sessionContext = { sessionIssuer = { userName = "deploy-role" } } })
      assert_eq(aws.actor_user(e), "deploy-role", t)
      assert_eq(aws.actor_user(uid({ type = t })), "Unknown" .. t, t)
      assert_eq(aws.actor_user(uid({ type = t, sessionContext = {} })), "Unknown" .. t, t)
    end
  end },
  { name = "actor_user: AWSReservedSSO_ roles name the SSO user", run = function()
    local e = uid({ type = "AssumedRole", principalId = "AROAEXAMPLE:jane@example.com",
      sessionContext = { sessionIssuer = { userName = "AWSReservedSSO_AdministratorAccess_abc" } } })
    assert_eq(aws.actor_user(e), "jane@example.com")
    e = uid({ type = "AssumedRole", principalId = "AROAEXAMPLE",
      sessionContext = { sessionIssuer = { userName = "AWSReservedSSO_Admin" } } })
    assert_eq(aws.actor_user(e), "AWSReservedSSO_Admin", "no ':' in principalId")
  end },
  { name = "actor_user: IdentityCenterUser", run = function()
    local e = uid({ type = "IdentityCenterUser" }, { additionalEventData = { UserName = "carol" } })
    assert_eq(aws.actor_user(e), "carol")
    assert(aws.actor_user(uid({ type = "IdentityCenterUser" })) == nil)
  end },
  { name = "actor_user: AWSService and AWSAccount", run = function()
    for _, t in ipairs({ "AWSService", "AWSAccount" }) do
      assert_eq(aws.actor_user(uid({ type = t }, { sourceIdentity = "svc" })), "svc", t)
      assert_eq(aws.actor_user(uid({ type = t, sourceIdentity = "not here" })), "Unknown" .. t, t)
    end
  end },
  { name = "actor_user: AwsServiceEvent and the final fallback", run = function()
    local e = { eventType = "AwsServiceEvent", userIdentity = { invokedBy = "ec2.amazonaws.com" } }
    assert_eq(aws.actor_user(e), "ec2.amazonaws.com")
    assert_eq(aws.actor_user({ eventType = "AwsServiceEvent" }), "UnknownAwsServiceEvent")
    assert_eq(aws.actor_user({ eventType = "AwsApiCall", userIdentity = { type = "Weird" } }), "UnknownUser")
    assert_eq(aws.actor_user({}), "UnknownUser")
    assert_eq(aws.actor_user(nil), "UnknownUser")
  end },
  { name = "actor_user: type is compared exactly", run = function()
    assert_eq(aws.actor_user(uid({ type = "root", userName = "r" })), "UnknownUser")
  end },
  { name = "parse_arn: IAM, STS, S3, resource with ':' and '/'", run = function()
    assert_eq(aws.parse_arn("arn:aws:iam::123456789012:user/path/alice"), {
      partition = "aws", service = "iam", region = "", account_id = "123456789012",
      resource = "user/path/alice" })
    assert_eq(aws.parse_arn("arn:aws:sts::123456789012:assumed-role/Admin/jane"), {
      partition = "aws", service = "sts", region = "", account_id = "123456789012",
      resource = "assumed-role/Admin/jane" })
    assert_eq(aws.parse_arn("arn:aws:s3:::my-bucket/key"), {
      partition = "aws", service = "s3", region = "", account_id = "", resource = "my-bucket/key" })
    assert_eq(aws.parse_arn("arn:aws-us-gov:lambda:us-gov-west-1:1:function:fn:PROD"), {
      partition = "aws-us-gov", service = "lambda", region = "us-gov-west-1", account_id = "1",
      resource = "function:fn:PROD" })
  end },
  { name = "parse_arn: invalid input is nil", run = function()
    for _, s in ipairs({ "", "arn", "arn:aws", "arn:aws:iam::123", "arn:aws:iam::123:", "ARN:aws:iam::1:root",
      "urn:aws:iam::1:root", "arn::iam::1:root", "arn:aws:::1:root", " arn:aws:iam::1:root" }) do
      assert(aws.parse_arn(s) == nil, s)
    end
    assert(aws.parse_arn(nil) == nil)
    assert(aws.parse_arn(12) == nil)
  end },
  { name = "account_from_arn", run = function()
    assert_eq(aws.account_from_arn("arn:aws:iam::123456789012:root"), "123456789012")
    assert_eq(aws.account_from_arn("arn:aws:iam::aws:policy/AdministratorAccess"), "aws")
    assert(aws.account_from_arn("arn:aws:s3:::bucket") == nil)
    assert(aws.account_from_arn("not an arn") == nil)
    assert(aws.account_from_arn(nil) == nil)
  end },
}
