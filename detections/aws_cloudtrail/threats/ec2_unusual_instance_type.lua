-- Threat.AWS.EC2.UnusualInstanceType: RunInstances asked for a GPU, accelerator or very
-- large instance type, the favourite of cryptominers and LLM-jackers (Stratus Red Team
-- aws.execution.ec2-launch-unusual-instances). Denied attempts count (MEDIUM: somebody
-- tried); a successful launch is HIGH. The type list is built in; set pack_config
-- `unusual_instance_types` (globs) to replace it.

config = require "pack_config"
local util = require "pack_util"

id = "Threat.AWS.EC2.UnusualInstanceType"
display_name = "Unusual EC2 instance type requested"
log_types = { "AWS.CloudTrail" }
default_severity = "HIGH"
dedup_minutes = 60
reports = {
  ["MITRE ATT&CK"] = { "TA0040:T1496" },
  ["Stratus Red Team"] = { "aws.execution.ec2-launch-unusual-instances" },
}
tags = { "AWS", "EC2", "Resource Hijacking" }
default_runbook = "Check whether the team owning the account uses GPU/accelerated " ..
  "instances. If not, terminate the instances, revoke the caller's credentials and look " ..
  "for the same request in other regions."

match = { eventSource = "ec2.amazonaws.com", eventName = "RunInstances" }

local DEFAULT_TYPES = {
  "p[2-6]*.*", "g[2-6]*.*", "gr6.*", "inf[1-2].*", "trn[1-2]*.*", "dl[1-2]*.*",
  "f[1-2].*", "vt1.*", "x[1-2]*.*", "u-*.*", "*.metal", "*.24xlarge", "*.32xlarge", "*.48xlarge",
  "*.56xlarge", "*.96xlarge", "*.112xlarge",
}

local function instance_type(e)
  return deep_get(e, "requestParameters", "instanceType") or
    deep_get(e, "requestParameters", "launchTemplate", "instanceType")
end

function rule(e)
  local t = instance_type(e)
  if type(t) ~= "string" then return false end
  local patterns = config.unusual_instance_types
  if patterns == nil then patterns = DEFAULT_TYPES end
  return util.glob_any(patterns, t)
end

function title(e)
  local outcome = aws_cloudtrail_success(e) and "launched" or "requested (denied)"
  return "Unusual EC2 instance type " .. util.text(instance_type(e)) .. " " .. outcome .. " in " ..
    util.text(e.awsRegion) .. " by [" .. util.text(util.actor_arn(e)) .. "]"
end

function dedup(e)
  return util.text(util.actor_arn(e)) .. ":" .. util.text(instance_type(e))
end

function severity(e)
  if aws_cloudtrail_success(e) then return "DEFAULT" end
  return "MEDIUM"
end

function alert_context(e)
  local ctx = aws.rule_context(e)
  ctx.instanceType = instance_type(e)
  ctx.errorCode = e.errorCode
  return ctx
end

local function run(t, extra)
  local ev = { eventSource = "ec2.amazonaws.com", eventName = "RunInstances", eventTime = "2024-08-01T11:30:23Z",
    awsRegion = "us-east-1", recipientAccountId = "111122223333",
    requestParameters = { instanceType = t, instancesSet = { items = { { imageId = "ami-1", minCount = 1, maxCount = 1 } } } },
    userIdentity = { type = "IAMUser", arn = "arn:aws:iam::111122223333:user/dev" } }
  for k, v in pairs(extra or {}) do ev[k] = v end
  return ev
end

tests = {
  { name = "GPU instance launched", expect = true, severity = "HIGH",
    title = "Unusual EC2 instance type p3.16xlarge launched in us-east-1 by [arn:aws:iam::111122223333:user/dev]",
    event = run("p3.16xlarge") },
  { name = "denied p2.xlarge attempt", expect = true, severity = "MEDIUM",
    event = run("p2.xlarge", { errorCode = "Client.UnauthorizedOperation" }) },
  { name = "very large general purpose size", expect = true, event = run("m5.24xlarge") },
  { name = "bare metal", expect = true, event = run("c5.metal") },
  { name = "ordinary type", expect = false, event = run("t3.micro") },
  { name = "graviton general purpose is not GPU", expect = false, event = run("m7g.large") },
  { name = "custom list (mocked config) excludes GPUs", expect = false,
    mocks = { config = { unusual_instance_types = { "x2*.*" } } }, event = run("p3.16xlarge") },
}
