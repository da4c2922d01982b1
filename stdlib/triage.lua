-- triage.lua — the pure decisions of the bundled triage story (scripts/s3_triage.lua),
-- kept here so they are unit-tested without the story engine: mapping a CloudTrail
-- identity to an Okta login, the IP and device checks, a recent-MFA-change test and
-- the severity scoring.
--
-- Check results are the strings shown to analysts: "Passed", "Failed" or "Unknown"
-- (the lookup failed or the question does not apply). Unknown never moves the
-- severity: an outage of an enrichment service must not hide or inflate an alert.
-- SPDX-License-Identifier: MIT

local type, tostring, pairs, ipairs = type, tostring, pairs, ipairs
local sort = table.sort
local find, match, lower = string.find, string.match, string.lower
local delivery = require "delivery"
local ipm = require "ip"
local deep_get = require("prelude").deep_get

local M = {}

M.PASSED, M.FAILED, M.UNKNOWN = "Passed", "Failed", "Unknown"

-- {===================== identity =====================

-- The name the CloudTrail identity was acting as: the role session name of an
-- assumed role (for SSO roles the principalId suffix, which is the same), the IAM
-- user name, or the Identity Center user name.
local function aws_name(uid, e)
  local typ = deep_get(uid, "type")
  if typ == "AssumedRole" then
    local arn = deep_get(uid, "arn")
    local session = type(arn) == "string" and match(arn, ":assumed%-role/[^/]+/(.+)$")
    if session then
      return session
    end
    local pid = deep_get(uid, "principalId")
    return type(pid) == "string" and match(pid, ":(.+)$") or nil
  elseif typ == "IAMUser" then
    return deep_get(uid, "userName")
  elseif typ == "IdentityCenterUser" then
    return deep_get(e, "additionalEventData", "UserName")
  end
  return nil
end

-- okta_login(e, cfg): the Okta login of the event's actor, and how it was found
-- ("map", "name" or "name+domain"), or nil, reason. cfg = { users = { [arn or name]
-- = login }, domain = "example.com" }: an explicit entry wins; otherwise a name that
-- holds "@" is taken as the login, and a bare name gets "@" .. domain.
function M.okta_login(e, cfg)
  cfg = cfg or {}
  local uid = deep_get(e, "userIdentity")
  local arn = deep_get(uid, "arn")
  local name = aws_name(uid, e)
  local users = cfg.users
  if type(users) == "table" then
    local hit = (arn and users[arn]) or (name and users[name])
    if hit then
      return tostring(hit), "map"
    end
  end
  if type(name) ~= "string" or name == "" then
    return nil, "no user name in the CloudTrail identity (type " .. tostring(deep_get(uid, "type")) .. ")"
  end
  if find(name, "@", 1, true) then
    return name, "name"
  end
  if type(cfg.domain) == "string" and cfg.domain ~= "" then
    return name .. "@" .. cfg.domain, "name+domain"
  end
  return nil, "'" .. name .. "' is not a login and no domain is configured"
end

-- }====================================================

-- {===================== checks =====================

-- ip_check(source, known): Passed when the source address is one of the known
-- addresses (compared in canonical form, so IPv6 spellings match), Failed when it
-- is not, Unknown when known is nil (lookup failed) or source is not an address
-- (AWS services appear as "s3.amazonaws.com" or "AWS Internal").
function M.ip_check(source, known)
  local canon = ipm.parse(source)
  if not canon or type(known) ~= "table" then
    return M.UNKNOWN
  end
  for _, k in ipairs(known) do
    if ipm.parse(k) == canon then
      return M.PASSED
    end
  end
  return M.FAILED
end

-- Operating systems named in browser and AWS SDK/CLI user agents (lower-cased Lua
-- patterns), mapped to Okta device platforms. Order matters: iPhone and Android
-- user agents also say "Mac OS X" and "Linux".
local PLATFORMS = {
  { "iphone", "IOS" }, { "ipad", "IOS" }, { "%f[%a]ios%f[%A]", "IOS" },
  { "android", "ANDROID" },
  { "%f[%a]cros%f[%A]", "CHROMEOS" },
  { "windows", "WINDOWS" },
  { "macintosh", "MACOS" }, { "mac os x", "MACOS" }, { "darwin", "MACOS" }, { "macos", "MACOS" },
  { "linux", "LINUX" },
}

-- platform(user_agent): the Okta platform name the user agent reveals, or nil.
function M.platform(ua)
  if type(ua) ~= "string" then
    return nil
  end
  local l = lower(ua)
  for _, p in ipairs(PLATFORMS) do
    if find(l, p[1]) then
      return p[2]
    end
  end
  return nil
end

-- device_check(devices, ua): Passed when the user has an ACTIVE Okta device of the
-- platform the user agent shows (any ACTIVE device when the user agent shows none),
-- Failed otherwise, Unknown when devices is nil (lookup failed).
function M.device_check(devices, ua)
  if type(devices) ~= "table" then
    return M.UNKNOWN
  end
  local want = M.platform(ua)
  for _, d in ipairs(devices) do
    if d.status == "ACTIVE" and (want == nil or d.platform == want) then
      return M.PASSED
    end
  end
  return M.FAILED
end

-- recent_factor(factors, now, hours): did an MFA factor appear in the last `hours`
-- (default 24)? nil when factors is nil (lookup failed).
function M.recent_factor(factors, now, hours)
  if type(factors) ~= "table" then
    return nil
  end
  local since = now - (hours or 24) * 3600
  for _, f in ipairs(factors) do
    local t = f.created and time.parse(f.created)
    if t and t >= since then
      return true
    end
  end
  return false
end

-- yes_no(v): "True", "False" or "Unknown" for true, false, nil.
function M.yes_no(v)
  if v == nil then
    return M.UNKNOWN
  end
  return v and "True" or "False"
end

-- }====================================================

-- {===================== scoring =====================

-- Points per check result: negative lowers the severity, positive raises it, a
-- result not listed (Unknown) counts 0.
M.WEIGHTS = {
  ip = { Passed = -1, Failed = 1 },
  device = { Passed = -1, Failed = 1 },
  on_call = { True = -1, False = 1 },
  reputation = { Bad = 2 },
  new_factor = { True = 1 },
}

-- score(base, checks, weights): the final severity, the total points and the
-- reasons ("ip Failed +1", ...) for checks = { ip, device = "Passed"|"Failed"|
-- "Unknown", on_call, new_factor = "True"|"False"|"Unknown", reputation = "Bad"|
-- "Clean"|"Unknown" }. The base level moves by the points and is clamped to
-- LOW..CRITICAL (an INFO base may stay INFO): a passing check lowers priority, it
-- never makes a security alert disappear.
function M.score(base, checks, weights)
  weights = weights or M.WEIGHTS
  local rank = delivery.RANK[delivery.severity(base) or "MEDIUM"]
  local total, reasons = 0, {}
  local names = {}
  for k in pairs(weights) do
    names[#names + 1] = k
  end
  sort(names)
  for _, k in ipairs(names) do
    local result = checks[k]
    local pts = result ~= nil and weights[k][result] or nil
    if pts and pts ~= 0 then
      total = total + pts
      reasons[#reasons + 1] = k .. " " .. tostring(result) .. (pts > 0 and " +" or " ") .. pts
    end
  end
  local low = rank < delivery.RANK.LOW and rank or delivery.RANK.LOW
  local final = rank + total
  if final < low then
    final = low
  elseif final > delivery.RANK.CRITICAL then
    final = delivery.RANK.CRITICAL
  end
  return delivery.SEVERITIES[final], total, reasons
end

-- }====================================================

return M
