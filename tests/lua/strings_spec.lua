-- strings_spec.lua — strings.starts_with/ends_with/contains/glob/split/trim.
-- SPDX-License-Identifier: MIT

local glob = strings.glob

tests = {
  { name = "starts_with", run = function()
    assert(strings.starts_with("arn:aws:iam::1:root", "arn:aws:"))
    assert(strings.starts_with("abc", ""))
    assert(strings.starts_with("abc", "abc"))
    assert(not strings.starts_with("abc", "abcd"))
    assert(not strings.starts_with("abc", "b"))
    assert(not strings.starts_with("a.c", "."), "plain, not a pattern")
    assert(strings.starts_with("%d.x", "%d"))
  end },
  { name = "ends_with", run = function()
    assert(strings.ends_with("role/AWSReservedSSO_Admin", "_Admin"))
    assert(strings.ends_with("abc", ""))
    assert(strings.ends_with("abc", "abc"))
    assert(not strings.ends_with("bc", "abc"))
    assert(not strings.ends_with("abc", "b"))
    assert(strings.ends_with("x.*", ".*"))
  end },
  { name = "contains is plain", run = function()
    assert(strings.contains("arn:aws:sts::1:assumed-role/AWSReservedSSO_x", "AWSReservedSSO"))
    assert(strings.contains("a(b", "("))
    assert(strings.contains("a.b", "."))
    assert(not strings.contains("ab", "."))
    assert(strings.contains("abc", ""))
  end },
  { name = "predicates are nil-safe", run = function()
    for _, f in ipairs({ strings.starts_with, strings.ends_with, strings.contains, strings.glob }) do
      assert(f(nil, "a") == false)
      assert(f("a", nil) == false)
      assert(f({}, "a") == false)
    end
  end },
  { name = "glob: literals are anchored", run = function()
    assert(glob("DeleteTrail", "DeleteTrail"))
    assert(not glob("DeleteTrail", "DeleteTrails"))
    assert(not glob("DeleteTrail", "xDeleteTrail"))
    assert(glob("", ""))
    assert(not glob("", "a"))
  end },
  { name = "glob: star", run = function()
    assert(glob("Delete*", "DeleteTrail"))
    assert(glob("Delete*", "Delete"))
    assert(glob("*Trail", "DeleteTrail"))
    assert(glob("*", ""))
    assert(glob("a*b*c", "a--b--c"))
    assert(not glob("a*b*c", "a--c--b"))
    assert(glob("arn:*/admin", "arn:aws:iam::1:role/path/admin"), "star crosses '/'")
    assert(glob("a***b", "ab"), "star runs")
  end },
  { name = "glob: question mark is one character", run = function()
    assert(glob("us-east-?", "us-east-1"))
    assert(not glob("us-east-?", "us-east-"))
    assert(not glob("us-east-?", "us-east-12"))
    assert(glob("caf?", "café"), "one UTF-8 character, not one byte")
    assert(not glob("caf??", "café"))
  end },
  { name = "glob: classes", run = function()
    assert(glob("[abc]x", "bx"))
    assert(not glob("[abc]x", "dx"))
    assert(glob("v[0-9]", "v7"))
    assert(not glob("v[0-9]", "va"))
    assert(glob("[!a]", "b"))
    assert(not glob("[!a]", "a"))
    assert(glob("[^a]", "b"))
    assert(glob("[a-cx-z]", "y"))
    assert(glob("[]]", "]"), "']' first is a member")
    assert(glob("[!]]", "a"))
    assert(not glob("[!]]", "]"))
    assert(glob("[a-]", "-"), "trailing '-' is literal")
    assert(glob("[%.]", "%"), "Lua magic inside a class")
    assert(glob("[%.]", "."))
    assert(not glob("[%.]", "a"))
    assert(glob("[#-%]", "$"), "range whose end is Lua's escape character")
    assert(not glob("[!#-%]", "$"))
    assert(glob("[!#-%]", "a"))
    assert(not glob("[z-a]", "m"), "reversed range matches nothing")
  end },
  { name = "glob: unclosed bracket is literal", run = function()
    assert(glob("a[b", "a[b"))
    assert(not glob("a[b", "ab"))
  end },
  { name = "glob: Lua magic characters are literal", run = function()
    assert(glob("a.b", "a.b"))
    assert(not glob("a.b", "axb"))
    assert(glob("100%", "100%"))
    assert(glob("(x)+-^$", "(x)+-^$"))
    assert(not glob("a+", "aa"))
  end },
  { name = "glob: backslash escapes", run = function()
    assert(glob("a\\*", "a*"))
    assert(not glob("a\\*", "ab"))
    assert(glob("\\?", "?"))
  end },
  { name = "glob: case-sensitive, repeated use hits the cache", run = function()
    assert(not glob("delete*", "DeleteTrail"))
    for _ = 1, 3 do
      assert(glob("Stop*", "StopLogging"))
    end
  end },
  { name = "glob: several stars do not backtrack exponentially", run = function()
    -- One Lua pattern with k '.*' is O(n^k): this took 0.4 s that way, inside C where
    -- the instruction budget cannot interrupt it.
    local s = ("a"):rep(200)
    local t0 = os.clock()
    assert(not glob("*a*a*a*b", s))
    assert(glob("*a*a*a*", s))
    assert(glob("a*a?a*[a]", s))
    assert(os.clock() - t0 < 0.05, "glob took " .. (os.clock() - t0) .. " s")
  end },
  { name = "glob: segments are placed in order, without overlap", run = function()
    assert(glob("ab*b", "abb"))
    assert(not glob("ab*b", "ab"))
    assert(not glob("a*ba*a", "aba"))
    assert(glob("a*ba*a", "abaa"))
    assert(glob("*x*y*", "__x__y__"))
    assert(not glob("*x*y*", "__y__x__"))
    assert(glob("*.amazonaws.com", "s3.amazonaws.com"))
    assert(not glob("*.amazonaws.com", "amazonaws.com"))
  end },
  { name = "glob: many distinct patterns", run = function()
    for i = 1, 3000 do
      assert(glob("p" .. i .. "*", "p" .. i .. "x"))
    end
    assert(glob("Delete*", "DeleteTrail"))
  end },
  { name = "split with a separator", run = function()
    assert_eq(strings.split("a,b,c", ","), { "a", "b", "c" })
    assert_eq(strings.split("a,,b,", ","), { "a", "", "b", "" })
    assert_eq(strings.split("", ","), { "" })
    assert_eq(strings.split("abc", ","), { "abc" })
    assert_eq(strings.split("a::b::c", "::"), { "a", "b", "c" })
    assert_eq(strings.split("a.b", "."), { "a", "b" }, "plain separator")
  end },
  { name = "split on whitespace", run = function()
    assert_eq(strings.split("  User reset  FIDO factor "), { "User", "reset", "FIDO", "factor" })
    assert_eq(strings.split("   "), {})
  end },
  { name = "split: non-string input, bad separator", run = function()
    assert_eq(strings.split(nil, ","), {})
    assert(not pcall(strings.split, "a", ""), "empty separator raises")
  end },
  { name = "trim", run = function()
    assert_eq(strings.trim("  a b  "), "a b")
    assert_eq(strings.trim("\t\r\n x\v\f"), "x")
    assert_eq(strings.trim("abc"), "abc")
    assert_eq(strings.trim("   "), "")
    assert_eq(strings.trim(""), "")
    assert(strings.trim(nil) == nil)
  end },
}
