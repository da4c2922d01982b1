#!/usr/bin/env python3
"""Tests of the fake SaaS server (tests/fakes/saas.py) over real HTTP, so that story tests
can trust it: every endpoint answers with the documented shape (status, fields, error
bodies), the controls record and clear requests, and injected failures happen exactly as
many times as asked.

Run: python3 tests/integration/test_fakes.py
"""
import base64
import http.client
import json
import os
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))
import saas  # noqa: E402

ROUTING_KEY = "R" * 32


def basic(user, token):
    return "Basic " + base64.b64encode(("%s:%s" % (user, token)).encode()).decode()


JIRA = {"Authorization": basic("bot@example.com", "tok"), "Content-Type": "application/json"}
OKTA = {"Authorization": "SSWS okta-token"}


class FakeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.port = saas.spawn()

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.proc.stdout.close()

    def setUp(self):
        self.call("POST", "/_fake/reset")

    def call(self, method, path, body=None, headers=None, raw=False):
        """One request on a fresh connection; returns (status, headers, parsed body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        data = body
        if body is not None and not isinstance(body, (bytes, str)):
            data = json.dumps(body)
        try:
            conn.request(method, path, body=data, headers=headers or {})
            r = conn.getresponse()
            payload = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        if raw or not payload or "json" not in hdrs.get("content-type", ""):
            return r.status, hdrs, payload.decode()
        return r.status, hdrs, json.loads(payload)

    # {==================== controls ====================

    def test_port_file_and_first_line(self):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "fake-saas-port-%d" % os.getpid())
        proc, port = saas.spawn(port_file=path)
        try:
            with open(path) as f:
                self.assertEqual(int(f.read()), port)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/_fake/requests")
            self.assertEqual(json.loads(conn.getresponse().read()), [])
            conn.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()
            os.unlink(path)

    def test_requests_recorded_and_cleared(self):
        self.call("POST", "/hooks/abc?x=1", {"text": "hi"}, {"X-Test": "yes"})
        st, _, reqs = self.call("GET", "/_fake/requests")
        self.assertEqual(st, 200)
        self.assertEqual(len(reqs), 1)
        r = reqs[0]
        self.assertEqual((r["method"], r["path"], r["query"]), ("POST", "/hooks/abc", "x=1"))
        self.assertEqual(r["args"], {"x": ["1"]})
        self.assertEqual(r["headers"]["x-test"], "yes")
        self.assertEqual(r["json"], {"text": "hi"})
        self.assertFalse(r["injected"])
        self.assertEqual(self.call("DELETE", "/_fake/requests")[0], 204)
        self.assertEqual(self.call("GET", "/_fake/requests")[2], [])

    def test_inject_status_count_retry_after(self):
        st, _, _ = self.call("POST", "/_fake/inject", {"path": "/services/", "status": 503,
                                                       "count": 2, "retry_after": 1})
        self.assertEqual(st, 200)
        body = {"text": "x"}
        for _ in range(2):
            st, hdrs, _ = self.call("POST", "/services/T1/B1/s", body)
            self.assertEqual(st, 503)
            self.assertEqual(hdrs["retry-after"], "1")
        self.assertEqual(self.call("POST", "/services/T1/B1/s", body)[0], 200)
        reqs = self.call("GET", "/_fake/requests")[2]
        self.assertEqual([r["injected"] for r in reqs], [True, True, False])

    def test_inject_method_filter_delay_close(self):
        self.call("POST", "/_fake/inject", {"path": "/v2/", "method": "GET", "status": 500})
        self.assertEqual(self.call("POST", "/v2/enqueue", {})[0], 400)  # POST: not matched
        self.call("DELETE", "/_fake/inject")
        self.call("POST", "/_fake/inject", {"path": "/json/", "delay": 0.3})
        t0 = time.time()
        st, _, body = self.call("GET", "/json/8.8.8.8")
        self.assertGreaterEqual(time.time() - t0, 0.3)
        self.assertEqual((st, body["status"]), (200, "success"))  # delayed, then normal
        self.call("POST", "/_fake/inject", {"path": "/json/", "close": True})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.call("GET", "/json/8.8.8.8")
        self.assertEqual(self.call("GET", "/json/8.8.8.8")[0], 200)
        self.assertEqual(self.call("POST", "/_fake/inject", {"path": "/x"})[0], 400)

    # }====================

    # {==================== chat ====================

    def test_mattermost(self):
        st, hdrs, body = self.call("POST", "/hooks/h1", {"text": "alert"})
        self.assertEqual((st, body), (200, "ok"))
        self.assertTrue(hdrs["content-type"].startswith("text/plain"))
        form = "payload=" + json.dumps({"attachments": [{"text": "a"}]})
        st, _, body = self.call("POST", "/hooks/h1", form,
                                {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((st, body), (200, "ok"))
        st, _, err = self.call("POST", "/hooks/h1", {"channel": "town-square"})
        self.assertEqual(st, 400)
        self.assertEqual(err["id"], "web.incoming_webhook.text.app_error")
        self.assertEqual(err["status_code"], 400)
        self.assertEqual(set(err), {"id", "message", "detailed_error", "request_id",
                                    "status_code"})
        st, _, err = self.call("POST", "/hooks/h1", "{not json",
                               {"Content-Type": "application/json"})
        self.assertEqual((st, err["id"]), (400, "web.incoming_webhook.parse.app_error"))
        self.call("POST", "/_fake/data", {"mattermost_hooks": ["good"]})
        st, _, err = self.call("POST", "/hooks/other", {"text": "x"})
        self.assertEqual((st, err["id"]), (400, "web.incoming_webhook.invalid.app_error"))
        self.assertEqual(self.call("POST", "/hooks/good", {"text": "x"})[0], 200)

    def test_slack(self):
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Alert"}},
                  {"type": "section", "text": {"type": "mrkdwn", "text": "*x*"}}]
        self.assertEqual(self.call("POST", "/services/T/B/s", {"text": "t", "blocks": blocks})[1:],
                         (self.call("POST", "/services/T/B/s", {"text": "t"})[1:]))
        st, _, body = self.call("POST", "/services/T/B/s", {"blocks": blocks})
        self.assertEqual((st, body), (200, "ok"))
        self.assertEqual(self.call("POST", "/services/T/B/s", {})[::2], (400, "no_text"))
        self.assertEqual(self.call("POST", "/services/T/B/s", "nope")[::2],
                         (400, "invalid_payload"))
        self.assertEqual(self.call("POST", "/services/T/B/s",
                                   {"text": "t", "blocks": [{"type": "divider"}] * 51})[::2],
                         (400, "invalid_blocks"))

    # }====================

    # {==================== Jira ====================

    def issue(self, summary="GuardDuty: root login", project="SIRT", version="2"):
        return self.call("POST", "/rest/api/%s/issue" % version,
                         {"fields": {"project": {"key": project}, "issuetype": {"name": "Task"},
                                     "summary": summary, "description": "details",
                                     "labels": ["detection"]}}, JIRA)

    def test_jira_create_keys_and_auth(self):
        st, _, a = self.issue()
        self.assertEqual(st, 201)
        self.assertEqual(set(a), {"id", "key", "self"})
        self.assertEqual(a["key"], "SIRT-1")
        self.assertTrue(a["self"].endswith("/rest/api/2/issue/" + a["id"]))
        st, _, b = self.issue()
        self.assertEqual(b["key"], "SIRT-2")
        self.assertEqual(int(b["id"]), int(a["id"]) + 1)
        self.assertEqual(self.issue(project="SEC")[2]["key"], "SEC-1")
        # no or bad credentials: 401
        hdrs = {"Content-Type": "application/json"}
        self.assertEqual(self.call("POST", "/rest/api/2/issue", {"fields": {}}, hdrs)[0], 401)
        self.call("POST", "/_fake/data", {"jira_credentials": {"bot@example.com": "right"}})
        self.assertEqual(self.issue()[0], 401)
        st, _, issue = self.call("GET", "/rest/api/2/issue/SIRT-1",
                                 headers={"Authorization": basic("bot@example.com", "right")})
        self.assertEqual((st, issue["fields"]["summary"]), (200, "GuardDuty: root login"))

    def test_jira_validation(self):
        st, _, err = self.call("POST", "/rest/api/2/issue",
                               {"fields": {"project": {"key": "SIRT"}}}, JIRA)
        self.assertEqual(st, 400)
        self.assertEqual(err["errorMessages"], [])
        self.assertEqual(err["errors"]["summary"], "You must specify a summary of the issue.")
        self.assertIn("issuetype", err["errors"])
        self.assertNotIn("project", err["errors"])
        st, _, err = self.issue(project="NOPE")
        self.assertEqual((st, list(err["errors"])), (400, ["project"]))
        st, _, err = self.issue(version="3")  # a plain string description on v3
        self.assertEqual(st, 400)
        self.assertIn("description", err["errors"])
        st, _, err = self.call("GET", "/rest/api/2/issue/SIRT-99", headers=JIRA)
        self.assertEqual(st, 404)
        self.assertEqual(err, {"errorMessages": [
            "Issue does not exist or you do not have permission to see it."], "errors": {}})

    def test_jira_comment_and_transitions(self):
        key = self.issue()[2]["key"]
        st, _, c = self.call("POST", "/rest/api/2/issue/%s/comment" % key, {"body": "seen"}, JIRA)
        self.assertEqual(st, 201)
        for f in ("id", "self", "author", "body", "created", "updated"):
            self.assertIn(f, c)
        self.assertEqual(c["body"], "seen")
        st, _, err = self.call("POST", "/rest/api/2/issue/%s/comment" % key, {}, JIRA)
        self.assertEqual((st, err["errors"]), (400, {"comment": "Comment body can not be empty!"}))
        self.assertEqual(self.call("POST", "/rest/api/2/issue/SIRT-77/comment", {"body": "x"},
                                   JIRA)[0], 404)
        st, _, tr = self.call("GET", "/rest/api/2/issue/%s/transitions" % key, headers=JIRA)
        self.assertEqual(st, 200)
        done = [t for t in tr["transitions"] if t["name"] == "Done"][0]
        self.assertEqual(done["to"]["name"], "Done")
        st, _, body = self.call("POST", "/rest/api/2/issue/%s/transitions" % key,
                                {"transition": {"id": done["id"]}}, JIRA)
        self.assertEqual((st, body), (204, ""))
        issue = self.call("GET", "/rest/api/2/issue/" + key, headers=JIRA)[2]
        self.assertEqual(issue["fields"]["status"]["name"], "Done")
        self.assertEqual(issue["fields"]["comment"]["total"], 1)
        st, _, err = self.call("POST", "/rest/api/2/issue/%s/transitions" % key,
                               {"transition": {"id": "999"}}, JIRA)
        self.assertEqual(st, 400)
        self.assertEqual(err["errors"], {})
        self.assertEqual(len(err["errorMessages"]), 1)

    # }====================

    # {==================== PagerDuty ====================

    def test_pagerduty_events(self):
        trig = {"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": "sirt-1",
                "payload": {"summary": "root login", "source": "aws:1:us-east-1",
                            "severity": "critical"}}
        st, _, r = self.call("POST", "/v2/enqueue", trig)
        self.assertEqual((st, r), (202, {"status": "success", "message": "Event processed",
                                         "dedup_key": "sirt-1"}))
        no_key = dict(trig)
        del no_key["dedup_key"]
        st, _, r = self.call("POST", "/v2/enqueue", no_key)
        self.assertEqual(st, 202)
        self.assertTrue(r["dedup_key"])  # generated and returned
        st, _, r = self.call("POST", "/v2/enqueue",
                             {"routing_key": ROUTING_KEY, "event_action": "trigger",
                              "payload": {"summary": "x", "severity": "fatal"}})
        self.assertEqual(st, 400)
        self.assertEqual((r["status"], r["message"]), ("invalid event", "Event object is invalid"))
        self.assertIn("'payload.source' is missing or blank", r["errors"])
        self.assertIn("'payload.severity' is invalid", r["errors"])
        st, _, r = self.call("POST", "/v2/enqueue", {"routing_key": ROUTING_KEY,
                                                     "event_action": "resolve"})
        self.assertEqual(st, 400)
        self.assertIn("'dedup_key' is missing or blank", r["errors"])
        self.call("POST", "/v2/enqueue", {"routing_key": ROUTING_KEY, "event_action": "resolve",
                                          "dedup_key": "sirt-1"})
        state = self.call("GET", "/_fake/state")[2]
        self.assertEqual(state["pagerduty_alerts"][ROUTING_KEY + "/sirt-1"], "resolved")
        self.assertEqual(len(state["pagerduty_events"]), 3)

    def test_pagerduty_oncalls(self):
        st, _, err = self.call("GET", "/oncalls")
        self.assertEqual(st, 401)
        self.assertIn("message", err["error"])
        auth = {"Authorization": "Token token=abc",
                "Accept": "application/vnd.pagerduty+json;version=2"}
        st, _, r = self.call("GET", "/oncalls?escalation_policy_ids[]=PEP0001&earliest=true"
                                    "&include[]=users&time_zone=UTC", headers=auth)
        self.assertEqual(st, 200)
        self.assertEqual((r["limit"], r["offset"], r["more"], r["total"]), (25, 0, False, None))
        oc = r["oncalls"][0]
        self.assertEqual(oc["escalation_level"], 1)
        self.assertEqual(oc["user"]["email"], "alice@example.com")
        r = self.call("GET", "/oncalls?escalation_policy_ids[]=PNONE", headers=auth)[2]
        self.assertEqual(r["oncalls"], [])
        r = self.call("GET", "/oncalls", headers=auth)[2]
        self.assertNotIn("email", r["oncalls"][0]["user"])  # only with include[]=users
        self.call("POST", "/_fake/data", {"oncalls": [
            {"escalation_policy": {"id": "P2", "summary": "Ops"}, "escalation_level": 2,
             "schedule": None, "user": {"id": "PU2", "summary": "Bob", "email": "b@x"},
             "start": "2024-01-01T00:00:00Z", "end": None}]})
        oc = self.call("GET", "/oncalls?include[]=users", headers=auth)[2]["oncalls"]
        self.assertEqual([(o["user"]["id"], o["escalation_level"]) for o in oc], [("PU2", 2)])

    # }====================

    # {==================== enrichment ====================

    def test_abuseipdb(self):
        self.assertEqual(self.call("GET", "/api/v2/check?ipAddress=1.2.3.4")[0], 401)
        key = {"Key": "k", "Accept": "application/json"}
        self.call("POST", "/_fake/data", {"ips": {"1.2.3.4": {"abuseConfidenceScore": 97,
                                                              "totalReports": 12}}})
        st, hdrs, r = self.call("GET", "/api/v2/check?ipAddress=1.2.3.4&maxAgeInDays=90",
                                headers=key)
        self.assertEqual(st, 200)
        d = r["data"]
        self.assertEqual((d["ipAddress"], d["abuseConfidenceScore"], d["totalReports"]),
                         ("1.2.3.4", 97, 12))
        for f in ("isPublic", "ipVersion", "isWhitelisted", "countryCode", "usageType", "isp",
                  "domain", "hostnames", "isTor", "numDistinctUsers", "lastReportedAt"):
            self.assertIn(f, d)
        self.assertNotIn("reports", d)
        self.assertIn("x-ratelimit-remaining", hdrs)
        d = self.call("GET", "/api/v2/check?ipAddress=10.0.0.1&verbose", headers=key)[2]["data"]
        self.assertEqual((d["isPublic"], d["reports"]), (False, []))
        st, _, err = self.call("GET", "/api/v2/check?ipAddress=nope", headers=key)
        self.assertEqual(st, 422)
        self.assertEqual(err["errors"][0]["source"], {"parameter": "ipAddress"})
        self.assertEqual(err["errors"][0]["status"], 422)

    def test_greynoise(self):
        st, _, r = self.call("GET", "/v3/community/8.8.4.4")
        self.assertEqual((st, r["noise"], r["riot"]), (404, False, False))
        self.call("POST", "/_fake/data", {"greynoise": {"8.8.4.4": {
            "noise": True, "classification": "malicious", "name": "scanner"}}})
        st, _, r = self.call("GET", "/v3/community/8.8.4.4")
        self.assertEqual((st, r["classification"], r["message"]), (200, "malicious", "Success"))

    def test_okta(self):
        st, _, err = self.call("GET", "/api/v1/users/00u1alice")
        self.assertEqual((st, err["errorCode"]), (401, "E0000011"))
        st, hdrs, u = self.call("GET", "/api/v1/users/alice@example.com", headers=OKTA)
        self.assertEqual((st, u["id"], u["status"]), (200, "00u1alice", "ACTIVE"))
        self.assertEqual(u["profile"]["login"], "alice@example.com")
        self.assertIn("x-rate-limit-remaining", hdrs)
        st, _, err = self.call("GET", "/api/v1/users/nobody", headers=OKTA)
        self.assertEqual((st, err["errorCode"]), (404, "E0000007"))
        self.assertEqual(set(err), {"errorCode", "errorSummary", "errorLink", "errorId",
                                    "errorCauses"})
        self.call("POST", "/_fake/data", {
            "okta_users": [{"id": "00u2bob", "profile": {"login": "bob@example.com"},
                            "factors": [{"factorType": "token:software:totp",
                                         "provider": "GOOGLE", "created": "2024-05-01T10:00:00.000Z"}],
                            "devices": [{"displayName": "Bob's phone", "platform": "IOS"}]}],
            "okta_logs": [
                {"uuid": "e1", "published": "2024-05-01T10:00:00.000Z",
                 "eventType": "user.mfa.factor.activate", "actor": {"id": "00u2bob"},
                 "outcome": {"result": "SUCCESS"}},
                {"uuid": "e2", "published": "2024-05-01T11:00:00.000Z",
                 "eventType": "user.session.start", "actor": {"id": "00u2bob"},
                 "outcome": {"result": "FAILURE"}}]})
        f = self.call("GET", "/api/v1/users/00u2bob/factors", headers=OKTA)[2]
        self.assertEqual((f[0]["factorType"], f[0]["provider"], f[0]["status"]),
                         ("token:software:totp", "GOOGLE", "ACTIVE"))
        d = self.call("GET", "/api/v1/users/00u2bob/devices", headers=OKTA)[2]
        self.assertEqual(d[0]["device"]["profile"]["platform"], "IOS")
        self.assertEqual(d[0]["device"]["resourceType"], "UDDevice")
        logs = self.call("GET", "/api/v1/logs?since=2024-05-01T10:30:00.000Z", headers=OKTA)[2]
        self.assertEqual([e["uuid"] for e in logs], ["e2"])
        q = '/api/v1/logs?filter=eventType%20eq%20%22user.mfa.factor.activate%22'
        self.assertEqual([e["uuid"] for e in self.call("GET", q, headers=OKTA)[2]], ["e1"])
        st, hdrs, logs = self.call("GET", "/api/v1/logs?sortOrder=DESCENDING&limit=1",
                                   headers=OKTA)
        self.assertEqual([e["uuid"] for e in logs], ["e2"])
        self.assertIn('rel="self"', hdrs["link"])

    def test_geolocation(self):
        st, hdrs, g = self.call("GET", "/json/8.8.8.8")
        self.assertEqual((st, g["status"], g["query"]), (200, "success", "8.8.8.8"))
        for f in ("country", "countryCode", "regionName", "city", "lat", "lon", "timezone",
                  "isp", "org", "as"):
            self.assertIn(f, g)
        self.assertIn("x-rl", hdrs)
        self.assertEqual(self.call("GET", "/json/8.8.8.8")[2], g)  # deterministic
        g = self.call("GET", "/json/8.8.8.8?fields=status,country,query")[2]
        self.assertEqual(set(g), {"status", "country", "query"})
        self.assertEqual(self.call("GET", "/json/192.168.1.1")[2],
                         {"status": "fail", "message": "private range", "query": "192.168.1.1"})
        self.assertEqual(self.call("GET", "/json/240.0.0.1")[2]["message"], "reserved range")
        self.assertEqual(self.call("GET", "/json/zzz")[2]["message"], "invalid query")
        self.call("POST", "/_fake/data", {"geo": {"1.1.1.1": {"countryCode": "AU",
                                                              "country": "Australia"}}})
        self.assertEqual(self.call("GET", "/json/1.1.1.1")[2]["countryCode"], "AU")
        info = self.call("GET", "/1.1.1.1/json")[2]
        self.assertEqual((info["ip"], info["country"]), ("1.1.1.1", "AU"))
        self.assertEqual(len(info["loc"].split(",")), 2)

    def test_unknown_endpoint(self):
        self.assertEqual(self.call("GET", "/nothing/here")[0], 404)
        self.assertEqual(self.call("GET", "/v2/enqueue")[0], 405)

    # }====================


if __name__ == "__main__":
    unittest.main(verbosity=1)
