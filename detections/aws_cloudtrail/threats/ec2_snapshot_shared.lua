-- Threat.AWS.EC2.SnapshotShared: an EBS snapshot's createVolumePermission gained an
-- external account or the "all" group (ModifySnapshotAttribute), the usual way to
-- exfiltrate a disk (Stratus Red Team aws.exfiltration.ec2-share-ebs-snapshot).
-- Accounts listed in pack_config `trusted_accounts` are ignored. HIGH; CRITICAL when
-- made public.

config = require "pack_config"
local util = require "pack_util"

id = "Threat.AWS.EC2.SnapshotShared"
display_name = "EBS snapshot shared outside the account"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0010:T1537" },
  ["Stratus Red Team"] = { "aws.exfiltration.ec2-share-ebs-snapshot" },
}
tags = { "AWS", "EC2", "Exfiltration" }
default_runbook = "Remove the permission (ModifySnapshotAttribute ... remove), find out " ..
  "which volume the snapshot came from and what it contains, and whether the external " ..
  "account already copied it (CopySnapshot/CreateVolume are logged in that account only)."

match = { eventSource = "ec2.amazonaws.com", eventName = "ModifySnapshotAttribute" }

-- added(e): the external accounts the volume permission now includes, and whether it
-- was made public (see pack_util.shared_outside).
local function added(e)
  local add = deep_get(e, "requestParameters", "createVolumePermission", "add")
  return util.shared_outside(e, deep_walk(add, "items", "userId"), deep_walk(add, "items", "group"),
    config.trusted_accounts)
end

local function snapshot(e)
  return deep_get(e, "requestParameters", "snapshotId")
end

function rule(e)
  return aws_cloudtrail_success(e) and util.is_shared(added(e))
end

function title(e)
  return util.share_title("EBS snapshot", snapshot(e), e, added(e))
end

function dedup(e)
  return util.text(snapshot(e))
end

function severity(e)
  return util.share_severity(added(e))
end

function alert_context(e)
  return util.share_context(e, "snapshotId", snapshot(e), added(e))
end

local function share(add, extra)
  local t = { eventSource = "ec2.amazonaws.com", eventName = "ModifySnapshotAttribute",
    eventTime = "2024-08-01T12:28:02Z", recipientAccountId = "111122223333",
    requestParameters = { snapshotId = "snap-0123456789abcdef0", attributeType = "CREATE_VOLUME_PERMISSION",
      createVolumePermission = add },
    userIdentity = { type = "IAMUser", accountId = "111122223333", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "shared with another account", expect = true, severity = "HIGH",
    title = "EBS snapshot [snap-0123456789abcdef0] shared with account(s) 999988887777 by [arn:aws:iam::111122223333:user/dev]",
    event = share({ add = { items = { { userId = "999988887777" } } } }) },
  { name = "made public", expect = true, severity = "CRITICAL",
    event = share({ add = { items = { { group = "all" } } } }) },
  { name = "permission removed", expect = false,
    event = share({ remove = { items = { { userId = "999988887777" } } } }) },
  { name = "shared with a trusted account (mocked config)", expect = false,
    mocks = { config = { trusted_accounts = { "999988887777" } } },
    event = share({ add = { items = { { userId = "999988887777" } } } }) },
  { name = "failed call", expect = false,
    event = share({ add = { items = { { userId = "999988887777" } } } }, { errorCode = "InvalidSnapshot.NotFound" }) },
}
