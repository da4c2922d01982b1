-- strings.lua — nil-safe string predicates and helpers for detections:
-- starts_with, ends_with, contains, glob, split, trim.
--
-- Predicates return false (never raise) when an argument is not a string, so they
-- can be fed event fields that may be missing. Matching is plain (no Lua pattern
-- magic) except glob, whose shell-style pattern is translated once into star-free Lua
-- patterns and cached by pattern text; a match is then linear in the subject for a
-- given pattern (see glob_compile). The cache is bounded: when it holds
-- GLOB_CACHE_MAX patterns it is emptied, so a detection building patterns from event
-- data cannot grow it without limit.
-- SPDX-License-Identifier: MIT

local type, error = type, error
local sub, find, byte, char, gmatch = string.sub, string.find, string.byte, string.char, string.gmatch
local concat = table.concat
local utf8_char = utf8.charpattern

local M = {}

-- starts_with(s, p): does s begin with p?
function M.starts_with(s, p)
  if type(s) ~= "string" or type(p) ~= "string" then
    return false
  end
  return sub(s, 1, #p) == p
end

-- ends_with(s, p): does s end with p?
function M.ends_with(s, p)
  if type(s) ~= "string" or type(p) ~= "string" then
    return false
  end
  local n = #p
  if n == 0 then
    return true
  end
  return n <= #s and sub(s, -n) == p
end

-- contains(s, x): is x a substring of s (plain text, no patterns)?
function M.contains(s, x)
  if type(s) ~= "string" or type(x) ~= "string" then
    return false
  end
  return find(s, x, 1, true) ~= nil
end

-- Glob translation. Outside a class every byte that is not alphanumeric is escaped
-- with '%', which Lua reads as the literal byte; inside a class, ranges are expanded
-- into their member bytes so no endpoint can collide with '%', ']' or '^'.
local function lit(c)
  if find(c, "^%w$") then
    return c
  end
  return "%" .. c
end

-- Parses the class opening at p[i] == '['. Returns the Lua set and the index after
-- the closing ']', or nil when the class is not closed ('[' is then literal).
local function glob_class(p, i, len)
  local j = i + 1
  local neg = false
  local c = sub(p, j, j)
  if c == "!" or c == "^" then
    neg = true
    j = j + 1
  end
  local parts, n, first = {}, 0, true
  while j <= len do
    c = sub(p, j, j)
    if c == "]" and not first then
      if n == 0 then -- only reversed ranges such as [z-a]: the set is empty
        return neg and "." or "[^\0-\255]", j + 1
      end
      return "[" .. (neg and "^" or "") .. concat(parts) .. "]", j + 1
    end
    first = false
    if c == "\\" and j < len then
      j = j + 1
      c = sub(p, j, j)
    end
    local hi = sub(p, j + 2, j + 2)
    if sub(p, j + 1, j + 1) == "-" and hi ~= "" and hi ~= "]" then
      local a, b = byte(c), byte(hi)
      for x = a, b do
        n = n + 1
        parts[n] = lit(char(x))
      end
      j = j + 3
    else
      n = n + 1
      parts[n] = lit(c)
      j = j + 1
    end
  end
  return nil
end

-- glob_compile(p): the pattern cut at its '*'s into star-free Lua patterns:
-- { whole } when p has no '*', else { first, middle..., last, star = true } where
-- first is "^seg" or false (p starts with '*'), last is "seg$" or false (p ends
-- with '*'), and each middle segment is unanchored.
-- Matching one Lua pattern holding k '.*' backtracks in O(n^k): "*a*a*a*b" against
-- 400 bytes of "a" took seconds, inside C where the instruction budget cannot stop
-- it. Segments carry no '*', so glob_match places each one with a single find, the
-- leftmost place after the previous one (always the right choice between stars),
-- which bounds a match to O(#s * #p).
local function glob_compile(p)
  local segs, nseg = {}, 0
  local cur, n = {}, 0
  local i, len = 1, #p
  local star = false
  while i <= len do
    local c = sub(p, i, i)
    local piece
    if c == "*" then
      while sub(p, i + 1, i + 1) == "*" do
        i = i + 1
      end
      nseg = nseg + 1
      segs[nseg] = concat(cur, "", 1, n)
      n = 0
      star = true
      i = i + 1
    else
      if c == "?" then
        piece = utf8_char
        i = i + 1
      elseif c == "[" then
        local set, nexti = glob_class(p, i, len)
        if set then
          piece, i = set, nexti
        else
          piece, i = "%[", i + 1
        end
      elseif c == "\\" and i < len then
        piece = lit(sub(p, i + 1, i + 1))
        i = i + 2
      else
        piece = lit(c)
        i = i + 1
      end
      n = n + 1
      cur[n] = piece
    end
  end
  local tail = concat(cur, "", 1, n)
  if not star then
    return { "^" .. tail .. "$" }
  end
  local g, k = { star = true }, 1
  g[1] = segs[1] ~= "" and "^" .. segs[1] or false
  for j = 2, nseg do
    k = k + 1
    g[k] = segs[j]
  end
  g[k + 1] = tail ~= "" and tail .. "$" or false
  return g
end

local function glob_match(g, s)
  if not g.star then
    return find(s, g[1]) ~= nil
  end
  local pos, last = 1, #g
  if g[1] then
    local _, e = find(s, g[1])
    if not e then
      return false
    end
    pos = e + 1
  end
  for j = 2, last - 1 do
    local _, e = find(s, g[j], pos)
    if not e then
      return false
    end
    pos = e + 1
  end
  if g[last] then
    return find(s, g[last], pos) ~= nil
  end
  return true
end

local GLOB_CACHE_MAX = 1024
local glob_cache, glob_count = {}, 0

-- glob(pattern, s): does the whole of s match the shell-style pattern?
-- '*' any run of bytes (also '/' and empty), '?' one UTF-8 character, '[abc]',
-- '[a-z]', '[!a]' or '[^a]' one byte from (or not from) the set, '\x' a literal x.
function M.glob(pattern, s)
  if type(pattern) ~= "string" or type(s) ~= "string" then
    return false
  end
  local g = glob_cache[pattern]
  if not g then
    g = glob_compile(pattern)
    if glob_count >= GLOB_CACHE_MAX then
      glob_cache, glob_count = {}, 0
    end
    glob_cache[pattern] = g
    glob_count = glob_count + 1
  end
  return glob_match(g, s)
end

-- split(s, sep): the pieces of s between occurrences of the plain separator sep,
-- empty pieces included ("a,,b" -> {"a", "", "b"}, "" -> {""}). Without sep, the
-- runs of non-whitespace ("  a b " -> {"a", "b"}). A non-string s gives {}.
function M.split(s, sep)
  local out, n = {}, 0
  if type(s) ~= "string" then
    return out
  end
  if sep == nil then
    for w in gmatch(s, "%S+") do
      n = n + 1
      out[n] = w
    end
    return out
  end
  if type(sep) ~= "string" or sep == "" then
    error("bad argument #2 to 'split' (non-empty string expected)", 2)
  end
  local pos = 1
  while true do
    local a, b = find(s, sep, pos, true)
    if not a then
      break
    end
    n = n + 1
    out[n] = sub(s, pos, a - 1)
    pos = b + 1
  end
  out[n + 1] = sub(s, pos)
  return out
end

-- trim(s): s without leading and trailing whitespace (space, \t, \n, \v, \f, \r).
-- A non-string is returned unchanged, so trim(nil) is nil.
function M.trim(s)
  if type(s) ~= "string" then
    return s
  end
  local i = find(s, "%S")
  if not i then
    return ""
  end
  local len = #s
  local j = len
  while true do
    local c = byte(s, j)
    if c ~= 32 and (c < 9 or c > 13) then
      break
    end
    j = j - 1
  end
  if i == 1 and j == len then
    return s
  end
  return sub(s, i, j)
end

return M
