-- A story exercising the engine's API: parallel HTTP enrichment, durable steps, secrets,
-- settings, sleep and error paths. Its tests run under `lp0 test tests/stories`.
name = "enrich"
on = { detections = { "Test.*" }, severity_at_least = "MEDIUM" }

local function lookup(url)
  local r, err = http.get(url, { headers = { Authorization = "Bearer " .. secret("API_TOKEN") } })
  if not r then return { ok = false, err = err } end
  return { ok = r.status == 200, status = r.status, data = r.json() }
end

function run(alert)
  local base = settings.api or "https://api.example.com"
  local user, ip = parallel(
    function() return lookup(base .. "/users/" .. alert.context.user) end,
    function() return lookup(base .. "/ips/" .. alert.context.ip) end)
  sleep(0.01)
  local ticket = step("ticket", function()
    local r, err = http.post(base .. "/tickets", { json = { title = alert.title, user = user.ok and user.data.name or "unknown" } })
    if not r then error("ticket: " .. err) end
    if r.status ~= 201 then error("ticket: HTTP " .. r.status .. ": " .. r.body) end
    return r.json().key
  end)
  log.info("opened", ticket, "with token", secret("API_TOKEN"))
  return { ticket = ticket, user_ok = user.ok, ip_ok = ip.ok, ip_err = ip.err }
end

local alert = { detection = "Test.Hit", severity = "HIGH", title = "hit",
                context = { user = "bob", ip = "198.51.100.7" } }

tests = {
  { name = "enriches in parallel and opens one ticket",
    alert = alert, secrets = { API_TOKEN = "tok-123456" },
    mocks = {
      { method = "GET", url = "https://api.example.com/users/bob", json = { name = "Bob" }, delay = 0.05 },
      { method = "GET", url = "https://api.example.com/ips/*", json = { bad = false }, delay = 0.05 },
      { method = "POST", url = "*/tickets", status = 201, json = { key = "SIRT-1" } },
    },
    expect_calls = { { method = "GET", url = "*/users/bob", count = 1 },
                     { url = "*/ips/198.51.100.7", count = 1 },
                     { method = "POST", url = "*/tickets", count = 1 } },
    expect = { ticket = "SIRT-1", user_ok = true, ip_ok = true } },
  { name = "an unreachable enrichment service does not stop the ticket",
    alert = alert, secrets = { API_TOKEN = "tok-123456" },
    mocks = {
      { url = "*/users/*", status = 500, body = "boom" },
      { url = "*/ips/*", error = "connect: connection refused" },
      { method = "POST", url = "*/tickets", status = 201, json = { key = "SIRT-2" } },
    },
    expect = { ticket = "SIRT-2", user_ok = false, ip_ok = false, ip_err = "connect: connection refused" } },
  { name = "settings choose the service",
    alert = alert, secrets = { API_TOKEN = "tok-123456" }, settings = { api = "http://intranet:8080" },
    mocks = { { url = "http://intranet:8080/*", status = 201, json = { key = "IN-9" } } },
    expect_calls = { { url = "https://api.example.com/*", count = 0 } },
    expect = { ticket = "IN-9" } },
  { name = "a failed ticket fails the run",
    alert = alert, secrets = { API_TOKEN = "tok-123456" },
    mocks = { { method = "GET", url = "*", json = {} },
              { method = "POST", url = "*/tickets", status = 400, body = "missing title" } },
    expect_error = "ticket: HTTP 400: missing title" },
  { name = "a missing secret fails the run",
    alert = alert, mocks = { { url = "*", json = {} } },
    expect_error = "secret 'API_TOKEN' is not set" },
}
