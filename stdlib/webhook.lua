-- webhook.lua — a generic JSON POST to any HTTP endpoint (SOAR, ticketing, a chat
-- bridge): build (the request), parse (2xx or an error), post (both).
--
-- HMAC signing of the body is not offered yet: the engine has no HMAC binding for
-- scripts, and a pure-Lua SHA-256 would be slow and unreviewed crypto. Passing
-- `hmac` raises instead of silently sending an unsigned request.
-- SPDX-License-Identifier: MIT

local type, tostring, pairs, error = type, tostring, pairs, error
local delivery = require "delivery"

local M = {}

-- build(opts): the request for opts = { url, json, headers, method = "POST",
-- timeout, retries }. Raises on a bad url, a missing json body or opts.hmac.
function M.build(opts)
  if type(opts) ~= "table" then
    error("webhook.post: options table expected", 2)
  end
  local url = delivery.base(opts.url, "webhook.post")
  if opts.json == nil then
    error("webhook.post: json body required", 2)
  end
  if opts.hmac ~= nil then
    error("webhook.post: hmac signing is not available yet (no HMAC binding in the engine)", 2)
  end
  local headers = { Accept = "application/json" }
  for k, v in pairs(opts.headers or {}) do
    headers[k] = tostring(v)
  end
  return {
    method = opts.method or "POST", url = url, headers = headers, json = opts.json,
    timeout = opts.timeout, retries = opts.retries,
  }
end

-- parse(resp): { status, body, json = decoded body or nil } for a 2xx, else
-- nil, "webhook <status>: <start of the body>".
function M.parse(resp)
  if resp.status >= 200 and resp.status < 300 then
    return { status = resp.status, body = resp.body, json = delivery.decode(resp) }
  end
  local text = delivery.snippet(resp.body)
  return nil, "webhook " .. resp.status .. (text ~= "" and ": " .. text or "")
end

-- post(opts): build, send, parse.
function M.post(opts)
  local resp, err = delivery.send("webhook", M.build(opts))
  if not resp then
    return nil, err
  end
  return M.parse(resp)
end

return M
