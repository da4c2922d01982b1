-- standard_models.lua — the per-log-type data models of the multi-log-type "Standard"
-- login rules (Standard.BruteForceByIP, Standard.BruteForceByUser), plus the helpers
-- their alert context needs: the event's log type, the IP geolocation context and the
-- parse delay. lp0 has models for two log types only (Okta.SystemLog, AWS.CloudTrail);
-- events of any other log type have no model and never match.
-- The geolocation lookup is NOT called from here: each detection keeps its own global
-- `geoinfo_from_ip` (tests mock it) and passes it to geo_context at call time.
-- SPDX-License-Identifier: MIT

local M = {}

-- py(v): a value as Python's str() prints it in upstream titles ("None" for nil).
function M.py(v)
  if v == nil then return "None" end
  return tostring(v)
end

local py = M.py

-- Per-log-type data model: failed_login(e), actor_user(e), source_ip(e) and the dotted
-- path of source_ip (what the geolocation lookup is keyed on), suffix(e) for the title.
M.MODELS = {
  ["Okta.SystemLog"] = {
    failed_login = function(e) return okta.event_type(e) == "failed_login" end,
    actor_user = function(e) return okta.actor_user(e) end,
    ip_path = "client.ipAddress",
    source_ip = function(e) return deep_get(e, "client", "ipAddress") end,
    suffix = function() return "" end,
  },
  ["AWS.CloudTrail"] = {
    failed_login = function(e)
      return deep_get(e, "eventName") == "ConsoleLogin"
        and deep_get(e, "responseElements", "ConsoleLogin") == "Failure"
    end,
    actor_user = function(e) return aws.actor_user(e) end,
    ip_path = "sourceIPAddress",
    source_ip = function(e) return deep_get(e, "sourceIPAddress") end,
    suffix = function(e) return " in [" .. py(deep_get(e, "recipientAccountId")) .. "]" end,
  },
}

-- log_type(e): Panther's p_log_type when present, else a guess from the event's shape.
function M.log_type(e)
  local lt = deep_get(e, "p_log_type")
  if lt ~= nil then return lt end
  if deep_get(e, "eventSource") ~= nil and deep_get(e, "eventName") ~= nil then
    return "AWS.CloudTrail"
  end
  if deep_get(e, "eventType") ~= nil then return "Okta.SystemLog" end
  return nil
end

-- model(e): the data model of the event's log type, or nil.
function M.model(e)
  return M.MODELS[M.log_type(e)]
end

-- failed_login(e): the event has a model and the model calls it a failed login.
function M.failed_login(e)
  local model = M.model(e)
  return model ~= nil and model.failed_login(e)
end

-- Wall-clock seconds of a Panther timestamp ("2021-06-04 10:02:33.650807").
local function epoch(s)
  if type(s) ~= "string" then return nil end
  local t = time.parse(s)
  if t ~= nil then return t end
  local y, mo, d, h, mi, sec, frac = s:match("^(%d+)-(%d+)-(%d+)[ T](%d+):(%d+):(%d+)%.?(%d*)")
  if y == nil then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  -- days from 1970-01-01 in the proleptic Gregorian calendar
  if mo <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (mo > 2 and mo - 3 or mo + 9) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  local f = frac ~= "" and tonumber("0." .. frac) or 0
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec) + f
end

-- parse_delay(e): "1 minute(s) 2 second(s)": p_parse_time - p_event_time, zero units
-- left out; nil when either time is missing or the event was parsed before it happened.
function M.parse_delay(e)
  local parsed, happened = epoch(deep_get(e, "p_parse_time")), epoch(deep_get(e, "p_event_time"))
  if parsed == nil or happened == nil or parsed < happened then return nil end
  local s = math.floor(parsed - happened + 0.5)
  local parts = {}
  for _, unit in ipairs({ { 86400, "day(s)" }, { 3600, "hour(s)" }, { 60, "minute(s)" }, { 1, "second(s)" } }) do
    local n = s // unit[1]
    s = s - n * unit[1]
    if n > 0 then parts[#parts + 1] = string.format("%d %s", n, unit[2]) end
  end
  if #parts == 0 then return "0 second(s)" end
  return table.concat(parts, " ")
end

-- geo_context(e, lookup): the alert context of the Standard login rules. lookup is the
-- detection's geoinfo_from_ip(e, path), called with the dotted path of the model's
-- source IP; it returns a table, JSON text or nil (nothing known).
function M.geo_context(e, lookup)
  local info = lookup(e, M.model(e).ip_path)
  if type(info) == "string" then info = json.decode(info) end
  if type(info) ~= "table" then info = {} end
  local ctx = {
    geolocation = string.format("%s, %s in %s", py(info.city), py(info.region), py(info.country)),
    ip = info.ip,
    reverse_lookup = info.hostname or "No reverse lookup hostname",
    ip_org = info.org or "No organization listed",
  }
  ctx.parseDelay = M.parse_delay(e)
  return ctx
end

return M
