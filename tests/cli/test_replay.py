"""`lp0 replay`: input formats, errors in the input, options, determinism across
workers, and the alerts' windows, thresholds and fields."""
import gzip
import json
import random
import unittest

import sys

sys.dont_write_bytecode = True  # keep tests/cli free of __pycache__
from lp0cli import CliTest, alerts, ct, iso, ndjson, summary  # noqa: E402

DETS = {
    "simple.lua": '''
        id = "R.Simple"
        log_types = { "AWS.CloudTrail" }
        default_severity = "MEDIUM"
        dedup_minutes = 60
        tags = { "t1" }
        reports = { ["MITRE ATT&CK"] = { "TA0001:T1078" } }
        default_runbook = "look"
        match = { eventName = "Hit" }
        function rule(e) return true end
        function title(e) return "hit by " .. e.user .. " #" .. e.n end
        function severity(e) if e.n == 1 then return "HIGH" end return "LOW" end
        function dedup(e) return e.user end
        function alert_context(e) return { user = e.user, n = e.n } end
    ''',
    "thresh.lua": '''
        id = "R.Thresh"
        log_types = { "AWS.CloudTrail" }
        default_severity = "LOW"
        threshold = 3
        dedup_minutes = 10
        match = { eventName = "Burst" }
        function rule(e) return true end
        function dedup(e) return e.user end
    ''',
    "unique.lua": '''
        id = "R.Unique"
        log_types = { "AWS.CloudTrail" }
        default_severity = "LOW"
        threshold = 3
        dedup_minutes = 30
        match = { eventName = "Spray" }
        function rule(e) return true end
        function unique(e) return e.ip end
    ''',
    "err.lua": '''
        id = "R.Err"
        log_types = { "AWS.CloudTrail" }
        default_severity = "LOW"
        match = { eventName = "Boom" }
        function rule(e)
          if e.bad then error("boom " .. e.n) end
          return true
        end
        function dedup(e) return e.user end
    ''',
    "custom.lua": '''
        id = "R.Custom"
        log_types = { "Custom.Thing" }
        default_severity = "INFO"
        function rule(e) return e.kind == "x" end
    ''',
    "signal.lua": '''
        id = "R.Signal"
        log_types = { "AWS.CloudTrail" }
        default_severity = "INFO"
        create_alert = false
        match = { eventName = "Hit" }
        function rule(e) return true end
    ''',
}


def hit(minutes, user="bob", n=1, **kw):
    return ct("Hit", minutes, user=user, n=n, **kw)


class ReplayTest(CliTest):
    def setUp(self):
        super().setUp()
        self.det = self.tree(DETS)

    def write(self, name, data):
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    def replay(self, *args, **kw):
        return self.lp0("replay", "-q", "-d", self.det, *args, **kw)

    def replay_events(self, events, *args):
        res = self.replay(*args, self.write("events.ndjson", ndjson(events)))
        self.assertIsNotNone(summary(res.err), repr(res))
        return res, alerts(res.out)

    def by(self, found, det, dedup=None):
        return [a for a in found if a["detection"] == det and (dedup is None or a["dedup"] == dedup)]


class Formats(ReplayTest):
    EVENTS = [hit(0, "bob", 1), hit(1, "bob", 2), hit(2, "ann", 1), ct("Burst", 3, user="z"),
              ct("Burst", 4, user="z"), ct("Burst", 5, user="z"), ct("Other", 6)]

    def baseline(self):
        res = self.replay(self.write("base.ndjson", ndjson(self.EVENTS)))
        self.assertExit(res, 0)
        found = alerts(res.out)
        self.assertEqual(sorted((a["detection"], a["dedup"], a["count"]) for a in found),
                         [("R.Simple", "ann", 1), ("R.Simple", "bob", 2), ("R.Thresh", "z", 3)])
        return res.raw

    def variants(self):
        ev = self.EVENTS
        one = json.dumps(ev)
        pretty = json.dumps(ev, indent=2)
        records = json.dumps({"Records": ev})
        records_pretty = json.dumps({"Records": ev}, indent=4)
        return {
            "ndjson": ndjson(ev),
            "ndjson crlf": ndjson(ev).replace("\n", "\r\n"),
            "ndjson blank lines": "\n" + ndjson(ev).replace("\n", "\n\n"),
            "array one line": one + "\n",
            "array pretty": pretty,
            "records one line": records,
            "records pretty": records_pretty,
            "records indented first line": "  " + records_pretty,
        }

    def test_every_format_gives_the_same_alerts(self):
        base = self.baseline()
        for name, text in self.variants().items():
            for gz in (False, True):
                with self.subTest(format=name, gzip=gz):
                    data = gzip.compress(text.encode()) if gz else text.encode()
                    # a gzip file is recognised by its magic bytes, whatever its name
                    path = self.write("input.%s" % ("log" if gz else "json"), data)
                    res = self.replay(path)
                    self.assertExit(res, 0)
                    self.assertEqual(res.raw, base, repr(res))
                    s = summary(res.err)
                    self.assertEqual((s["events"], s["parse_errors"]), (len(self.EVENTS), 0))
                    self.assertEqual(s["bytes"], len(text.encode()))  # bytes read, after gunzip

    def test_stdin(self):
        base = self.baseline()
        for name, text in self.variants().items():
            for gz in (False, True):
                with self.subTest(format=name, gzip=gz):
                    data = gzip.compress(text.encode()) if gz else text.encode()
                    res = self.replay("-", input=data)
                    self.assertExit(res, 0)
                    self.assertEqual(res.raw, base, repr(res))
                    self.assertEqual(summary(res.err)["events"], len(self.EVENTS))

    def test_eventbridge_envelope(self):
        env = [{"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": e}
               for e in self.EVENTS]
        res = self.replay(self.write("eb.ndjson", ndjson(env)))
        self.assertExit(res, 0)
        self.assertEqual(res.raw, self.baseline())

    def test_several_files_in_order(self):
        a = self.write("a.ndjson", ndjson(self.EVENTS[:3]))
        b = self.write("b.json.gz", gzip.compress(json.dumps({"Records": self.EVENTS[3:]}).encode()))
        res = self.replay(a, b)
        self.assertExit(res, 0)
        self.assertEqual(res.raw, self.baseline())
        self.assertEqual(summary(res.err)["events"], len(self.EVENTS))


class BadInput(ReplayTest):
    def lines(self):
        return [json.dumps(hit(0, n=1)), json.dumps(hit(1, n=2)), '{"eventName": "Hit", oops',
                json.dumps(hit(2, n=3)), "garbage here", json.dumps(hit(3, n=4)), "[1, 2",
                json.dumps(hit(4, n=5))]

    def test_malformed_lines_reported_and_skipped(self):
        for gz in (False, True):
            with self.subTest(gzip=gz):
                text = "\n".join(self.lines()) + "\n"
                path = self.write("bad.ndjson" + (".gz" if gz else ""),
                                  gzip.compress(text.encode()) if gz else text)
                res = self.replay(path)
                self.assertExit(res, 1)
                for line in (3, 5, 7):
                    self.assertIn("%s:%d: malformed JSON at byte" % (path, line), res.err)
                self.assertNotIn("%s:4:" % path, res.err)
                s = summary(res.err)
                self.assertEqual((s["events"], s["parse_errors"]), (5, 3), repr(res))
                found = alerts(res.out)
                self.assertEqual(len(found), 1, repr(res))
                self.assertEqual((found[0]["dedup"], found[0]["count"]), ("bob", 5))

    def test_malformed_first_line(self):
        # Regression (fixed engine bug): input.c input_next() probes only the first line; when it starts with
        # '{' or '[' but does not parse, the whole file is taken as one multi-line document,
        # which then fails as a whole: 1 parse error, 0 events, every valid line lost.
        # docs/cli.md: a malformed line is reported, skipped, and the rest still evaluated.
        text = '{"eventName": "Hit", oops\n' + ndjson([hit(1, n=1), hit(2, n=2), hit(3, n=3)])
        path = self.write("first_bad.ndjson", text)
        res = self.replay(path)
        self.assertExit(res, 1)
        self.assertIn("%s:1: malformed JSON" % path, res.err)
        s = summary(res.err)
        self.assertEqual((s["events"], s["parse_errors"]), (3, 1), repr(res))
        self.assertEqual([a["count"] for a in alerts(res.out)], [3])

    def test_non_object_records(self):
        path = self.write("odd.ndjson", ndjson([hit(0)]) + "42\n\"str\"\n" + ndjson([hit(1)]))
        res = self.replay(path)
        self.assertExit(res, 1)
        s = summary(res.err)
        self.assertEqual((s["events"], s["parse_errors"]), (2, 2), repr(res))
        self.assertIn("%s:2:" % path, res.err)
        self.assertEqual(alerts(res.out)[0]["count"], 2)

    def test_missing_file(self):
        good = self.write("good.ndjson", ndjson([hit(0)]))
        missing = self.path("does-not-exist.ndjson")
        res = self.replay(missing, good)
        self.assertExit(res, 1)
        self.assertIn(missing, res.err)
        self.assertEqual(len(alerts(res.out)), 1, "the readable file is still replayed")
        res = self.replay(missing)
        self.assertExit(res, 1)
        self.assertIn(missing, res.err)
        self.assertEqual(res.out, "")

    def test_empty_input(self):
        res = self.replay(self.write("empty.ndjson", ""))
        self.assertExit(res, 0)
        self.assertEqual(res.out, "")
        self.assertEqual(summary(res.err)["events"], 0)


class Options(ReplayTest):
    def test_log_type_and_unclassified(self):
        events = [{"kind": "x", "time": iso(0)}, {"kind": "x", "time": iso(1)},
                  {"kind": "y", "time": iso(2)}, hit(3)]
        res, found = self.replay_events(events)
        self.assertExit(res, 0)
        s = summary(res.err)
        self.assertEqual((s["events"], s["unclassified"]), (4, 3))
        self.assertEqual([a["detection"] for a in found], ["R.Simple"])
        for flag in ("--log-type", "-l"):
            with self.subTest(flag=flag):
                res, found = self.replay_events(events, flag, "Custom.Thing")
                self.assertExit(res, 0)
                s = summary(res.err)
                self.assertEqual((s["events"], s["unclassified"]), (4, 0))
                self.assertEqual(len(found), 1)
                self.assertEqual((found[0]["detection"], found[0]["count"], found[0]["log_type"]),
                                 ("R.Custom", 2, "Custom.Thing"))

    def test_classification_by_shape(self):
        multi = self.tree({"m.lua": '''
            id = "R.Multi"
            log_types = { "AWS.CloudTrail", "Okta.SystemLog", "GitHub.Audit" }
            default_severity = "LOW"
            match = { ["AWS.CloudTrail"] = { eventName = "Hit" } }
            function rule(e) return true end
            function dedup(e) return e.eventName or e.eventType or e.action end
        '''}, sub="multi")
        events = [
            hit(0),
            {"eventType": "user.session.start", "actor": {"id": "u"}, "published": iso(1)},
            {"action": "repo.create", "actor": "octo", "created_at": iso(2)},
            {"action": "org.add_member", "actor": "octo", "@timestamp": 1704067380000},
            ct("Miss", 4),
            {"eventName": "Hit", "eventSource": "x"},  # no eventVersion/eventTime/awsRegion
        ]
        path = self.write("shapes.ndjson", ndjson(events))
        res = self.lp0("replay", "-q", "-d", multi, path)
        self.assertExit(res, 0)
        s = summary(res.err)
        self.assertEqual((s["events"], s["unclassified"]), (6, 1), repr(res))
        got = [(a["dedup"], a["log_type"]) for a in alerts(res.out)]
        self.assertEqual(sorted(got), sorted([
            ("Hit", "AWS.CloudTrail"), ("user.session.start", "Okta.SystemLog"),
            ("repo.create", "GitHub.Audit"), ("org.add_member", "GitHub.Audit")]))

    def test_p_log_type_classifies(self):
        res, found = self.replay_events([{"p_log_type": "AWS.CloudTrail", "eventName": "Hit",
                                          "user": "p", "n": 1, "time": iso(0)}])
        self.assertEqual(summary(res.err)["unclassified"], 0)
        self.assertEqual([a["dedup"] for a in found], ["p"])

    def test_output_file(self):
        path = self.write("in.ndjson", ndjson([hit(0), hit(1, "ann")]))
        out = self.path("alerts.ndjson")
        base = self.replay(path)
        for flag in ("--output", "-o"):
            with self.subTest(flag=flag):
                res = self.replay(flag, out, path)
                self.assertExit(res, 0)
                self.assertEqual(res.out, "")
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), base.raw)
                self.assertEqual(len(alerts(base.out)), 2)

    def test_several_detection_folders(self):
        other = self.tree({"o.lua": '''
            id = "R.Other"
            log_types = { "AWS.CloudTrail" }
            default_severity = "LOW"
            function rule(e) return e.eventName == "Hit" end
        '''}, sub="other")
        path = self.write("in.ndjson", ndjson([hit(0)]))
        res = self.lp0("replay", "-q", "-d", self.det, "--detections", other, path)
        self.assertExit(res, 0)
        self.assertEqual(sorted(a["detection"] for a in alerts(res.out)), ["R.Other", "R.Simple"])

    def test_stats(self):
        res, _ = self.replay_events([hit(0), ct("Boom", 1, bad=True, n=1)], "--stats")
        self.assertRegex(res.err, r"(?m)^detection\s+evaluated\s+matched\s+errors")
        self.assertRegex(res.err, r"(?m)^R\.Simple\s+1\s+1\s+0\s")
        self.assertRegex(res.err, r"(?m)^R\.Err\s+1\s+0\s+1\s")

    def test_lateness(self):
        events = [hit(0, "bob", 1), hit(75, "cy", 1), hit(30, "bob", 2)]  # bob at 30 arrives late
        res, found = self.replay_events(events)
        self.assertEqual([(a["dedup"], a["count"]) for a in self.by(found, "R.Simple", "bob")],
                         [("bob", 1), ("bob", 1)], "default lateness 10 min: a new window")
        res, found = self.replay_events(events, "--lateness", "30")
        self.assertEqual([(a["dedup"], a["count"]) for a in self.by(found, "R.Simple", "bob")],
                         [("bob", 2)], "with 30 min lateness the late match joins its window")


class Determinism(ReplayTest):
    def test_workers_give_identical_bytes(self):
        rnd = random.Random(1234)
        events = []
        for i in range(4000):
            minutes = i * 0.75 + rnd.uniform(-3, 3)  # ~50 hours, out of order by minutes
            kind = rnd.choice(["Hit", "Hit", "Burst", "Burst", "Spray", "Boom", "Other"])
            e = ct(kind, minutes, user="u%d" % rnd.randrange(12), n=i,
                   ip="10.0.0.%d" % rnd.randrange(5))
            if kind == "Boom" and rnd.random() < 0.2:
                e["bad"] = True
            if rnd.random() < 0.05:
                e = {"kind": "x", "time": iso(minutes)}
            events.append(e)
        path = self.write("many.ndjson", ndjson(events))
        outs = {}
        for w in ("1", "4", "2", "3"):
            res = self.replay("--workers", w, path)
            self.assertExit(res, 0)
            outs[w] = res
        base = outs["1"]
        found = alerts(base.out)
        dets = {a["detection"] for a in found}
        self.assertGreaterEqual(dets, {"R.Simple", "R.Thresh", "R.Unique", "R.Err"})
        self.assertGreater(len(found), 50)
        s1 = summary(base.err)
        self.assertEqual(s1["events"], 4000)
        self.assertGreater(s1["rule_errors"], 0)
        for w, res in outs.items():
            with self.subTest(workers=w):
                self.assertEqual(res.raw, base.raw, "output differs with --workers %s" % w)
                s = summary(res.err)
                for k in ("events", "alerts", "unclassified", "parse_errors", "rule_errors"):
                    self.assertEqual(s[k], s1[k], k)
        self.assertEqual(s1["alerts"], len(found))
        # each (detection, dedup) window is written once: no two alerts of a key overlap
        last_end = {}
        for a in found:
            key = (a["detection"], a["dedup"])
            self.assertLessEqual(a["first_seen"], a["last_seen"])
            if key in last_end:
                self.assertGreater(a["first_seen"], last_end[key], "overlapping alerts for %r" % (key,))
            last_end[key] = a["last_seen"]


class Alerts(ReplayTest):
    def test_alert_fields_from_first_match(self):
        events = [hit(0, "bob", 1), hit(5, "ann", 7), hit(10, "bob", 2), hit(30, "bob", 3)]
        res = self.replay(self.write("a.ndjson", ndjson(events)))
        self.assertExit(res, 0)
        lines = [l for l in res.out.splitlines() if l]
        self.assertEqual(len(lines), 2, repr(res))
        first = json.loads(lines[0])
        self.assertEqual(list(first)[:9], ["detection", "title", "severity", "dedup", "log_type",
                                           "first_seen", "last_seen", "count", "context"])
        self.assertEqual(first["detection"], "R.Simple")
        self.assertEqual(first["title"], "hit by bob #1")
        self.assertEqual(first["severity"], "HIGH")
        self.assertEqual(first["dedup"], "bob")
        self.assertEqual(first["log_type"], "AWS.CloudTrail")
        self.assertEqual(first["first_seen"], "2024-01-01T00:00:00Z")
        self.assertEqual(first["last_seen"], "2024-01-01T00:30:00Z")
        self.assertEqual(first["count"], 3)
        self.assertEqual(first["context"], {"user": "bob", "n": 1})
        self.assertEqual(list(first["context"]), ["n", "user"], "Lua tables are written with sorted keys")
        self.assertEqual(first["tags"], ["t1"])
        self.assertEqual(first["reports"], {"MITRE ATT&CK": ["TA0001:T1078"]})
        self.assertEqual(first["runbook"], "look")
        self.assertEqual(first["event"], events[0])
        self.assertNotIn("distinct", first)
        second = json.loads(lines[1])
        self.assertEqual((second["title"], second["severity"], second["count"], second["context"]),
                         ("hit by ann #7", "LOW", 1, {"user": "ann", "n": 7}))
        self.assertEqual(second["first_seen"], second["last_seen"])
        self.assertEqual(summary(res.err)["alerts"], 2)

    def test_first_seen_is_earliest_and_fractions(self):
        events = [hit(20, "bob", 1), hit(15, "bob", 2), hit(25, "bob", 3)]
        events[2]["eventTime"] = "2024-01-01T00:25:00.250Z"
        res, found = self.replay_events(events)
        self.assertEqual(len(found), 1, repr(res))
        a = found[0]
        self.assertEqual((a["first_seen"], a["last_seen"], a["count"], a["title"]),
                         ("2024-01-01T00:15:00Z", "2024-01-01T00:25:00.250Z", 3, "hit by bob #1"))

    def test_windows_close_on_event_time(self):
        res, found = self.replay_events([hit(0, "bob", 1), hit(61, "bob", 2)])
        got = self.by(found, "R.Simple")
        self.assertEqual([(a["count"], a["first_seen"], a["title"]) for a in got],
                         [(1, iso(0), "hit by bob #1"), (1, iso(61), "hit by bob #2")])
        res, found = self.replay_events([hit(0, "bob", 1), hit(59, "bob", 2)])
        got = self.by(found, "R.Simple")
        self.assertEqual([(a["count"], a["last_seen"]) for a in got], [(2, iso(59))])

    def test_alerts_written_when_window_closes(self):
        # bob's window ends at 60 (+10 lateness): it is written before ann's, opened earlier
        # in the input than cy's but closing first.
        res, found = self.replay_events([hit(0, "bob"), hit(50, "ann"), hit(200, "cy"), hit(201, "bob")])
        self.assertEqual([a["dedup"] for a in found], ["bob", "ann", "cy", "bob"])

    def test_threshold(self):
        def burst(*mins):
            return [ct("Burst", m, user="z") for m in mins]
        res, found = self.replay_events(burst(0, 4))
        self.assertEqual(self.by(found, "R.Thresh"), [], "2 of 3: no alert")
        self.assertEqual(summary(res.err)["alerts"], 0)
        res, found = self.replay_events(burst(0, 6, 12))
        self.assertEqual(self.by(found, "R.Thresh"), [], "3 matches but not within 10 minutes")
        res, found = self.replay_events(burst(0, 4, 9, 9.5))
        got = self.by(found, "R.Thresh")
        self.assertEqual([(a["count"], a["first_seen"], a["last_seen"]) for a in got],
                         [(4, iso(0), iso(9.5))])
        res, found = self.replay_events(burst(0, 1, 2) + [ct("Burst", 3, user="y")] + burst(30, 31, 32))
        self.assertEqual([(a["dedup"], a["count"]) for a in self.by(found, "R.Thresh")],
                         [("z", 3), ("z", 3)])

    def test_unique(self):
        def spray(ips, start=0):
            return [ct("Spray", start + i, ip=ip) for i, ip in enumerate(ips)]
        res, found = self.replay_events(spray(["1.1.1.1"] * 6))
        self.assertEqual(self.by(found, "R.Unique"), [])
        res, found = self.replay_events(spray(["1.1.1.1", "2.2.2.2", "1.1.1.1", "3.3.3.3"]))
        got = self.by(found, "R.Unique")
        self.assertEqual([(a["count"], a["distinct"]) for a in got], [(4, 3)])

    def test_event_without_time_takes_latest_time(self):
        untimed = hit(0, "bob", 2)
        del untimed["eventTime"]
        res, found = self.replay_events([hit(0, "bob", 1), hit(50, "cy", 1), untimed])
        got = self.by(found, "R.Simple", "bob")
        self.assertEqual([(a["count"], a["last_seen"]) for a in got], [(2, iso(50))])

    def test_event_without_time_after_unmatched_event(self):
        # Regression (fixed engine bug): an event without a parsable time gets the dedup watermark, which only
        # moves with *matching* events inside a batch (replay.c merge_batch advances it once
        # per batch with b->max_time). docs/cli.md: "takes the latest time seen before it
        # (ingest order)" -- here 01:10 from the unmatched "Other" event, past bob's window
        # (00:00-01:00), so bob's untimed match must open a second window.
        untimed = hit(0, "bob", 2)
        del untimed["eventTime"]
        res, found = self.replay_events([hit(0, "bob", 1), ct("Other", 70), untimed])
        got = self.by(found, "R.Simple", "bob")
        self.assertEqual([(a["count"], a["first_seen"]) for a in got], [(1, iso(0)), (1, iso(70))])

    def test_dedup_truncated_to_1000_bytes(self):
        events = [hit(0, "a" * 1500 + "x"), hit(1, "a" * 1500 + "y")]
        res, found = self.replay_events(events)
        got = self.by(found, "R.Simple")
        self.assertEqual([(len(a["dedup"]), a["count"]) for a in got], [(1000, 2)])

    def test_dedup_truncation_keeps_utf8_valid(self):
        # Regression (fixed engine bug): detect.c fill_match() cuts the dedup string at byte 1000
        # (m->dedup[DEDUP_MAX] = '\0'), which can split a multi-byte UTF-8 character: the
        # alert line is then not valid UTF-8 JSON. Cut at a character boundary instead.
        res, found = self.replay_events([hit(0, "a" * 999 + "\u00e9")])
        line = res.raw.splitlines()[0]
        alert = json.loads(line.decode("utf-8"))  # strict decoding
        self.assertLessEqual(len(alert["dedup"].encode()), 1000)
        self.assertTrue(("a" * 999 + "\u00e9").startswith(alert["dedup"]))

    def test_signal_does_not_alert(self):
        res, found = self.replay_events([hit(0)])
        self.assertEqual([a["detection"] for a in found], ["R.Simple"])

    def test_rule_errors(self):
        events = [ct("Boom", 0, user="a", n=1), ct("Boom", 1, user="a", n=2, bad=True),
                  hit(2, "bob", 1), ct("Boom", 3, user="a", n=3, bad=True),
                  ct("Boom", 4, user="a", n=4)]
        res, found = self.replay_events(events)
        self.assertExit(res, 0)
        s = summary(res.err)
        self.assertEqual(s["rule_errors"], 2, repr(res))
        self.assertIn("R.Err", res.err)
        self.assertIn("err.lua:6:", res.err)
        self.assertIn("boom 2", res.err)
        self.assertRegex(res.err, r"detection R\.Err \(.*err\.lua\): 2 errors")
        self.assertEqual([(a["detection"], a["count"]) for a in found],
                         [("R.Err", 2), ("R.Simple", 1)])

    def test_budget_and_memory_kills_in_replay(self):
        hostile = self.tree({
            "loop.lua": '''
                id = "R.Loop"
                log_types = { "AWS.CloudTrail" }
                default_severity = "LOW"
                function rule(e)
                  if e.n == 2 then pcall(function() while true do end end) end
                  if e.n == 3 then local s = ("x"):rep(1e9) end
                  return e.eventName == "Hit"
                end
            '''}, sub="hostile")
        path = self.write("h.ndjson", ndjson([hit(i, "u%d" % i, i) for i in range(1, 5)]))
        res = self.lp0("replay", "-q", "-d", self.det, "-d", hostile, "-w", "2", path)
        self.assertExit(res, 0)
        s = summary(res.err)
        self.assertEqual(s["rule_errors"], 2, repr(res))
        self.assertIn("instruction budget exceeded", res.err)
        self.assertIn("not enough memory", res.err)
        self.assertRegex(res.err, r"detection R\.Loop .*: 2 errors \(\d+ over budget\)")
        found = alerts(res.out)
        self.assertEqual(len(self.by(found, "R.Simple")), 4)
        # events 1 and 4 still match R.Loop itself (no dedup hook: one window keyed by the id)
        self.assertEqual([(a["dedup"], a["count"]) for a in self.by(found, "R.Loop")], [("R.Loop", 2)])


if __name__ == "__main__":
    unittest.main()
