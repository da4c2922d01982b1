#!/usr/bin/env python3
"""Functional tests of `lp0 plug`: the real binary against a simulated TP-Link HS100/HS110
(npm tplink-smarthome-simulator, pinned in tests/plug/package-lock.json), whose relay
state, countdown rules and received requests are read back through tests/plug/sim.js.

The simulator stores countdown rules but never fires them, so a pulse's switch-off seen
here is lp0's own; the rule is asserted as stored.

Needs node and npm (Debian packages nodejs, npm); runs `npm ci` into
tests/plug/node_modules when it is missing.
Run: LP0=build/lp0 python3 tests/integration/test_plug.py
"""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LP0 = os.environ.get("LP0", os.path.join(ROOT, "build", "lp0"))
PLUG_DIR = os.path.join(ROOT, "tests", "plug")
SIM = os.path.join(PLUG_DIR, "sim.js")


def ensure_simulator():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        sys.exit("test_plug: node and npm are required (Debian packages nodejs and npm)")
    if not os.path.isdir(os.path.join(PLUG_DIR, "node_modules", "tplink-smarthome-simulator")):
        out = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PLUG_DIR,
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            sys.exit("test_plug: npm ci in tests/plug failed:\n" + out.stdout + out.stderr)
    return node


class Sim:
    """One simulated plug on 127.0.0.1 (sim.js), driven over its stdin/stdout."""

    def __init__(self, node, *args):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([node, SIM, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.proc.stdout.readline()
        if not line:
            self.err.seek(0)
            raise RuntimeError("simulator did not start: " + self.err.read())
        self.port = json.loads(line)["port"]

    def state(self):
        self.proc.stdin.write("state\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def wait_for(self, pred, timeout=5.0):
        deadline = time.time() + timeout
        while True:
            s = self.state()
            if pred(s) or time.time() > deadline:
                return s
            time.sleep(0.05)

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.err.close()


def unlistened_port():
    """A loopback port that is bound but not listening: connecting is refused."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


class PlugTest(unittest.TestCase):
    node = None

    @classmethod
    def setUpClass(cls):
        cls.node = ensure_simulator()

    def setUp(self):
        self.sim = Sim(self.node)
        self.tmp = tempfile.mkdtemp(prefix="lp0-plug-")

    def tearDown(self):
        self.sim.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def lp0(self, *args, port=None, host="127.0.0.1", timeout=30):
        cmd = [LP0, "plug", host, "--port", str(port or self.sim.port), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def test_info(self):
        out = self.lp0("info")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("alias:       lp0 test plug", out.stdout)
        self.assertIn("model:       HS100(US)", out.stdout)
        self.assertIn("relay_state: off", out.stdout)
        self.assertIn("on_time:     0 s", out.stdout)
        self.assertEqual(self.sim.state()["requests"], ['{"system":{"get_sysinfo":{}}}'])

    def test_info_by_name_hs110(self):
        sim = Sim(self.node, "--model", "hs110", "--alias", "pump")
        try:
            out = self.lp0("info", port=sim.port, host="localhost")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("alias:       pump", out.stdout)
            self.assertIn("model:       HS110(US)", out.stdout)
        finally:
            sim.stop()

    def test_on_off(self):
        out = self.lp0("on")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(": on", out.stdout)
        self.assertEqual(self.sim.state()["relay_state"], 1)
        self.assertIn("relay_state: on", self.lp0("info").stdout)
        out = self.lp0("off")
        self.assertEqual(out.returncode, 0, out.stderr)
        st = self.sim.state()
        self.assertEqual(st["relay_state"], 0)
        self.assertEqual(st["requests"][0], '{"system":{"set_relay_state":{"state":1}}}')
        self.assertIn('"set_relay_state":{"state":0}', st["requests"][2])

    def test_pulse(self):
        db = os.path.join(self.tmp, "lp0.db")
        t0 = time.time()
        proc = subprocess.Popen([LP0, "plug", "127.0.0.1", "--port", str(self.sim.port),
                                 "--state-dir", self.tmp, "pulse", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            on = self.sim.wait_for(lambda s: s["relay_state"] == 1)
            self.assertEqual(on["relay_state"], 1)
            # The safety net is on the device: one countdown rule, off after 2 s.
            self.assertEqual(len(on["rules"]), 1)
            rule = on["rules"][0]
            self.assertEqual((rule["enable"], rule["delay"], rule["act"], rule["name"]),
                             (1, 2, 0, "lp0 pulse"))
            # Rule and relay-on arrived in one request, the rules cleared first.
            req = json.loads(on["requests"][0])
            self.assertEqual(list(req["count_down"].keys()), ["delete_all_rules", "add_rule"])
            self.assertEqual(req["system"], {"set_relay_state": {"state": 1}})
            # The deadline is in the store while the plug is on.
            with sqlite3.connect(db) as conn:
                rows = conn.execute("SELECT host, port, deadline FROM plug_deadlines").fetchall()
            self.assertEqual(len(rows), 1)
            self.assertEqual(rows[0][:2], ("127.0.0.1", self.sim.port))
            self.assertAlmostEqual(rows[0][2], t0 + 2, delta=1.0)
            stdout, stderr = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        elapsed = time.time() - t0
        self.assertEqual(proc.returncode, 0, stderr)
        self.assertIn("on for 2 s; countdown rule %s installed" % rule["id"], stdout)
        self.assertIn("off (switched off by lp0 2.", stdout)
        self.assertGreaterEqual(elapsed, 2.0)
        self.assertLess(elapsed, 6.0)
        # lp0 switched it off itself (the simulator never fires rules) and cleaned up.
        st = self.sim.state()
        self.assertEqual(st["relay_state"], 0)
        self.assertEqual(st["rules"], [])
        self.assertEqual(len(st["requests"]), 2)
        with sqlite3.connect(db) as conn:
            self.assertEqual(conn.execute("SELECT count(*) FROM plug_deadlines").fetchone()[0], 0)

    def test_pulse_capped(self):
        t0 = time.time()
        out = self.lp0("--max-on", "1", "pulse", "30")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("on for 1 s (capped by --max-on)", out.stdout)
        self.assertLess(time.time() - t0, 5.0)
        st = self.sim.state()
        self.assertEqual(json.loads(st["requests"][0])["count_down"]["add_rule"]["delay"], 1)
        self.assertEqual(st["relay_state"], 0)

    def test_pulse_interrupted_switches_off(self):
        proc = subprocess.Popen([LP0, "plug", "127.0.0.1", "--port", str(self.sim.port),
                                 "pulse", "30"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(self.sim.wait_for(lambda s: s["relay_state"] == 1)["relay_state"], 1)
            time.sleep(0.2)  # the CLI handles signals once its loop runs
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("switching 127.0.0.1:%d off" % self.sim.port, stderr)
        self.assertIn("switched off", stderr)
        st = self.sim.state()
        self.assertEqual(st["relay_state"], 0)
        self.assertEqual(st["rules"], [])

    def test_unreachable(self):
        s, port = unlistened_port()
        try:
            out = self.lp0("info", port=port)
        finally:
            s.close()
        self.assertEqual(out.returncode, 1)
        self.assertIn("127.0.0.1:%d: connect: connection refused" % port, out.stderr)
        self.assertEqual(out.stdout, "")
        out = self.lp0("--timeout", "2000", "info", host="plug.invalid")
        self.assertEqual(out.returncode, 1)
        self.assertTrue("cannot resolve plug.invalid" in out.stderr or "timed out" in out.stderr,
                        out.stderr)

    def test_timeout(self):
        slow = Sim(self.node, "--delay", "3000")
        try:
            t0 = time.time()
            out = self.lp0("--timeout", "300", "info", port=slow.port)
            elapsed = time.time() - t0
        finally:
            slow.stop()
        self.assertEqual(out.returncode, 1)
        self.assertIn("timed out after 300 ms waiting for the answer of the device", out.stderr)
        self.assertLess(elapsed, 2.5)

    def test_usage(self):
        for args in ([], ["info"], ["127.0.0.1", "toggle"], ["127.0.0.1", "pulse"],
                     ["127.0.0.1", "pulse", "0"], ["127.0.0.1", "pulse", "x"],
                     ["127.0.0.1", "info", "extra"], ["127.0.0.1", "--port", "0", "info"],
                     ["127.0.0.1", "--timeout", "-1", "info"], ["127.0.0.1", "--bogus", "info"]):
            out = subprocess.run([LP0, "plug", *args], capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 2, args)
            self.assertIn("usage: lp0 plug", out.stderr, args)
        out = subprocess.run([LP0, "plug", "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        self.assertIn("pulse SECONDS", out.stdout)
        self.assertEqual(self.sim.state()["requests"], [])


if __name__ == "__main__":
    if not os.access(LP0, os.X_OK):
        sys.exit("LP0=%s is not executable" % LP0)
    unittest.main()
