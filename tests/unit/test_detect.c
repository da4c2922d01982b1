/* Unit tests of detect.c: loading, the prefilter index (detections whose prefilter cannot
 * hold never run Lua), per-log-type filters, evaluation results and rule errors. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "detect.h"
#include "util.h"

static char dir[] = "/tmp/lp0-test-detect-XXXXXX";

static void write_det(const char *name, const char *text) {
  char *path = xasprintf("%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  free(path);
}

static struct det *by_id(struct det_set *s, const char *id) {
  return hmap_get(&s->ids, id, strlen(id));
}

int main(void) {
  if (!mkdtemp(dir)) return 2;
  /* 1000 detections each waiting for its own eventName */
  for (int i = 0; i < 1000; i++) {
    char name[32], *text;
    snprintf(name, sizeof name, "gen%04d.lua", i);
    text = xasprintf("id = 'Gen.%d'\nlog_types = {'AWS.CloudTrail'}\ndefault_severity = 'LOW'\n"
                     "match = { eventName = 'Gen%d', ['userIdentity.type'] = {'Root', 'IAMUser'} }\n"
                     "function rule(e) return true end\n", i, i);
    write_det(name, text);
    free(text);
  }
  write_det("always.lua", "id = 'Always'\nlog_types = {'AWS.CloudTrail'}\ndefault_severity = 'info'\n"
                          "function rule(e) return e.errorCode == 'AccessDenied' end\n"
                          "function title(e) return 'denied ' .. e.eventName end\n"
                          "function alert_context(e) return { b = 1, a = e.userIdentity } end\n");
  write_det("multi.lua", "id = 'Multi'\nlog_types = {'AWS.CloudTrail', 'Okta.SystemLog'}\n"
                         "default_severity = 'HIGH'\n"
                         "match = { ['AWS.CloudTrail'] = { eventName = 'ConsoleLogin' } }\n"
                         "function rule(e) return true end\n"
                         "function severity(e) return e.sev end\n");
  write_det("boom.lua", "id = 'Boom'\nlog_types = {'AWS.CloudTrail'}\ndefault_severity = 'LOW'\n"
                        "match = { eventName = 'Boom' }\n"
                        "function rule(e) return e.a.b.c end\n");
  char *err = NULL;
  char *roots[] = {dir};
  struct det_set *s = det_set_new(roots, 1, 0, &err);
  ASSERT_TRUE(s != NULL);
  ASSERT_EQ_INT(det_set_load(s), 0);
  ASSERT_EQ_INT(s->dets.len, 1003);
  det_set_index(s);

  struct vec out = {0}, errs = {0};
  cJSON *ev = cJSON_Parse("{\"eventName\":\"Gen7\",\"userIdentity\":{\"type\":\"Root\"}}");
  ASSERT_EQ_INT(det_eval(s, ev, "AWS.CloudTrail", &out, &errs), 1);
  ASSERT_EQ_INT(((struct det_match *)out.items[0])->det, by_id(s, "Gen.7")->index);
  cJSON_Delete(ev);
  /* second field of the prefilter rejects: no Lua runs */
  ev = cJSON_Parse("{\"eventName\":\"Gen8\",\"userIdentity\":{\"type\":\"AssumedRole\"}}");
  ASSERT_EQ_INT(det_eval(s, ev, "AWS.CloudTrail", &out, &errs), 0);
  cJSON_Delete(ev);
  /* 1000 events of other names: only the detection without a prefilter ever runs */
  for (int i = 0; i < 1000; i++) {
    ev = cJSON_Parse("{\"eventName\":\"DescribeInstances\",\"errorCode\":\"AccessDenied\",\"userIdentity\":{\"type\":\"Root\"}}");
    det_eval(s, ev, "AWS.CloudTrail", &out, &errs);
    cJSON_Delete(ev);
  }
  unsigned long long gen_evaluated = 0;
  for (int i = 0; i < 1000; i++) {
    char id[16];
    snprintf(id, sizeof id, "Gen.%d", i);
    gen_evaluated += by_id(s, id)->evaluated;
  }
  ASSERT_EQ_INT(gen_evaluated, 1); /* Gen.7 once; Gen.8 was rejected in C */
  ASSERT_EQ_INT(by_id(s, "Always")->evaluated, 1002);
  ASSERT_EQ_INT(out.len, 1001);
  struct det_match *m = out.items[1];
  ASSERT_EQ_STR(m->title, "denied DescribeInstances");
  ASSERT_EQ_INT(m->severity, SEV_INFO);
  ASSERT_EQ_STR(m->dedup, "denied DescribeInstances");
  ASSERT_EQ_STR(m->context, "{\"a\":{\"type\":\"Root\"},\"b\":1}"); /* sorted, proxy copied */
  for (size_t i = 0; i < out.len; i++) det_match_free(out.items[i]);
  out.len = 0;

  /* per-log-type prefilter: CloudTrail needs ConsoleLogin, Okta has none */
  ev = cJSON_Parse("{\"eventName\":\"Other\",\"sev\":\"critical\"}");
  ASSERT_EQ_INT(det_eval(s, ev, "AWS.CloudTrail", &out, &errs), 0);
  ASSERT_EQ_INT(det_eval(s, ev, "Okta.SystemLog", &out, &errs), 1);
  ASSERT_EQ_INT(((struct det_match *)out.items[0])->severity, SEV_CRITICAL);
  ASSERT_EQ_INT(det_eval(s, ev, "GitHub.Audit", &out, &errs), 0); /* nobody reads it */
  cJSON_Delete(ev);

  /* a rule error fails that detection only, and is described */
  ev = cJSON_Parse("{\"eventName\":\"Boom\",\"errorCode\":\"AccessDenied\"}");
  ASSERT_EQ_INT(det_eval(s, ev, "AWS.CloudTrail", &out, &errs), 1); /* Always still matches */
  ASSERT_EQ_INT(errs.len, 1);
  ASSERT_TRUE(strstr(errs.items[0], "boom.lua:5:") != NULL);
  ASSERT_EQ_INT(by_id(s, "Boom")->errors, 1);
  cJSON_Delete(ev);
  for (size_t i = 0; i < out.len; i++) det_match_free(out.items[i]);
  for (size_t i = 0; i < errs.len; i++) free(errs.items[i]);
  vec_free(&out), vec_free(&errs);
  det_set_free(s);

  /* broken files: every problem reported, none loaded */
  char *bad = xasprintf("%s/bad", dir);
  mkdir(bad, 0700);
  write_det("bad/a.lua", "id = 'A'\nlog_types = {'X'}\ndefault_severity = 'SEVERE'\nthreshold = 0\n"
                         "match = { [''] = 1 }\nfunction rule() end\n");
  write_det("bad/b.lua", "id = 'A'\nlog_types = {'X'}\ndefault_severity = 'LOW'\nfunction rule() end\n");
  write_det("bad/c.lua", "this is not lua\n");
  char *broots[] = {bad};
  s = det_set_new(broots, 1, 0, &err);
  ASSERT_EQ_INT(det_set_load(s), 4); /* severity, threshold, match in a; syntax in c */
  ASSERT_EQ_INT(s->dets.len, 1);     /* b loads: a never registered its id */
  struct det_diag *d0 = s->diags.items[0];
  ASSERT_EQ_INT(d0->line, 3);
  ASSERT_TRUE(strstr(d0->msg, "SEVERE") != NULL);
  det_set_free(s);
  free(bad);
  char *cmd = xasprintf("rm -rf %s", dir);
  if (system(cmd) != 0) CHECK_FAIL("cleanup failed");
  free(cmd);
  CHECK_DONE();
}
