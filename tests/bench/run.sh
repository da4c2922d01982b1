#!/usr/bin/env bash
# The replay benchmark: events/s and peak RSS of `lp0 replay --workers 1` on a
# deterministic synthetic CloudTrail corpus, with the 30 bench detections, then with 270
# and 2,970 generated detections added (300 and 3,000 in all), next to two reference
# points measured in the same run: a plain cJSON parse-and-free of every line
# (baseline_cjson.c) and lp0 with one detection no event reaches (the engine's floor).
# Prints figures, asserts no timing. See tests/bench/README.md.
#
# usage: tests/bench/run.sh [EVENTS]          (default 200000)
# environment:
#   LP0=path/to/lp0   binary to measure (default: build/lp0 under the repository root);
#                     nothing is built here
#   SEED=1            corpus and generated-detection seed
#   REPEAT=1          runs per configuration; the table shows the fastest
#   CC=cc             compiler for baseline_cjson.c
#
# The corpus is generated once per (EVENTS, SEED, generator version) into
# tests/bench/.cache/ and reused. Exit status: 0 when every run worked, 1 when lp0 failed
# or the three configurations disagree on the alerts (the generated detections never
# match the corpus, so they must not change the output), 2 on a usage or setup error.
# `make bench` runs this with sh: switch to bash before any bash-only line is parsed.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
events=${1:-200000}
seed=${SEED:-1}
repeat=${REPEAT:-1}
lp0=${LP0:-$root/build/lp0}
cc=${CC:-cc}
cache="$here/.cache"

case $events in '' | *[!0-9]*) echo "usage: $0 [EVENTS]" >&2; exit 2 ;; esac
case $repeat in '' | *[!0-9]* | 0) echo "bench: REPEAT must be a positive integer" >&2; exit 2 ;; esac
if [ ! -x "$lp0" ]; then
  echo "bench: $lp0 is not an executable; build lp0 first (make) or set LP0" >&2
  exit 2
fi
command -v python3 >/dev/null || { echo "bench: python3 is required" >&2; exit 2; }

mkdir -p "$cache"
[ -f "$cache/.gitignore" ] || printf '*\n' >"$cache/.gitignore"

# --- inputs ------------------------------------------------------------------------------
gen_version=$(sha1sum "$here/gen_corpus.py" | cut -c1-10)
corpus="$cache/corpus-$events-s$seed-$gen_version.ndjson"
if [ ! -s "$corpus" ]; then
  echo "bench: generating $events events into ${corpus#"$root"/}" >&2
  python3 "$here/gen_corpus.py" "$events" "$corpus.tmp" --seed "$seed"
  mv "$corpus.tmp" "$corpus"
fi
rm -rf "$cache/gen270" "$cache/gen2970" "$cache/floor"
# The engine's own floor: one detection whose prefilter no event passes, so the run is
# reading, parsing, classifying and one index probe per event, and no Lua at all.
mkdir -p "$cache/floor"
cat >"$cache/floor/never.lua" <<'LUA'
id = "Bench.Floor.Never"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
match = { eventName = "BenchFloorNeverSeen" }
function rule(e) return true end
LUA
python3 "$here/gen_detections.py" 270 "$cache/gen270" --seed "$seed"
python3 "$here/gen_detections.py" 2970 "$cache/gen2970" --seed "$seed"
"$cc" -O2 -std=c11 -o "$cache/baseline_cjson" "$here/baseline_cjson.c" -lcjson

timev=""
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then timev=/usr/bin/time; fi

cat "$corpus" >/dev/null # warm the page cache so the first run does not pay for the disk

# --- runs --------------------------------------------------------------------------------
# Repeats go round the configurations (30, 300, 3000, 30, ...) so that a burst of load
# from something else on the machine does not land on one configuration only.
status=0
run_lp0() { # label, round, then the -d arguments
  local label=$1 r=$2 rc=0
  shift 2
  local cmd=("$lp0" replay -q --workers 1 "$@" -o "$cache/alerts-$label.ndjson" "$corpus")
  if [ -n "$timev" ]; then
    "$timev" -v -o "$cache/time-$label-$r.txt" "${cmd[@]}" 2>"$cache/replay-$label-$r.err" || rc=$?
  else
    "${cmd[@]}" 2>"$cache/replay-$label-$r.err" || rc=$?
  fi
  echo "$rc" >"$cache/rc-$label-$r"
  if [ "$rc" -ne 0 ]; then
    echo "bench: lp0 replay ($label detections, round $r) exited with $rc:" >&2
    tail -n 5 "$cache/replay-$label-$r.err" >&2
    status=1
  fi
}
rm -f "$cache"/baseline-*.out "$cache"/replay-*.err "$cache"/time-*.txt "$cache"/rc-*
for r in $(seq 1 "$repeat"); do
  "$cache/baseline_cjson" "$corpus" >"$cache/baseline-$r.out" || status=1
  run_lp0 floor "$r" -d "$cache/floor"
  run_lp0 30 "$r" -d "$here/detections30"
  run_lp0 300 "$r" -d "$here/detections30" -d "$cache/gen270"
  run_lp0 3000 "$r" -d "$here/detections30" -d "$cache/gen2970"
done

# --- table -------------------------------------------------------------------------------
python3 - "$cache" "$repeat" "$corpus" "$lp0" <<'EOF' || status=1
import os, re, sys
cache, repeat, corpus, lp0 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def read(p):
    try:
        with open(p, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""

def num(pattern, text, cast=float):
    m = re.search(pattern, text)
    return cast(m.group(1)) if m else None

def summary(text):
    """lp0's summary line, read leniently: any field may be missing or moved."""
    line = next((l for l in text.splitlines() if l.startswith("replay:") and "events/s" in l), "")
    return {
        "events": num(r"(\d+) events\b", line, int),
        "secs": num(r"in ([\d.]+) s\b", line),
        "eps": num(r"\(([\d.]+) events/s", line),
        "alerts": num(r"(\d+) alerts", line, int),
        "unclassified": num(r"(\d+) unclassified", line, int),
        "parse_errors": num(r"(\d+) parse errors", line, int),
        "rule_errors": num(r"(\d+) rule errors", line, int),
        "rss": num(r"peak RSS ([\d.]+) MB", line),
        "line": line,
    }

def timev(text):
    wall = re.search(r"Elapsed \(wall clock\) time.*?: (?:(\d+):)?(\d+):([\d.]+)", text)
    secs = None
    if wall:
        secs = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    kb = num(r"Maximum resident set size \(kbytes\): (\d+)", text, int)
    cpu = num(r"Percent of CPU this job got: (\d+)%", text, int)
    return {"wall": secs, "rss": kb / 1024 if kb is not None else None, "cpu": cpu}

def fmt(v, spec):
    return "-" if v is None else format(v, spec)

base, base_eps = "", None
for r in range(1, repeat + 1):  # the fastest baseline round
    text = read(os.path.join(cache, "baseline-%d.out" % r)).strip()
    eps = num(r"\(([\d.]+) events/s", text)
    if eps is not None and (base_eps is None or eps > base_eps):
        base, base_eps = text, eps
print("corpus:   %s (%.1f MB)" % (os.path.relpath(corpus), os.path.getsize(corpus) / 1048576))
print("lp0:      %s" % lp0)
print(base or "baseline: (no output)")
print()
rows = []
for label in ("floor", "30", "300", "3000"):
    best = None
    for r in range(1, repeat + 1):
        s = summary(read(os.path.join(cache, "replay-%s-%d.err" % (label, r))))
        t = timev(read(os.path.join(cache, "time-%s-%d.txt" % (label, r))))
        rc = read(os.path.join(cache, "rc-%s-%d" % (label, r))).strip()
        s.update(time_wall=t["wall"], time_rss=t["rss"], cpu=t["cpu"], rc=rc)
        if best is None or (s["eps"] or 0) > (best["eps"] or 0):
            best = s
    rows.append((label, best))

ref = rows[1][1]["eps"]
hdr = ("detections", "events/s", "vs 30", "vs cJSON", "peak RSS MB", "RSS (time -v)", "wall s", "CPU",
       "alerts", "errors")
print("%-10s %10s %7s %9s %12s %14s %8s %5s %7s %7s" % hdr)
for label, s in rows:
    errors = None if s["rule_errors"] is None else s["rule_errors"] + (s["parse_errors"] or 0)
    print("%-10s %10s %7s %9s %12s %14s %8s %5s %7s %7s" % (
        label, fmt(s["eps"], ".0f"),
        fmt(s["eps"] / ref if s["eps"] and ref else None, ".2f"),
        fmt(s["eps"] / base_eps if s["eps"] and base_eps else None, ".2f"),
        fmt(s["rss"], ".1f"), fmt(s["time_rss"], ".1f"), fmt(s["time_wall"], ".2f"),
        "-" if s["cpu"] is None else "%d%%" % s["cpu"],
        fmt(s["alerts"], "d"), fmt(errors, "d")))
print()
print("events/s and peak RSS: lp0's own summary (reading, parsing, matching, alerting; start-up excluded).")
print("floor: one detection no event reaches (read, parse, classify, index probe; no Lua).")
print("vs 30: events/s relative to the 30-detection run; vs cJSON: relative to the parse-only baseline.")
print("RSS (time -v), wall s, CPU: /usr/bin/time -v of the whole process, loading included;")
print("  CPU above 100% means more than one core was busy (reader and worker threads).")
outputs = {read(os.path.join(cache, "alerts-%s.ndjson" % label)) for label, _ in rows[1:]}
if len(outputs) != 1:
    print("WARNING: the three runs wrote different alerts (counts %s); the generated detections"
          " never match the corpus, so the output must be the same bytes" % [s["alerts"] for _, s in rows[1:]])
    sys.exit(1)
print("alerts: the three runs wrote the same %d bytes of alerts (tests/bench/.cache/alerts-*.ndjson)."
      % len(outputs.pop()))
EOF
exit $status
