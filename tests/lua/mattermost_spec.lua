-- mattermost_spec.lua — mattermost.build_post, parse_response, alert_message.
-- SPDX-License-Identifier: MIT

local function resp(status, body)
  return { status = status, body = body, headers = {}, json = function() return json.decode(body) end }
end

tests = {
  { name = "build_post: the webhook request", run = function()
    local req = mattermost.build_post({ url = "https://mm.example.com/hooks/abc/", text = "hello",
      channel = "sirt", username = "lp0", icon_url = "https://x/i.png", timeout = 5 })
    assert_eq(req, { method = "POST", url = "https://mm.example.com/hooks/abc", timeout = 5, retries = 0,
      json = { text = "hello", channel = "sirt", username = "lp0", icon_url = "https://x/i.png" } })
  end },
  { name = "build_post: attachments alone are enough; neither raises", run = function()
    local req = mattermost.build_post({ url = "https://mm/hooks/a", attachments = { { text = "x" } } })
    assert_eq(req.json, { attachments = { { text = "x" } } })
    local ok, err = pcall(mattermost.build_post, { url = "https://mm/hooks/a", attachments = {} })
    assert(not ok and err:find("text or attachments required", 1, true), err)
    ok, err = pcall(mattermost.build_post, { text = "x" })
    assert(not ok and err:find("url must be", 1, true), err)
  end },
  { name = "build_post: very long text is cut below Mattermost's split point", run = function()
    local req = mattermost.build_post({ url = "https://mm/hooks/a", text = ("a"):rep(20000) })
    assert(#req.json.text <= 16000)
  end },
  { name = "parse_response: 200 ok", run = function()
    assert_eq(mattermost.parse_response(resp(200, "ok")), { ok = true })
  end },
  { name = "parse_response: AppError message and id", run = function()
    local ok, err = mattermost.parse_response(resp(400, '{"id":"web.incoming_webhook.parse.app_error",'
      .. '"message":"Unable to parse incoming data","detailed_error":"","request_id":"r1","status_code":400}'))
    assert(ok == nil)
    assert_eq(err, "mattermost 400: Unable to parse incoming data (web.incoming_webhook.parse.app_error)")
    ok, err = mattermost.parse_response(resp(404, '{"id":"web.incoming_webhook.channel.app_error",'
      .. '"message":"Couldn\'t find the channel","detailed_error":"name=x","status_code":404}'))
    assert_eq(err, "mattermost 404: Couldn't find the channel: name=x (web.incoming_webhook.channel.app_error)")
  end },
  { name = "parse_response: a non-JSON error body is quoted", run = function()
    local ok, err = mattermost.parse_response(resp(502, "<html>\n<h1>Bad Gateway</h1></html>"))
    assert(ok == nil)
    assert_eq(err, "mattermost 502: <html> <h1>Bad Gateway</h1></html>")
    ok, err = mattermost.parse_response(resp(503, ""))
    assert_eq(err, "mattermost 503")
  end },
  { name = "alert_message: colour per severity, fields short or long", run = function()
    local m = mattermost.alert_message({ title = "Bucket public", severity = "high", text = "details",
      fields = { { "User", "jane" }, { title = "ARN", value = ("x"):rep(41) }, { "Count", 3 },
        { title = "Note", value = "a\nb" }, { title = "Wide", value = "w", short = false } } })
    assert_eq(m, { attachments = { {
      fallback = "HIGH: Bucket public", color = "#E65100", title = "Bucket public", text = "details",
      fields = {
        { title = "User", value = "jane", short = true },
        { title = "ARN", value = ("x"):rep(41), short = false },
        { title = "Count", value = "3", short = true },
        { title = "Note", value = "a\nb", short = false },
        { title = "Wide", value = "w", short = false },
      } } } })
  end },
  { name = "alert_message: every level has its own colour; unknown is INFO's", run = function()
    local seen = {}
    for _, sev in ipairs({ "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO" }) do
      local c = mattermost.alert_message({ severity = sev }).attachments[1].color
      assert(c and c:find("^#%x%x%x%x%x%x$"), sev)
      assert(not seen[c], "distinct colour for " .. sev)
      seen[c] = true
    end
    assert_eq(mattermost.alert_message({ severity = "bogus" }).attachments[1].color, mattermost.COLORS.INFO)
  end },
  { name = "alert_message: no fields means no fields key (an empty {} is refused)", run = function()
    local a = mattermost.alert_message({ title = "t" }).attachments[1]
    assert(a.fields == nil)
    assert(not json.encode(a):find('"fields"', 1, true))
  end },
}
