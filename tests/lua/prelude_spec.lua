-- prelude_spec.lua — deep_get, deep_walk, aws_cloudtrail_success.
-- Run with `lp0 test tests/lua`.
-- SPDX-License-Identifier: MIT

local ev = {
  userIdentity = {
    type = "AssumedRole",
    sessionContext = { sessionIssuer = { userName = "admin" } },
  },
  requestParameters = { enable = false, empty = {} },
  Records = {
    { name = "a", tags = { "x", "y" }, ip = "1.1.1.1" },
    { name = "b", tags = { "y", "z" }, ip = "1.1.1.1" },
    { name = "c", tags = {} },
    { other = true },
  },
  matrix = { { { v = 1 }, { v = 2 } }, { { v = 2 }, { v = 3 } } },
  list = { 10, 20, 30 },
}

tests = {
  { name = "deep_get: nested exact keys", run = function()
    assert_eq(deep_get(ev, "userIdentity", "sessionContext", "sessionIssuer", "userName"), "admin")
    assert_eq(deep_get(ev, "userIdentity", "type"), "AssumedRole")
  end },
  { name = "deep_get: case-insensitive fallback at every level", run = function()
    assert_eq(deep_get(ev, "useridentity", "SESSIONCONTEXT", "sessionissuer", "USERNAME"), "admin")
    local t = { sourceIPAddress = "1.2.3.4" }
    assert_eq(deep_get(t, "sourceIpAddress"), "1.2.3.4")
  end },
  { name = "deep_get: exact key wins over a case-insensitive one", run = function()
    local t = { Name = "upper", name = "lower" }
    assert_eq(deep_get(t, "name"), "lower")
    assert_eq(deep_get(t, "Name"), "upper")
  end },
  { name = "deep_get: missing levels and non-tables give nil", run = function()
    assert(deep_get(ev, "nope") == nil)
    assert(deep_get(ev, "nope", "deeper", "still") == nil)
    assert(deep_get(ev, "userIdentity", "type", "len") == nil, "string is not descended")
    assert(deep_get(nil, "a") == nil)
    assert(deep_get("text", "a") == nil)
    assert(deep_get(42, "a") == nil)
    assert(deep_get(ev, "userIdentity", nil, "type") == nil, "nil key")
  end },
  { name = "deep_get: false values are returned, not defaulted", run = function()
    assert(deep_get(ev, "requestParameters", "enable") == false)
  end },
  { name = "deep_get: integer keys index arrays", run = function()
    assert_eq(deep_get(ev, "Records", 2, "name"), "b")
    assert_eq(deep_get(ev, "list", 3), 30)
    assert(deep_get(ev, "list", 4) == nil)
  end },
  { name = "deep_get: no key returns the table itself", run = function()
    assert(deep_get(ev) == ev)
  end },
  { name = "deep_walk: plain path behaves like deep_get", run = function()
    assert_eq(deep_walk(ev, "userIdentity", "sessionContext", "sessionIssuer", "userName"), "admin")
    assert_eq(deep_walk(ev, "USERIDENTITY", "type"), "AssumedRole")
  end },
  { name = "deep_walk: descends arrays, dedups, keeps order", run = function()
    assert_eq(deep_walk(ev, "Records", "name"), { "a", "b", "c" })
    assert_eq(deep_walk(ev, "Records", "tags"), { "x", "y", "z" }, "nested arrays flattened")
  end },
  { name = "deep_walk: one distinct value is returned bare", run = function()
    assert_eq(deep_walk(ev, "Records", "ip"), "1.1.1.1")
  end },
  { name = "deep_walk: nothing found is nil", run = function()
    assert(deep_walk(ev, "Records", "missing") == nil)
    assert(deep_walk(ev, "nope", "x") == nil)
    assert(deep_walk(nil, "x") == nil)
    assert(deep_walk(ev, "requestParameters", "empty") == nil, "empty table")
    assert(deep_walk({ a = {} }, "a") == nil, "empty array")
  end },
  { name = "deep_walk: arrays of arrays", run = function()
    assert_eq(deep_walk(ev, "matrix", "v"), { 1, 2, 3 })
  end },
  { name = "deep_walk: a final array is flattened", run = function()
    assert_eq(deep_walk(ev, "list"), { 10, 20, 30 })
    assert_eq(deep_walk({ a = { { 1, 2 }, { 2, 3 } } }, "a"), { 1, 2, 3 })
    assert_eq(deep_walk({ a = { 5 } }, "a"), 5)
  end },
  { name = "deep_walk: a final object is one value", run = function()
    local t = deep_walk(ev, "userIdentity", "sessionContext")
    assert_eq(t, { sessionIssuer = { userName = "admin" } })
  end },
  { name = "deep_walk: integer key indexes an array", run = function()
    assert_eq(deep_walk(ev, "Records", 1, "tags"), { "x", "y" })
  end },
  { name = "deep_walk: false is a value", run = function()
    assert(deep_walk({ a = { { b = false }, { b = false } } }, "a", "b") == false)
  end },
  { name = "deep_walk: tables are kept without deduplication", run = function()
    local r = deep_walk({ a = { { b = { x = 1 } }, { b = { x = 1 } } } }, "a", "b")
    assert_eq(r, { { x = 1 }, { x = 1 } })
  end },
  { name = "deep_walk: arrays with holes (JSON nulls)", run = function()
    assert_eq(deep_walk({ a = { nil, 1, nil, 2 } }, "a"), { 1, 2 })
    assert_eq(deep_walk({ a = { nil, { b = 5 } } }, "a", "b"), 5)
    local decoded = json.decode('{"a":[null,{"b":1},null,{"b":2}]}')
    assert_eq(deep_walk(decoded, "a", "b"), { 1, 2 })
  end },
  { name = "deep_walk: many values (set-based dedup)", run = function()
    local arr, want = {}, {}
    for i = 1, 40 do
      arr[i] = { v = i % 20 }
    end
    for i = 1, 20 do
      want[i] = i % 20
    end
    assert_eq(deep_walk({ a = arr }, "a", "v"), want)
  end },
  { name = "deep_walk: consecutive calls do not leak values", run = function()
    assert_eq(deep_walk(ev, "Records", "name"), { "a", "b", "c" })
    assert_eq(deep_walk({ a = { { b = 1 }, { b = 2 } } }, "a", "b"), { 1, 2 })
    assert_eq(deep_walk({ a = { { b = 7 } } }, "a", "b"), 7)
  end },
  { name = "deep_walk: the result is a new table", run = function()
    local r1 = deep_walk(ev, "Records", "name")
    local r2 = deep_walk(ev, "Records", "name")
    assert(r1 ~= r2)
    r1[1] = "changed"
    assert_eq(r2[1], "a")
  end },
  { name = "aws_cloudtrail_success: no error fields", run = function()
    assert(aws_cloudtrail_success({ eventName = "x" }) == true)
  end },
  { name = "aws_cloudtrail_success: errorCode or errorMessage set", run = function()
    assert(aws_cloudtrail_success({ errorCode = "AccessDenied" }) == false)
    assert(aws_cloudtrail_success({ errorMessage = "denied" }) == false)
    assert(aws_cloudtrail_success({ errorcode = "AccessDenied" }) == false, "case-insensitive")
  end },
  { name = "aws_cloudtrail_success: empty strings are success", run = function()
    assert(aws_cloudtrail_success({ errorCode = "", errorMessage = "" }) == true)
    assert(aws_cloudtrail_success({ errorCode = "" }) == true)
  end },
  { name = "aws_cloudtrail_success: same function as aws.cloudtrail_success", run = function()
    assert(aws.cloudtrail_success == aws_cloudtrail_success)
  end },
}
