"""`lp0 test`: running detection tests, reporting failures, options, sidecars, mocks,
multi-event tests, the prefilter, and how events and shared modules look to detections."""
import json
import os
import unittest
import xml.etree.ElementTree as ET

import sys

sys.dont_write_bytecode = True  # keep tests/cli free of __pycache__
from lp0cli import CliTest, detection, iso  # noqa: E402

# A detection with every hook, used by several tests below.
FULL = '''
id = "Full.Hooks"
log_types = { "AWS.CloudTrail" }
default_severity = "LOW"
match = { eventName = "X" }
function rule(e) return e.user == "bob" end
function title(e) return "t " .. e.user end
function severity(e) return "HIGH" end
function dedup(e) return "dd-" .. e.user end
function alert_context(e) return { u = e.user, n = 1, list = { 1, 2 } } end
tests = {
  { name = "all good", expect = true, event = { eventName = "X", user = "bob" },
    title = "t bob", severity = "high", dedup = "dd-bob", context = { u = "bob", list = { 1, 2 } } },
  { name = "all wrong", expect = true, event = { eventName = "X", user = "bob" },
    title = "nope", severity = "LOW", dedup = "zz", context = { u = "alice" } },
  { name = "no match expected", expect = false, event = { eventName = "X", user = "al" } },
}
'''


class Basics(CliTest):
    def test_passing_folder(self):
        det = self.tree({
            "a.lua": detection("P.A", extra='match = { eventName = "A" }', tests='''
                { name = "a1", expect = true, event = { eventName = "A" } },
                { name = "a2", expect = false, event = { eventName = "B" } },
            '''),
            "sub/b.lua": detection("P.B", rule="return e.n == 2", tests='''
                { name = "b1", expect = true, event = { n = 2 } },
                { name = "b2", expect = false, event = { n = 3 } },
                { name = "b3", expect = false, event = {} },
            '''),
        })
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 5, 0)
        self.assertNoFail(res)
        self.assertNotIn("PASS", res.out)  # only with -v
        res = self.lp0("test", "-v", det)
        self.assertExit(res, 0)
        passes = [l for l in res.out.splitlines() if l.startswith("PASS ")]
        self.assertEqual(sorted(passes), sorted([
            "PASS P.A: a1", "PASS P.A: a2", "PASS P.B: b1", "PASS P.B: b2", "PASS P.B: b3"]))
        self.assertCounts(res, 5, 0)

    def test_paths_can_be_files_and_several(self):
        det = self.tree({
            "a.lua": detection("F.A", tests='{ name = "t", expect = true, event = {} },'),
            "b.lua": detection("F.B", tests='{ name = "t", expect = true, event = {} },'),
            "c.lua": detection("F.C", tests='{ name = "t", expect = true, event = {} },'),
        })
        res = self.lp0("test", os.path.join(det, "a.lua"), os.path.join(det, "c.lua"))
        self.assertExit(res, 0)
        self.assertCounts(res, 2, 0)

    def test_failing_expectations_show_expected_and_got(self):
        det = self.tree({"full.lua": FULL})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 2, 1)
        block = self.assertFails(res, "Full.Hooks", "all wrong")
        self.assertIn('title: expected "nope", got "t bob"', block)
        self.assertIn("severity: expected LOW, got HIGH", block)
        self.assertIn('dedup: expected "zz", got "dd-bob"', block)
        self.assertIn('context.u: expected "alice", got "bob"', block)
        self.assertIsNone(self.failure_block(res, "Full.Hooks", "all good"))

    def test_expect_mismatch_both_ways(self):
        det = self.tree({"m.lua": detection("M", rule="return e.hit == true", tests='''
            { name = "wants true", expect = true, event = { hit = false } },
            { name = "wants false", expect = false, event = { hit = true } },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 0, 2)
        self.assertEqual(self.assertFails(res, "M", "wants true"),
                         "expected rule to return true, got false")
        self.assertEqual(self.assertFails(res, "M", "wants false"),
                         "expected rule to return false, got true")

    def test_rule_error_shows_file_and_line(self):
        det = self.tree({"err.lua": detection("E.Rule", rule="local x = 1\n  return e.a.b.c == 1",
                                              tests='{ name = "boom", expect = true, event = { a = 1 } },')})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 0, 1)
        block = self.assertFails(res, "E.Rule", "boom")
        self.assertIn("error in rule", block)
        self.assertIn("err.lua:6:", block)  # line of `return e.a.b.c` in the generated file
        self.assertIn("attempt to index a number value", block)

    def test_hook_error_fails_a_matching_test(self):
        det = self.tree({"h.lua": detection("E.Hook", extra='''
            function title(e) return "x" .. e.missing end
            ''', tests='''
            { name = "match", expect = true, event = {} },
            { name = "no match", expect = false, event = {} },
        ''', rule="return e.go ~= false")})
        # `no match` has expect = false but rule returns true: it fails on the expectation,
        # `match` fails because a hook raised.
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        block = self.assertFails(res, "E.Hook", "match")
        self.assertIn("error in title", block)
        self.assertIn("h.lua:4:", block)

    def test_write_to_event_is_read_only(self):
        det = self.tree({
            "w.lua": detection("W.Write", rule="e.foo = 1\n  return true",
                               tests='{ name = "writes", expect = true, event = { a = 1 } },'),
            "w2.lua": detection("W.Nested", rule="e.a.b = 2\n  return true",
                                tests='{ name = "writes nested", expect = true, event = { a = { b = 1 } } },'),
        })
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 0, 2)
        block = self.assertFails(res, "W.Write", "writes")
        self.assertIn("read-only", block)
        self.assertIn("w.lua:5:", block)
        block = self.assertFails(res, "W.Nested", "writes nested")
        self.assertIn("read-only", block)
        self.assertIn("w2.lua:5:", block)

    def test_load_error_is_a_failed_test(self):
        det = self.tree({
            "bad.lua": "id = 'B'\nlog_types = {'AWS.CloudTrail'}\nfunction rule(e)\n  return = 1\nend\n",
            "good.lua": detection("G", tests='{ name = "t", expect = true, event = {} },'),
        })
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 1)
        block = self.assertFails(res, os.path.join(det, "bad.lua"), "(load)")
        self.assertIn("bad.lua:4:", block)

    def test_malformed_tests_are_reported(self):
        det = self.tree({"mt.lua": detection("MT", tests='''
            { expect = true, event = {} },
            { name = "no expect", event = {} },
            { name = "no event", expect = true },
            { name = "multi without expectation", events = { {}, {} } },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 0, 4)
        self.assertIn("missing 'name'", self.assertFails(res, "MT", "test #1"))
        self.assertIn("needs 'expect'", self.assertFails(res, "MT", "no expect"))
        self.assertIn("needs 'event' or 'events'", self.assertFails(res, "MT", "no event"))
        self.assertIn("expect_alerts", self.assertFails(res, "MT", "multi without expectation"))

    def test_disabled_detection_tests_still_run(self):
        det = self.tree({"d.lua": detection("Dis", extra="enabled = false", rule="return e.x == 1",
                                            tests='''
            { name = "on", expect = true, event = { x = 1 } },
            { name = "off", expect = true, event = { x = 2 } },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 1)
        self.assertFails(res, "Dis", "off")

    def test_default_title_and_severity(self):
        det = self.tree({
            "dn.lua": detection("Def.Display", severity="medium", extra='display_name = "Shown"',
                                tests='{ name = "t", expect = true, event = {}, title = "Shown", dedup = "Shown", severity = "MEDIUM" },'),
            "id.lua": detection("Def.Id", severity="CRITICAL", extra='function severity(e) return "DEFAULT" end',
                                tests='{ name = "t", expect = true, event = {}, title = "Def.Id", severity = "critical" },'),
        })
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 2, 0)

    def test_lua_spec_files(self):
        det = self.tree({"x_spec.lua": '''
            tests = {
              { name = "eq", run = function() assert_eq({ a = { 1, 2 } }, { a = { 1, 2 } }) end },
              { name = "ne", run = function() assert_eq(1, 2, "numbers") end },
            }
        '''})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 1)
        block = self.assertFails(res, os.path.join(det, "x_spec.lua"), "ne")
        self.assertIn("numbers: expected 2, got 1", block)


class Options(CliTest):
    def setUp(self):
        super().setUp()
        self.det = self.tree({
            "alpha.lua": detection("Opt.Alpha", rule="return e.ok == true", tests='''
                { name = "alpha passes", expect = true, event = { ok = true } },
                { name = "alpha fails", expect = true, event = { ok = false } },
            '''),
            "beta/beta.lua": detection("Opt.Beta", tests='''
                { name = "beta one", expect = true, event = {} },
                { name = "beta & <two>", expect = true, event = {} },
                { name = "beta fails", expect = false, event = {} },
            '''),
        })

    def test_filter_by_test_name(self):
        res = self.lp0("test", "--filter", "passes", self.det)
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)

    def test_filter_by_detection_id(self):
        res = self.lp0("test", "-f", "Opt.Beta", "-v", self.det)
        self.assertExit(res, 1)
        self.assertCounts(res, 2, 1)
        self.assertNotIn("alpha", res.out)

    def test_filter_by_file_path(self):
        res = self.lp0("test", "--filter", "beta/", self.det)
        self.assertCounts(res, 2, 1)

    def test_filter_matching_nothing(self):
        res = self.lp0("test", "--filter", "no-such-thing", self.det)
        self.assertExit(res, 0)
        self.assertCounts(res, 0, 0)

    def test_junit(self):
        junit = self.path("report.xml")
        res = self.lp0("test", "--junit", junit, self.det)
        self.assertExit(res, 1)
        self.assertCounts(res, 3, 2)
        root = ET.parse(junit).getroot()
        self.assertEqual(root.tag, "testsuites")
        self.assertEqual((root.get("tests"), root.get("failures")), ("5", "2"))
        suites = {s.get("name"): s for s in root.findall("testsuite")}
        self.assertEqual(set(suites), {"Opt.Alpha", "Opt.Beta"})
        self.assertEqual((suites["Opt.Alpha"].get("tests"), suites["Opt.Alpha"].get("failures")), ("2", "1"))
        self.assertEqual((suites["Opt.Beta"].get("tests"), suites["Opt.Beta"].get("failures")), ("3", "1"))
        cases = root.findall(".//testcase")
        self.assertEqual(len(cases), 5)
        names = {(c.get("classname"), c.get("name")) for c in cases}
        self.assertIn(("Opt.Beta", "beta & <two>"), names)  # escaped and parsed back
        failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
        self.assertEqual(set(failed), {"alpha fails", "beta fails"})
        self.assertIn("expected rule to return true, got false", failed["alpha fails"].get("message"))

    def test_junit_with_filter(self):
        junit = self.path("report.xml")
        res = self.lp0("test", "-f", "alpha passes", "-j", junit, self.det)
        self.assertExit(res, 0)
        root = ET.parse(junit).getroot()
        self.assertEqual((root.get("tests"), root.get("failures")), ("1", "0"))
        self.assertEqual(len(root.findall(".//testcase")), 1)
        self.assertEqual(len(root.findall(".//failure")), 0)

    def test_junit_escapes_control_characters(self):
        det = self.tree({"j.lua": detection("J.Ctl", rule='error("bad \\1 char \\27[31m <&>")',
                                            tests='{ name = "ctl \\2 name", expect = true, event = {} },')},
                        sub="ctl")
        junit = self.path("ctl.xml")
        res = self.lp0("test", "--junit", junit, det)
        self.assertExit(res, 1)
        root = ET.parse(junit).getroot()
        failure = root.find(".//failure")
        self.assertIsNotNone(failure)
        self.assertIn("<&>", failure.get("message"))

    def test_junit_with_invalid_utf8(self):
        # Regression (fixed engine bug): testrun.c write_junit() copies strings byte for byte (buf_put_xml), so a
        # title cut inside a UTF-8 character (here ("\u00e9"):sub(1, 1)) makes the report
        # ill-formed XML that CI tools reject. Replace invalid sequences (e.g. with U+FFFD).
        det = self.tree({"j.lua": detection("J.Utf8", extra='function title(e) return ("\u00e9"):sub(1, 1) end',
                                            tests='{ name = "t", expect = true, event = {}, title = "x" },')},
                        sub="utf8")
        junit = self.path("utf8.xml")
        res = self.lp0("test", "--junit", junit, det)
        self.assertExit(res, 1)
        root = ET.parse(junit).getroot()
        self.assertEqual(len(root.findall(".//failure")), 1)

    def test_require_tests(self):
        det = self.tree({
            "none.lua": detection("Req.None"),
            "some.lua": detection("Req.Some", tests='{ name = "t", expect = true, event = {} },'),
        }, sub="req")
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)
        self.assertIn("warning", res.err)
        self.assertIn("Req.None", res.err)
        self.assertIn("no tests", res.err)
        res = self.lp0("test", "--require-tests", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 1)
        block = self.assertFails(res, "Req.None", "(has tests)")
        self.assertIn("none.lua", block)
        self.assertIn("no tests", block)
        res = self.lp0("test", "-r", det)
        self.assertExit(res, 1)

    def test_sidecar_counts_as_tests_for_require(self):
        det = self.tree({
            "side.lua": detection("Req.Side"),
            "side.tests.json": [{"name": "t", "expect": True, "event": {}}],
        }, sub="req2")
        res = self.lp0("test", "--require-tests", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)
        self.assertNotIn("no tests", res.err)


class Sidecars(CliTest):
    RULE = 'return e.eventName == "Go"'

    def test_array_form_object_and_string_events(self):
        det = self.tree({
            "s.lua": detection("Side.Array", rule=self.RULE, tests='''
                { name = "inline", expect = true, event = { eventName = "Go" } },
            '''),
            "s.tests.json": [
                {"name": "object event", "expect": True, "event": {"eventName": "Go"}},
                {"name": "string event", "expect": True, "event": '{"eventName": "Go"}'},
                {"name": "sidecar no", "expect": False, "event": {"eventName": "Stop"}},
                {"name": "sidecar fails", "expect": True, "event": '{"eventName": "Stop"}'},
            ],
        })
        res = self.lp0("test", "-v", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 4, 1)
        for name in ("inline", "object event", "string event", "sidecar no"):
            self.assertIn("PASS Side.Array: %s" % name, res.out)
        self.assertFails(res, "Side.Array", "sidecar fails")

    def test_object_form_with_expectations(self):
        det = self.tree({
            "o.lua": detection("Side.Object", rule=self.RULE, extra='''
                function title(e) return "go " .. e.user end
                function alert_context(e) return { user = e.user, empty = {} } end
                '''),
            "o.tests.json": {"tests": [
                {"name": "expectations", "expect": True,
                 "event": {"eventName": "Go", "user": "ann"}, "title": "go ann",
                 "context": {"user": "ann", "empty": []}},
                {"name": "wrong title", "expect": True,
                 "event": '{"eventName": "Go", "user": "ann"}', "title": "go bob"},
            ]},
        })
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 1)
        self.assertIn('title: expected "go bob", got "go ann"',
                      self.assertFails(res, "Side.Object", "wrong title"))

    def test_sidecar_event_kept_byte_exact(self):
        # JSON-string events are parsed as JSON: integers stay integers, floats floats.
        det = self.tree({
            "b.lua": detection("Side.Exact", rule="return e.f == 0.1 and math.type(e.f) == 'float'",
                               extra="function title(e) return tostring(e.n) .. ' ' .. math.type(e.n) end"),
            "b.tests.json": [{"name": "ints", "expect": True,
                              "event": '{"f": 0.1, "n": 3}', "title": "3 integer"}],
        })
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)

    def test_malformed_sidecar(self):
        det = self.tree({
            "m.lua": detection("Side.Bad", tests='{ name = "t", expect = true, event = {} },'),
            "m.tests.json": b'[{"name": "x", ',
            "n.lua": detection("Side.NotArray"),
            "n.tests.json": {"name": "x"},
            "e.lua": detection("Side.BadEvent"),
            "e.tests.json": [{"name": "bad string", "expect": True, "event": "{nope"}],
        })
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertIn("malformed JSON", self.assertFails(res, "Side.Bad", "(tests file)"))
        self.assertIn("m.tests.json", self.assertFails(res, "Side.Bad", "(tests file)"))
        self.assertIn("n.tests.json", self.assertFails(res, "Side.NotArray", "(tests file)"))
        self.assertIn("malformed JSON", self.assertFails(res, "Side.BadEvent", "bad string"))
        self.assertIsNone(self.failure_block(res, "Side.Bad", "t"))  # in-file test passed


class Mocks(CliTest):
    SRC = '''
        id = "Mock.Me"
        log_types = { "AWS.CloudTrail" }
        default_severity = "LOW"
        config = { prod_accounts = { "111" } }
        function is_admin(name) return false end
        function rule(e)
          local prod = false
          for _, a in ipairs(config.prod_accounts) do
            if a == e.account then prod = true end
          end
          return prod or is_admin(e.user)
        end
        function title(e) return "admin=" .. tostring(is_admin(e.user)) end
        tests = {
          { name = "no mock", expect = false, event = { account = "222", user = "x" } },
          { name = "mock function with value", expect = true, mocks = { is_admin = true },
            event = { account = "222", user = "x" }, title = "admin=true" },
          { name = "mock with a Lua function", expect = true,
            mocks = { is_admin = function(u) return u == "root" end },
            event = { account = "222", user = "root" }, title = "admin=true" },
          { name = "mock table global", expect = true, mocks = { config = { prod_accounts = { "222" } } },
            event = { account = "222", user = "x" }, title = "admin=false" },
          { name = "restored after mocks", expect = false, event = { account = "222", user = "root" } },
          { name = "mock stdlib function", expect = true, mocks = { is_admin = true, aws_cloudtrail_success = "mocked" },
            event = { account = "222" }, title = "admin=true" },
        }
    '''

    def test_lua_mocks(self):
        det = self.tree({"mock.lua": self.SRC})
        res = self.lp0("test", "-v", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 6, 0)

    def test_sidecar_mocks_both_forms(self):
        det = self.tree({
            "mock.lua": self.SRC,
            "mock.tests.json": [
                {"name": "panther list, function", "expect": True,
                 "mocks": [{"objectName": "is_admin", "returnValue": True}],
                 "event": {"account": "222", "user": "x"}, "title": "admin=true"},
                {"name": "panther list, table", "expect": True,
                 "mocks": [{"objectName": "config", "returnValue": {"prod_accounts": ["222"]}}],
                 "event": {"account": "222", "user": "x"}, "title": "admin=false"},
                {"name": "object form", "expect": True,
                 "mocks": {"config": {"prod_accounts": ["333"]}},
                 "event": {"account": "333", "user": "x"}},
                {"name": "panther list, false", "expect": False,
                 "mocks": [{"objectName": "config", "returnValue": {"prod_accounts": []}},
                           {"objectName": "is_admin", "returnValue": False}],
                 "event": {"account": "111", "user": "x"}},
                {"name": "sidecar restored", "expect": True,
                 "event": {"account": "111", "user": "x"}},
            ],
        })
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 11, 0)

    def test_mock_undefined_name_becomes_function(self):
        det = self.tree({"u.lua": detection("Mock.Undefined", rule="return lookup_owner(e.bucket) == \"team-a\"",
                                            tests='''
            { name = "mocked", expect = true, event = { bucket = "b" }, mocks = { lookup_owner = "team-a" } },
            { name = "unmocked raises", expect = false, event = { bucket = "b" } },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 1)
        self.assertIn("lookup_owner", self.assertFails(res, "Mock.Undefined", "unmocked raises"))

    def test_mock_can_make_a_test_fail(self):
        """The mock really replaces the global: mocking is_admin false breaks a match."""
        det = self.tree({
            "mock.lua": self.SRC,
            "mock.tests.json": [{"name": "mocked away", "expect": True,
                                 "mocks": [{"objectName": "is_admin", "returnValue": False}],
                                 "event": {"account": "222", "user": "root"}}],
        })
        res = self.lp0("test", "-f", "mocked away", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 0, 1)


class MultiEvent(CliTest):
    def det(self, extra, rule='return e.eventName == "Hit"'):
        return detection("Multi", rule=rule, extra=extra + '\nfunction title(e) return "by " .. e.user end\n'
                         'function dedup(e) return e.user end')

    @staticmethod
    def ev(minutes, user="bob", name="Hit"):
        return {"eventName": name, "eventTime": iso(minutes), "user": user}

    def run_tests(self, extra, tests, rule='return e.eventName == "Hit"'):
        det = self.tree({"m.lua": self.det(extra, rule), "m.tests.json": tests})
        return self.lp0("test", det)

    def test_threshold_on_event_time(self):
        ev = self.ev
        res = self.run_tests("threshold = 3\ndedup_minutes = 10", [
            {"name": "3 in window", "events": [ev(0), ev(4), ev(9)], "expect_alerts": 1},
            {"name": "2 in window", "events": [ev(0), ev(4)], "expect_alerts": 0},
            {"name": "third too late", "events": [ev(0), ev(5), ev(11)], "expect_alerts": 0},
            {"name": "two windows of 3", "events": [ev(0), ev(1), ev(2), ev(20), ev(21), ev(22)],
             "expect_alerts": 2},
            {"name": "non matching do not count", "events": [ev(0), ev(1), ev(2, name="Miss")],
             "expect_alerts": 0},
            {"name": "wrong count", "events": [ev(0), ev(1), ev(2)], "expect_alerts": 0},
        ])
        self.assertExit(res, 1)
        self.assertCounts(res, 5, 1)
        self.assertEqual(self.assertFails(res, "Multi", "wrong count"), "expected 0 alerts, got 1")

    def test_dedup_minutes_and_titles(self):
        ev = self.ev
        res = self.run_tests("dedup_minutes = 60", [
            {"name": "61 minutes apart", "events": [ev(0), ev(61)], "expect_alerts": 2},
            {"name": "59 minutes apart", "events": [ev(0), ev(59)], "expect_alerts": 1},
            {"name": "keys", "events": [ev(0, "bob"), ev(1, "ann"), ev(2, "bob"), ev(3, "cy")],
             "expect_titles": ["by bob", "by ann", "by cy"]},
            {"name": "keys and count", "events": [ev(0, "bob"), ev(1, "ann")],
             "expect_alerts": 2, "expect_titles": ["by bob", "by ann"]},
            {"name": "string events", "expect_alerts": 1,
             "events": [json.dumps(ev(0)), json.dumps(ev(30))]},
            {"name": "wrong titles", "events": [ev(0, "bob"), ev(1, "ann")],
             "expect_titles": ["by ann", "by bob"]},
        ])
        self.assertExit(res, 1)
        self.assertCounts(res, 5, 1)
        block = self.assertFails(res, "Multi", "wrong titles")
        self.assertIn('alert 1 title: expected "by ann", got "by bob"', block)

    def test_unique_counts_distinct_values(self):
        res = self.run_tests('threshold = 3\ndedup_minutes = 30\n'
                             'function unique(e) return e.ip end', [
            {"name": "same ip 5 times", "expect_alerts": 0,
             "events": [dict(self.ev(i), ip="1.1.1.1") for i in range(5)]},
            {"name": "three ips", "expect_alerts": 1,
             "events": [dict(self.ev(i), ip="1.1.1.%d" % (i % 3)) for i in range(3)]},
            {"name": "two ips many times", "expect_alerts": 0,
             "events": [dict(self.ev(i), ip="1.1.1.%d" % (i % 2)) for i in range(8)]},
        ])
        self.assertExit(res, 0)
        self.assertCounts(res, 3, 0)

    def test_lua_multi_event_test(self):
        det = self.tree({"m.lua": self.det("threshold = 2") + '''
tests = {
  { name = "lua events", expect_alerts = 1, events = {
      { eventName = "Hit", eventTime = "2024-01-01T00:00:00Z", user = "a" },
      { eventName = "Hit", eventTime = "2024-01-01T00:10:00Z", user = "a" },
      { eventName = "Hit", eventTime = "2024-01-01T00:20:00Z", user = "b" } },
    expect_titles = { "by a" } },
}
'''})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)

    def test_okta_events_use_published_time(self):
        det = self.tree({"o.lua": detection("Multi.Okta", log_types=("Okta.SystemLog",),
                                            rule='return e.eventType == "user.session.start"'),
                         "o.tests.json": [
            {"name": "61 minutes apart", "expect_alerts": 2, "events": [
                {"eventType": "user.session.start", "published": iso(0), "eventTime": iso(0)},
                {"eventType": "user.session.start", "published": iso(61), "eventTime": iso(1)}]},
            {"name": "59 minutes apart", "expect_alerts": 1, "events": [
                {"eventType": "user.session.start", "published": iso(0), "eventTime": iso(0)},
                {"eventType": "user.session.start", "published": iso(59), "eventTime": iso(100)}]},
        ]})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 2, 0)

    def test_signal_never_alerts(self):
        res = self.run_tests("create_alert = false", [
            {"name": "signal", "events": [self.ev(0)], "expect_alerts": 0}])
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)


class Prefilter(CliTest):
    def test_match_prefilter(self):
        det = self.tree({"p.lua": detection("Pre", rule="return true", extra='''
            match = { eventName = { "A", "B" }, ["userIdentity.type"] = "Root", n = 3, flag = true }
            ''', tests='''
            { name = "passes", expect = true,
              event = { eventName = "B", userIdentity = { type = "Root" }, n = 3, flag = true } },
            { name = "wrong value", expect = false,
              event = { eventName = "C", userIdentity = { type = "Root" }, n = 3, flag = true } },
            { name = "case matters", expect = false,
              event = { eventName = "a", userIdentity = { type = "Root" }, n = 3, flag = true } },
            { name = "nested missing", expect = false, event = { eventName = "A", n = 3, flag = true } },
            { name = "number as string", expect = false,
              event = { eventName = "A", userIdentity = { type = "Root" }, n = "3", flag = true } },
            { name = "rejected but expected", expect = true,
              event = { eventName = "A", userIdentity = { type = "IAMUser" }, n = 3, flag = true } },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 5, 1)
        self.assertEqual(self.assertFails(res, "Pre", "rejected but expected"),
                         "expected rule to return true, got false (the 'match' prefilter rejected the event)")

    def test_rule_false_is_not_blamed_on_prefilter(self):
        det = self.tree({"p.lua": detection("Pre2", rule="return false", extra='match = { x = 1 }',
                                            tests='{ name = "t", expect = true, event = { x = 1 } },')})
        res = self.lp0("test", det)
        self.assertEqual(self.assertFails(res, "Pre2", "t"), "expected rule to return true, got false")

    def test_prefilter_per_log_type(self):
        det = self.tree({"p.lua": detection(
            "Pre.Lt", log_types=("AWS.CloudTrail", "Okta.SystemLog"), rule="return true",
            extra='match = { ["AWS.CloudTrail"] = { eventName = "ConsoleLogin" } }', tests='''
            { name = "ct passes", expect = true, event = { eventName = "ConsoleLogin" } },
            { name = "ct rejected", expect = false, event = { eventName = "Other" } },
            { name = "okta unfiltered", expect = true, log_type = "Okta.SystemLog",
              event = { eventName = "Other" } },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 3, 0)


class EventAccess(CliTest):
    def test_case_insensitive_fields(self):
        det = self.tree({"c.lua": detection("Case", rule='return e.sourceIpAddress == "1.2.3.4"', extra='''
            function title(e)
              return tostring(e.A) .. "/" .. tostring(e.a) .. "/" .. tostring(e.USERIDENTITY.ARN) ..
                "/" .. tostring(deep_get(e, "useridentity", "arn"))
            end
            ''', tests='''
            { name = "lua event", expect = true,
              event = { sourceIPAddress = "1.2.3.4", A = 2, a = 1, userIdentity = { arn = "x" } },
              title = "2/1/x/x" },
        '''), "c.tests.json": [
            {"name": "json event", "expect": True, "title": "2/1/x/x",
             "event": '{"sourceIPAddress": "1.2.3.4", "a": 1, "A": 2, "userIdentity": {"arn": "x"}}'},
            {"name": "other value", "expect": False, "event": {"sourceIPAddress": "9.9.9.9"}},
        ]})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 3, 0)

    def test_json_null_is_nil(self):
        det = self.tree({"n.lua": detection("Null", rule="return e.errorCode == nil and not e.errorCode", extra='''
            function title(e)
              local keys = {}
              for k in pairs(e) do keys[#keys + 1] = k end
              table.sort(keys)
              return table.concat(keys, ",") .. " " .. tostring(aws_cloudtrail_success(e)) ..
                " " .. tostring(e.list[2]) .. " " .. #e.list
            end
            '''), "n.tests.json": [
            {"name": "null reads nil", "expect": True,
             "event": '{"errorCode": null, "eventName": "X", "list": [1, null, 3]}',
             "title": "eventName,list true nil 3"},
            {"name": "set errorCode", "expect": False, "event": {"errorCode": "Denied", "list": []}},
        ]})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 2, 0)

    def test_tables_pairs_ipairs_len_next(self):
        det = self.tree({"t.lua": detection("Tables", rule="return true", extra='''
            function title(e)
              local out = {}
              out[#out + 1] = type(e) .. "," .. type(e.user) .. "," .. type(e.list) .. "," .. type(e.list[3])
              out[#out + 1] = "#" .. #e.list
              local s = 0
              for i, v in ipairs(e.list) do s = s + i * 100 + (type(v) == "number" and v or 0) end
              out[#out + 1] = "ipairs=" .. s
              local ks = {}
              for k, v in pairs(e.user) do ks[#ks + 1] = k .. "=" .. tostring(v) end
              table.sort(ks)
              out[#out + 1] = table.concat(ks, "&")
              local k, v = next(e.user)
              out[#out + 1] = "next=" .. tostring(k ~= nil) .. "," .. tostring(next(e.empty))
              local k2 = next(e.user, k)
              out[#out + 1] = "next2=" .. tostring(k2 ~= nil and k2 ~= k)
              out[#out + 1] = "nested=" .. e.list[3].deep .. "," .. e.list[3]["deep"]
              out[#out + 1] = "walk=" .. tostring(deep_walk(e, "list", "deep"))
              return table.concat(out, ";")
            end
            ''', tests='''
            { name = "tables", expect = true,
              event = { user = { name = "ann", admin = true }, list = { 10, 20, { deep = "d" } }, empty = {} },
              title = "table,table,table,table;#3;ipairs=630;admin=true&name=ann;next=true,nil;next2=true;nested=d,d;walk=d" },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)

    def test_event_parts_in_context_and_json(self):
        det = self.tree({"j.lua": detection("Parts", rule="return true", extra='''
            function title(e) return json.encode(e.userIdentity) .. " " .. tostring(e.list) end
            function alert_context(e) return { identity = e.userIdentity, list = e.list } end
            ''', tests='''
            { name = "parts", expect = true,
              event = { userIdentity = { arn = "a", n = 1 }, list = { 1, "x" } },
              title = '{"arn":"a","n":1} [1,"x"]',
              context = { identity = { arn = "a", n = 1 }, list = { 1, "x" } } },
            { name = "parts differ", expect = true,
              event = { userIdentity = { arn = "b" }, list = {} }, context = { identity = { arn = "a" } } },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 1)
        self.assertEqual(self.assertFails(res, "Parts", "parts differ"),
                         'context.identity: expected {"arn":"a"}, got {"arn":"b"}')

    def test_event_not_usable_after_call(self):
        det = self.tree({"k.lua": detection("Keep", rule="kept = kept or e.user\n  return true", extra='''
            function title(e) return tostring(pcall(function() return kept.name end)) end
            ''', tests='''
            { name = "first", expect = true, event = { user = { name = "a" } } },
            { name = "second", expect = true, event = { user = { name = "b" } }, title = "false" },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 2, 0)


class Require(CliTest):
    LIB = '''
        local M = { prod = { "111", "222" }, nested = { deep = 1 } }
        function M.is_prod(a)
          for _, x in ipairs(M.prod) do if x == a then return true end end
          return false
        end
        return M
    '''
    DET = detection("Req.Lib", rule='local h = require "helpers"\n  return h.is_prod(e.account)', extra='''
        function title(e)
          local h = require "helpers"
          local ok1, err1 = pcall(function() h.prod = {} end)
          local ok2, err2 = pcall(function() h.nested.deep = 2 end)
          local ok3 = pcall(function() table.insert(h.prod, "333") end)
          local same = require("helpers") == h
          return tostring(ok1) .. " " .. tostring(ok2) .. " " .. tostring(ok3) .. " " ..
            tostring(err1):match("read%-only") .. " " .. tostring(same) .. " " .. tostring(h.is_prod("333"))
        end
        ''', tests='''
        { name = "prod", expect = true, event = { account = "222" }, title = "false false false read-only true false" },
        { name = "not prod", expect = false, event = { account = "999" } },
    ''')

    def test_require_lib_and_read_only(self):
        det = self.tree({"lib/helpers.lua": self.LIB, "aws/req.lua": self.DET})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 2, 0)
        # lib/ files are not detections
        res = self.lp0("check", det)
        self.assertExit(res, 0)
        self.assertIn("1 detections (1 enabled), 0 problems", res.out)

    def test_lib_one_folder_up(self):
        det = self.tree({"lib/helpers.lua": self.LIB, "aws/req.lua": self.DET})
        res = self.lp0("test", os.path.join(det, "aws"))
        self.assertExit(res, 0)
        self.assertCounts(res, 2, 0)

    def test_missing_module(self):
        det = self.tree({"r.lua": detection("Req.Missing", rule='return require "nope_nothing"',
                                            tests='{ name = "t", expect = true, event = {} },')})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertIn("module 'nope_nothing' not found", self.assertFails(res, "Req.Missing", "t"))

    def test_require_stdlib(self):
        det = self.tree({"r.lua": detection("Req.Std", rule='local s = require "strings"\n  return s == strings and s.starts_with("abc", "ab")',
                                            tests='{ name = "t", expect = true, event = {} },')})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)


if __name__ == "__main__":
    unittest.main()
