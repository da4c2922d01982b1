-- Threat.AWS.EC2.InstanceCredentialsOutsideAWS: temporary credentials of an EC2
-- instance profile (an assumed-role session named after the instance, i-...) used from
-- somewhere the instance would not call from: the credentials were stolen through IMDS
-- (SSRF, a compromised workload) and replayed (Stratus Red Team
-- aws.credential-access.ec2-steal-instance-credentials; OTRF EC2-proxy S3 exfiltration).
-- A call counts when its sourceIPAddress is a public literal address (service names,
-- "AWS Internal", private and reserved addresses and VPC endpoint calls are skipped)
-- and either
--   * pack_config `instance_egress_cidrs` is set and the address is outside all of them
--     (the shipped example lists only a documentation range, so every public address
--     counts until you list your NAT gateway and Elastic IP ranges), or
--   * the user agent names a workstation OS (macOS "Darwin/", "Mac OS X", Windows 10/11),
--     which EC2 instances do not run.
-- One alert per stolen session per hour.

config = require "pack_config"
local util = require "pack_util"

id = "Threat.AWS.EC2.InstanceCredentialsOutsideAWS"
display_name = "EC2 instance credentials used from outside"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0006:T1552.005", "TA0001:T1078.004" },
  ["Stratus Red Team"] = { "aws.credential-access.ec2-steal-instance-credentials" },
}
tags = { "AWS", "EC2", "Credential Access", "IMDS" }
match = { ["userIdentity.type"] = "AssumedRole" }  -- instance sessions are assumed roles
default_runbook = "Confirm the source address is not one of your egress points. If it " ..
  "is foreign, revoke the role's sessions (an inline deny on aws:TokenIssueTime), enforce " ..
  "IMDSv2 on the instance and find how the credentials leaked (SSRF, exposed proxy)."

local WORKSTATION_AGENTS = { "Darwin/", "Mac OS X", "macOS", "Windows/10", "Windows/11", "Windows_NT/10" }

local function instance_session(e)
  if deep_get(e, "userIdentity", "type") ~= "AssumedRole" then return nil end
  local s = util.session_name(e)
  if s and s:match("^i%-%x+$") then return s end
  return nil
end

local function outside_egress(addr)
  local cidrs = config.instance_egress_cidrs
  if cidrs == nil then return false end
  local any = false
  for _, c in ipairs(cidrs) do
    any = true
    if ip.in_cidr(addr, c) then return false end
  end
  return any
end

local function workstation_agent(e)
  local ua = e.userAgent
  if type(ua) ~= "string" then return false end
  for _, marker in ipairs(WORKSTATION_AGENTS) do
    if strings.contains(ua, marker) then return true end
  end
  return false
end

function rule(e)
  if not instance_session(e) then return false end
  if deep_get(e, "userIdentity", "invokedBy") ~= nil then return false end
  if e.vpcEndpointId ~= nil then return false end
  local addr = e.sourceIPAddress
  if not util.is_public_ip(addr) then return false end
  return outside_egress(addr) or workstation_agent(e)
end

local function role(e)
  return deep_get(e, "userIdentity", "sessionContext", "sessionIssuer", "userName") or
    (deep_get(e, "userIdentity", "arn") or ""):match(":assumed%-role/([^/]+)/")
end

function title(e)
  return "Credentials of EC2 instance [" .. util.text(instance_session(e)) .. "] (role " ..
    util.text(role(e)) .. ") used from " .. util.text(e.sourceIPAddress)
end

function dedup(e)
  return util.text(deep_get(e, "userIdentity", "arn"))
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.instanceId = instance_session(e)
  ctx.accessKeyId = deep_get(e, "userIdentity", "accessKeyId")
  ctx.ec2RoleDelivery = deep_get(e, "userIdentity", "sessionContext", "ec2RoleDelivery")
  return ctx
end

local function call(ip_addr, ua, extra)
  local t = {
    eventTime = "2024-01-15T10:30:00Z", eventSource = "ec2.amazonaws.com", eventName = "DescribeInstances",
    sourceIPAddress = ip_addr, userAgent = ua or "aws-cli/2.15.0", recipientAccountId = "111122223333",
    userIdentity = { type = "AssumedRole", accessKeyId = "ASIAEXAMPLEINSTANCE1",
      arn = "arn:aws:sts::111122223333:assumed-role/AppRole/i-0abcdef1234567890",
      principalId = "AROAEXAMPLE:i-0abcdef1234567890",
      sessionContext = { ec2RoleDelivery = "2.0", sessionIssuer = { type = "Role", userName = "AppRole" } } },
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end
local EGRESS = { config = { instance_egress_cidrs = { "198.51.100.0/24" } } }

tests = {
  { name = "public address outside the configured egress ranges", expect = true, mocks = EGRESS,
    title = "Credentials of EC2 instance [i-0abcdef1234567890] (role AppRole) used from 45.33.32.156",
    dedup = "arn:aws:sts::111122223333:assumed-role/AppRole/i-0abcdef1234567890",
    event = call("45.33.32.156") },
  { name = "shipped example config: any public address is outside", expect = true, event = call("45.33.32.156") },
  { name = "instance calling through its NAT gateway", expect = false, mocks = EGRESS,
    event = call("198.51.100.20") },
  { name = "no egress configured, macOS CLI", expect = true, mocks = { config = {} },
    event = call("45.33.32.156", "[aws-cli/1.18.136 Python/3.8.5 Darwin/19.6.0 botocore/1.17.59]") },
  { name = "no egress configured, Linux SDK", expect = false, mocks = { config = {} },
    event = call("45.33.32.156", "aws-sdk-java/2.20.0 Linux/5.10") },
  { name = "private address", expect = false, event = call("10.0.1.50") },
  { name = "AWS service hostname", expect = false, event = call("cloudformation.amazonaws.com") },
  { name = "VPC endpoint", expect = false, event = call("45.33.32.156", nil, { vpcEndpointId = "vpce-1111" }) },
  { name = "role session not named after an instance", expect = false,
    event = call("45.33.32.156", nil, { userIdentity = { type = "AssumedRole",
      arn = "arn:aws:sts::111122223333:assumed-role/AppRole/jenkins" } }) },
}
