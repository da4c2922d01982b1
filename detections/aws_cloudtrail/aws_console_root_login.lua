-- AWS.Console.RootLogin: a successful console login as the root user (CIS 3.6).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_console_root_login.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_console_root_login.tests.json.

id = "AWS.Console.RootLogin"
display_name = "Root Console Login"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 15
threshold = 1
reports = { CIS = { "3.6" }, ["MITRE ATT&CK"] = { "TA0004:T1078" } }
tags = {
  "AWS", "Identity & Access Management", "Authentication", "DemoThreatHunting",
  "Privilege Escalation:Valid Accounts",
}

match = {
  eventName = "ConsoleLogin",
  ["userIdentity.type"] = "Root",
  ["responseElements.ConsoleLogin"] = "Success",
}

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

-- "<ip> in <city>, <region> in <country>" from the IPinfo location enrichment that a
-- source attaches under p_enrichment.ipinfo_location.<field>. A global so that tests can
-- mock it, as upstream's do. Unlike upstream (which raises), an event without enrichment
-- gets the bare address.
function geoinfo_from_ip_formatted(e, field)
  local addr = text(e[field])
  local loc = deep_get(e, "p_enrichment", "ipinfo_location", field)
  if type(loc) ~= "table" then
    return addr
  end
  return addr .. " in " .. text(loc.city) .. ", " .. text(loc.region) .. " in " .. text(loc.country)
end

function rule(e)
  return e.eventName == "ConsoleLogin"
    and deep_get(e, "userIdentity", "type") == "Root"
    and deep_get(e, "responseElements", "ConsoleLogin") == "Success"
end

function title(e)
  local where = text(geoinfo_from_ip_formatted(e, "sourceIPAddress"))
  return "AWS root login detected from (" .. where .. ") in account [" ..
    text(e.recipientAccountId) .. "]"
end

-- Unique per login on purpose: every root login is an alert of its own.
function dedup(e)
  return text(e.recipientAccountId) .. "-" .. text(e.eventName) .. "-" .. text(e.eventTime)
end

function alert_context(e)
  return {
    sourceIPAddress = e.sourceIPAddress,
    userIdentityAccountId = deep_get(e, "userIdentity", "accountId"),
    userIdentityArn = deep_get(e, "userIdentity", "arn"),
    eventTime = e.eventTime,
    mfaUsed = deep_get(e, "additionalEventData", "MFAUsed"),
  }
end

-- Cases beyond the upstream events (those are in the sidecar).
local function root_login(enrichment)
  return {
    eventName = "ConsoleLogin",
    eventTime = "2024-05-01T10:00:00Z",
    sourceIPAddress = "198.51.100.7",
    recipientAccountId = "123456789012",
    responseElements = { ConsoleLogin = "Success" },
    userIdentity = {
      type = "Root", accountId = "123456789012", arn = "arn:aws:iam::123456789012:root",
    },
    p_enrichment = enrichment,
  }
end

tests = {
  { name = "location from the IPinfo enrichment", expect = true,
    event = root_login({ ipinfo_location = { sourceIPAddress = {
      p_match = "198.51.100.7", city = "Auckland", region = "Auckland", country = "NZ" } } }),
    title = "AWS root login detected from (198.51.100.7 in Auckland, Auckland in NZ) " ..
      "in account [123456789012]",
    dedup = "123456789012-ConsoleLogin-2024-05-01T10:00:00Z" },
  { name = "no enrichment: the bare address", expect = true, event = root_login(nil),
    title = "AWS root login detected from (198.51.100.7) in account [123456789012]" },
}
