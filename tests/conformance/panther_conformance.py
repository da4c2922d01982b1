#!/usr/bin/env python3
"""Panther conformance: run the upstream Panther test events against lp0's detections.

    panther_conformance.py --lp0 PATH/TO/lp0 --repo REPO_ROOT [--shared DIR]

Reads every <shared>/conformance/panther/<LogType>/<RuleID>.json (the shared data set,
not the sidecar copies bundled with the detections), finds the bundled detection whose
`id = "<RuleID>"` under REPO_ROOT/detections, copies the detections tree to a temporary
directory, replaces each such detection's sidecar with one generated from the upstream
tests (names prefixed "upstream: ", see panther_sidecar.py), runs
`lp0 test --junit OUT.xml TMPDIR` and counts, from the JUnit report, the "upstream: "
test cases that have no <failure>/<error>. A rule without a bundled detection counts all
its tests as failed.

Prints each failure, then "N of TOTAL upstream tests pass". Exit status: 0 when all
pass, 1 otherwise, 77 (ctest SKIP_RETURN_CODE) when the conformance data is absent.
The shared directory is --shared, else $LP0_SHARED, else REPO_ROOT/../shared.

Python 3 standard library only.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree when ctest runs us
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import panther_sidecar  # noqa: E402

PREFIX = "upstream: "
SKIP = 77
ID_RE = re.compile(r"""^[ \t]*id[ \t]*=[ \t]*(["'])(.+?)\1""", re.M)


def shared_dir(args):
    if args.shared:
        return args.shared
    if os.environ.get("LP0_SHARED"):
        return os.environ["LP0_SHARED"]
    return os.path.join(args.repo, "..", "shared")


def load_rules(panther_dir):
    """[(path, doc)] for every conformance file, in a stable order."""
    rules = []
    for path in sorted(glob.glob(os.path.join(panther_dir, "*", "*.json"))):
        with open(path, encoding="utf-8") as f:
            rules.append((path, json.load(f)))
    return rules


def find_detections(root):
    """{id: [relative .lua paths]} for the detections under root (lib/ folders skipped)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "lib")
        for name in sorted(filenames):
            if not name.endswith(".lua"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                m = ID_RE.search(f.read())
            if m:
                found.setdefault(m.group(2), []).append(os.path.relpath(path, root))
    return found


def junit_results(path):
    """{(detection id, test name): None when passed, else the failure message}."""
    results = {}
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            key = (case.get("classname") or suite.get("name"), case.get("name"))
            bad = case.find("failure")
            if bad is None:
                bad = case.find("error")
            if bad is None and case.find("skipped") is not None:
                results[key] = "skipped"
            elif bad is None:
                results[key] = None
            else:
                results[key] = (bad.get("message") or bad.text or "failed").strip()
    return results


def run_lp0(lp0, detections, junit, verbose):
    """Run `lp0 test`; its exit status is not used, the JUnit report is."""
    cmd = [lp0, "test", "--junit", junit, detections]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print("error: cannot run %s: %s" % (" ".join(cmd), exc))
        return None
    output = proc.stdout.decode("utf-8", "replace")
    if verbose:
        print(output)
    if not os.path.exists(junit):
        print("error: %s wrote no JUnit report (exit %d); its output:\n%s"
              % (lp0, proc.returncode, output[-4000:]))
        return None
    try:
        return junit_results(junit)
    except ET.ParseError as exc:
        print("error: unreadable JUnit report %s: %s" % (junit, exc))
        return None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lp0", required=True, help="the lp0 binary")
    ap.add_argument("--repo", required=True, help="repository root (holds detections/)")
    ap.add_argument("--shared", help="shared directory (default $LP0_SHARED or REPO/../shared)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("-v", "--verbose", action="store_true", help="print lp0's output")
    args = ap.parse_args(argv)

    shared = os.path.abspath(shared_dir(args))
    panther_dir = os.path.join(shared, "conformance", "panther")
    if not os.path.isdir(panther_dir):
        where = panther_dir if os.path.isdir(shared) else shared
        print("SKIPPED: conformance data not found at %s "
              "(it lives beside the repository in ../shared)" % where)
        return SKIP

    rules = load_rules(panther_dir)
    total = sum(len(doc.get("tests", [])) for _, doc in rules)
    source = os.path.join(os.path.abspath(args.repo), "detections")
    bundled = find_detections(source) if os.path.isdir(source) else {}

    tmp = tempfile.mkdtemp(prefix="lp0-conformance-")
    try:
        detections = os.path.join(tmp, "detections")
        if os.path.isdir(source):
            shutil.copytree(source, detections)
        else:
            os.makedirs(detections)
        failures = []
        for path, doc in rules:
            rule_id = doc["rule_id"]
            paths = bundled.get(rule_id)
            if not paths:
                continue
            if len(paths) > 1:
                print("warning: %s is defined by %s; using %s"
                      % (rule_id, ", ".join(paths), paths[0]))
            sidecar = os.path.join(detections, paths[0][:-len(".lua")] + ".tests.json")
            panther_sidecar.write_json(sidecar, panther_sidecar.sidecar(doc, PREFIX))

        results = run_lp0(os.path.abspath(args.lp0), detections,
                          os.path.join(tmp, "junit.xml"), args.verbose)
        passed = 0
        for path, doc in rules:
            rule_id = doc["rule_id"]
            for test in doc.get("tests", []):
                if rule_id not in bundled:
                    reason = "no bundled detection with this id"
                elif results is None:
                    reason = "lp0 test did not produce results"
                else:
                    key = (rule_id, PREFIX + test["name"])
                    reason = results.get(key, "not run (no such test case in the JUnit report)")
                if reason is None:
                    passed += 1
                else:
                    failures.append("FAIL %s / %s: %s" % (rule_id, test["name"], reason))
        for line in failures:
            print(line)
        print("%d of %d upstream tests pass" % (passed, total))
        return 0 if passed == total else 1
    finally:
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
