-- Configuration shared by the bench detections: the organisation's approved regions,
-- the office egress ranges and the user-agent markers of offensive tooling.
-- (A real pack keeps the same kind of table in lib/pack_config.lua.)

return {
  -- Regions where this organisation runs workloads; writes elsewhere are suspicious.
  approved_regions = {
    ["us-east-1"] = true, ["us-west-2"] = true, ["eu-west-1"] = true,
    ["eu-central-1"] = true, ["ap-southeast-2"] = true, ["sa-east-1"] = true,
  },
  -- Office and VPN egress. Console logins from elsewhere get a higher severity.
  trusted_cidrs = { "198.18.0.0/15", "52.94.76.0/22" },
  -- Lower-case substrings of user agents used by offensive distributions and tools.
  offensive_agent_markers = { "kali", "parrot", "pentoo", "pacu", "sqlmap", "nmap", "scoutsuite-offensive" },
  -- Managed policies that grant everything.
  admin_policy_arns = {
    ["arn:aws:iam::aws:policy/AdministratorAccess"] = true,
    ["arn:aws:iam::aws:policy/IAMFullAccess"] = true,
  },
}
