#!/usr/bin/env python3
"""Functional tests of `lp0 run`: the real daemon on an ephemeral loopback port, driven
with a real HTTP client (urllib), alerts checked in the store through `lp0 alerts`.

Run: LP0=build/lp0 python3 tests/integration/test_daemon.py
"""
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LP0 = os.environ.get("LP0", os.path.join(ROOT, "build", "lp0"))
SAMPLE = os.path.join(ROOT, "tests", "data", "sample-cloudtrail.ndjson")

DETECTION = """
id = "Test.Hit"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
match = { eventName = "Hit" }
threshold = 3
dedup_minutes = 10
function rule(e) return true end
function title(e) return "hit by " .. (e.user or "?") end
function dedup(e) return e.user or "?" end
tests = { { name = "hit", expect = true, event = { eventName = "Hit" } } }
"""


def event(name="Hit", user="bob", t="2024-10-31T08:00:00Z"):
    return {"eventVersion": "1.08", "eventSource": "test.amazonaws.com", "eventName": name,
            "eventTime": t, "user": user}


class Daemon:
    def __init__(self, tmp, detections):
        self.tmp = tmp
        self.state = os.path.join(tmp, "var")
        self.port_file = os.path.join(tmp, "port")
        self.alert_log = os.path.join(tmp, "alerts.ndjson")
        self.stderr = open(os.path.join(tmp, "stderr.log"), "w+")
        self.proc = subprocess.Popen(
            [LP0, "run", "--listen", "127.0.0.1:0", "--state-dir", self.state, "-d", detections,
             "--workers", "2", "--port-file", self.port_file, "--alert-log", self.alert_log],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 20
        while not (os.path.exists(self.port_file) and open(self.port_file).read().strip()):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("daemon did not start: " + self.log())
            time.sleep(0.05)
        self.port = int(open(self.port_file).read())

    def log(self):
        with open(self.stderr.name) as f:
            return f.read()

    def request(self, path, body=None, method=None, headers=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=body,
                                     method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, source, body, headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        return self.request("/ingest/" + source, body, "POST", headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        return self.proc.returncode

    def alerts(self):
        out = subprocess.run([LP0, "alerts", "--state-dir", self.state, "--json"],
                             capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise AssertionError("lp0 alerts failed: " + out.stderr)
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        det = os.path.join(self.tmp, "detections")
        os.makedirs(det)
        with open(os.path.join(det, "hit.lua"), "w") as f:
            f.write(DETECTION)
        self.d = Daemon(self.tmp, det)

    def tearDown(self):
        code = self.d.stop()
        log = self.d.log()
        self.tmpdir.cleanup()
        # a clean drain exits 0; sanitizer reports (ASan build) fail the test too
        self.assertEqual(code, 0, log)
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            self.assertNotIn(bad, log)

    def test_health_and_metrics(self):
        status, body = self.d.request("/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["detections"], 1)
        self.d.post("cloudtrail", "\n".join(json.dumps(event(name="Miss")) for _ in range(5)))
        status, body = self.d.request("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("lp0_events_total 5\n", body)
        self.assertIn("lp0_requests_total 1\n", body)

    def test_every_body_format_is_accepted(self):
        e = event(name="Miss")
        bodies = {
            "object": e,
            "array": [e, e],
            "ndjson": json.dumps(e) + "\n\n" + json.dumps(e) + "\r\n" + json.dumps(e),
            "records": {"Records": [e, e, e, e]},
            "eventbridge": {"detail-type": "AWS API Call via CloudTrail", "detail": e},
        }
        want = {"object": 1, "array": 2, "ndjson": 3, "records": 4, "eventbridge": 1}
        for name, body in bodies.items():
            status, resp = self.d.post("auto", body)
            self.assertEqual(status, 200, name + ": " + resp)
            self.assertEqual(json.loads(resp), {"accepted": want[name]}, name)

    def test_threshold_alert_is_stored_before_the_answer(self):
        body = "\n".join(json.dumps(event(t="2024-10-31T08:0%d:00Z" % i)) for i in range(3))
        status, resp = self.d.post("cloudtrail", body)
        self.assertEqual(status, 200, resp)
        # the answer comes after the commit: the alert is already in the store
        alerts = self.d.alerts()
        self.assertEqual(len(alerts), 1)
        self.assertEqual(alerts[0]["detection"], "Test.Hit")
        self.assertEqual(alerts[0]["title"], "hit by bob")
        self.assertEqual(alerts[0]["severity"], "HIGH")
        self.assertEqual(alerts[0]["count"], 3)
        logged = [json.loads(l) for l in open(self.d.alert_log) if l.strip()]
        self.assertEqual([a["detection"] for a in logged], ["Test.Hit"])

    def test_below_threshold_no_alert_and_dedup_keys_apart(self):
        for user in ("a", "b"):
            body = "\n".join(json.dumps(event(user=user)) for _ in range(2))
            self.assertEqual(self.d.post("cloudtrail", body)[0], 200)
        self.assertEqual(self.d.alerts(), [])
        self.assertEqual(self.d.post("cloudtrail", event(user="a"))[0], 200)
        self.assertEqual([a["title"] for a in self.d.alerts()], ["hit by a"])

    def test_errors(self):
        status, body = self.d.post("nope", event())
        self.assertEqual(status, 404)
        self.assertIn("unknown source", body)
        status, _ = self.d.request("/ingest/cloudtrail", method="GET")
        self.assertEqual(status, 405)
        status, _ = self.d.request("/elsewhere")
        self.assertEqual(status, 404)
        status, body = self.d.post("cloudtrail", "")
        self.assertEqual(status, 400)
        status, body = self.d.post("cloudtrail", json.dumps(event(name="Miss")) + "\n{broken\n" +
                                   json.dumps(event(name="Miss")))
        self.assertEqual(status, 400)
        resp = json.loads(body)
        self.assertEqual((resp["accepted"], resp["rejected"]), (2, 1))
        self.assertIn("cloudtrail:2", resp["error"])
        status, _ = self.d.post("cloudtrail", gzip.compress(b"{}"), {"Content-Encoding": "br"})
        self.assertEqual(status, 415)
        status, _ = self.d.post("cloudtrail", b"x" * (17 * 1024 * 1024))
        self.assertEqual(status, 413)

    def restart(self, kill=False):
        if kill:
            self.d.proc.kill()  # SIGKILL: no chance to save anything at exit
            self.d.proc.wait()
            self.d.stderr.close()
        else:
            self.assertEqual(self.d.stop(), 0)
        os.remove(self.d.port_file)
        self.d = Daemon(self.tmp, os.path.join(self.tmp, "detections"))

    def test_threshold_carries_across_a_restart(self):
        body = "\n".join(json.dumps(event(t="2024-10-31T08:0%d:00Z" % i)) for i in range(2))
        self.assertEqual(self.d.post("cloudtrail", body)[0], 200)
        self.restart()
        self.assertIn("restored 1 open dedup windows", self.d.log())
        self.assertEqual(self.d.post("cloudtrail", event(t="2024-10-31T08:05:00Z"))[0], 200)
        alerts = self.d.alerts()
        self.assertEqual([(a["title"], a["count"]) for a in alerts], [("hit by bob", 3)])

    def test_acknowledged_matches_survive_kill_9(self):
        body = "\n".join(json.dumps(event(t="2024-10-31T08:0%d:00Z" % i)) for i in range(2))
        self.assertEqual(self.d.post("cloudtrail", body)[0], 200)
        self.restart(kill=True)
        self.assertEqual(self.d.post("cloudtrail", event(t="2024-10-31T08:05:00Z"))[0], 200)
        self.assertEqual(len(self.d.alerts()), 1)

    def test_sample_log_and_sigterm_drains(self):
        with open(SAMPLE, "rb") as f:
            status, body = self.d.post("auto", f.read())
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"accepted": 9})
        self.assertEqual(self.d.stop(), 0)
        self.assertIn("draining", self.d.log())


if __name__ == "__main__":
    if not os.access(LP0, os.X_OK):
        sys.exit("LP0=%s is not executable" % LP0)
    unittest.main()
