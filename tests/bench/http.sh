#!/usr/bin/env bash
# The daemon benchmark: `lp0 run` with the bundled detections on loopback, driven by wrk.
#   1. throughput: POST /ingest/cloudtrail with 100-event NDJSON bodies, 8 connections,
#      as fast as the daemon answers (each answer means: evaluated and committed);
#   2. latency: single-event POSTs paced at ~1,000 requests/s (10 connections, each
#      waiting 10 ms between requests: wrk's delay(); Debian's wrk has no fixed-rate mode),
#      p50/p90/p99 from wrk --latency;
#   3. tail: the corpus written to a followed file, events/s until all are evaluated.
# Prints figures and peak RSS (VmHWM); asserts no timing. wrk runs on the same 2 cores.
#
# usage: tests/bench/http.sh [SECONDS]       (default 10 per wrk phase)
# environment: LP0 (default build/lp0), WORKERS (default 2), EVENTS (tail corpus, 100000)
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-10}
lp0=${LP0:-$root/build/lp0}
workers=${WORKERS:-2}
events=${EVENTS:-100000}
cache="$here/.cache"

command -v wrk >/dev/null || { echo "bench: wrk is required (Debian: apt-get install wrk)" >&2; exit 2; }
[ -x "$lp0" ] || { echo "bench: $lp0 is not an executable; run make first" >&2; exit 2; }
mkdir -p "$cache"
[ -f "$cache/.gitignore" ] || printf '*\n' >"$cache/.gitignore"

corpus="$cache/http-corpus-$events.ndjson"
[ -s "$corpus" ] || python3 "$here/gen_corpus.py" "$events" "$corpus" --seed 1
# 200 bodies of 100 events (wrk cycles through them), and 2,000 single events
python3 - "$corpus" "$cache/bodies100.txt" "$cache/bodies1.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
with open(sys.argv[2], "w") as f:
    for i in range(200):
        f.write("\n".join(lines[i * 100:(i + 1) * 100]) + "\n\x1e\n")
with open(sys.argv[3], "w") as f:
    for line in lines[20000:22000]:
        f.write(line + "\n\x1e\n")
PY
cat >"$cache/post.lua" <<'LUA'
-- wrk script: POST the bodies of a file (separated by lines holding only \x1e) in turn.
local bodies, i, pause = {}, 0, 0
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local text = f:read("*a")
  f:close()
  for body in text:gmatch("(.-)\n\x1e\n") do bodies[#bodies + 1] = body end
  pause = tonumber(args[2] or "0")
  i = math.random(#bodies)
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/ingest/cloudtrail", { ["Content-Type"] = "application/x-ndjson" }, bodies[i])
end
function delay() return pause end
local bad = 0
function response(status) if status ~= 200 then bad = bad + 1 end end
LUA

tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/logs"
cat >"$tmp/lp0.lua" <<CFG
listen = "127.0.0.1:0"
state_dir = "$tmp/var"
detections = { "$root/detections" }
stories = {}  -- ingest and detection only: no story runs for the alerts
workers = $workers
alerts = { log = "$tmp/alerts.ndjson" }
max_queue = 4096
sources = {
  { name = "cloudtrail", type = "webhook", log_type = "AWS.CloudTrail" },
  { name = "files", type = "tail", path = "$tmp/logs/*.ndjson", log_type = "AWS.CloudTrail",
    read_from_head = true },
}
CFG
"$lp0" run -c "$tmp/lp0.lua" -p "$tmp/port" 2>"$tmp/stderr.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/stderr.log" >&2; exit 1; }
port=$(cat "$tmp/port")
url="http://127.0.0.1:$port"
metric() { curl -s "$url/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
ndet=$(curl -s "$url/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["detections"])')
echo "lp0 run: $ndet detections, $workers workers, $(nproc) cores shared with wrk"

cpu() { awk '{ print $14 + $15 }' /proc/$pid/stat; } # lp0's user + system ticks
ticks=$(getconf CLK_TCK)
echo "== 1. throughput: 100-event NDJSON bodies, 8 connections, ${secs}s"
c0=$(cpu)
wrk -t2 -c8 -d"${secs}s" --latency -s "$cache/post.lua" "$url" -- "$cache/bodies100.txt" >"$tmp/w1.txt"
rps=$(awk '/^Requests\/sec/ { print $2 }' "$tmp/w1.txt")
grep -E "Latency|50%|99%|requests in|Non-2xx|Socket errors" "$tmp/w1.txt" | sed 's/^/   /'
c1=$(cpu)
printf '   => %.0f events/s evaluated and committed\n' "$(echo "$rps * 100" | bc -l)"
printf '   lp0 used %.1f CPU-seconds: %.0f events per lp0 CPU-second (wrk ran on the same cores)\n' \
  "$(echo "($c1 - $c0) / $ticks" | bc -l)" "$(echo "$rps * 100 * $secs / (($c1 - $c0) / $ticks)" | bc -l)"

echo "== 2. latency: single events paced at ~1,000 req/s (10 connections x 10 ms), ${secs}s"
wrk -t2 -c10 -d"${secs}s" --latency -s "$cache/post.lua" "$url" -- "$cache/bodies1.txt" 10 >"$tmp/w2.txt"
grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket errors" "$tmp/w2.txt" | sed 's/^/   /'

echo "== 3. tail: $events events written to a followed file"
before=$(metric 'lp0_events_total{source="files"}'); before=${before:-0}
start=$(date +%s.%N)
cp "$corpus" "$tmp/logs/bench.ndjson"
while :; do
  n=$(metric 'lp0_events_total{source="files"}'); n=${n:-0}
  [ "$((n - before))" -ge "$events" ] && break
  sleep 0.05
done
end=$(date +%s.%N)
printf '   %d events in %.2f s => %.0f events/s\n' "$events" "$(echo "$end - $start" | bc -l)" \
  "$(echo "$events / ($end - $start)" | bc -l)"

echo "== memory and errors"
echo "   peak RSS: $(awk '/VmHWM/ { printf "%.1f MB", $2 / 1024 }' /proc/$pid/status)"
echo "   parse errors: $(curl -s "$url/metrics" | awk '/^lp0_parse_errors_total/ { s += $2 } END { print s + 0 }'), 503s: $(curl -s "$url/metrics" | awk '/^lp0_backpressure_total/ { s += $2 } END { print s + 0 }')"
kill -TERM "$pid"
wait "$pid" && echo "   SIGTERM: drained, exit 0"
