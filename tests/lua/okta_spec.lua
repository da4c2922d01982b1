-- okta_spec.lua — okta.alert_context, okta.actor_user, okta.source_ip, okta.event_type.
-- SPDX-License-Identifier: MIT

tests = {
  { name = "alert_context: fields copied, case-insensitive names", run = function()
    local e = {
      eventtype = "user.session.start", severity = "INFO",
      actor = { alternateId = "a@example.com" }, client = { ipAddress = "1.2.3.4" },
      request = { ipChain = {} }, outcome = { result = "FAILURE" },
      target = { { id = "t1" } }, debugcontext = { debugData = { x = 1 } },
      authenticationContext = { authenticationStep = 0 }, securitycontext = { isProxy = false },
      p_any_ip_addresses = { "1.2.3.4" },
    }
    assert_eq(okta.alert_context(e), {
      event_type = "user.session.start", severity = "INFO",
      actor = { alternateId = "a@example.com" }, client = { ipAddress = "1.2.3.4" },
      request = { ipChain = {} }, outcome = { result = "FAILURE" },
      target = { { id = "t1" } }, debug_context = { debugData = { x = 1 } },
      authentication_context = { authenticationStep = 0 }, security_context = { isProxy = false },
      ips = { "1.2.3.4" },
    })
  end },
  { name = "alert_context: every default", run = function()
    local ctx = okta.alert_context({})
    assert_eq(ctx, {
      event_type = "", severity = "", actor = {}, client = {}, request = {}, outcome = {},
      target = {}, debug_context = {}, authentication_context = {}, security_context = {}, ips = {},
    })
    assert(ctx["PantherFlow Investigation"] == nil)
    assert(ctx.actor ~= ctx.client, "defaults are distinct tables")
  end },
  { name = "alert_context: empty lists encode as JSON arrays", run = function()
    local ctx = okta.alert_context({})
    assert_eq(json.encode(ctx.ips), "[]")
    assert_eq(json.encode(ctx.target), "[]")
  end },
  { name = "actor_user", run = function()
    assert_eq(okta.actor_user({ actor = { alternateId = "a@x", displayName = "A" } }), "a@x")
    assert_eq(okta.actor_user({ actor = { displayName = "A" } }), "A")
    assert_eq(okta.actor_user({ actor = { alternateId = "", displayName = "A" } }), "A")
    assert_eq(okta.actor_user({ actor = {} }), "Unknown User")
    assert_eq(okta.actor_user({}), "Unknown User")
  end },
  { name = "source_ip", run = function()
    assert_eq(okta.source_ip({ client = { ipAddress = "1.2.3.4" } }), "1.2.3.4")
    assert(okta.source_ip({}) == nil)
  end },
  { name = "event_type: logins", run = function()
    local function login(r)
      return { eventType = "user.session.start", outcome = { result = r } }
    end
    assert_eq(okta.event_type(login("FAILURE")), "failed_login")
    assert_eq(okta.event_type(login("SUCCESS")), "successful_login")
    assert(okta.event_type(login("CHALLENGE")) == nil)
    assert(okta.event_type({ eventType = "user.session.start" }) == nil)
    assert_eq(okta.event_type({ eventtype = "user.session.start", outcome = { result = "FAILURE" } }),
      "failed_login", "case-insensitive eventType")
  end },
  { name = "event_type: MFA", run = function()
    for _, et in ipairs({ "user.mfa.factor.deactivate", "user.mfa.factor.suspend" }) do
      assert_eq(okta.event_type({ eventType = et, outcome = { reason = "User reset FIDO factor" } }), "mfa_reset")
      assert_eq(okta.event_type({ eventType = et, outcome = { reason = "Admin reset" } }), "mfa_disabled")
      assert_eq(okta.event_type({ eventType = et, outcome = { reason = "user reset x" } }), "mfa_disabled")
      assert_eq(okta.event_type({ eventType = et }), "mfa_disabled")
    end
    assert_eq(okta.event_type({ eventType = "user.mfa.factor.activate" }), "mfa_enabled")
    assert_eq(okta.event_type({ eventType = "user.mfa.factor.unsuspend" }), "mfa_enabled")
    assert_eq(okta.event_type({ eventType = "system.mfa.factor.deactivate" }), "admin_mfa_disabled")
  end },
  { name = "event_type: anything else is nil", run = function()
    assert(okta.event_type({ eventType = "user.account.privilege.grant" }) == nil)
    assert(okta.event_type({}) == nil)
    assert(okta.event_type(nil) == nil)
  end },
}
