-- triage_spec.lua — the triage story's pure decisions: login mapping, IP and device
-- checks, recent MFA factors, scoring.
-- SPDX-License-Identifier: MIT

local function assumed(arn, pid)
  return { userIdentity = { type = "AssumedRole", arn = arn, principalId = pid } }
end

tests = {
  { name = "okta_login: SSO session name that is an e-mail", run = function()
    local e = assumed("arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0a1b/jane@acme.com", "AROA1:jane@acme.com")
    assert_eq({ triage.okta_login(e) }, { "jane@acme.com", "name" })
  end },
  { name = "okta_login: bare names get the domain; explicit map wins", run = function()
    local e = assumed("arn:aws:sts::1:assumed-role/Deploy/jdoe", "AROA1:jdoe")
    assert_eq({ triage.okta_login(e, { domain = "acme.com" }) }, { "jdoe@acme.com", "name+domain" })
    assert_eq({ triage.okta_login(e, { domain = "acme.com", users = { jdoe = "john.doe@acme.com" } }) },
      { "john.doe@acme.com", "map" })
    assert_eq({ triage.okta_login(e, { users = { ["arn:aws:sts::1:assumed-role/Deploy/jdoe"] = "j@acme.com" } }) },
      { "j@acme.com", "map" })
    local iam = { userIdentity = { type = "IAMUser", userName = "alice", arn = "arn:aws:iam::1:user/alice" } }
    assert_eq(triage.okta_login(iam, { domain = "acme.com" }), "alice@acme.com")
    local idc = { userIdentity = { type = "IdentityCenterUser" }, additionalEventData = { UserName = "bob@acme.com" } }
    assert_eq(triage.okta_login(idc), "bob@acme.com")
  end },
  { name = "okta_login: no mapping gives nil and a reason", run = function()
    local login, why = triage.okta_login(assumed("arn:aws:sts::1:assumed-role/Deploy/ci-runner", "AROA1:ci-runner"))
    assert(login == nil)
    assert_eq(why, "'ci-runner' is not a login and no domain is configured")
    login, why = triage.okta_login({ userIdentity = { type = "AWSService", invokedBy = "s3.amazonaws.com" } }, { domain = "a" })
    assert(login == nil and why == "no user name in the CloudTrail identity (type AWSService)", why)
  end },
  { name = "ip_check: exact match in canonical form", run = function()
    assert_eq(triage.ip_check("81.2.69.142", { "10.0.0.1", "81.2.69.142" }), "Passed")
    assert_eq(triage.ip_check("2001:DB8:0:0::1", { "2001:db8::1" }), "Passed", "IPv6 spellings")
    assert_eq(triage.ip_check("81.2.69.143", { "81.2.69.142" }), "Failed")
    assert_eq(triage.ip_check("81.2.69.142", {}), "Failed", "no recent sign-ins")
  end },
  { name = "ip_check: Unknown when the lookup failed or the source is a service", run = function()
    assert_eq(triage.ip_check("81.2.69.142", nil), "Unknown")
    assert_eq(triage.ip_check("s3.amazonaws.com", { "81.2.69.142" }), "Unknown")
    assert_eq(triage.ip_check("AWS Internal", {}), "Unknown")
  end },
  { name = "platform: browsers and AWS SDK/CLI user agents", run = function()
    assert_eq(triage.platform("aws-cli/2.15.0 Python/3.11.6 Darwin/23.1.0 exe/x86_64"), "MACOS")
    assert_eq(triage.platform("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.15"), "LINUX")
    assert_eq(triage.platform("aws-cli/2.13 Python/3.11 Windows/10 exe/AMD64"), "WINDOWS")
    assert_eq(triage.platform("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit"), "IOS")
    assert_eq(triage.platform("Mozilla/5.0 (Linux; Android 14; Pixel 8)"), "ANDROID")
    assert_eq(triage.platform("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0)"), "CHROMEOS")
    assert_eq(triage.platform("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"), "MACOS")
    assert(triage.platform("AWS Internal") == nil)
    assert(triage.platform("scenarios-tool/1.0") == nil, "'ios' inside a word does not count")
    assert(triage.platform(nil) == nil)
  end },
  { name = "device_check: an active device of the user agent's platform", run = function()
    local devs = { { status = "ACTIVE", platform = "WINDOWS" }, { status = "SUSPENDED", platform = "MACOS" } }
    assert_eq(triage.device_check(devs, "aws-cli/2 Windows/10"), "Passed")
    assert_eq(triage.device_check(devs, "aws-cli/2 Darwin/23.1.0"), "Failed", "the Mac is not active")
    assert_eq(triage.device_check(devs, "AWS Internal"), "Passed", "any active device when the platform is unknown")
    assert_eq(triage.device_check({}, "AWS Internal"), "Failed", "no device at all")
    assert_eq(triage.device_check(nil, "aws-cli/2 Windows/10"), "Unknown")
  end },
  { name = "recent_factor: factors created within the window", run = function()
    local now = time.parse("2024-10-31T12:00:00Z")
    local old = { created = "2024-01-01T00:00:00.000Z" }
    local new = { created = "2024-10-31T09:30:00.000Z" }
    assert_eq(triage.recent_factor({ old }, now), false)
    assert_eq(triage.recent_factor({ old, new }, now), true)
    assert_eq(triage.recent_factor({ new }, now, 2), false, "outside a 2 h window")
    assert_eq(triage.recent_factor({ { created = "garbage" } }, now), false)
    assert(triage.recent_factor(nil, now) == nil)
  end },
  { name = "yes_no", run = function()
    assert_eq({ triage.yes_no(true), triage.yes_no(false), triage.yes_no(nil) }, { "True", "False", "Unknown" })
  end },
  { name = "score: passes lower, failures raise, clamped to LOW..CRITICAL", run = function()
    local all_pass = { ip = "Passed", device = "Passed", on_call = "True", reputation = "Clean", new_factor = "False" }
    local sev, pts, why = triage.score("MEDIUM", all_pass)
    assert_eq({ sev, pts }, { "LOW", -3 })
    assert_eq(why, { "device Passed -1", "ip Passed -1", "on_call True -1" })
    assert_eq(triage.score("CRITICAL", all_pass), "LOW")
    assert_eq(triage.score("HIGH", { ip = "Passed" }), "MEDIUM")
    local all_fail = { ip = "Failed", device = "Failed", on_call = "False" }
    assert_eq({ triage.score("LOW", all_fail) }, { "CRITICAL", 3, { "device Failed +1", "ip Failed +1", "on_call False +1" } })
    assert_eq(triage.score("MEDIUM", { ip = "Failed", device = "Failed" }), "CRITICAL")
    assert_eq(triage.score("MEDIUM", { ip = "Failed" }), "HIGH")
    assert_eq(triage.score("MEDIUM", { reputation = "Bad" }), "CRITICAL")
    assert_eq(triage.score("MEDIUM", { new_factor = "True" }), "HIGH")
  end },
  { name = "score: Unknown never moves; INFO may stay INFO; weights overridable", run = function()
    local unknown = { ip = "Unknown", device = "Unknown", on_call = "Unknown", reputation = "Unknown", new_factor = "Unknown" }
    assert_eq({ triage.score("MEDIUM", unknown) }, { "MEDIUM", 0, {} })
    assert_eq(triage.score("INFO", { ip = "Passed" }), "INFO")
    assert_eq(triage.score("INFO", { ip = "Failed" }), "LOW")
    assert_eq(triage.score("bogus", {}), "MEDIUM", "an unknown base counts as MEDIUM")
    assert_eq(triage.score("LOW", { ip = "Failed" }, { ip = { Failed = 3 } }), "CRITICAL")
  end },
}
