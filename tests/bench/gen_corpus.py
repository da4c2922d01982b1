#!/usr/bin/env python3
"""Deterministic synthetic CloudTrail corpus for the replay benchmark.

usage: gen_corpus.py N OUT.ndjson [--seed S]

About 1.4 KB per event. Mix: ~92% read-only calls (Describe*/List*/Get*), ~5% errors
(AccessDenied / UnauthorizedOperation), ~0.5% suspicious calls (root activity, console
login without MFA, bucket policy changes, StopLogging, CreateAccessKey, open security
groups, key deletion), the rest ordinary writes. Shapes follow real CloudTrail records;
nothing is read from outside this script.
"""
import json
import random
import sys

READS = [
    ("ec2.amazonaws.com", "DescribeInstances"), ("ec2.amazonaws.com", "DescribeVolumes"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups"), ("ec2.amazonaws.com", "DescribeSubnets"),
    ("s3.amazonaws.com", "GetBucketLocation"), ("s3.amazonaws.com", "ListBuckets"),
    ("s3.amazonaws.com", "GetBucketAcl"), ("iam.amazonaws.com", "ListAccessKeys"),
    ("iam.amazonaws.com", "GetAccessKeyLastUsed"), ("iam.amazonaws.com", "ListMFADevices"),
    ("iam.amazonaws.com", "ListGroupsForUser"), ("sts.amazonaws.com", "GetCallerIdentity"),
    ("kms.amazonaws.com", "Decrypt"), ("kms.amazonaws.com", "DescribeKey"),
    ("cloudtrail.amazonaws.com", "LookupEvents"), ("health.amazonaws.com", "DescribeEventAggregates"),
    ("lambda.amazonaws.com", "ListFunctions20150331"), ("ssm.amazonaws.com", "DescribeInstanceInformation"),
    ("autoscaling.amazonaws.com", "DescribeAutoScalingGroups"), ("logs.amazonaws.com", "DescribeLogGroups"),
]
WRITES = [
    ("ec2.amazonaws.com", "CreateTags"), ("ec2.amazonaws.com", "RunInstances"),
    ("s3.amazonaws.com", "PutObject"), ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2"),
    ("logs.amazonaws.com", "CreateLogStream"), ("sts.amazonaws.com", "AssumeRole"),
    ("dynamodb.amazonaws.com", "UpdateTable"), ("autoscaling.amazonaws.com", "UpdateAutoScalingGroup"),
]
SUSPICIOUS = [
    ("signin.amazonaws.com", "ConsoleLogin"), ("s3.amazonaws.com", "PutBucketPolicy"),
    ("cloudtrail.amazonaws.com", "StopLogging"), ("cloudtrail.amazonaws.com", "DeleteTrail"),
    ("iam.amazonaws.com", "CreateAccessKey"), ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"),
    ("kms.amazonaws.com", "ScheduleKeyDeletion"), ("iam.amazonaws.com", "PutUserPolicy"),
    ("ec2.amazonaws.com", "CreateRoute"), ("config.amazonaws.com", "StopConfigurationRecorder"),
]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
AGENTS = ["aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/ec2.describe-instances",
          "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.51",
          "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.149.3",
          "console.amazonaws.com", "Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.39.1"]
ACCOUNTS = ["111122223333", "444455556666", "777788889999"]


def identity(r, acct, kind):
    if kind == "root":
        return {"type": "Root", "principalId": acct, "arn": "arn:aws:iam::%s:root" % acct,
                "accountId": acct, "accessKeyId": "ASIA%016d" % r.randrange(10**15)}
    if kind == "user":
        name = "user%03d" % r.randrange(200)
        return {"type": "IAMUser", "principalId": "AIDA%016d" % r.randrange(10**15),
                "arn": "arn:aws:iam::%s:user/%s" % (acct, name), "accountId": acct,
                "accessKeyId": "AKIA%016d" % r.randrange(10**15), "userName": name,
                "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {},
                                   "attributes": {"creationDate": "2024-03-01T10:00:00Z",
                                                  "mfaAuthenticated": r.choice(["true", "false"])}}}
    role = r.choice(["deploy", "ReadOnly", "lambda-exec", "ec2-app", "AWSReservedSSO_Admin_0123456789abcdef"])
    session = r.choice(["i-0%015x" % r.randrange(16**15), "alice@example.com", "botocore-session-%d" % r.randrange(10**10)])
    return {"type": "AssumedRole", "principalId": "AROA%016d:%s" % (r.randrange(10**15), session),
            "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (acct, role, session), "accountId": acct,
            "accessKeyId": "ASIA%016d" % r.randrange(10**15),
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROA%016d" % r.randrange(10**15),
                                                 "arn": "arn:aws:iam::%s:role/%s" % (acct, role),
                                                 "accountId": acct, "userName": role},
                               "webIdFederationData": {},
                               "attributes": {"creationDate": "2024-03-01T10:00:00Z", "mfaAuthenticated": "false"}}}


def params(r, source, name):
    if source == "ec2.amazonaws.com":
        return {"instancesSet": {"items": [{"instanceId": "i-0%015x" % r.randrange(16**15)}]},
                "filterSet": {"items": [{"name": "tag:Environment", "valueSet": {"items": [{"value": "production"}]}}]}}
    if source == "s3.amazonaws.com":
        return {"bucketName": "bucket-%d" % r.randrange(50), "Host": "bucket-%d.s3.us-east-1.amazonaws.com" % r.randrange(50),
                "acl": ""}
    if source == "iam.amazonaws.com":
        return {"userName": "user%03d" % r.randrange(200)}
    if source == "kms.amazonaws.com":
        return {"keyId": "arn:aws:kms:us-east-1:111122223333:key/%08x-0000-4000-8000-%012x" % (r.randrange(16**8), r.randrange(16**12)),
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    return {"maxResults": 100, "nextToken": None}


def event(r, i, t0):
    acct = r.choice(ACCOUNTS)
    x = r.random()
    kind = "role" if r.random() < 0.7 else "user"
    error = None
    if x < 0.005:
        source, name = r.choice(SUSPICIOUS)
        kind = r.choice(["root", "user", "role"])
        ro = False
    elif x < 0.055:
        source, name = r.choice(READS + WRITES)
        error = r.choice([("AccessDenied", "User is not authorized to perform this operation"),
                          ("Client.UnauthorizedOperation", "You are not authorized to perform this operation.")])
        ro = name.startswith(("Describe", "List", "Get", "Lookup"))
    elif x < 0.975:
        source, name = r.choice(READS)
        ro = True
    else:
        source, name = r.choice(WRITES)
        ro = False
    ts = t0 + i * 0.05
    sec = int(ts)
    e = {
        "eventVersion": "1.09",
        "userIdentity": identity(r, acct, kind),
        "eventTime": "%s" % __import__("time").strftime("%Y-%m-%dT%H:%M:%SZ", __import__("time").gmtime(sec)),
        "eventSource": source,
        "eventName": name,
        "awsRegion": r.choice(REGIONS),
        "sourceIPAddress": r.choice(["%d.%d.%d.%d" % (r.randrange(1, 223), r.randrange(256), r.randrange(256), r.randrange(256)),
                                     "10.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randrange(256)),
                                     source]),
        "userAgent": r.choice(AGENTS),
        "requestParameters": params(r, source, name),
        "responseElements": None if ro else {"requestId": "%032x" % r.randrange(16**32), "_return": True},
        "requestID": "%08x-%04x-%04x-%04x-%012x" % (r.randrange(16**8), r.randrange(16**4), r.randrange(16**4), r.randrange(16**4), r.randrange(16**12)),
        "eventID": "%08x-%04x-%04x-%04x-%012x" % (r.randrange(16**8), r.randrange(16**4), r.randrange(16**4), r.randrange(16**4), r.randrange(16**12)),
        "readOnly": ro,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": acct,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": "%s.%s.amazonaws.com" % (source.split(".")[0], "us-east-1")},
    }
    if source == "s3.amazonaws.com" or r.random() < 0.5:
        e["additionalEventData"] = {"SignatureVersion": "SigV4", "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
                                    "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                    "x-amz-id-2": "%064x" % r.randrange(16**64), "bytesTransferredOut": r.randrange(4096)}
    if error:
        e["errorCode"], e["errorMessage"] = error
    if name == "ConsoleLogin":
        e["eventType"] = "AwsConsoleSignIn"
        e["responseElements"] = {"ConsoleLogin": r.choice(["Success", "Failure"])}
        e["additionalEventData"] = {"LoginTo": "https://console.aws.amazon.com/console/home",
                                    "MobileVersion": "No", "MFAUsed": r.choice(["Yes", "No"])}
    if name == "AuthorizeSecurityGroupIngress":
        e["requestParameters"] = {"groupId": "sg-0%015x" % r.randrange(16**15), "ipPermissions": {"items": [
            {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}
    return e


def main():
    args = sys.argv[1:]
    seed = 1
    if "--seed" in args:
        k = args.index("--seed")
        seed = int(args[k + 1])
        del args[k:k + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    n, out = int(args[0]), args[1]
    r = random.Random(seed)
    t0 = 1730361600  # 2024-10-31T08:00:00Z
    total = 0
    with open(out, "w") as f:
        for i in range(n):
            line = json.dumps(event(r, i, t0), separators=(",", ":")) + "\n"
            total += len(line)
            f.write(line)
    print("%d events, %.0f bytes/event" % (n, total / max(n, 1)), file=sys.stderr)


if __name__ == "__main__":
    main()
