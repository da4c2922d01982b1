-- Account sign-in protection weakened: an MFA device removed, or the password policy
-- deleted or relaxed below the CIS minimums (length 14, reuse prevention 24).

id = "Bench.AWS.IAM.SignInProtectionWeakened"
display_name = "MFA removed or password policy weakened"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "1.8", "1.9" }, ["MITRE ATT&CK"] = { "TA0005:T1556.006" } }
tags = { "AWS", "IAM", "Defense Evasion" }

match = {
  eventSource = "iam.amazonaws.com",
  eventName = { "DeactivateMFADevice", "DeleteVirtualMFADevice", "UpdateAccountPasswordPolicy",
                "DeleteAccountPasswordPolicy" },
}

local util = require "bench_util"

local function weak_policy(rp)
  if rp == nil then return true end
  local len = rp.minimumPasswordLength
  local reuse = rp.passwordReusePrevention
  return type(len) ~= "number" or len < 14 or type(reuse) ~= "number" or reuse < 24
end

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  if e.eventName == "UpdateAccountPasswordPolicy" then return weak_policy(e.requestParameters) end
  return true
end

function title(e)
  local who = deep_get(e, "requestParameters", "userName")
  return e.eventName .. (who and (" for [" .. who .. "]") or "") .. " by [" .. util.actor(e) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

local function iam(name, rp)
  return { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = name,
           userIdentity = { type = "IAMUser", userName = "jonas.berg" }, requestParameters = rp }
end

tests = {
  { name = "MFA deactivated", expect = true, title = "DeactivateMFADevice for [kavya.rao] by [jonas.berg]",
    event = iam("DeactivateMFADevice", { userName = "kavya.rao", serialNumber = "arn:aws:iam::1:mfa/kavya.rao" }) },
  { name = "weak password policy", expect = true,
    event = iam("UpdateAccountPasswordPolicy", { minimumPasswordLength = 8, passwordReusePrevention = 0 }) },
  { name = "CIS-compliant policy", expect = false,
    event = iam("UpdateAccountPasswordPolicy", { minimumPasswordLength = 16, passwordReusePrevention = 24 }) },
}
