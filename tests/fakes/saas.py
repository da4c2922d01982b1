#!/usr/bin/env python3
"""A fake of the third-party APIs lp0 stories call, for tests: one HTTP server (stdlib
only) speaking the request and response shapes of /work/shared/reference/protocols.md:

  Mattermost incoming webhooks   POST /hooks/<id>                          (section 2.1)
  Slack incoming webhooks        POST /services/<T>/<B>/<secret>           (2.2)
  Jira Cloud REST v2 (and v3)    /rest/api/{2,3}/issue[/<key>[/comment|/transitions]] (3)
  PagerDuty Events v2            POST /v2/enqueue, POST /v2/change/enqueue (4.1)
  PagerDuty REST                 GET /oncalls                              (4.2)
  AbuseIPDB                      GET /api/v2/check                         (6.1)
  GreyNoise Community            GET /v3/community/<ip>                    (6.2)
  Okta Management API            GET /api/v1/users/<id>[/factors|/devices], /api/v1/logs (6.3)
  ip-api.com / ipinfo.io         GET /json/<ip>, GET /<ip>/json            (6.4)

Test controls (never recorded): GET/DELETE /_fake/requests, POST/DELETE /_fake/inject,
POST /_fake/data, GET /_fake/state. See tests/fakes/README.md.

Run: python3 tests/fakes/saas.py [--port 0] [--port-file F]; the first stdout line is
{"port": N}. From Python tests: `proc, port = saas.spawn()`.
"""
import argparse
import base64
import hashlib
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

ISO = "%Y-%m-%dT%H:%M:%S.000Z"


def now_iso():
    return time.strftime(ISO, time.gmtime())


def jira_time():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())


class State:
    """Everything the fake remembers; one lock guards it all (handlers run in threads)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.injections = []
        self.reset_data()

    def reset_data(self):
        self.mattermost_hooks = []  # empty: every hook id is valid
        self.jira_credentials = {}  # empty: any non-empty Basic credential is accepted
        self.jira_projects = ["SIRT", "SEC", "OPS"]
        self.jira_issues = {}       # key -> issue dict
        self.jira_next_id = 10000
        self.jira_counters = {}     # project -> last number
        self.pd_events = []         # accepted events, in order
        self.pd_alerts = {}         # (routing_key, dedup_key) -> status
        self.pd_tokens = []         # empty: any "Token token=..." is accepted
        self.oncalls = [{
            "escalation_policy": {"id": "PEP0001", "summary": "Security"},
            "escalation_level": 1,
            "schedule": {"id": "PSC0001", "summary": "Security primary"},
            "user": {"id": "PUS0001", "summary": "Alice Oncall", "email": "alice@example.com"},
            "start": "2024-05-01T00:00:00Z", "end": "2024-05-08T00:00:00Z"}]
        self.abuse_key = None       # None: any non-empty Key is accepted
        self.abuse_remaining = 1000
        self.ips = {}               # ip -> overrides for AbuseIPDB "data"
        self.greynoise = {}         # ip -> overrides
        self.geo = {}               # ip -> overrides for ip-api
        self.okta_tokens = []       # empty: any SSWS/Bearer token is accepted
        self.okta_users = {}        # id -> user
        self.okta_factors = {}      # user id -> [factor]
        self.okta_devices = {}      # user id -> [device]
        self.okta_logs = []         # LogEvent list
        self.seed_okta_user({"id": "00u1alice", "profile": {"login": "alice@example.com",
                             "email": "alice@example.com", "firstName": "Alice",
                             "lastName": "Example"}},
                            factors=[{"factorType": "push", "provider": "OKTA"}],
                            devices=[{"displayName": "Alice's Mac", "platform": "MACOS"}])

    def seed_okta_user(self, user, factors=None, devices=None):
        uid = user["id"]
        profile = dict({"login": uid + "@example.com", "email": uid + "@example.com",
                        "firstName": "", "lastName": "", "department": None, "title": None,
                        "manager": None}, **user.get("profile", {}))
        full = {"id": uid, "status": "ACTIVE", "created": "2023-01-01T00:00:00.000Z",
                "activated": "2023-01-01T00:00:00.000Z", "statusChanged": None,
                "lastLogin": None, "lastUpdated": "2023-01-01T00:00:00.000Z",
                "passwordChanged": "2023-01-01T00:00:00.000Z",
                "type": {"id": "oty1"}, "profile": profile,
                "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
                "_links": {"self": {"href": "/api/v1/users/" + uid}}}
        full.update({k: v for k, v in user.items() if k != "profile"})
        self.okta_users[uid] = full
        if factors is not None:
            self.okta_factors[uid] = [self.okta_factor(uid, i, f) for i, f in enumerate(factors)]
        if devices is not None:
            self.okta_devices[uid] = [self.okta_device(uid, i, d) for i, d in enumerate(devices)]

    @staticmethod
    def okta_factor(uid, i, f):
        ftype = f.get("factorType", "push")
        out = {"id": f.get("id", "opf%s%d" % (uid[-6:], i)), "factorType": ftype,
               "provider": f.get("provider", "OKTA"), "vendorName": f.get("vendorName", "OKTA"),
               "status": f.get("status", "ACTIVE"),
               "created": f.get("created", "2023-01-02T00:00:00.000Z"),
               "lastUpdated": f.get("lastUpdated", "2023-01-02T00:00:00.000Z"),
               "profile": f.get("profile", {"credentialId": uid}),
               "_links": {"self": {"href": "/api/v1/users/%s/factors/opf%d" % (uid, i)}}}
        return out

    @staticmethod
    def okta_device(uid, i, d):
        did = d.get("id", "guo%s%d" % (uid[-6:], i))
        profile = {"displayName": d.get("displayName", "Device %d" % i),
                   "platform": d.get("platform", "WINDOWS"),
                   "manufacturer": d.get("manufacturer"), "model": d.get("model"),
                   "osVersion": d.get("osVersion", "1.0"),
                   "serialNumber": d.get("serialNumber"), "registered": True,
                   "secureHardwarePresent": d.get("secureHardwarePresent", True),
                   "diskEncryptionType": d.get("diskEncryptionType", "ALL_INTERNAL_VOLUMES"),
                   "integrityJailbreak": d.get("integrityJailbreak", False)}
        created = d.get("created", "2023-01-03T00:00:00.000Z")
        return {"created": created,
                "device": {"id": did, "status": d.get("status", "ACTIVE"), "created": created,
                           "lastUpdated": created, "profile": profile,
                           "resourceType": "UDDevice",
                           "resourceDisplayName": {"value": profile["displayName"],
                                                   "sensitive": False},
                           "resourceAlternateId": None, "resourceId": did,
                           "_links": {"self": {"href": "/api/v1/devices/" + did}}}}


STATE = State()


def json_bytes(obj):
    return json.dumps(obj).encode()


def ip_info(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def digest(text, n):
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % n


# What ip-api calls "private range"; every other non-global address is "reserved range".
PRIVATE_NETS = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
    "::1/128", "fc00::/7", "fe80::/10")]

GEO = [  # deterministic picks for public IPs nobody seeded
    {"country": "United States", "countryCode": "US", "region": "CA", "regionName": "California",
     "city": "Mountain View", "zip": "94043", "lat": 37.422, "lon": -122.084,
     "timezone": "America/Los_Angeles", "isp": "Google LLC", "org": "Google Public DNS",
     "as": "AS15169 Google LLC"},
    {"country": "Germany", "countryCode": "DE", "region": "HE", "regionName": "Hesse",
     "city": "Frankfurt am Main", "zip": "60313", "lat": 50.1109, "lon": 8.6821,
     "timezone": "Europe/Berlin", "isp": "Hetzner Online GmbH", "org": "Hetzner",
     "as": "AS24940 Hetzner Online GmbH"},
    {"country": "Netherlands", "countryCode": "NL", "region": "NH", "regionName": "North Holland",
     "city": "Amsterdam", "zip": "1012", "lat": 52.3676, "lon": 4.9041,
     "timezone": "Europe/Amsterdam", "isp": "DigitalOcean, LLC", "org": "DigitalOcean",
     "as": "AS14061 DigitalOcean, LLC"},
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    server_version = "lp0-fake-saas/1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if os.environ.get("FAKE_SAAS_VERBOSE"):
            sys.stderr.write("fake-saas: " + fmt % args + "\n")

    # {==================== plumbing ====================

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def dispatch(self):
        parts = urlsplit(self.path)
        self.route = parts.path
        self.query = parts.query
        self.args = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        self.raw = self.rfile.read(length) if length > 0 else b""
        try:
            self.json = json.loads(self.raw) if self.raw else None
        except ValueError:
            self.json = None
        if self.route.startswith("/_fake/"):
            return self.control()
        inj = self.take_injection()
        record = {"method": self.command, "path": self.route, "query": self.query,
                  "args": self.args, "headers": {k.lower(): v for k, v in self.headers.items()},
                  "json": self.json, "body": self.raw.decode("utf-8", "replace"),
                  "time": time.time(), "injected": inj is not None}
        with STATE.lock:
            STATE.requests.append(record)
        if inj:
            if inj.get("delay"):
                time.sleep(float(inj["delay"]))
            if inj.get("close"):
                self.close_connection = True
                return  # no answer: the client sees the connection drop
            if inj.get("status"):
                headers = {}
                if inj.get("retry_after") is not None:
                    headers["Retry-After"] = str(inj["retry_after"])
                body = inj.get("body", {"error": "injected failure"})
                if isinstance(body, str):
                    return self.send(inj["status"], body.encode(), "text/plain", headers)
                return self.send(inj["status"], json_bytes(body), "application/json", headers)
        try:
            self.api()
        except Exception as e:  # a bug in the fake must show, not hang the client
            self.send(500, json_bytes({"fake_error": repr(e)}), "application/json")
            raise

    def take_injection(self):
        with STATE.lock:
            for inj in STATE.injections:
                if inj["count"] <= 0 or not self.route.startswith(inj.get("path", "/")):
                    continue
                if inj.get("method") and inj["method"].upper() != self.command:
                    continue
                inj["count"] -= 1
                return dict(inj)
        return None

    def send(self, status, body=b"", ctype=None, headers=None):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status == 204 or status == 304:
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=None):
        self.send(status, json_bytes(obj), "application/json", headers)

    def base_url(self):
        return "http://%s" % (self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_port)

    # }====================

    # {==================== controls ====================

    def control(self):
        r, m = self.route, self.command
        if r == "/_fake/requests" and m == "GET":
            with STATE.lock:
                return self.send_json(200, STATE.requests)
        if r == "/_fake/requests" and m == "DELETE":
            with STATE.lock:
                STATE.requests.clear()
            return self.send(204)
        if r == "/_fake/inject" and m == "POST":
            spec = self.json
            if not isinstance(spec, dict) or not isinstance(spec.get("path", "/"), str):
                return self.send_json(400, {"error": "expected a JSON object with a path"})
            spec = dict(spec)
            spec.setdefault("path", "/")
            spec["count"] = int(spec.get("count", 1))
            if not (spec.get("status") or spec.get("close") or spec.get("delay")):
                return self.send_json(400, {"error": "give status, close or delay"})
            with STATE.lock:
                STATE.injections.append(spec)
            return self.send_json(200, {"injections": len(STATE.injections)})
        if r == "/_fake/inject" and m == "DELETE":
            with STATE.lock:
                STATE.injections.clear()
            return self.send(204)
        if r == "/_fake/data" and m == "POST":
            if not isinstance(self.json, dict):
                return self.send_json(400, {"error": "expected a JSON object"})
            with STATE.lock:
                self.seed(self.json)
            return self.send_json(200, {"ok": True})
        if r == "/_fake/state" and m == "GET":
            with STATE.lock:
                return self.send_json(200, {
                    "jira_issues": STATE.jira_issues,
                    "pagerduty_events": STATE.pd_events,
                    "pagerduty_alerts": {"%s/%s" % k: v for k, v in STATE.pd_alerts.items()}})
        if r == "/_fake/reset" and m == "POST":
            with STATE.lock:
                STATE.requests.clear()
                STATE.injections.clear()
                STATE.reset_data()
            return self.send(204)
        return self.send_json(404, {"error": "unknown control"})

    @staticmethod
    def seed(d):
        s = STATE
        for u in d.get("okta_users", []):
            s.seed_okta_user(u, u.pop("factors", None), u.pop("devices", None))
        s.okta_logs.extend(d.get("okta_logs", []))
        if "okta_tokens" in d:
            s.okta_tokens = list(d["okta_tokens"])
        if "oncalls" in d:
            s.oncalls = list(d["oncalls"])
        if "pagerduty_tokens" in d:
            s.pd_tokens = list(d["pagerduty_tokens"])
        s.ips.update(d.get("ips", {}))
        s.greynoise.update(d.get("greynoise", {}))
        s.geo.update(d.get("geo", {}))
        if "abuseipdb_key" in d:
            s.abuse_key = d["abuseipdb_key"]
        if "jira_projects" in d:
            s.jira_projects = list(d["jira_projects"])
        s.jira_credentials.update(d.get("jira_credentials", {}))
        if "mattermost_hooks" in d:
            s.mattermost_hooks = list(d["mattermost_hooks"])

    # }====================

    # {==================== routing ====================

    def api(self):
        r, m = self.route, self.command
        routes = [
            (r"/hooks/([^/]+)", "POST", self.mattermost),
            (r"/services/([^/]+/[^/]+/[^/]+)", "POST", self.slack),
            (r"/rest/api/([23])/issue", "POST", self.jira_create),
            (r"/rest/api/([23])/issue/([^/]+)", "GET", self.jira_get),
            (r"/rest/api/([23])/issue/([^/]+)/comment", "POST", self.jira_comment),
            (r"/rest/api/([23])/issue/([^/]+)/transitions", "GET", self.jira_transitions),
            (r"/rest/api/([23])/issue/([^/]+)/transitions", "POST", self.jira_transition),
            (r"/v2/enqueue", "POST", self.pd_enqueue),
            (r"/v2/change/enqueue", "POST", self.pd_change),
            (r"/oncalls", "GET", self.pd_oncalls),
            (r"/api/v2/check", "GET", self.abuse_check),
            (r"/v3/community/([^/]+)", "GET", self.greynoise),
            (r"/api/v1/users/([^/]+)", "GET", self.okta_user),
            (r"/api/v1/users/([^/]+)/factors", "GET", self.okta_factors),
            (r"/api/v1/users/([^/]+)/devices", "GET", self.okta_devices),
            (r"/api/v1/logs", "GET", self.okta_logs),
            (r"/json/([^/]*)", "GET", self.ipapi),
            (r"/([0-9a-fA-F.:]+)/json", "GET", self.ipinfo),
        ]
        path_matched = False
        for pattern, method, fn in routes:
            mt = re.fullmatch(pattern, r)
            if not mt:
                continue
            path_matched = True
            if method == m or (method == "GET" and m == "HEAD"):
                return fn(*[unquote(g) for g in mt.groups()])
        if path_matched:
            return self.send_json(405, {"error": "method not allowed"})
        return self.send_json(404, {"error": "no such endpoint in the fake"})

    # }====================

    # {==================== 2. chat ====================

    def mattermost(self, hook):
        def app_error(status, eid, message):
            self.send_json(status, {"id": eid, "message": message, "detailed_error": "",
                                    "request_id": uuid.uuid4().hex[:26],
                                    "status_code": status})
        with STATE.lock:
            hooks = list(STATE.mattermost_hooks)
        if hooks and hook not in hooks:
            return app_error(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook.")
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        payload = None
        try:
            if ctype == "application/x-www-form-urlencoded":
                payload = json.loads(parse_qs(self.raw.decode())["payload"][0])
            elif ctype == "application/json":
                payload = json.loads(self.raw)
        except (ValueError, KeyError, IndexError):
            payload = None
        if not isinstance(payload, dict):
            return app_error(400, "web.incoming_webhook.parse.app_error",
                             "Unable to parse incoming data.")
        if not payload.get("text") and not payload.get("attachments"):
            return app_error(400, "web.incoming_webhook.text.app_error", "No text specified.")
        self.send(200, b"ok", "text/plain")

    def slack(self, path):
        def err(status, text):
            self.send(status, text.encode(), "text/plain")
        payload = self.json
        if not isinstance(payload, dict):
            return err(400, "invalid_payload")
        blocks, atts = payload.get("blocks"), payload.get("attachments")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > 50 or
                                   any(not isinstance(b, dict) or "type" not in b
                                       for b in blocks)):
            return err(400, "invalid_blocks")
        if atts is not None and (not isinstance(atts, list) or len(atts) > 100):
            return err(400, "too_many_attachments")
        if not payload.get("text") and not blocks and not atts:
            return err(400, "no_text")
        self.send(200, b"ok", "text/plain")

    # }====================

    # {==================== 3. Jira ====================

    def jira_auth(self):
        auth = self.headers.get("Authorization") or ""
        ok = False
        if auth.startswith("Basic "):
            try:
                user, _, token = base64.b64decode(auth[6:]).decode().partition(":")
                with STATE.lock:
                    creds = dict(STATE.jira_credentials)
                ok = bool(user and token) and (not creds or creds.get(user) == token)
            except ValueError:
                ok = False
        if not ok:  # Jira answers 401 with an empty body
            self.send(401, b"", None, {"WWW-Authenticate": 'Basic realm="protected-area"'})
        return ok

    def jira_error(self, status, messages=(), errors=None):
        self.send_json(status, {"errorMessages": list(messages), "errors": errors or {}})

    def jira_body(self):
        if not isinstance(self.json, dict):
            self.jira_error(400, ["Unexpected character: the request body is not a JSON object"])
            return None
        return self.json

    def jira_issue(self, key):
        with STATE.lock:
            issue = STATE.jira_issues.get(key)
            if issue is None:
                issue = next((i for i in STATE.jira_issues.values() if i["id"] == key), None)
        if issue is None:
            self.jira_error(404, ["Issue does not exist or you do not have permission to see it."])
        return issue

    def jira_create(self, version):
        if not self.jira_auth():
            return
        body = self.jira_body()
        if body is None:
            return
        fields = body.get("fields")
        if not isinstance(fields, dict):
            return self.jira_error(400, ["Field 'fields' is required."])
        errors = {}
        project = fields.get("project") or {}
        pkey = project.get("key") if isinstance(project, dict) else None
        with STATE.lock:
            projects = list(STATE.jira_projects)
        if not pkey or pkey not in projects:
            errors["project"] = "Specify a valid project ID or key"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        itype = fields.get("issuetype")
        if not isinstance(itype, dict) or not (itype.get("name") or itype.get("id")):
            errors["issuetype"] = "Specify an issue type"
        if version == "3" and isinstance(fields.get("description"), str):
            errors["description"] = ("Operation value must be an Atlassian Document "
                                     "(see the Atlassian Document Format)")
        if errors:
            return self.jira_error(400, [], errors)
        with STATE.lock:
            STATE.jira_next_id += 1
            iid = str(STATE.jira_next_id)
            n = STATE.jira_counters.get(pkey, 0) + 1
            STATE.jira_counters[pkey] = n
            key = "%s-%d" % (pkey, n)
            selfurl = "%s/rest/api/%s/issue/%s" % (self.base_url(), version, iid)
            STATE.jira_issues[key] = {
                "id": iid, "key": key, "self": selfurl,
                "fields": dict(fields, status={"name": "To Do", "id": "10000"},
                               comment={"comments": [], "total": 0},
                               created=jira_time(), updated=jira_time())}
        self.send_json(201, {"id": iid, "key": key, "self": selfurl})

    def jira_get(self, version, key):
        if not self.jira_auth():
            return
        issue = self.jira_issue(key)
        if issue is not None:
            self.send_json(200, dict(issue, expand="renderedFields,names,schema"))

    def jira_comment(self, version, key):
        if not self.jira_auth():
            return
        issue = self.jira_issue(key)
        if issue is None:
            return
        body = self.jira_body()
        if body is None:
            return
        text = body.get("body")
        if not text:
            return self.jira_error(400, [], {"comment": "Comment body can not be empty!"})
        if version == "3" and isinstance(text, str):
            return self.jira_error(400, [], {"comment": "Operation value must be an Atlassian "
                                             "Document (see the Atlassian Document Format)"})
        user = base64.b64decode(self.headers["Authorization"][6:]).decode().partition(":")[0]
        with STATE.lock:
            comments = issue["fields"]["comment"]["comments"]
            cid = str(10000 + sum(len(i["fields"]["comment"]["comments"])
                                  for i in STATE.jira_issues.values()) + 1)
            author = {"accountId": hashlib.md5(user.encode()).hexdigest()[:24],
                      "emailAddress": user, "displayName": user.split("@")[0],
                      "active": True}
            comment = {"self": "%s/comment/%s" % (issue["self"], cid), "id": cid,
                       "author": author, "body": text, "updateAuthor": author,
                       "created": jira_time(), "updated": jira_time(), "jsdPublic": True}
            comments.append(comment)
            issue["fields"]["comment"]["total"] = len(comments)
        self.send_json(201, comment)

    TRANSITIONS = [("11", "To Do", "10000", "new"), ("21", "In Progress", "3", "indeterminate"),
                   ("31", "Done", "10001", "done")]

    def jira_transitions(self, version, key):
        if not self.jira_auth():
            return
        if self.jira_issue(key) is None:
            return
        out = [{"id": tid, "name": name, "hasScreen": False, "isGlobal": True,
                "isInitial": False, "isConditional": False,
                "to": {"self": "%s/rest/api/%s/status/%s" % (self.base_url(), version, sid),
                       "name": name, "id": sid,
                       "statusCategory": {"key": cat, "name": name}}}
               for tid, name, sid, cat in self.TRANSITIONS]
        self.send_json(200, {"expand": "transitions", "transitions": out})

    def jira_transition(self, version, key):
        if not self.jira_auth():
            return
        issue = self.jira_issue(key)
        if issue is None:
            return
        body = self.jira_body()
        if body is None:
            return
        tr = body.get("transition")
        tid = str(tr.get("id", "")) if isinstance(tr, dict) else ""
        if not tid:
            return self.jira_error(400, ["Missing 'transition' identifier"])
        match = [t for t in self.TRANSITIONS if t[0] == tid]
        if not match:
            return self.jira_error(400, ["Transition id '%s' is not valid for this issue." % tid])
        with STATE.lock:
            issue["fields"]["status"] = {"name": match[0][1], "id": match[0][2]}
            issue["fields"]["updated"] = jira_time()
        self.send(204)

    # }====================

    # {==================== 4. PagerDuty ====================

    def pd_invalid(self, errors):
        self.send_json(400, {"status": "invalid event", "message": "Event object is invalid",
                             "errors": errors})

    def pd_enqueue(self):
        ev = self.json
        if not isinstance(ev, dict):
            return self.pd_invalid(["Event object is not valid JSON"])
        errors = []
        rk = ev.get("routing_key")
        if not isinstance(rk, str) or not rk:
            errors.append("'routing_key' is missing or blank")
        elif len(rk) != 32:
            errors.append("'routing_key' is invalid")
        action = ev.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is missing or blank" if not action
                          else "'event_action' is invalid")
        dk = ev.get("dedup_key")
        if dk is not None and (not isinstance(dk, str) or len(dk) > 255):
            errors.append("'dedup_key' is invalid")
        if action == "trigger":
            p = ev.get("payload")
            if not isinstance(p, dict):
                errors.append("'payload' is missing or blank")
            else:
                for f in ("summary", "source", "severity"):
                    if not p.get(f):
                        errors.append("'payload.%s' is missing or blank" % f)
                if p.get("severity") and p["severity"] not in ("critical", "error", "warning",
                                                               "info"):
                    errors.append("'payload.severity' is invalid")
                if isinstance(p.get("summary"), str) and len(p["summary"]) > 1024:
                    errors.append("'payload.summary' is too long")
        elif action in ("acknowledge", "resolve") and not dk:
            errors.append("'dedup_key' is missing or blank")
        if len(self.raw) > 512 * 1024:
            errors.append("Event object is too large")
        if errors:
            return self.pd_invalid(errors)
        if not dk:
            dk = uuid.uuid4().hex
        with STATE.lock:
            k = (rk, dk)
            current = STATE.pd_alerts.get(k)
            if action == "trigger":
                if current in (None, "resolved"):
                    STATE.pd_alerts[k] = "triggered"
            elif current in ("triggered", "acknowledged"):  # else PagerDuty drops it
                STATE.pd_alerts[k] = "acknowledged" if action == "acknowledge" else "resolved"
            STATE.pd_events.append(dict(ev, dedup_key=dk))
        self.send_json(202, {"status": "success", "message": "Event processed", "dedup_key": dk})

    def pd_change(self):
        ev = self.json
        if not isinstance(ev, dict) or not ev.get("routing_key") or \
                not isinstance(ev.get("payload"), dict) or not ev["payload"].get("summary"):
            return self.pd_invalid(["'payload.summary' is missing or blank"])
        self.send_json(202, {"status": "success", "message": "Change event processed"})

    def pd_oncalls(self):
        auth = self.headers.get("Authorization") or ""
        mt = re.fullmatch(r"Token token=(\S+)", auth)
        with STATE.lock:
            tokens = list(STATE.pd_tokens)
            oncalls = json.loads(json.dumps(STATE.oncalls))
        if not mt or (tokens and mt.group(1) not in tokens):
            return self.send_json(401, {"error": {"message": "Unauthorized", "code": 2006}})
        eps = self.args.get("escalation_policy_ids[]", [])
        scheds = self.args.get("schedule_ids[]", [])
        users = self.args.get("user_ids[]", [])
        full_users = "users" in self.args.get("include[]", [])
        out = []
        for oc in oncalls:
            if eps and oc.get("escalation_policy", {}).get("id") not in eps:
                continue
            if scheds and (oc.get("schedule") or {}).get("id") not in scheds:
                continue
            if users and oc.get("user", {}).get("id") not in users:
                continue
            u = oc.get("user", {})
            ref = {"id": u.get("id"), "summary": u.get("summary"),
                   "self": "https://api.pagerduty.com/users/%s" % u.get("id"),
                   "html_url": "https://example.pagerduty.com/users/%s" % u.get("id")}
            if full_users:
                ref.update(type="user", name=u.get("summary"), email=u.get("email"),
                           time_zone="UTC")
            else:
                ref["type"] = "user_reference"
            ep = dict(oc.get("escalation_policy", {}), type="escalation_policy_reference")
            sched = oc.get("schedule")
            if sched:
                sched = dict(sched, type="schedule_reference")
            out.append({"escalation_policy": ep, "escalation_level": oc.get("escalation_level", 1),
                        "schedule": sched, "user": ref, "start": oc.get("start"),
                        "end": oc.get("end")})
        if self.args.get("earliest", [""])[0] == "true":
            seen, firsts = set(), []
            for o in out:
                k = (o["user"]["id"], o["escalation_level"], o["escalation_policy"].get("id"))
                if k not in seen:
                    seen.add(k)
                    firsts.append(o)
            out = firsts
        self.send_json(200, {"oncalls": out, "limit": 25, "offset": 0, "more": False,
                             "total": None})

    # }====================

    # {==================== 6. enrichment ====================

    def abuse_check(self):
        def err(status, detail, param=None, headers=None):
            e = {"detail": detail, "status": status}
            if param:
                e["source"] = {"parameter": param}
            self.send_json(status, {"errors": [e]}, headers)
        key = self.headers.get("Key")
        with STATE.lock:
            want = STATE.abuse_key
        if not key or (want is not None and key != want):
            return err(401, "Authentication failed. Your API key is either missing, incorrect, "
                            "or revoked. Note: The APIv2 key differs from the APIv1 key.")
        text = self.args.get("ipAddress", [""])[0]
        ip = ip_info(text)
        if ip is None:
            return err(422, "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 "
                            "or 2001:4860:4860::8888).", "ipAddress")
        max_age = self.args.get("maxAgeInDays", ["30"])[0]
        if not max_age.isdigit() or not 1 <= int(max_age) <= 365:
            return err(422, "The max age in days must be between 1 and 365.", "maxAgeInDays")
        public = ip.is_global
        data = {"ipAddress": str(ip), "isPublic": public, "ipVersion": ip.version,
                "isWhitelisted": False if public else None,
                "abuseConfidenceScore": 0, "countryCode": "US" if public else None,
                "usageType": "Data Center/Web Hosting/Transit" if public else "Reserved",
                "isp": "Fake Networks" if public else "Private IP Address LAN",
                "domain": "example.net" if public else None, "hostnames": [],
                "isTor": False, "totalReports": 0, "numDistinctUsers": 0,
                "lastReportedAt": None}
        with STATE.lock:
            data.update(STATE.ips.get(str(ip), {}))
            STATE.abuse_remaining = max(0, STATE.abuse_remaining - 1)
            remaining = STATE.abuse_remaining
        verbose = "verbose" in self.args
        reports = data.pop("reports", [])
        if verbose:
            data.setdefault("countryName", "United States" if data.get("countryCode") == "US"
                            else None)
            data["reports"] = reports
        else:
            data.pop("countryName", None)
        self.send_json(200, {"data": data}, {"X-RateLimit-Limit": "1000",
                                             "X-RateLimit-Remaining": str(remaining)})

    def greynoise(self, text):
        ip = ip_info(text)
        if ip is None:
            return self.send_json(400, {"message": "Request is not a valid routable IPv4 address"})
        with STATE.lock:
            seeded = STATE.greynoise.get(str(ip))
        if seeded is None:
            return self.send_json(404, {"ip": str(ip), "noise": False, "riot": False,
                                        "message": "IP not observed scanning the internet or "
                                                   "contained in RIOT data set."})
        out = {"ip": str(ip), "noise": False, "riot": False, "classification": "unknown",
               "name": "unknown", "link": "https://viz.greynoise.io/ip/%s" % ip,
               "last_seen": time.strftime("%Y-%m-%d", time.gmtime()), "message": "Success"}
        out.update(seeded)
        self.send_json(200, out)

    def okta_auth(self):
        auth = self.headers.get("Authorization") or ""
        mt = re.fullmatch(r"(SSWS|Bearer) (\S+)", auth)
        with STATE.lock:
            tokens = list(STATE.okta_tokens)
        if mt and (not tokens or mt.group(2) in tokens):
            return True
        self.okta_error(401, "E0000011", "Invalid token provided")
        return False

    def okta_error(self, status, code, summary):
        self.send_json(status, {"errorCode": code, "errorSummary": summary, "errorLink": code,
                                "errorId": "oae" + uuid.uuid4().hex[:19], "errorCauses": []},
                       self.okta_rate_headers())

    @staticmethod
    def okta_rate_headers():
        return {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "599",
                "X-Rate-Limit-Reset": str(int(time.time()) + 60)}

    def okta_find(self, ident):
        with STATE.lock:
            user = STATE.okta_users.get(ident)
            if user is None:
                user = next((u for u in STATE.okta_users.values()
                             if u["profile"].get("login") == ident), None)
            user = json.loads(json.dumps(user)) if user else None
        if user is None:
            self.okta_error(404, "E0000007", "Not found: Resource not found: %s (User)" % ident)
        return user

    def okta_user(self, ident):
        if self.okta_auth():
            user = self.okta_find(ident)
            if user:
                self.send_json(200, user, self.okta_rate_headers())

    def okta_factors(self, ident):
        if self.okta_auth():
            user = self.okta_find(ident)
            if user:
                with STATE.lock:
                    out = STATE.okta_factors.get(user["id"], [])
                    self.send_json(200, out, self.okta_rate_headers())

    def okta_devices(self, ident):
        if self.okta_auth():
            user = self.okta_find(ident)
            if user:
                with STATE.lock:
                    out = STATE.okta_devices.get(user["id"], [])
                    self.send_json(200, out, self.okta_rate_headers())

    def okta_logs(self):
        """System Log: since/until on `published`, `filter` (`a.b eq "v"` joined by
        `and`), `q` (substring of the serialised event), `limit`, `sortOrder`."""
        if not self.okta_auth():
            return
        arg = lambda k, d=None: self.args.get(k, [d])[0]
        try:
            limit = int(arg("limit", "100"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= 1000:
            return self.okta_error(400, "E0000001", "Api validation failed: limit")
        conds = []
        flt = arg("filter")
        if flt:
            for part in re.split(r"\s+and\s+", flt.strip()):
                mt = re.fullmatch(r'([\w.]+)\s+eq\s+"([^"]*)"', part.strip())
                if not mt:
                    return self.okta_error(400, "E0000031", "Invalid search criteria.")
                conds.append((mt.group(1).split("."), mt.group(2)))

        def get(ev, path):
            for p in path:
                ev = ev.get(p) if isinstance(ev, dict) else None
            return ev
        with STATE.lock:
            events = json.loads(json.dumps(STATE.okta_logs))
        since, until, q = arg("since"), arg("until"), arg("q")
        out = [e for e in events
               if (not since or e.get("published", "") >= since)
               and (not until or e.get("published", "") < until)
               and all(str(get(e, p)) == v for p, v in conds)
               and (not q or all(w in json.dumps(e) for w in q.split()))]
        out.sort(key=lambda e: e.get("published", ""), reverse=arg("sortOrder") == "DESCENDING")
        link = '<%s/api/v1/logs?%s>; rel="self"' % (self.base_url(), self.query)
        self.send_json(200, out[:limit], dict(self.okta_rate_headers(), Link=link))

    def geo_for(self, ip):
        with STATE.lock:
            seeded = STATE.geo.get(str(ip))
        base = dict(GEO[digest(str(ip), len(GEO))])
        if seeded:
            base.update(seeded)
        return base

    def ipapi(self, text):
        headers = {"X-Rl": "44", "X-Ttl": "60"}
        ip = ip_info(text)
        fields = self.args.get("fields", [""])[0]
        if ip is None or not ip.is_global:
            if ip is None:
                msg = "invalid query"
            elif any(ip in n for n in PRIVATE_NETS if n.version == ip.version):
                msg = "private range"
            else:
                msg = "reserved range"
            return self.send_json(200, {"status": "fail", "message": msg, "query": text},
                                  headers)
        out = dict({"status": "success"}, **self.geo_for(ip), query=str(ip))
        if fields:
            wanted = [f for f in fields.split(",") if f]
            out = {k: v for k, v in out.items() if k in wanted}
        self.send_json(200, out, headers)

    def ipinfo(self, text):
        ip = ip_info(text)
        if ip is None:
            return self.send_json(404, {"status": 404, "error": {
                "title": "Wrong ip", "message": "Please provide a valid IP address"}})
        if not ip.is_global:
            return self.send_json(200, {"ip": str(ip), "bogon": True})
        g = self.geo_for(ip)
        self.send_json(200, {"ip": str(ip), "hostname": "host-%s.example.net" % digest(str(ip), 999),
                             "city": g["city"], "region": g["regionName"],
                             "country": g["countryCode"], "loc": "%.4f,%.4f" % (g["lat"], g["lon"]),
                             "org": g["as"], "postal": g["zip"], "timezone": g["timezone"]})

    # }====================


def spawn(port_file=None, env=None):
    """Starts the fake as a child process; returns (proc, port). Stop it with
    proc.terminate() then proc.wait()."""
    cmd = [sys.executable, os.path.abspath(__file__), "--port", "0"]
    if port_file:
        cmd += ["--port-file", port_file]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError("fake saas did not start")
    return proc, json.loads(line)["port"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="also write the bound port (a bare number) here")
    opts = ap.parse_args()
    srv = ThreadingHTTPServer((opts.host, opts.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, opts.port_file)
    print(json.dumps({"port": port}), flush=True)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()


if __name__ == "__main__":
    main()
