-- API calls whose user agent names an offensive distribution or tool (Kali, Parrot,
-- Pacu...). The list lives in lib/bench_config.lua, so there is no `match`: every event
-- reaches the rule (the second prefilter-less detection of the bench).

id = "Bench.AWS.OffensiveToolUserAgent"
display_name = "AWS API called from an offensive tool"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = { ["MITRE ATT&CK"] = { "TA0007:T1580" } }
tags = { "AWS", "Discovery" }

local config = require "bench_config"
local util = require "bench_util"

local function marker(ua)
  if type(ua) ~= "string" then return nil end
  ua = ua:lower()
  for _, m in ipairs(config.offensive_agent_markers) do
    if ua:find(m, 1, true) then return m end
  end
  return nil
end

function rule(e)
  return marker(e.userAgent) ~= nil
end

function title(e)
  return "[" .. util.actor(e) .. "] called AWS with " .. marker(e.userAgent) .. " from ["
    .. (e.sourceIPAddress or "?") .. "]"
end

function dedup(e)
  return util.actor(e) .. ":" .. marker(e.userAgent)
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "Kali CLI", expect = true, title = "[bob.okafor] called AWS with kali from [185.220.101.4]",
    event = { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "ListUsers",
              sourceIPAddress = "185.220.101.4",
              userAgent = "aws-cli/1.22.34 Python/3.9.16 Linux/6.5.0-kali3-amd64 botocore/1.24.46",
              userIdentity = { type = "IAMUser", userName = "bob.okafor" } } },
  { name = "Pacu", expect = true,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "DescribeInstances",
              userAgent = "Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux Pacu/1.5.2",
              userIdentity = { type = "IAMUser", userName = "bob.okafor" } } },
  { name = "ordinary SDK", expect = false,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "DescribeInstances",
              userAgent = "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1" } },
}
