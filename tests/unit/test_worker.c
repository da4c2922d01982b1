/* Unit tests of worker.c: batches evaluated on threads come back on the loop thread, in
 * submission order, with their matches; closing finishes the queue. */
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "check.h"
#include "util.h"
#include "worker.h"

static char dir[] = "/tmp/lp0-test-worker-XXXXXX";

struct state {
  int returned;
  unsigned long long last_no, matches, events;
  int in_order;
  int closed;
  uv_thread_t loop_thread;
  int on_loop_thread;
};

static void on_done(struct batch *b, void *ud) {
  struct state *s = ud;
  uv_thread_t self = uv_thread_self();
  s->on_loop_thread += uv_thread_equal(&self, &s->loop_thread);
  if (s->returned && b->no != s->last_no + 1) s->in_order = 0;
  s->last_no = b->no;
  s->returned++;
  s->matches += b->matches.len;
  s->events += b->events;
  batch_free(b);
}

static void on_closed(void *ud) { ((struct state *)ud)->closed++; }

int main(void) {
  if (!mkdtemp(dir)) return 2;
  char *path = xasprintf("%s/d.lua", dir);
  FILE *f = fopen(path, "w");
  fputs("id = 'W'\nlog_types = {'AWS.CloudTrail'}\ndefault_severity = 'LOW'\n"
        "match = { eventName = 'Hit' }\n"
        "function rule(e) local n = 0 for i = 1, 2000 do n = n + i end return n > 0 end\n", f);
  fclose(f);
  uv_loop_t loop;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  struct state s = {0};
  s.in_order = 1;
  s.loop_thread = uv_thread_self();
  struct wrk_pool *p = NULL;
  char *err = NULL, *roots[] = {dir};
  ASSERT_EQ_INT(wrk_pool_new(&loop, 3, roots, 1, NULL, NULL, on_done, &s, &p, &err), 0);
  ASSERT_EQ_INT(wrk_detections(p)->dets.len, 1);
  for (unsigned long long i = 0; i < 40; i++) {
    struct batch *b = batch_new(i, "test");
    for (int j = 0; j < 50; j++) {
      const char *ev = j % 5 == 0 ? "{\"eventVersion\":\"1\",\"eventSource\":\"s\",\"eventName\":\"Hit\"}"
                                  : "{\"eventVersion\":\"1\",\"eventSource\":\"s\",\"eventName\":\"Miss\"}";
      batch_add(b, ev, strlen(ev), (unsigned long)j + 1);
    }
    wrk_submit(p, b);
  }
  ASSERT_TRUE(wrk_pending(p) > 0);
  for (int spins = 0; s.returned < 40 && spins < 100000; spins++) uv_run(&loop, UV_RUN_ONCE);
  ASSERT_EQ_INT(s.returned, 40);
  ASSERT_EQ_INT(s.in_order, 1);
  ASSERT_EQ_INT(s.on_loop_thread, 40);
  ASSERT_EQ_INT(s.events, 2000);
  ASSERT_EQ_INT(s.matches, 400);
  ASSERT_EQ_INT(wrk_pending(p), 0);
  /* batches still queued at close are finished and handed back */
  for (unsigned long long i = 40; i < 45; i++) {
    struct batch *b = batch_new(i, "test");
    const char *hit = "{\"eventVersion\":\"1\",\"eventSource\":\"s\",\"eventName\":\"Hit\"}";
    batch_add(b, hit, strlen(hit), 1);
    wrk_submit(p, b);
  }
  wrk_pool_close(p, on_closed, &s);
  ASSERT_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(s.returned, 45);
  ASSERT_EQ_INT(s.closed, 1);
  ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  /* a broken detection folder is refused with a message */
  f = fopen(path, "w");
  fputs("id = \n", f);
  fclose(f);
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  ASSERT_TRUE(wrk_pool_new(&loop, 2, roots, 1, NULL, NULL, on_done, &s, &p, &err) != 0);
  ASSERT_TRUE(err && strstr(err, "problems") != NULL);
  free(err);
  ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  char *cmd = xasprintf("rm -rf %s", dir);
  if (system(cmd) != 0) CHECK_FAIL("cleanup failed");
  free(cmd), free(path);
  CHECK_DONE();
}
