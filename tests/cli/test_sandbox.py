"""Hostile detections: the sandbox's limits and what scripts cannot reach.

Each property is a detection test whose expectation only holds when the sandbox is
intact; the runs also check that one hostile detection does not stop the others."""
import time
import unittest

import sys

sys.dont_write_bytecode = True  # keep tests/cli free of __pycache__
from lp0cli import CliTest, detection  # noqa: E402

OK_TEST = '{ name = "ok", expect = true, event = {} },'


class Limits(CliTest):
    def test_infinite_loop_inside_pcall_is_killed(self):
        det = self.tree({
            "a_loop.lua": detection("Loop", rule='''
                local ok, err = pcall(function() while true do end end)
                return true''', tests='''
                { name = "spins", expect = true, event = {} },
                { name = "spins again", expect = true, event = {} },
            '''),
            "b_xpcall.lua": detection("Loop.Xpcall", rule='''
                xpcall(function() while true do end end, function(m) return m end)
                return true''', tests='{ name = "spins", expect = true, event = {} },'),
            "c_coroutine.lua": detection("Loop.Coroutine", rule='''
                local co = coroutine.wrap(function() while true do end end)
                pcall(co)
                return true''', tests='{ name = "spins", expect = true, event = {} },'),
            "d_after.lua": detection("After.Loop", tests=OK_TEST),
            "e_retry.lua": detection("Loop.Retry", rule='''
                for i = 1, 100 do pcall(function() while true do end end) end
                return true''', tests='{ name = "spins", expect = true, event = {} },'),
        })
        start = time.monotonic()
        res = self.lp0("test", det, timeout=120)
        self.assertLess(time.monotonic() - start, 60, "the budget should stop the loops quickly")
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 5)
        for det_id, name in (("Loop", "spins"), ("Loop", "spins again"), ("Loop.Xpcall", "spins"),
                             ("Loop.Coroutine", "spins"), ("Loop.Retry", "spins")):
            with self.subTest(det=det_id, test=name):
                block = self.assertFails(res, det_id, name)
                self.assertIn("instruction budget exceeded", block)
        self.assertIsNone(self.failure_block(res, "After.Loop", "ok"))

    def test_budget_at_load(self):
        det = self.tree({
            "a.lua": "while true do end\n",
            "b.lua": detection("After.LoadLoop", tests=OK_TEST),
        })
        res = self.lp0("test", det, timeout=120)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 1)
        self.assertIn("instruction budget exceeded", res.out)

    def test_load_budget_is_larger_than_hook_budget(self):
        # ~12M instructions: fine while loading (50M allowed), over budget in a hook (1M).
        det = self.tree({"l.lua": detection("Budget.Load", extra='''
            loaded = 0
            for i = 1, 3000000 do loaded = loaded + i end
            ''', rule='''
            if e.loop then
                local t = 0
                for i = 1, 3000000 do t = t + i end
              end
              return loaded == 4500001500000''', tests='''
            { name = "loaded", expect = true, event = {} },
            { name = "loop in hook", expect = true, event = { loop = true } },
        ''')})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 1)
        self.assertIn("instruction budget exceeded", self.assertFails(res, "Budget.Load", "loop in hook"))

    def test_budget_allows_normal_work(self):
        det = self.tree({"w.lua": detection("Work", rule='''
            local s = 0
            for i = 1, 50000 do s = s + i end
            return s == 1250025000''', tests=OK_TEST)})
        res = self.lp0("test", det)
        self.assertExit(res, 0)
        self.assertCounts(res, 1, 0)

    def test_memory_cap(self):
        det = self.tree({
            "a_rep.lua": detection("Mem.Rep", rule='''
                local s = ("x"):rep(1e9)
                return #s > 0''', tests='''
                { name = "huge", expect = true, event = {} },
                { name = "fine afterwards", expect = false, event = { small = true } },
            ''').replace("local s =", "if e.small then return false end\n  local s ="),
            "b_pcall.lua": detection("Mem.Pcall", rule='''
                local ok = pcall(string.rep, "x", 1e9)
                return true''', tests='{ name = "huge in pcall", expect = true, event = {} },'),
            "c_table.lua": detection("Mem.Table", rule='''
                local t = {}
                for i = 1, 40 do t[i] = ("y"):rep(4 * 1024 * 1024) .. i end
                return true''', tests='{ name = "many strings", expect = true, event = {} },'),
            "d_after.lua": detection("After.Mem", rule='return ("z"):rep(20 * 1024 * 1024):len() == 20971520',
                                     tests=OK_TEST),
        })
        res = self.lp0("test", det, timeout=120)
        self.assertExit(res, 1)
        self.assertCounts(res, 2, 3)
        for det_id, name in (("Mem.Rep", "huge"), ("Mem.Pcall", "huge in pcall"),
                             ("Mem.Table", "many strings")):
            with self.subTest(det=det_id):
                self.assertIn("not enough memory", self.assertFails(res, det_id, name))
        self.assertIsNone(self.failure_block(res, "Mem.Rep", "fine afterwards"))
        self.assertIsNone(self.failure_block(res, "After.Mem", "ok"))


    def test_memory_held_in_globals_does_not_crash(self):
        # Regression (fixed engine bug): lp0 aborts (SIGABRT, Lua panic "not enough memory") when a detection keeps
        # ~64 MiB alive in its globals (an unbounded cache does the same): vm.c vm_alloc refuses
        # growth past the cap at depth 0 too, so the engine's own unprotected API calls outside
        # vm_pcall (gdb: string_hook -> lua_getfield, from run_detection/det_eval_one) fail and
        # Lua panics. Fix: let depth-0 (engine) allocations through, or make those calls protected.
        fills = [1000, 1000, 300, 100, 100, 100, 30, 30, 30, 10, 10, 10, 1, 1, 1, 1, 1]
        tests = "\n".join('{ name = "fill %d", expect = true, event = { fill = %d } },' % (i, n)
                          for i, n in enumerate(fills))
        det = self.tree({
            "a_hoard.lua": detection("Hoard", extra="hoard = {}", rule='''
                if e.fill then
                    local t = {}
                    hoard[#hoard + 1] = t
                    for i = 1, 1e9 do t[i] = ("x"):rep(e.fill) .. i end
                  end
                  return e.a == 1''', tests=tests + '''
                { name = "after", expect = true, event = { a = 1 } },
                { name = "after2", expect = true, event = { a = 1, b = { 1, 2, 3 } } },
            '''),
            "b_other.lua": detection("After.Hoard", tests=OK_TEST),
        })
        res = self.lp0("test", det, timeout=300)
        self.assertIn(res.code, (0, 1), "lp0 died (negative code = signal)\n%r" % res)
        self.assertRegex(res.last_line, r"^\d+ passed, \d+ failed$")
        self.assertIsNone(self.failure_block(res, "After.Hoard", "ok"))

    def test_gc_finalizer_cannot_hang(self):
        # Regression (fixed engine bug): a __gc metamethod runs outside any hook call (at lua_close when lp0 exits,
        # or in a GC step during the engine's own API calls), where vm->depth == 0 and the
        # instruction budget is not enforced: `while true do end` in __gc hangs `lp0 test` and
        # `lp0 replay` forever after their output. Fix: refuse metatables with __gc in the
        # sandbox's setmetatable, or budget finalizers too.
        det = self.tree({
            "a_gc.lua": detection("Gc", extra="setmetatable({}, { __gc = function() while true do end end })",
                                  tests=OK_TEST),
            "b_other.lua": detection("After.Gc", tests=OK_TEST),
        })
        res = self.lp0("test", det, timeout=10)  # TimeoutExpired when it hangs
        self.assertIn(res.code, (0, 1))
        self.assertIsNone(self.failure_block(res, "After.Gc", "ok"))


ABSENT = ["io", "debug", "package", "dofile", "loadfile", "collectgarbage", "rawset", "rawget",
          "os.execute", "os.exit", "os.getenv", "os.remove", "os.rename", "os.tmpname",
          "string.dump", "require_io"]


class Reach(CliTest):
    def test_dangerous_globals_are_absent(self):
        names = [n for n in ABSENT if n != "require_io"]
        checks = "\n".join('present["%s"] = %s ~= nil' % (n, n) for n in names)
        tests = "\n".join('{ name = "%s", expect = false, event = { name = "%s" } },' % (n, n)
                          for n in names)
        det = self.tree({"absent.lua": detection("Absent", extra="present = {}\n" + checks,
                                                 rule="return present[e.name]", tests=tests),
                         "present.lua": detection("Present", rule='''
            return os.time() > 0 and type(os.clock()) == "number" and type(os.date("!%Y")) == "string"
               and string.format("%d", 1) == "1" and math.max(1, 2) == 2 and utf8.char(65) == "A"
               and table.concat({ "a", "b" }) == "ab" and type(coroutine.wrap) == "function"
               and select("#", 1, 2) == 2 and rawequal(1, 1) and rawlen({ 1 }) == 1''',
                                                  tests=OK_TEST)})
        res = self.lp0("test", det)
        self.assertNoFail(res)
        self.assertCounts(res, len(names) + 1, 0)
        self.assertExit(res, 0)

    def test_refused_operations(self):
        cases = {
            # name: Lua expression that must be true
            "load bytecode (mode b)": 'not pcall(load, "\\27Lua\\84\\0", "x", "b")',
            "load bytecode (default)": 'load("\\27Lua\\84\\0") == nil',
            "load bytecode (mode bt)": 'not pcall(load, "\\27Lua\\84\\0", "x", "bt")',
            "load text works": 'load("return 1 + 1")() == 2',
            "load env is sandboxed": 'load("return io")() == nil',
            "require io": 'not pcall(require, "io")',
            "require os": 'not pcall(require, "os") or require("os").execute == nil',
            "require debug": 'not pcall(require, "debug")',
            "require path escape": 'not pcall(require, "../x")',
            "patch string.find": 'not pcall(function() string.find = function() return 1 end end)',
            "patch string table via method": 'not pcall(function() ("").find = nil end)',
            "patch aws": 'not pcall(function() aws.x = 1 end)',
            "patch aws nested": 'not pcall(function() aws.rule_context = nil end)',
            "patch json": 'not pcall(function() json.encode = nil end)',
            "patch table lib": 'not pcall(function() table.insert = nil end)',
            "patch math": 'not pcall(function() math.pi = 3 end)',
            "patch os": 'not pcall(function() os.time = nil end)',
            "setmetatable _G": 'not pcall(setmetatable, _G, {})',
            "string metatable hidden": 'getmetatable("") == false',
            "stdlib metatable hidden": 'getmetatable(aws) == false',
            "event metatable hidden": 'getmetatable(e) == false',
            "setmetatable on stdlib": 'not pcall(setmetatable, strings, {})',
            "error message says read-only": 'select(2, pcall(function() string.find = nil end)):find("read%-only") ~= nil',
        }
        tests = "\n".join('{ name = "%s", expect = true, event = { name = "%s" } },' % (n, n)
                          for n in cases)
        checks = "\n".join('checks["%s"] = function(e) return %s end' % (n, expr)
                           for n, expr in cases.items())
        det = self.tree({"refuse.lua": detection("Refuse", extra="checks = {}\n" + checks,
                                                 rule="return checks[e.name](e)", tests=tests)})
        res = self.lp0("test", det)
        self.assertNoFail(res)
        self.assertCounts(res, len(cases), 0)
        self.assertExit(res, 0)

    def test_failed_module_reports_its_error_every_time(self):
        # a lib module that fails at load must give its own error on a second require,
        # not "requires itself" (the being-loaded mark is cleared)
        det = self.tree({"lib/broken.lua": 'error("broken helper")\n',
                         "r.lua": detection("Require.Twice", rule='''
                local _, first = pcall(require, "broken")
                local _, second = pcall(require, "broken")
                return tostring(first):find("broken helper") ~= nil
                   and tostring(second):find("broken helper") ~= nil''', tests=OK_TEST)})
        res = self.lp0("test", det)
        self.assertNoFail(res)
        self.assertExit(res, 0)

    def test_patch_attempt_is_an_error_with_line(self):
        det = self.tree({"p.lua": detection("Patch", rule='string.find = nil\n  return true',
                                            tests=OK_TEST),
                         "q.lua": detection("Patch.Aws", rule='aws.x = 1\n  return true',
                                            tests=OK_TEST),
                         "r.lua": detection("Patch.After", rule='return string.find("abc", "b") == 2 and aws.x == nil',
                                            tests=OK_TEST)})
        res = self.lp0("test", det)
        self.assertExit(res, 1)
        self.assertCounts(res, 1, 2)
        block = self.assertFails(res, "Patch", "ok")
        self.assertIn("p.lua:5:", block)
        self.assertIn("read-only", block)
        self.assertIn("read-only", self.assertFails(res, "Patch.Aws", "ok"))

    def test_globals_are_per_detection(self):
        det = self.tree({
            "a.lua": detection("Glob.A", extra='''
                leak_at_load = 1
                deep_get = function() return "evil" end
                aws_cloudtrail_success = function() return "evil" end
                ''', rule='''
                leak_at_run = 1
                _G.leak_via_G = 1
                return true''', tests=OK_TEST),
            "b.lua": detection("Glob.B", rule='''
                return leak_at_load == nil and leak_at_run == nil and leak_via_G == nil
                  and deep_get({ a = { b = 1 } }, "a", "b") == 1
                  and aws_cloudtrail_success({}) == true''', tests=OK_TEST),
        })
        res = self.lp0("test", det)
        self.assertNoFail(res)
        self.assertExit(res, 0)
        self.assertCounts(res, 2, 0)

    def test_string_method_patching_does_not_leak(self):
        # `string` is a read-only view, and the string metatable is hidden, so no detection
        # can change ("x"):upper() for another one.
        det = self.tree({
            "a.lua": detection("Str.A", rule='''
                pcall(function() string.upper = function() return "evil" end end)
                pcall(function() getmetatable("").__index = {} end)
                return true''', tests=OK_TEST),
            "b.lua": detection("Str.B", rule='return ("x"):upper() == "X"', tests=OK_TEST),
        })
        res = self.lp0("test", det)
        self.assertNoFail(res)
        self.assertCounts(res, 2, 0)


if __name__ == "__main__":
    unittest.main()
