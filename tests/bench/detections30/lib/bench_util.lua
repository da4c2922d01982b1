-- Small helpers shared by the bench detections.

local M = {}

-- deep_walk returns nil, one value, or an array of values: always give an array.
function M.as_list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return { v }
end

-- True when `list` (an array or a single value) holds `want`.
function M.has(list, want)
  for _, v in ipairs(M.as_list(list)) do
    if v == want then return true end
  end
  return false
end

-- Who did it, for titles: the data-model actor, else the ARN, else a placeholder.
function M.actor(e)
  local who = aws.actor_user(e)
  if who == nil or strings.starts_with(who, "Unknown") then
    who = deep_get(e, "userIdentity", "arn") or deep_get(e, "userIdentity", "invokedBy") or who
  end
  return who or "<unknown actor>"
end

-- The name the actor is known by in IAM requests: the user name of an IAM user, the
-- session name of an assumed role.
function M.actor_name(e)
  local ui = e.userIdentity
  if ui == nil then return nil end
  if ui.type == "IAMUser" then return ui.userName end
  local arn = ui.arn
  if type(arn) == "string" then
    local parts = strings.split(arn, "/")
    return parts[#parts]
  end
  return nil
end

return M
