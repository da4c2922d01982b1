-- An EBS snapshot or AMI shared with everyone (group "all"): disk contents for anyone.

id = "Bench.AWS.EC2.SnapshotOrImagePublic"
display_name = "EBS snapshot or AMI made public"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
reports = { ["MITRE ATT&CK"] = { "TA0010:T1537" } }
tags = { "AWS", "EC2", "Exfiltration" }

match = { eventSource = "ec2.amazonaws.com", eventName = { "ModifySnapshotAttribute", "ModifyImageAttribute" } }

local util = require "bench_util"

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  local rp = e.requestParameters
  local groups = deep_walk(rp, "createVolumePermission", "add", "items", "group")
  if groups == nil then groups = deep_walk(rp, "launchPermission", "add", "items", "group") end
  return util.has(groups, "all")
end

function title(e)
  local rp = e.requestParameters
  return "[" .. (rp.snapshotId or rp.imageId or "?") .. "] shared publicly by [" .. util.actor(e) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "public snapshot", expect = true,
    title = "[snap-0123456789abcdef0] shared publicly by [bob.okafor]",
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "ModifySnapshotAttribute",
              userIdentity = { type = "IAMUser", userName = "bob.okafor" },
              requestParameters = { snapshotId = "snap-0123456789abcdef0", attributeType = "CREATE_VOLUME_PERMISSION",
                                    createVolumePermission = { add = { items = { { group = "all" } } } } } } },
  { name = "public AMI", expect = true,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "ModifyImageAttribute",
              requestParameters = { imageId = "ami-0aa", launchPermission = { add = { items = { { group = "all" } } } } } } },
  { name = "shared with one account", expect = false,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "ModifySnapshotAttribute",
              requestParameters = { snapshotId = "snap-1",
                                    createVolumePermission = { add = { items = { { userId = "111122223333" } } } } } } },
}
