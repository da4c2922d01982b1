#!/usr/bin/env python3
"""Generate a deterministic synthetic CloudTrail corpus for the replay benchmark.

usage: gen_corpus.py N OUT.ndjson [--seed S] [--start 2024-05-06T00:00:00Z]

Writes N CloudTrail records, one compact JSON object per line, in event-time order.
The shapes follow real S3-delivered CloudTrail (field order, userIdentity variants,
tlsDetails, data events, console events, error events); the values are invented.
The same N, seed and start always give the same bytes (Python 3 stdlib only, one
random.Random(seed), no hash-order dependence, no access to /work/shared).

Mix (of N): ~92% read-only calls (Describe*/List*/Get*, sts, kms, S3 data reads),
~5% errors (AccessDenied, AccessDeniedException, Client.UnauthorizedOperation, with an
errorMessage), ~0.5% suspicious activity (console login without MFA, root activity,
trail tampering, public buckets, open security groups, key deletion, ...), the rest
ordinary writes. A summary goes to stderr.
"""

import argparse
import base64
import datetime as dt
import json
import sys
from random import Random

P_ERROR = 0.05
P_SUSPICIOUS = 0.005
P_WRITE = 0.025  # the rest (~0.92) are successful read-only calls

ACCOUNTS = [  # (id, name, weight)
    ("318462095713", "prod", 50),
    ("570214836620", "staging", 25),
    ("902137458806", "security", 10),
    ("144960271358", "sandbox", 15),
]
ORG_MASTER = "627318840915"
REGIONS = [("us-east-1", 50), ("us-west-2", 25), ("eu-west-1", 15), ("eu-central-1", 6),
           ("ap-southeast-2", 3), ("sa-east-1", 1)]
GLOBAL_SOURCES = {"iam.amazonaws.com", "signin.amazonaws.com", "organizations.amazonaws.com",
                  "health.amazonaws.com", "ce.amazonaws.com"}
HUMANS = ["alice.nguyen", "bob.okafor", "carla.mendes", "dmitri.volkov", "emma.schultz",
          "farid.haddad", "grace.lee", "hiro.tanaka", "ines.garcia", "jonas.berg",
          "kavya.rao", "liam.obrien", "maya.cohen", "nils.eriksen"]
SERVICE_USERS = ["ci-deployer", "terraform-runner", "backup-agent", "datadog-integration",
                 "grafana-reader", "legacy-etl"]
SSO_PERMSETS = ["AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "SecurityAudit",
                "DataEngineer"]
INSTANCE_ROLES = ["web-tier-instance-role", "batch-worker-role", "eks-node-group-role",
                  "bastion-instance-role", "jenkins-agent-role"]
LAMBDA_ROLES = ["orders-api-lambda-role", "image-resizer-role", "audit-log-forwarder-role",
                "nightly-report-role", "slack-notifier-role"]
SERVICE_PRINCIPALS = ["cloudformation.amazonaws.com", "autoscaling.amazonaws.com",
                      "elasticloadbalancing.amazonaws.com", "lambda.amazonaws.com",
                      "ecs-tasks.amazonaws.com", "config.amazonaws.com",
                      "ssm.amazonaws.com", "backup.amazonaws.com"]
CLI_AGENTS = [
    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1016-aws md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#{cmd}",
    "aws-cli/2.13.25 Python/3.11.5 Darwin/23.1.0 exe/x86_64 prompt/off command/{cmd}",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.151.1",
    "aws-sdk-java/2.25.16 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.43.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 api/{svc}#1.151.0",
    "aws-sdk-nodejs/2.1591.0 linux/v20.11.1 exec-env/AWS_Lambda_nodejs20.x promise",
]
BROWSER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 Edg/123.0.2420.65",
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
]
HEX = "0123456789abcdef"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ADMIN_PORTS = [22, 3389]
# What AWSService principals (userIdentity.type AWSService) call in this corpus.
SERVICE_APIS = {"AssumeRole", "Decrypt", "GenerateDataKey", "DescribeInstances", "DescribeSubnets",
                "DescribeTargetHealth", "DescribeAutoScalingGroups", "CreateNetworkInterface",
                "CreateLogStream", "DescribeInstanceInformation"}


class World:
    """Accounts, identities and resources, built once from the seed."""

    def __init__(self, rng):
        self.rng = rng
        self.corp_ips = [self.public_ip() for _ in range(4)]
        self.home_ips = {h: self.public_ip() for h in HUMANS}
        self.attacker_ips = [self.public_ip() for _ in range(6)]
        self.identities = []  # (weight, identity dict)
        self.res = {}
        for acct, name, _w in ACCOUNTS:
            self.res[acct] = self.resources(acct, name)
        self.build_identities()

    # --- random primitives -------------------------------------------------------------
    def hexs(self, n):
        return "".join(self.rng.choice(HEX) for _ in range(n))

    def key_id(self, prefix):
        return prefix + "".join(self.rng.choice(B32[:26] + "234567") for _ in range(16))

    def principal(self, prefix):
        return prefix + "".join(self.rng.choice(B32[:26] + "234567") for _ in range(17))

    def public_ip(self):
        while True:
            a = self.rng.choice([3, 18, 34, 35, 44, 52, 54, 63, 81, 85, 91, 104, 136, 146,
                                 151, 176, 185, 188, 195, 212, 217])
            ip = "%d.%d.%d.%d" % (a, self.rng.randrange(256), self.rng.randrange(256),
                                  self.rng.randrange(1, 255))
            return ip

    def uuid(self):
        h = "%032x" % self.rng.getrandbits(128)
        return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) % 4],
                                     h[17:20], h[20:32])

    # --- resources ---------------------------------------------------------------------
    def resources(self, acct, name):
        r = self.rng
        return {
            "instances": ["i-0" + self.hexs(16) for _ in range(40)],
            "vpcs": ["vpc-0" + self.hexs(16) for _ in range(3)],
            "subnets": ["subnet-0" + self.hexs(16) for _ in range(9)],
            "sgs": ["sg-0" + self.hexs(16) for _ in range(14)],
            "acls": ["acl-0" + self.hexs(16) for _ in range(3)],
            "rtbs": ["rtb-0" + self.hexs(16) for _ in range(6)],
            "igws": ["igw-0" + self.hexs(16) for _ in range(2)],
            "volumes": ["vol-0" + self.hexs(16) for _ in range(30)],
            "snapshots": ["snap-0" + self.hexs(16) for _ in range(12)],
            "amis": ["ami-0" + self.hexs(16) for _ in range(8)],
            "buckets": ["%s-%s-%s" % (name, b, acct[-4:]) for b in
                        ("app-assets", "data-lake", "logs", "backups", "terraform-state",
                         "ml-datasets", "static-site", "athena-results")],
            "kms_keys": [self.uuid() for _ in range(6)],
            "secrets": ["%s/%s" % (name, s) for s in
                        ("orders/db-password", "payments/stripe-api-key", "rds/master",
                         "grafana/admin", "ci/github-token", "datadog/api-key",
                         "auth/jwt-signing-key", "reporting/warehouse")],
            "params": ["/%s/%s" % (name, p) for p in
                       ("app/feature-flags", "app/log-level", "db/endpoint",
                        "cwagent/config", "eks/cluster-name", "ami/latest")],
            "functions": ["%s-%s" % (name, f) for f in
                          ("orders-api", "image-resizer", "audit-log-forwarder",
                           "nightly-report", "slack-notifier", "token-refresher")],
            "log_groups": ["/aws/lambda/%s-%s" % (name, f) for f in
                           ("orders-api", "image-resizer", "nightly-report")] +
                          ["/ecs/%s-web" % name, "/aws/eks/%s/cluster" % name,
                           "/aws/vpc/flowlogs"],
            "trails": ["arn:aws:cloudtrail:us-east-1:%s:trail/org-management-events" % acct],
            "tables": ["%s-%s" % (name, t) for t in ("orders", "sessions", "inventory")],
            "clusters": ["%s-eks" % name],
            "repos": ["%s/%s" % (name, x) for x in ("web", "api", "worker")],
            "stacks": ["%s-%s" % (name, x) for x in ("network", "web", "data", "monitoring")],
            "users": HUMANS + SERVICE_USERS,
            "sso_suffix": {p: self.hexs(16) for p in SSO_PERMSETS},
            "role_ids": {},
        }

    def role_id(self, acct, role):
        ids = self.res[acct]["role_ids"]
        if role not in ids:
            ids[role] = self.principal("AROA")
        return ids[role]

    # --- identities --------------------------------------------------------------------
    def build_identities(self):
        r = self.rng
        for acct, name, aw in ACCOUNTS:
            for h in HUMANS[:6]:  # a few old-style IAM users with console access
                self.add(aw * 0.6, {"kind": "iamuser", "acct": acct, "user": h,
                                    "pid": self.principal("AIDA"), "key": self.key_id("AKIA"),
                                    "agent": "console" if r.random() < 0.5 else "cli",
                                    "ip": self.home_ips[h]})
            for s in SERVICE_USERS:
                self.add(aw * 1.6, {"kind": "iamuser", "acct": acct, "user": s,
                                    "pid": self.principal("AIDA"), "key": self.key_id("AKIA"),
                                    "agent": "sdk", "ip": r.choice(self.corp_ips)})
            for h in HUMANS:
                ps = r.choice(SSO_PERMSETS)
                role = "AWSReservedSSO_%s_%s" % (ps, self.res[acct]["sso_suffix"][ps])
                self.add(aw * 1.0, {"kind": "sso", "acct": acct, "role": role,
                                    "session": h + "@example.com",
                                    "path": "aws-reserved/sso.amazonaws.com/",
                                    "agent": "console" if r.random() < 0.6 else "cli",
                                    "ip": self.home_ips[h], "mfa": "false"})
            for role in INSTANCE_ROLES:
                self.add(aw * 3.0, {"kind": "ec2role", "acct": acct, "role": role,
                                    "session": r.choice(self.res[acct]["instances"]),
                                    "path": "", "agent": "sdk",
                                    "ip": "10.%d.%d.%d" % (r.randrange(256), r.randrange(256),
                                                           r.randrange(1, 255)),
                                    "vpce": "vpce-0" + self.hexs(16)})
            for role, fn in zip(LAMBDA_ROLES, self.res[acct]["functions"]):
                self.add(aw * 1.5, {"kind": "lambdarole", "acct": acct, "role": role,
                                    "session": fn, "path": "service-role/", "agent": "lambda",
                                    "ip": self.public_ip()})
            self.add(aw * 0.6, {"kind": "xacct", "acct": acct, "role": "SecurityAuditRole",
                                "session": "prowler-scan", "path": "", "agent": "sdk",
                                "ip": self.corp_ips[0]})
            for svc in SERVICE_PRINCIPALS:
                self.add(aw * 0.8, {"kind": "service", "acct": acct, "svc": svc})
            self.add(aw * 0.05, {"kind": "federated", "acct": acct, "user": "ci-deployer",
                                 "session": "build-%d" % r.randrange(1000, 9999),
                                 "agent": "sdk", "ip": self.corp_ips[1]})
        total = sum(w for w, _ in self.identities)
        acc = 0.0
        self.cum = []
        for w, ident in self.identities:
            acc += w / total
            self.cum.append((acc, ident))

    def add(self, w, ident):
        self.identities.append((w, ident))

    def pick_identity(self):
        x = self.rng.random()
        for c, ident in self.cum:
            if x <= c:
                return ident
        return self.cum[-1][1]


def weighted(rng, items):
    total = sum(w for _, w in items)
    x = rng.random() * total
    for v, w in items:
        x -= w
        if x <= 0:
            return v
    return items[-1][0]


def iso(t):
    return dt.datetime.fromtimestamp(int(t), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_date(t):  # the "Apr 6, 2024, 5:11:28 AM" style some services use
    d = dt.datetime.fromtimestamp(int(t), dt.timezone.utc)
    h = d.hour % 12 or 12
    return "%s %d, %d, %d:%02d:%02d %s" % (d.strftime("%b"), d.day, d.year, h, d.minute,
                                            d.second, "AM" if d.hour < 12 else "PM")


class Gen:
    def __init__(self, seed, start):
        self.rng = Random(seed)
        self.w = World(self.rng)
        self.t = float(start)
        self.counts = {"read": 0, "error": 0, "suspicious": 0, "write": 0}

    # --- envelope ----------------------------------------------------------------------
    def user_identity(self, ident, t):
        w, acct = self.w, ident["acct"]
        k = ident["kind"]
        if k == "iamuser":
            ui = {"type": "IAMUser", "principalId": ident["pid"],
                  "arn": "arn:aws:iam::%s:user/%s" % (acct, ident["user"]),
                  "accountId": acct, "accessKeyId": ident["key"], "userName": ident["user"]}
            if ident["agent"] == "console":
                ui["accessKeyId"] = w.key_id("ASIA")
                ui["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                                        "attributes": {"creationDate": iso(t - self.rng.randrange(60, 7200)),
                                                       "mfaAuthenticated": "true"}}
            return ui
        if k == "service":
            return {"type": "AWSService", "invokedBy": ident["svc"]}
        if k == "federated":
            return {"type": "FederatedUser",
                    "principalId": "%s:%s" % (acct, ident["session"]),
                    "arn": "arn:aws:sts::%s:federated-user/%s" % (acct, ident["session"]),
                    "accountId": acct, "accessKeyId": w.key_id("ASIA"),
                    "sessionContext": {"sessionIssuer": {"type": "IAMUser",
                                                         "principalId": "AIDA" + acct,
                                                         "arn": "arn:aws:iam::%s:user/%s" % (acct, ident["user"]),
                                                         "accountId": acct, "userName": ident["user"]},
                                       "webIdFederationData": {},
                                       "attributes": {"creationDate": iso(t - 300),
                                                      "mfaAuthenticated": "false"}}}
        role = ident["role"]
        rid = w.role_id(acct, role)
        ui = {"type": "AssumedRole", "principalId": "%s:%s" % (rid, ident["session"]),
              "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (acct, role, ident["session"]),
              "accountId": acct, "accessKeyId": w.key_id("ASIA"),
              "sessionContext": {
                  "sessionIssuer": {"type": "Role", "principalId": rid,
                                    "arn": "arn:aws:iam::%s:role/%s%s" % (acct, ident["path"], role),
                                    "accountId": acct, "userName": role},
                  "webIdFederationData": {},
                  "attributes": {"creationDate": iso(t - self.rng.randrange(30, 3500)),
                                 "mfaAuthenticated": ident.get("mfa", "false")}}}
        if k == "ec2role":
            ui["sessionContext"]["ec2RoleDelivery"] = "2.0"
        if k == "sso" and ident["agent"] == "console":
            ui["sessionContext"]["attributes"]["mfaAuthenticated"] = "false"
        return ui

    def agent(self, ident, source, name):
        k = ident["kind"]
        if k == "service":
            return ident["svc"]
        a = ident.get("agent")
        if a == "console":
            return self.rng.choice(BROWSER_AGENTS[:2]) if self.rng.random() < 0.3 else \
                "console.%s" % ("ec2.amazonaws.com" if source == "ec2.amazonaws.com" else "amazonaws.com")
        if a == "lambda":
            return CLI_AGENTS[6]
        svc = source.split(".")[0]
        if a == "cli":
            cmd = "%s.%s" % (svc, "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-"))
            return CLI_AGENTS[self.rng.randrange(2)].format(cmd=cmd)
        return self.rng.choice(CLI_AGENTS[2:6]).format(svc=svc)

    def envelope(self, ident, source, name, region, req, resp, read_only, extra=None,
                 category="Management", ui=None, etype="AwsApiCall"):
        t = self.t
        acct = ident["acct"]
        if source in GLOBAL_SOURCES:
            region = "us-east-1"
        if ui is None:
            ui = self.user_identity(ident, t)
        if ident["kind"] == "service":
            src_ip = ident["svc"]
        else:
            src_ip = ident.get("ip") or self.w.public_ip()
        ev = {"eventVersion": "1.09" if category == "Management" else "1.10",
              "userIdentity": ui,
              "eventTime": iso(t),
              "eventSource": source,
              "eventName": name,
              "awsRegion": region,
              "sourceIPAddress": src_ip,
              "userAgent": self.agent(ident, source, name)}
        if extra and "error" in extra:
            ev["errorCode"], ev["errorMessage"] = extra["error"]
        ev["requestParameters"] = req
        ev["responseElements"] = resp
        if extra and "additionalEventData" in extra:
            ev["additionalEventData"] = extra["additionalEventData"]
        ev["requestID"] = self.w.uuid() if source != "s3.amazonaws.com" else \
            "".join(self.rng.choice("0123456789ABCDEF") for _ in range(16))
        ev["eventID"] = self.w.uuid()
        ev["readOnly"] = read_only
        if extra and "resources" in extra:
            ev["resources"] = extra["resources"]
        ev["eventType"] = etype
        if category == "Management":
            ev["managementEvent"] = True
        else:
            ev["managementEvent"] = False
        ev["recipientAccountId"] = acct
        if ident.get("vpce") and source in ("s3.amazonaws.com", "ssm.amazonaws.com",
                                            "kms.amazonaws.com", "secretsmanager.amazonaws.com",
                                            "sts.amazonaws.com", "logs.amazonaws.com"):
            ev["vpcEndpointId"] = ident["vpce"]
            ev["vpcEndpointAccountId"] = acct
        ev["eventCategory"] = category
        if ident.get("agent") == "console" and ident["kind"] != "service" \
                and source != "signin.amazonaws.com":
            ev["sessionCredentialFromConsole"] = "true"
        if ident["kind"] != "service":
            host = source.replace(".amazonaws.com", "") + "." + region + ".amazonaws.com"
            if source in GLOBAL_SOURCES:
                host = source
            if source == "signin.amazonaws.com":
                host = "signin.aws.amazon.com"
            ev["tlsDetails"] = {"tlsVersion": "TLSv1.3" if self.rng.random() < 0.8 else "TLSv1.2",
                                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                                "clientProvidedHostHeader": host}
        return ev

    # --- catalogue helpers -------------------------------------------------------------
    def res(self, ident, kind):
        return self.rng.choice(self.w.res[ident["acct"]][kind])

    def region(self):
        return weighted(self.rng, REGIONS)

    def filters(self, name, values):
        return {"items": [{"name": name, "valueSet": {"items": [{"value": v} for v in values]}}]}

    # Each entry: (eventSource, eventName, weight, builder(ident, region) -> (req, resp, extra))
    def read_catalogue(self):
        r = self.rng
        ec2 = "ec2.amazonaws.com"
        return [
            (ec2, "DescribeInstances", 60, lambda i, g: (
                {"instancesSet": {"items": [{"instanceId": self.res(i, "instances")}]}, "filterSet": {}}
                if r.random() < 0.5 else
                {"maxResults": 1000, "instancesSet": {},
                 "filterSet": self.filters("tag:Environment", [self.w.res[i["acct"]]["stacks"][0].split("-")[0]])},
                None, None)),
            (ec2, "DescribeInstanceStatus", 25, lambda i, g: (
                {"maxResults": 1000, "filterSet": {}, "instancesSet": {}, "includeAllInstances": False}, None, None)),
            (ec2, "DescribeSecurityGroups", 25, lambda i, g: (
                {"securityGroupIdSet": {"items": [{"groupId": self.res(i, "sgs")}]}, "securityGroupSet": {},
                 "filterSet": {}}, None, None)),
            (ec2, "DescribeVolumes", 20, lambda i, g: (
                {"volumeSet": {}, "filterSet": self.filters("attachment.instance-id", [self.res(i, "instances")])},
                None, None)),
            (ec2, "DescribeSubnets", 12, lambda i, g: ({"maxResults": 1000, "filterSet": {}, "subnetSet": {}}, None, None)),
            (ec2, "DescribeVpcs", 10, lambda i, g: ({"maxResults": 1000, "filterSet": {}, "vpcSet": {}}, None, None)),
            (ec2, "DescribeNetworkInterfaces", 18, lambda i, g: (
                {"networkInterfaceIdSet": {}, "filterSet": self.filters("vpc-id", [self.res(i, "vpcs")])}, None, None)),
            (ec2, "DescribeImages", 10, lambda i, g: (
                {"executableBySet": {}, "imagesSet": {"items": [{"imageId": self.res(i, "amis")}]},
                 "ownersSet": {}, "filterSet": {}}, None, None)),
            (ec2, "DescribeTags", 12, lambda i, g: (
                {"filterSet": self.filters("resource-id", [self.res(i, "instances")]), "maxResults": 200}, None, None)),
            (ec2, "DescribeRouteTables", 8, lambda i, g: ({"maxResults": 100, "filterSet": {}, "routeTableIdSet": {}}, None, None)),
            (ec2, "DescribeAddresses", 6, lambda i, g: ({"publicIpsSet": {}, "filterSet": {}, "allocationIdsSet": {}}, None, None)),
            (ec2, "DescribeSnapshots", 6, lambda i, g: (
                {"maxResults": 1000, "ownersSet": {"items": [{"owner": i["acct"]}]}, "snapshotSet": {},
                 "sharedUsersSet": {}, "filterSet": {}}, None, None)),
            (ec2, "DescribeInstanceTypes", 5, lambda i, g: (
                {"DescribeInstanceTypesRequest": {"InstanceType": {"content": r.choice(["m6i.large", "c7g.xlarge", "t3.medium"]), "tag": 1}}}, None, None)),
            (ec2, "DescribeLaunchTemplateVersions", 5, lambda i, g: (
                {"DescribeLaunchTemplateVersionsRequest": {"LaunchTemplateId": "lt-0" + self.w.hexs(16), "LaunchTemplateVersion": {"content": "$Latest", "tag": 1}}}, None, None)),
            (ec2, "DescribeRegions", 4, lambda i, g: ({"allRegions": True, "regionSet": {}}, None, None)),
            ("ssm.amazonaws.com", "DescribeInstanceInformation", 40, lambda i, g: (
                {"filters": [{"key": "InstanceIds", "values": [self.res(i, "instances")]}]}, None, None)),
            ("ssm.amazonaws.com", "GetParameter", 30, lambda i, g: (
                {"name": self.res(i, "params"), "withDecryption": r.random() < 0.5}, None, None)),
            ("ssm.amazonaws.com", "GetParameters", 10, lambda i, g: (
                {"names": [self.res(i, "params"), self.res(i, "params")], "withDecryption": True}, None, None)),
            ("ssm.amazonaws.com", "ListInstanceAssociations", 15, lambda i, g: (
                {"instanceId": self.res(i, "instances"), "maxResults": 20}, None, None)),
            ("sts.amazonaws.com", "AssumeRole", 35, self.assume_role),
            ("sts.amazonaws.com", "GetCallerIdentity", 25, lambda i, g: (None, None, None)),
            ("kms.amazonaws.com", "Decrypt", 70, self.kms_read),
            ("kms.amazonaws.com", "GenerateDataKey", 40, self.kms_read),
            ("kms.amazonaws.com", "DescribeKey", 8, lambda i, g: ({"keyId": "alias/%s-default" % i["acct"]}, None, None)),
            ("kms.amazonaws.com", "ListAliases", 3, lambda i, g: (None, None, None)),
            ("s3.amazonaws.com", "GetObject", 40, self.s3_data),
            ("s3.amazonaws.com", "HeadObject", 15, self.s3_data),
            ("s3.amazonaws.com", "ListObjects", 10, self.s3_data),
            ("s3.amazonaws.com", "ListBuckets", 4, lambda i, g: ({"Host": "s3.amazonaws.com"}, None, None)),
            ("s3.amazonaws.com", "GetBucketPolicy", 5, self.s3_bucket_read),
            ("s3.amazonaws.com", "GetBucketAcl", 5, self.s3_bucket_read),
            ("s3.amazonaws.com", "GetBucketPublicAccessBlock", 4, self.s3_bucket_read),
            ("s3.amazonaws.com", "GetBucketEncryption", 4, self.s3_bucket_read),
            ("iam.amazonaws.com", "GetRole", 12, lambda i, g: ({"roleName": r.choice(INSTANCE_ROLES + LAMBDA_ROLES)}, None, None)),
            ("iam.amazonaws.com", "ListAttachedRolePolicies", 8, lambda i, g: ({"roleName": r.choice(INSTANCE_ROLES + LAMBDA_ROLES)}, None, None)),
            ("iam.amazonaws.com", "ListAccessKeys", 10, lambda i, g: ({"userName": self.res(i, "users")}, None, None)),
            ("iam.amazonaws.com", "GetAccessKeyLastUsed", 8, lambda i, g: ({"accessKeyId": self.w.key_id("AKIA")}, None, None)),
            ("iam.amazonaws.com", "ListMFADevices", 6, lambda i, g: ({"userName": self.res(i, "users")}, None, None)),
            ("iam.amazonaws.com", "GetPolicyVersion", 5, lambda i, g: (
                {"policyArn": "arn:aws:iam::%s:policy/%s-deploy" % (i["acct"], r.choice(["ci", "app", "data"])), "versionId": "v%d" % r.randrange(1, 9)}, None, None)),
            ("iam.amazonaws.com", "GenerateCredentialReport", 1, lambda i, g: (None, None, None)),
            ("secretsmanager.amazonaws.com", "GetSecretValue", 25, lambda i, g: (
                {"secretId": "arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (g, i["acct"], self.res(i, "secrets"), self.w.hexs(6))}, None, None)),
            ("secretsmanager.amazonaws.com", "DescribeSecret", 6, lambda i, g: ({"secretId": self.res(i, "secrets")}, None, None)),
            ("logs.amazonaws.com", "DescribeLogGroups", 10, lambda i, g: ({"logGroupNamePrefix": self.res(i, "log_groups")[:12], "limit": 50}, None, None)),
            ("logs.amazonaws.com", "DescribeLogStreams", 8, lambda i, g: (
                {"logGroupName": self.res(i, "log_groups"), "orderBy": "LastEventTime", "descending": True, "limit": 50}, None, None)),
            ("logs.amazonaws.com", "FilterLogEvents", 4, lambda i, g: (
                {"logGroupName": self.res(i, "log_groups"), "startTime": int(self.t - 3600) * 1000, "endTime": int(self.t) * 1000, "filterPattern": "ERROR", "interleaved": True}, None, None)),
            ("monitoring.amazonaws.com", "DescribeAlarms", 8, lambda i, g: ({"stateValue": "ALARM", "maxRecords": 100}, None, None)),
            ("monitoring.amazonaws.com", "GetMetricData", 6, lambda i, g: (
                {"metricDataQueries": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/EC2", "metricName": "CPUUtilization", "dimensions": [{"name": "InstanceId", "value": self.res(i, "instances")}]}, "period": 300, "stat": "Average"}}],
                 "startTime": aws_date(self.t - 10800), "endTime": aws_date(self.t)}, None, None)),
            ("lambda.amazonaws.com", "GetFunction20150331v2", 6, lambda i, g: ({"functionName": self.res(i, "functions")}, None, None)),
            ("lambda.amazonaws.com", "ListFunctions20150331", 4, lambda i, g: ({"maxItems": 50}, None, None)),
            ("dynamodb.amazonaws.com", "DescribeTable", 12, lambda i, g: ({"tableName": self.res(i, "tables")}, None, None)),
            ("ecr.amazonaws.com", "GetAuthorizationToken", 10, lambda i, g: (None, None, None)),
            ("ecr.amazonaws.com", "BatchGetImage", 6, lambda i, g: (
                {"repositoryName": self.res(i, "repos"), "imageIds": [{"imageTag": "v1.%d.%d" % (r.randrange(40), r.randrange(20))}], "registryId": i["acct"]}, None, None)),
            ("eks.amazonaws.com", "DescribeCluster", 8, lambda i, g: ({"name": self.res(i, "clusters")}, None, None)),
            ("elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", 14, lambda i, g: (
                {"targetGroupArn": "arn:aws:elasticloadbalancing:%s:%s:targetgroup/web-%s/%s" % (g, i["acct"], r.choice("abc"), self.w.hexs(16))}, None, None)),
            ("autoscaling.amazonaws.com", "DescribeAutoScalingGroups", 8, lambda i, g: ({"maxRecords": 100}, None, None)),
            ("cloudtrail.amazonaws.com", "LookupEvents", 4, lambda i, g: ({"maxResults": 50, "lookupAttributes": [{"attributeKey": "ReadOnly", "attributeValue": "false"}]}, None, None)),
            ("cloudtrail.amazonaws.com", "DescribeTrails", 2, lambda i, g: ({"includeShadowTrails": True, "trailNameList": []}, None, None)),
            ("cloudtrail.amazonaws.com", "GetTrailStatus", 2, lambda i, g: ({"name": self.res(i, "trails")}, None, None)),
            ("health.amazonaws.com", "DescribeEventAggregates", 10, lambda i, g: (
                {"filter": {"eventTypeCategories": ["issue"], "eventStatusCodes": ["open"], "startTimes": [{"from": aws_date(self.t - 7 * 86400)}]}, "aggregateField": "eventTypeCategory"}, None, None)),
            ("config.amazonaws.com", "DescribeConfigRules", 3, lambda i, g: ({"configRuleNames": []}, None, None)),
            ("guardduty.amazonaws.com", "ListDetectors", 3, lambda i, g: ({"maxResults": 50}, None, None)),
            ("cloudformation.amazonaws.com", "DescribeStacks", 8, lambda i, g: ({"stackName": self.res(i, "stacks")}, None, None)),
            ("organizations.amazonaws.com", "DescribeOrganization", 2, lambda i, g: (None, None, None)),
        ]

    def assume_role(self, i, g):
        acct = i["acct"]
        role = self.rng.choice(INSTANCE_ROLES + LAMBDA_ROLES + ["SecurityAuditRole", "ci-deploy-role"])
        sess = "botocore-session-%d" % int(self.t - self.rng.randrange(100))
        rid = self.w.role_id(acct, role)
        resp = {"credentials": {"accessKeyId": self.w.key_id("ASIA"),
                                "sessionToken": base64.b64encode(bytes(self.rng.getrandbits(8) for _ in range(300))).decode(),
                                "expiration": aws_date(self.t + 3600)},
                "assumedRoleUser": {"assumedRoleId": "%s:%s" % (rid, sess),
                                    "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (acct, role, sess)}}
        req = {"roleArn": "arn:aws:iam::%s:role/%s" % (acct, role), "roleSessionName": sess,
               "durationSeconds": 3600}
        extra = {"resources": [{"accountId": acct, "type": "AWS::IAM::Role",
                                "ARN": "arn:aws:iam::%s:role/%s" % (acct, role)}]}
        return req, resp, extra

    def kms_read(self, i, g):
        acct = i["acct"]
        key = self.res(i, "kms_keys")
        ctx = self.rng.choice([
            {"aws:s3:arn": "arn:aws:s3:::%s/%s" % (self.res(i, "buckets"), self.obj_key())},
            {"aws:lambda:FunctionArn": "arn:aws:lambda:%s:%s:function:%s" % (g, acct, self.res(i, "functions"))},
            {"SecretARN": "arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (g, acct, self.res(i, "secrets"), self.w.hexs(6)), "SecretVersionId": self.w.uuid()},
            {"aws:ebs:id": self.res(i, "volumes")},
        ])
        req = {"encryptionContext": ctx, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        if self.rng.random() < 0.5:
            req["keyId"] = "arn:aws:kms:%s:%s:key/%s" % (g, acct, key)
        extra = {"resources": [{"accountId": acct, "type": "AWS::KMS::Key",
                                "ARN": "arn:aws:kms:%s:%s:key/%s" % (g, acct, key)}]}
        return req, None, extra

    def obj_key(self):
        r = self.rng
        return r.choice(["exports/%s/part-%05d.parquet" % (iso(self.t)[:10], r.randrange(200)),
                         "uploads/%s.jpg" % self.w.uuid(),
                         "AWSLogs/%d/elasticloadbalancing/%s.log.gz" % (r.randrange(10**11, 10**12), self.w.hexs(12)),
                         "releases/web/v1.%d.%d/bundle.tar.gz" % (r.randrange(40), r.randrange(20))])

    def s3_data(self, i, g):
        acct = i["acct"]
        b = self.res(i, "buckets")
        k = self.obj_key()
        req = {"bucketName": b, "Host": "%s.s3.%s.amazonaws.com" % (b, g), "key": k}
        if self.rng.random() < 0.2:
            req = {"bucketName": b, "Host": "%s.s3.%s.amazonaws.com" % (b, g), "prefix": k.split("/")[0] + "/",
                   "list-type": "2", "max-keys": "1000"}
        extra = {"additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                         "bytesTransferredIn": 0,
                                         "AuthenticationMethod": "AuthHeader",
                                         "x-amz-id-2": base64.b64encode(bytes(self.rng.getrandbits(8) for _ in range(56))).decode(),
                                         "bytesTransferredOut": self.rng.randrange(200, 50_000_000)},
                 "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (b, k)},
                               {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % b}],
                 "category": "Data"}
        return req, None, extra

    def s3_bucket_read(self, i, g):
        b = self.res(i, "buckets")
        return {"bucketName": b, "Host": "%s.s3.%s.amazonaws.com" % (b, g), "policy": ""}, None, \
            {"additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                     "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                     "x-amz-id-2": base64.b64encode(bytes(self.rng.getrandbits(8) for _ in range(56))).decode(),
                                     "bytesTransferredOut": self.rng.randrange(300, 3000)}}

    def write_catalogue(self):
        r = self.rng
        ec2 = "ec2.amazonaws.com"
        return [
            (ec2, "RunInstances", 6, self.run_instances),
            (ec2, "CreateTags", 14, lambda i, g: (
                {"resourcesSet": {"items": [{"resourceId": self.res(i, "instances")}]},
                 "tagSet": {"items": [{"key": "Owner", "value": r.choice(HUMANS)}, {"key": "CostCenter", "value": "cc-%d" % r.randrange(100, 999)}]}},
                {"requestId": self.w.uuid(), "_return": True}, None)),
            (ec2, "StartInstances", 4, lambda i, g: self.inst_state(i, "pending")),
            (ec2, "StopInstances", 4, lambda i, g: self.inst_state(i, "stopping")),
            (ec2, "CreateSnapshot", 5, lambda i, g: (
                {"volumeId": self.res(i, "volumes"), "description": "aws-backup daily"},
                {"requestId": self.w.uuid(), "snapshotId": "snap-0" + self.w.hexs(16), "status": "pending", "volumeSize": r.choice([8, 20, 100, 500])}, None)),
            (ec2, "CreateNetworkInterface", 5, lambda i, g: (
                {"subnetId": self.res(i, "subnets"), "description": "ELB app/web/%s" % self.w.hexs(16), "groupSet": {"items": [{"groupId": self.res(i, "sgs")}]}},
                {"requestId": self.w.uuid(), "networkInterface": {"networkInterfaceId": "eni-0" + self.w.hexs(16), "subnetId": self.res(i, "subnets"), "status": "pending", "privateIpAddress": "10.0.%d.%d" % (r.randrange(256), r.randrange(1, 255))}}, None)),
            (ec2, "AuthorizeSecurityGroupIngress", 2, self.sg_ingress_internal),
            ("logs.amazonaws.com", "CreateLogStream", 14, lambda i, g: (
                {"logGroupName": self.res(i, "log_groups"), "logStreamName": "%s/[$LATEST]%s" % (iso(self.t)[:10].replace("-", "/"), self.w.hexs(32))}, None, None)),
            ("ssm.amazonaws.com", "PutParameter", 3, lambda i, g: (
                {"name": self.res(i, "params"), "type": "String", "overwrite": True, "tier": "Standard"}, {"version": r.randrange(1, 90), "tier": "Standard"}, None)),
            ("ssm.amazonaws.com", "UpdateInstanceInformation", 12, lambda i, g: (
                {"instanceId": self.res(i, "instances"), "agentVersion": "3.3.131.0", "agentStatus": "Active", "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023", "iPAddress": "10.0.%d.%d" % (r.randrange(256), r.randrange(1, 255)), "computerName": "ip-10-0-%d-%d.ec2.internal" % (r.randrange(256), r.randrange(256)), "agentName": "amazon-ssm-agent", "availabilityZone": g + "a"}, None, None)),
            ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", 2, lambda i, g: (
                {"functionName": self.res(i, "functions"), "publish": True, "dryRun": False},
                {"functionName": self.res(i, "functions"), "runtime": "python3.12", "codeSize": r.randrange(10**4, 10**7), "version": str(r.randrange(1, 200)), "lastUpdateStatus": "InProgress"}, None)),
            ("s3.amazonaws.com", "PutObject", 12, lambda i, g: self.s3_data(i, g)),
            ("cloudformation.amazonaws.com", "UpdateStack", 2, lambda i, g: (
                {"stackName": self.res(i, "stacks"), "usePreviousTemplate": False, "capabilities": ["CAPABILITY_NAMED_IAM"], "templateURL": "https://s3.amazonaws.com/cf-templates-%s/%s.yaml" % (self.w.hexs(12), self.w.hexs(8))},
                {"stackId": "arn:aws:cloudformation:%s:%s:stack/%s/%s" % (g, i["acct"], self.res(i, "stacks"), self.w.uuid())}, None)),
            ("dynamodb.amazonaws.com", "UpdateTimeToLive", 1, lambda i, g: (
                {"tableName": self.res(i, "tables"), "timeToLiveSpecification": {"enabled": True, "attributeName": "expiresAt"}},
                {"timeToLiveSpecification": {"enabled": True, "attributeName": "expiresAt"}}, None)),
            ("kms.amazonaws.com", "CreateGrant", 3, lambda i, g: (
                {"keyId": "arn:aws:kms:%s:%s:key/%s" % (g, i["acct"], self.res(i, "kms_keys")), "granteePrincipal": "arn:aws:iam::%s:role/%s" % (i["acct"], r.choice(INSTANCE_ROLES)), "operations": ["Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "CreateGrant", "DescribeKey"]},
                {"grantId": self.w.hexs(64), "keyId": "arn:aws:kms:%s:%s:key/%s" % (g, i["acct"], self.res(i, "kms_keys"))}, None)),
            ("iam.amazonaws.com", "TagRole", 1, lambda i, g: (
                {"roleName": r.choice(INSTANCE_ROLES), "tags": [{"key": "team", "value": "platform"}]}, None, None)),
            ("sts.amazonaws.com", "GetFederationToken", 1, lambda i, g: (
                {"name": "ci-build", "durationSeconds": 3600}, None, None)),
        ]

    def inst_state(self, i, state):
        inst = self.res(i, "instances")
        return ({"instancesSet": {"items": [{"instanceId": inst}]}},
                {"requestId": self.w.uuid(), "instancesSet": {"items": [{"instanceId": inst,
                 "currentState": {"code": 0 if state == "pending" else 64, "name": state},
                 "previousState": {"code": 80 if state == "pending" else 16,
                                   "name": "stopped" if state == "pending" else "running"}}]}}, None)

    def sg_ingress_internal(self, i, g):
        sg = self.res(i, "sgs")
        port = self.rng.choice([443, 5432, 6379, 8080])
        return ({"groupId": sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": port, "toPort": port,
                 "groups": {}, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/16", "description": "vpc"}]},
                 "ipv6Ranges": {}, "prefixListIds": {}}]}},
                {"requestId": self.w.uuid(), "_return": True, "securityGroupRuleSet": {"items": [
                    {"groupOwnerId": i["acct"], "groupId": sg, "securityGroupRuleId": "sgr-0" + self.w.hexs(16),
                     "isEgress": False, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "10.0.0.0/16"}]}},
                None)

    def run_instances(self, i, g):
        r = self.rng
        acct = i["acct"]
        n = r.choice([1, 1, 1, 2, 3])
        itype = r.choice(["m6i.large", "c6g.xlarge", "t3.medium", "r6i.2xlarge"])
        ami = self.res(i, "amis")
        subnet = self.res(i, "subnets")
        sg = self.res(i, "sgs")
        res_id = "r-0" + self.w.hexs(16)
        items = []
        for k in range(n):
            ip4 = "10.0.%d.%d" % (r.randrange(256), r.randrange(1, 255))
            eni = "eni-0" + self.w.hexs(16)
            items.append({
                "instanceId": "i-0" + self.w.hexs(16), "imageId": ami,
                "currentInstanceBootMode": "uefi", "instanceState": {"code": 0, "name": "pending"},
                "privateDnsName": "ip-%s.ec2.internal" % ip4.replace(".", "-"), "amiLaunchIndex": k,
                "productCodes": {}, "instanceType": itype, "launchTime": int(self.t) * 1000,
                "placement": {"availabilityZone": g + r.choice("abc"), "tenancy": "default"},
                "monitoring": {"state": "disabled"}, "subnetId": subnet, "vpcId": self.res(i, "vpcs"),
                "privateIpAddress": ip4, "stateReason": {"code": "pending", "message": "pending"},
                "architecture": "x86_64", "rootDeviceType": "ebs", "rootDeviceName": "/dev/xvda",
                "blockDeviceMapping": {}, "virtualizationType": "hvm", "hypervisor": "xen",
                "tagSet": {"items": [{"key": "Name", "value": "%s-%d" % (r.choice(["web", "worker", "batch"]), r.randrange(100))}]},
                "groupSet": {"items": [{"groupId": sg, "groupName": "app-%s" % sg[-4:]}]},
                "sourceDestCheck": True,
                "networkInterfaceSet": {"items": [{"networkInterfaceId": eni, "subnetId": subnet,
                    "vpcId": self.res(i, "vpcs"), "ownerId": acct, "status": "in-use",
                    "macAddress": ":".join(self.w.hexs(2) for _ in range(6)),
                    "privateIpAddress": ip4, "sourceDestCheck": True, "interfaceType": "interface",
                    "groupSet": {"items": [{"groupId": sg, "groupName": "app-%s" % sg[-4:]}]},
                    "attachment": {"attachmentId": "eni-attach-0" + self.w.hexs(16), "deviceIndex": 0,
                                   "networkCardIndex": 0, "status": "attaching",
                                   "attachTime": int(self.t) * 1000, "deleteOnTermination": True},
                    "privateIpAddressesSet": {"item": [{"privateIpAddress": ip4, "primary": True}]},
                    "ipv6AddressesSet": {}, "tagSet": {}}]},
                "ebsOptimized": True, "enaSupport": True,
                "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
                "capacityReservationSpecification": {"capacityReservationPreference": "open"},
                "enclaveOptions": {"enabled": False},
                "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2,
                                    "httpEndpoint": "enabled", "httpProtocolIpv4": "enabled",
                                    "httpProtocolIpv6": "disabled", "instanceMetadataTags": "disabled"},
                "maintenanceOptions": {"autoRecovery": "default"},
                "privateDnsNameOptions": {"hostnameType": "ip-name", "enableResourceNameDnsARecord": False,
                                          "enableResourceNameDnsAAAARecord": False}})
        req = {"instancesSet": {"items": [{"imageId": ami, "minCount": n, "maxCount": n}]},
               "instanceType": itype, "blockDeviceMapping": {}, "monitoring": {"enabled": False},
               "disableApiTermination": False, "disableApiStop": False,
               "clientToken": self.w.uuid(),
               "launchTemplate": {"launchTemplateId": "lt-0" + self.w.hexs(16), "version": "$Latest"},
               "subnetId": subnet}
        resp = {"requestId": self.w.uuid(), "reservationId": res_id, "ownerId": acct,
                "groupSet": {}, "instancesSet": {"items": items}}
        return req, resp, None

    # --- suspicious scenarios ----------------------------------------------------------
    def suspicious(self):
        r = self.rng
        kinds = [
            ("console_no_mfa", 14), ("console_failure", 4), ("root_login", 4), ("root_api", 4),
            ("put_bucket_policy", 6), ("put_bucket_acl", 3), ("delete_public_access_block", 3),
            ("stop_logging", 3), ("delete_trail", 2), ("update_trail", 2), ("put_event_selectors", 2),
            ("create_access_key", 6), ("root_access_key", 1), ("create_login_profile", 3),
            ("attach_admin", 4), ("put_user_policy", 2), ("create_user", 3), ("deactivate_mfa", 2),
            ("sg_open_world", 6), ("schedule_key_deletion", 3), ("disable_key", 2),
            ("delete_flow_logs", 2), ("stop_config", 2), ("nacl_open", 2), ("gateway_change", 2),
            ("route_change", 2), ("vpc_change", 2), ("snapshot_public", 2), ("ami_public", 1),
            ("guardduty_delete", 1), ("leave_org", 1), ("securityhub_disable", 1),
            ("secret_burst", 1), ("password_policy", 1), ("unusual_region", 3),
            ("pentest_agent", 2), ("get_password_data", 2),
        ]
        kind = weighted(r, kinds)
        return getattr(self, "s_" + kind)()

    def human_identity(self, acct=None, kind=None):
        cands = [idn for _, idn in self.w.identities
                 if idn["kind"] in ((kind,) if kind else ("iamuser", "sso"))
                 and (acct is None or idn["acct"] == acct)
                 and idn.get("user", "x") not in SERVICE_USERS]
        return self.rng.choice(cands)

    def acct(self):
        return weighted(self.rng, [(a, w) for a, _n, w in ACCOUNTS])

    def attacker(self, base):
        d = dict(base)
        d["ip"] = self.rng.choice(self.w.attacker_ips)
        return d

    def root_identity(self, acct):
        return {"kind": "root", "acct": acct, "agent": "console", "ip": self.rng.choice(self.w.attacker_ips + self.w.corp_ips)}

    def root_ui(self, acct):
        return {"type": "Root", "principalId": acct, "arn": "arn:aws:iam::%s:root" % acct,
                "accountId": acct, "accessKeyId": self.w.key_id("ASIA"),
                "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {},
                                   "attributes": {"creationDate": iso(self.t - 120), "mfaAuthenticated": "false"}}}

    def console_login(self, ident, ui, result, mfa):
        ev = self.envelope(ident, "signin.amazonaws.com", "ConsoleLogin", "us-east-1", None,
                           {"ConsoleLogin": result}, False,
                           extra={"additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                                                          "MobileVersion": "No", "MFAIdentifier": "arn:aws:iam::%s:mfa/%s" % (ident["acct"], ui.get("userName", "root")) if mfa == "Yes" else None,
                                                          "MFAUsed": mfa}},
                           ui=ui, etype="AwsConsoleSignIn")
        if ev["additionalEventData"]["MFAIdentifier"] is None:
            del ev["additionalEventData"]["MFAIdentifier"]
        ev["userAgent"] = self.rng.choice(BROWSER_AGENTS)
        if result == "Failure":
            ev["errorMessage"] = "Failed authentication"
            # CloudTrail puts errorMessage before requestParameters; rebuild the order
            ev = self.reorder(ev)
        return ev

    def reorder(self, ev):
        order = ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
                 "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
                 "responseElements", "additionalEventData", "requestID", "eventID", "readOnly",
                 "resources", "eventType", "managementEvent", "recipientAccountId", "vpcEndpointId",
                 "vpcEndpointAccountId", "eventCategory", "sessionCredentialFromConsole", "tlsDetails"]
        return {k: ev[k] for k in order if k in ev}

    def s_console_no_mfa(self):
        ident = self.human_identity(kind="iamuser")
        ident = dict(ident, agent="console")
        ui = {"type": "IAMUser", "principalId": ident["pid"],
              "arn": "arn:aws:iam::%s:user/%s" % (ident["acct"], ident["user"]),
              "accountId": ident["acct"], "userName": ident["user"]}
        if self.rng.random() < 0.3:
            ident = self.attacker(ident)
        return self.console_login(ident, ui, "Success", "No")

    def s_console_failure(self):
        # password guessing: 1 to 6 failures for one user from one address, seconds apart
        ident = self.attacker(dict(self.human_identity(kind="iamuser"), agent="console"))
        ui = {"type": "IAMUser", "principalId": ident["pid"], "accountId": ident["acct"],
              "accessKeyId": "", "userName": ident["user"]}
        evs = []
        for k in range(self.rng.choice([1, 1, 2, 3, 5, 6])):
            if k:
                self.t += self.rng.uniform(2, 20)
            evs.append(self.console_login(ident, ui, "Failure", "No"))
        return evs

    def s_root_login(self):
        acct = self.acct()
        ident = self.root_identity(acct)
        ui = {"type": "Root", "principalId": acct, "arn": "arn:aws:iam::%s:root" % acct,
              "accountId": acct, "accessKeyId": ""}
        return self.console_login(ident, ui, self.rng.choice(["Success", "Success", "Failure"]),
                                  self.rng.choice(["Yes", "No"]))

    def s_root_api(self):
        acct = self.acct()
        ident = self.root_identity(acct)
        src, name, _w, build = self.rng.choice([c for c in self.read_catalogue()
                                                if c[0] in ("iam.amazonaws.com", "ec2.amazonaws.com", "s3.amazonaws.com")
                                                and c[1] not in ("GetObject", "HeadObject", "ListObjects")])
        g = self.region()
        req, resp, extra = build(ident, g)
        return self.envelope(ident, src, name, g, req, resp, True, extra=extra, ui=self.root_ui(acct))

    def admin_actor(self):
        ident = self.human_identity()
        if self.rng.random() < 0.4:
            ident = self.attacker(ident)
        return ident

    def write_ev(self, ident, source, name, req, resp, region=None, extra=None):
        return self.envelope(ident, source, name, region or self.region(), req, resp, False, extra=extra)

    def s3_extra(self):
        return {"additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                        "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                        "x-amz-id-2": base64.b64encode(bytes(self.rng.getrandbits(8) for _ in range(56))).decode(),
                                        "bytesTransferredOut": 0}}

    def s_put_bucket_policy(self):
        i = self.admin_actor()
        b = self.res(i, "buckets")
        public = self.rng.random() < 0.5
        stmt = {"Sid": "PublicRead" if public else "AllowCloudFront", "Effect": "Allow",
                "Principal": "*" if public else {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*" % b}
        if not public:
            stmt["Condition"] = {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::%s:distribution/E%s" % (i["acct"], self.w.hexs(13).upper())}}
        req = {"bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "policy": "",
               "bucketPolicy": {"Version": "2012-10-17", "Statement": [stmt]}}
        return self.write_ev(i, "s3.amazonaws.com", "PutBucketPolicy", req, None, extra=self.s3_extra())

    def s_put_bucket_acl(self):
        i = self.admin_actor()
        b = self.res(i, "buckets")
        req = {"bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "acl": "",
               "AccessControlPolicy": {"AccessControlList": {"Grant": [
                   {"Grantee": {"xsi:type": "CanonicalUser", "ID": self.w.hexs(64)}, "Permission": "FULL_CONTROL"},
                   {"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]},
                   "Owner": {"ID": self.w.hexs(64)}, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}}
        return self.write_ev(i, "s3.amazonaws.com", "PutBucketAcl", req, None, extra=self.s3_extra())

    def s_delete_public_access_block(self):
        i = self.admin_actor()
        b = self.res(i, "buckets")
        if self.rng.random() < 0.5:
            req = {"bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "publicAccessBlock": ""}
            return self.write_ev(i, "s3.amazonaws.com", "DeleteBucketPublicAccessBlock", req, None, extra=self.s3_extra())
        req = {"bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "publicAccessBlock": "",
               "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                                  "BlockPublicAcls": False, "IgnorePublicAcls": False,
                                                  "BlockPublicPolicy": False, "RestrictPublicBuckets": False}}
        return self.write_ev(i, "s3.amazonaws.com", "PutBucketPublicAccessBlock", req, None, extra=self.s3_extra())

    def trail_ev(self, name, req, resp):
        i = self.admin_actor()
        trail = self.res(i, "trails")
        req = dict(req, name=trail)
        ev = self.write_ev(i, "cloudtrail.amazonaws.com", name, req, resp, region="us-east-1",
                           extra={"resources": [{"accountId": i["acct"], "type": "AWS::CloudTrail::Trail", "ARN": trail}]})
        return ev

    def s_stop_logging(self):
        return self.trail_ev("StopLogging", {}, None)

    def s_delete_trail(self):
        return self.trail_ev("DeleteTrail", {}, None)

    def s_update_trail(self):
        return self.trail_ev("UpdateTrail", {"isMultiRegionTrail": False, "enableLogFileValidation": False},
                             {"name": "org-management-events", "s3BucketName": "org-cloudtrail-logs",
                              "includeGlobalServiceEvents": True, "isMultiRegionTrail": False,
                              "logFileValidationEnabled": False, "isOrganizationTrail": False})

    def s_put_event_selectors(self):
        return self.trail_ev("PutEventSelectors", {"eventSelectors": [{"readWriteType": "ReadOnly", "includeManagementEvents": False, "dataResources": [], "excludeManagementEventSources": []}]}, None)

    def iam_ev(self, i, name, req, resp):
        return self.write_ev(i, "iam.amazonaws.com", name, req, resp, region="us-east-1")

    def s_create_access_key(self):
        i = self.admin_actor()
        target = self.rng.choice(HUMANS + SERVICE_USERS) if self.rng.random() < 0.6 else i.get("user", "ci-deployer")
        return self.iam_ev(i, "CreateAccessKey", {"userName": target},
                           {"accessKey": {"userName": target, "accessKeyId": self.w.key_id("AKIA"),
                                          "status": "Active", "createDate": aws_date(self.t)}})

    def s_root_access_key(self):
        acct = self.acct()
        ident = self.root_identity(acct)
        return self.envelope(ident, "iam.amazonaws.com", "CreateAccessKey", "us-east-1", None,
                             {"accessKey": {"accessKeyId": self.w.key_id("AKIA"), "status": "Active",
                                            "createDate": aws_date(self.t)}}, False, ui=self.root_ui(acct))

    def s_create_login_profile(self):
        i = self.admin_actor()
        target = self.rng.choice(SERVICE_USERS + ["temp-contractor"])
        name = self.rng.choice(["CreateLoginProfile", "UpdateLoginProfile"])
        return self.iam_ev(i, name, {"userName": target, "passwordResetRequired": False},
                           {"loginProfile": {"userName": target, "createDate": aws_date(self.t), "passwordResetRequired": False}}
                           if name == "CreateLoginProfile" else None)

    def s_attach_admin(self):
        i = self.admin_actor()
        name, key, val = self.rng.choice([("AttachUserPolicy", "userName", self.rng.choice(HUMANS)),
                                          ("AttachRolePolicy", "roleName", self.rng.choice(INSTANCE_ROLES)),
                                          ("AttachGroupPolicy", "groupName", "developers")])
        pol = self.rng.choice(["arn:aws:iam::aws:policy/AdministratorAccess",
                               "arn:aws:iam::aws:policy/AdministratorAccess",
                               "arn:aws:iam::aws:policy/ReadOnlyAccess"])
        return self.iam_ev(i, name, {key: val, "policyArn": pol}, None)

    def s_put_user_policy(self):
        i = self.admin_actor()
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        return self.iam_ev(i, "PutUserPolicy", {"userName": self.rng.choice(SERVICE_USERS), "policyName": "inline-%s" % self.w.hexs(6),
                                                "policyDocument": json.dumps(doc, separators=(",", ":"))}, None)

    def s_create_user(self):
        i = self.admin_actor()
        u = "svc-%s" % self.w.hexs(6)
        return self.iam_ev(i, "CreateUser", {"userName": u},
                           {"user": {"path": "/", "userName": u, "userId": self.w.principal("AIDA"),
                                     "arn": "arn:aws:iam::%s:user/%s" % (i["acct"], u), "createDate": aws_date(self.t)}})

    def s_deactivate_mfa(self):
        i = self.admin_actor()
        u = self.rng.choice(HUMANS)
        return self.iam_ev(i, self.rng.choice(["DeactivateMFADevice", "DeleteVirtualMFADevice"]),
                           {"userName": u, "serialNumber": "arn:aws:iam::%s:mfa/%s" % (i["acct"], u)}, None)

    def s_password_policy(self):
        i = self.admin_actor()
        return self.iam_ev(i, "UpdateAccountPasswordPolicy",
                           {"minimumPasswordLength": 8, "requireSymbols": False, "requireNumbers": False,
                            "requireUppercaseCharacters": False, "requireLowercaseCharacters": True,
                            "allowUsersToChangePassword": True, "maxPasswordAge": 0,
                            "passwordReusePrevention": 0}, None)

    def s_sg_open_world(self):
        i = self.admin_actor()
        sg = self.res(i, "sgs")
        port = self.rng.choice(ADMIN_PORTS + [443, 8080, 27017])
        cidr_key, cidr = self.rng.choice([("cidrIp", "0.0.0.0/0"), ("cidrIp", "0.0.0.0/0"), ("cidrIpv6", "::/0")])
        rng_key = "ipRanges" if cidr_key == "cidrIp" else "ipv6Ranges"
        perm = {"ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {},
                "ipRanges": {}, "ipv6Ranges": {}, "prefixListIds": {}}
        perm[rng_key] = {"items": [{cidr_key: cidr}]}
        req = {"groupId": sg, "ipPermissions": {"items": [perm]}}
        resp = {"requestId": self.w.uuid(), "_return": True, "securityGroupRuleSet": {"items": [
            {"groupOwnerId": i["acct"], "groupId": sg, "securityGroupRuleId": "sgr-0" + self.w.hexs(16),
             "isEgress": False, "ipProtocol": "tcp", "fromPort": port, "toPort": port,
             ("cidrIpv4" if cidr_key == "cidrIp" else "cidrIpv6"): cidr}]}}
        return self.write_ev(i, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", req, resp)

    def kms_ev(self, name, req_fn, resp_fn):
        i = self.admin_actor()
        g = self.region()
        key = "arn:aws:kms:%s:%s:key/%s" % (g, i["acct"], self.res(i, "kms_keys"))
        return self.write_ev(i, "kms.amazonaws.com", name, req_fn(key), resp_fn(key), region=g,
                             extra={"resources": [{"accountId": i["acct"], "type": "AWS::KMS::Key", "ARN": key}]})

    def s_schedule_key_deletion(self):
        return self.kms_ev("ScheduleKeyDeletion", lambda k: {"keyId": k, "pendingWindowInDays": 7},
                           lambda k: {"keyId": k, "deletionDate": aws_date(self.t + 7 * 86400),
                                      "keyState": "PendingDeletion", "pendingWindowInDays": 7})

    def s_disable_key(self):
        return self.kms_ev("DisableKey", lambda k: {"keyId": k}, lambda k: None)

    def s_delete_flow_logs(self):
        i = self.admin_actor()
        fl = "fl-0" + self.w.hexs(16)
        rid = self.w.uuid()
        return self.write_ev(i, "ec2.amazonaws.com", "DeleteFlowLogs",
                             {"DeleteFlowLogsRequest": {"FlowLogId": {"content": fl, "tag": 1}}},
                             {"DeleteFlowLogsResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/",
                                                         "requestId": rid, "unsuccessful": ""}})

    def s_stop_config(self):
        i = self.admin_actor()
        name = self.rng.choice(["StopConfigurationRecorder", "DeleteDeliveryChannel", "DeleteConfigurationRecorder"])
        key = "deliveryChannelName" if name == "DeleteDeliveryChannel" else "configurationRecorderName"
        return self.write_ev(i, "config.amazonaws.com", name, {key: "default"}, None)

    def s_nacl_open(self):
        i = self.admin_actor()
        return self.write_ev(i, "ec2.amazonaws.com", "CreateNetworkAclEntry",
                             {"networkAclId": self.res(i, "acls"), "ruleNumber": 90, "egress": False,
                              "ruleAction": "allow", "icmpTypeCode": {}, "portRange": {"from": 0, "to": 65535},
                              "aclProtocol": "6", "cidrBlock": "0.0.0.0/0"},
                             {"requestId": self.w.uuid(), "_return": True})

    def s_gateway_change(self):
        i = self.admin_actor()
        name = self.rng.choice(["AttachInternetGateway", "DetachInternetGateway", "CreateCustomerGateway"])
        if name == "CreateCustomerGateway":
            req = {"type": "ipsec.1", "ipAddress": self.w.public_ip(), "bgpAsn": 65000}
        else:
            req = {"internetGatewayId": self.res(i, "igws"), "vpcId": self.res(i, "vpcs")}
        return self.write_ev(i, "ec2.amazonaws.com", name, req, {"requestId": self.w.uuid(), "_return": True})

    def s_route_change(self):
        i = self.admin_actor()
        name = self.rng.choice(["CreateRoute", "ReplaceRoute", "DeleteRoute", "DisassociateRouteTable"])
        req = {"routeTableId": self.res(i, "rtbs"), "destinationCidrBlock": "0.0.0.0/0"}
        if name != "DeleteRoute":
            req["gatewayId"] = self.res(i, "igws")
        return self.write_ev(i, "ec2.amazonaws.com", name, req, {"requestId": self.w.uuid(), "_return": True})

    def s_vpc_change(self):
        i = self.admin_actor()
        name = self.rng.choice(["ModifyVpcAttribute", "CreateVpcPeeringConnection", "DeleteVpc", "EnableVpcClassicLink"])
        req = {"vpcId": self.res(i, "vpcs")}
        if name == "ModifyVpcAttribute":
            req["enableDnsHostnames"] = {"value": True}
        if name == "CreateVpcPeeringConnection":
            req["peerVpcId"] = "vpc-0" + self.w.hexs(16)
            req["peerOwnerId"] = "%012d" % self.rng.randrange(10**11, 10**12)
        return self.write_ev(i, "ec2.amazonaws.com", name, req, {"requestId": self.w.uuid(), "_return": True})

    def s_snapshot_public(self):
        i = self.admin_actor()
        who = {"group": "all"} if self.rng.random() < 0.6 else {"userId": "%012d" % self.rng.randrange(10**11, 10**12)}
        return self.write_ev(i, "ec2.amazonaws.com", "ModifySnapshotAttribute",
                             {"snapshotId": self.res(i, "snapshots"), "attributeType": "CREATE_VOLUME_PERMISSION",
                              "createVolumePermission": {"add": {"items": [who]}}},
                             {"requestId": self.w.uuid(), "_return": True})

    def s_ami_public(self):
        i = self.admin_actor()
        return self.write_ev(i, "ec2.amazonaws.com", "ModifyImageAttribute",
                             {"imageId": self.res(i, "amis"), "attributeType": "launchPermission",
                              "launchPermission": {"add": {"items": [{"group": "all"}]}}},
                             {"requestId": self.w.uuid(), "_return": True})

    def s_guardduty_delete(self):
        i = self.admin_actor()
        name = self.rng.choice(["DeleteDetector", "UpdateDetector"])
        req = {"detectorId": self.w.hexs(32)}
        if name == "UpdateDetector":
            req["enable"] = False
        return self.write_ev(i, "guardduty.amazonaws.com", name, req, None)

    def s_leave_org(self):
        i = self.admin_actor()
        return self.write_ev(i, "organizations.amazonaws.com", "LeaveOrganization", None, None)

    def s_securityhub_disable(self):
        i = self.admin_actor()
        return self.write_ev(i, "securityhub.amazonaws.com", "DisableSecurityHub", None, None)

    def s_secret_burst(self):
        # one identity reads every secret of the account and a few guessed names in minutes
        i = self.attacker(self.human_identity())
        g = self.region()
        names = list(self.w.res[i["acct"]]["secrets"]) + \
            ["%s/%s" % (i["acct"], x) for x in ("legacy/db", "vpn/psk", "admin/break-glass", "sftp/key")]
        self.rng.shuffle(names)
        evs = []
        for k, sec in enumerate(names):
            if k:
                self.t += self.rng.uniform(1, 15)
            evs.append(self.envelope(i, "secretsmanager.amazonaws.com", "GetSecretValue", g,
                                     {"secretId": "arn:aws:secretsmanager:%s:%s:secret:%s-%s"
                                      % (g, i["acct"], sec, self.w.hexs(6))}, None, True))
        return evs

    def s_unusual_region(self):
        i = self.attacker(self.human_identity())
        g = self.rng.choice(["ap-northeast-3", "me-south-1", "af-south-1", "ap-east-1"])
        req, resp, extra = self.run_instances(i, g)
        req["instanceType"] = "p4d.24xlarge"
        return self.envelope(i, "ec2.amazonaws.com", "RunInstances", g, req, resp, False, extra=extra)

    def s_pentest_agent(self):
        i = self.attacker(self.human_identity())
        src, name, _w, build = self.rng.choice(self.read_catalogue()[:20])
        g = self.region()
        req, resp, extra = build(i, g)
        ev = self.envelope(i, src, name, g, req, resp, True, extra=extra)
        ev["userAgent"] = self.rng.choice([
            "aws-cli/1.22.34 Python/3.9.16 Linux/6.5.0-kali3-amd64 botocore/1.24.46",
            "Boto3/1.26.0 Python/3.11.2 Linux/6.1.0-parrot1-amd64 Botocore/1.29.0",
            "aws-sdk-go/1.44.0 (go1.20; linux; amd64) pacu",
            "Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux lang/python#3.10 Pacu/1.5.2"])
        return ev

    def s_get_password_data(self):
        i = self.attacker(self.human_identity())
        return self.envelope(i, "ec2.amazonaws.com", "GetPasswordData", self.region(),
                             {"instanceId": self.res(i, "instances")}, None, True)

    # --- errors --------------------------------------------------------------------------
    def error_event(self, reads, writes):
        r = self.rng
        i = self.w.pick_identity()
        if i["kind"] == "service":
            i = self.human_identity()
        if r.random() < 0.35 and i["kind"] not in ("sso",):
            i = self.attacker(i)  # recon with stolen keys
        src, name, _w, build = weighted(r, [(c, c[2]) for c in (reads if r.random() < 0.8 else writes)])
        g = self.region()
        req, resp, extra = build(i, g)
        extra = dict(extra or {})
        category = extra.pop("category", "Management")
        arn = self.user_identity(i, self.t)
        ui = arn
        actor = ui.get("arn", "")
        action = "%s:%s" % (src.split(".")[0], name.rstrip("0123456789v").replace("20150331", ""))
        if r.random() < 0.92:
            if src == "ec2.amazonaws.com":
                code = "Client.UnauthorizedOperation"
                msg = ("You are not authorized to perform this operation. User: %s is not authorized to perform: "
                       "%s on resource: arn:aws:ec2:%s:%s:instance/* because no identity-based policy allows the %s "
                       "action. Encoded authorization failure message: %s" %
                       (actor, action, g, i["acct"], action,
                        base64.urlsafe_b64encode(bytes(r.getrandbits(8) for _ in range(r.randrange(200, 600)))).decode().rstrip("=")))
            elif src in ("iam.amazonaws.com", "s3.amazonaws.com", "sts.amazonaws.com", "cloudtrail.amazonaws.com"):
                code = "AccessDenied"
                msg = ("User: %s is not authorized to perform: %s on resource: arn:aws:%s::%s:%s because no "
                       "identity-based policy allows the %s action" %
                       (actor, action, src.split(".")[0], i["acct"], "*", action))
            else:
                code = "AccessDeniedException"
                msg = ("User: %s is not authorized to perform: %s on resource: arn:aws:%s:%s:%s:* because no "
                       "identity-based policy allows the %s action" %
                       (actor, action, src.split(".")[0], g, i["acct"], action))
        else:
            code, msg = r.choice([("ThrottlingException", "Rate exceeded"),
                                  ("NoSuchEntityException", "The role with name %s cannot be found." % r.choice(INSTANCE_ROLES)),
                                  ("ResourceNotFoundException", "Requested resource not found"),
                                  ("Client.InvalidInstanceID.NotFound", "The instance ID '%s' does not exist" % ("i-0" + self.w.hexs(16)))])
        extra["error"] = (code, msg)
        ro = (src, name) in {(c[0], c[1]) for c in reads}
        return self.envelope(i, src, name, g, req, None, ro, extra=extra, category=category, ui=ui)

    # --- main loop ---------------------------------------------------------------------
    def event(self, reads, writes, read_w, write_w, service_w):
        """Returns (category, [events]): one event, or a burst for a few scenarios."""
        r = self.rng
        x = r.random()
        if x < P_SUSPICIOUS:
            evs = self.suspicious()
            return "suspicious", [self.reorder(e) for e in (evs if isinstance(evs, list) else [evs])]
        if x < P_SUSPICIOUS + P_ERROR:
            return "error", [self.reorder(self.error_event(reads, writes))]
        ro = x >= P_SUSPICIOUS + P_ERROR + P_WRITE
        i = self.w.pick_identity()
        if i["kind"] == "service":  # services call a few APIs only
            src, name, _w, build = weighted(r, service_w)
            ro = name != "CreateNetworkInterface" and name != "CreateLogStream"
        else:
            src, name, _w, build = weighted(r, read_w if ro else write_w)
        g = self.region()
        req, resp, extra = build(i, g)
        extra = dict(extra or {})
        category = extra.pop("category", "Management")
        return ("read" if ro else "write"), [self.envelope(i, src, name, g, req, resp, ro, extra=extra,
                                                           category=category)]

    def run(self, n, out):
        reads, writes = self.read_catalogue(), self.write_catalogue()
        read_w = [(c, c[2]) for c in reads]
        write_w = [(c, c[2]) for c in writes]
        service_w = [(c, c[2]) for c in reads + writes if c[1] in SERVICE_APIS]
        total = 0
        pending = []
        for _ in range(n):
            if not pending:
                self.t += self.rng.expovariate(1 / 0.43)  # ~200k events per day
                cat, evs = self.event(reads, writes, read_w, write_w, service_w)
                pending = [(cat, e) for e in evs]
            cat, ev = pending.pop(0)
            self.counts[cat] += 1
            line = json.dumps(ev, separators=(",", ":"))
            out.write(line)
            out.write("\n")
            total += len(line) + 1
        return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of events")
    ap.add_argument("out", help="output NDJSON file ('-' for stdout)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2024-05-06T00:00:00Z", help="time of the first event (UTC)")
    a = ap.parse_args()
    if a.n < 0:
        ap.error("N must be >= 0")
    start = dt.datetime.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()
    g = Gen(a.seed, start)
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8", newline="\n")
    try:
        total = g.run(a.n, out)
    finally:
        if out is not sys.stdout:
            out.close()
    c = g.counts
    print("gen_corpus: %d events, %d bytes (%.0f B/event): %d read-only, %d errors, %d suspicious, %d writes"
          % (a.n, total, total / max(a.n, 1), c["read"], c["error"], c["suspicious"], c["write"]),
          file=sys.stderr)


if __name__ == "__main__":
    main()
