-- delivery_spec.lua — delivery.severity, truncate, snippet, base, escape_segment,
-- decode, pretty_json and send outside a story.
-- SPDX-License-Identifier: MIT

tests = {
  { name = "severity: levels in any case, anything else nil", run = function()
    assert_eq(delivery.severity("high"), "HIGH")
    assert_eq(delivery.severity("Critical"), "CRITICAL")
    assert(delivery.severity("urgent") == nil)
    assert(delivery.severity(nil) == nil)
    assert_eq(delivery.RANK.HIGH, 4)
    assert_eq(delivery.SEVERITIES[delivery.RANK.LOW], "LOW")
  end },
  { name = "truncate: short strings kept, long ones cut with an ellipsis", run = function()
    assert_eq(delivery.truncate("abc", 3), "abc")
    local t = delivery.truncate("abcdefghij", 8)
    assert_eq(t, "abcde\u{2026}")
    assert_eq(#t, 8)
  end },
  { name = "truncate: never splits a UTF-8 sequence", run = function()
    -- "é" is 2 bytes; cutting at 5 bytes would leave half of the second "é"
    local s = "aé" .. "é" .. "ééé"
    for max = 4, #s - 1 do
      local t = delivery.truncate(s, max)
      assert(#t <= max, "length at " .. max)
      assert(utf8.len(t) ~= nil, "valid UTF-8 at " .. max)
    end
  end },
  { name = "snippet: one line, at most 200 bytes, empty for no body", run = function()
    assert_eq(delivery.snippet("  <html>\n  <body>Bad\tgateway</body>\n</html>\n"), "<html> <body>Bad gateway</body> </html> ")
    assert_eq(#delivery.snippet(("x"):rep(1000)), 200)
    assert_eq(delivery.snippet(nil), "")
    assert_eq(delivery.snippet(""), "")
  end },
  { name = "base: trailing slashes dropped, non-http URLs raise", run = function()
    assert_eq(delivery.base("https://jira.example.com//", "t"), "https://jira.example.com")
    assert_eq(delivery.base("http://127.0.0.1:8080", "t"), "http://127.0.0.1:8080")
    for _, bad in ipairs({ "ftp://x", "jira.example.com", "https://", 42 }) do
      local ok, err = pcall(delivery.base, bad, "jira.create_issue")
      assert(not ok and err:find("jira.create_issue: url must be an http(s) URL", 1, true), tostring(bad))
    end
  end },
  { name = "escape_segment: reserved characters percent-encoded", run = function()
    assert_eq(delivery.escape_segment("jane@example.com"), "jane%40example.com")
    assert_eq(delivery.escape_segment("a/b c?d"), "a%2Fb%20c%3Fd")
    assert_eq(delivery.escape_segment("00u1-x_y.z~"), "00u1-x_y.z~")
  end },
  { name = "decode: the body's JSON table, else nil", run = function()
    local function r(body)
      return { status = 200, body = body, json = function() return json.decode(body) end }
    end
    assert_eq(delivery.decode(r('{"a":1}')), { a = 1 })
    assert(delivery.decode(r("ok")) == nil)
    assert(delivery.decode(r('"text"')) == nil, "a JSON string is not a table")
    assert(delivery.decode({ status = 200 }) == nil)
    assert(delivery.decode({ status = 200, json = function() error("boom") end }) == nil)
  end },
  { name = "pretty_json: sorted keys, indented, arrays and empties kept", run = function()
    local text = delivery.pretty_json({ b = { 1, "x" }, a = { c = true }, e = json.array({}), d = {} })
    assert_eq(text, '{\n  "a": {\n    "c": true\n  },\n  "b": [\n    1,\n    "x"\n  ],\n  "d": {},\n  "e": []\n}')
    assert_eq(json.decode(text), { a = { c = true }, b = { 1, "x" }, d = {}, e = {} })
    assert_eq(delivery.pretty_json('q"uote'), '"q\\"uote"')
  end },
  { name = "send: outside a story it raises, naming the caller", run = function()
    local ok, err = pcall(mattermost.post, { url = "https://mm.example.com/hooks/x", text = "hi" })
    assert(not ok)
    assert(err:find("mattermost: http is only available in stories", 1, true), err)
  end },
}
