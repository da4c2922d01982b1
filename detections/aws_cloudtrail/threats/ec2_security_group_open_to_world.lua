-- Threat.AWS.EC2.SecurityGroupOpenToWorld: an ingress rule was added that admits any
-- address: a source CIDR with prefix length 0 (0.0.0.0/0, ::/0, or any x/0), in the
-- flat form (cidrIp) or in ipPermissions (ipRanges / ipv6Ranges). HIGH when the port
-- range covers a remote-administration or database port or all traffic, MEDIUM for
-- other ports (Stratus Red Team aws.exfiltration.ec2-security-group-open-port-22-ingress).
-- The CIS 4.10 control (any security group change) is the conformance rule
-- AWS.EC2.SecurityGroupModified.

local util = require "pack_util"

id = "Threat.AWS.EC2.SecurityGroupOpenToWorld"
display_name = "Security group opened to the internet"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0005:T1562.007", "TA0001:T1133" },
  ["Stratus Red Team"] = { "aws.exfiltration.ec2-security-group-open-port-22-ingress" },
}
tags = { "AWS", "EC2", "Network Exposure" }
default_runbook = "Revoke the rule unless the port is meant to be public (web traffic " ..
  "behind a load balancer), and restrict administration ports to a VPN or bastion range."

match = { eventSource = "ec2.amazonaws.com", eventName = "AuthorizeSecurityGroupIngress" }

local SENSITIVE_PORTS = { 20, 21, 22, 23, 135, 139, 445, 1433, 1521, 2375, 2379, 3306, 3389, 5432,
  5601, 5900, 5985, 5986, 6379, 8020, 9200, 11211, 27017 }

local function world(cidr)
  return type(cidr) == "string" and cidr:match("/0$") ~= nil
end

-- open_ranges(e): array of { from, to, proto } admitting the world.
local function open_ranges(e)
  local rp = e.requestParameters
  local out = {}
  if world(deep_get(rp, "cidrIp")) then
    out[#out + 1] = { from = deep_get(rp, "fromPort"), to = deep_get(rp, "toPort"),
      proto = deep_get(rp, "ipProtocol") }
  end
  for _, perm in ipairs(util.list(deep_get(rp, "ipPermissions", "items"))) do
    local cidrs = util.list(deep_walk(perm, "ipRanges", "items", "cidrIp"))
    for _, c6 in ipairs(util.list(deep_walk(perm, "ipv6Ranges", "items", "cidrIpv6"))) do
      cidrs[#cidrs + 1] = c6
    end
    for _, c in ipairs(cidrs) do
      if world(c) then
        out[#out + 1] = { from = deep_get(perm, "fromPort"), to = deep_get(perm, "toPort"),
          proto = deep_get(perm, "ipProtocol") }
        break
      end
    end
  end
  return out
end

local function sensitive(r)
  if r.proto == "-1" or r.proto == -1 or r.proto == "all" then return true end
  local from, to = tonumber(r.from), tonumber(r.to)
  if from == nil or to == nil then return true end
  if from == -1 then return true end
  for _, p in ipairs(SENSITIVE_PORTS) do
    if p >= from and p <= to then return true end
  end
  return false
end

local function port_text(r)
  if r.proto == "-1" or r.proto == -1 then return "all traffic" end
  if r.from == r.to then return "port " .. util.text(r.from) end
  return "ports " .. util.text(r.from) .. "-" .. util.text(r.to)
end

function rule(e)
  return aws_cloudtrail_success(e) and #open_ranges(e) > 0
end

function title(e)
  local parts = {}
  for _, r in ipairs(open_ranges(e)) do parts[#parts + 1] = port_text(r) end
  return "Security group [" .. util.text(deep_get(e, "requestParameters", "groupId")) ..
    "] opened to the internet on " .. table.concat(parts, ", ") .. " by [" ..
    util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(deep_get(e, "requestParameters", "groupId"))
end

function severity(e)
  for _, r in ipairs(open_ranges(e)) do
    if sensitive(r) then return "HIGH" end
  end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.groupId = deep_get(e, "requestParameters", "groupId")
  ctx.ipPermissions = deep_get(e, "requestParameters", "ipPermissions")
  return ctx
end

local function ingress(rp, extra)
  local t = { eventSource = "ec2.amazonaws.com", eventName = "AuthorizeSecurityGroupIngress",
    eventTime = "2024-08-01T12:23:55Z", recipientAccountId = "111122223333", requestParameters = rp,
    userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end
local function perms(from, to, cidr, proto)
  return { groupId = "sg-0123456789abcdef0", ipPermissions = { items = { { ipProtocol = proto or "tcp",
    fromPort = from, toPort = to, ipRanges = { items = { { cidrIp = cidr } } }, ipv6Ranges = {} } } } }
end

tests = {
  { name = "SSH from anywhere", expect = true, severity = "HIGH",
    title = "Security group [sg-0123456789abcdef0] opened to the internet on port 22 by [arn:aws:iam::111122223333:user/dev]",
    event = ingress(perms(22, 22, "0.0.0.0/0")) },
  { name = "flat form with an odd /0 base address", expect = true, severity = "HIGH",
    event = ingress({ groupId = "sg-1", cidrIp = "208.236.235.254/0", fromPort = 22, toPort = 22, ipProtocol = "tcp" }) },
  { name = "HTTPS from anywhere is MEDIUM", expect = true, severity = "MEDIUM",
    event = ingress(perms(443, 443, "0.0.0.0/0")) },
  { name = "all traffic over IPv6", expect = true, severity = "HIGH",
    title = "Security group [sg-1] opened to the internet on all traffic by [arn:aws:iam::111122223333:user/dev]",
    event = ingress({ groupId = "sg-1", ipPermissions = { items = { { ipProtocol = "-1",
      ipv6Ranges = { items = { { cidrIpv6 = "::/0" } } } } } } }) },
  { name = "SSH from one address", expect = false, event = ingress(perms(22, 22, "13.37.0.148/32")) },
  { name = "failed call", expect = false,
    event = ingress(perms(22, 22, "0.0.0.0/0"), { errorCode = "InvalidPermission.Duplicate" }) },
}
