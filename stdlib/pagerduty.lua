-- pagerduty.lua — PagerDuty Events API v2 (trigger, acknowledge, resolve), a stable
-- dedup_key for an alert, and "is this person on call?" through the REST API's
-- GET /oncalls. Each call is split into pure build_* and parse_* functions around one
-- thin send.
--
-- Events: the routing key in the body is the credential (no auth header); 202 is
-- success, 400 carries "errors". A trigger or resolve that names a dedup_key is
-- idempotent on PagerDuty's side (repeats collapse into one alert), so those POSTs
-- are retried like GETs; a trigger without dedup_key is sent once.
-- On-call: "Authorization: Token token=<REST key>" and the v2 Accept header; the
-- answer is paged (limit/offset/more), which oncall follows for up to MAX_PAGES.
-- SPDX-License-Identifier: MIT

local type, tostring, tonumber, ipairs, error = type, tostring, tonumber, ipairs, error
local format, lower, sub = string.format, string.lower, string.sub
local concat = table.concat
local delivery = require "delivery"

local M = {}

M.EVENTS_URL = "https://events.pagerduty.com"
M.API_URL = "https://api.pagerduty.com"

-- lp0 severity -> Events API severity.
M.SEVERITY = { CRITICAL = "critical", HIGH = "error", MEDIUM = "warning", LOW = "info", INFO = "info" }
local PD_SEVERITY = { critical = true, error = true, warning = true, info = true }

local SUMMARY_MAX = 1024
local DEDUP_MAX = 255
local PAGE = 100
local MAX_PAGES = 10

-- severity(s): the Events API severity of an lp0 level (or of a PagerDuty one, kept);
-- anything else is "error", so an unknown level still pages someone.
function M.severity(s)
  local lp0 = delivery.severity(s)
  if lp0 then
    return M.SEVERITY[lp0]
  end
  if type(s) == "string" and PD_SEVERITY[lower(s)] then
    return lower(s)
  end
  return "error"
end

-- 64-bit FNV-1a of s as 16 hex digits (integer arithmetic wraps in Lua 5.4).
local function fnv1a64(s)
  local h = -3750763034362895579 -- 0xcbf29ce484222325
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 1099511628211 -- 0x100000001b3
  end
  return format("%016x", h)
end

-- dedup_key(alert): "lp0:<detection>:<dedup>", stable for repeats of the same alert.
-- Keys over 255 bytes keep a prefix and end with "#" and a 64-bit FNV-1a hash of the
-- whole key, so distinct long keys stay distinct.
function M.dedup_key(alert)
  local det = tostring(alert.detection or "unknown")
  local dd = alert.dedup
  if dd == nil or dd == "" then
    dd = alert.title or ""
  end
  local key = "lp0:" .. det .. ":" .. tostring(dd)
  if #key <= DEDUP_MAX then
    return key
  end
  local hash = "#" .. fnv1a64(key)
  local head = sub(key, 1, DEDUP_MAX - #hash)
  -- drop the last multi-byte UTF-8 sequence of the prefix: it may have been split
  head = head:gsub("[\xC0-\xFF][\x80-\xBF]*$", "")
  return head .. hash
end

local function events_url(opts)
  return delivery.base(opts.url or M.EVENTS_URL, "pagerduty") .. "/v2/enqueue"
end

local function routing_key(opts, fname)
  if type(opts) ~= "table" then
    error("pagerduty." .. fname .. ": options table expected", 3)
  end
  if type(opts.routing_key) ~= "string" or opts.routing_key == "" then
    error("pagerduty." .. fname .. ": routing_key required", 3)
  end
  return opts.routing_key
end

-- build_trigger(opts): the request for opts = { routing_key, summary, source,
-- severity, dedup_key, custom_details, links = { {href, text} }, timestamp,
-- component, group, class, client, client_url, url = events base, timeout }.
function M.build_trigger(opts)
  local rk = routing_key(opts, "trigger")
  if type(opts.summary) ~= "string" or opts.summary == "" then
    error("pagerduty.trigger: summary required", 2)
  end
  local body = {
    routing_key = rk,
    event_action = "trigger",
    dedup_key = opts.dedup_key,
    payload = {
      summary = delivery.truncate(opts.summary, SUMMARY_MAX),
      source = tostring(opts.source or "lp0"),
      severity = M.severity(opts.severity),
      timestamp = opts.timestamp,
      component = opts.component,
      group = opts.group,
      class = opts.class,
      custom_details = opts.custom_details,
    },
    client = opts.client or "lp0",
    client_url = opts.client_url,
    links = type(opts.links) == "table" and #opts.links > 0 and opts.links or nil,
  }
  return {
    method = "POST", url = events_url(opts), json = body, timeout = opts.timeout,
    retries = opts.dedup_key and 2 or 0,
  }
end

local function build_followup(opts, action)
  local rk = routing_key(opts, action)
  if type(opts.dedup_key) ~= "string" or opts.dedup_key == "" then
    error("pagerduty." .. action .. ": dedup_key required", 3)
  end
  return {
    method = "POST", url = events_url(opts), timeout = opts.timeout, retries = 2,
    json = { routing_key = rk, event_action = action, dedup_key = opts.dedup_key },
  }
end

-- build_resolve(opts), build_acknowledge(opts): opts = { routing_key, dedup_key, url }.
function M.build_resolve(opts)
  return build_followup(opts, "resolve")
end

function M.build_acknowledge(opts)
  return build_followup(opts, "acknowledge")
end

-- parse_event(resp): { dedup_key, status, message } on 202, else nil, err.
function M.parse_event(resp)
  local v = delivery.decode(resp)
  if resp.status == 202 or resp.status == 200 then
    v = v or {}
    return { dedup_key = v.dedup_key, status = v.status or "success", message = v.message }
  end
  local msg
  if v then
    msg = tostring(v.message or v.status or "")
    if type(v.errors) == "table" and #v.errors > 0 then
      local errs = {}
      for i, e in ipairs(v.errors) do
        errs[i] = tostring(e)
      end
      msg = msg .. ": " .. concat(errs, "; ")
    end
  else
    msg = delivery.snippet(resp.body)
  end
  if resp.status == 429 and msg == "" then
    msg = "rate limited"
  end
  return nil, "pagerduty " .. resp.status .. (msg ~= "" and ": " .. msg or "")
end

local function send_event(req)
  local resp, err = delivery.send("pagerduty", req)
  if not resp then
    return nil, err
  end
  return M.parse_event(resp)
end

-- trigger(opts), resolve(opts), acknowledge(opts): build, send, parse_event.
function M.trigger(opts)
  return send_event(M.build_trigger(opts))
end

function M.resolve(opts)
  return send_event(M.build_resolve(opts))
end

function M.acknowledge(opts)
  return send_event(M.build_acknowledge(opts))
end

-- build_oncalls(opts, offset): the GET /oncalls request for opts = { url = REST base,
-- token, schedule_id | escalation_policy_id }, users included, one entry per user.
function M.build_oncalls(opts, offset)
  if type(opts) ~= "table" or type(opts.token) ~= "string" then
    error("pagerduty.oncall: token required", 3)
  end
  local query = { ["include[]"] = "users", earliest = "true", limit = tostring(PAGE),
    offset = tostring(offset or 0), time_zone = "UTC" }
  if opts.schedule_id then
    query["schedule_ids[]"] = tostring(opts.schedule_id)
  end
  if opts.escalation_policy_id then
    query["escalation_policy_ids[]"] = tostring(opts.escalation_policy_id)
  end
  if not opts.schedule_id and not opts.escalation_policy_id then
    error("pagerduty.oncall: schedule_id or escalation_policy_id required", 3)
  end
  return {
    method = "GET",
    url = delivery.base(opts.url or M.API_URL, "pagerduty.oncall") .. "/oncalls",
    headers = {
      Authorization = "Token token=" .. opts.token,
      Accept = "application/vnd.pagerduty+json;version=2",
    },
    query = query,
    timeout = opts.timeout,
  }
end

-- parse_oncalls(resp): { oncalls = {...}, more = bool } on 200, else nil, err (from
-- the REST error body {"error": {"message", "code"}}).
function M.parse_oncalls(resp)
  local v = delivery.decode(resp)
  if resp.status == 200 and v and type(v.oncalls) == "table" then
    return { oncalls = v.oncalls, more = v.more == true }
  end
  local msg
  if v and type(v.error) == "table" then
    msg = tostring(v.error.message or "")
    if v.error.code then
      msg = msg .. " (code " .. tostring(v.error.code) .. ")"
    end
  elseif resp.status == 200 then
    msg = "no oncalls in the answer"
  else
    msg = delivery.snippet(resp.body)
  end
  return nil, "pagerduty " .. resp.status .. (msg ~= "" and ": " .. msg or "")
end

-- is_oncall(oncalls, who, max_level): is the user with e-mail (or id) `who` in the
-- list, at escalation level max_level or lower (any level when max_level is nil)?
-- E-mails are compared case-insensitively.
function M.is_oncall(oncalls, who, max_level)
  local w = lower(tostring(who))
  for _, o in ipairs(oncalls) do
    local u = type(o.user) == "table" and o.user or {}
    local level = tonumber(o.escalation_level)
    local hit = (u.email and lower(tostring(u.email)) == w) or (u.id and tostring(u.id) == who)
    if hit and (max_level == nil or (level and level <= max_level)) then
      return true
    end
  end
  return false
end

-- oncall(opts): opts = { url, token, schedule_id | escalation_policy_id, email (or
-- user_id), max_level }. true or false, or nil, err when PagerDuty cannot answer.
function M.oncall(opts)
  if type(opts) ~= "table" or (opts.email == nil and opts.user_id == nil) then
    error("pagerduty.oncall: email or user_id required", 2)
  end
  local who = opts.email or opts.user_id
  local offset = 0
  for _ = 1, MAX_PAGES do
    local resp, err = delivery.send("pagerduty", M.build_oncalls(opts, offset))
    if not resp then
      return nil, err
    end
    local page
    page, err = M.parse_oncalls(resp)
    if not page then
      return nil, err
    end
    if M.is_oncall(page.oncalls, who, opts.max_level) then
      return true
    end
    if not page.more or #page.oncalls == 0 then
      return false
    end
    offset = offset + #page.oncalls
  end
  return false
end

return M
