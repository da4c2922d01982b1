-- An access key created for a different IAM user: the classic backdoor of an attacker
-- who holds iam:CreateAccessKey. Keys people make for themselves are not alerted.

id = "Bench.AWS.IAM.AccessKeyForOtherUser"
display_name = "Access key created for another user"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { ["MITRE ATT&CK"] = { "TA0003:T1098.001" } }
tags = { "AWS", "IAM", "Persistence" }

match = { eventSource = "iam.amazonaws.com", eventName = "CreateAccessKey" }

local util = require "bench_util"

function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  if deep_get(e, "userIdentity", "type") == "Root" then return false end -- its own detection
  local target = deep_get(e, "requestParameters", "userName")
  return target ~= nil and target ~= util.actor_name(e)
end

function title(e)
  return "[" .. util.actor(e) .. "] created an access key for IAM user ["
    .. deep_get(e, "requestParameters", "userName") .. "]"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.accessKeyId = deep_get(e, "responseElements", "accessKey", "accessKeyId")
  return ctx
end

local function create(actor_ui, target)
  return { eventVersion = "1.09", eventSource = "iam.amazonaws.com", eventName = "CreateAccessKey",
           userIdentity = actor_ui, requestParameters = { userName = target },
           responseElements = { accessKey = { userName = target, accessKeyId = "AKIAXZ4EXAMPLE5KEY22",
                                              status = "Active" } } }
end

tests = {
  { name = "key for someone else", expect = true,
    title = "[carla.mendes] created an access key for IAM user [ci-deployer]",
    context = { accessKeyId = "AKIAXZ4EXAMPLE5KEY22" },
    event = create({ type = "IAMUser", userName = "carla.mendes",
                     arn = "arn:aws:iam::318462095713:user/carla.mendes" }, "ci-deployer") },
  { name = "assumed role making a key", expect = true,
    event = create({ type = "AssumedRole",
                     arn = "arn:aws:sts::318462095713:assumed-role/AWSReservedSSO_Admin_0a1b/emma.schultz@example.com",
                     sessionContext = { sessionIssuer = { userName = "AWSReservedSSO_Admin_0a1b" } },
                     principalId = "AROAEXAMPLE:emma.schultz@example.com" }, "backup-agent") },
  { name = "own key", expect = false,
    event = create({ type = "IAMUser", userName = "carla.mendes" }, "carla.mendes") },
  { name = "root is handled elsewhere", expect = false,
    event = create({ type = "Root", arn = "arn:aws:iam::318462095713:root" }, "ci-deployer") },
}
