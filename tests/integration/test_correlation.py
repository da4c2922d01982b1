#!/usr/bin/env python3
"""Stateful detections in the daemon with the bundled pack: the Okta brute-force-then-
success sequence survives a kill -9 (three failures before, one failure and the success
after the restart: the alert fires), and the same events replayed give the same alert.

Run: LP0=build/lp0 python3 tests/integration/test_correlation.py
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from test_daemon import LP0, Daemon, stop_and_check, wait_for  # noqa: E402

SEQ = "Okta.BruteForce.ThenSuccess"


def login(result, minute, user="alice@example.com"):
    return {"uuid": "e%d%s" % (minute, result), "eventType": "user.session.start",
            "outcome": {"result": result, "reason": "INVALID_CREDENTIALS" if result == "FAILURE" else None},
            "actor": {"alternateId": user, "type": "User", "displayName": "Alice"},
            "client": {"ipAddress": "198.51.100.7"}, "published": "2024-10-31T08:%02d:00.000Z" % minute,
            "severity": "INFO", "displayMessage": "User login to Okta"}


class CorrelationTest(unittest.TestCase):
    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        self.det = os.path.join(ROOT, "detections")
        self.d = Daemon(self.tmp, self.det)

    def tearDown(self):
        try:
            stop_and_check(self, self.d)
        finally:
            self.tmpdir.cleanup()

    def sequence_alerts(self):
        return [a for a in self.d.alerts() if a["detection"] == SEQ]

    def test_sequence_state_survives_kill_9(self):
        for minute in range(3):
            self.assertEqual(self.d.post("okta", login("FAILURE", minute))[0], 200)
        _, metrics = self.d.request("/metrics")
        self.assertIn('lp0_correlation_groups{detection="%s"} 1' % SEQ, metrics)
        self.d.proc.kill()  # no drain: the state must already be in the store
        self.d.proc.wait()
        self.d.stderr.close()
        os.remove(self.d.port_file)
        self.d = Daemon(self.tmp, self.det)
        self.assertIn("restored 2 correlation groups", self.d.log())  # the sequence, alice's risk
        _, metrics = self.d.request("/metrics")
        self.assertIn('lp0_correlation_groups{detection="%s"} 1' % SEQ, metrics)
        self.assertEqual(self.d.post("okta", login("FAILURE", 3))[0], 200)
        self.assertEqual(self.sequence_alerts(), [])
        self.assertEqual(self.d.post("okta", login("SUCCESS", 5))[0], 200)
        alerts = self.sequence_alerts()
        self.assertEqual(len(alerts), 1, self.d.alerts())
        ctx = alerts[0]["context"]
        self.assertEqual(ctx["group"], "alice@example.com")
        self.assertEqual([s["count"] for s in ctx["steps"]], [4, 1])
        self.assertEqual(alerts[0]["severity"], "HIGH")
        # replay agrees: the same events through lp0 replay raise the same alert
        path = os.path.join(self.tmp, "okta.ndjson")
        with open(path, "w") as f:
            for ev in [login("FAILURE", m) for m in range(4)] + [login("SUCCESS", 5)]:
                f.write(json.dumps(ev) + "\n")
        out = subprocess.run([LP0, "replay", "-q", "-d", self.det, path], capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        replayed = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
        seq = [a for a in replayed if a["detection"] == SEQ]
        self.assertEqual(len(seq), 1)
        self.assertEqual(seq[0]["context"], ctx)


if __name__ == "__main__":
    unittest.main()
