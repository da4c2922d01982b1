-- Okta.User.ManyCountries: one user signed in successfully from three or more countries
-- within an hour: impossible travel, or shared and stolen credentials. A distinct count:
-- `unique` names the value counted and `threshold` how many distinct values alert
-- (docs/correlation.md, "Distinct counts"). The country comes from Okta's own
-- geolocation; for other logs, unique() can return lookup("geoip", ip, "country").

id = "Okta.User.ManyCountries"
display_name = "Okta user signed in from many countries"
log_types = { "Okta.SystemLog" }
default_severity = "HIGH"
dedup_minutes = 60
threshold = 3
reports = { ["MITRE ATT&CK"] = { "TA0001:T1078" } }
tags = { "Okta", "Initial Access:Valid Accounts" }
match = { eventType = "user.session.start", ["outcome.result"] = "SUCCESS" }

function rule(e)
  return deep_get(e, "client", "geographicalContext", "country") ~= nil
end

function title(e)
  return "Okta: " .. tostring(okta.actor_user(e)) .. " signed in from 3 or more countries in an hour"
end

function dedup(e)
  return string.lower(tostring(okta.actor_user(e)))
end

function unique(e)
  return deep_get(e, "client", "geographicalContext", "country")
end

local function login(country, t, user)
  return { eventType = "user.session.start", outcome = { result = "SUCCESS" }, published = t,
           actor = { alternateId = user or "alice@example.com", type = "User" },
           client = { ipAddress = "198.51.100.7", geographicalContext = { country = country } } }
end

tests = {
  { name = "three countries in an hour", expect_alerts = 1,
    events = { login("France", "2024-10-31T08:00:00Z"), login("Brazil", "2024-10-31T08:20:00Z"),
               login("Japan", "2024-10-31T08:40:00Z") } },
  { name = "many sign-ins from two countries", expect_alerts = 0,
    events = { login("France", "2024-10-31T08:00:00Z"), login("France", "2024-10-31T08:10:00Z"),
               login("Brazil", "2024-10-31T08:20:00Z"), login("France", "2024-10-31T08:30:00Z"),
               login("Brazil", "2024-10-31T08:40:00Z") } },
  { name = "three countries, three users", expect_alerts = 0,
    events = { login("France", "2024-10-31T08:00:00Z", "a@example.com"),
               login("Brazil", "2024-10-31T08:20:00Z", "b@example.com"),
               login("Japan", "2024-10-31T08:40:00Z", "c@example.com") } },
  { name = "a sign-in with a country matches", expect = true, event = login("France", "2024-10-31T08:00:00Z") },
}
