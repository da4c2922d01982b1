-- AWS.IAM.Backdoor.User.Keys: a principal created an access key for a different IAM
-- user, a common way to keep access (backdoor keys).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_iam_user_key_created.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_iam_user_key_created.tests.json.

id = "AWS.IAM.Backdoor.User.Keys"
display_name = "AWS User API Key Created"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
dedup_minutes = 60
threshold = 1
reports = {
  ["MITRE ATT&CK"] = { "TA0003:T1098", "TA0005:T1108", "TA0005:T1550", "TA0008:T1550" },
  ["Stratus Red Team"] = {
    "aws.persistence.iam-backdoor-user", "aws.persistence.iam-create-admin-user",
  },
}
tags = {}

match = { eventSource = "iam.amazonaws.com", eventName = "CreateAccessKey" }

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

local function key_owner(e)
  return deep_get(e, "responseElements", "accessKey", "userName")
end

-- The "user/" prefix keeps "jack" apart from "jackson".
function rule(e)
  if e.eventSource ~= "iam.amazonaws.com" or e.eventName ~= "CreateAccessKey"
    or not aws_cloudtrail_success(e) then
    return false
  end
  local actor_arn = tostring(deep_get(e, "userIdentity", "arn") or "")
  return not strings.ends_with(actor_arn, "user/" .. tostring(key_owner(e) or ""))
end

function title(e)
  return "[" .. text(deep_get(e, "userIdentity", "arn")) .. "] created API keys for [" ..
    tostring(key_owner(e) or "") .. "]"
end

function dedup(e)
  return text(deep_get(e, "userIdentity", "arn"))
end

function alert_context(e)
  local context = {}
  for k, v in pairs(aws.rule_context(e)) do
    context[k] = v
  end
  context.ip_accessKeyId = text(e.sourceIPAddress or "<NO_IP_ADDRESS>") .. ":" ..
    text(deep_get(e, "responseElements", "accessKey", "accessKeyId") or "<NO_ACCESS_KEY_ID>")
  context.request_username = deep_get(e, "requestParameters", "userName") or "USERNAME_NOT_FOUND"
  return context
end
