-- Many failed logins for one user (multi-log-type "Standard" rule).
-- Conformance port of Panther's Standard.BruteForceByUser, written from the English spec.
-- Upstream is driven by per-log-type data models; lp0 implements the two log types it
-- has models for (Okta.SystemLog, AWS.CloudTrail). Events of the other listed log types
-- never match. The prefilter is per log type: CloudTrail events reach the rule only
-- when they are console logins (Okta has no exact-match field to filter on).

id = "Standard.BruteForceByUser"
log_types = {
  "Asana.Audit", "Atlassian.Audit", "AWS.CloudTrail", "Box.Event", "GSuite.ActivityEvent",
  "Okta.SystemLog", "OneLogin.Events", "OnePassword.SignInAttempt",
}
default_severity = "INFO"
display_name = "Brute Force By User"
enabled = true
dedup_minutes = 60
threshold = 20
reports = { ["MITRE ATT&CK"] = { "TA0006:T1110" } }
tags = { "DataModel", "Credential Access:Brute Force" }
match = { ["AWS.CloudTrail"] = { eventName = "ConsoleLogin" } }

local function py(v)
  if v == nil then return "None" end
  return tostring(v)
end

-- Per-log-type data model: failed_login(e), actor_user(e), source_ip(e) and the dotted
-- path of source_ip (what the geolocation lookup is keyed on), suffix(e) for the title.
local MODELS = {
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

-- The event's log type: Panther's p_log_type when present, else a guess from its shape.
local function log_type(e)
  local lt = deep_get(e, "p_log_type")
  if lt ~= nil then return lt end
  if deep_get(e, "eventSource") ~= nil and deep_get(e, "eventName") ~= nil then
    return "AWS.CloudTrail"
  end
  if deep_get(e, "eventType") ~= nil then return "Okta.SystemLog" end
  return nil
end

-- IP geolocation helper. lp0 has no IPinfo enrichment, so the lookup finds nothing;
-- tests mock it with the JSON text upstream uses. Returns a table, JSON text or nil.
function geoinfo_from_ip(_, _)
  return nil
end

local function geoinfo(e, model)
  local info = geoinfo_from_ip(e, model.ip_path)
  if type(info) == "string" then info = json.decode(info) end
  if type(info) ~= "table" then info = {} end
  return info
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

-- "1 minute(s) 2 second(s)": p_parse_time - p_event_time, zero units left out.
local function parse_delay(e)
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

function rule(e)
  local model = MODELS[log_type(e)]
  return model ~= nil and model.failed_login(e)
end

function title(e)
  local lt = log_type(e)
  local model = MODELS[lt]
  return string.format("%s: User [%s] has exceeded the failed logins threshold%s",
    py(lt), py(model.actor_user(e)), model.suffix(e))
end

function alert_context(e)
  local info = geoinfo(e, MODELS[log_type(e)])
  local ctx = {
    geolocation = string.format("%s, %s in %s", py(info.city), py(info.region), py(info.country)),
    ip = info.ip,
    reverse_lookup = info.hostname or "No reverse lookup hostname",
    ip_org = info.org or "No organization listed",
  }
  ctx.parseDelay = parse_delay(e)
  return ctx
end

tests = {
  {
    name = "CloudTrail - failed console login (lp0 model)",
    log_type = "AWS.CloudTrail",
    expect = true,
    event = {
      eventVersion = "1.05", eventTime = "2019-01-01T00:00:00Z",
      userIdentity = { type = "IAMUser", principalId = "1111", accountId = "123456789012",
        arn = "arn:aws:iam::123456789012:user/tester", userName = "tester" },
      eventSource = "signin.amazonaws.com", eventName = "ConsoleLogin", awsRegion = "us-east-1",
      sourceIPAddress = "111.111.111.111", userAgent = "Mozilla",
      responseElements = { ConsoleLogin = "Failure" }, eventType = "AwsConsoleSignIn",
      recipientAccountId = "123456789012", p_log_type = "AWS.CloudTrail",
    },
    title = "AWS.CloudTrail: User [tester] has exceeded the failed logins threshold in [123456789012]",
    context = { geolocation = "None, None in None", reverse_lookup = "No reverse lookup hostname",
      ip_org = "No organization listed" },
  },
  {
    name = "CloudTrail - successful console login",
    log_type = "AWS.CloudTrail",
    expect = false,
    event = { eventSource = "signin.amazonaws.com", eventName = "ConsoleLogin",
      responseElements = { ConsoleLogin = "Success" }, sourceIPAddress = "111.111.111.111",
      p_log_type = "AWS.CloudTrail" },
  },
  {
    name = "Okta - failed login without p_log_type, no enrichment",
    log_type = "Okta.SystemLog",
    expect = true,
    event = { eventType = "user.session.start", actor = { alternateId = "admin" },
      client = { ipAddress = "198.51.100.7" }, outcome = { result = "FAILURE" } },
    title = "Okta.SystemLog: User [admin] has exceeded the failed logins threshold",
    context = { geolocation = "None, None in None", reverse_lookup = "No reverse lookup hostname",
      ip_org = "No organization listed" },
  },
  {
    name = "Unsupported log type never matches",
    log_type = "Box.Event",
    expect = false,
    event = { event_type = "FAILED_LOGIN", p_log_type = "Box.Event" },
  },
}
