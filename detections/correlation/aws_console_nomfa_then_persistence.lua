-- AWS.Console.NoMFA.ThenPersistence: a console sign-in without MFA, followed within 30
-- minutes by the creation of an IAM user, an access key or a console password by the
-- same identity: a stolen password used to dig in. A sequence over two signals.

id = "AWS.Console.NoMFA.ThenPersistence"
display_name = "Console sign-in without MFA, then new IAM credentials"
default_severity = "CRITICAL"
dedup_minutes = 60
reports = { ["MITRE ATT&CK"] = { "TA0001:T1078", "TA0003:T1098.001" } }
tags = { "AWS", "Correlation", "Persistence" }
default_runbook = "Disable the credentials created (access keys, login profile, new users), " ..
  "force a password reset with MFA for the identity, and review its other calls since the sign-in."

sequence = {
  { detection = "AWS.Signal.ConsoleLoginNoMFA" },
  { detection = "AWS.Signal.IdentityPersistence" },
}
within_minutes = 30
group_by = "userIdentity.arn"

local BOB = "arn:aws:iam::123456789012:user/bob"

local function login(arn, t)
  return { eventVersion = "1.08", eventSource = "signin.amazonaws.com", eventName = "ConsoleLogin",
           eventTime = t, responseElements = { ConsoleLogin = "Success" },
           additionalEventData = { MFAUsed = "No" }, userIdentity = { type = "IAMUser", arn = arn } }
end

local function create(name, arn, t)
  return { eventVersion = "1.08", eventSource = "iam.amazonaws.com", eventName = name, eventTime = t,
           userIdentity = { type = "IAMUser", arn = arn }, requestParameters = { userName = "backdoor" } }
end

tests = {
  { name = "sign-in without MFA then an access key", expect_alerts = 1,
    expect_titles = { "Console sign-in without MFA, then new IAM credentials: " .. BOB },
    events = { login(BOB, "2024-10-31T08:00:00Z"), create("CreateAccessKey", BOB, "2024-10-31T08:12:00Z") } },
  { name = "a new user 45 minutes later is outside the window", expect_alerts = 0,
    events = { login(BOB, "2024-10-31T08:00:00Z"), create("CreateUser", BOB, "2024-10-31T08:45:00Z") } },
  { name = "another identity creates the key", expect_alerts = 0,
    events = { login(BOB, "2024-10-31T08:00:00Z"),
               create("CreateAccessKey", "arn:aws:iam::123456789012:user/carol", "2024-10-31T08:05:00Z") } },
  { name = "the key before the sign-in", expect_alerts = 0,
    events = { create("CreateLoginProfile", BOB, "2024-10-31T07:55:00Z"), login(BOB, "2024-10-31T08:00:00Z") } },
}
