-- Threat.AWS.EC2.UserDataDownloadBurst: one principal reads the user data
-- (DescribeInstanceAttribute, attribute userData) of at least 5 distinct instances
-- within 10 minutes. User data often holds bootstrap secrets; bulk retrieval is
-- discovery/credential hunting (Stratus Red Team aws.discovery.ec2-download-user-data).
-- Denied attempts count too.

local util = require "pack_util"

id = "Threat.AWS.EC2.UserDataDownloadBurst"
display_name = "EC2 user data downloaded for many instances"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 10
threshold = 5
reports = {
  ["MITRE ATT&CK"] = { "TA0007:T1580", "TA0006:T1552.005" },
  ["Stratus Red Team"] = { "aws.discovery.ec2-download-user-data" },
}
tags = { "AWS", "EC2", "Discovery" }
default_runbook = "Check whether the principal is an inventory or backup tool. If not, " ..
  "treat any secret present in the instances' user data as exposed and rotate it."

match = { eventSource = "ec2.amazonaws.com", eventName = "DescribeInstanceAttribute" }

function rule(e)
  return deep_get(e, "requestParameters", "attribute") == "userData" and util.instance_id(e) ~= nil
end

function unique(e)
  return tostring(util.instance_id(e))
end

function dedup(e)
  return util.text(util.actor_arn(e))
end

function title(e)
  return "User data of many EC2 instances downloaded by [" .. util.text(util.actor_arn(e)) .. "]"
end

function alert_context(e)
  return util.instance_context(e)
end

local function dia(instance, attr, t)
  return {
    eventTime = t or "2024-01-01T00:00:00Z", eventSource = "ec2.amazonaws.com",
    eventName = "DescribeInstanceAttribute", readOnly = true, sourceIPAddress = "198.51.100.3",
    requestParameters = { instanceId = instance, attribute = attr },
    userIdentity = { type = "AssumedRole", arn = "arn:aws:sts::111122223333:assumed-role/r/s" },
  }
end

tests = {
  { name = "userData attribute", expect = true, event = dia("i-01", "userData"),
    title = "User data of many EC2 instances downloaded by [arn:aws:sts::111122223333:assumed-role/r/s]" },
  { name = "other attribute", expect = false, event = dia("i-01", "instanceType") },
  { name = "five instances in a minute", expect_alerts = 1,
    events = { dia("i-01", "userData", "2024-01-01T00:00:00Z"), dia("i-02", "userData", "2024-01-01T00:00:05Z"),
      dia("i-03", "userData", "2024-01-01T00:00:10Z"), dia("i-04", "userData", "2024-01-01T00:00:15Z"),
      dia("i-05", "userData", "2024-01-01T00:00:20Z") } },
  { name = "four instances are not enough", expect_alerts = 0,
    events = { dia("i-01", "userData", "2024-01-01T00:00:00Z"), dia("i-02", "userData", "2024-01-01T00:00:05Z"),
      dia("i-03", "userData", "2024-01-01T00:00:10Z"), dia("i-04", "userData", "2024-01-01T00:00:15Z"),
      dia("i-04", "userData", "2024-01-01T00:00:20Z") } },
}
