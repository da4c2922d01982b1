-- AWS.Console.LoginWithoutMFA: a successful console login that used no MFA (CIS 3.2).
-- Port of the Panther rule of the same id (panther-labs/panther-analysis @ daa10c88,
-- rules/aws_cloudtrail_rules/aws_console_login_without_mfa.yml, Apache-2.0), written from
-- the English spec in shared/conformance/panther.
-- Tests: aws_console_login_without_mfa.tests.json.

id = "AWS.Console.LoginWithoutMFA"
display_name = "Logins Without MFA"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
threshold = 1
reports = {
  CIS = { "3.2" },
  ["MITRE ATT&CK"] = { "TA0001:T1078" },
  ["Stratus Red Team"] = { "aws.initial-access.console-login-without-mfa" },
}
tags = { "AWS", "Identity & Access Management", "Authentication", "Initial Access:Valid Accounts" }

match = { eventName = "ConsoleLogin" }

-- Configuration: set to true when roles are assumed through an external IdP, which
-- enforces MFA itself, so AssumedRole console logins are not reported.
ROLES_VIA_EXTERNAL_IDP = false

-- Upstream suppresses logins by accounts or users that other rules recently marked as
-- new (a KV-cache lookup). lp0 has no such cache yet, so nothing counts as new; the
-- hook stays a global so tests (and a later cache) can replace it. Returns a boolean or
-- the strings "True"/"False".
function check_account_age(_key)
  return false
end

local function text(v)
  if v == nil then return "None" end
  return tostring(v)
end

-- Mocked values arrive as booleans or as the strings "True"/"False".
local function as_bool(v)
  if type(v) == "function" then v = v() end
  if type(v) == "string" then return v:lower() == "true" end
  return v == true
end

local function sso_or_saml(e)
  local arn = deep_get(e, "userIdentity", "arn") or " "
  return strings.contains(tostring(arn), "AWSReservedSSO")
    or deep_get(e, "additionalEventData", "SamlProviderArn") ~= nil
end

function rule(e)
  if e.eventName ~= "ConsoleLogin" then
    return false
  end
  if as_bool(ROLES_VIA_EXTERNAL_IDP) and deep_get(e, "userIdentity", "type") == "AssumedRole" then
    return false
  end
  -- SSO and SAML logins carry MFA at the identity provider.
  if sso_or_saml(e) then
    return false
  end
  local user_key = text(deep_get(e, "userIdentity", "userName") or "<MISSING_USER_NAME>") ..
    "-" .. text(aws.actor_user(e))
  if as_bool(check_account_age(user_key)) then
    return false
  end
  if as_bool(check_account_age("new_account - " .. text(e.recipientAccountId))) then
    return false
  end
  return deep_get(e, "responseElements", "ConsoleLogin") == "Success"
    and deep_get(e, "additionalEventData", "MFAUsed") ~= "Yes"
    and deep_get(e, "userIdentity", "sessionContext", "attributes", "mfaAuthenticated") ~= "true"
end

-- "the root user", or "<issuer type, lower-cased, default user> <user name>".
local function who(e)
  if deep_get(e, "userIdentity", "type") == "Root" then
    return "the root user"
  end
  local user = deep_get(e, "userIdentity", "userName")
  if user == nil or user == "" then
    user = deep_get(e, "userIdentity", "sessionContext", "sessionIssuer", "userName")
  end
  local kind = deep_get(e, "userIdentity", "sessionContext", "sessionIssuer", "type") or "user"
  return string.lower(tostring(kind)) .. " " .. text(user)
end

-- No dedup hook: one alert per principal and account per window.
function title(e)
  return "AWS login detected without MFA for [" .. who(e) .. "] in [" ..
    text(e.recipientAccountId) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end
