-- Many failed logins for one user (multi-log-type "Standard" rule).
-- Conformance port of Panther's Standard.BruteForceByUser, written from the English spec.
-- Upstream is driven by per-log-type data models; lp0 implements the two log types it
-- has models for (Okta.SystemLog, AWS.CloudTrail). Events of the other listed log types
-- never match. The prefilter is per log type: CloudTrail events reach the rule only
-- when they are console logins (Okta has no exact-match field to filter on).

id = "Standard.BruteForceByUser"
log_types = {
  "Asana.Audit", "Atlassian.Audit", "AWS.CloudTrail", "Box.Event", "GSuite.ActivityEvent",
  "Okta.SystemLog", "OneLogin.Events", "OnePassword.SignInAttempt",
}
default_severity = "INFO"
display_name = "Brute Force By User"
enabled = true
dedup_minutes = 60
threshold = 20
reports = { ["MITRE ATT&CK"] = { "TA0006:T1110" } }
tags = { "DataModel", "Credential Access:Brute Force" }
match = { ["AWS.CloudTrail"] = { eventName = "ConsoleLogin" } }

-- The data models, log-type guess, parse delay and geolocation context are shared
-- with the other Standard login rule: see lib/standard_models.lua.
local std = require "standard_models"

-- IP geolocation helper. lp0 has no IPinfo enrichment, so the lookup finds nothing;
-- tests mock it with the JSON text upstream uses. Returns a table, JSON text or nil.
function geoinfo_from_ip(_, _)
  return nil
end

function rule(e)
  return std.failed_login(e)
end

function title(e)
  local lt = std.log_type(e)
  local model = std.MODELS[lt]
  return string.format("%s: User [%s] has exceeded the failed logins threshold%s",
    std.py(lt), std.py(model.actor_user(e)), model.suffix(e))
end

function alert_context(e)
  return std.geo_context(e, geoinfo_from_ip)
end

tests = {
  {
    name = "CloudTrail - failed console login (lp0 model)",
    log_type = "AWS.CloudTrail",
    expect = true,
    event = {
      eventVersion = "1.05", eventTime = "2019-01-01T00:00:00Z",
      userIdentity = { type = "IAMUser", principalId = "1111", accountId = "123456789012",
        arn = "arn:aws:iam::123456789012:user/tester", userName = "tester" },
      eventSource = "signin.amazonaws.com", eventName = "ConsoleLogin", awsRegion = "us-east-1",
      sourceIPAddress = "111.111.111.111", userAgent = "Mozilla",
      responseElements = { ConsoleLogin = "Failure" }, eventType = "AwsConsoleSignIn",
      recipientAccountId = "123456789012", p_log_type = "AWS.CloudTrail",
    },
    title = "AWS.CloudTrail: User [tester] has exceeded the failed logins threshold in [123456789012]",
    context = { geolocation = "None, None in None", reverse_lookup = "No reverse lookup hostname",
      ip_org = "No organization listed" },
  },
  {
    name = "CloudTrail - successful console login",
    log_type = "AWS.CloudTrail",
    expect = false,
    event = { eventSource = "signin.amazonaws.com", eventName = "ConsoleLogin",
      responseElements = { ConsoleLogin = "Success" }, sourceIPAddress = "111.111.111.111",
      p_log_type = "AWS.CloudTrail" },
  },
  {
    name = "Okta - failed login without p_log_type, no enrichment",
    log_type = "Okta.SystemLog",
    expect = true,
    event = { eventType = "user.session.start", actor = { alternateId = "admin" },
      client = { ipAddress = "198.51.100.7" }, outcome = { result = "FAILURE" } },
    title = "Okta.SystemLog: User [admin] has exceeded the failed logins threshold",
    context = { geolocation = "None, None in None", reverse_lookup = "No reverse lookup hostname",
      ip_org = "No organization listed" },
  },
  {
    name = "Unsupported log type never matches",
    log_type = "Box.Event",
    expect = false,
    event = { event_type = "FAILED_LOGIN", p_log_type = "Box.Event" },
  },
}
