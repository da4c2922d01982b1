-- Threat.AWS.EC2.AMIShared: an AMI's launchPermission gained an external account or the
-- "all" group (ModifyImageAttribute), which exposes the image and any data baked into it
-- (Stratus Red Team aws.exfiltration.ec2-share-ami). Accounts listed in pack_config
-- `trusted_accounts` are ignored; organisation/OU grants are not reported. HIGH;
-- CRITICAL when made public.

config = require "pack_config"
local util = require "pack_util"

id = "Threat.AWS.EC2.AMIShared"
display_name = "AMI shared outside the account"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0010:T1537" },
  ["Stratus Red Team"] = { "aws.exfiltration.ec2-share-ami" },
}
tags = { "AWS", "EC2", "Exfiltration" }
default_runbook = "Remove the launch permission, check what the image contains (secrets, " ..
  "application code) and treat that content as exposed to the external account."

match = { eventSource = "ec2.amazonaws.com", eventName = "ModifyImageAttribute" }

-- added(e): the external accounts the launch permission now includes, and whether it
-- was made public (see pack_util.shared_outside).
local function added(e)
  local add = deep_get(e, "requestParameters", "launchPermission", "add")
  return util.shared_outside(e, deep_walk(add, "items", "userId"), deep_walk(add, "items", "group"),
    config.trusted_accounts)
end

local function image(e)
  return deep_get(e, "requestParameters", "imageId")
end

function rule(e)
  return aws_cloudtrail_success(e) and util.is_shared(added(e))
end

function title(e)
  return util.share_title("AMI", image(e), e, added(e))
end

function dedup(e)
  return util.text(image(e))
end

function severity(e)
  return util.share_severity(added(e))
end

function alert_context(e)
  return util.share_context(e, "imageId", image(e), added(e))
end

local function share(lp, extra)
  local t = { eventSource = "ec2.amazonaws.com", eventName = "ModifyImageAttribute",
    eventTime = "2024-08-01T12:25:57Z", recipientAccountId = "111122223333",
    requestParameters = { imageId = "ami-0123456789abcdef0", attributeType = "launchPermission", launchPermission = lp },
    userIdentity = { type = "IAMUser", accountId = "111122223333", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "shared with another account", expect = true, severity = "HIGH",
    title = "AMI [ami-0123456789abcdef0] shared with account(s) 999988887777 by [arn:aws:iam::111122223333:user/dev]",
    event = share({ add = { items = { { userId = "999988887777" } } } }) },
  { name = "made public", expect = true, severity = "CRITICAL",
    event = share({ add = { items = { { group = "all" } } } }) },
  { name = "shared within the organisation", expect = false,
    event = share({ add = { items = { { organizationArn = "arn:aws:organizations::111122223333:organization/o-abc" } } } }) },
  { name = "permission removed", expect = false, event = share({ remove = { items = { { group = "all" } } } }) },
  { name = "description change", expect = false,
    event = { eventSource = "ec2.amazonaws.com", eventName = "ModifyImageAttribute", recipientAccountId = "111122223333",
      requestParameters = { imageId = "ami-1", description = { value = "x" } },
      userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } } },
}
