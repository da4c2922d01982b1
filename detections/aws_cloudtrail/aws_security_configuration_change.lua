-- AWS.CloudTrail.SecurityConfigurationChange: a security control of the account was
-- turned off or deleted (trail, Config, GuardDuty, flow logs, EBS encryption, ...).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_security_configuration_change.yml, Apache-2.0), written
-- from the English spec in shared/conformance/panther.
-- Tests: aws_security_configuration_change.tests.json.

id = "AWS.CloudTrail.SecurityConfigurationChange"
display_name = "Account Security Configuration Changed"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
threshold = 1
reports = {
  ["MITRE ATT&CK"] = { "TA0005:T1562" },
  ["Stratus Red Team"] = {
    "aws.defense-evasion.cloudtrail-delete", "aws.defense-evasion.cloudtrail-stop",
    "aws.defense-evasion.vpc-remove-flow-logs",
  },
}
tags = { "AWS", "Defense Evasion:Impair Defenses" }

-- Configuration: expected changes, as { userName = glob, eventName = glob } entries
-- (shell-style, case-sensitive). userName is the session issuer's user name. Tests may
-- also set it to the JSON text of such a list.
ALLOW_LIST = {}

local SENSITIVE = {
  "DeleteAccountPublicAccessBlock", "DeleteDeliveryChannel", "DeleteDetector", "DeleteFlowLogs",
  "DeleteRule", "DeleteTrail", "DisableEbsEncryptionByDefault", "DisableRule",
  "StopConfigurationRecorder", "StopLogging",
}
local IS_SENSITIVE = {}
for _, name in ipairs(SENSITIVE) do IS_SENSITIVE[name] = true end

match = { eventName = { "UpdateDetector", table.unpack(SENSITIVE) } }

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

local function falsy(v)
  return v == nil or v == false or v == 0 or v == ""
end

-- ALLOW_LIST as a Lua array, whether it holds a table, JSON text or a function.
local function allow_list()
  local list = ALLOW_LIST
  if type(list) == "function" then
    list = list()
  end
  if type(list) == "string" then
    local decoded, err = json.decode(list)
    if decoded == nil then
      log.warn(id .. ": ALLOW_LIST is not valid JSON: " .. tostring(err))
    end
    list = decoded
  end
  if type(list) ~= "table" then
    return {}
  end
  return list
end

local function allowed(e)
  local user = deep_get(e, "userIdentity", "sessionContext", "sessionIssuer", "userName") or ""
  local event_name = e.eventName or ""
  for _, entry in ipairs(allow_list()) do
    local user_glob, event_glob = deep_get(entry, "userName"), deep_get(entry, "eventName")
    if type(user_glob) == "string" and type(event_glob) == "string"
      and strings.glob(user_glob, tostring(user))
      and strings.glob(event_glob, tostring(event_name)) then
      return true
    end
  end
  return false
end

function rule(e)
  if not aws_cloudtrail_success(e) or allowed(e) then
    return false
  end
  if e.eventName == "UpdateDetector" then
    -- GuardDuty being disabled; a request without "enable" leaves it on.
    local enable = deep_get(e, "requestParameters", "enable")
    if enable == nil then
      enable = true
    end
    return falsy(enable)
  end
  return IS_SENSITIVE[e.eventName] == true
end

-- No dedup hook: one alert per API call name and actor.
function title(e)
  return "Sensitive AWS API call " .. text(e.eventName) .. " made by " .. text(aws.actor_user(e))
end

function alert_context(e)
  return aws.rule_context(e)
end

-- Cases beyond the upstream events (those are in the sidecar).
local function change(event_name, issuer, request)
  return {
    eventName = event_name,
    eventSource = "guardduty.amazonaws.com",
    recipientAccountId = "123456789012",
    requestParameters = request,
    userIdentity = {
      type = "AssumedRole",
      sessionContext = { sessionIssuer = { type = "Role", userName = issuer } },
    },
  }
end
local TERRAFORM_DELETES = { { userName = "terraform-*", eventName = "Delete*" } }

tests = {
  { name = "GuardDuty detector disabled", expect = true,
    event = change("UpdateDetector", "ops", { detectorId = "12abc", enable = false }),
    title = "Sensitive AWS API call UpdateDetector made by ops" },
  { name = "GuardDuty detector updated and left enabled", expect = false,
    event = change("UpdateDetector", "ops",
      { detectorId = "12abc", findingPublishingFrequency = "SIX_HOURS" }) },
  { name = "allow-list globs cover the issuer and the call", expect = false,
    mocks = { ALLOW_LIST = TERRAFORM_DELETES },
    event = change("DeleteFlowLogs", "terraform-ci", { flowLogIds = { "fl-1" } }) },
  { name = "allow-list entry for another issuer does not apply", expect = true,
    mocks = { ALLOW_LIST = TERRAFORM_DELETES },
    event = change("DeleteFlowLogs", "alice", { flowLogIds = { "fl-1" } }),
    title = "Sensitive AWS API call DeleteFlowLogs made by alice" },
}
