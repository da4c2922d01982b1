-- AWS.Signal.ConsoleLoginNoMFA: a successful AWS console sign-in without MFA, as a signal
-- (no alert of its own; AWS.Console.LoginWithoutMFA is the CIS alert) that starts the
-- sequence AWS.Console.NoMFA.ThenPersistence and adds risk to the identity.

id = "AWS.Signal.ConsoleLoginNoMFA"
display_name = "Console sign-in without MFA (signal)"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
create_alert = false
reports = { ["MITRE ATT&CK"] = { "TA0001:T1078" } }
tags = { "AWS", "Signal" }
match = { eventName = "ConsoleLogin" }
risk = { entity = "userIdentity.arn", score = 30 }

function rule(e)
  return deep_get(e, "responseElements", "ConsoleLogin") == "Success"
    and deep_get(e, "additionalEventData", "MFAUsed") ~= "Yes"
end

tests = {
  { name = "console sign-in without MFA", expect = true,
    event = { eventName = "ConsoleLogin", eventSource = "signin.amazonaws.com",
              responseElements = { ConsoleLogin = "Success" }, additionalEventData = { MFAUsed = "No" },
              userIdentity = { type = "IAMUser", arn = "arn:aws:iam::123456789012:user/bob" } } },
  { name = "with MFA", expect = false,
    event = { eventName = "ConsoleLogin", responseElements = { ConsoleLogin = "Success" },
              additionalEventData = { MFAUsed = "Yes" } } },
  { name = "failed sign-in", expect = false,
    event = { eventName = "ConsoleLogin", responseElements = { ConsoleLogin = "Failure" },
              additionalEventData = { MFAUsed = "No" } } },
}
