-- Security group ingress opened to the whole internet (0.0.0.0/0 or ::/0). HIGH when an
-- administration port (SSH, RDP) is in the range.

id = "Bench.AWS.EC2.SecurityGroupOpenToWorld"
display_name = "Security group open to the internet"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "5.2", "5.3" }, ["MITRE ATT&CK"] = { "TA0005:T1562.007" } }
tags = { "AWS", "EC2", "Defense Evasion" }

match = { eventSource = "ec2.amazonaws.com", eventName = "AuthorizeSecurityGroupIngress" }

local util = require "bench_util"
local WORLD = { ["0.0.0.0/0"] = true, ["::/0"] = true }
local ADMIN_PORTS = { 22, 3389 }

local function world_ranges(perm)
  for _, c in ipairs(util.as_list(deep_walk(perm, "ipRanges", "items", "cidrIp"))) do
    if WORLD[c] then return true end
  end
  for _, c in ipairs(util.as_list(deep_walk(perm, "ipv6Ranges", "items", "cidrIpv6"))) do
    if WORLD[c] then return true end
  end
  return false
end

-- The permissions open to the world: the items of ipPermissions, or the flat legacy form.
local function open_permissions(e)
  local rp = e.requestParameters
  if rp == nil then return {} end
  local out = {}
  if WORLD[rp.cidrIp] then out[1] = { fromPort = rp.fromPort, toPort = rp.toPort } end
  for _, perm in ipairs(deep_get(rp, "ipPermissions", "items") or {}) do
    if world_ranges(perm) then
      out[#out + 1] = { fromPort = perm.fromPort, toPort = perm.toPort, proto = perm.ipProtocol }
    end
  end
  return out
end

function rule(e)
  return aws_cloudtrail_success(e) and #open_permissions(e) > 0
end

function title(e)
  return "Security group [" .. (deep_get(e, "requestParameters", "groupId") or "?")
    .. "] opened to the internet by [" .. util.actor(e) .. "]"
end

function severity(e)
  for _, p in ipairs(open_permissions(e)) do
    if p.proto == "-1" then return "HIGH" end
    for _, port in ipairs(ADMIN_PORTS) do
      if type(p.fromPort) == "number" and type(p.toPort) == "number"
          and p.fromPort <= port and port <= p.toPort then
        return "HIGH"
      end
    end
  end
  return "DEFAULT"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.open = open_permissions(e)
  return ctx
end

local function ingress(perms, extra)
  local rp = { groupId = "sg-0c0ffee0c0ffee001", ipPermissions = { items = perms } }
  for k, v in pairs(extra or {}) do rp[k] = v end
  return { eventVersion = "1.09", eventSource = "ec2.amazonaws.com",
           eventName = "AuthorizeSecurityGroupIngress",
           userIdentity = { type = "IAMUser", userName = "ines.garcia" }, requestParameters = rp }
end

tests = {
  { name = "SSH to the world", expect = true, severity = "HIGH",
    title = "Security group [sg-0c0ffee0c0ffee001] opened to the internet by [ines.garcia]",
    event = ingress({ { ipProtocol = "tcp", fromPort = 22, toPort = 22,
                        ipRanges = { items = { { cidrIp = "0.0.0.0/0" } } } } }) },
  { name = "HTTPS over IPv6", expect = true, severity = "MEDIUM",
    event = ingress({ { ipProtocol = "tcp", fromPort = 443, toPort = 443,
                        ipv6Ranges = { items = { { cidrIpv6 = "::/0" } } } } }) },
  { name = "legacy flat form", expect = true, severity = "HIGH",
    event = ingress({}, { cidrIp = "0.0.0.0/0", fromPort = 3389, toPort = 3389 }) },
  { name = "VPC-internal rule", expect = false,
    event = ingress({ { ipProtocol = "tcp", fromPort = 5432, toPort = 5432,
                        ipRanges = { items = { { cidrIp = "10.0.0.0/16" } } } } }) },
}
