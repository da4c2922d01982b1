-- balloon.lua — the plug story: when something critical happens, a TP-Link Kasa smart
-- plug switches on an air compressor and a balloon inflates in the office.
--
-- Enabled by configuration only: without settings.balloon.host it triggers on nothing.
--
--   settings = {
--     balloon = {
--       host = "192.168.1.50",          -- the plug ("host" or "host:port", port 9999)
--       min_severity = "HIGH",          -- alerts at or above this severity inflate
--       seconds = { HIGH = 10, CRITICAL = 20 },
--     },
--   }
--
-- Safety is the engine's (docs/plug.md): every pulse installs a device-side countdown
-- so the plug switches itself off even if lp0 dies; lp0 switches it off at the deadline
-- too (persisted across restarts); plug_max_on_seconds caps a pulse however often it is
-- extended; plug_cooldown_seconds spaces pulses. A second alert while the balloon
-- inflates extends the pulse instead of toggling the plug.
-- SPDX-License-Identifier: MIT

name = "balloon"

local RANK = { INFO = 0, LOW = 1, MEDIUM = 2, HIGH = 3, CRITICAL = 4 }
local DEFAULT_SECONDS = { HIGH = 10, CRITICAL = 20 }

local function config()
  local b = settings.balloon
  if type(b) ~= "table" or type(b.host) ~= "string" then return nil end
  return b
end

on = function(alert)
  local b = config()
  if not b then return false end
  local min = RANK[b.min_severity or "HIGH"] or RANK.HIGH
  return (RANK[alert.severity] or -1) >= min
end

function run(alert)
  local b = config()
  if not b then return { pulsed = false, reason = "settings.balloon.host is not set" } end
  local per = b.seconds or DEFAULT_SECONDS
  local seconds = per[alert.severity] or DEFAULT_SECONDS[alert.severity] or 10
  -- a step: a run resumed after a restart does not inflate a second time
  local r = step("pulse", function()
    local res, err, code = plug.pulse(b.host, seconds)
    if res then
      return { pulsed = true, seconds = res.seconds, extended = res.extended, capped = res.capped }
    end
    if code == "cooldown" then return { pulsed = false, reason = "cooldown: " .. err } end
    error("balloon: " .. err)
  end)
  if r.pulsed then
    log.info(string.format("%s %s for %d s: %s [%s]", b.host,
      r.extended and "extended the pulse" or "inflating", r.seconds, alert.title, alert.severity))
  else
    log.info(string.format("%s not inflated (%s): %s", b.host, r.reason, alert.title))
  end
  return r
end

local settings_on = { balloon = { host = "10.0.0.5", seconds = { HIGH = 10, CRITICAL = 20 } } }
local critical = { detection = "AWS.Root.Activity", severity = "CRITICAL", title = "root console login" }

tests = {
  { name = "a critical alert inflates for 20 s",
    settings = settings_on, alert = critical,
    expect_calls = { { method = "PULSE", url = "plug://10.0.0.5:9999", count = 1 } },
    expect = { pulsed = true, seconds = 20 } },
  { name = "a high alert inflates for 10 s on a plug with a port",
    settings = { balloon = { host = "10.0.0.6:10000" } },
    alert = { detection = "X", severity = "HIGH", title = "t" },
    expect_calls = { { method = "PULSE", url = "plug://10.0.0.6:10000", count = 1 } },
    expect = { pulsed = true, seconds = 10 } },
  { name = "cooldown is not a failure",
    settings = settings_on, alert = critical,
    mocks = { { method = "PULSE", url = "plug://*", error = "pulse refused: cooldown (12 s left)" } },
    expect = { pulsed = false } },
  { name = "an unreachable plug fails the run (retried, visible in lp0 runs)",
    settings = settings_on, alert = critical,
    mocks = { { url = "plug://*", error = "10.0.0.5:9999: connection refused" } },
    expect_error = "balloon: 10.0.0.5:9999: connection refused" },
  { name = "no host configured: nothing happens",
    settings = {}, alert = critical,
    expect_calls = { { url = "plug://*", count = 0 } },
    expect = { pulsed = false } },
}
