-- slack.lua — posting to a Slack incoming webhook: build_post (the request),
-- parse_response (Slack's answer), post (both, through the story's http), and
-- alert_blocks, the standard alert message in Block Kit (header, text, fields in
-- sections of at most 10, a context line with the severity).
--
-- Slack answers 200 "ok" and reports errors as short text bodies ("invalid_payload",
-- "channel_not_found", ...), returned as "slack <status>: <code>"; a 429 carries
-- Retry-After, which is added to the message. Webhooks created by Slack apps ignore
-- channel/username/icon overrides, so none are offered. Block Kit limits (header 150
-- characters, section text 3000, field 2000, 10 fields, 50 blocks) are applied here,
-- since Slack rejects the whole message as invalid_blocks otherwise. Values are
-- escaped (&, <, >) because Slack's mrkdwn reads <...> as links and mentions.
-- SPDX-License-Identifier: MIT

local type, tostring, ipairs, error = type, tostring, ipairs, error
local gsub = string.gsub
local delivery = require "delivery"

local M = {}

-- Emoji shown before the severity in the context line (Block Kit has no colour bar).
M.EMOJI = {
  CRITICAL = ":red_circle:",
  HIGH = ":large_orange_circle:",
  MEDIUM = ":large_yellow_circle:",
  LOW = ":large_blue_circle:",
  INFO = ":white_circle:",
}

local MAX_BLOCKS, MAX_FIELDS = 50, 10
local HEADER_MAX, TEXT_MAX, FIELD_MAX = 150, 3000, 2000

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;" }

-- escape(s): s safe as mrkdwn text: &, < and > become entities.
function M.escape(s)
  return (gsub(tostring(s), "[&<>]", ESC))
end

-- build_post(opts): the http.request table for opts = { url, text, blocks,
-- attachments, thread_ts, mrkdwn, timeout }. Raises without text and blocks, or
-- with more than 50 blocks.
function M.build_post(opts)
  if type(opts) ~= "table" then
    error("slack.post: options table expected", 2)
  end
  local url = delivery.base(opts.url, "slack.post")
  local has_blocks = type(opts.blocks) == "table" and #opts.blocks > 0
  if (type(opts.text) ~= "string" or opts.text == "") and not has_blocks then
    error("slack.post: text or blocks required", 2)
  end
  if has_blocks and #opts.blocks > MAX_BLOCKS then
    error("slack.post: at most " .. MAX_BLOCKS .. " blocks, got " .. #opts.blocks, 2)
  end
  local body = {
    text = opts.text,
    blocks = has_blocks and opts.blocks or nil,
    attachments = opts.attachments,
    thread_ts = opts.thread_ts,
    mrkdwn = opts.mrkdwn,
  }
  return { method = "POST", url = url, json = body, timeout = opts.timeout, retries = 0 }
end

-- parse_response(resp): { ok = true } for a 2xx, else nil, "slack <status>: <body>".
function M.parse_response(resp)
  local status = resp.status
  if status >= 200 and status < 300 then
    return { ok = true }
  end
  local msg = delivery.snippet(resp.body)
  if status == 429 then
    local after = resp.headers and resp.headers["retry-after"]
    msg = (msg ~= "" and msg or "rate limited") .. (after and " (retry after " .. after .. "s)" or "")
  end
  return nil, "slack " .. status .. (msg ~= "" and ": " .. msg or "")
end

-- post(opts): send build_post(opts). { ok = true } or nil, err (HTTP or transport).
function M.post(opts)
  local req = M.build_post(opts)
  local resp, err = delivery.send("slack", req)
  if not resp then
    return nil, err
  end
  return M.parse_response(resp)
end

local function mrkdwn(text, max)
  return { type = "mrkdwn", text = delivery.truncate(text, max) }
end

-- alert_blocks(opts): { text = fallback, blocks = {...} } for opts = { title, text,
-- severity, fields = { {title, value} or { "Title", value }... }, link, footer }.
-- Field titles and values, the title and footer are escaped; opts.text is mrkdwn
-- written by the caller and is passed as it is. Merge with url before post().
function M.alert_blocks(opts)
  local sev = delivery.severity(opts.severity) or "INFO"
  local title = tostring(opts.title or "lp0 alert")
  local blocks = {
    { type = "header", text = { type = "plain_text", text = delivery.truncate(title, HEADER_MAX) } },
  }
  if type(opts.text) == "string" and opts.text ~= "" then
    blocks[#blocks + 1] = { type = "section", text = mrkdwn(opts.text, TEXT_MAX) }
  end
  local section
  for _, f in ipairs(opts.fields or {}) do
    if not section or #section.fields == MAX_FIELDS then
      section = { type = "section", fields = {} }
      blocks[#blocks + 1] = section
    end
    local name = f.title or f[1]
    local value = f.value
    if value == nil then
      value = f[2]
    end
    local text = "*" .. M.escape(name or "") .. "*\n" .. M.escape(value == nil and "" or value)
    section.fields[#section.fields + 1] = mrkdwn(text, FIELD_MAX)
  end
  local context = M.EMOJI[sev] .. " *" .. sev .. "*"
  if opts.link then
    context = context .. " | <" .. tostring(opts.link) .. "|Open>"
  end
  if opts.footer then
    context = context .. " | " .. M.escape(opts.footer)
  end
  for i = #blocks, MAX_BLOCKS, -1 do -- over 470 fields: drop the overflow, keep the context
    blocks[i] = nil
  end
  blocks[#blocks + 1] = { type = "context", elements = { mrkdwn(context, TEXT_MAX) } }
  return { text = sev .. ": " .. title, blocks = blocks }
end

return M
