#!/usr/bin/env python3
"""attack_replay.py — replays the shared attack data through the detection pack and checks
that the documented alerts come out.

usage: attack_replay.py --lp0 PATH --repo ROOT [--shared DIR] [--raw-order]
                        [--expectations FILE] [--print-observed] [--quiet]

For every data file listed in tests/pack/attack_expectations.json (under
<shared>/data/cloudtrail), the script runs `lp0 replay -d ROOT/detections` and counts the
alerts per detection id; each listed detection must raise at least its `min` alerts.
Then every Stratus Red Team technique (line ranges of
stratus_red_team_detonations.index.tsv) is replayed on its own, and the detections listed
for it must fire at least once. It prints what fired against what was expected.

Events are fed in event-time order (eventTime, else the Logstash @timestamp of the OTRF
file): the published files are grouped by technique or session, not by time, and lp0
replay closes dedup windows as event time advances, so a file in raw order would split
the windows of late events. --raw-order feeds the files as they are.

The shared directory is --shared, else $LP0_SHARED, else ROOT/../shared. Exit status:
0 all expectations met, 1 a miss (or lp0 failed), 2 usage error, 77 the attack data is
absent (prints "SKIPPED: attack data not found at <dir>").
Python 3 standard library only.
SPDX-License-Identifier: MIT
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
STRATUS = "stratus_red_team_detonations.ndjson"
STRATUS_INDEX = "stratus_red_team_detonations.index.tsv"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lp0", required=True, help="path to the lp0 binary")
    ap.add_argument("--repo", required=True, help="repository root (holds detections/)")
    ap.add_argument("--shared", help="shared directory (default: $LP0_SHARED, else ROOT/../shared)")
    ap.add_argument("--expectations", default=os.path.join(HERE, "attack_expectations.json"))
    ap.add_argument("--raw-order", action="store_true", help="do not sort events by time")
    ap.add_argument("--print-observed", action="store_true",
                    help="print the observed counts as expectation JSON and exit 0")
    ap.add_argument("--quiet", action="store_true", help="print misses and the summary only")
    return ap.parse_args(argv)


def shared_dir(args):
    if args.shared:
        return args.shared
    env = os.environ.get("LP0_SHARED")
    if env:
        return env
    return os.path.join(os.path.abspath(args.repo), "..", "shared")


def event_time(line):
    try:
        ev = json.loads(line)
    except ValueError:
        return ""
    if not isinstance(ev, dict):
        return ""
    t = ev.get("eventTime") or ev.get("@timestamp") or ""
    return t if isinstance(t, str) else str(t)


def ordered(lines, raw_order):
    lines = [l for l in lines if l.strip()]
    if raw_order:
        return lines
    return sorted(lines, key=event_time)  # stable: ties keep file order


def replay(lp0, detections, lines):
    """Runs lp0 replay over lines; returns (Counter of detection ids, error text or None)."""
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False, encoding="utf-8") as tmp:
        tmp.write("\n".join(lines) + "\n")
        path = tmp.name
    try:
        proc = subprocess.run([lp0, "replay", "-q", "-d", detections, path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return collections.Counter(), "cannot run %s: %s" % (lp0, exc)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        return collections.Counter(), "lp0 replay exited %d: %s" % (proc.returncode, proc.stderr.strip())
    counts = collections.Counter()
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        try:
            alert = json.loads(line)
        except ValueError:
            return counts, "lp0 replay printed a non-JSON line: %r" % line[:200]
        counts[alert.get("detection", "<no detection field>")] += 1
    return counts, None


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")


def stratus_techniques(data):
    """[(technique, first_line, last_line)] from the index beside the Stratus file."""
    out = []
    with open(os.path.join(data, STRATUS_INDEX), encoding="utf-8") as f:
        for n, row in enumerate(f):
            cols = row.rstrip("\n").split("\t")
            if n == 0 or len(cols) < 3:
                continue
            out.append((cols[0], int(cols[1]), int(cols[2])))
    return out


def check_files(args, exp, data, detections, observed):
    misses = 0
    for name, wanted in exp.get("files", {}).items():
        path = os.path.join(data, name)
        if not os.path.exists(path):
            print("MISS %s: data file not found" % name)
            misses += 1
            continue
        lines = ordered(read_lines(path), args.raw_order)
        counts, err = replay(args.lp0, detections, lines)
        observed["files"][name] = counts
        if err:
            print("FAIL %s: %s" % (name, err))
            misses += 1
            continue
        if not args.quiet:
            print("== %s: %d events, %d alerts" % (name, len(lines), sum(counts.values())))
        expected_ids = set()
        for item in wanted:
            det, need = item["detection"], int(item.get("min", 1))
            expected_ids.add(det)
            got = counts.get(det, 0)
            ok = got >= need
            if not ok:
                misses += 1
            if not ok or not args.quiet:
                print("  %-4s %-52s fired %3d  expected >= %d" % ("ok" if ok else "MISS", det, got, need))
        if not args.quiet:
            for det in sorted(set(counts) - expected_ids):
                print("  %-4s %-52s fired %3d  (not in expectations)" % ("+", det, counts[det]))
    return misses


def check_techniques(args, exp, data, detections, observed):
    wanted = exp.get("stratus_techniques", {})
    if not wanted:
        return 0
    lines = read_lines(os.path.join(data, STRATUS))
    misses = 0
    if not args.quiet:
        print("== Stratus Red Team techniques, one replay each")
    for tech, first, last in stratus_techniques(data):
        counts, err = replay(args.lp0, detections, ordered(lines[first - 1:last], args.raw_order))
        observed["stratus_techniques"][tech] = sorted(counts)
        if err:
            print("FAIL %s: %s" % (tech, err))
            misses += 1
            continue
        need = wanted.get(tech)
        if need is None:
            if not args.quiet:
                print("  ?    %-62s fired: %s (no expectation)" % (tech, ", ".join(sorted(counts)) or "-"))
            continue
        missing = [d for d in need if counts.get(d, 0) < 1]
        misses += len(missing)
        if missing or not args.quiet:
            print("  %-4s %-62s fired: %s%s" % (
                "MISS" if missing else "ok", tech, ", ".join(sorted(counts)) or "-",
                ("  missing: " + ", ".join(missing)) if missing else ""))
    return misses


def main(argv):
    args = parse_args(argv)
    shared = shared_dir(args)
    data = os.path.join(shared, "data", "cloudtrail")
    if not os.path.isdir(data):
        print("SKIPPED: attack data not found at %s" % (data if os.path.isdir(shared) else shared))
        return 77
    if not os.access(args.lp0, os.X_OK):
        print("error: lp0 binary not executable: %s" % args.lp0, file=sys.stderr)
        return 2
    detections = os.path.join(args.repo, "detections")
    if not os.path.isdir(detections):
        print("error: no detections directory at %s" % detections, file=sys.stderr)
        return 2
    try:
        with open(args.expectations, encoding="utf-8") as f:
            exp = json.load(f)
    except (OSError, ValueError) as exc:
        print("error: cannot read expectations %s: %s" % (args.expectations, exc), file=sys.stderr)
        return 2

    observed = {"files": {}, "stratus_techniques": {}}
    misses = check_files(args, exp, data, detections, observed)
    misses += check_techniques(args, exp, data, detections, observed)

    if args.print_observed:
        out = {"files": {n: [{"detection": d, "min": c} for d, c in sorted(cnt.items())]
                         for n, cnt in observed["files"].items()},
               "stratus_techniques": observed["stratus_techniques"]}
        print(json.dumps(out, indent=1))
        return 0
    if misses:
        print("attack replay: %d expectation(s) missed" % misses)
        return 1
    print("attack replay: all expectations met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
