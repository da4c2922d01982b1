#!/usr/bin/env bash
# The story benchmark: N alerts (default 1,000), each triggering a story that makes 3
# enrichment requests in parallel and then 2 deliveries (each in a step), against a local
# HTTP responder with a fixed latency per request (default 20 ms, like a nearby API).
# Prints the total time from the first event posted to the last run succeeded, runs/s,
# the peak number of requests in flight at the responder, and lp0's peak RSS.
#
# usage: tests/bench/stories.sh [N] [LATENCY_MS]
# environment: LP0 (default build/lp0), PER_HOST (story_http_per_host, default 64)
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-1000}
latency=${2:-20}
lp0=${LP0:-$root/build/lp0}
per_host=${PER_HOST:-64}
[ -x "$lp0" ] || { echo "bench: $lp0 is not an executable; run make first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'kill $lp0_pid $srv_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT

# The responder: asyncio, keep-alive, answers every request after LATENCY_MS with a small
# JSON body, and counts the peak of requests in flight.
cat >"$tmp/responder.py" <<'PY'
import asyncio, json, sys
latency = float(sys.argv[1]) / 1000.0
state = {"inflight": 0, "peak": 0, "total": 0}
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            path = head.split(b" ")[1]
            if path == b"/_stats":
                body = json.dumps(state).encode()
            else:
                state["inflight"] += 1
                state["total"] += 1
                state["peak"] = max(state["peak"], state["inflight"])
                await asyncio.sleep(latency)
                state["inflight"] -= 1
                body = b'{"ok":true,"key":"SIRT-1","score":0}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
python3 "$tmp/responder.py" "$latency" >"$tmp/port.srv" &
srv_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port.srv" ] && break; sleep 0.1; done
sport=$(cat "$tmp/port.srv")

mkdir -p "$tmp/det" "$tmp/scripts"
cat >"$tmp/det/hit.lua" <<'LUA'
id = "Bench.Hit"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
match = { eventName = "Hit" }
function rule(e) return true end
function dedup(e) return e.user end
LUA
cat >"$tmp/scripts/bench.lua" <<'LUA'
name = "bench"
on = { detections = { "Bench.Hit" } }
function run(alert)
  local base = settings.base
  local user, ip, oncall = parallel(
    function() return http.get(base .. "/users/" .. alert.dedup) end,
    function() return http.get(base .. "/ips/198.51.100.7") end,
    function() return http.get(base .. "/oncalls") end)
  assert(user and ip and oncall, "enrichment failed")
  local key = step("ticket", function()
    return assert(http.post(base .. "/ticket", { json = { title = alert.title } })).json().key
  end)
  step("message", function()
    return assert(http.post(base .. "/hooks/x", { json = { text = key } })).status
  end)
  return { key = key }
end
LUA
cat >"$tmp/lp0.lua" <<CFG
listen = "127.0.0.1:0"
state_dir = "$tmp/var"
detections = { "$tmp/det" }
stories = { "$tmp/scripts" }
alerts = { log = "$tmp/alerts.ndjson" }
settings = { base = "http://127.0.0.1:$sport" }
story_http_per_host = $per_host
story_max_running = 2000
CFG
"$lp0" run -c "$tmp/lp0.lua" -p "$tmp/port" 2>"$tmp/stderr.log" &
lp0_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
python3 - "$n" "$tmp/events.ndjson" <<'PY'
import json, sys
with open(sys.argv[2], "w") as f:
    for i in range(int(sys.argv[1])):
        f.write(json.dumps({"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "Hit",
                            "eventTime": "2024-10-31T08:00:00Z", "user": "user%05d" % i}) + "\n")
PY
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
start=$(date +%s.%N)
curl -s -o /dev/null -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/events.ndjson" \
  "http://127.0.0.1:$port/ingest/cloudtrail"
while :; do
  done_=$(metric 'lp0_story_runs_total{story="bench",result="succeeded"}'); done_=${done_:-0}
  [ "${done_%.*}" -ge "$n" ] && break
  failed=$(metric 'lp0_story_runs_total{story="bench",result="failed"}')
  [ -n "$failed" ] && { echo "bench: runs failed:"; tail -5 "$tmp/stderr.log"; exit 1; }
  sleep 0.05
done
end=$(date +%s.%N)
stats=$(curl -s "http://127.0.0.1:$sport/_stats")
secs=$(echo "$end - $start" | bc -l)
echo "stories: $n alerts x (3 parallel GETs + 2 POSTs in steps), ${latency} ms per request, story_http_per_host $per_host"
printf '  total %.2f s  =>  %.0f runs/s, %.0f requests/s\n' "$secs" "$(echo "$n / $secs" | bc -l)" \
  "$(echo "$n * 5 / $secs" | bc -l)"
echo "  responder: $stats"
echo "  lp0 peak RSS: $(awk '/VmHWM/ { printf "%.1f MB", $2 / 1024 }' /proc/$lp0_pid/status)"
kill -TERM "$lp0_pid"; wait "$lp0_pid" || true
