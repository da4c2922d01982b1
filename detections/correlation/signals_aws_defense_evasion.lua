-- AWS.Signal.LoggingTampered: CloudTrail stopped, deleted or reconfigured, GuardDuty
-- detector deleted: hiding tracks. The pack alerts on these (AWS.CloudTrail.Stopped and
-- others); this signal adds them to the identity's risk with their tactic.

id = "AWS.Signal.LoggingTampered"
display_name = "Logging or threat detection tampered with (signal)"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
create_alert = false
reports = { ["MITRE ATT&CK"] = { "TA0005:T1562.008" } }
tags = { "AWS", "Signal" }
match = { eventName = { "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors",
                        "DeleteDetector", "DeleteFlowLogs" } }
risk = { entity = "userIdentity.arn", score = 40 }

function rule(e)
  return aws_cloudtrail_success(e)
end

tests = {
  { name = "trail stopped", expect = true,
    event = { eventSource = "cloudtrail.amazonaws.com", eventName = "StopLogging",
              userIdentity = { arn = "arn:aws:iam::123456789012:user/bob" } } },
  { name = "denied", expect = false,
    event = { eventSource = "cloudtrail.amazonaws.com", eventName = "StopLogging", errorCode = "AccessDenied" } },
}
