-- delivery.lua — what the delivery and enrichment modules (mattermost, slack, jira,
-- pagerduty, webhook, enrich) share: the call into the story runtime's `http`,
-- severity names and ranks, UTF-8-safe truncation, URL escaping, error snippets of
-- response bodies and a readable JSON printer.
--
-- `http` exists only in story states, so it is looked up when a request is sent,
-- never when this file loads: the same stdlib is loaded in detection states, where
-- building a request or parsing a response still works (and is what the specs test).
-- Nothing here raises on bad data; only misuse (calling send outside a story) does.
-- SPDX-License-Identifier: MIT

local type, tostring, tonumber, pairs, ipairs, next, error, pcall =
  type, tostring, tonumber, pairs, ipairs, next, error, pcall
local byte, sub, format, gsub = string.byte, string.sub, string.format, string.gsub
local concat, sort = table.concat, table.sort

local M = {}

-- The lp0 severity levels, lowest first, and their ranks (1..5).
M.SEVERITIES = { "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL" }
M.RANK = { INFO = 1, LOW = 2, MEDIUM = 3, HIGH = 4, CRITICAL = 5 }

-- severity(s): the upper-case lp0 level of s, or nil when s is not one.
function M.severity(s)
  if type(s) ~= "string" then
    return nil
  end
  local u = s:upper()
  return M.RANK[u] and u or nil
end

-- send(who, req): http.request(req) from the story runtime. A transport failure
-- comes back as nil, "<who>: <err>"; any HTTP status is a response.
function M.send(who, req)
  local h = http -- a global of story states only, looked up at call time
  if type(h) ~= "table" or type(h.request) ~= "function" then
    error(who .. ": http is only available in stories", 3)
  end
  local resp, err = h.request(req)
  if resp == nil then
    return nil, who .. ": " .. tostring(err)
  end
  return resp
end

-- truncate(s, max): s cut to at most max bytes without splitting a UTF-8 sequence;
-- a cut string ends with "…" (counted in max).
function M.truncate(s, max)
  if #s <= max then
    return s
  end
  local ell = "\u{2026}"
  local n = max - #ell
  if n <= 0 then
    return sub(ell, 1, max > 0 and max or 0)
  end
  -- back off continuation bytes (10xxxxxx) so the lead byte of a sequence is dropped too
  while n > 0 do
    local b = byte(s, n + 1)
    if b == nil or b < 0x80 or b >= 0xC0 then
      break
    end
    n = n - 1
  end
  return sub(s, 1, n) .. ell
end

-- snippet(body): a body reduced to one line of at most 200 bytes, for error messages
-- (an HTML error page from a proxy should not fill the log).
function M.snippet(body)
  if type(body) ~= "string" or body == "" then
    return ""
  end
  local s = gsub(gsub(body, "%s+", " "), "^ ", "")
  return M.truncate(s, 200)
end

-- base(url, who): url without trailing slashes; raises unless it is an http(s) URL.
function M.base(url, who)
  if type(url) ~= "string" or not url:find("^[Hh][Tt][Tt][Pp][Ss]?://[^/]") then
    error(who .. ": url must be an http(s) URL, got " .. tostring(url), 3)
  end
  return (gsub(url, "/+$", ""))
end

-- escape_segment(s): s percent-encoded for use as one URL path segment (RFC 3986
-- unreserved characters are kept).
function M.escape_segment(s)
  return (gsub(tostring(s), "[^%w%-%._~]", function(c)
    return format("%%%02X", byte(c))
  end))
end

-- decode(resp): resp.json() when the body is JSON, else nil.
function M.decode(resp)
  if type(resp) ~= "table" or type(resp.json) ~= "function" then
    return nil
  end
  local ok, v = pcall(resp.json)
  if ok and type(v) == "table" then
    return v
  end
  return nil
end

-- Readable JSON: keys sorted, two-space indent. Scalars go through json.encode so
-- string escaping is the engine's. An empty table prints as json.encode prints it,
-- which keeps json.array marks ("[]" versus "{}").
local function is_array(t)
  local n = #t
  if n == 0 then
    return false
  end
  local count = 0
  for _ in pairs(t) do
    count = count + 1
  end
  return count == n
end

local function pretty(v, indent, out)
  if type(v) ~= "table" then
    out[#out + 1] = json.encode(v)
    return
  end
  if next(v) == nil then
    out[#out + 1] = json.encode(v)
    return
  end
  local inner = indent .. "  "
  if is_array(v) then
    out[#out + 1] = "[\n"
    for i, x in ipairs(v) do
      out[#out + 1] = inner
      pretty(x, inner, out)
      out[#out + 1] = i < #v and ",\n" or "\n"
    end
    out[#out + 1] = indent .. "]"
    return
  end
  local keys = {}
  for k in pairs(v) do
    keys[#keys + 1] = tostring(k)
  end
  sort(keys)
  out[#out + 1] = "{\n"
  for i, k in ipairs(keys) do
    local x = v[k]
    if x == nil then -- a non-string key: look it up by its number
      x = v[tonumber(k)]
    end
    out[#out + 1] = inner .. json.encode(k) .. ": "
    pretty(x, inner, out)
    out[#out + 1] = i < #keys and ",\n" or "\n"
  end
  out[#out + 1] = indent .. "}"
end

-- pretty_json(v): v as indented JSON text with sorted keys.
function M.pretty_json(v)
  local out = {}
  pretty(v, "", out)
  return concat(out)
end

return M
