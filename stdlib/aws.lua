-- aws.lua — CloudTrail helpers: cloudtrail_success, rule_context (the standard AWS
-- alert context), actor_user (the CloudTrail data-model actor), parse_arn,
-- account_from_arn.
--
-- rule_context and actor_user follow "Shared contexts" and "Data-model fields" of
-- ../shared/conformance/panther/README.md, so ported Panther rules give the same
-- alert context and titles. The context omits `PantherFlow Investigation` (a query
-- string for Panther's own console). Event values (userIdentity) are returned as they
-- are, not copied. Field reads go through deep_get, so plain tables built by tests
-- resolve keys case-insensitively just like event proxies.
-- SPDX-License-Identifier: MIT

local type, match, sub = type, string.match, string.sub
local prelude = require "prelude"
local deep_get = prelude.deep_get

local M = {}

-- cloudtrail_success(e): the same function as the global aws_cloudtrail_success.
M.cloudtrail_success = prelude.aws_cloudtrail_success

-- rule_context(e): the standard AWS alert context. A missing (or null) field takes
-- its placeholder; eventSource's placeholder is <MISSING_ACCOUNT_ID>, as upstream.
function M.rule_context(e)
  return {
    eventName = deep_get(e, "eventName") or "<MISSING_EVENT_NAME>",
    eventSource = deep_get(e, "eventSource") or "<MISSING_ACCOUNT_ID>",
    awsRegion = deep_get(e, "awsRegion") or "<MISSING_AWS_REGION>",
    recipientAccountId = deep_get(e, "recipientAccountId") or "<MISSING_ACCOUNT_ID>",
    sourceIPAddress = deep_get(e, "sourceIPAddress") or "<MISSING_SOURCE_IP>",
    userAgent = deep_get(e, "userAgent") or "<MISSING_USER_AGENT>",
    userIdentity = deep_get(e, "userIdentity") or "<MISSING_USER_IDENTITY>",
  }
end

-- userIdentity.type -> which field names the actor, and the fallback name.
local BY_USERNAME = {
  IAMUser = "UnknownIAMUser",
  Directory = "UnknownDirectory",
  Unknown = "UnknownUnknown",
  SAMLUser = "UnknownSAMLUser",
  WebIdentityUser = "UnknownWebIdentityUser",
}
local BY_ISSUER = {
  AssumedRole = "UnknownAssumedRole",
  Role = "UnknownRole",
  FederatedUser = "UnknownFederatedUser",
}
local BY_SOURCE_IDENTITY = {
  AWSService = "UnknownAWSService",
  AWSAccount = "UnknownAWSAccount",
}

-- v unless it is nil or "" (both mean "not there" for a name).
local function present(v)
  if v ~= nil and v ~= "" then
    return v
  end
  return nil
end

local SSO_PREFIX = "AWSReservedSSO_"

-- actor_user(e): the CloudTrail data-model actor_user, chosen by userIdentity.type
-- (see docs/stdlib.md for the table). Empty strings count as missing.
function M.actor_user(e)
  local uid = deep_get(e, "userIdentity")
  local typ = deep_get(uid, "type")
  if typ == "Root" then
    return present(deep_get(uid, "userName")) or present(deep_get(uid, "accountId")) or "UnknownRootUser"
  end
  local fallback = BY_USERNAME[typ]
  if fallback then
    return present(deep_get(uid, "userName")) or fallback
  end
  fallback = BY_ISSUER[typ]
  if fallback then
    local name = present(deep_get(uid, "sessionContext", "sessionIssuer", "userName"))
    if not name then
      return fallback
    end
    if type(name) == "string" and sub(name, 1, #SSO_PREFIX) == SSO_PREFIX then
      local pid = deep_get(uid, "principalId")
      local user = type(pid) == "string" and match(pid, ":(.+)$")
      if user then
        return user
      end
    end
    return name
  end
  if typ == "IdentityCenterUser" then
    return deep_get(e, "additionalEventData", "UserName")
  end
  fallback = BY_SOURCE_IDENTITY[typ]
  if fallback then
    return present(deep_get(e, "sourceIdentity")) or fallback
  end
  if deep_get(e, "eventType") == "AwsServiceEvent" then
    return present(deep_get(uid, "invokedBy")) or "UnknownAwsServiceEvent"
  end
  return "UnknownUser"
end

local ARN = "^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$"

-- parse_arn(arn): { partition, service, region, account_id, resource } for
-- "arn:partition:service:region:account:resource" (region and account may be "",
-- the resource may hold ':' and '/'), or nil for anything else.
function M.parse_arn(arn)
  if type(arn) ~= "string" then
    return nil
  end
  local partition, service, region, account, resource = match(arn, ARN)
  if not partition then
    return nil
  end
  return {
    partition = partition,
    service = service,
    region = region,
    account_id = account,
    resource = resource,
  }
end

-- account_from_arn(arn): the account field of an ARN, or nil when the ARN is invalid
-- or has no account (S3 buckets: "arn:aws:s3:::bucket").
function M.account_from_arn(arn)
  if type(arn) ~= "string" then
    return nil
  end
  local _, _, _, account = match(arn, ARN)
  if account == nil or account == "" then
    return nil
  end
  return account
end

return M
