-- VPC flow logs deleted: network evidence stops being recorded.

id = "Bench.AWS.EC2.FlowLogsDeleted"
display_name = "VPC flow logs deleted"
log_types = { "AWS.CloudTrail" }
default_severity = "MEDIUM"
reports = { CIS = { "3.9" }, ["MITRE ATT&CK"] = { "TA0005:T1562.008" } }
tags = { "AWS", "EC2", "Defense Evasion" }

match = { eventSource = "ec2.amazonaws.com", eventName = "DeleteFlowLogs" }

local util = require "bench_util"

-- The request names the flow logs in one of two shapes, depending on the client.
local function flow_log_ids(e)
  local rp = e.requestParameters
  return util.as_list(deep_walk(rp, "DeleteFlowLogsRequest", "FlowLogId", "content")
    or deep_walk(rp, "flowLogIds"))
end

function rule(e)
  return aws_cloudtrail_success(e)
end

function title(e)
  return "Flow logs " .. table.concat(flow_log_ids(e), ", ") .. " deleted by [" .. util.actor(e) .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "deleted", expect = true, title = "Flow logs fl-0e17aa62a21d4bbfe deleted by [emma.schultz]",
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "DeleteFlowLogs",
              userIdentity = { type = "IAMUser", userName = "emma.schultz" },
              requestParameters = { DeleteFlowLogsRequest = { FlowLogId = { content = "fl-0e17aa62a21d4bbfe", tag = 1 } } } } },
  { name = "unauthorized", expect = false,
    event = { eventVersion = "1.09", eventSource = "ec2.amazonaws.com", eventName = "DeleteFlowLogs",
              errorCode = "Client.UnauthorizedOperation", errorMessage = "You are not authorized" } },
}
