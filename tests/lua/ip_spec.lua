-- ip_spec.lua — ip.parse/version/in_cidr/is_private/is_reserved/is_public.
-- SPDX-License-Identifier: MIT

local function parses(s, want, ver)
  local got, v = ip.parse(s)
  assert_eq(got, want, "ip.parse(" .. s .. ")")
  assert_eq(v, ver, "version of " .. s)
end

local function invalid(s)
  local got, err = ip.parse(s)
  assert(got == nil, "ip.parse should refuse " .. tostring(s))
  assert(type(err) == "string")
  assert(ip.version(s) == nil)
end

tests = {
  { name = "parse: IPv4", run = function()
    parses("1.2.3.4", "1.2.3.4", 4)
    parses("0.0.0.0", "0.0.0.0", 4)
    parses("255.255.255.255", "255.255.255.255", 4)
    parses("192.168.0.10", "192.168.0.10", 4)
  end },
  { name = "parse: bad IPv4", run = function()
    for _, s in ipairs({ "256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "01.2.3.4", "1.2.3.004",
      "1.2.3.-4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/32", "1..3.4", "a.b.c.d", "", "1234.1.1.1",
      "1.2.3.4:80", "0x1.2.3.4" }) do
      invalid(s)
    end
  end },
  { name = "parse: IPv6 full, compressed, canonical output", run = function()
    parses("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", 6)
    parses("2001:DB8::1", "2001:db8::1", 6)
    parses("::", "::", 6)
    parses("::1", "::1", 6)
    parses("1::", "1::", 6)
    parses("1:0:0:0:0:0:0:0", "1::", 6)
    parses("fe80::", "fe80::", 6)
    parses("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", 6)
    parses("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", 6, "'::' for one group")
    parses("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8", 6)
    parses("1:0:0:2:0:0:0:3", "1:0:0:2::3", 6)
    parses("1:0:0:2:0:0:3:4", "1::2:0:0:3:4", 6)
    parses("0:0:1:0:0:0:0:0", "0:0:1::", 6)
    parses("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", 6)
  end },
  { name = "parse: embedded IPv4", run = function()
    parses("::ffff:1.2.3.4", "::ffff:1.2.3.4", 6)
    parses("::FFFF:0102:0304", "::ffff:1.2.3.4", 6)
    parses("::1.2.3.4", "::102:304", 6)
    parses("64:ff9b::192.0.2.33", "64:ff9b::c000:221", 6)
    parses("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304", 6)
  end },
  { name = "parse: bad IPv6", run = function()
    for _, s in ipairs({ ":", ":::", "1:::2", "1::2::3", ":1::", "1:", ":1", "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9", "1::2:3:4:5:6:7:8", "12345::", "g::", "fe80::1%eth0", "fe80::%1", "[::1]",
      "::ffff:1.2.3", "::ffff:256.1.1.1", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:5", "1.2.3.4::",
      "::ffff:01.2.3.4", " ::1", "::1 ", "2001:db8::/32" }) do
      invalid(s)
    end
  end },
  { name = "parse and version: non-strings", run = function()
    invalid(nil)
    invalid(42)
    invalid({})
  end },
  { name = "version", run = function()
    assert_eq(ip.version("8.8.8.8"), 4)
    assert_eq(ip.version("2001:4860:4860::8888"), 6)
    assert(ip.version("dynamodb.amazonaws.com") == nil)
    assert(ip.version("AWS Internal") == nil)
  end },
  { name = "in_cidr: IPv4 boundaries", run = function()
    assert(ip.in_cidr("10.0.0.0", "10.0.0.0/8"))
    assert(ip.in_cidr("10.255.255.255", "10.0.0.0/8"))
    assert(not ip.in_cidr("11.0.0.0", "10.0.0.0/8"))
    assert(not ip.in_cidr("9.255.255.255", "10.0.0.0/8"))
    assert(ip.in_cidr("172.31.255.255", "172.16.0.0/12"))
    assert(not ip.in_cidr("172.32.0.0", "172.16.0.0/12"))
    assert(ip.in_cidr("192.168.1.7", "192.168.1.7/32"))
    assert(not ip.in_cidr("192.168.1.8", "192.168.1.7/32"))
    assert(ip.in_cidr("1.2.3.4", "0.0.0.0/0"))
    assert(ip.in_cidr("255.255.255.255", "0.0.0.0/0"))
    assert(ip.in_cidr("128.0.0.0", "128.0.0.0/1"))
    assert(not ip.in_cidr("127.255.255.255", "128.0.0.0/1"))
    assert(ip.in_cidr("203.0.113.9", "203.0.113.0/31") == false)
    assert(ip.in_cidr("203.0.113.1", "203.0.113.0/31"))
  end },
  { name = "in_cidr: host bits in the block are ignored; bare address is a host", run = function()
    assert(ip.in_cidr("10.1.2.3", "10.9.9.9/8"))
    assert(ip.in_cidr("10.1.2.3", "10.1.2.3"))
    assert(not ip.in_cidr("10.1.2.4", "10.1.2.3"))
    assert(ip.in_cidr("::1", "::1"))
  end },
  { name = "in_cidr: IPv6 boundaries", run = function()
    assert(ip.in_cidr("2001:db8::1", "2001:db8::/32"))
    assert(ip.in_cidr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32"))
    assert(not ip.in_cidr("2001:db9::", "2001:db8::/32"))
    assert(not ip.in_cidr("2001:db7:ffff::", "2001:db8::/32"))
    assert(ip.in_cidr("::", "::/0"))
    assert(ip.in_cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"))
    assert(ip.in_cidr("2001:db8::1", "2001:db8::1/128"))
    assert(not ip.in_cidr("2001:db8::2", "2001:db8::1/128"))
    assert(ip.in_cidr("2001:db8:0:0:8000::", "2001:db8::8000:0:0:0/65"))
    assert(not ip.in_cidr("2001:db8:0:0:7fff::", "2001:db8::8000:0:0:0/65"))
    assert(ip.in_cidr("2001:db8:0:0:ffff::", "2001:db8::/64"))
    assert(not ip.in_cidr("2001:db8:0:1::", "2001:db8::/64"))
    assert(ip.in_cidr("2001:db8::3", "2001:db8::2/127"))
    assert(not ip.in_cidr("2001:db8::4", "2001:db8::2/127"))
    assert(ip.in_cidr("8000::", "8000::/1"))
    assert(not ip.in_cidr("7fff::", "8000::/1"))
    assert(ip.in_cidr("fd12:3456::1", "fc00::/7"))
  end },
  { name = "in_cidr: families never mix", run = function()
    assert(not ip.in_cidr("10.0.0.1", "::/0"))
    assert(not ip.in_cidr("::ffff:10.0.0.1", "10.0.0.0/8"))
    assert(not ip.in_cidr("::1", "0.0.0.0/0"))
  end },
  { name = "in_cidr: bad input is false", run = function()
    assert(ip.in_cidr("10.0.0.1", "10.0.0.0/33") == false)
    assert(ip.in_cidr("::1", "::/129") == false)
    assert(ip.in_cidr("10.0.0.1", "10.0.0.0/") == false)
    assert(ip.in_cidr("10.0.0.1", "10.0.0.0/-1") == false)
    assert(ip.in_cidr("10.0.0.1", "10.0.0/8") == false)
    assert(ip.in_cidr("10.0.0.1", "/8") == false)
    assert(ip.in_cidr("10.0.0.1", nil) == false)
    assert(ip.in_cidr(nil, "10.0.0.0/8") == false)
    assert(ip.in_cidr("not an ip", "10.0.0.0/8") == false)
    assert(ip.in_cidr("10.0.0.1", "10.0.0.0/33") == false, "cached bad block stays bad")
  end },
  { name = "in_cidr: list of blocks", run = function()
    local blocks = { "10.0.0.0/8", "bogus", "2001:db8::/32" }
    assert(ip.in_cidr("10.2.3.4", blocks))
    assert(ip.in_cidr("2001:db8::5", blocks))
    assert(not ip.in_cidr("8.8.8.8", blocks))
    assert(not ip.in_cidr("8.8.8.8", {}))
  end },
  { name = "is_private", run = function()
    for _, s in ipairs({ "10.0.0.1", "10.255.255.255", "172.16.0.0", "172.31.255.255", "192.168.0.1",
      "fc00::1", "fdff:ffff::1", "::ffff:192.168.1.1" }) do
      assert(ip.is_private(s), s .. " is private")
    end
    for _, s in ipairs({ "9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0", "192.169.0.0",
      "100.64.0.1", "127.0.0.1", "8.8.8.8", "fe80::1", "fbff::1", "fe00::1", "::1", "2001:db8::1", "garbage",
      "" }) do
      assert(ip.is_private(s) == false, s .. " is not private")
    end
    assert(ip.is_private(nil) == false)
  end },
  { name = "is_reserved", run = function()
    for _, s in ipairs({ "0.0.0.0", "0.255.255.255", "100.64.0.0", "100.127.255.255", "127.0.0.1",
      "169.254.169.254", "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.19.255.255", "198.51.100.7",
      "203.0.113.200", "224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255", "::", "::1",
      "::1.2.3.4", "64:ff9b:1::1", "100::1", "2001:2::1", "2001:db8::1", "3fff::1", "fe80::1",
      "febf:ffff::1", "fec0::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.0.1" }) do
      assert(ip.is_reserved(s), s .. " is reserved")
    end
    for _, s in ipairs({ "1.1.1.1", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
      "169.253.255.255", "192.0.3.0", "198.17.255.255", "198.20.0.0", "223.255.255.255", "10.0.0.1",
      "192.168.1.1", "2606:4700::1111", "2001:db9::1", "fc00::1", "64:ff9b::1.2.3.4", "::ffff:8.8.8.8",
      "x", "" }) do
      assert(ip.is_reserved(s) == false, s .. " is not reserved")
    end
  end },
  { name = "is_public", run = function()
    assert(ip.is_public("8.8.8.8"))
    assert(ip.is_public("2606:4700:4700::1111"))
    assert(ip.is_public("::ffff:8.8.8.8"))
    assert(not ip.is_public("10.0.0.1"))
    assert(not ip.is_public("100.64.1.1"))
    assert(not ip.is_public("::1"))
    assert(not ip.is_public("ec2.amazonaws.com"))
    assert(not ip.is_public(nil))
  end },
}
