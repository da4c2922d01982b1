/* story_test.h — HTTP mocks for stories (`lp0 story run --mocks`, story tests) and the
 * story tests of `lp0 test`.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_STORY_TEST_H
#define LP0_STORY_TEST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <uv.h>

#include "story.h"
#include "util.h"

/* One http.request a story made, recorded by the mock transport. */
struct sty_call {
  char *method, *url, *body; /* body may be NULL */
  int status;                /* 0 when the answer was an error */
  char *error;               /* the transport error, or NULL */
  bool unmatched, done;
  void *pending; /* internal */
};

struct sty_mocks {
  uv_loop_t *loop;
  struct vec mocks; /* internal */
  struct vec calls; /* struct sty_call *, in call order */
  int inflight;
};

void sty_mocks_init(struct sty_mocks *m, uv_loop_t *loop);
/* Drops the mocks and the recorded calls (none may be in flight). */
void sty_mocks_reset(struct sty_mocks *m);
void sty_mocks_free(struct sty_mocks *m);
/* Adds mocks from a JSON array of objects: { method?, url (glob), status = 200, json | body,
 * headers, delay (s), error, times }. Returns 0, or -1 with a message in err. */
int sty_mocks_from_json(struct sty_mocks *m, const cJSON *list, char *err, size_t errlen);
/* A transport answering from m (which must outlive the engine using it). */
void sty_mocks_transport(struct sty_mocks *m, struct sty_transport *out);
/* Plugs that record each operation in m->calls (method "PULSE", url "plug://host:port",
 * body the seconds) and succeed, unless a mock matching them gives an `error`. */
void sty_mocks_plugs(struct sty_mocks *m, struct sty_plugs *out);

/* One story test's outcome: failure NULL when it passed. */
typedef void (*sty_test_report_cb)(const char *file, const char *story, const char *test,
                                   const char *failure, void *ud);
/* Loads the stories under paths and runs their tests (filter: substring of story name,
 * file or test name; NULL = all). Load problems are reported as failures of a "(load)"
 * test. Returns 0, or -1 when Lua or libuv cannot start. */
int sty_run_tests(char *const *paths, size_t npaths, const char *filter, bool verbose,
                  bool require_tests, sty_test_report_cb report, void *ud);

#endif
