-- GuardDuty switched off: detector deleted or disabled, or the account cut loose from
-- the administrator account that reads its findings.

id = "Bench.AWS.GuardDuty.Disabled"
display_name = "GuardDuty disabled"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
reports = { ["MITRE ATT&CK"] = { "TA0005:T1562.001" } }
tags = { "AWS", "GuardDuty", "Defense Evasion" }

match = {
  eventSource = "guardduty.amazonaws.com",
  eventName = { "DeleteDetector", "UpdateDetector", "DisassociateFromMasterAccount",
                "DisassociateFromAdministratorAccount", "StopMonitoringMembers" },
}

local util = require "bench_util"

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  if e.eventName == "UpdateDetector" then
    return deep_get(e, "requestParameters", "enable") == false
  end
  return true
end

function title(e)
  return "GuardDuty: " .. e.eventName .. " in [" .. (e.recipientAccountId or "?") .. "/"
    .. (e.awsRegion or "?") .. "] by [" .. util.actor(e) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

local function gd(name, rp)
  return { eventVersion = "1.09", eventSource = "guardduty.amazonaws.com", eventName = name,
           recipientAccountId = "318462095713", awsRegion = "eu-west-1",
           userIdentity = { type = "IAMUser", userName = "alice.nguyen" }, requestParameters = rp }
end

tests = {
  { name = "detector deleted", expect = true,
    title = "GuardDuty: DeleteDetector in [318462095713/eu-west-1] by [alice.nguyen]",
    event = gd("DeleteDetector", { detectorId = "12abc34d567e8fa901bc2d34e56789f0" }) },
  { name = "detector disabled", expect = true, event = gd("UpdateDetector", { detectorId = "x", enable = false }) },
  { name = "frequency changed", expect = false,
    event = gd("UpdateDetector", { detectorId = "x", findingPublishingFrequency = "FIFTEEN_MINUTES" }) },
}
