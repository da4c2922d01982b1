-- CIS AWS Foundations 4.9: AWS Config recorder or delivery channel changes.

id = "Bench.CIS.ConfigChanges"
display_name = "AWS Config recording changed"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "4.9" }, ["MITRE ATT&CK"] = { "TA0005:T1562" } }
tags = { "AWS", "CIS", "Defense Evasion" }

match = {
  eventSource = "config.amazonaws.com",
  eventName = { "StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel",
                "PutConfigurationRecorder", "DeleteConfigurationRecorder" },
}

local STOPS = { StopConfigurationRecorder = true, DeleteDeliveryChannel = true,
                DeleteConfigurationRecorder = true }

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "AWS Config: " .. e.eventName .. " in account [" .. (e.recipientAccountId or "?")
    .. "] region [" .. (e.awsRegion or "?") .. "]"
end

function severity(e)
  if STOPS[e.eventName] then return "HIGH" end
  return "DEFAULT"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "recorder stopped", expect = true, severity = "HIGH",
    title = "AWS Config: StopConfigurationRecorder in account [1] region [eu-west-1]",
    event = { eventVersion = "1.09", eventSource = "config.amazonaws.com",
              eventName = "StopConfigurationRecorder", recipientAccountId = "1", awsRegion = "eu-west-1",
              requestParameters = { configurationRecorderName = "default" } } },
  { name = "recorder updated", expect = true, severity = "MEDIUM",
    event = { eventVersion = "1.09", eventSource = "config.amazonaws.com",
              eventName = "PutConfigurationRecorder" } },
  { name = "throttled", expect = false,
    event = { eventVersion = "1.09", eventSource = "config.amazonaws.com",
              eventName = "PutDeliveryChannel", errorCode = "ThrottlingException",
              errorMessage = "Rate exceeded" } },
}
