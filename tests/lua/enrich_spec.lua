-- enrich_spec.lua — Okta and AbuseIPDB request builders and normalising parsers.
-- SPDX-License-Identifier: MIT

local function resp(status, body)
  return { status = status, body = body, headers = {}, json = function() return json.decode(body) end }
end
local OKTA = { url = "https://acme.okta.com/", token = "00abc" }

tests = {
  { name = "build_okta_user: SSWS auth, login escaped in the path", run = function()
    local req = enrich.build_okta_user({ url = OKTA.url, token = OKTA.token, login = "jane@acme.com" })
    assert_eq(req, { method = "GET", url = "https://acme.okta.com/api/v1/users/jane%40acme.com",
      headers = { Authorization = "SSWS 00abc", Accept = "application/json" } })
    req = enrich.build_okta_user({ url = OKTA.url, token = "eyJ", auth_scheme = "Bearer", login = "a/b" })
    assert_eq(req.headers.Authorization, "Bearer eyJ")
    assert_eq(req.url, "https://acme.okta.com/api/v1/users/a%2Fb")
    local ok, err = pcall(enrich.build_okta_user, { url = OKTA.url, login = "x" })
    assert(not ok and err:find("token required", 1, true), err)
  end },
  { name = "parse_okta_user: id, status, login, email", run = function()
    local u = enrich.parse_okta_user(resp(200, '{"id":"00u1","status":"ACTIVE","lastLogin":"2024-10-30T09:00:00.000Z",'
      .. '"profile":{"login":"jane@acme.com","email":"jane@acme.com","firstName":"Jane"}}'))
    assert_eq(u, { id = "00u1", status = "ACTIVE", login = "jane@acme.com", email = "jane@acme.com",
      last_login = "2024-10-30T09:00:00.000Z" })
  end },
  { name = "okta_error: errorSummary and errorCode", run = function()
    local ok, err = enrich.parse_okta_user(resp(404, '{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: x (User)",'
      .. '"errorLink":"E0000007","errorId":"oae1","errorCauses":[]}'))
    assert(ok == nil)
    assert_eq(err, "okta 404: Not found: Resource not found: x (User) (E0000007)")
    ok, err = enrich.parse_okta_devices(resp(429, '{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}'))
    assert_eq(err, "okta 429: API call exceeded rate limit due to too many requests. (E0000047)")
  end },
  { name = "parse_okta_devices: the device objects flattened", run = function()
    local d = enrich.parse_okta_devices(resp(200, '[{"created":"2023-01-10T10:00:00.000Z","device":{"id":"guo1",'
      .. '"status":"ACTIVE","profile":{"displayName":"Jane MBP","platform":"MACOS","serialNumber":"C02X","registered":true},'
      .. '"resourceType":"UDDevice"}}]'))
    assert_eq(d, { { id = "guo1", status = "ACTIVE", platform = "MACOS", name = "Jane MBP", serial = "C02X", registered = true } })
    assert_eq(enrich.build_okta_devices({ url = OKTA.url, token = OKTA.token, user_id = "00u1" }).url,
      "https://acme.okta.com/api/v1/users/00u1/devices")
    local ok, err = enrich.parse_okta_devices(resp(200, "garbage"))
    assert(ok == nil and err == "okta 200: not a JSON array", err)
  end },
  { name = "parse_okta_factors: type, provider, status, created", run = function()
    local f = enrich.parse_okta_factors(resp(200, '[{"id":"opf1","factorType":"push","provider":"OKTA",'
      .. '"vendorName":"OKTA","status":"ACTIVE","created":"2024-10-31T07:00:00.000Z","profile":{}}]'))
    assert_eq(f, { { id = "opf1", type = "push", provider = "OKTA", status = "ACTIVE", created = "2024-10-31T07:00:00.000Z" } })
    assert_eq(enrich.build_okta_factors({ url = OKTA.url, token = OKTA.token, user_id = "00u1" }).url,
      "https://acme.okta.com/api/v1/users/00u1/factors")
  end },
  { name = "build_okta_ips: System Log filter for the login's successful sign-ins", run = function()
    local now = time.parse("2024-10-31T12:00:00Z")
    local req = enrich.build_okta_ips({ url = OKTA.url, token = OKTA.token, login = 'ja"ne@acme.com', days = 7 }, now)
    assert_eq(req.url, "https://acme.okta.com/api/v1/logs")
    assert_eq(req.query, {
      filter = 'eventType eq "user.session.start" and outcome.result eq "SUCCESS" and actor.alternateId eq "ja\\"ne@acme.com"',
      since = "2024-10-24T12:00:00Z", sortOrder = "DESCENDING", limit = "200" })
  end },
  { name = "parse_okta_ips: distinct client IPs, newest first", run = function()
    local ips = enrich.parse_okta_ips(resp(200, '[{"client":{"ipAddress":"81.2.69.142"}},{"client":{"ipAddress":"192.0.2.1"}},'
      .. '{"client":{"ipAddress":"81.2.69.142"}},{"client":{}},{"actor":{}}]'))
    assert_eq(ips, { "81.2.69.142", "192.0.2.1" })
    assert_eq(enrich.parse_okta_ips(resp(200, "[]")), {})
  end },
  { name = "build_abuseipdb: Key header and query", run = function()
    local req = enrich.build_abuseipdb({ key = "k", ip = "2001:db8::1", max_age_days = 30 })
    assert_eq(req, { method = "GET", url = "https://api.abuseipdb.com/api/v2/check",
      headers = { Key = "k", Accept = "application/json" },
      query = { ipAddress = "2001:db8::1", maxAgeInDays = "30" } })
    assert_eq(enrich.build_abuseipdb({ key = "k", ip = "1.2.3.4" }).query.maxAgeInDays, "90")
  end },
  { name = "parse_abuseipdb: normalised; the threshold makes an IP known bad", run = function()
    local body = '{"data":{"ipAddress":"89.160.20.112","isPublic":true,"ipVersion":4,"isWhitelisted":false,'
      .. '"abuseConfidenceScore":75,"countryCode":"SE","usageType":"Data Center/Web Hosting/Transit","isp":"Example AB",'
      .. '"domain":"example.se","hostnames":[],"isTor":false,"totalReports":42,"numDistinctUsers":9,'
      .. '"lastReportedAt":"2024-10-30T22:11:00+00:00"}}'
    assert_eq(enrich.parse_abuseipdb(resp(200, body)), { ip = "89.160.20.112", abuse_score = 75, is_known_bad = true,
      country = "SE", isp = "Example AB", domain = "example.se", usage_type = "Data Center/Web Hosting/Transit",
      total_reports = 42, last_reported_at = "2024-10-30T22:11:00+00:00", is_tor = false, is_whitelisted = false })
    assert_eq(enrich.parse_abuseipdb(resp(200, body), 80).is_known_bad, false, "below a custom threshold")
    local white = body:gsub('"isWhitelisted":false', '"isWhitelisted":true')
    assert_eq(enrich.parse_abuseipdb(resp(200, white)).is_known_bad, false, "whitelisted")
  end },
  { name = "parse_abuseipdb: error details", run = function()
    local ok, err = enrich.parse_abuseipdb(resp(422,
      '{"errors":[{"detail":"The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).",'
      .. '"status":422,"source":{"parameter":"ipAddress"}}]}'))
    assert(ok == nil)
    assert_eq(err, "abuseipdb 422: The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).")
    ok, err = enrich.parse_abuseipdb(resp(429, '{"errors":[{"detail":"Daily rate limit of 1000 requests exceeded for this endpoint.","status":429}]}'))
    assert_eq(err, "abuseipdb 429: Daily rate limit of 1000 requests exceeded for this endpoint.")
  end },
}
