-- pack_util.lua — small helpers shared by the CIS and threat detections of the AWS pack
-- (detections/aws_cloudtrail/cis and .../threats): list membership and globs over
-- configuration lists, the acting principal, IP classes, Lambda's versioned event names,
-- IAM-style policy documents (statements, principals, external accounts), resources
-- shared with other accounts (AMIs, EBS and RDS snapshots) and per-instance EC2 calls.
-- Nothing here reads the pack configuration itself: callers pass the list they want
-- (`config.trusted_accounts`, ...), so a test that mocks `config` in a detection is
-- honoured. Every helper is nil-safe and never raises on odd input.
-- SPDX-License-Identifier: MIT

local M = {}

-- list(v): v as an array: nil -> {}, a scalar -> { v }, an array -> v.
function M.list(v)
  if v == nil then return {} end
  if type(v) ~= "table" then return { v } end
  return v
end

-- contains(list, value): exact membership; false for a nil value or list.
function M.contains(list, value)
  if value == nil or list == nil then return false end
  for _, item in ipairs(M.list(list)) do
    if item == value then return true end
  end
  return false
end

-- glob_any(list, ...): true when any pattern of list matches any of the given strings.
function M.glob_any(list, ...)
  if list == nil then return false end
  for _, pattern in ipairs(M.list(list)) do
    for i = 1, select("#", ...) do
      local s = select(i, ...)
      if type(s) == "string" and type(pattern) == "string" and strings.glob(pattern, s) then
        return true
      end
    end
  end
  return false
end

-- text(v): a value for a title, "<unknown>" when missing.
function M.text(v)
  if v == nil or v == "" then return "<unknown>" end
  return tostring(v)
end

-- actor_arn(e): the ARN of the caller, else its principalId, else the data-model actor.
function M.actor_arn(e)
  return deep_get(e, "userIdentity", "arn") or deep_get(e, "userIdentity", "principalId") or
    aws.actor_user(e)
end

-- session_name(e): the session part of an assumed-role ARN
-- (arn:aws:sts::1:assumed-role/Role/SESSION), or nil.
function M.session_name(e)
  local arn = deep_get(e, "userIdentity", "arn")
  if type(arn) ~= "string" then return nil end
  return arn:match(":assumed%-role/[^/]+/(.+)$")
end

-- is_ip(s): s is a literal IPv4/IPv6 address (not an AWS service name or "AWS Internal").
function M.is_ip(s)
  return type(s) == "string" and ip.version(s) ~= nil
end

-- is_public_ip(s): a literal address that is neither private nor reserved.
function M.is_public_ip(s)
  return M.is_ip(s) and not ip.is_private(s) and not ip.is_reserved(s)
end

-- base_name(name): Lambda logs versioned API names (AddPermission20150331v2,
-- UpdateFunctionCode20150331v2); this strips the date/version suffix.
function M.base_name(name)
  if type(name) ~= "string" then return nil end
  return (name:gsub("%d%d%d%d%d%d%d%dv?%d*$", ""))
end

local function url_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- decode_policy(v): a policy document as a table. v may already be a table, a JSON
-- string, or a URL-encoded JSON string (IAM responseElements). nil when undecodable.
function M.decode_policy(v)
  if type(v) == "table" then return v end
  if type(v) ~= "string" or v == "" then return nil end
  local doc = json.decode(v)
  if type(doc) ~= "table" and v:find("%%%x%x") then
    doc = json.decode(url_decode(v))
  end
  if type(doc) ~= "table" then return nil end
  return doc
end

-- statements(doc): the Statement entries of a policy document as an array (a single
-- statement object is wrapped).
function M.statements(doc)
  if type(doc) ~= "table" then return {} end
  local st = deep_get(doc, "Statement")
  if type(st) ~= "table" then return {} end
  if st[1] == nil then return { st } end
  return st
end

-- allows(stmt): the statement's Effect is Allow.
function M.allows(stmt)
  return type(stmt) == "table" and deep_get(stmt, "Effect") == "Allow"
end

-- principals(stmt): the principal strings of a statement: "*" for Principal "*", and
-- every value of Principal.AWS (a string or an array). Service and Federated
-- principals are not returned.
function M.principals(stmt)
  local out = {}
  local p = deep_get(stmt, "Principal")
  if p == "*" then
    out[1] = "*"
  elseif type(p) == "table" then
    for _, v in ipairs(M.list(deep_get(p, "AWS"))) do
      if type(v) == "string" then out[#out + 1] = v end
    end
  end
  return out
end

-- has_condition(stmt): the statement carries a non-empty Condition block.
function M.has_condition(stmt)
  local c = deep_get(stmt, "Condition")
  return type(c) == "table" and next(c) ~= nil
end

-- account_of(principal): the 12-digit account id of an AWS principal (an ARN or a bare
-- account id), or nil ("*", service names...).
function M.account_of(principal)
  if type(principal) ~= "string" then return nil end
  if principal:match("^%d+$") then return principal end
  local acct = aws.account_from_arn(principal)
  if acct and acct:match("^%d+$") then return acct end
  return nil
end

-- external(accounts, own, trusted): the entries of accounts that are neither one of the
-- own ids (a string or a list) nor in trusted, de-duplicated, in order.
function M.external(accounts, own, trusted)
  local out, seen = {}, {}
  for _, a in ipairs(M.list(accounts)) do
    local id = tostring(a)
    if not seen[id] and not M.contains(own, id) and not M.contains(trusted, id) then
      seen[id] = true
      out[#out + 1] = id
    end
  end
  return out
end

-- join(list, sep): table.concat over tostring'd values.
function M.join(list, sep)
  local parts = {}
  for _, v in ipairs(M.list(list)) do parts[#parts + 1] = tostring(v) end
  return table.concat(parts, sep or ", ")
end

-- own_accounts(e): the account ids that count as "this account" for an event.
function M.own_accounts(e)
  local out = {}
  local r = e.recipientAccountId
  if r ~= nil then out[#out + 1] = tostring(r) end
  local a = deep_get(e, "userIdentity", "accountId")
  if a ~= nil and tostring(a) ~= out[1] then out[#out + 1] = tostring(a) end
  return out
end

-- Resources shared with other accounts (AMIs, EBS and RDS snapshots) ------------------

-- shared_outside(e, ids, groups, trusted): for a call that adds account ids and/or
-- groups to a resource's sharing attribute, returns the external accounts among ids
-- (neither own_accounts(e) nor in trusted) and whether groups holds "all" (public).
-- ids and groups may be nil, a scalar or an array.
function M.shared_outside(e, ids, groups, trusted)
  local public = M.contains(M.list(groups), "all")
  return M.external(M.list(ids), M.own_accounts(e), trusted), public
end

-- is_shared(ext, public): the share reaches the public or at least one external account.
function M.is_shared(ext, public)
  return public or #M.list(ext) > 0
end

-- share_title(kind, resource, e, ext, public):
-- "<kind> [<resource>] shared with everyone (public)|account(s) <ext> by [<actor>]".
function M.share_title(kind, resource, e, ext, public)
  local who = public and "everyone (public)" or ("account(s) " .. M.join(ext))
  return kind .. " [" .. M.text(resource) .. "] shared with " .. who .. " by [" ..
    M.text(M.actor_arn(e)) .. "]"
end

-- share_severity(ext, public): CRITICAL when made public, else the default severity.
function M.share_severity(_, public)
  if public then return "CRITICAL" end
  return "DEFAULT"
end

-- share_context(e, key, resource, ext, public): the standard AWS context plus
-- ctx[key] = resource, sharedWith (a JSON array of ext) and public.
function M.share_context(e, key, resource, ext, public)
  local ctx = aws.rule_context(e)
  ctx[key] = resource
  ctx.sharedWith = json.array(ext)
  ctx.public = public
  return ctx
end

-- Per-instance EC2 calls (bursts over distinct instances) --------------------------

-- instance_id(e): requestParameters.instanceId, or nil.
function M.instance_id(e)
  return deep_get(e, "requestParameters", "instanceId")
end

-- instance_context(e): the standard AWS context plus the instanceId and errorCode
-- (attempts count whether or not they succeed).
function M.instance_context(e)
  local ctx = aws.rule_context(e)
  ctx.instanceId = M.instance_id(e)
  ctx.errorCode = e.errorCode
  return ctx
end

return M
