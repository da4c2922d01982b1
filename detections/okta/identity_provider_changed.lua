-- Okta: an identity provider was created, changed or activated. An attacker with admin
-- rights can add an IdP they control and then sign in as any user through it
-- ("cross-tenant impersonation"), so every IdP change deserves a look.
-- lp0 detection (not a Panther port).

id = "Okta.IdentityProvider.Changed"
log_types = { "Okta.SystemLog" }
default_severity = "HIGH"
display_name = "Okta identity provider created or modified"
default_runbook = "Confirm the change with the admin who made it; check the IdP's issuer, "
  .. "certificate and routing rules, and which users signed in through it since."
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0005:T1484.002" } }
tags = { "Okta", "Identity & Access Management", "Defense Evasion:Domain or Tenant Policy Modification" }

local VERBS = {
  ["system.idp.lifecycle.create"] = "created",
  ["system.idp.lifecycle.update"] = "modified",
  ["system.idp.lifecycle.activate"] = "activated",
}
match = { eventType = { "system.idp.lifecycle.create", "system.idp.lifecycle.update", "system.idp.lifecycle.activate" } }

function rule(e)
  return VERBS[deep_get(e, "eventType")] ~= nil
end

local function idp_name(e)
  local targets = deep_get(e, "target")
  if type(targets) == "table" then
    for _, t in ipairs(targets) do
      if deep_get(t, "type") == "IdentityProvider" then
        return deep_get(t, "displayName") or deep_get(t, "id")
      end
    end
    if targets[1] ~= nil then return deep_get(targets[1], "displayName") end
  end
  return nil
end

function title(e)
  return string.format("Okta: identity provider [%s] %s by [%s]",
    tostring(idp_name(e) or "<unknown-idp>"), VERBS[deep_get(e, "eventType")],
    tostring(okta.actor_user(e)))
end

-- A failed attempt is still worth a look, but is less urgent than a change that happened.
function severity(e)
  if deep_get(e, "outcome", "result") == "SUCCESS" then return "HIGH" end
  return "MEDIUM"
end

function alert_context(e)
  return okta.alert_context(e)
end

local function idp_event(event_type, result)
  return {
    uuid = "9c1f0d6e-1b7a-4c61-9f0e-2d7d8f1e4a10", published = "2023-09-01T12:00:00.000Z",
    eventType = event_type, version = "0", severity = "INFO",
    displayMessage = "Identity provider lifecycle event",
    actor = { id = "00u1abcd2EFGH3ijk4l5", type = "User", alternateId = "it.admin@example.com",
      displayName = "IT Admin" },
    client = { ipAddress = "198.51.100.23", device = "Computer",
      userAgent = { browser = "CHROME", os = "Mac OS X", rawUserAgent = "Mozilla/5.0" } },
    outcome = { result = result },
    target = { { id = "0oa9zyx8WVU7tsr6q5p4", type = "IdentityProvider", alternateId = "unknown",
      displayName = "Partner SAML IdP" } },
    transaction = { type = "WEB", id = "YPl2c8aF2BpaOnWTVsnG4AAABzQ" },
  }
end

tests = {
  { name = "IdP created", expect = true, event = idp_event("system.idp.lifecycle.create", "SUCCESS"),
    title = "Okta: identity provider [Partner SAML IdP] created by [it.admin@example.com]",
    severity = "HIGH" },
  { name = "IdP modified", expect = true, event = idp_event("system.idp.lifecycle.update", "SUCCESS"),
    title = "Okta: identity provider [Partner SAML IdP] modified by [it.admin@example.com]" },
  { name = "IdP creation attempt failed", expect = true,
    event = idp_event("system.idp.lifecycle.create", "FAILURE"), severity = "MEDIUM" },
  { name = "IdP deactivated", expect = false, event = idp_event("system.idp.lifecycle.deactivate", "SUCCESS") },
  { name = "Ordinary login", expect = false, event = idp_event("user.session.start", "SUCCESS") },
}
