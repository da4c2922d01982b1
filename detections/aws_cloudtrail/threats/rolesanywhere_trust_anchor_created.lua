-- Threat.AWS.RolesAnywhere.TrustAnchorCreated: an IAM Roles Anywhere trust anchor was
-- created or its certificate source changed. Whoever holds a certificate signed by that
-- CA can then obtain role credentials from outside AWS: a durable backdoor (Stratus Red
-- Team aws.persistence.rolesanywhere-create-trust-anchor).

local util = require "pack_util"

id = "Threat.AWS.RolesAnywhere.TrustAnchorCreated"
display_name = "IAM Roles Anywhere trust anchor created"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0003:T1098.001", "TA0003:T1556" },
  ["Stratus Red Team"] = { "aws.persistence.rolesanywhere-create-trust-anchor" },
}
tags = { "AWS", "IAM Roles Anywhere", "Persistence" }
default_runbook = "Confirm the CA with the PKI owners. Delete unknown trust anchors and " ..
  "the profiles created with them (CreateProfile), and review which roles those profiles map."

match = { eventSource = "rolesanywhere.amazonaws.com", eventName = { "CreateTrustAnchor", "UpdateTrustAnchor" } }

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  if e.eventName == "UpdateTrustAnchor" then
    return deep_get(e, "requestParameters", "source") ~= nil
  end
  return true
end

local function name(e)
  return deep_get(e, "requestParameters", "name") or deep_get(e, "responseElements", "trustAnchor", "name")
end

function title(e)
  local verb = e.eventName == "CreateTrustAnchor" and "created" or "re-pointed"
  return "IAM Roles Anywhere trust anchor [" .. util.text(name(e)) .. "] " .. verb .. " by [" ..
    util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(e.recipientAccountId) .. ":" .. util.text(name(e))
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.trustAnchorName = name(e)
  ctx.sourceType = deep_get(e, "requestParameters", "source", "sourceType")
  ctx.trustAnchorArn = deep_get(e, "responseElements", "trustAnchor", "trustAnchorArn")
  return ctx
end

local function ta(name_, rp, extra)
  local t = { eventSource = "rolesanywhere.amazonaws.com", eventName = name_, eventTime = "2024-08-01T13:56:39Z",
    recipientAccountId = "111122223333", requestParameters = rp,
    userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end
local SRC = { sourceType = "CERTIFICATE_BUNDLE", sourceData = { x509CertificateData = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----" } }

tests = {
  { name = "trust anchor created", expect = true,
    title = "IAM Roles Anywhere trust anchor [corp-ca] created by [arn:aws:iam::111122223333:user/dev]",
    event = ta("CreateTrustAnchor", { name = "corp-ca", enabled = true, source = SRC }) },
  { name = "trust anchor source replaced", expect = true,
    event = ta("UpdateTrustAnchor", { trustAnchorId = "ta-1", source = SRC }) },
  { name = "trust anchor renamed only", expect = false, event = ta("UpdateTrustAnchor", { trustAnchorId = "ta-1", name = "x" }) },
  { name = "denied", expect = false,
    event = ta("CreateTrustAnchor", { name = "corp-ca", source = SRC }, { errorCode = "AccessDeniedException" }) },
}
