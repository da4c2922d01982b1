#!/usr/bin/env python3
"""Turn a Panther conformance file into lp0 tests (a `.tests.json` sidecar).

The conformance files (shared/conformance/panther/<LogType>/<RuleID>.json, see the
README there) carry upstream Panther test events plus reference outputs. This module
maps them onto the lp0 test format of docs/detections.md:

    upstream             lp0 test
    name              -> name (optionally prefixed)
    expected_result   -> expect
    log               -> event (key order and values unchanged)
    mocks             -> mocks (Panther's objectName/returnValue list, verbatim)
    expected_outputs  -> title, severity, dedup, context (positive tests only;
                         `PantherFlow Investigation` is dropped: it is a generated
                         Panther query string, not part of lp0's context)

Multi-log-type rules (the file has `tests_filter`) also get `log_type`, the directory's
log type, because the detection's first log type need not be the one of the events.

Used by panther_conformance.py and, as a command, to (re)generate the bundled sidecars:

    panther_sidecar.py CONFORMANCE.json OUT.tests.json [--prefix P] [--attribution TEXT]

Python 3 standard library only.
"""

import argparse
import json
import sys

# Context keys that only make sense inside Panther.
PANTHER_ONLY_CONTEXT_KEYS = ("PantherFlow Investigation",)


def lp0_test(doc, test, prefix=""):
    """Return one lp0 test (a dict) for one upstream test of conformance file `doc`."""
    out = {"name": prefix + test["name"], "expect": bool(test["expected_result"])}
    if doc.get("tests_filter"):
        out["log_type"] = doc["log_type"]
    out["mocks"] = test.get("mocks", [])
    outputs = test.get("expected_outputs")
    if test["expected_result"] and outputs:
        for key in ("title", "severity", "dedup"):
            if key in outputs:
                out[key] = outputs[key]
        context = outputs.get("alert_context")
        if isinstance(context, dict):
            out["context"] = {k: v for k, v in context.items()
                              if k not in PANTHER_ONLY_CONTEXT_KEYS}
    out["event"] = test["log"]
    return out


def lp0_tests(doc, prefix=""):
    """Return the lp0 tests for every upstream test of conformance file `doc`."""
    return [lp0_test(doc, t, prefix) for t in doc.get("tests", [])]


def attribution(doc):
    """One line naming where the tests come from and under which licence."""
    return ("panther-labs/panther-analysis @ %s, %s, Apache-2.0; see "
            "../shared/conformance/panther/README.md"
            % (doc.get("source_commit", "?"), doc.get("source_yaml", doc.get("source", "?"))))


def sidecar(doc, prefix="", attribution_text=None):
    """Return the sidecar object {"attribution": ..., "tests": [...]}."""
    return {"attribution": attribution_text or attribution(doc),
            "tests": lp0_tests(doc, prefix)}


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=2)
        f.write("\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("conformance", help="shared/conformance/panther/<LogType>/<RuleID>.json")
    ap.add_argument("out", help="sidecar to write, e.g. detections/x/rule.tests.json")
    ap.add_argument("--prefix", default="", help="prefix for every test name")
    ap.add_argument("--attribution", help="attribution line (default: built from the file)")
    args = ap.parse_args(argv)
    with open(args.conformance, encoding="utf-8") as f:
        doc = json.load(f)
    write_json(args.out, sidecar(doc, args.prefix, args.attribution))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
