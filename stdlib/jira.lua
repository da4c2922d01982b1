-- jira.lua — Jira Cloud REST v2: create_issue, comment and transition (by name or
-- id), each split into pure build_* (the http.request table) and parse_* (the answer)
-- functions around one thin send, plus code_block for wiki-markup comments.
--
-- v2 is used because it takes description and comment bodies as plain wiki-markup
-- strings; v3 wants Atlassian Document Format trees. Auth is HTTP Basic with the
-- account e-mail and an API token (Jira Cloud refuses passwords). Errors are built
-- from Jira's {"errorMessages": [...], "errors": {field: message}} body, as
-- "jira 400: summary: You must specify a summary of the issue."; a 401 usually has
-- no body, so it gets a fixed hint. Creating an issue or a comment is not
-- idempotent and is sent once (wrap it in step()); transitions are looked up by GET,
-- which the runtime retries.
-- SPDX-License-Identifier: MIT

local type, tostring, ipairs, pairs, error = type, tostring, ipairs, pairs, error
local gsub, find, lower = string.gsub, string.find, string.lower
local concat, sort = table.concat, table.sort
local delivery = require "delivery"

local M = {}

local SUMMARY_MAX = 255 -- Jira refuses longer summaries
local TEXT_MAX = 32000 -- description and comment limit is 32767 characters

local function check_opts(opts, fname)
  if type(opts) ~= "table" then
    error("jira." .. fname .. ": options table expected", 3)
  end
  local base = delivery.base(opts.url, "jira." .. fname)
  if type(opts.user) ~= "string" or type(opts.token) ~= "string" then
    error("jira." .. fname .. ": user and token (strings) are required", 3)
  end
  return base
end

local function check_key(key, fname)
  if type(key) ~= "string" or not find(key, "^[%w_]+%-?%d*$") then
    error("jira." .. fname .. ": bad issue key " .. tostring(key), 3)
  end
  return key
end

local function request(method, url, opts, body)
  return {
    method = method,
    url = url,
    headers = { Accept = "application/json" },
    auth = { opts.user, opts.token },
    json = body,
    timeout = opts.timeout,
  }
end

-- Labels cannot hold spaces (Jira answers 400): whitespace runs become "_".
local function labels(list)
  if type(list) ~= "table" or #list == 0 then
    return nil
  end
  local out = {}
  for i, l in ipairs(list) do
    out[i] = (gsub(tostring(l), "%s+", "_"))
  end
  return out
end

-- build_create(opts): the request for opts = { url = base, user, token, project,
-- issuetype = "Task", summary, description, labels, priority, fields = {extra} }.
-- Raises on missing url/user/token/project/summary.
function M.build_create(opts)
  local base = check_opts(opts, "create_issue")
  if type(opts.project) ~= "string" or opts.project == "" then
    error("jira.create_issue: project key required", 2)
  end
  if type(opts.summary) ~= "string" or opts.summary == "" then
    error("jira.create_issue: summary required", 2)
  end
  local fields = {}
  for k, v in pairs(opts.fields or {}) do
    fields[k] = v
  end
  fields.project = { key = opts.project }
  fields.issuetype = { name = opts.issuetype or "Task" }
  fields.summary = delivery.truncate(gsub(opts.summary, "[\r\n]+", " "), SUMMARY_MAX)
  if opts.description ~= nil then
    fields.description = delivery.truncate(tostring(opts.description), TEXT_MAX)
  end
  fields.labels = labels(opts.labels)
  if opts.priority ~= nil then
    fields.priority = { name = tostring(opts.priority) }
  end
  return request("POST", base .. "/rest/api/2/issue", opts, { fields = fields })
end

-- error_message(resp): "jira <status>: <messages>" from Jira's error body.
function M.error_message(resp)
  local status = resp.status
  local parts = {}
  local e = delivery.decode(resp)
  if e then
    if type(e.errorMessages) == "table" then
      for _, m in ipairs(e.errorMessages) do
        parts[#parts + 1] = tostring(m)
      end
    end
    if type(e.errors) == "table" then
      local names = {}
      for k in pairs(e.errors) do
        names[#names + 1] = tostring(k)
      end
      sort(names)
      for _, k in ipairs(names) do
        parts[#parts + 1] = k .. ": " .. tostring(e.errors[k])
      end
    end
  end
  local msg = concat(parts, "; ")
  if msg == "" then
    if status == 401 then
      msg = "authentication failed (check the account e-mail and API token)"
    else
      msg = delivery.snippet(resp.body)
    end
  end
  if status == 429 and resp.headers and resp.headers["retry-after"] then
    msg = msg .. (msg ~= "" and " " or "") .. "(retry after " .. resp.headers["retry-after"] .. "s)"
  end
  return "jira " .. status .. (msg ~= "" and ": " .. msg or "")
end

-- parse_create(resp, base): { key, id, url = <base>/browse/<key> } on 201, else nil, err.
function M.parse_create(resp, base)
  if resp.status ~= 201 and resp.status ~= 200 then
    return nil, M.error_message(resp)
  end
  local v = delivery.decode(resp)
  if not v or type(v.key) ~= "string" then
    return nil, "jira " .. resp.status .. ": no issue key in the answer"
  end
  return { key = v.key, id = tostring(v.id), url = gsub(base, "/+$", "") .. "/browse/" .. v.key }
end

-- create_issue(opts): build_create, send, parse_create.
function M.create_issue(opts)
  local req = M.build_create(opts)
  local resp, err = delivery.send("jira", req)
  if not resp then
    return nil, err
  end
  return M.parse_create(resp, opts.url)
end

-- build_comment(opts): the request for opts = { url, user, token, key, body }.
function M.build_comment(opts)
  local base = check_opts(opts, "comment")
  local key = check_key(opts.key, "comment")
  if type(opts.body) ~= "string" or opts.body == "" then
    error("jira.comment: body required", 2)
  end
  return request("POST", base .. "/rest/api/2/issue/" .. key .. "/comment", opts,
    { body = delivery.truncate(opts.body, TEXT_MAX) })
end

-- parse_comment(resp): { id } on 201, else nil, err.
function M.parse_comment(resp)
  if resp.status ~= 201 and resp.status ~= 200 then
    return nil, M.error_message(resp)
  end
  local v = delivery.decode(resp) or {}
  return { id = v.id ~= nil and tostring(v.id) or nil }
end

-- comment(opts): build_comment, send, parse_comment.
function M.comment(opts)
  local req = M.build_comment(opts)
  local resp, err = delivery.send("jira", req)
  if not resp then
    return nil, err
  end
  return M.parse_comment(resp)
end

-- build_transitions(opts): the GET of the transitions available for opts.key.
function M.build_transitions(opts)
  local base = check_opts(opts, "transition")
  local key = check_key(opts.key, "transition")
  return request("GET", base .. "/rest/api/2/issue/" .. key .. "/transitions", opts)
end

-- find_transition(resp, want): the id of the transition whose id, name or target
-- status name equals want (names compared case-insensitively), else nil, err.
function M.find_transition(resp, want)
  if resp.status ~= 200 then
    return nil, M.error_message(resp)
  end
  local v = delivery.decode(resp)
  local list = v and v.transitions
  if type(list) ~= "table" then
    return nil, "jira " .. resp.status .. ": no transitions in the answer"
  end
  local w = lower(tostring(want))
  local names = {}
  for _, t in ipairs(list) do
    local to = type(t.to) == "table" and t.to.name or nil
    if tostring(t.id) == tostring(want) or lower(tostring(t.name)) == w
      or (to and lower(tostring(to)) == w) then
      return tostring(t.id)
    end
    names[#names + 1] = tostring(t.name)
  end
  return nil, "jira: no transition '" .. tostring(want) .. "' (available: " .. concat(names, ", ") .. ")"
end

-- build_transition(opts, id): the POST moving opts.key through transition id, with
-- opts.fields (e.g. a resolution) and opts.comment added when given.
function M.build_transition(opts, id)
  local base = check_opts(opts, "transition")
  local key = check_key(opts.key, "transition")
  local body = { transition = { id = tostring(id) }, fields = opts.fields }
  if type(opts.comment) == "string" and opts.comment ~= "" then
    body.update = { comment = { { add = { body = delivery.truncate(opts.comment, TEXT_MAX) } } } }
  end
  return request("POST", base .. "/rest/api/2/issue/" .. key .. "/transitions", opts, body)
end

-- parse_transition(resp): true on 204, else nil, err.
function M.parse_transition(resp)
  if resp.status == 204 or resp.status == 200 then
    return true
  end
  return nil, M.error_message(resp)
end

-- transition(opts): opts = { url, user, token, key, transition = name or id,
-- fields, comment }. GETs the transitions, picks one, POSTs it. true or nil, err.
function M.transition(opts)
  if type(opts) ~= "table" or opts.transition == nil then
    error("jira.transition: transition (name or id) required", 2)
  end
  local resp, err = delivery.send("jira", M.build_transitions(opts))
  if not resp then
    return nil, err
  end
  local id
  id, err = M.find_transition(resp, opts.transition)
  if not id then
    return nil, err
  end
  resp, err = delivery.send("jira", M.build_transition(opts, id))
  if not resp then
    return nil, err
  end
  return M.parse_transition(resp)
end

-- code_block(value, lang): a wiki-markup {code} block; tables are printed as
-- indented JSON (lang defaults to "json" for them). "{code" inside the text would
-- close the block early, so it is broken with a zero-width space.
function M.code_block(value, lang)
  local text
  if type(value) == "table" then
    text = delivery.pretty_json(value)
    lang = lang or "json"
  else
    text = tostring(value)
  end
  text = gsub(text, "{code", "{\u{200B}code")
  local open = lang and ("{code:" .. lang .. "}") or "{code}"
  return delivery.truncate(open .. "\n" .. text, TEXT_MAX - 8) .. "\n{code}"
end

return M
