-- pack_config.lua — the one place an analyst edits to fit the AWS detection pack to an
-- estate. Detections load it as a global, `config = require "pack_config"`, and read it
-- on every call, so a test can replace the whole table with a mock:
--   mocks = { config = { privileged_roles = { "*-admin" } } }
-- Lists of estate facts (production accounts, monitored buckets, break-glass users)
-- are lookup tables instead: detections/lookups/*.csv (docs/lookups.md).
-- Every list is a plain array of strings. Entries documented as "globs" accept the
-- shell-style patterns of strings.glob (`*`, `?`, `[...]`). A missing or empty list
-- turns the corresponding feature off; it never raises.
-- The values shipped below are EXAMPLES (the account and bucket are those of the pack's
-- own tests); replace them before production use. See docs/detection-pack.md.
-- SPDX-License-Identifier: MIT

return {
  -- Roles whose assumption is reported (Threat.AWS.IAM.PrivilegedRoleAssumed): globs
  -- matched against the role name and against the full role ARN.
  privileged_roles = {
    "OrganizationAccountAccessRole",
    "AWSReservedSSO_AdministratorAccess_*",
    "*-admin",
  },

  -- Account ids outside this account that are nevertheless trusted: your other
  -- organisation accounts, backup and security tooling vendors. Sharing a snapshot or
  -- AMI with them, or trusting them in a role policy, is not reported.
  trusted_accounts = {},

  -- CIDRs from which your EC2 instances reach AWS APIs (NAT gateway and Elastic IPs).
  -- Instance-profile credentials used from any other public address are reported by
  -- Threat.AWS.EC2.InstanceCredentialsOutsideAWS. When this list is empty, only the
  -- workstation-user-agent heuristic of that detection applies. The shipped value is a
  -- documentation range (TEST-NET-3): with it, every public source counts as outside.
  instance_egress_cidrs = { "203.0.113.0/24" },

  -- Principals that deploy Lambda code and layers (CI/CD): globs matched against the
  -- caller ARN and the session issuer role name. Their UpdateFunctionCode and layer
  -- changes are not reported.
  lambda_deployers = {},

  -- Instance type globs reported by Threat.AWS.EC2.UnusualInstanceType. Leave nil to
  -- use the detection's built-in GPU/accelerator/very-large list.
  unusual_instance_types = nil,
}
