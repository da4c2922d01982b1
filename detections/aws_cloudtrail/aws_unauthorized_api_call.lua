-- AWS.CloudTrail.UnauthorizedAPICall: API calls denied with AccessDenied (CIS 3.1).
-- A signal: it labels matching events for correlation but never creates an alert.
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_unauthorized_api_call.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_unauthorized_api_call.tests.json.

id = "AWS.CloudTrail.UnauthorizedAPICall"
display_name = "Monitor Unauthorized API Calls"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
create_alert = false
-- Kept for the day it becomes an alerting rule: 20 denials by one actor per day.
dedup_minutes = 1440
threshold = 20
reports = { CIS = { "3.1" }, ["MITRE ATT&CK"] = { "TA0007:T1526" } }
tags = { "AWS", "Discovery:Cloud Service Discovery" }

match = { errorCode = "AccessDenied" }

-- Denials of these calls are routine noise.
local IGNORED_EVENTS = { DescribeEventAggregates = true, ListResourceTags = true }

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

-- MISP warning-list enrichment: is this address on the "amazon-aws" list? Matches sit
-- under p_enrichment.misp_warning_lists.p_any_ip_addresses as an array of
-- { p_match = <address>, warning_lists = { { id = <list id>, ... }, ... } }.
local function known_amazon_address(e, addr)
  local matches = deep_get(e, "p_enrichment", "misp_warning_lists", "p_any_ip_addresses")
  if type(matches) ~= "table" then
    return false
  end
  for _, entry in ipairs(matches) do
    local lists = type(entry) == "table" and entry.p_match == addr and entry.warning_lists
    if type(lists) == "table" then
      for _, list in ipairs(lists) do
        if type(list) == "table" and list.id == "amazon-aws" then
          return true
        end
      end
    end
  end
  return false
end

function rule(e)
  local addr = e.sourceIPAddress
  -- Calls made by AWS service principals carry a host name, not an address.
  if type(addr) ~= "string" or ip.version(addr) == nil then
    return false
  end
  if known_amazon_address(e, addr) then
    return false
  end
  return e.errorCode == "AccessDenied" and not IGNORED_EVENTS[e.eventName]
end

function dedup(e)
  return aws.actor_user(e)
end

function title(e)
  return "Access denied to " .. text(deep_get(e, "userIdentity", "type")) .. " [" ..
    text(aws.actor_user(e)) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

-- Cases beyond the upstream events (those are in the sidecar).
local function denied(addr, enrichment)
  return {
    eventName = "GetRole",
    eventSource = "iam.amazonaws.com",
    errorCode = "AccessDenied",
    sourceIPAddress = addr,
    recipientAccountId = "123456789012",
    userIdentity = { type = "IAMUser", userName = "tester" },
    p_enrichment = enrichment,
  }
end
local AMAZON = { misp_warning_lists = { p_any_ip_addresses = {
  { p_match = "3.10.107.144", warning_lists = { { id = "amazon-aws", name = "Amazon AWS" } } },
} } }
local twenty = {}
for i = 1, 20 do twenty[i] = denied("198.51.100.7") end

tests = {
  { name = "denial from an address on the amazon-aws warning list", expect = false,
    event = denied("3.10.107.144", AMAZON) },
  { name = "warning list entry for another address does not apply", expect = true,
    event = denied("198.51.100.7", AMAZON), title = "Access denied to IAMUser [tester]" },
  { name = "IPv6 source address", expect = true, event = denied("2001:db8::1") },
  { name = "routine noisy call is ignored", expect = false,
    event = { eventName = "DescribeEventAggregates", errorCode = "AccessDenied",
      sourceIPAddress = "198.51.100.7",
      userIdentity = { type = "IAMUser", userName = "tester" } } },
  { name = "a signal: 20 denials make no alert", events = twenty, expect_alerts = 0 },
}
