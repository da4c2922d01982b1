-- Writes in a region the organisation does not use: crypto-mining and staging often
-- hide where nobody looks. No `match`: the region list is the organisation's, so every
-- event reaches the rule (one of the bench's two prefilter-less detections).

id = "Bench.AWS.UnapprovedRegionActivity"
display_name = "Activity in an unapproved region"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = { ["MITRE ATT&CK"] = { "TA0005:T1535" } }
tags = { "AWS", "Defense Evasion" }

local config = require "bench_config"
local util = require "bench_util"

function rule(e)
  if e.readOnly ~= false then return false end
  local region = e.awsRegion
  if region == nil or config.approved_regions[region] then return false end
  if deep_get(e, "userIdentity", "type") == "AWSService" then return false end
  return aws_cloudtrail_success(e)
end

function title(e)
  return "[" .. util.actor(e) .. "] made changes in unapproved region [" .. e.awsRegion .. "]"
end

function dedup(e)
  return (e.recipientAccountId or "?") .. ":" .. e.awsRegion
end

-- New compute in a forgotten region is the expensive case.
function severity(e)
  if e.eventName == "RunInstances" then return "HIGH" end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.instanceType = deep_get(e, "requestParameters", "instanceType")
  return ctx
end

local function ev(region, ro, name)
  return { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = name or "RunInstances",
           awsRegion = region, readOnly = ro, recipientAccountId = "318462095713",
           userIdentity = { type = "IAMUser", userName = "grace.lee" },
           requestParameters = { instanceType = "p4d.24xlarge" } }
end

tests = {
  { name = "instances in me-south-1", expect = true, severity = "HIGH",
    title = "[grace.lee] made changes in unapproved region [me-south-1]",
    dedup = "318462095713:me-south-1", context = { instanceType = "p4d.24xlarge" },
    event = ev("me-south-1", false) },
  { name = "read in an unapproved region", expect = false, event = ev("me-south-1", true, "DescribeInstances") },
  { name = "write in an approved region", expect = false, event = ev("us-east-1", false) },
}
