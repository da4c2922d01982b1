-- AWS.IAMUser.ReconAccessDenied: an IAM user keeps getting AccessDenied on list,
-- describe and get calls, a sign of reconnaissance with limited credentials.
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_iam_user_recon_denied.yml, Apache-2.0), written from the
-- English spec in shared/conformance/panther. Tests: aws_iam_user_recon_denied.tests.json.

id = "AWS.IAMUser.ReconAccessDenied"
display_name = "Detect Reconnaissance from IAM Users"
log_types = { "AWS.CloudTrail" }
default_severity = "INFO"
-- 15 denied reconnaissance calls by one user within 10 minutes make an alert.
dedup_minutes = 10
threshold = 15
reports = { ["MITRE ATT&CK"] = { "TA0007:T1526" } }
tags = { "AWS", "Discovery:Cloud Service Discovery" }

match = { errorCode = "AccessDenied", ["userIdentity.type"] = "IAMUser" }

-- eventSource prefix -> eventName prefixes that read as reconnaissance.
local RECON_CALLS = {
  { "dynamodb", { "List", "Describe", "Get" } },
  { "ec2", { "Describe", "Get" } },
  { "iam", { "List", "Get" } },
  { "s3", { "List", "Get" } },
  { "rds", { "Describe", "List" } },
}

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

local function is_recon_call(source, name)
  for _, service in ipairs(RECON_CALLS) do
    if strings.starts_with(source, service[1]) then
      for _, verb in ipairs(service[2]) do
        if strings.starts_with(name, verb) then
          return true
        end
      end
    end
  end
  return false
end

function rule(e)
  if e.errorCode ~= "AccessDenied" or deep_get(e, "userIdentity", "type") ~= "IAMUser" then
    return false
  end
  -- Calls from the console are noisy. Upstream raises on a missing user agent; here it
  -- just counts as "not the console".
  if strings.starts_with(tostring(e.userAgent or ""), "aws-internal/3") then
    return false
  end
  -- Calls from inside AWS carry a host name instead of an address.
  local addr = e.sourceIPAddress
  if type(addr) ~= "string" or ip.version(addr) == nil then
    return false
  end
  return is_recon_call(tostring(e.eventSource or ""), tostring(e.eventName or ""))
end

function title(e)
  local kind = deep_get(e, "userIdentity", "type")
  local user = "<UNKNOWN_USER>"
  if kind == "IAMUser" then
    user = text(deep_get(e, "userIdentity", "userName"))
  elseif kind == "Root" then
    user = "Root"
  end
  return "Reconnaissance activity denied to user [" .. user .. "] in account [" ..
    text(e.recipientAccountId) .. "]"
end

function dedup(e)
  return text(deep_get(e, "userIdentity", "arn"))
end

function alert_context(e)
  return aws.rule_context(e)
end
