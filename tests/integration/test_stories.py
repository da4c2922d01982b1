#!/usr/bin/env python3
"""Stories in the daemon: alerts trigger durable runs that call real HTTP services (the
local fake of Jira and Mattermost in tests/fakes/saas.py), with failure injection,
retries, `lp0 runs` / `lp0 runs retry`, and a kill -9 in the middle of a run.

Run: LP0=build/lp0 python3 tests/integration/test_stories.py
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fakes"))
import saas  # noqa: E402
from test_daemon import LP0, Daemon, event, stop_and_check, wait_for  # noqa: E402

DETECTION = """
id = "Test.Hit"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
match = { eventName = "Hit" }
function rule(e) return true end
function title(e) return "hit by " .. (e.user or "?") end
function dedup(e) return e.user or "?" end
"""

STORY = """
name = "deliver"
on = { detections = { "Test.Hit" } }
function run(alert)
  local base = settings.base
  local key = step("jira", function()
    local r, err = http.post((settings.jira or base) .. "/rest/api/2/issue", {
      auth = { user = "bot@example.com", token = secret("JIRA_TOKEN") }, timeout = settings.timeout,
      json = { fields = { project = { key = "SIRT" }, summary = alert.title,
                          issuetype = { name = "Task" } } } })
    if not r then error("jira: " .. err) end
    if r.status ~= 201 then error("jira: HTTP " .. r.status) end
    return r.json().key
  end)
  if settings.pause then sleep(settings.pause) end
  step("mattermost", function()
    local r, err = http.post(base .. "/hooks/lp0", { json = { text = alert.title .. " " .. key } })
    if not r then error("mattermost: " .. err) end
    if r.status ~= 200 then error("mattermost: HTTP " .. r.status) end
    return true
  end)
  return { key = key, alert = alert.id }
end
"""


def fake(port, method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        data = r.read()
        return json.loads(data) if data else None


class StoriesTest(unittest.TestCase):
    pause = 0
    extra_settings = ""

    def setUp(self):
        self.fake, self.port = saas.spawn()
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        self.det = os.path.join(self.tmp, "detections")
        scripts = os.path.join(self.tmp, "scripts")
        os.makedirs(self.det)
        os.makedirs(scripts)
        with open(os.path.join(self.det, "hit.lua"), "w") as f:
            f.write(DETECTION)
        with open(os.path.join(scripts, "deliver.lua"), "w") as f:
            f.write(STORY)
        self.config = os.path.join(self.tmp, "lp0.lua")
        with open(self.config, "w") as f:
            f.write('stories = { "%s" }\nsettings = { base = "http://127.0.0.1:%d"%s%s }\n'
                    'story_retry_delay = 0.3\nstory_attempts = 2\n'
                    % (scripts, self.port, ", pause = %s" % self.pause if self.pause else "",
                       self.extra_settings.replace("PORT", str(self.port))))
        self.env = {"JIRA_TOKEN": "jira-secret-token"}
        self.d = Daemon(self.tmp, self.det, self.config, self.env)

    def tearDown(self):
        try:
            stop_and_check(self, self.d, secrets=("jira-secret-token",))
        finally:
            self.fake.terminate()
            self.fake.wait()
            self.tmpdir.cleanup()

    def runs(self, *args):
        out = subprocess.run([LP0, "runs", "--state-dir", self.d.state, "--json"] + list(args),
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]

    def requests(self, prefix):
        return [r for r in fake(self.port, "GET", "/_fake/requests")
                if r["path"].startswith(prefix) and not r.get("injected")]

    def issues(self):
        return fake(self.port, "GET", "/_fake/state")["jira_issues"]

    def alert(self, user="bob"):
        self.assertEqual(self.d.post("cloudtrail", event(user=user))[0], 200)


class DeliveryTest(StoriesTest):
    def test_alert_runs_the_story_once(self):
        self.alert()
        self.assertTrue(wait_for(lambda: [r["state"] for r in self.runs()] == ["succeeded"]),
                        self.runs())
        run = self.runs()[0]
        self.assertEqual(run["story"], "deliver")
        self.assertEqual(run["attempts"], 1)
        self.assertEqual(run["steps"], {"jira": "SIRT-1", "mattermost": True})
        self.assertEqual(len(self.issues()), 1)
        posts = self.requests("/hooks/")
        self.assertEqual([p["json"]["text"] for p in posts], ["hit by bob SIRT-1"])
        jira = self.requests("/rest/api/2/issue")[0]
        self.assertTrue(jira["headers"]["authorization"].startswith("Basic "))
        _, metrics = self.d.request("/metrics")
        self.assertIn('lp0_story_runs_total{story="deliver",result="succeeded"} 1', metrics)

    def test_failures_are_retried_without_duplicates(self):
        # Jira fails once (500: POST is not retried by the client), Mattermost answers
        # 429 + Retry-After once (retried by the client within the attempt)
        fake(self.port, "POST", "/_fake/inject", {"path": "/rest/api/2/issue", "status": 500, "count": 1})
        fake(self.port, "POST", "/_fake/inject", {"path": "/hooks/", "status": 429, "retry_after": 1, "count": 1})
        self.alert()
        self.assertTrue(wait_for(lambda: [r["state"] for r in self.runs()] == ["succeeded"], 30),
                        self.runs())
        self.assertEqual(self.runs()[0]["attempts"], 2)
        self.assertEqual(len(self.issues()), 1)
        self.assertEqual(len(self.requests("/hooks/")), 1)

    def test_dead_run_is_listed_and_retried(self):
        fake(self.port, "POST", "/_fake/inject", {"path": "/rest/api/2/issue", "status": 503, "count": 2})
        self.alert()
        self.assertTrue(wait_for(lambda: [r["state"] for r in self.runs()] == ["dead"], 30), self.runs())
        failed = self.runs("--failed")
        self.assertEqual(len(failed), 1)
        self.assertIn("jira: HTTP 503", failed[0]["last_error"])
        self.assertEqual(len(self.issues()), 0)
        out = subprocess.run([LP0, "runs", "--state-dir", self.d.state, "retry", str(failed[0]["id"])],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(wait_for(lambda: [r["state"] for r in self.runs()] == ["succeeded"], 30), self.runs())
        self.assertEqual(len(self.issues()), 1)
        again = subprocess.run([LP0, "runs", "--state-dir", self.d.state, "retry", str(failed[0]["id"])],
                               capture_output=True, text=True, timeout=20)
        self.assertEqual(again.returncode, 1)  # a succeeded run is not retried
        self.assertIn("only failed, dead or waiting", again.stderr)


def closed_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


class UnreachableTest(StoriesTest):
    extra_settings = ', jira = "http://127.0.0.1:%d"' % closed_port()

    def test_connection_refused_is_retried_then_dead(self):
        self.alert()
        self.assertTrue(wait_for(lambda: [r["state"] for r in self.runs()] == ["dead"], 30), self.runs())
        run = self.runs()[0]
        self.assertEqual(run["attempts"], 2)
        self.assertIn("jira: connect", run["last_error"])
        self.assertEqual(self.requests("/hooks/"), [])  # nothing delivered after the failed step
        _, metrics = self.d.request("/metrics")
        self.assertIn('lp0_story_http_requests_total{outcome="error"}', metrics)


class TimeoutTest(StoriesTest):
    extra_settings = ", timeout = 0.5"

    def test_slow_service_times_out_and_the_retry_succeeds(self):
        # Jira answers after 2 s (with a 500) once: the first attempt times out (a POST is
        # not retried by the client after sending), the run's second attempt succeeds
        fake(self.port, "POST", "/_fake/inject", {"path": "/rest/api/2/issue", "delay": 2, "status": 500, "count": 1})
        self.alert()
        self.assertTrue(wait_for(lambda: [r["state"] for r in self.runs()] == ["succeeded"], 30), self.runs())
        self.assertEqual(self.runs()[0]["attempts"], 2)
        self.assertEqual(len(self.issues()), 1)
        self.assertIn("timeout", self.d.log())


class KillTest(StoriesTest):
    pause = 3  # between the Jira step and the Mattermost step

    def test_kill_9_mid_run_resumes_without_a_second_ticket(self):
        self.alert()
        self.assertTrue(wait_for(lambda: len(self.issues()) == 1), self.d.log())
        time.sleep(0.3)  # the Jira step is committed; the run sleeps
        self.assertEqual(self.runs()[0]["state"], "running")
        self.d.proc.kill()
        self.d.proc.wait()
        self.d.stderr.close()
        os.remove(self.d.port_file)
        self.d = Daemon(self.tmp, self.det, self.config, self.env)
        self.assertTrue(wait_for(lambda: [r["state"] for r in self.runs()] == ["succeeded"], 30),
                        self.runs())
        self.assertIn("interrupted runs will resume", self.d.log())
        self.assertEqual(len(self.issues()), 1)  # the stored step was not repeated
        self.assertEqual(len(self.requests("/hooks/")), 1)
        self.assertEqual(self.runs()[0]["steps"]["jira"], "SIRT-1")


if __name__ == "__main__":
    unittest.main()
