#!/usr/bin/env python3
"""Generates N detections with distinct prefilters, for the scaling benchmark.

usage: gen_detections.py N OUTDIR

Each waits for its own eventName (none of which the corpus contains) combined with an
eventSource, like a pack grown to thousands of narrow rules. With the prefilter index,
an event reaches none of them, so the cost per event should not move.
"""
import os
import sys

SOURCES = ["ec2", "s3", "iam", "kms", "sts", "lambda", "ssm", "logs"]

TEMPLATE = '''id = "Bench.Generated.{i}"
log_types = {{ "AWS.CloudTrail" }}
default_severity = "{sev}"
display_name = "Generated detection {i}"
match = {{ eventName = {{ "BenchGenerated{i}", "BenchGeneratedAlt{i}" }}, eventSource = "{src}.amazonaws.com" }}

function rule(e)
  return aws_cloudtrail_success(e) and deep_get(e, "userIdentity", "type") ~= "AWSService"
end

function title(e)
  return "Generated {i}: " .. e.eventName .. " by " .. (deep_get(e, "userIdentity", "arn") or "?")
end

tests = {{
  {{ name = "match", expect = true,
    event = {{ eventName = "BenchGenerated{i}", eventSource = "{src}.amazonaws.com", userIdentity = {{ type = "IAMUser" }} }} }},
  {{ name = "other name", expect = false,
    event = {{ eventName = "DescribeInstances", eventSource = "{src}.amazonaws.com" }} }},
}}
'''


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    n, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    sevs = ["INFO", "LOW", "MEDIUM", "HIGH"]
    for i in range(n):
        with open(os.path.join(out, "gen_%05d.lua" % i), "w") as f:
            f.write(TEMPLATE.format(i=i, sev=sevs[i % 4], src=SOURCES[i % len(SOURCES)]))


if __name__ == "__main__":
    main()
