-- Network.Beacon.RegularConnections: a host calls the same public address and port at
-- regular intervals: malware checking in with its command-and-control server.
-- Over generic connection, DNS or proxy logs given the log type "Network.Connection"
-- (a source with log_type = "Network.Connection"): one JSON object per connection with
-- `timestamp`, `src_ip`, `dst_ip` (or `dst_host` for DNS and proxy logs) and `dst_port`.
-- The beacon test (docs/correlation.md): within 60 minutes, at least 10 connections from
-- the same source to the same destination, with a coefficient of variation of the
-- intervals between them of at most 0.1 (a 60 s beacon with ±6 s of jitter passes;
-- people browsing do not).

id = "Network.Beacon.RegularConnections"
display_name = "Regular outbound connections (beaconing)"
log_types = { "Network.Connection" }
default_severity = "HIGH"
dedup_minutes = 60
reports = { ["MITRE ATT&CK"] = { "TA0011:T1071", "TA0011:T1573" } }
tags = { "Network", "Command and Control" }
default_runbook = "Identify the process on the source host that makes the connections " ..
  "(EDR, netstat), look the destination up, and isolate the host if it is not a known agent."

beacon = {
  group_by = function(e)
    return tostring(e.src_ip) .. " -> " .. tostring(e.dst_host or e.dst_ip) .. ":" .. tostring(e.dst_port or "")
  end,
  min_events = 10,
  max_jitter = 0.1,
  window_minutes = 60,
}

-- Known agents that check in on a timer (update services, monitoring), by destination.
ALLOWED_DESTINATIONS = { ["ntp.ubuntu.com"] = true }

function rule(e)
  local dst = e.dst_host or e.dst_ip
  if dst == nil or e.src_ip == nil then return false end
  if ALLOWED_DESTINATIONS[dst] then return false end
  -- outbound only: the destination is not a private address
  return not (e.dst_ip ~= nil and ip.is_private(e.dst_ip))
end

local function conn(t, dst)
  return { timestamp = t, src_ip = "10.0.4.21", dst_ip = dst or "203.0.113.50", dst_port = 443 }
end

-- 12 connections every 60 s with a few seconds of jitter (deterministic).
local jitter = { 0, 3, -2, 4, -4, 1, 2, -3, 0, 5, -1, 2 }
local beacon_events, burst, human = {}, {}, {}
for i = 1, 12 do
  local s = (i - 1) * 60 + jitter[i] + 10
  beacon_events[i] = conn(string.format("2024-10-31T08:%02d:%02dZ", s // 60, s % 60))
end
for i = 1, 6 do burst[i] = conn(string.format("2024-10-31T08:%02d:00Z", i)) end
local human_offsets = { 5, 9, 71, 180, 190, 420, 1300, 1310, 1320, 2400, 2460, 3100 }
for i, s in ipairs(human_offsets) do
  human[i] = conn(string.format("2024-10-31T08:%02d:%02dZ", s // 60, s % 60))
end

tests = {
  { name = "a 60-second beacon with a little jitter", expect_alerts = 1,
    expect_titles = { "Regular outbound connections (beaconing): 10.0.4.21 -> 203.0.113.50:443" },
    events = beacon_events },
  { name = "human-like irregular traffic", expect_alerts = 0, events = human },
  { name = "a regular but short burst below min_events", expect_alerts = 0, events = burst },
  { name = "a single outbound connection matches the rule", expect = true, event = conn("2024-10-31T08:00:00Z") },
  { name = "internal traffic is not beaconing", expect = false, event = conn("2024-10-31T08:00:00Z", "10.0.9.9") },
}
