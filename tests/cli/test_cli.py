"""The command-line surface of lp0: help, version, usage errors and exit codes."""
import unittest

import sys

sys.dont_write_bytecode = True  # keep tests/cli free of __pycache__
from lp0cli import CliTest, detection, ndjson, ct  # noqa: E402


class TopLevel(CliTest):
    def test_help_exit_0_lists_commands(self):
        for flag in ("--help", "-h", "help"):
            res = self.lp0(flag)
            self.assertExit(res, 0)
            self.assertTrue(res.out.startswith("usage: lp0 <command>"), repr(res))
            for cmd in ("test", "check", "replay"):
                self.assertRegex(res.out, r"(?m)^  %s " % cmd)
            self.assertIn("--version", res.out)

    def test_version(self):
        for flag in ("--version", "-V", "version"):
            res = self.lp0(flag)
            self.assertExit(res, 0)
            self.assertRegex(res.out, r"^lp0 \d+\.\d+\.\d+\S*\n$")

    def test_no_command_is_usage_error(self):
        res = self.lp0()
        self.assertExit(res, 2)
        self.assertIn("usage: lp0", res.err)
        self.assertEqual(res.out, "")

    def test_unknown_command_exit_2(self):
        res = self.lp0("frobnicate")
        self.assertExit(res, 2)
        self.assertIn("unknown command 'frobnicate'", res.err)
        self.assertIn("usage: lp0", res.err)


class CommandHelp(CliTest):
    def test_command_help_exit_0(self):
        for cmd in ("test", "check", "replay"):
            for flag in ("--help", "-h"):
                with self.subTest(cmd=cmd, flag=flag):
                    res = self.lp0(cmd, flag)
                    self.assertExit(res, 0)
                    self.assertTrue(res.out.startswith("usage: lp0 %s" % cmd), repr(res))

    def test_test_help_documents_options(self):
        out = self.lp0("test", "--help").out
        for opt in ("--filter", "--junit", "--verbose", "--require-tests"):
            self.assertIn(opt, out)
        self.assertIn("N passed, N failed", out)

    def test_replay_help_documents_options(self):
        out = self.lp0("replay", "--help").out
        for opt in ("--detections", "--log-type", "--workers", "--output", "--quiet",
                    "--lateness", "--stats"):
            self.assertIn(opt, out)

    def test_help_wins_over_other_arguments(self):
        res = self.lp0("replay", "--help", "no-such-file")
        self.assertExit(res, 0)
        self.assertTrue(res.out.startswith("usage: lp0 replay"))


class UsageErrors(CliTest):
    def test_bad_option_each_command(self):
        for args in (("test", "--no-such-option"), ("check", "--no-such-option"),
                     ("replay", "--no-such-option", "x.json"), ("test", "-Z"),
                     ("test", "--filter")):
            with self.subTest(args=args):
                res = self.lp0(*args)
                self.assertExit(res, 2)
                self.assertIn("usage: lp0 %s" % args[0], res.err)
                self.assertEqual(res.out, "")

    def test_replay_needs_a_file(self):
        res = self.lp0("replay")
        self.assertExit(res, 2)
        self.assertIn("needs at least one FILE", res.err)

    def test_replay_bad_workers(self):
        for n in ("0", "-1", "257", "two", "4x"):
            with self.subTest(workers=n):
                res = self.lp0("replay", "--workers", n, "x.json")
                self.assertExit(res, 2)
                self.assertIn("--workers", res.err)

    def test_replay_bad_lateness(self):
        for v in ("-1", "abc", "600000"):
            with self.subTest(lateness=v):
                res = self.lp0("replay", "--lateness", v, "x.json")
                self.assertExit(res, 2)
                self.assertIn("--lateness", res.err)

    def test_replay_detections_that_fail_to_load_exit_2(self):
        det = self.tree({"broken.lua": "id = 'X'\nfunction rule(e) return true\n"})
        log = self.path("log.json")
        with open(log, "w") as f:
            f.write(ndjson([ct("A")]))
        res = self.lp0("replay", "-d", det, log)
        self.assertExit(res, 2)
        self.assertIn("broken.lua", res.err)
        self.assertEqual(res.out, "")

    def test_replay_unwritable_output_exit_2(self):
        det = self.tree({"ok.lua": detection("OK")})
        log = self.path("log.json")
        with open(log, "w") as f:
            f.write(ndjson([ct("A")]))
        bad = self.path("no", "such", "dir", "alerts.json")
        res = self.lp0("replay", "-d", det, "-o", bad, log)
        self.assertExit(res, 2)
        self.assertIn(bad, res.err)

    def test_junit_unwritable_exit_2(self):
        det = self.tree({"ok.lua": detection("OK", tests='{ name = "t", expect = true, event = {} },')})
        res = self.lp0("test", "--junit", self.path("no", "dir", "j.xml"), det)
        self.assertExit(res, 2)
        self.assertIn("cannot write JUnit report", res.err)
        self.assertCounts(res, 1, 0)


class DefaultPaths(CliTest):
    def test_default_detections_folder(self):
        """Without PATH, test/check read ./detections and replay -d defaults to it."""
        self.tree({"ok.lua": detection("Dflt", extra='match = { eventName = "A" }',
                                       tests='{ name = "t", expect = true, event = { eventName = "A" } },')},
                  sub="detections")
        res = self.lp0("test")
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)
        res = self.lp0("check")
        self.assertExit(res, 0)
        self.assertIn("1 detections (1 enabled), 0 problems", res.out)
        with open(self.path("log.json"), "w") as f:
            f.write(ndjson([ct("A")]))
        res = self.lp0("replay", "log.json")
        self.assertExit(res, 0)
        self.assertIn('"detection":"Dflt"', res.out)


if __name__ == "__main__":
    unittest.main()
