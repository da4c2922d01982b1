#!/usr/bin/env python3
"""Operating `lp0 run`: reload (SIGHUP and POST /-/reload), backpressure (503 with
Retry-After), per-detection error and budget metrics, tail lag, structured logs.

Run: LP0=build/lp0 python3 tests/integration/test_operations.py
"""
import json
import os
import signal
import sys
import tempfile
import threading
import time
import subprocess
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_daemon import DETECTION, LP0 as LP0_BIN, Daemon, event, stop_and_check, wait_for  # noqa: E402

EXTRA = """
id = "Test.Extra"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
match = { eventName = "Extra" }
function rule(e) return true end
tests = { { name = "x", expect = true, event = { eventName = "Extra" } } }
"""

SLOW = """
id = "Test.Slow"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
match = { eventName = "Slow" }
function rule(e)
  local x = 0
  for i = 1, 150000 do x = x + i end  -- well under the instruction budget, but slow
  return false
end
tests = { { name = "x", expect = false, event = { eventName = "Slow" } } }
"""

LOOP = """
id = "Test.Loop"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
match = { eventName = "Loop" }
function rule(e) while true do end end
"""


def metric(body, line_prefix):
    for line in body.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


class Base(unittest.TestCase):
    files = {"hit.lua": DETECTION}
    config = None
    env = None

    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        self.det = os.path.join(self.tmp, "detections")
        os.makedirs(self.det)
        for name, text in self.files.items():
            self.write(name, text)
        self.cfg = None
        if self.config is not None:
            self.cfg = os.path.join(self.tmp, "lp0.lua")
            with open(self.cfg, "w") as f:
                f.write(self.config.replace("TMP", self.tmp))
        self.prepare()
        self.d = Daemon(self.tmp, self.det, self.cfg, self.env)

    def prepare(self):
        """Files the daemon needs before it starts."""

    def write(self, name, text):
        with open(os.path.join(self.det, name), "w") as f:
            f.write(text)

    def tearDown(self):
        try:
            stop_and_check(self, self.d)
        finally:
            self.tmpdir.cleanup()

    def metrics(self):
        status, body = self.d.request("/metrics")
        self.assertEqual(status, 200)
        return body

    def detections(self):
        return json.loads(self.d.request("/healthz")[1])["detections"]


class ReloadTest(Base):
    config = 'detections = { "TMP/detections" }\n'

    def test_sighup_swaps_detections_and_keeps_open_windows(self):
        for i in range(2):  # threshold 3: an open window, no alert yet
            self.assertEqual(self.d.post("cloudtrail", event(t="2024-10-31T08:0%d:00Z" % i))[0], 200)
        self.assertEqual(self.d.alerts(), [])
        self.write("hit.lua", DETECTION.replace("threshold = 3", "threshold = 2"))
        self.write("extra.lua", EXTRA)
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.detections() == 2), self.d.log())
        # the window opened before the reload goes on under the new threshold
        self.assertEqual(self.d.post("cloudtrail", event(t="2024-10-31T08:03:00Z"))[0], 200)
        alerts = self.d.alerts()
        self.assertEqual([a["detection"] for a in alerts], ["Test.Hit"])
        self.assertEqual(self.d.post("cloudtrail", event(name="Extra"))[0], 200)
        body = self.metrics()
        self.assertEqual(metric(body, 'lp0_detection_matches_total{detection="Test.Extra"}'), 1)
        self.assertEqual(metric(body, 'lp0_reloads_total{result="success"}'), 1)
        self.assertIn("reloaded in", self.d.log())

    def test_broken_detection_keeps_the_running_set(self):
        self.write("broken.lua", "id = 'Test.Broken'\nfunction rule(e) return end end\n")
        status, body = self.d.request("/-/reload", b"", "POST")
        self.assertEqual(status, 422, body)
        self.assertFalse(json.loads(body)["reloaded"])
        self.assertIn("problems in the detections", json.loads(body)["error"])
        self.assertEqual(self.detections(), 1)
        self.assertEqual(metric(self.metrics(), 'lp0_reloads_total{result="failure"}'), 1)
        # the old set still works
        for i in range(3):
            self.d.post("cloudtrail", event(t="2024-10-31T08:0%d:00Z" % i))
        self.assertEqual(len(self.d.alerts()), 1)
        # a broken configuration is refused the same way, by SIGHUP
        os.remove(os.path.join(self.det, "broken.lua"))
        with open(self.cfg, "w") as f:
            f.write("workers = 'many'\n")
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: metric(self.metrics(), 'lp0_reloads_total{result="failure"}') == 2))
        self.assertIn("reload failed, the running configuration and detections stay", self.d.log())
        self.assertEqual(self.detections(), 1)
        self.assertEqual(self.d.request("/-/reload")[0], 405)


class BackpressureTest(Base):
    files = {"slow.lua": SLOW, "loop.lua": LOOP}
    config = "max_queue = 1\nworkers = 1\n"

    def test_503_with_retry_after_when_the_queue_is_full(self):
        slow = "\n".join(json.dumps(event(name="Slow")) for _ in range(1000))
        results = []
        t = threading.Thread(target=lambda: results.append(self.d.post("cloudtrail", slow)))
        t.start()
        # the first body is in detection (about a second of Lua): the queue is full
        self.assertTrue(wait_for(lambda: metric(self.metrics(), "lp0_queue_depth") == 1, 10))
        import urllib.request
        req = urllib.request.Request("http://127.0.0.1:%d/ingest/cloudtrail" % self.d.port,
                                     data=json.dumps(event(name="Slow")).encode(), method="POST")
        try:
            urllib.request.urlopen(req, timeout=20)
            self.fail("expected 503")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 503)
            self.assertEqual(e.headers["Retry-After"], "1")
        t.join()
        self.assertEqual(results[0][0], 200)
        self.assertEqual(json.loads(results[0][1]), {"accepted": 1000})
        body = self.metrics()
        self.assertGreaterEqual(metric(body, 'lp0_backpressure_total{source="cloudtrail"}'), 1)
        self.assertGreaterEqual(metric(body, 'lp0_requests_total{source="cloudtrail",code="503"}'), 1)
        # once the queue drained, requests are accepted again
        self.assertEqual(self.d.post("cloudtrail", event(name="Slow"))[0], 200)

    def test_runaway_rule_is_killed_counted_and_the_daemon_goes_on(self):
        status, _ = self.d.post("cloudtrail", [event(name="Loop"), event(name="Loop")])
        self.assertEqual(status, 200)
        body = self.metrics()
        self.assertEqual(metric(body, 'lp0_detection_budget_exceeded_total{detection="Test.Loop"}'), 2)
        self.assertEqual(metric(body, 'lp0_detection_errors_total{detection="Test.Loop"}'), 2)
        self.assertEqual(metric(body, 'lp0_detection_errors_total{detection="Test.Slow"}'), 0)
        self.assertEqual(self.d.request("/healthz")[0], 200)

    def test_every_exported_family_is_documented(self):
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        with open(os.path.join(root, "docs", "metrics.md")) as f:
            doc = f.read()
        families = [l.split()[2] for l in self.metrics().splitlines() if l.startswith("# TYPE ")]
        self.assertGreaterEqual(len(families), 15)
        for fam in families:
            self.assertIn("| `%s` |" % fam, doc)


class LogsAndTailLagTest(Base):
    config = ('sources = { { name = "files", type = "tail", path = "TMP/logs/*.ndjson", '
              'log_type = "AWS.CloudTrail", read_from_head = true } }\n')

    def setUp(self):
        os.makedirs(os.path.join(tempfile.gettempdir()), exist_ok=True)
        super().setUp()

    def test_json_logs_and_tail_lag(self):
        os.makedirs(os.path.join(self.tmp, "logs"), exist_ok=True)
        path = os.path.join(self.tmp, "logs", "a.ndjson")
        with open(path, "w") as f:
            for i in range(20):
                f.write(json.dumps(event(name="Miss")) + "\n")
        key = 'lp0_tail_lag_bytes{path="%s"}' % path
        self.assertTrue(wait_for(lambda: metric(self.metrics(), key) == 0), self.metrics())
        self.assertTrue(wait_for(lambda: metric(self.metrics(), 'lp0_events_total{source="files"}') == 20))
        # stderr is not a terminal: diagnostics are JSON lines with time, level and msg
        lines = [l for l in self.d.log().splitlines() if l.strip()]
        self.assertTrue(lines)
        for line in lines:
            rec = json.loads(line)
            self.assertEqual(set(rec), {"time", "level", "msg"})
        self.assertTrue(any("listening on" in json.loads(l)["msg"] for l in lines))
        # a malformed line is reported with its file and byte offset, and counted
        with open(path, "a") as f:
            f.write("{not json\n")
        offset = os.path.getsize(path) - len("{not json\n")
        where = "files: %s, byte offset %d: malformed JSON" % (path, offset)
        self.assertTrue(wait_for(lambda: where in self.d.log()), self.d.log())
        self.assertTrue(wait_for(lambda: metric(self.metrics(), 'lp0_parse_errors_total{source="files"}') == 1))


LOOKUP_DETECTION = """
id = "Test.Owner"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
match = { eventName = "Hit" }
function rule(e) return lookup("corp_nets", e.sourceIPAddress) == nil end
function title(e) return "outside " .. e.sourceIPAddress .. " by " .. e.user end
function dedup(e) return e.user end
"""

SUPPRESSIONS = """
return {
  { name = "ci-bot", detection = "Test.*", where = { user = "ci-bot" },
    expires = "2099-01-01", reason = "the CI runner", author = "sec@example.com" },
  { name = "old", detection = "Test.Owner", where = { user = "gone" },
    expires = "2001-01-01", reason = "long over", author = "sec@example.com" },
}
"""


class LookupsAndSuppressionsTest(Base):
    files = {"owner.lua": LOOKUP_DETECTION}
    config = ('lookups = { "TMP/tables" }\nsuppressions = "TMP/suppressions.lua"\n'
              'detections = { "TMP/detections" }\n')

    def prepare(self):
        self.write_tables()

    def write_tables(self, sup=SUPPRESSIONS):
        os.makedirs(os.path.join(self.tmp, "tables"), exist_ok=True)
        with open(os.path.join(self.tmp, "tables", "corp_nets.csv"), "w") as f:
            f.write("cidr,site\n10.0.0.0/8,hq\n2001:db8::/32,lab\n")
        with open(os.path.join(self.tmp, "suppressions.lua"), "w") as f:
            f.write(sup)

    def test_lookup_suppression_reload_and_check(self):
        ev = lambda user, ip: dict(event(user=user), sourceIPAddress=ip)
        self.assertEqual(self.d.post("cloudtrail", [ev("alice", "10.1.2.3"), ev("bob", "198.51.100.4"),
                                                     ev("ci-bot", "198.51.100.5"), ev("eve", "2001:db8::1")])[0], 200)
        self.assertEqual([a["title"] for a in self.d.alerts()], ["outside 198.51.100.4 by bob"])
        body = self.metrics()
        self.assertEqual(metric(body, 'lp0_suppressed_total{entry="ci-bot"}'), 1)
        self.assertEqual(metric(body, 'lp0_suppressed_total{entry="old"}'), 0)
        # lp0 check -c reports the expired entry and the tables
        out = subprocess.run([LP0_BIN, "check", "-c", self.cfg], capture_output=True, text=True, timeout=30)
        self.assertIn("old", out.stdout)
        self.assertIn("expired", out.stdout)
        self.assertIn("corp_nets (2 rows)", out.stdout)
        # drop the suppression and reload: the CI bot alerts now
        self.write_tables("return {}\n")
        status, _ = self.d.request("/-/reload", b"", "POST")
        self.assertEqual(status, 200)
        self.d.post("cloudtrail", ev("ci-bot", "198.51.100.5"))
        self.assertIn("outside 198.51.100.5 by ci-bot", [a["title"] for a in self.d.alerts()])
        # a broken suppressions file fails the reload and keeps the running set
        self.write_tables("return { { detection = 'Test.*', were = { user = 'x' } } }\n")
        status, body = self.d.request("/-/reload", b"", "POST")
        self.assertEqual(status, 422)
        self.assertIn("suppressions", json.loads(body)["error"])


if __name__ == "__main__":
    unittest.main()
