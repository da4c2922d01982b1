-- Okta: a policy or policy rule was deactivated or deleted. Removing a sign-on, MFA or
-- password policy (or one of its rules) silently weakens authentication for everyone
-- it covered. lp0 detection (not a Panther port).

id = "Okta.Policy.Weakened"
log_types = { "Okta.SystemLog" }
default_severity = "MEDIUM"
display_name = "Okta policy or policy rule deactivated or deleted"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0005:T1556" } }
tags = { "Okta", "Defense Evasion:Modify Authentication Process" }

local VERBS = {
  ["policy.lifecycle.deactivate"] = "deactivated policy",
  ["policy.lifecycle.delete"] = "deleted policy",
  ["policy.rule.deactivate"] = "deactivated a rule of policy",
  ["policy.rule.delete"] = "deleted a rule of policy",
}
match = {
  eventType = { "policy.lifecycle.deactivate", "policy.lifecycle.delete", "policy.rule.deactivate", "policy.rule.delete" },
  ["outcome.result"] = "SUCCESS",
}

-- Policies that gate authentication: weakening them is urgent.
local AUTH_POLICIES = { OKTA_SIGN_ON = true, ACCESS_POLICY = true, MFA_ENROLL = true, PASSWORD = true }

local function policy(e)
  local targets = deep_get(e, "target")
  if type(targets) ~= "table" then return nil end
  for _, t in ipairs(targets) do
    if deep_get(t, "type") == "PolicyEntity" then return t end
  end
  return nil
end

local function rule_name(e)
  local targets = deep_get(e, "target")
  if type(targets) ~= "table" then return nil end
  for _, t in ipairs(targets) do
    if deep_get(t, "type") == "PolicyRule" then return deep_get(t, "displayName") end
  end
  return nil
end

function rule(e)
  return VERBS[deep_get(e, "eventType")] ~= nil and deep_get(e, "outcome", "result") == "SUCCESS"
end

function title(e)
  local p = policy(e)
  local name = p and deep_get(p, "displayName") or "<unknown-policy>"
  local kind = p and deep_get(p, "detailEntry", "policyType") or "<unknown-type>"
  local t = string.format("Okta: [%s] %s [%s] (%s)", tostring(okta.actor_user(e)),
    VERBS[deep_get(e, "eventType")], tostring(name), tostring(kind))
  local r = rule_name(e)
  if r ~= nil then t = t .. " rule [" .. tostring(r) .. "]" end
  return t
end

function severity(e)
  local p = policy(e)
  if p and AUTH_POLICIES[deep_get(p, "detailEntry", "policyType")] then return "HIGH" end
  return "MEDIUM"
end

function alert_context(e)
  return okta.alert_context(e)
end

local function policy_event(event_type, policy_type, with_rule)
  local target = { { id = "00p1a2b3c4D5E6F7g8h9", type = "PolicyEntity", alternateId = "unknown",
    displayName = "Default sign-on policy", detailEntry = { policyType = policy_type } } }
  if with_rule then
    target[2] = { id = "0pr9h8g7F6E5D4c3b2a1", type = "PolicyRule", alternateId = "00p1a2b3c4D5E6F7g8h9",
      displayName = "Require MFA off-network" }
  end
  return {
    uuid = "3f0b6c0e-5a7d-11ee-8c99-0242ac120002", published = "2023-10-02T08:15:00.000Z",
    eventType = event_type, version = "0", severity = "INFO",
    actor = { id = "00u1abcd2EFGH3ijk4l5", type = "User", alternateId = "it.admin@example.com",
      displayName = "IT Admin" },
    client = { ipAddress = "198.51.100.23" },
    outcome = { result = "SUCCESS" },
    target = target,
  }
end

tests = {
  { name = "Sign-on policy rule deactivated", expect = true,
    event = policy_event("policy.rule.deactivate", "OKTA_SIGN_ON", true),
    title = "Okta: [it.admin@example.com] deactivated a rule of policy [Default sign-on policy] (OKTA_SIGN_ON) rule [Require MFA off-network]",
    severity = "HIGH" },
  { name = "MFA enrollment policy deleted", expect = true,
    event = policy_event("policy.lifecycle.delete", "MFA_ENROLL", false), severity = "HIGH" },
  { name = "IdP discovery policy deactivated", expect = true,
    event = policy_event("policy.lifecycle.deactivate", "IDP_DISCOVERY", false), severity = "MEDIUM" },
  { name = "Policy updated", expect = false, event = policy_event("policy.lifecycle.update", "OKTA_SIGN_ON", false) },
  { name = "Policy rule activated", expect = false, event = policy_event("policy.rule.activate", "OKTA_SIGN_ON", true) },
}
