"""Shared helpers for the functional tests of the lp0 binary (tests/cli/test_*.py).

The binary under test is $LP0 (ctest sets it); without it, <repo>/build/lp0. Every test
writes its detections and logs into a fresh temporary folder and drives the real binary
through subprocess, so nothing here depends on the engine's internals.
Not named test_*.py on purpose: tests/CMakeLists.txt registers every test_*.py as a test.
"""
import datetime
import json
import os
import re
import subprocess
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LP0 = os.environ.get("LP0") or os.path.join(REPO, "build", "lp0")

if not os.access(LP0, os.X_OK):
    raise SystemExit("lp0 binary not found: set LP0=<build>/lp0 (tried %s)" % LP0)


class Result:
    """Outcome of one lp0 run: code, stdout/stderr as text, raw stdout bytes."""

    def __init__(self, args, proc):
        self.args = args
        self.code = proc.returncode
        self.raw = proc.stdout
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")

    def __repr__(self):  # shown by assertion messages
        return "lp0 %s\n--- exit %s\n--- stdout:\n%s\n--- stderr:\n%s" % (
            " ".join(self.args), self.code, self.out[-6000:], self.err[-6000:])

    @property
    def last_line(self):
        lines = self.out.rstrip("\n").split("\n")
        return lines[-1] if lines else ""


def run(*args, input=None, cwd=None, timeout=180):
    if isinstance(input, str):
        input = input.encode()
    proc = subprocess.run([LP0, *args], input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=cwd, timeout=timeout)
    return Result(list(args), proc)


def write_files(root, files):
    """files: {relative path: str (dedented) | bytes | JSON-able value}."""
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, bytes):
            data = content
        elif isinstance(content, str):
            data = textwrap.dedent(content).lstrip("\n").encode()
        else:
            data = json.dumps(content, indent=2).encode()
        with open(path, "wb") as f:
            f.write(data)
    return root


def detection(id, rule="return true", log_types=("AWS.CloudTrail",), severity="LOW",
              extra="", tests=None):
    """Lua source of a detection. `extra` is raw Lua added after the metadata; `tests`
    is raw Lua for the body of the tests array."""
    lts = ", ".join('"%s"' % t for t in log_types)
    src = ('id = "%s"\nlog_types = { %s }\ndefault_severity = "%s"\n' % (id, lts, severity))
    src += textwrap.dedent(extra).strip("\n") + "\n" if extra else ""
    src += "function rule(e)\n  %s\nend\n" % rule
    if tests is not None:
        src += "tests = {\n%s\n}\n" % textwrap.dedent(tests).strip("\n")
    return src


# {===================== events and times ===================== }

BASE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def iso(minutes=0.0, seconds=0.0):
    """ISO 8601 UTC time `minutes` (+ seconds) after 2024-01-01T00:00:00Z."""
    t = BASE + datetime.timedelta(minutes=minutes, seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ct(name, minutes=0.0, **fields):
    """A CloudTrail-shaped record (classified as AWS.CloudTrail by shape)."""
    e = {"eventVersion": "1.08", "eventSource": "test.amazonaws.com", "eventName": name,
         "eventTime": iso(minutes), "awsRegion": "eu-west-1"}
    e.update(fields)
    return e


def ndjson(events):
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)


def alerts(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


SUMMARY_RE = re.compile(
    r"^replay: (\d+) events, (\d+) bytes in ([0-9.]+) s \(([0-9.]+) events/s\), (\d+) alerts, "
    r"(\d+) unclassified, (\d+) parse errors, (\d+) rule errors, peak RSS ([0-9.]+) MB$", re.M)


def summary(stderr):
    """The replay summary line on stderr as a dict, or None when absent/malformed."""
    m = SUMMARY_RE.search(stderr)
    if not m:
        return None
    g = m.groups()
    return {"events": int(g[0]), "bytes": int(g[1]), "alerts": int(g[4]),
            "unclassified": int(g[5]), "parse_errors": int(g[6]), "rule_errors": int(g[7])}


class CliTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="lp0cli-")
        self.addCleanup(self._tmp.cleanup)
        self.tmp = self._tmp.name

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def tree(self, files, sub="det"):
        root = self.path(sub)
        os.makedirs(root, exist_ok=True)
        write_files(root, files)
        return root

    def lp0(self, *args, **kw):
        kw.setdefault("cwd", self.tmp)
        return run(*args, **kw)

    def assertExit(self, res, code):
        self.assertEqual(res.code, code, "unexpected exit code\n%r" % res)

    def assertCounts(self, res, passed, failed):
        self.assertEqual(res.last_line, "%d passed, %d failed" % (passed, failed), repr(res))

    def assertIn(self, member, container, msg=None):  # show the whole run on failure
        if isinstance(container, str) and msg is None:
            msg = "%r not found in:\n%s" % (member, container[-8000:])
        super().assertIn(member, container, msg)

    def failure_block(self, res, det_id, name):
        """The indented lines after 'FAIL det_id: name' (None when the test did not fail)."""
        lines = res.out.split("\n")
        head = "FAIL %s: %s" % (det_id, name)
        if head not in lines:
            return None
        out = []
        for line in lines[lines.index(head) + 1:]:
            if not line.startswith("    "):
                break
            out.append(line[4:])
        return "\n".join(out)

    def assertFails(self, res, det_id, name):
        block = self.failure_block(res, det_id, name)
        self.assertIsNotNone(block, "expected 'FAIL %s: %s'\n%r" % (det_id, name, res))
        return block

    def assertNoFail(self, res):
        fails = [l for l in res.out.split("\n") if l.startswith("FAIL ")]
        self.assertEqual(fails, [], repr(res))
