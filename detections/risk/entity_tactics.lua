-- lp0.Risk.ManyTactics: one entity did things of three or more MITRE ATT&CK tactics
-- (from the contributing detections' `reports`) within 24 hours: an attack chain rather
-- than a single mistake.

id = "lp0.Risk.ManyTactics"
display_name = "Activity across several attack tactics"
default_severity = "HIGH"
dedup_minutes = 1440
tags = { "Risk" }
risk_tactics = { min = 3, window_hours = 24 }

local BOB = "arn:aws:iam::123456789012:user/bob"

local login = { eventVersion = "1.08", eventSource = "signin.amazonaws.com", eventName = "ConsoleLogin",
  eventTime = "2024-10-31T08:00:00Z", responseElements = { ConsoleLogin = "Success" },
  additionalEventData = { MFAUsed = "No" }, userIdentity = { type = "IAMUser", arn = BOB } }
local key = { eventVersion = "1.08", eventSource = "iam.amazonaws.com", eventName = "CreateAccessKey",
  eventTime = "2024-10-31T09:00:00Z", userIdentity = { type = "IAMUser", arn = BOB } }
local stop = { eventVersion = "1.08", eventSource = "cloudtrail.amazonaws.com", eventName = "StopLogging",
  eventTime = "2024-10-31T10:00:00Z", userIdentity = { type = "IAMUser", arn = BOB } }
local stop_late = { eventVersion = "1.08", eventSource = "cloudtrail.amazonaws.com", eventName = "StopLogging",
  eventTime = "2024-11-01T09:30:00Z", userIdentity = { type = "IAMUser", arn = BOB } }

tests = {
  { name = "initial access, persistence and defense evasion by one identity", expect_alerts = 1,
    expect_titles = { "Activity across several attack tactics: " .. BOB },
    events = { login, key, stop } },
  { name = "two tactics are not enough", expect_alerts = 0, events = { login, key } },
  { name = "the third tactic a day later", expect_alerts = 0, events = { login, key, stop_late } },
}
