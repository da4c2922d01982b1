-- prelude.lua — the helpers every detection sees as plain globals: deep_get,
-- deep_walk and aws_cloudtrail_success.
--
-- The engine copies the entries of the table returned here into each sandbox's
-- globals; other stdlib modules reach them with `require "prelude"`. All three run on
-- the hot path, so the common case allocates nothing: keys are read from the varargs
-- in place, and deep_walk collects into a reused scratch array, only building a
-- result table when it finds two or more distinct values.
-- Key lookup is exact first, then case-insensitive. Event proxies already resolve
-- keys case-insensitively in C, so the Lua fallback (a scan of the keys) only runs on
-- tables without a metatable: the plain tables that tests, json.decode and detection
-- code build. Tables with a metatable are trusted to do their own lookup.
-- SPDX-License-Identifier: MIT

local type, next, pairs, select, getmetatable = type, next, pairs, select, getmetatable
local lower = string.lower
local move = table.move

-- One step of a lookup: t[k], then a case-insensitive match among the string keys of
-- a plain table. When two keys differ only in case, which one wins is unspecified.
local function get(t, k)
  local v = t[k]
  if v ~= nil or type(k) ~= "string" or getmetatable(t) ~= nil then
    return v
  end
  local n, lk = #k, nil
  for key, val in next, t do
    if type(key) == "string" and #key == n then
      lk = lk or lower(k)
      if lower(key) == lk then
        return val
      end
    end
  end
  return nil
end

-- deep_get(t, k1, k2, ...): t[k1][k2]... or nil as soon as a level is missing or is
-- not a table. With no key, returns t.
local function deep_get(t, ...)
  for i = 1, select("#", ...) do
    if type(t) ~= "table" then
      return nil
    end
    local k = select(i, ...)
    if k == nil then
      return nil
    end
    t = get(t, k)
    if t == nil then
      return nil
    end
  end
  return t
end

-- deep_walk state: found values go to `scratch` (reused across calls, cleared after
-- each one so it never keeps an event value alive). Scalars are deduplicated, by a
-- linear scan of the first SEEN_LINEAR values, then by a set built on demand. Tables
-- are kept as found: event proxies are fresh userdata on every read, so identity says
-- nothing, and comparing structures would cost more than the walk.
local scratch = {}
local SEEN_LINEAR = 8

local function add(cnt, seen, v)
  if type(v) == "table" or v ~= v then -- tables and NaN: no deduplication
    cnt = cnt + 1
    scratch[cnt] = v
    return cnt, seen
  end
  if seen then
    if seen[v] then
      return cnt, seen
    end
    seen[v] = true
  else
    for i = 1, cnt do
      if scratch[i] == v then
        return cnt, seen
      end
    end
    if cnt >= SEEN_LINEAR then
      seen = {}
      for i = 1, cnt do
        local x = scratch[i]
        if x == x and type(x) ~= "table" then
          seen[x] = true
        end
      end
      seen[v] = true
    end
  end
  cnt = cnt + 1
  scratch[cnt] = v
  return cnt, seen
end

-- walk(node, i, n, cnt, seen, k1..kn): node is the non-nil value reached after
-- keys 1..i-1. An array (a table with #t > 0) is descended element by element at the
-- same depth, unless the next key is a number, which indexes it. At the end of the
-- path, arrays are flattened and empty tables count as nothing found.
-- Tables with a metatable (event proxies, read-only views) are iterated with pairs:
-- indexing an event array by position walks it from the start each time, pairs does
-- not. Their integer keys come in order and JSON nulls are skipped.
local function walk(node, i, n, cnt, seen, ...)
  local tnode = type(node) == "table"
  if tnode and #node > 0 and (i > n or type((select(i, ...))) ~= "number") then
    if getmetatable(node) ~= nil then
      for j, v in pairs(node) do
        if type(j) == "number" then
          cnt, seen = walk(v, i, n, cnt, seen, ...)
        end
      end
    else
      for j = 1, #node do
        local v = node[j]
        if v ~= nil then
          cnt, seen = walk(v, i, n, cnt, seen, ...)
        end
      end
    end
    return cnt, seen
  end
  if i > n then
    if tnode and next(node) == nil then
      return cnt, seen
    end
    return add(cnt, seen, node)
  end
  if not tnode then
    return cnt, seen
  end
  local k = select(i, ...)
  if k == nil then
    return cnt, seen
  end
  local v = get(node, k)
  if v == nil then
    return cnt, seen
  end
  return walk(v, i + 1, n, cnt, seen, ...)
end

-- deep_walk(t, k1, k2, ...): like deep_get, but arrays met on the way are walked
-- into. Returns nil when nothing is found, the value when exactly one distinct value
-- is found, else an array of the values in the order found, scalars deduplicated.
local function deep_walk(t, ...)
  if t == nil then
    return nil
  end
  local cnt = walk(t, 1, select("#", ...), 0, nil, ...)
  if cnt == 0 then
    return nil
  end
  local out
  if cnt == 1 then
    out = scratch[1]
  else
    out = move(scratch, 1, cnt, 1, {})
  end
  for i = 1, cnt do
    scratch[i] = nil
  end
  return out
end

-- aws_cloudtrail_success(e): false when errorCode or errorMessage holds a value
-- other than nil and "" (the call failed), true otherwise.
local function aws_cloudtrail_success(e)
  if type(e) ~= "table" then
    return true
  end
  local v = get(e, "errorCode")
  if v ~= nil and v ~= "" then
    return false
  end
  v = get(e, "errorMessage")
  return v == nil or v == ""
end

return {
  deep_get = deep_get,
  deep_walk = deep_walk,
  aws_cloudtrail_success = aws_cloudtrail_success,
}
