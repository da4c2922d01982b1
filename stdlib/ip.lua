-- ip.lua — IPv4/IPv6 address parsing, CIDR membership and address classes:
-- parse, version, in_cidr, is_private, is_reserved, is_public.
--
-- Addresses are held as three integers, (version, hi, lo): IPv4 as (4, 0, a) with a
-- the 32-bit value, IPv6 as (6, hi, lo), the two 64-bit halves; a prefix test is two
-- XOR/AND steps. Parsing uses a reused scratch array for the IPv6 groups. Both the
-- address texts and the CIDR texts are cached once parsed, since events repeat the
-- same addresses and detections pass the same CIDR literals on every event; each
-- cache is emptied when full, so event data cannot grow it without bound.
-- Accepted text: IPv4 as four decimal octets 0-255 without leading zeros ("01.2.3.4"
-- is refused: inet_aton would read it as octal); IPv6 in every RFC 4291 form (1-4
-- hex digits per group, one "::", a trailing dotted IPv4). Zone ids ("fe80::1%eth0"),
-- brackets, ports and surrounding spaces are refused.
-- Nothing here raises on bad input: invalid text is nil/false.
-- SPDX-License-Identifier: MIT

local type, tonumber = type, tonumber
local byte, find, match, format = string.byte, string.find, string.match, string.format
local concat = table.concat

local M = {}

-- parse4(s, i): the 32-bit value of the dotted quad s[i..] (i defaults to 1), or nil.
-- One anchored match and a plain search for leading zeros: cheaper than a byte loop,
-- since a dozen string.byte calls cost more than the match.
local function parse4(s, i)
  local a, b, c, d = match(s, "^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$", i)
  if not a then
    return nil
  end
  if (#a > 1 and byte(a) == 48) or find(s, "%.0%d", i) then -- a leading zero
    return nil
  end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then
    return nil
  end
  return (a << 24) | (b << 16) | (c << 8) | d
end

local HEX = {}
for i = 0, 9 do
  HEX[48 + i] = i
end
for i = 0, 5 do
  HEX[65 + i] = 10 + i
  HEX[97 + i] = 10 + i
end

local G = { 0, 0, 0, 0, 0, 0, 0, 0 } -- scratch: the eight 16-bit groups

-- parse6(s): the two 64-bit halves of an IPv6 address, or nil. Fills G.
local function parse6(s)
  local n = #s
  if n < 2 or n > 45 then -- 45 = #"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
    return nil
  end
  local i, ng, dc = 1, 0, nil -- dc: number of groups before "::"
  if byte(s, 1) == 58 then
    if byte(s, 2) ~= 58 then
      return nil
    end
    dc, i = 0, 3
  end
  while i <= n do
    local v, j = 0, i
    while true do
      local h = HEX[byte(s, j)]
      if not h then
        break
      end
      v = v * 16 + h
      j = j + 1
    end
    local c = byte(s, j)
    if c == 46 then -- '.': the rest is a dotted IPv4 filling two groups
      if ng > 6 then
        return nil
      end
      local v4 = parse4(s, i)
      if not v4 then
        return nil
      end
      G[ng + 1], G[ng + 2] = v4 >> 16, v4 & 0xffff
      ng = ng + 2
      break
    end
    if j == i or j - i > 4 or ng == 8 then
      return nil
    end
    ng = ng + 1
    G[ng] = v
    if c == nil then
      break
    end
    if c ~= 58 then
      return nil
    end
    if byte(s, j + 1) == 58 then
      if dc then
        return nil
      end
      dc, i = ng, j + 2
    else
      i = j + 1
      if i > n then -- a single trailing ':'
        return nil
      end
    end
  end
  if dc then
    if ng > 7 then -- "::" stands for at least one group
      return nil
    end
    local shift = 8 - ng
    for k = ng, dc + 1, -1 do
      G[k + shift] = G[k]
    end
    for k = dc + 1, dc + shift do
      G[k] = 0
    end
  elseif ng ~= 8 then
    return nil
  end
  return (G[1] << 48) | (G[2] << 32) | (G[3] << 16) | G[4],
    (G[5] << 48) | (G[6] << 32) | (G[7] << 16) | G[8]
end

-- parse_text(s): version, hi, lo of an address string, or nil.
local function parse_text(s)
  if find(s, ":", 1, true) then
    local hi, lo = parse6(s)
    if hi then
      return 6, hi, lo
    end
    return nil
  end
  local v = parse4(s)
  if v then
    return 4, 0, v
  end
  return nil
end

-- Parsed addresses, by text: false (invalid), the integer value (IPv4) or { hi, lo }
-- (IPv6). Events repeat the same few addresses, and a hit costs a table lookup
-- instead of a parse. Bounded like the CIDR cache.
local ADDR_CACHE_MAX = 4096
local addr_cache, addr_count = {}, 0

-- addr(s): version, hi, lo of an address string, or nil.
local function addr(s)
  local c = addr_cache[s]
  if c == nil then
    if type(s) ~= "string" then
      return nil
    end
    local ver, hi, lo = parse_text(s)
    if ver == 4 then
      c = lo
    elseif ver == 6 then
      c = { hi, lo }
    else
      c = false
    end
    if addr_count >= ADDR_CACHE_MAX then
      addr_cache, addr_count = {}, 0
    end
    addr_cache[s] = c
    addr_count = addr_count + 1
    return ver, hi, lo
  end
  if c == false then
    return nil
  end
  if type(c) == "table" then
    return 6, c[1], c[2]
  end
  return 4, 0, c
end

-- Mask of the top `len` bits of a 64-bit word (0 <= len <= 64); '>>' is logical.
local function mask64(len)
  return ~(-1 >> len)
end

-- compile(text): { version, hi, lo, mask_hi, mask_lo } for "addr/len" or a bare
-- address (a host prefix), or nil. Host bits set in addr are ignored.
local function compile(text)
  if type(text) ~= "string" then
    return nil
  end
  local a, l = match(text, "^([^/]+)/(%d%d?%d?)$")
  if not a then
    a = text
  end
  local ver, hi, lo = addr(a)
  if not ver then
    return nil
  end
  local len = l and tonumber(l) or (ver == 4 and 32 or 128)
  local mhi, mlo
  if ver == 4 then
    if len > 32 then
      return nil
    end
    mhi, mlo = 0, mask64(len) >> 32
  else
    if len > 128 then
      return nil
    end
    if len <= 64 then
      mhi, mlo = mask64(len), 0
    else
      mhi, mlo = -1, mask64(len - 64)
    end
  end
  return { ver, hi & mhi, lo & mlo, mhi, mlo }
end

local CIDR_CACHE_MAX = 1024
local BAD = {} -- cached "not a CIDR"
local cidr_cache, cidr_count = {}, 0

local function cidr(text)
  local c = cidr_cache[text]
  if c then
    return c ~= BAD and c or nil
  end
  if type(text) ~= "string" then
    return nil
  end
  c = compile(text)
  if cidr_count >= CIDR_CACHE_MAX then
    cidr_cache, cidr_count = {}, 0
  end
  cidr_cache[text] = c or BAD
  cidr_count = cidr_count + 1
  return c
end

local function within(c, ver, hi, lo)
  return c[1] == ver and ((hi ~ c[2]) & c[4]) == 0 and ((lo ~ c[3]) & c[5]) == 0
end

-- in_cidr(address, cidr): is the address inside the CIDR block? cidr may also be an
-- array of CIDR strings (true if inside any). A bare address as cidr is a host
-- prefix (/32 or /128). Different families, or invalid input, give false.
function M.in_cidr(address, block)
  local ver, hi, lo = addr(address)
  if not ver then
    return false
  end
  if type(block) == "table" then
    for i = 1, #block do
      local c = cidr(block[i])
      if c and within(c, ver, hi, lo) then
        return true
      end
    end
    return false
  end
  local c = cidr(block)
  return c ~= nil and within(c, ver, hi, lo)
end

-- version(s): 4, 6, or nil when s is not an address.
function M.version(s)
  return (addr(s))
end

-- The text of (hi, lo) per RFC 5952: lower case, no leading zeros, the longest run of
-- two or more zero groups (the first on a tie) as "::", and "::ffff:a.b.c.d" for
-- IPv4-mapped addresses.
local function text6(hi, lo)
  if hi == 0 and (lo >> 32) == 0xffff then
    local v = lo & 0xffffffff
    return format("::ffff:%d.%d.%d.%d", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255)
  end
  local g = {}
  for k = 0, 3 do
    g[k + 1] = (hi >> (48 - 16 * k)) & 0xffff
    g[k + 5] = (lo >> (48 - 16 * k)) & 0xffff
  end
  local best, bestlen, run, runlen = 0, 0, 0, 0
  for k = 1, 8 do
    if g[k] == 0 then
      if runlen == 0 then
        run = k
      end
      runlen = runlen + 1
      if runlen > bestlen then
        best, bestlen = run, runlen
      end
    else
      runlen = 0
    end
  end
  if bestlen < 2 then
    best = 0
  end
  local parts, n, k = {}, 0, 1
  while k <= 8 do
    if k == best then
      n = n + 1
      parts[n] = (k == 1) and ":" or ""
      k = k + bestlen
      if k > 8 then
        n = n + 1
        parts[n] = ""
      end
    else
      n = n + 1
      parts[n] = format("%x", g[k])
      k = k + 1
    end
  end
  return concat(parts, ":")
end

-- parse(s): the canonical text and the version (4 or 6) of an address, or
-- nil, "invalid IP address". IPv4 text is dotted decimal; IPv6 follows RFC 5952.
function M.parse(s)
  local ver, hi, lo = addr(s)
  if not ver then
    return nil, "invalid IP address"
  end
  if ver == 4 then
    return format("%d.%d.%d.%d", lo >> 24, (lo >> 16) & 255, (lo >> 8) & 255, lo & 255), 4
  end
  return text6(hi, lo), 6
end

-- by_family(list): the compiled blocks of list, split as { [4] = {...}, [6] = {...} }.
local function by_family(list)
  local out = { [4] = {}, [6] = {} }
  for i = 1, #list do
    local c = assert(compile(list[i]), list[i])
    local fam = out[c[1]]
    fam[#fam + 1] = c
  end
  return out
end

local PRIVATE = by_family({
  "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", -- RFC 1918
  "fc00::/7", -- RFC 4193 unique local
})

local RESERVED = by_family({
  "0.0.0.0/8", -- "this network" (RFC 791)
  "100.64.0.0/10", -- shared address space, carrier-grade NAT (RFC 6598)
  "127.0.0.0/8", -- loopback
  "169.254.0.0/16", -- link-local
  "192.0.0.0/24", -- IETF protocol assignments (RFC 6890)
  "192.0.2.0/24", -- TEST-NET-1 (RFC 5737)
  "198.18.0.0/15", -- benchmarking (RFC 2544)
  "198.51.100.0/24", -- TEST-NET-2
  "203.0.113.0/24", -- TEST-NET-3
  "224.0.0.0/4", -- multicast
  "240.0.0.0/4", -- reserved for future use, includes 255.255.255.255
  "::/128", -- unspecified
  "::1/128", -- loopback
  "::/96", -- IPv4-compatible (deprecated, RFC 4291)
  "64:ff9b:1::/48", -- local-use IPv4/IPv6 translation (RFC 8215)
  "100::/64", -- discard-only (RFC 6666)
  "2001:2::/48", -- benchmarking (RFC 5180)
  "2001:db8::/32", -- documentation (RFC 3849)
  "3fff::/20", -- documentation (RFC 9637)
  "fe80::/10", -- link-local
  "fec0::/10", -- site-local (deprecated, RFC 3879)
  "ff00::/8", -- multicast
})

-- classify(s): version, hi, lo with IPv4-mapped IPv6 (::ffff:a.b.c.d) turned into
-- the IPv4 address it carries, or nil.
local function classify(s)
  local ver, hi, lo = addr(s)
  if ver == 6 and hi == 0 and (lo >> 32) == 0xffff then
    return 4, 0, lo & 0xffffffff
  end
  return ver, hi, lo
end

local function in_list(lists, ver, hi, lo)
  local list = lists[ver]
  for i = 1, #list do
    if within(list[i], ver, hi, lo) then
      return true
    end
  end
  return false
end

-- is_private(s): RFC 1918 IPv4 or RFC 4193 IPv6 unique-local. CGNAT is reserved.
function M.is_private(s)
  local ver, hi, lo = classify(s)
  return ver ~= nil and in_list(PRIVATE, ver, hi, lo)
end

-- is_reserved(s): special-purpose addresses that are neither private nor public
-- (loopback, link-local, multicast, documentation, CGNAT...; see docs/stdlib.md).
function M.is_reserved(s)
  local ver, hi, lo = classify(s)
  return ver ~= nil and in_list(RESERVED, ver, hi, lo)
end

-- is_public(s): a valid address that is neither private nor reserved.
function M.is_public(s)
  local ver, hi, lo = classify(s)
  return ver ~= nil and not in_list(PRIVATE, ver, hi, lo) and not in_list(RESERVED, ver, hi, lo)
end

return M
