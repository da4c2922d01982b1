-- enrich.lua — context lookups for response stories: the Okta user, their devices,
-- MFA factors and recent sign-in IPs (Okta Management and System Log APIs), and an
-- IP reputation check (AbuseIPDB /api/v2/check), each normalised into small plain
-- tables. Requests and answers are pure build_* and parse_* functions around one
-- thin send.
--
-- Every lookup is a GET, which the runtime retries, and returns nil, err on any
-- failure (transport, HTTP or an unexpected body) so a story can report "Unknown"
-- and carry on. Okta answers are not followed past the first page (Link headers):
-- the limits asked for (200 log events, all devices/factors of one user) fit in one.
-- SPDX-License-Identifier: MIT

local type, tostring, tonumber, ipairs, error = type, tostring, tonumber, ipairs, error
local gsub = string.gsub
local delivery = require "delivery"

local M = {}

M.ABUSEIPDB_URL = "https://api.abuseipdb.com"
M.ABUSE_THRESHOLD = 50 -- abuseConfidenceScore at or above which an IP is known bad

-- {===================== Okta =====================

local function okta_request(opts, path, query)
  if type(opts) ~= "table" or type(opts.token) ~= "string" then
    error("enrich.okta: token required", 3)
  end
  local scheme = opts.auth_scheme or "SSWS" -- "Bearer" for an OAuth access token
  return {
    method = "GET",
    url = delivery.base(opts.url, "enrich.okta") .. path,
    headers = { Authorization = scheme .. " " .. opts.token, Accept = "application/json" },
    query = query,
    timeout = opts.timeout,
  }
end

-- okta_error(resp): "okta <status>: <errorSummary> (<errorCode>)".
function M.okta_error(resp)
  local v = delivery.decode(resp)
  local msg
  if v and v.errorSummary then
    msg = tostring(v.errorSummary) .. (v.errorCode and " (" .. tostring(v.errorCode) .. ")" or "")
  else
    msg = delivery.snippet(resp.body)
  end
  return "okta " .. resp.status .. (msg ~= "" and ": " .. msg or "")
end

local function okta_list(resp)
  if resp.status ~= 200 then
    return nil, M.okta_error(resp)
  end
  local v = delivery.decode(resp)
  if type(v) ~= "table" then
    return nil, "okta 200: not a JSON array"
  end
  return v
end

-- build_okta_user(opts): GET /api/v1/users/{opts.login} (a login or an id).
function M.build_okta_user(opts)
  if type(opts) ~= "table" or type(opts.login) ~= "string" or opts.login == "" then
    error("enrich.okta_user: login required", 2)
  end
  return okta_request(opts, "/api/v1/users/" .. delivery.escape_segment(opts.login))
end

-- parse_okta_user(resp): { id, status, login, email, last_login } or nil, err.
function M.parse_okta_user(resp)
  if resp.status ~= 200 then
    return nil, M.okta_error(resp)
  end
  local v = delivery.decode(resp)
  if not v or v.id == nil then
    return nil, "okta 200: no user id in the answer"
  end
  local p = type(v.profile) == "table" and v.profile or {}
  return { id = tostring(v.id), status = v.status, login = p.login, email = p.email, last_login = v.lastLogin }
end

-- build_okta_devices(opts): GET /api/v1/users/{opts.user_id}/devices.
function M.build_okta_devices(opts)
  return okta_request(opts, "/api/v1/users/" .. delivery.escape_segment(opts.user_id) .. "/devices")
end

-- parse_okta_devices(resp): array of { id, status, platform, name, serial, registered } or nil, err.
function M.parse_okta_devices(resp)
  local list, err = okta_list(resp)
  if not list then
    return nil, err
  end
  local out = {}
  for _, entry in ipairs(list) do
    local d = type(entry.device) == "table" and entry.device or entry
    local p = type(d.profile) == "table" and d.profile or {}
    out[#out + 1] = {
      id = d.id, status = d.status, platform = p.platform, name = p.displayName,
      serial = p.serialNumber, registered = p.registered,
    }
  end
  return out
end

-- build_okta_factors(opts): GET /api/v1/users/{opts.user_id}/factors.
function M.build_okta_factors(opts)
  return okta_request(opts, "/api/v1/users/" .. delivery.escape_segment(opts.user_id) .. "/factors")
end

-- parse_okta_factors(resp): array of { id, type, provider, status, created } or nil, err.
function M.parse_okta_factors(resp)
  local list, err = okta_list(resp)
  if not list then
    return nil, err
  end
  local out = {}
  for _, f in ipairs(list) do
    out[#out + 1] = { id = f.id, type = f.factorType, provider = f.provider, status = f.status, created = f.created }
  end
  return out
end

-- build_okta_ips(opts, now): the System Log query for the successful sign-ins of
-- opts.login over the last opts.days (default 30) days, newest first.
function M.build_okta_ips(opts, now)
  if type(opts) ~= "table" or type(opts.login) ~= "string" or opts.login == "" then
    error("enrich.okta_recent_ips: login required", 2)
  end
  local days = tonumber(opts.days) or 30
  local login = gsub(gsub(opts.login, "\\", "\\\\"), '"', '\\"')
  return okta_request(opts, "/api/v1/logs", {
    filter = 'eventType eq "user.session.start" and outcome.result eq "SUCCESS" and actor.alternateId eq "'
      .. login .. '"',
    since = time.format(now - days * 86400),
    sortOrder = "DESCENDING",
    limit = "200",
  })
end

-- parse_okta_ips(resp): the distinct client IPs of the log events, newest first.
function M.parse_okta_ips(resp)
  local list, err = okta_list(resp)
  if not list then
    return nil, err
  end
  local out, seen = {}, {}
  for _, e in ipairs(list) do
    local a = type(e.client) == "table" and e.client.ipAddress
    if type(a) == "string" and not seen[a] then
      seen[a] = true
      out[#out + 1] = a
    end
  end
  return out
end

local function okta_get(req, parse)
  local resp, err = delivery.send("okta", req)
  if not resp then
    return nil, err
  end
  return parse(resp)
end

-- okta_user(opts), okta_devices(opts), okta_factors(opts), okta_recent_ips(opts):
-- opts = { url = "https://<org>.okta.com", token, auth_scheme, login | user_id, days }.
function M.okta_user(opts)
  return okta_get(M.build_okta_user(opts), M.parse_okta_user)
end

function M.okta_devices(opts)
  return okta_get(M.build_okta_devices(opts), M.parse_okta_devices)
end

function M.okta_factors(opts)
  return okta_get(M.build_okta_factors(opts), M.parse_okta_factors)
end

function M.okta_recent_ips(opts)
  return okta_get(M.build_okta_ips(opts, time.now()), M.parse_okta_ips)
end

-- }================================================

-- {===================== AbuseIPDB =====================

-- build_abuseipdb(opts): GET /api/v2/check for opts = { url, key, ip, max_age_days }.
function M.build_abuseipdb(opts)
  if type(opts) ~= "table" or type(opts.key) ~= "string" or type(opts.ip) ~= "string" then
    error("enrich.abuseipdb: key and ip required", 2)
  end
  return {
    method = "GET",
    url = delivery.base(opts.url or M.ABUSEIPDB_URL, "enrich.abuseipdb") .. "/api/v2/check",
    headers = { Key = opts.key, Accept = "application/json" },
    query = { ipAddress = opts.ip, maxAgeInDays = tostring(opts.max_age_days or 90) },
    timeout = opts.timeout,
  }
end

-- parse_abuseipdb(resp, threshold): { ip, abuse_score, is_known_bad, country, isp,
-- domain, usage_type, total_reports, last_reported_at, is_tor, is_whitelisted }
-- or nil, "abuseipdb <status>: <detail>".
function M.parse_abuseipdb(resp, threshold)
  local v = delivery.decode(resp)
  if resp.status == 200 and v and type(v.data) == "table" then
    local d = v.data
    local score = tonumber(d.abuseConfidenceScore) or 0
    return {
      ip = d.ipAddress,
      abuse_score = score,
      is_known_bad = score >= (threshold or M.ABUSE_THRESHOLD) and d.isWhitelisted ~= true,
      country = d.countryCode,
      isp = d.isp,
      domain = d.domain,
      usage_type = d.usageType,
      total_reports = tonumber(d.totalReports) or 0,
      last_reported_at = d.lastReportedAt,
      is_tor = d.isTor == true,
      is_whitelisted = d.isWhitelisted == true,
    }
  end
  local msg
  if v and type(v.errors) == "table" and type(v.errors[1]) == "table" then
    msg = tostring(v.errors[1].detail or "")
  else
    msg = resp.status == 200 and "no data in the answer" or delivery.snippet(resp.body)
  end
  return nil, "abuseipdb " .. resp.status .. (msg ~= "" and ": " .. msg or "")
end

-- abuseipdb(opts): opts = { url, key, ip, max_age_days, threshold }.
function M.abuseipdb(opts)
  local resp, err = delivery.send("abuseipdb", M.build_abuseipdb(opts))
  if not resp then
    return nil, err
  end
  return M.parse_abuseipdb(resp, opts.threshold)
end

-- }====================================================

return M
