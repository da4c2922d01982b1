-- slack_spec.lua — slack.build_post, parse_response, alert_blocks, escape.
-- SPDX-License-Identifier: MIT

local function resp(status, body, headers)
  return { status = status, body = body, headers = headers or {}, json = function() return json.decode(body) end }
end

tests = {
  { name = "build_post: text and blocks", run = function()
    local req = slack.build_post({ url = "https://hooks.slack.com/services/T1/B1/x", text = "fallback",
      blocks = { { type = "divider" } } })
    assert_eq(req, { method = "POST", url = "https://hooks.slack.com/services/T1/B1/x", retries = 0,
      json = { text = "fallback", blocks = { { type = "divider" } } } })
  end },
  { name = "build_post: neither text nor blocks, or over 50 blocks, raises", run = function()
    local ok, err = pcall(slack.build_post, { url = "https://hooks.slack.com/x" })
    assert(not ok and err:find("text or blocks required", 1, true), err)
    local many = {}
    for i = 1, 51 do many[i] = { type = "divider" } end
    ok, err = pcall(slack.build_post, { url = "https://hooks.slack.com/x", blocks = many })
    assert(not ok and err:find("at most 50 blocks", 1, true), err)
  end },
  { name = "parse_response: ok and text errors", run = function()
    assert_eq(slack.parse_response(resp(200, "ok")), { ok = true })
    local ok, err = slack.parse_response(resp(400, "invalid_payload"))
    assert(ok == nil)
    assert_eq(err, "slack 400: invalid_payload")
    ok, err = slack.parse_response(resp(404, "channel_not_found"))
    assert_eq(err, "slack 404: channel_not_found")
    ok, err = slack.parse_response(resp(410, "channel_is_archived"))
    assert_eq(err, "slack 410: channel_is_archived")
  end },
  { name = "parse_response: 429 reports Retry-After", run = function()
    local ok, err = slack.parse_response(resp(429, "", { ["retry-after"] = "30" }))
    assert(ok == nil)
    assert_eq(err, "slack 429: rate limited (retry after 30s)")
  end },
  { name = "escape: &, < and > become entities", run = function()
    assert_eq(slack.escape("a<b>&<!channel>"), "a&lt;b&gt;&amp;&lt;!channel&gt;")
  end },
  { name = "alert_blocks: header, text, fields, context", run = function()
    local m = slack.alert_blocks({ title = "Bucket public", severity = "critical", text = "*bold* text",
      fields = { { "User", "<jane>" }, { title = "Bucket", value = "b1" } }, link = "https://jira/browse/SIRT-1",
      footer = "lp0" })
    assert_eq(m, { text = "CRITICAL: Bucket public", blocks = {
      { type = "header", text = { type = "plain_text", text = "Bucket public" } },
      { type = "section", text = { type = "mrkdwn", text = "*bold* text" } },
      { type = "section", fields = {
        { type = "mrkdwn", text = "*User*\n&lt;jane&gt;" },
        { type = "mrkdwn", text = "*Bucket*\nb1" } } },
      { type = "context", elements = { { type = "mrkdwn",
        text = ":red_circle: *CRITICAL* | <https://jira/browse/SIRT-1|Open> | lp0" } } },
    } })
  end },
  { name = "alert_blocks: Block Kit limits (header 150, 10 fields per section)", run = function()
    local fields = {}
    for i = 1, 23 do fields[i] = { "F" .. i, i } end
    local m = slack.alert_blocks({ title = ("t"):rep(400), fields = fields })
    assert(#m.blocks[1].text.text <= 150)
    assert_eq(#m.blocks, 5, "header, 3 field sections, context")
    assert_eq(#m.blocks[2].fields, 10)
    assert_eq(#m.blocks[4].fields, 3)
    assert_eq(m.blocks[5].type, "context")
  end },
  { name = "alert_blocks: never more than 50 blocks, context kept", run = function()
    local fields = {}
    for i = 1, 600 do fields[i] = { "F", i } end
    local m = slack.alert_blocks({ title = "t", fields = fields })
    assert_eq(#m.blocks, 50)
    assert_eq(m.blocks[50].type, "context")
    slack.build_post({ url = "https://hooks.slack.com/x", text = m.text, blocks = m.blocks })
  end },
}
