-- s3_triage.lua — the bundled triage story for S3 bucket policy alerts.
--
-- For each alert it looks up, in parallel, the actor's Okta devices and MFA factors,
-- the IPs they signed in from recently (Okta System Log), the source IP's reputation
-- (AbuseIPDB) and whether they are on call (PagerDuty /oncalls); it turns the answers
-- into Passed/Failed/Unknown checks, moves the severity with triage.score, opens a
-- Jira ticket, posts the card to Mattermost, pages through PagerDuty when the final
-- severity is HIGH or above, and adds the raw event to the ticket as a comment.
--
-- Every side effect runs inside step(), so a run retried after a failure (Mattermost
-- down, the daemon restarted) reuses the ticket it already opened instead of opening
-- another. Enrichment never fails the run: a lookup that errors gives "Unknown" and a
-- note; delivery failures do fail it (and the engine retries it).
-- Settings and secrets: see docs/stories.md, "The bundled triage story".
-- SPDX-License-Identifier: MIT

name = "s3-triage"
local TRIGGERS = {
  ["AWS.S3.BucketPolicyModified"] = true,
  ["Threat.AWS.S3.BucketMadePublic"] = true,
  ["Threat.AWS.S3.BucketPolicyTiered"] = true,
}

-- Enabled by configuration: without settings.jira.url there is nowhere to deliver, so
-- the story does not run (on the embedded defaults, for instance).
on = function(alert)
  return TRIGGERS[alert.detection] == true and type(settings.jira) == "table"
    and type(settings.jira.url) == "string"
end

local function cfg(name)
  return (settings and settings[name]) or {}
end

-- secret(name), or nil when it is not set (for the optional lookups).
local function optional_secret(name)
  local ok, v = pcall(secret, name)
  return ok and v or nil
end

-- A parallel branch that cannot raise: { value = ... } or { err = "..." }.
local function guarded(f)
  return function()
    local ok, v, err = pcall(f)
    if not ok then
      return { err = tostring(v) }
    end
    if v == nil then
      return { err = tostring(err or "no answer") }
    end
    return { value = v }
  end
end

local function facts(alert)
  local e = alert.event or {}
  local account = deep_get(e, "recipientAccountId") or deep_get(e, "userIdentity", "accountId")
  local names = settings and settings.aws_accounts or {}
  return {
    user = deep_get(e, "userIdentity", "arn") or aws.actor_user(e),
    bucket = deep_get(e, "requestParameters", "bucketName") or "Unknown",
    account_id = account and tostring(account) or "Unknown",
    account_name = account and names[tostring(account)] or "Unknown",
    region = deep_get(e, "awsRegion") or "",
    timestamp = deep_get(e, "eventTime") or alert.first_seen or "Unknown",
    source_ip = deep_get(e, "sourceIPAddress"),
    user_agent = deep_get(e, "userAgent"),
  }
end

-- The four lookups, concurrently. Each result is { value } or { err }.
local function enrich_all(f, login)
  local okta_cfg, pd_cfg, abuse_cfg = cfg("okta"), cfg("pagerduty"), cfg("abuseipdb")
  local okta_token, okta_skip
  if not login then
    okta_skip = "no Okta login for the actor"
  elseif not okta_cfg.url then
    okta_skip = "settings.okta.url is not set"
  else
    okta_token = optional_secret("OKTA_TOKEN")
    okta_skip = not okta_token and "OKTA_TOKEN is not set" or nil
  end
  local skip_okta = function()
    return nil, okta_skip
  end
  local function okta_opts(extra)
    local o = { url = okta_cfg.url, token = okta_token, days = okta_cfg.recent_ip_days }
    for k, v in pairs(extra) do
      o[k] = v
    end
    return o
  end

  local user_branch = guarded(function()
    if not okta_token then
      return skip_okta()
    end
    local user, err = enrich.okta_user(okta_opts({ login = login }))
    if not user then
      return nil, err
    end
    local devices, derr = enrich.okta_devices(okta_opts({ user_id = user.id }))
    local factors, ferr = enrich.okta_factors(okta_opts({ user_id = user.id }))
    return { user = user, devices = devices, devices_err = derr, factors = factors, factors_err = ferr }
  end)
  local ips_branch = guarded(function()
    if not okta_token then
      return skip_okta()
    end
    return enrich.okta_recent_ips(okta_opts({ login = login }))
  end)
  local reputation_branch = guarded(function()
    if not ip.is_public(f.source_ip) then
      return { skipped = true }
    end
    local key = optional_secret("ABUSEIPDB_KEY")
    if not key then
      return nil, "ABUSEIPDB_KEY is not set"
    end
    return enrich.abuseipdb({ url = abuse_cfg.url, key = key, ip = f.source_ip,
      max_age_days = abuse_cfg.max_age_days, threshold = abuse_cfg.threshold })
  end)
  local oncall_branch = guarded(function()
    if not login then
      return nil, "no e-mail to look up"
    end
    if not (pd_cfg.schedule_id or pd_cfg.escalation_policy_id) then
      return nil, "no PagerDuty schedule_id or escalation_policy_id configured"
    end
    local token = optional_secret("PAGERDUTY_TOKEN")
    if not token then
      return nil, "PAGERDUTY_TOKEN is not set"
    end
    local on_call, err = pagerduty.oncall({ url = pd_cfg.api_url, token = token, email = login,
      schedule_id = pd_cfg.schedule_id, escalation_policy_id = pd_cfg.escalation_policy_id,
      max_level = pd_cfg.max_level })
    if on_call == nil then
      return nil, err
    end
    return { on_call = on_call }
  end)
  return parallel(user_branch, ips_branch, reputation_branch, oncall_branch)
end

-- Jira wiki markup: characters that would start formatting or break a table row.
local function wiki(s)
  return (tostring(s):gsub("[|{}%[%]*_^~!+%-#]", "\\%0"))
end

local function description(alert, f, rows, result)
  local lines = { "h3. " .. wiki(alert.title or alert.detection), "", "||Field||Value||" }
  for _, r in ipairs(rows) do
    lines[#lines + 1] = "|" .. wiki(r[1]) .. "|" .. wiki(r[2]) .. "|"
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "*Detection:* " .. wiki(alert.detection or "")
  lines[#lines + 1] = "*Identity:* " .. wiki(f.user or "Unknown")
  lines[#lines + 1] = "*Source IP:* " .. wiki(f.source_ip or "Unknown")
  lines[#lines + 1] = "*Scoring:* " .. wiki(result.base_severity .. " -> " .. result.severity
    .. " (" .. (#result.reasons > 0 and table.concat(result.reasons, ", ") or "no change") .. ")")
  for _, n in ipairs(result.notes) do
    lines[#lines + 1] = "* " .. wiki(n)
  end
  return table.concat(lines, "\n")
end

function run(alert)
  local f = facts(alert)
  local notes = {}
  local triage_cfg = cfg("okta")
  local login, why = triage.okta_login(alert.event, triage_cfg)
  if not login then
    notes[#notes + 1] = "user mapping: " .. why
  end

  local user_r, ips_r, rep_r, oncall_r = enrich_all(f, login)
  local u = user_r.value or {}
  for label, err in pairs({ Okta = user_r.err, ["Okta devices"] = u.devices_err,
    ["Okta factors"] = u.factors_err, ["Okta System Log"] = ips_r.err,
    AbuseIPDB = rep_r.err, PagerDuty = oncall_r.err }) do
    notes[#notes + 1] = label .. " lookup failed: " .. err
  end
  table.sort(notes)

  local reputation = "Unknown"
  if rep_r.value and not rep_r.value.skipped then
    reputation = rep_r.value.is_known_bad and "Bad" or "Clean"
  end
  local on_call = oncall_r.value and oncall_r.value.on_call
  local checks = {
    ip = triage.ip_check(f.source_ip, ips_r.value),
    device = triage.device_check(u.devices, f.user_agent),
    on_call = triage.yes_no(on_call),
    reputation = reputation,
    new_factor = triage.yes_no(triage.recent_factor(u.factors, time.now())),
  }
  local base = delivery.severity(alert.severity) or "MEDIUM"
  local final, points, reasons = triage.score(base, checks, cfg("s3_triage").weights)
  -- A known-bad address fails the IP check whatever the sign-in history says.
  local ip_shown = reputation == "Bad" and triage.FAILED or checks.ip
  local result = {
    severity = final, base_severity = base, points = points, reasons = json.array(reasons),
    checks = { ip = ip_shown, device = checks.device, on_call = checks.on_call,
      reputation = reputation, new_factor = checks.new_factor },
    login = login, notes = json.array(notes), paged = false,
  }

  local rows = {
    { "User", login or f.user }, { "Bucket", f.bucket },
    { "AWS Account", f.account_name .. " (" .. f.account_id .. ")" },
    { "Timestamp", f.timestamp }, { "IP Check", ip_shown }, { "Device Check", checks.device },
    { "User On-Call", checks.on_call }, { "Severity", final },
  }

  local jira_cfg = cfg("jira")
  local ticket = step("jira.create", function()
    local priority = jira_cfg.priorities and jira_cfg.priorities[final]
    local t, err = jira.create_issue({
      url = jira_cfg.url, user = jira_cfg.user, token = secret("JIRA_TOKEN"),
      project = jira_cfg.project or "SIRT", issuetype = jira_cfg.issuetype or "Task",
      summary = "[" .. final .. "] " .. (alert.title or alert.detection or "S3 bucket policy alert"),
      description = description(alert, f, rows, result),
      labels = { "lp0", "s3-triage", alert.detection }, priority = priority,
    })
    if not t then
      error(err, 0)
    end
    return t
  end)
  result.jira_key = ticket.key
  rows[#rows + 1] = { "JIRA", "[" .. ticket.key .. "](" .. ticket.url .. ")" }

  local mm_cfg = cfg("mattermost")
  step("mattermost.post", function()
    local msg = mattermost.alert_message({
      title = alert.title or alert.detection, severity = final, fields = rows,
      text = #notes > 0 and ("**Notes:** " .. table.concat(notes, "; ")) or nil,
      footer = "lp0 s3-triage | " .. tostring(alert.detection),
    })
    msg.url = secret("MATTERMOST_WEBHOOK_URL")
    msg.channel, msg.username, msg.icon_url = mm_cfg.channel, mm_cfg.username, mm_cfg.icon_url
    local ok, err = mattermost.post(msg)
    if not ok then
      error(err, 0)
    end
    return ok
  end)

  if delivery.RANK[final] >= delivery.RANK.HIGH then
    local pd_cfg = cfg("pagerduty")
    local page = step("pagerduty.trigger", function()
      local r, err = pagerduty.trigger({
        url = pd_cfg.events_url, routing_key = secret("PAGERDUTY_ROUTING_KEY"),
        summary = "[" .. final .. "] " .. (alert.title or alert.detection),
        source = "aws:" .. f.account_id .. (f.region ~= "" and ":" .. f.region or ""),
        severity = final, dedup_key = pagerduty.dedup_key(alert),
        component = "s3", class = alert.detection,
        custom_details = { user = f.user, bucket = f.bucket, account = f.account_name .. " (" .. f.account_id .. ")",
          source_ip = f.source_ip, checks = result.checks, jira = ticket.key },
        links = { { href = ticket.url, text = "Jira " .. ticket.key } },
      })
      if not r then
        error(err, 0)
      end
      return r
    end)
    result.paged, result.pagerduty_dedup_key = true, page.dedup_key
  end

  step("jira.comment", function()
    local c, err = jira.comment({
      url = jira_cfg.url, user = jira_cfg.user, token = secret("JIRA_TOKEN"), key = ticket.key,
      body = "Raw event:\n" .. jira.code_block(alert.event or {}),
    })
    if not c then
      error(err, 0)
    end
    return c
  end)
  return result
end

-- {===================== tests =====================

local SETTINGS = {
  jira = { url = "https://jira.example.com", user = "sirt-bot@example.com", project = "SIRT" },
  mattermost = { channel = "sirt-alerts" },
  pagerduty = { schedule_id = "PSCHED1" },
  okta = { url = "https://example.okta.com", domain = "example.com" },
  abuseipdb = { threshold = 50 },
  aws_accounts = { ["123456789012"] = "production" },
}
local SECRETS = {
  JIRA_TOKEN = "jira-token", MATTERMOST_WEBHOOK_URL = "https://mm.example.com/hooks/abc123",
  PAGERDUTY_ROUTING_KEY = "R0UT1NGKEY0123456789012345678901", PAGERDUTY_TOKEN = "pd-rest",
  OKTA_TOKEN = "okta-token", ABUSEIPDB_KEY = "abuse-key",
}

local function s3_alert(source_ip, severity)
  return {
    detection = "AWS.S3.BucketPolicyModified", severity = severity or "MEDIUM",
    title = "S3 bucket modified by [arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b/jane@example.com]",
    dedup = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b/jane@example.com",
    event = {
      eventVersion = "1.08", eventSource = "s3.amazonaws.com", eventName = "PutBucketPolicy",
      eventTime = "2024-10-31T08:04:00Z", awsRegion = "eu-west-1", recipientAccountId = "123456789012",
      sourceIPAddress = source_ip,
      userAgent = "aws-cli/2.15.0 Python/3.11.6 Darwin/23.1.0 exe/x86_64 command/s3api.put-bucket-policy",
      userIdentity = {
        type = "AssumedRole", principalId = "AROAEXAMPLE:jane@example.com", accountId = "123456789012",
        arn = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b/jane@example.com",
      },
      requestParameters = { bucketName = "payroll-exports" },
    },
    context = {},
  }
end

local OKTA_USER = { method = "GET", url = "https://example.okta.com/api/v1/users/jane%40example.com",
  status = 200, json = { id = "00u1", status = "ACTIVE", profile = { login = "jane@example.com", email = "jane@example.com" } } }
local function okta_devices(platform)
  return { method = "GET", url = "*/api/v1/users/00u1/devices", status = 200,
    json = { { created = "2023-01-10T10:00:00.000Z", device = { id = "guo1", status = "ACTIVE",
      profile = { displayName = "Jane's laptop", platform = platform, serialNumber = "C02X" } } } } }
end
local OKTA_FACTORS = { method = "GET", url = "*/api/v1/users/00u1/factors", status = 200,
  json = { { id = "opf1", factorType = "push", provider = "OKTA", status = "ACTIVE", created = "2023-01-10T10:00:00.000Z" } } }
local OKTA_LOGS = { method = "GET", url = "https://example.okta.com/api/v1/logs*", status = 200,
  json = { { eventType = "user.session.start", client = { ipAddress = "81.2.69.142" } },
           { eventType = "user.session.start", client = { ipAddress = "192.0.2.44" } } } }
local function abuse(ip_addr, score)
  return { method = "GET", url = "https://api.abuseipdb.com/api/v2/check*", status = 200,
    json = { data = { ipAddress = ip_addr, abuseConfidenceScore = score, countryCode = "DE", isp = "Example ISP",
      totalReports = score > 0 and 12 or 0, isWhitelisted = false } } }
end
local function oncalls(email)
  return { method = "GET", url = "https://api.pagerduty.com/oncalls*", status = 200,
    json = { oncalls = { { escalation_level = 1, user = { id = "PU1", email = email } } }, more = false } }
end
local JIRA_CREATE = { method = "POST", url = "https://jira.example.com/rest/api/2/issue", status = 201,
  json = { id = "10042", key = "SIRT-23484", self = "https://jira.example.com/rest/api/2/issue/10042" } }
local JIRA_COMMENT = { method = "POST", url = "*/rest/api/2/issue/SIRT-23484/comment", status = 201,
  json = { id = "555", body = "..." } }
local MM_POST = { method = "POST", url = "https://mm.example.com/hooks/*", status = 200, body = "ok" }
local PD_ENQUEUE = { method = "POST", url = "https://events.pagerduty.com/v2/enqueue", status = 202,
  json = { status = "success", message = "Event processed", dedup_key = "lp0:x" } }

tests = {
  { name = "all checks pass: severity lowered, no page, one ticket, message and comment",
    alert = s3_alert("81.2.69.142"), settings = SETTINGS, secrets = SECRETS,
    mocks = { OKTA_USER, okta_devices("MACOS"), OKTA_FACTORS, OKTA_LOGS, abuse("81.2.69.142", 0),
      oncalls("Jane@Example.com"), JIRA_CREATE, JIRA_COMMENT, MM_POST, PD_ENQUEUE },
    expect_calls = {
      { method = "POST", url = "*/rest/api/2/issue", count = 1 },
      { method = "POST", url = "*/hooks/*", count = 1 },
      { method = "POST", url = "*/rest/api/2/issue/SIRT-23484/comment", count = 1 },
      { url = "*/v2/enqueue", count = 0 },
    },
    expect = { severity = "LOW", base_severity = "MEDIUM", paged = false, jira_key = "SIRT-23484",
      checks = { ip = "Passed", device = "Passed", on_call = "True", reputation = "Clean", new_factor = "False" } },
  },
  { name = "unknown IP and device, not on call: raised to CRITICAL and paged once",
    alert = s3_alert("89.160.20.112"), settings = SETTINGS, secrets = SECRETS,
    mocks = { OKTA_USER, okta_devices("WINDOWS"), OKTA_FACTORS, OKTA_LOGS, abuse("89.160.20.112", 0),
      oncalls("someone.else@example.com"), JIRA_CREATE, JIRA_COMMENT, MM_POST, PD_ENQUEUE },
    expect_calls = {
      { method = "POST", url = "*/rest/api/2/issue", count = 1 },
      { method = "POST", url = "*/hooks/*", count = 1 },
      { method = "POST", url = "https://events.pagerduty.com/v2/enqueue", count = 1 },
      { method = "POST", url = "*/comment", count = 1 },
    },
    expect = { severity = "CRITICAL", paged = true,
      checks = { ip = "Failed", device = "Failed", on_call = "False" } },
  },
  { name = "known-bad source IP: IP check failed and paged even for a known device on call",
    alert = s3_alert("89.160.20.112", "HIGH"), settings = SETTINGS, secrets = SECRETS,
    mocks = { OKTA_USER, okta_devices("MACOS"), OKTA_FACTORS, OKTA_LOGS, abuse("89.160.20.112", 97),
      oncalls("jane@example.com"), JIRA_CREATE, JIRA_COMMENT, MM_POST, PD_ENQUEUE },
    expect_calls = { { url = "*/v2/enqueue", count = 1 } },
    expect = { severity = "CRITICAL", paged = true,
      checks = { ip = "Failed", device = "Passed", on_call = "True", reputation = "Bad" } },
  },
  { name = "enrichment services down: still one ticket and one message, checks Unknown",
    alert = s3_alert("81.2.69.142"), settings = SETTINGS, secrets = SECRETS,
    mocks = {
      { url = "https://example.okta.com/*", error = "connect: connection refused" },
      { url = "https://api.abuseipdb.com/*", error = "timeout" },
      { url = "https://api.pagerduty.com/*", status = 503, body = "<html>Service Unavailable</html>" },
      JIRA_CREATE, JIRA_COMMENT, MM_POST, PD_ENQUEUE,
    },
    expect_calls = {
      { method = "POST", url = "*/rest/api/2/issue", count = 1 },
      { method = "POST", url = "*/hooks/*", count = 1 },
      { method = "POST", url = "*/comment", count = 1 },
      { url = "*/v2/enqueue", count = 0 },
    },
    expect = { severity = "MEDIUM", paged = false,
      checks = { ip = "Unknown", device = "Unknown", on_call = "Unknown", reputation = "Unknown" },
      notes = {
        "AbuseIPDB lookup failed: abuseipdb: timeout",
        "Okta System Log lookup failed: okta: connect: connection refused",
        "Okta lookup failed: okta: connect: connection refused",
        "PagerDuty lookup failed: pagerduty 503: <html>Service Unavailable</html>",
      } },
  },
  { name = "actor without an Okta login: Okta and on-call skipped with a note, still delivered",
    alert = (function()
      local a = s3_alert("81.2.69.142")
      a.event.userIdentity = { type = "IAMUser", userName = "ci-bot", accountId = "123456789012",
        arn = "arn:aws:iam::123456789012:user/ci-bot" }
      return a
    end)(),
    settings = (function()
      local s = {}
      for k, v in pairs(SETTINGS) do s[k] = v end
      s.okta = { url = "https://example.okta.com" } -- no domain: "ci-bot" cannot be mapped
      return s
    end)(),
    secrets = SECRETS,
    mocks = { abuse("81.2.69.142", 0), JIRA_CREATE, JIRA_COMMENT, MM_POST, PD_ENQUEUE },
    expect_calls = {
      { url = "https://example.okta.com/*", count = 0 },
      { url = "https://api.pagerduty.com/*", count = 0 },
      { method = "POST", url = "*/rest/api/2/issue", count = 1 },
      { method = "POST", url = "*/hooks/*", count = 1 },
    },
    expect = { severity = "MEDIUM", paged = false,
      checks = { ip = "Unknown", device = "Unknown", on_call = "Unknown", reputation = "Clean" },
      notes = {
        "Okta System Log lookup failed: no Okta login for the actor",
        "Okta lookup failed: no Okta login for the actor",
        "PagerDuty lookup failed: no e-mail to look up",
        "user mapping: 'ci-bot' is not a login and no domain is configured",
      } },
  },
  { name = "enrichment secrets unset: lookups skipped with notes, no request sent",
    alert = s3_alert("81.2.69.142"), settings = SETTINGS,
    secrets = { JIRA_TOKEN = "jira-token", MATTERMOST_WEBHOOK_URL = "https://mm.example.com/hooks/abc123" },
    mocks = { JIRA_CREATE, JIRA_COMMENT, MM_POST },
    expect_calls = {
      { method = "GET", url = "*", count = 0 },
      { method = "POST", url = "*/rest/api/2/issue", count = 1 },
      { method = "POST", url = "*/hooks/*", count = 1 },
    },
    expect = { severity = "MEDIUM", paged = false,
      notes = {
        "AbuseIPDB lookup failed: ABUSEIPDB_KEY is not set",
        "Okta System Log lookup failed: OKTA_TOKEN is not set",
        "Okta lookup failed: OKTA_TOKEN is not set",
        "PagerDuty lookup failed: PAGERDUTY_TOKEN is not set",
      } },
  },
  { name = "Jira rejects the issue: the run fails with Jira's message, nothing posted",
    alert = s3_alert("81.2.69.142"), settings = SETTINGS, secrets = SECRETS,
    mocks = { OKTA_USER, okta_devices("MACOS"), OKTA_FACTORS, OKTA_LOGS, abuse("81.2.69.142", 0),
      oncalls("jane@example.com"), MM_POST, PD_ENQUEUE,
      { method = "POST", url = "*/rest/api/2/issue", status = 400,
        json = { errorMessages = {}, errors = { summary = "You must specify a summary of the issue." } } } },
    expect_calls = { { method = "POST", url = "*/hooks/*", count = 0 }, { url = "*/comment", count = 0 } },
    expect_error = "jira 400: summary: You must specify a summary of the issue.",
  },
}

-- }====================================================
