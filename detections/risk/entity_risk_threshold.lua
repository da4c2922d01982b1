-- lp0.Risk.Threshold: the risk of one entity (a user, an IAM identity...) reached 100
-- within 24 hours. Detections with `risk = { entity = ..., score = N }` add to it instead
-- of alerting one by one; this alert lists what added up (docs/correlation.md).
-- Tune `limit` and `window_hours` here.

id = "lp0.Risk.Threshold"
display_name = "Risk threshold exceeded"
default_severity = "HIGH"
dedup_minutes = 1440
tags = { "Risk" }
default_runbook = "Read the contributions in the alert context: several weak signals about one " ..
  "entity. Decide whether they tell one story (an intrusion) or several unrelated ones."
risk_threshold = { limit = 100, window_hours = 24 }

local function failed(user, t)
  return { eventType = "user.session.start", outcome = { result = "FAILURE" },
           actor = { alternateId = user, type = "User" }, published = t }
end

local twenty = {}
for i = 0, 19 do twenty[#twenty + 1] = failed("alice@example.com", string.format("2024-10-31T08:%02d:00Z", i)) end
local nineteen = {}
for i = 0, 18 do nineteen[#nineteen + 1] = failed("alice@example.com", string.format("2024-10-31T08:%02d:00Z", i)) end
local two_users = {}
for i = 0, 19 do two_users[#two_users + 1] = failed(i % 2 == 0 and "a@example.com" or "b@example.com",
                                                  string.format("2024-10-31T08:%02d:00Z", i)) end

tests = {
  { name = "twenty failed sign-ins (5 each) reach 100", expect_alerts = 1,
    expect_titles = { "Risk threshold exceeded: alice@example.com" }, events = twenty },
  { name = "nineteen stay under", expect_alerts = 0, events = nineteen },
  { name = "risk is per entity", expect_alerts = 0, events = two_users },
}
