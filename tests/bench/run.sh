#!/bin/sh
# The replay benchmark: events/s and peak RSS of `lp0 replay --workers 1` on a
# deterministic CloudTrail corpus with 30 real detections of the bundled pack, then with
# 270 and 2,970 generated detections added (distinct prefilters), plus the cJSON
# parse-and-free floor measured in the same run. Prints figures; asserts nothing.
#
# usage: tests/bench/run.sh [EVENTS]      (default 200000; LP0=path/to/lp0)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
lp0=${LP0:-$root/build/lp0}
events=${1:-200000}
cache="$here/.cache"
mkdir -p "$cache"
[ -x "$lp0" ] || { echo "bench: $lp0 not found: run 'make' first" >&2; exit 2; }

corpus="$cache/cloudtrail-$events.ndjson"
[ -f "$corpus" ] || python3 "$here/gen_corpus.py" "$events" "$corpus"

# 30 detections from the bundled pack: the 25 Panther CloudTrail ports, the 4 CIS
# detections and the tiered S3 policy scenario.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/d30/pack"
ln -s "$root/detections/lib" "$work/d30/lib"
for f in "$root"/detections/aws_cloudtrail/*.lua "$root"/detections/aws_cloudtrail/cis/*.lua \
         "$root"/detections/aws_cloudtrail/threats/s3_bucket_policy_tiered.lua; do
  ln -s "$f" "$work/d30/pack/$(basename "$f")"
done
n30=$(ls "$work/d30/pack" | wc -l)
for n in 300 3000; do
  cp -r "$work/d30" "$work/d$n"
  python3 "$here/gen_detections.py" $((n - n30)) "$work/d$n/generated"
done

cc -O2 -o "$work/baseline" "$here/baseline_cjson.c" -lcjson
"$work/baseline" "$corpus"

printf '%-12s %12s %10s %10s %8s\n' detections events/s "ratio" "RSS MB" alerts
base=""
for n in 30 300 3000; do
  line=$("$lp0" replay -q --workers 1 -d "$work/d$n" -o /dev/null "$corpus" 2>&1 | grep '^replay:')
  eps=$(echo "$line" | sed 's/.*(\([0-9]*\) events\/s).*/\1/')
  rss=$(echo "$line" | sed 's/.*peak RSS \([0-9.]*\) MB.*/\1/')
  alerts=$(echo "$line" | sed 's/.*s), \([0-9]*\) alerts.*/\1/')
  [ -n "$base" ] || base=$eps
  ratio=$(awk -v a="$eps" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
  count=$n; [ "$n" = 30 ] && count=$n30
  printf '%-12s %12s %10s %10s %8s\n' "$count" "$eps" "$ratio" "$rss" "$alerts"
done
