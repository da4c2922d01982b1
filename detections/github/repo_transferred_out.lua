-- GitHub: a repository left the organisation, or a transfer out was requested.
-- lp0 detection (not a Panther port). repo.transfer (an incoming transfer accepted)
-- is not matched.

id = "GitHub.Repo.TransferredOut"
log_types = { "GitHub.Audit" }
default_severity = "MEDIUM"
display_name = "GitHub repository transferred out of the organization"
enabled = true
dedup_minutes = 60
threshold = 1
reports = { ["MITRE ATT&CK"] = { "TA0010:T1537" } }
tags = { "GitHub", "Exfiltration:Transfer Data to Cloud Account" }
match = { action = { "repo.transfer_outgoing", "repo.transfer_start" } }

function rule(e)
  local a = deep_get(e, "action")
  return a == "repo.transfer_outgoing" or a == "repo.transfer_start"
end

function title(e)
  local repo = tostring(deep_get(e, "repo") or "<unknown-repo>")
  local org = tostring(deep_get(e, "org") or "<unknown-org>")
  local actor = tostring(deep_get(e, "actor") or "<unknown-actor>")
  if deep_get(e, "action") == "repo.transfer_start" then
    return string.format("GitHub: transfer of repository [%s] out of [%s] requested by [%s]", repo, org, actor)
  end
  return string.format("GitHub: repository [%s] transferred out of [%s] by [%s]", repo, org, actor)
end

-- A completed transfer of non-public code is the exfiltration case.
function severity(e)
  if deep_get(e, "action") == "repo.transfer_outgoing" and deep_get(e, "visibility") ~= "public" then
    return "HIGH"
  end
  return "MEDIUM"
end

function alert_context(e)
  local ctx = {}
  for k, v in pairs(github.alert_context(e)) do ctx[k] = v end
  ctx.visibility = deep_get(e, "visibility")
  return ctx
end

tests = {
  { name = "Public repository transferred out", expect = true,
    event = { action = "repo.transfer_outgoing", actor = "maintainer", org = "acme",
      repo = "acme/oss-tool", visibility = "public" },
    severity = "MEDIUM" },
}
