#!/usr/bin/env python3
"""The bundled S3 triage story (scripts/s3_triage.lua) in the daemon with the bundled
detections, against the local fakes of Okta, AbuseIPDB, PagerDuty, Jira and Mattermost
(tests/fakes/saas.py): an S3 bucket policy change becomes one Jira ticket, one
Mattermost card and one comment; a kill -9 of the daemon in the middle of the story
still ends with exactly one ticket and one card.

Run: LP0=build/lp0 python3 tests/integration/test_triage.py
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))
import saas  # noqa: E402
from test_daemon import LP0, Daemon, stop_and_check, wait_for  # noqa: E402
from test_stories import fake  # noqa: E402

EVENT = {
    "eventVersion": "1.08", "eventTime": "2024-10-31T08:04:00Z", "eventSource": "s3.amazonaws.com",
    "eventName": "PutBucketPolicy", "awsRegion": "eu-west-1", "recipientAccountId": "123456789012",
    "sourceIPAddress": "93.184.216.34",
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
    "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:alice@example.com",
                     "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b/alice@example.com",
                     "accountId": "123456789012"},
    "requestParameters": {"bucketName": "customer-exports", "policy": "{}"},
    "responseElements": None, "eventType": "AwsApiCall", "readOnly": False,
}


class TriageTest(unittest.TestCase):
    def setUp(self):
        self.fake, self.port = saas.spawn()
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        base = "http://127.0.0.1:%d" % self.port
        self.config = os.path.join(self.tmp, "lp0.lua")
        with open(self.config, "w") as f:
            f.write("""
stories = { "%(root)s/scripts/s3_triage.lua" }
story_retry_delay = 0.3
settings = {
  jira = { url = "%(base)s", user = "sirt-bot@example.com", project = "SIRT" },
  okta = { url = "%(base)s", domain = "example.com" },
  pagerduty = { escalation_policy_id = "PEP0001", api_url = "%(base)s", events_url = "%(base)s" },
  abuseipdb = { url = "%(base)s", threshold = 50 },
  aws_accounts = { ["123456789012"] = "production" },
}
""" % {"root": ROOT, "base": base})
        self.env = {"JIRA_TOKEN": "jira-api-token", "MATTERMOST_WEBHOOK_URL": base + "/hooks/sirt",
                    "PAGERDUTY_ROUTING_KEY": "R" * 32, "PAGERDUTY_TOKEN": "pd-token",
                    "OKTA_TOKEN": "okta-token", "ABUSEIPDB_KEY": "abuse-key"}
        self.d = Daemon(self.tmp, os.path.join(ROOT, "detections"), self.config, self.env)

    def tearDown(self):
        secrets = [v for v in self.env.values() if "token" in v or "key" in v]
        try:
            stop_and_check(self, self.d, secrets=secrets)
        finally:
            self.fake.terminate()
            self.fake.wait()
            self.tmpdir.cleanup()

    def runs(self):
        out = subprocess.run([LP0, "runs", "--state-dir", self.d.state, "--json"],
                             capture_output=True, text=True, timeout=20)
        return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]

    def requests(self, prefix, method=None):
        return [r for r in fake(self.port, "GET", "/_fake/requests")
                if r["path"].startswith(prefix) and not r.get("injected")
                and (method is None or r["method"] == method)]

    def issues(self):
        return fake(self.port, "GET", "/_fake/state")["jira_issues"]

    def triage_runs(self):
        return [r for r in self.runs() if r["story"] == "s3-triage"]

    def check_delivered_once(self):
        """One ticket, one card and one comment per run: never a duplicate."""
        runs = self.triage_runs()
        self.assertGreaterEqual(len(runs), 1)
        issues = self.issues()
        self.assertEqual(len(issues), len(runs), issues)
        keys = sorted(r["steps"]["jira.create"]["key"] for r in runs)
        self.assertEqual(sorted(i["key"] for i in (issues.values() if isinstance(issues, dict) else issues)), keys)
        cards = self.requests("/hooks/", "POST")
        self.assertEqual(len(cards), len(runs))
        for key in keys:
            card = [json.dumps(c["json"]) for c in cards if key in json.dumps(c["json"])]
            self.assertEqual(len(card), 1, key)
            for field in ("User", "Bucket", "AWS Account", "IP Check", "Device Check",
                          "User On-Call", "Severity", "customer-exports", "production"):
                self.assertIn(field, card[0])
            self.assertEqual(len(self.requests("/rest/api/2/issue/%s/comment" % key, "POST")), 1)
        paged = sum(1 for r in runs if any(k.startswith("pagerduty") for k in r["steps"]))
        self.assertEqual(len(self.requests("/v2/enqueue", "POST")), paged)
        # the enrichment really happened: Okta, AbuseIPDB and PagerDuty /oncalls were asked
        self.assertTrue(self.requests("/api/v1/users/"))
        self.assertTrue(self.requests("/api/v2/check"))
        self.assertTrue(self.requests("/oncalls"))

    def test_bucket_policy_change_is_triaged_and_delivered(self):
        self.assertEqual(self.d.post("cloudtrail", EVENT)[0], 200)
        self.assertTrue(wait_for(lambda: self.triage_runs() and all(r["state"] == "succeeded" for r in self.triage_runs()), 30),
                        (self.triage_runs(), self.d.log()))
        self.check_delivered_once()

    def test_kill_9_mid_story_one_ticket_one_card(self):
        # Mattermost hangs for 4 s (then fails) on the first card: the daemon dies while
        # the ticket exists and the card is in flight
        fake(self.port, "POST", "/_fake/inject", {"path": "/hooks/", "delay": 4, "status": 500, "count": 1})
        self.assertEqual(self.d.post("cloudtrail", EVENT)[0], 200)
        self.assertTrue(wait_for(lambda: len(self.issues()) >= 1, 30), self.d.log())
        time.sleep(0.5)
        self.d.proc.kill()
        self.d.proc.wait()
        self.d.stderr.close()
        os.remove(self.d.port_file)
        self.d = Daemon(self.tmp, os.path.join(ROOT, "detections"), self.config, self.env)
        self.assertTrue(wait_for(lambda: self.triage_runs() and all(r["state"] == "succeeded" for r in self.triage_runs()), 30),
                        (self.triage_runs(), self.d.log()))
        self.check_delivered_once()


if __name__ == "__main__":
    unittest.main()
