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


def read(path):
    with open(path) as f:
        return f.read()


def event(name="Hit", user="bob", t="2024-10-31T08:00:00Z"):
    return {"eventVersion": "1.08", "eventSource": "test.amazonaws.com", "eventName": name,
            "eventTime": t, "user": user}


class Daemon:
    def __init__(self, tmp, detections, config=None, env=None):
        self.tmp = tmp
        self.state = os.path.join(tmp, "var")
        self.port_file = os.path.join(tmp, "port")
        self.alert_log = os.path.join(tmp, "alerts.ndjson")
        self.stderr = open(os.path.join(tmp, "stderr.log"), "w+")
        cmd = [LP0, "run", "--listen", "127.0.0.1:0", "--state-dir", self.state, "-d", detections,
               "--workers", "2", "--port-file", self.port_file, "--alert-log", self.alert_log]
        if config:
            cmd += ["-c", config]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     env=dict(os.environ, **(env or {})))
        deadline = time.time() + 20
        while not (os.path.exists(self.port_file) and read(self.port_file).strip()):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("daemon did not start: " + self.log())
            time.sleep(0.05)
        self.port = int(read(self.port_file))

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


SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def stop_and_check(test, daemon, secrets=()):
    """Stops the daemon (SIGTERM) and fails the test unless it drained and exited 0, with
    no sanitizer report and none of the given secrets in its log. Returns the log."""
    code = daemon.stop()
    log = daemon.log()
    test.assertEqual(code, 0, log)
    for bad in SANITIZER_MARKS + tuple(secrets):
        test.assertNotIn(bad, log)
    return log


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
        try:  # a clean drain exits 0; sanitizer reports (ASan build) fail the test too
            stop_and_check(self, self.d)
        finally:
            self.tmpdir.cleanup()

    def test_health_and_metrics(self):
        status, body = self.d.request("/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["detections"], 1)
        self.d.post("cloudtrail", "\n".join(json.dumps(event(name="Miss")) for _ in range(5)))
        status, body = self.d.request("/metrics")
        self.assertEqual(status, 200)
        self.assertIn('lp0_events_total{source="cloudtrail"} 5\n', body)
        self.assertIn('lp0_events_received_total{source="cloudtrail"} 5\n', body)
        self.assertIn('lp0_requests_total{source="cloudtrail",code="200"} 1\n', body)
        self.assertIn('lp0_alerts_total{severity="HIGH"} 0\n', body)
        self.assertIn("lp0_detections 1\n", body)
        self.assertIn("lp0_batch_duration_seconds_count 1\n", body)
        self.d.post("cloudtrail", "\n".join(json.dumps(event(t="2024-10-31T08:0%d:00Z" % i)) for i in range(3)))
        self.d.post("nope", "{}")
        _, body = self.d.request("/metrics")
        self.assertIn('lp0_alerts_total{severity="HIGH"} 1\n', body)
        self.assertIn('lp0_detection_matches_total{detection="Test.Hit"} 3\n', body)
        self.assertNotIn('source="nope"', body)  # unknown sources do not create series

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
        logged = [json.loads(l) for l in read(self.d.alert_log).splitlines() if l.strip()]
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


CONFIG = """
sources = {
  { name = "ct", type = "webhook", log_type = "AWS.CloudTrail",
    auth = { type = "bearer", secret_env = "LP0_TEST_TOKEN" } },
  { name = "gh", type = "webhook", log_type = "GitHub.Audit",
    auth = { type = "github", secret_env = "LP0_TEST_GH" } },
  { name = "okta", type = "webhook", log_type = "Okta.SystemLog" },
}
"""


class ConfiguredDaemonTest(unittest.TestCase):
    """lp0 run -c FILE: sources, authentication, envelopes and compression."""

    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        det = os.path.join(self.tmp, "detections")
        os.makedirs(det)
        with open(os.path.join(det, "hit.lua"), "w") as f:
            f.write(DETECTION)
        self.config = os.path.join(self.tmp, "lp0.lua")
        with open(self.config, "w") as f:
            f.write(CONFIG)
        self.d = Daemon(self.tmp, det, self.config,
                        {"LP0_TEST_TOKEN": "s3cret-token", "LP0_TEST_GH": "gh-key"})

    def tearDown(self):
        code = self.d.stop()
        log = self.d.log()
        self.tmpdir.cleanup()
        self.assertEqual(code, 0, log)
        self.assertNotIn("s3cret-token", log)  # secrets never reach the logs

    def test_bearer_auth(self):
        self.assertEqual(self.d.post("ct", event(name="Miss"))[0], 401)
        self.assertEqual(self.d.post("ct", event(name="Miss"), {"Authorization": "Bearer nope"})[0], 403)
        status, body = self.d.post("ct", event(name="Miss"), {"Authorization": "Bearer s3cret-token"})
        self.assertEqual((status, json.loads(body)), (200, {"accepted": 1}))
        self.assertEqual(self.d.post("cloudtrail", event())[0], 404)  # defaults replaced

    def test_github_signature(self):
        import hashlib
        import hmac
        body = json.dumps({"action": "repo.create", "actor": "octo", "created_at": 1621305118553}).encode()
        sig = "sha256=" + hmac.new(b"gh-key", body, hashlib.sha256).hexdigest()
        self.assertEqual(self.d.post("gh", body, {"X-Hub-Signature-256": sig})[0], 200)
        self.assertEqual(self.d.post("gh", body + b" ", {"X-Hub-Signature-256": sig})[0], 403)

    def test_gzip_and_envelopes(self):
        events = [event(name="Hit", t="2024-10-31T08:0%d:00Z" % i) for i in range(3)]
        body = gzip.compress(("\n".join(json.dumps(e) for e in events)).encode())
        status, resp = self.d.post("ct", body, {"Authorization": "Bearer s3cret-token",
                                                "Content-Encoding": "gzip"})
        self.assertEqual((status, json.loads(resp)), (200, {"accepted": 3}))
        self.assertEqual(len(self.d.alerts()), 1)
        hook = {"data": {"events": [{"eventType": "user.session.start", "actor": {"alternateId": "a"},
                                     "published": "2024-10-31T08:00:00Z"}] * 2}}
        status, resp = self.d.post("okta", hook)
        self.assertEqual((status, json.loads(resp)), (200, {"accepted": 2}))

    def test_okta_verification_challenge(self):
        status, body = self.d.request("/ingest/okta", headers={"x-okta-verification-challenge": "abc\"d"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"verification": "abc\"d"})

    def test_sns_subscription_is_logged(self):
        note = {"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&x=1",
                "Message": "You have chosen to subscribe", "MessageId": "m", "Token": "t"}
        status, _ = self.d.post("okta", note)
        self.assertEqual(status, 200)
        self.assertIn("ConfirmSubscription", self.d.log())


TAIL_DETECTION = """
id = "Test.PerUser"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
match = { eventName = "Hit" }
dedup_minutes = 600
function rule(e) return true end
function dedup(e) return e.user end
function title(e) return "user " .. e.user end
tests = { { name = "hit", expect = true, event = { eventName = "Hit", user = "u" } } }
"""


def wait_for(pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


class TailTest(unittest.TestCase):
    """A tail source: lines become events; offsets make restarts lose nothing."""

    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        self.det = os.path.join(self.tmp, "detections")
        self.logs = os.path.join(self.tmp, "logs")
        os.makedirs(self.det)
        os.makedirs(self.logs)
        with open(os.path.join(self.det, "per_user.lua"), "w") as f:
            f.write(TAIL_DETECTION)
        self.config = os.path.join(self.tmp, "lp0.lua")
        with open(self.config, "w") as f:
            f.write('sources = { { name = "files", type = "tail", path = "%s/*.ndjson", '
                    'log_type = "AWS.CloudTrail", read_from_head = true } }\n' % self.logs)
        self.d = Daemon(self.tmp, self.det, self.config)
        self.n = 0

    def tearDown(self):
        code = self.d.stop()
        log = self.d.log()
        self.tmpdir.cleanup()
        self.assertEqual(code, 0, log)

    def append(self, name, count):
        with open(os.path.join(self.logs, name), "a") as f:
            for _ in range(count):
                f.write(json.dumps(event(user="u%05d" % self.n, t="2024-10-31T08:00:00Z")) + "\n")
                self.n += 1

    def alerts_count(self):
        try:
            return len(self.d.alerts())
        except AssertionError:
            return -1

    def test_lines_rotation_and_restarts(self):
        self.append("a.ndjson", 50)
        self.assertTrue(wait_for(lambda: self.alerts_count() == 50), self.alerts_count())
        # rename rotation: lines written to the old file after the rename still count
        os.rename(os.path.join(self.logs, "a.ndjson"), os.path.join(self.tmp, "a.ndjson.1"))
        with open(os.path.join(self.tmp, "a.ndjson.1"), "a") as f:
            f.write(json.dumps(event(user="late", t="2024-10-31T08:00:00Z")) + "\n")
        self.append("a.ndjson", 20)
        self.assertTrue(wait_for(lambda: self.alerts_count() == 71), self.alerts_count())
        # a clean restart reads nothing twice and picks up what was appended meanwhile
        self.assertEqual(self.d.stop(), 0)
        self.append("a.ndjson", 10)
        os.remove(self.d.port_file)
        self.d = Daemon(self.tmp, self.det, self.config)
        self.assertTrue(wait_for(lambda: self.alerts_count() == 81), self.alerts_count())
        _, body = self.d.request("/metrics")
        self.assertIn('lp0_events_received_total{source="files"} 10\n', body)

    def test_kill_9_loses_nothing(self):
        self.append("b.ndjson", 3000)
        time.sleep(0.3)  # part of the file is processed, part maybe not
        self.d.proc.kill()
        self.d.proc.wait()
        self.d.stderr.close()
        self.append("b.ndjson", 500)
        os.remove(self.d.port_file)
        self.d = Daemon(self.tmp, self.det, self.config)
        # one alert per user: every line evaluated at least once; a line evaluated twice
        # joins its own dedup window (restored from the store) and raises nothing new
        self.assertTrue(wait_for(lambda: self.alerts_count() == 3500, 40), self.alerts_count())


class ConfigErrorsTest(unittest.TestCase):
    def test_bad_configs_are_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            cases = {
                "typo.lua": ("listne = '127.0.0.1:1'", "listne"),
                "secret.lua": ("sources = { { name = 'x', type = 'webhook', auth = { type = 'bearer', secret = 'inline' } } }", "secret"),
                "auth.lua": ("listen = '0.0.0.0:0'\nsources = { { name = 'x', type = 'webhook' } }", "loopback"),
            }
            for name, (text, needle) in cases.items():
                path = os.path.join(tmp, name)
                with open(path, "w") as f:
                    f.write(text)
                out = subprocess.run([LP0, "run", "-c", path, "--listen", "127.0.0.1:0",
                                      "--state-dir", os.path.join(tmp, "var"), "-d", tmp],
                                     capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 2, name + out.stderr)
                self.assertIn(needle, out.stderr, name)
                self.assertNotIn("inline", out.stderr)
            out = subprocess.run([LP0, "check", "-c", os.path.join(tmp, "typo.lua")],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 1)


if __name__ == "__main__":
    if not os.access(LP0, os.X_OK):
        sys.exit("LP0=%s is not executable" % LP0)
    unittest.main()
