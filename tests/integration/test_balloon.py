#!/usr/bin/env python3
"""The balloon story in the daemon, against the real device simulator
(tplink-smarthome-simulator via tests/plug/sim.js): a CRITICAL alert pulses the plug
with a device-side countdown and lp0 switches it off; a second alert extends the pulse;
a kill -9 during a pulse, then a restart after its deadline, switches the plug off.

Run: LP0=build/lp0 python3 tests/integration/test_balloon.py
"""
import json
import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_daemon import Daemon, event, stop_and_check, wait_for  # noqa: E402
from test_plug import Sim, ensure_simulator  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))

DETECTION = """
id = "Test.Critical"
log_types = { "AWS.CloudTrail" }
default_severity = "CRITICAL"
match = { eventName = "Boom" }
function rule(e) return true end
function title(e) return "boom by " .. (e.user or "?") end
function dedup(e) return e.user or "?" end
"""


class BalloonTest(unittest.TestCase):
    seconds = 3

    @classmethod
    def setUpClass(cls):
        cls.node = ensure_simulator()

    def setUp(self):
        self.sim = Sim(self.node)
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        self.det = os.path.join(self.tmp, "detections")
        os.makedirs(self.det)
        with open(os.path.join(self.det, "boom.lua"), "w") as f:
            f.write(DETECTION)
        self.config = os.path.join(self.tmp, "lp0.lua")
        with open(self.config, "w") as f:
            f.write('stories = { "%s/scripts/balloon.lua" }\n'
                    'settings = { balloon = { host = "127.0.0.1:%d", seconds = { CRITICAL = %d } } }\n'
                    'plug_max_on_seconds = 5\nplug_cooldown_seconds = 1\n'
                    % (ROOT, self.sim.port, self.seconds))
        self.d = Daemon(self.tmp, self.det, self.config)

    def tearDown(self):
        try:
            stop_and_check(self, self.d)
        finally:
            self.sim.stop()
            self.tmpdir.cleanup()

    def boom(self, user="bob"):
        self.assertEqual(self.d.post("cloudtrail", event(name="Boom", user=user))[0], 200)

    def test_alert_pulses_and_lp0_switches_off(self):
        t0 = time.time()
        self.boom()
        on = self.sim.wait_for(lambda s: s["relay_state"] == 1)
        self.assertEqual(on["relay_state"], 1, self.d.log())
        self.assertEqual(len(on["rules"]), 1)  # the device-side safety net
        self.assertEqual(on["rules"][0]["delay"], self.seconds)
        self.assertEqual(on["rules"][0]["act"], 0)
        off = self.sim.wait_for(lambda s: s["relay_state"] == 0, timeout=self.seconds + 5)
        self.assertEqual(off["relay_state"], 0)
        self.assertGreaterEqual(time.time() - t0, self.seconds - 0.5)
        self.assertTrue(wait_for(lambda: "inflating for 3 s" in self.d.log()))
        self.assertTrue(wait_for(lambda: "pulse over, switched off" in self.d.log()), self.d.log())

    def test_second_alert_extends_the_pulse(self):
        self.boom("a")
        self.sim.wait_for(lambda s: s["relay_state"] == 1)
        time.sleep(1)
        self.boom("b")  # another alert while inflating: extended, capped at 5 s in all
        self.assertTrue(wait_for(lambda: "extended the pulse" in self.d.log()), self.d.log())
        st = self.sim.state()
        self.assertEqual(st["relay_state"], 1)
        toggles = [r for r in st["requests"] if '"set_relay_state":{"state":0}' in r]
        self.assertEqual(toggles, [])  # never switched off in between
        off = self.sim.wait_for(lambda s: s["relay_state"] == 0, timeout=8)
        self.assertEqual(off["relay_state"], 0)

    def test_kill_9_during_a_pulse_then_restart_switches_off(self):
        self.boom()
        self.sim.wait_for(lambda s: s["relay_state"] == 1)
        self.d.proc.kill()  # lp0 dies with the compressor running
        self.d.proc.wait()
        self.d.stderr.close()
        time.sleep(self.seconds + 0.5)  # its deadline passes while it is down
        self.assertEqual(self.sim.state()["relay_state"], 1)  # (the simulator never fires rules)
        os.remove(self.d.port_file)
        self.d = Daemon(self.tmp, self.det, self.config)
        off = self.sim.wait_for(lambda s: s["relay_state"] == 0, timeout=5)
        self.assertEqual(off["relay_state"], 0, self.d.log())
        self.assertIn("deadline passed while lp0 was down", self.d.log())


if __name__ == "__main__":
    unittest.main()
