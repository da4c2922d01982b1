/* Unit tests of clock.c: the timestamp formats of the bundled log types. */
#include "check.h"
#include "clock.h"

static double parse(const char *s) {
  double t = -12345;
  if (clk_parse(s, strlen(s), &t) != 0) return -1;
  return t;
}

int main(void) {
  char buf[48];
  ASSERT_EQ_DBL(parse("1970-01-01T00:00:00Z"), 0);
  ASSERT_EQ_DBL(parse("2024-10-31T08:04:00Z"), 1730361840);
  ASSERT_EQ_DBL(parse("2024-10-31T08:04:00.250Z"), 1730361840.25);
  ASSERT_EQ_DBL(parse("2024-10-31T10:04:00+02:00"), 1730361840);
  ASSERT_EQ_DBL(parse("2024-10-31T03:04:00-0500"), 1730361840);
  ASSERT_EQ_DBL(parse("2021-01-08 21:28:34.875"), 1610141314.875); /* Okta, no zone = UTC */
  ASSERT_EQ_DBL(parse("2000-02-29T00:00:00Z"), 951782400);         /* leap day */
  ASSERT_EQ_DBL(parse("1621305118553"), 1621305118.553);           /* GitHub @timestamp ms */
  ASSERT_EQ_DBL(parse("1621305118"), 1621305118);
  ASSERT_EQ_DBL(parse("2024-10-31"), 1730332800);
  ASSERT_EQ_DBL(parse("2024-13-01T00:00:00Z"), -1);
  ASSERT_EQ_DBL(parse("2024-10-31T25:00:00Z"), -1);
  ASSERT_EQ_DBL(parse("yesterday"), -1);
  ASSERT_EQ_DBL(parse("2024-10-31T08:04:00Zjunk"), -1);
  ASSERT_EQ_DBL(parse(""), -1);
  ASSERT_EQ_DBL(clk_from_number(1621305118553.0), 1621305118.553);
  ASSERT_EQ_STR(clk_format(1730361840, buf, sizeof buf), "2024-10-31T08:04:00Z");
  ASSERT_EQ_STR(clk_format(1730361840.25, buf, sizeof buf), "2024-10-31T08:04:00.250Z");
  ASSERT_EQ_STR(clk_format(951782400, buf, sizeof buf), "2000-02-29T00:00:00Z");
  ASSERT_EQ_STR(clk_format(-1, buf, sizeof buf), "1969-12-31T23:59:59Z");
  /* round trip over a range of days */
  for (double t = -86400.0 * 400; t < 86400.0 * 365 * 80; t += 86400.0 * 37 + 3661) {
    clk_format(t, buf, sizeof buf);
    if (parse(buf) != t) {
      CHECK_FAIL("round trip of %.0f gave %s", t, buf);
      break;
    }
  }
  CHECK_DONE();
}
