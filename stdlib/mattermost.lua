-- mattermost.lua — posting to a Mattermost incoming webhook: build_post (the request),
-- parse_response (Mattermost's answer), post (both, through the story's http), and
-- alert_message, the standard alert card (one attachment: colour per severity,
-- title, text and short/long fields).
--
-- The webhook URL holds the hook id, which is the whole credential: take it from
-- secret(), not from settings. Mattermost answers 200 "ok"; its errors are JSON
-- AppErrors {id, message, ...}, reported as "mattermost <status>: <message> (<id>)".
-- A post is not idempotent, so it is never retried here: wrap it in step().
-- SPDX-License-Identifier: MIT

local type, tostring, ipairs, error = type, tostring, ipairs, error
local find = string.find
local delivery = require "delivery"

local M = {}

-- Attachment colour per lp0 severity.
M.COLORS = {
  CRITICAL = "#B71C1C",
  HIGH = "#E65100",
  MEDIUM = "#F9A825",
  LOW = "#1E88E5",
  INFO = "#9E9E9E",
}

-- A field stays "short" (two per row) when its value is at most this long and one line.
local SHORT_MAX = 40
-- Mattermost splits text longer than 16383 characters into several posts; keep one.
local TEXT_MAX = 16000

local PASSED = { "channel", "username", "icon_url", "icon_emoji", "props", "type" }

-- build_post(opts): the http.request table for opts = { url, text, channel,
-- username, icon_url, icon_emoji, attachments, props, timeout }. Raises when url is
-- not an http(s) URL or when there is neither text nor attachments.
function M.build_post(opts)
  if type(opts) ~= "table" then
    error("mattermost.post: options table expected", 2)
  end
  local url = delivery.base(opts.url, "mattermost.post")
  local has_att = type(opts.attachments) == "table" and #opts.attachments > 0
  if (type(opts.text) ~= "string" or opts.text == "") and not has_att then
    error("mattermost.post: text or attachments required", 2)
  end
  local body = {}
  if type(opts.text) == "string" and opts.text ~= "" then
    body.text = delivery.truncate(opts.text, TEXT_MAX)
  end
  if has_att then
    body.attachments = opts.attachments
  end
  for _, k in ipairs(PASSED) do
    if opts[k] ~= nil then
      body[k] = opts[k]
    end
  end
  return { method = "POST", url = url, json = body, timeout = opts.timeout, retries = 0 }
end

-- parse_response(resp): { ok = true } for a 2xx, else nil, "mattermost <status>: ...".
function M.parse_response(resp)
  local status = resp.status
  if status >= 200 and status < 300 then
    return { ok = true }
  end
  local e = delivery.decode(resp)
  if e and type(e.message) == "string" then
    local msg = e.message
    if type(e.detailed_error) == "string" and e.detailed_error ~= "" then
      msg = msg .. ": " .. e.detailed_error
    end
    if type(e.id) == "string" and e.id ~= "" then
      msg = msg .. " (" .. e.id .. ")"
    end
    return nil, "mattermost " .. status .. ": " .. msg
  end
  local text = delivery.snippet(resp.body)
  return nil, "mattermost " .. status .. (text ~= "" and ": " .. text or "")
end

-- post(opts): send build_post(opts). { ok = true } or nil, err (HTTP or transport).
function M.post(opts)
  local req = M.build_post(opts)
  local resp, err = delivery.send("mattermost", req)
  if not resp then
    return nil, err
  end
  return M.parse_response(resp)
end

-- field(f): a Mattermost attachment field from { title, value, short } or
-- { "Title", value }; values become strings, "short" defaults by length.
local function field(f)
  local title = f.title or f[1]
  local value = f.value
  if value == nil then
    value = f[2]
  end
  value = value == nil and "" or tostring(value)
  local short = f.short
  if short == nil then
    short = #value <= SHORT_MAX and not find(value, "\n", 1, true)
  end
  return { title = tostring(title or ""), value = value, short = short }
end

-- alert_message(opts): the post body (without url) for an alert card, from opts =
-- { title, text, severity, fields = { {title, value, short}... }, title_link,
-- pretext, footer, fallback }. Unknown severities get the INFO colour. Merge the
-- result with url (and channel...) before post().
function M.alert_message(opts)
  local sev = delivery.severity(opts.severity) or "INFO"
  local fields = {}
  for i, f in ipairs(opts.fields or {}) do
    fields[i] = field(f)
  end
  local title = tostring(opts.title or "lp0 alert")
  local att = {
    fallback = opts.fallback or (sev .. ": " .. title),
    color = M.COLORS[sev],
    title = title,
    title_link = opts.title_link,
    text = opts.text,
    pretext = opts.pretext,
    fields = #fields > 0 and fields or nil, -- {} would encode as an object: a 400
    footer = opts.footer,
  }
  return { attachments = { att } }
end

return M
