-- webhook_spec.lua — webhook.build and webhook.parse.
-- SPDX-License-Identifier: MIT

local function resp(status, body)
  return { status = status, body = body, headers = {}, json = function() return json.decode(body) end }
end

tests = {
  { name = "build: JSON POST with extra headers", run = function()
    local req = webhook.build({ url = "https://soar.example.com/hook", json = { a = 1 },
      headers = { ["X-Token"] = "t", ["X-Num"] = 5 }, timeout = 3 })
    assert_eq(req, { method = "POST", url = "https://soar.example.com/hook", json = { a = 1 }, timeout = 3,
      headers = { Accept = "application/json", ["X-Token"] = "t", ["X-Num"] = "5" } })
  end },
  { name = "build: json required, hmac refused until the engine can sign", run = function()
    local ok, err = pcall(webhook.build, { url = "https://x" })
    assert(not ok and err:find("json body required", 1, true), err)
    ok, err = pcall(webhook.build, { url = "https://x", json = {}, hmac = { secret = "s", header = "X-Sig" } })
    assert(not ok and err:find("hmac signing is not available", 1, true), err)
  end },
  { name = "parse: 2xx with and without JSON; errors quote the body", run = function()
    assert_eq(webhook.parse(resp(200, '{"id":7}')), { status = 200, body = '{"id":7}', json = { id = 7 } })
    local r = webhook.parse(resp(204, ""))
    assert_eq(r.status, 204)
    assert(r.json == nil)
    local ok, err = webhook.parse(resp(500, "internal error"))
    assert(ok == nil and err == "webhook 500: internal error", err)
  end },
}
