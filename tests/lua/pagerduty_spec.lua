-- pagerduty_spec.lua — Events API v2 builders and parser, dedup_key, severity map,
-- /oncalls request, parser and matching.
-- SPDX-License-Identifier: MIT

local function resp(status, body, headers)
  return { status = status, body = body or "", headers = headers or {}, json = function() return json.decode(body or "") end }
end
local RK = "R0UT1NGKEY0123456789012345678901"

tests = {
  { name = "severity: lp0 levels mapped, PagerDuty names kept, unknown is error", run = function()
    assert_eq(pagerduty.severity("CRITICAL"), "critical")
    assert_eq(pagerduty.severity("high"), "error")
    assert_eq(pagerduty.severity("MEDIUM"), "warning")
    assert_eq(pagerduty.severity("LOW"), "info")
    assert_eq(pagerduty.severity("INFO"), "info")
    assert_eq(pagerduty.severity("Warning"), "warning")
    assert_eq(pagerduty.severity(nil), "error")
  end },
  { name = "build_trigger: the Events API v2 body", run = function()
    local req = pagerduty.build_trigger({ routing_key = RK, summary = "S3 bucket public", source = "aws:1:eu-west-1",
      severity = "HIGH", dedup_key = "lp0:x:y", custom_details = { bucket = "b" }, component = "s3",
      links = { { href = "https://jira/browse/SIRT-1", text = "SIRT-1" } } })
    assert_eq(req, { method = "POST", url = "https://events.pagerduty.com/v2/enqueue", retries = 2,
      json = { routing_key = RK, event_action = "trigger", dedup_key = "lp0:x:y", client = "lp0",
        links = { { href = "https://jira/browse/SIRT-1", text = "SIRT-1" } },
        payload = { summary = "S3 bucket public", source = "aws:1:eu-west-1", severity = "error",
          component = "s3", custom_details = { bucket = "b" } } } })
  end },
  { name = "build_trigger: no dedup_key means no retries; EU endpoint; summary cut", run = function()
    local req = pagerduty.build_trigger({ routing_key = RK, summary = ("s"):rep(2000),
      url = "https://events.eu.pagerduty.com" })
    assert_eq(req.retries, 0)
    assert_eq(req.url, "https://events.eu.pagerduty.com/v2/enqueue")
    assert(#req.json.payload.summary <= 1024)
    assert_eq(req.json.payload.source, "lp0")
    assert(req.json.links == nil)
  end },
  { name = "build_trigger: routing_key and summary required", run = function()
    local ok, err = pcall(pagerduty.build_trigger, { summary = "s" })
    assert(not ok and err:find("routing_key required", 1, true), err)
    ok, err = pcall(pagerduty.build_trigger, { routing_key = RK })
    assert(not ok and err:find("summary required", 1, true), err)
  end },
  { name = "build_resolve and build_acknowledge", run = function()
    assert_eq(pagerduty.build_resolve({ routing_key = RK, dedup_key = "k" }).json,
      { routing_key = RK, event_action = "resolve", dedup_key = "k" })
    assert_eq(pagerduty.build_acknowledge({ routing_key = RK, dedup_key = "k" }).json.event_action, "acknowledge")
    local ok, err = pcall(pagerduty.build_resolve, { routing_key = RK })
    assert(not ok and err:find("dedup_key required", 1, true), err)
  end },
  { name = "parse_event: 202, 400 with errors, 429", run = function()
    assert_eq(pagerduty.parse_event(resp(202, '{"status":"success","message":"Event processed","dedup_key":"k1"}')),
      { dedup_key = "k1", status = "success", message = "Event processed" })
    local ok, err = pagerduty.parse_event(resp(400,
      '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect (should be 32 characters)"]}'))
    assert(ok == nil)
    assert_eq(err, "pagerduty 400: Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters)")
    ok, err = pagerduty.parse_event(resp(429, ""))
    assert_eq(err, "pagerduty 429: rate limited")
  end },
  { name = "dedup_key: stable, from detection and dedup (title when no dedup)", run = function()
    local a = { detection = "AWS.S3.BucketPolicyModified", dedup = "arn:aws:iam::1:user/a", title = "t" }
    assert_eq(pagerduty.dedup_key(a), "lp0:AWS.S3.BucketPolicyModified:arn:aws:iam::1:user/a")
    assert_eq(pagerduty.dedup_key(a), pagerduty.dedup_key({ detection = a.detection, dedup = a.dedup, title = "other" }))
    assert_eq(pagerduty.dedup_key({ detection = "D", title = "T" }), "lp0:D:T")
  end },
  { name = "dedup_key: long keys hashed to at most 255 bytes, still distinct", run = function()
    local long1 = { detection = "D", dedup = ("x"):rep(300) .. "1" }
    local long2 = { detection = "D", dedup = ("x"):rep(300) .. "2" }
    local k1, k2 = pagerduty.dedup_key(long1), pagerduty.dedup_key(long2)
    assert(#k1 <= 255 and #k2 <= 255)
    assert(k1 ~= k2, "the hash keeps them apart")
    assert(k1:find("^lp0:D:x+#%x+$"), k1)
    assert_eq(k1, pagerduty.dedup_key(long1), "stable")
    local k3 = pagerduty.dedup_key({ detection = "D", dedup = ("é"):rep(200) })
    assert(#k3 <= 255 and utf8.len(k3) ~= nil, "valid UTF-8")
  end },
  { name = "build_oncalls: REST headers and query", run = function()
    local req = pagerduty.build_oncalls({ token = "rest-key", schedule_id = "PS1" }, 100)
    assert_eq(req, { method = "GET", url = "https://api.pagerduty.com/oncalls",
      headers = { Authorization = "Token token=rest-key", Accept = "application/vnd.pagerduty+json;version=2" },
      query = { ["include[]"] = "users", earliest = "true", limit = "100", offset = "100", time_zone = "UTC",
        ["schedule_ids[]"] = "PS1" } })
    req = pagerduty.build_oncalls({ token = "k", escalation_policy_id = "PE1", url = "https://pd.local/" })
    assert_eq(req.url, "https://pd.local/oncalls")
    assert_eq(req.query["escalation_policy_ids[]"], "PE1")
    assert_eq(req.query.offset, "0")
    local ok, err = pcall(pagerduty.build_oncalls, { token = "k" })
    assert(not ok and err:find("schedule_id or escalation_policy_id required", 1, true), err)
  end },
  { name = "parse_oncalls and is_oncall", run = function()
    local page = pagerduty.parse_oncalls(resp(200, '{"oncalls":[' ..
      '{"escalation_level":1,"user":{"id":"PU1","summary":"Jane","email":"Jane@Example.com"}},' ..
      '{"escalation_level":2,"user":{"id":"PU2","email":"bob@example.com"}}],"limit":100,"offset":0,"more":true}'))
    assert_eq(page.more, true)
    assert_eq(#page.oncalls, 2)
    assert_eq(pagerduty.is_oncall(page.oncalls, "jane@example.com"), true, "case-insensitive e-mail")
    assert_eq(pagerduty.is_oncall(page.oncalls, "PU2"), true, "by id")
    assert_eq(pagerduty.is_oncall(page.oncalls, "bob@example.com", 1), false, "level 2 excluded")
    assert_eq(pagerduty.is_oncall(page.oncalls, "eve@example.com"), false)
    assert_eq(pagerduty.is_oncall({ { escalation_level = 1 } }, "eve@example.com"), false, "no user object")
  end },
  { name = "parse_oncalls: REST errors", run = function()
    local ok, err = pagerduty.parse_oncalls(resp(401, '{"error":{"message":"Unauthorized","code":2006}}'))
    assert(ok == nil)
    assert_eq(err, "pagerduty 401: Unauthorized (code 2006)")
    ok, err = pagerduty.parse_oncalls(resp(200, '{"nothing":1}'))
    assert_eq(err, "pagerduty 200: no oncalls in the answer")
    ok, err = pagerduty.parse_oncalls(resp(502, "Bad Gateway"))
    assert_eq(err, "pagerduty 502: Bad Gateway")
  end },
}
