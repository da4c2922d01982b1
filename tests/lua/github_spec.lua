-- github_spec.lua — github.alert_context, actor_user, user, event_type.
-- SPDX-License-Identifier: MIT

tests = {
  { name = "alert_context: fields copied", run = function()
    local e = { action = "repo.create", actor = "octocat", actor_location = { country_code = "US" },
      org = "acme", repo = "acme/app", user = "bob", extra = 1 }
    assert_eq(github.alert_context(e), { action = "repo.create", actor = "octocat", actor_location = "US",
      org = "acme", repo = "acme/app", user = "bob" })
  end },
  { name = "alert_context: every default", run = function()
    local ctx = github.alert_context({})
    assert_eq(ctx, { action = "", actor = "", org = "", repo = "", user = "" })
    assert(ctx.actor_location == nil)
    assert(github.alert_context({ actor_location = {} }).actor_location == nil)
    assert(github.alert_context({ actor_location = "US" }).actor_location == nil, "not an object")
  end },
  { name = "actor_user and user", run = function()
    assert_eq(github.actor_user({ actor = "cat" }), "cat")
    assert_eq(github.user({ user = "bob" }), "bob")
    assert(github.actor_user({}) == nil)
    assert(github.user({}) == nil)
  end },
  { name = "event_type: admin_role_assigned", run = function()
    for _, a in ipairs({ "business.add_admin", "business.invite_admin", "team.promote_maintainer" }) do
      assert_eq(github.event_type({ action = a }), "admin_role_assigned", a)
    end
    assert_eq(github.event_type({ action = "team.add_repository", permission = "admin" }), "admin_role_assigned")
    assert(github.event_type({ action = "team.add_repository", permission = "write" }) == nil)
    assert(github.event_type({ action = "team.add_repository" }) == nil)
  end },
  { name = "event_type: mfa_disabled and others", run = function()
    assert_eq(github.event_type({ action = "org.disable_two_factor_requirement" }), "mfa_disabled")
    assert(github.event_type({ action = "org.enable_two_factor_requirement" }) == nil)
    assert(github.event_type({ action = "unknown.admin_role" }) == nil)
    assert(github.event_type({}) == nil)
  end },
}
