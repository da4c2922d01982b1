-- The README's example story, kept here so that it is tested as written.
name = "page-on-critical"
on = { severity_at_least = "CRITICAL" }
function run(alert)
  return step("page", function()   -- durable: a retried run does not page twice
    return assert(pagerduty.trigger{ routing_key = secret("PAGERDUTY_ROUTING_KEY"),
      summary = alert.title, severity = "critical", dedup_key = pagerduty.dedup_key(alert) })
  end)
end

tests = {
  { name = "pages through the Events API",
    alert = { detection = "AWS.Root.Activity", severity = "CRITICAL", title = "root used", dedup = "root" },
    secrets = { PAGERDUTY_ROUTING_KEY = string.rep("R", 32) },
    mocks = { { method = "POST", url = "https://events.pagerduty.com/v2/enqueue", status = 202,
                json = { status = "success", message = "Event processed", dedup_key = "k" } } },
    expect_calls = { { method = "POST", url = "*/v2/enqueue", count = 1 } } },
  { name = "PagerDuty refuses the event: the run fails (and is retried)",
    alert = { detection = "AWS.Root.Activity", severity = "CRITICAL", title = "root used", dedup = "root" },
    secrets = { PAGERDUTY_ROUTING_KEY = string.rep("R", 32) },
    mocks = { { url = "*/v2/enqueue", status = 400,
                json = { status = "invalid event", message = "Event object is invalid", errors = { "Length of 'routing_key' is incorrect" } } } },
    expect_error = "invalid" },
}
