-- Threat.AWS.RDS.SnapshotShared: an RDS DB or cluster snapshot's "restore" attribute
-- gained an external account or "all" (ModifyDBSnapshotAttribute /
-- ModifyDBClusterSnapshotAttribute): the database can now be restored elsewhere
-- (Stratus Red Team aws.exfiltration.rds-share-snapshot). Accounts listed in
-- pack_config `trusted_accounts` are ignored. HIGH; CRITICAL when made public.

config = require "pack_config"
local util = require "pack_util"

id = "Threat.AWS.RDS.SnapshotShared"
display_name = "RDS snapshot shared outside the account"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0010:T1537" },
  ["Stratus Red Team"] = { "aws.exfiltration.rds-share-snapshot" },
}
tags = { "AWS", "RDS", "Exfiltration" }
default_runbook = "Remove the account from the snapshot's restore attribute, identify the " ..
  "database and the data it holds, and treat it as exposed if the share was not approved."

match = { eventSource = "rds.amazonaws.com",
  eventName = { "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute" } }

-- added(e): the external accounts the "restore" attribute now includes, and whether
-- "all" (public) was added (see pack_util.shared_outside).
local function added(e)
  if deep_get(e, "requestParameters", "attributeName") ~= "restore" then return {}, false end
  local values = util.list(deep_get(e, "requestParameters", "valuesToAdd"))
  local ids = {}
  for _, v in ipairs(values) do
    if v ~= "all" then ids[#ids + 1] = v end
  end
  return util.shared_outside(e, ids, values, config.trusted_accounts)
end

local function snapshot(e)
  return deep_get(e, "requestParameters", "dBSnapshotIdentifier") or
    deep_get(e, "requestParameters", "dBClusterSnapshotIdentifier")
end

function rule(e)
  return aws_cloudtrail_success(e) and util.is_shared(added(e))
end

function title(e)
  return util.share_title("RDS snapshot", snapshot(e), e, added(e))
end

function dedup(e)
  return util.text(snapshot(e))
end

function severity(e)
  return util.share_severity(added(e))
end

function alert_context(e)
  return util.share_context(e, "snapshot", snapshot(e), added(e))
end

local function share(name, rp, extra)
  local t = { eventSource = "rds.amazonaws.com", eventName = name, eventTime = "2024-08-01T12:38:06Z",
    recipientAccountId = "111122223333", requestParameters = rp,
    userIdentity = { type = "IAMUser", accountId = "111122223333", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

tests = {
  { name = "DB snapshot shared with another account", expect = true, severity = "HIGH",
    title = "RDS snapshot [orders-2024] shared with account(s) 999988887777 by [arn:aws:iam::111122223333:user/dev]",
    event = share("ModifyDBSnapshotAttribute", { attributeName = "restore", dBSnapshotIdentifier = "orders-2024",
      valuesToAdd = { "999988887777" } }) },
  { name = "cluster snapshot made public", expect = true, severity = "CRITICAL",
    event = share("ModifyDBClusterSnapshotAttribute", { attributeName = "restore",
      dBClusterSnapshotIdentifier = "c1", valuesToAdd = { "all" } }) },
  { name = "share removed", expect = false,
    event = share("ModifyDBSnapshotAttribute", { attributeName = "restore", dBSnapshotIdentifier = "orders-2024",
      valuesToRemove = { "999988887777" } }) },
  { name = "shared with own account id", expect = false,
    event = share("ModifyDBSnapshotAttribute", { attributeName = "restore", dBSnapshotIdentifier = "o",
      valuesToAdd = { "111122223333" } }) },
}
