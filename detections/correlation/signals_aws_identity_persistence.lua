-- AWS.Signal.IdentityPersistence: a new IAM user, access key or console password (login
-- profile), successfully created: how an intruder keeps access. A signal for the
-- sequence AWS.Console.NoMFA.ThenPersistence, and risk for the identity that did it.

id = "AWS.Signal.IdentityPersistence"
display_name = "IAM user, access key or login profile created (signal)"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
create_alert = false
reports = { ["MITRE ATT&CK"] = { "TA0003:T1136.003", "TA0003:T1098.001" } }
tags = { "AWS", "Signal" }
match = { eventSource = "iam.amazonaws.com",
          eventName = { "CreateUser", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile" } }
risk = { entity = "userIdentity.arn", score = 40 }

function rule(e)
  return aws_cloudtrail_success(e)
end

tests = {
  { name = "access key created", expect = true,
    event = { eventSource = "iam.amazonaws.com", eventName = "CreateAccessKey",
              userIdentity = { arn = "arn:aws:iam::123456789012:user/bob" } } },
  { name = "denied", expect = false,
    event = { eventSource = "iam.amazonaws.com", eventName = "CreateUser", errorCode = "AccessDenied" } },
}
