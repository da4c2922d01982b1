-- jira_spec.lua — jira request builders, response parsers, error messages,
-- transition lookup and code_block.
-- SPDX-License-Identifier: MIT

local function resp(status, body, headers)
  return { status = status, body = body or "", headers = headers or {}, json = function() return json.decode(body or "") end }
end

local BASE = { url = "https://acme.atlassian.net/", user = "bot@acme.com", token = "t0k" }
local function with(extra)
  local o = {}
  for k, v in pairs(BASE) do o[k] = v end
  for k, v in pairs(extra) do o[k] = v end
  return o
end

tests = {
  { name = "build_create: REST v2 issue with basic auth", run = function()
    local req = jira.build_create(with({ project = "SIRT", summary = "S3 bucket public",
      description = "h3. Details", labels = { "lp0", "s3 triage" }, priority = "High" }))
    assert_eq(req, {
      method = "POST", url = "https://acme.atlassian.net/rest/api/2/issue",
      headers = { Accept = "application/json" }, auth = { "bot@acme.com", "t0k" },
      json = { fields = {
        project = { key = "SIRT" }, issuetype = { name = "Task" }, summary = "S3 bucket public",
        description = "h3. Details", labels = { "lp0", "s3_triage" }, priority = { name = "High" },
      } },
    })
  end },
  { name = "build_create: summary one line of at most 255 bytes, extra fields kept", run = function()
    local req = jira.build_create(with({ project = "SIRT", issuetype = "Bug", summary = "a\nb" .. ("x"):rep(300),
      fields = { customfield_10010 = "v", project = { key = "IGNORED" } } }))
    local f = req.json.fields
    assert(#f.summary <= 255)
    assert(not f.summary:find("\n"), "no newline")
    assert_eq(f.issuetype, { name = "Bug" })
    assert_eq(f.customfield_10010, "v")
    assert_eq(f.project, { key = "SIRT" }, "project wins over fields.project")
    assert(f.labels == nil and f.priority == nil and f.description == nil)
  end },
  { name = "build_create: missing project, summary, user or token raises", run = function()
    for _, o in ipairs({ with({ summary = "s" }), with({ project = "SIRT" }),
      { url = "https://a", token = "t", project = "P", summary = "s" } }) do
      local ok, err = pcall(jira.build_create, o)
      assert(not ok and err:find("jira.create_issue", 1, true), tostring(err))
    end
  end },
  { name = "parse_create: key, id and browse URL", run = function()
    local r = jira.parse_create(resp(201, '{"id":"10042","key":"SIRT-23484","self":"https://acme.atlassian.net/rest/api/2/issue/10042"}'),
      "https://acme.atlassian.net/")
    assert_eq(r, { key = "SIRT-23484", id = "10042", url = "https://acme.atlassian.net/browse/SIRT-23484" })
  end },
  { name = "error_message: field errors and error messages", run = function()
    local ok, err = jira.parse_create(resp(400,
      '{"errorMessages":[],"errors":{"summary":"You must specify a summary of the issue."}}'), "https://a")
    assert(ok == nil)
    assert_eq(err, "jira 400: summary: You must specify a summary of the issue.")
    assert_eq(jira.error_message(resp(400, '{"errorMessages":["Bad request"],'
      .. '"errors":{"project":"project is required","issuetype":"issue type is required"}}')),
      "jira 400: Bad request; issuetype: issue type is required; project: project is required")
    assert_eq(jira.error_message(resp(404,
      '{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}')),
      "jira 404: Issue does not exist or you do not have permission to see it.")
  end },
  { name = "error_message: 401 without body, HTML pages, 429 Retry-After", run = function()
    assert_eq(jira.error_message(resp(401, "")),
      "jira 401: authentication failed (check the account e-mail and API token)")
    assert_eq(jira.error_message(resp(503, "<html><body>down</body></html>")), "jira 503: <html><body>down</body></html>")
    assert_eq(jira.error_message(resp(429, "", { ["retry-after"] = "12" })), "jira 429: (retry after 12s)")
    local ok, err = jira.parse_create(resp(201, "not json"), "https://a")
    assert(ok == nil and err == "jira 201: no issue key in the answer", err)
  end },
  { name = "build_comment and parse_comment", run = function()
    local req = jira.build_comment(with({ key = "SIRT-7", body = "hello" }))
    assert_eq(req.method, "POST")
    assert_eq(req.url, "https://acme.atlassian.net/rest/api/2/issue/SIRT-7/comment")
    assert_eq(req.json, { body = "hello" })
    assert_eq(req.auth, { "bot@acme.com", "t0k" })
    assert_eq(jira.parse_comment(resp(201, '{"id":"100","body":"hello"}')), { id = "100" })
    local ok, err = jira.parse_comment(resp(403, '{"errorMessages":["You do not have permission to comment."],"errors":{}}'))
    assert(ok == nil and err == "jira 403: You do not have permission to comment.", err)
  end },
  { name = "issue keys are checked (no path injection)", run = function()
    for _, key in ipairs({ "SIRT-1/../../x", "SIRT 1", "", 7 }) do
      local ok = pcall(jira.build_comment, with({ key = key, body = "b" }))
      assert(not ok, tostring(key))
    end
    jira.build_comment(with({ key = "10042", body = "b" }))
  end },
  { name = "find_transition: by name, target status or id; listed when missing", run = function()
    local r = resp(200, '{"transitions":[{"id":"11","name":"To Do","to":{"name":"Open"}},'
      .. '{"id":"31","name":"Close issue","to":{"name":"Done"}}]}')
    assert_eq(jira.find_transition(r, "close issue"), "31")
    assert_eq(jira.find_transition(r, "Done"), "31", "target status name")
    assert_eq(jira.find_transition(r, 11), "11", "id as a number")
    local id, err = jira.find_transition(r, "Reopen")
    assert(id == nil)
    assert_eq(err, "jira: no transition 'Reopen' (available: To Do, Close issue)")
    id, err = jira.find_transition(resp(404, '{"errorMessages":["Issue does not exist"],"errors":{}}'), "Done")
    assert(id == nil and err == "jira 404: Issue does not exist", err)
  end },
  { name = "build_transition: id, fields and comment; 204 parses", run = function()
    local gt = jira.build_transitions(with({ key = "SIRT-2" }))
    assert_eq({ gt.method, gt.url }, { "GET", "https://acme.atlassian.net/rest/api/2/issue/SIRT-2/transitions" })
    local req = jira.build_transition(with({ key = "SIRT-2", fields = { resolution = { name = "Done" } },
      comment = "closed by lp0" }), "31")
    assert_eq(req.url, "https://acme.atlassian.net/rest/api/2/issue/SIRT-2/transitions")
    assert_eq(req.json, { transition = { id = "31" }, fields = { resolution = { name = "Done" } },
      update = { comment = { { add = { body = "closed by lp0" } } } } })
    assert_eq(jira.parse_transition(resp(204, "")), true)
    local ok, err = jira.parse_transition(resp(400, '{"errorMessages":[],"errors":{"resolution":"Resolution is required."}}'))
    assert(ok == nil and err == "jira 400: resolution: Resolution is required.", err)
  end },
  { name = "code_block: tables as indented JSON, {code} inside neutralised", run = function()
    assert_eq(jira.code_block({ b = 1, a = "x" }), '{code:json}\n{\n  "a": "x",\n  "b": 1\n}\n{code}')
    local cb = jira.code_block("a {code} b")
    assert_eq(cb, "{code}\na {\u{200B}code} b\n{code}")
    local _, n = cb:gsub("{code", "")
    assert_eq(n, 2, "only the block's own markers")
    assert(#jira.code_block(("x"):rep(40000)) <= 32000)
  end },
}
