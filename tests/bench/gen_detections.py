#!/usr/bin/env python3
"""Generate N small detections with distinct prefilters, for the scaling benchmark.

usage: gen_detections.py N OUTDIR [--seed S]

Writes OUTDIR/gen_00000.lua ... gen_<N-1>.lua. Each detection waits for its own
eventName (BenchGenerated<i>, which gen_corpus.py never emits), alone or combined with
other fields, in five prefilter shapes:

  { eventName = "BenchGenerated<i>" }
  { eventSource = "<svc>.amazonaws.com", eventName = "BenchGenerated<i>" }
  { ["userIdentity.type"] = "<type>", eventName = { "BenchGenerated<i>", "BenchGenerated<i>Batch" } }
  { eventSource = "<svc>.amazonaws.com", ["userIdentity.type"] = "<type>", eventName = "BenchGenerated<i>" }
  { eventName = "BenchGenerated<i>", readOnly = false }

so that a pack of thousands of narrow rules sits beside the 30 real ones. With a
prefilter index an event reaches none of them, and the cost per event should not move;
an index that keyed on eventSource or userIdentity.type alone would show here. The rule
bodies are small and realistic (success check, public source address, MFA, region,
allow-list, request field) and each file carries a positive and a negative test, so
`lp0 test OUTDIR` checks them. Output is deterministic for a given N and seed.
"""

import argparse
import os
from random import Random

SOURCES = ["ec2", "s3", "iam", "kms", "sts", "lambda", "ssm", "logs", "rds", "dynamodb",
           "secretsmanager", "cloudtrail", "guardduty", "eks", "ecr", "sns", "sqs"]
TYPES = ["IAMUser", "AssumedRole", "Root", "FederatedUser"]
SEVERITIES = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


def lua(v, indent=""):
    """A Python value as a Lua literal (dicts with sorted keys, so output is stable)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "{ " + ", ".join(lua(x) for x in v) + " }"
    parts = []
    for k in sorted(v):
        key = k if k.isidentifier() else '["%s"]' % k
        parts.append("%s = %s" % (key, lua(v[k])))
    return "{ " + ", ".join(parts) + " }"


def lua_event(ev, indent="      "):
    """A test event: one top-level field per line, nested values inline."""
    lines = ["%s%s = %s," % (indent, k if k.isidentifier() else '["%s"]' % k, lua(ev[k]))
             for k in sorted(ev)]
    return "{\n" + "\n".join(lines) + "\n" + indent[:-2] + "}"


def merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# Rule bodies: (lua code, positive event fields, negative event fields). The code may
# use the file's constants NAME and N.
BODIES = [
    ("""function rule(e)
  return aws_cloudtrail_success(e) and deep_get(e, "userIdentity", "type") ~= "AWSService"
end""",
     {"userIdentity": {"arn": "arn:aws:iam::318462095713:user/alice"}},
     {"errorCode": "AccessDenied", "errorMessage": "denied"}),

    ("""function rule(e)
  if not aws_cloudtrail_success(e) then return false end
  return ip.is_public(e.sourceIPAddress)
end""",
     {"sourceIPAddress": "81.2.69.160"},
     {"sourceIPAddress": "10.1.2.3"}),

    ("""function rule(e)
  local mfa = deep_get(e, "userIdentity", "sessionContext", "attributes", "mfaAuthenticated")
  return aws_cloudtrail_success(e) and mfa ~= "true"
end""",
     {"userIdentity": {"sessionContext": {"attributes": {"mfaAuthenticated": "false"}}}},
     {"userIdentity": {"sessionContext": {"attributes": {"mfaAuthenticated": "true"}}}}),

    ("""local HOME = { "us-east-1", "us-west-2", "eu-west-1" }

function rule(e)
  for _, r in ipairs(HOME) do
    if e.awsRegion == r then return false end
  end
  return aws_cloudtrail_success(e)
end""",
     {"awsRegion": "ap-east-1"},
     {"awsRegion": "us-west-2"}),

    ("""local ALLOWED = { ["terraform-runner"] = true, ["ci-deployer"] = true }

function rule(e)
  return aws_cloudtrail_success(e) and not ALLOWED[aws.actor_user(e) or ""]
end""",
     {"userIdentity": {"userName": "mallory",
                       "sessionContext": {"sessionIssuer": {"userName": "mallory"}}}},
     {"userIdentity": {"userName": "terraform-runner",
                       "sessionContext": {"sessionIssuer": {"userName": "terraform-runner"}}}}),

    ("""function rule(e)
  local target = deep_get(e, "requestParameters", "name") or ""
  return strings.contains(target, "prod") and not strings.ends_with(target, "-readonly")
end""",
     {"requestParameters": {"name": "prod-orders"}},
     {"requestParameters": {"name": "prod-orders-readonly"}}),
]

# Identity fields the bodies' tests need, per userIdentity.type.
IDENTITY = {
    "IAMUser": {"type": "IAMUser", "userName": "alice"},
    "AssumedRole": {"type": "AssumedRole",
                    "sessionContext": {"sessionIssuer": {"userName": "app-role"}}},
    "Root": {"type": "Root", "accountId": "318462095713"},
    "FederatedUser": {"type": "FederatedUser",
                      "sessionContext": {"sessionIssuer": {"userName": "ci-deployer"}}},
}


def prefilter(i, rng):
    name = "BenchGenerated%d" % i
    src = "%s.amazonaws.com" % rng.choice(SOURCES)
    typ = rng.choice(TYPES)
    shape = i % 5
    if shape == 0:
        return {"eventName": name}
    if shape == 1:
        return {"eventSource": src, "eventName": name}
    if shape == 2:
        return {"userIdentity.type": typ, "eventName": [name, name + "Batch"]}
    if shape == 3:
        return {"eventSource": src, "userIdentity.type": typ, "eventName": name}
    return {"eventName": name, "readOnly": False}


def base_event(match):
    """The smallest CloudTrail event that passes `match`."""
    ev = {"eventVersion": "1.09", "eventSource": "ec2.amazonaws.com", "awsRegion": "us-east-1",
          "recipientAccountId": "318462095713", "sourceIPAddress": "81.2.69.160",
          "userIdentity": dict(IDENTITY["IAMUser"])}
    for k, v in match.items():
        v = v[0] if isinstance(v, list) else v
        if k == "userIdentity.type":
            ev["userIdentity"] = dict(IDENTITY[v])
        else:
            ev[k] = v
    return ev


def detection(i, rng):
    match = prefilter(i, rng)
    body, pos, neg = BODIES[rng.randrange(len(BODIES))]
    sev = rng.choice(SEVERITIES)
    dedup = rng.choice([15, 30, 60, 60, 120])
    base = base_event(match)
    # The positive event must keep the type the prefilter asks for.
    pos_ev = merge(base, pos)
    neg_ev = merge(base, neg)
    if "userIdentity.type" in match:
        pos_ev["userIdentity"]["type"] = neg_ev["userIdentity"]["type"] = base["userIdentity"]["type"]
    match_lua = "{ " + ", ".join(
        "%s = %s" % (k if k.isidentifier() else '["%s"]' % k, lua(v)) for k, v in match.items()) + " }"
    return '''-- Generated by tests/bench/gen_detections.py for the scaling benchmark; do not edit.

id = "Bench.Generated.%(i)05d"
display_name = "Generated detection %(i)d"
log_types = { "AWS.CloudTrail" }
default_severity = "%(sev)s"
dedup_minutes = %(dedup)d
tags = { "Bench", "Generated" }

match = %(match)s

%(body)s

function title(e)
  return "Generated %(i)d: " .. (e.eventName or "?") .. " by [" .. (aws.actor_user(e) or "?") .. "]"
end

function alert_context(e)
  return aws.rule_context(e)
end

tests = {
  { name = "matches", expect = true, event = %(pos)s },
  { name = "rule says no", expect = false, event = %(neg)s },
}
''' % {"i": i, "sev": sev, "dedup": dedup, "match": match_lua, "body": body,
       "pos": lua_event(pos_ev), "neg": lua_event(neg_ev)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of detections")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.n < 0:
        ap.error("N must be >= 0")
    rng = Random(a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    for i in range(a.n):
        with open(os.path.join(a.outdir, "gen_%05d.lua" % i), "w", encoding="utf-8", newline="\n") as f:
            f.write(detection(i, rng))


if __name__ == "__main__":
    main()
