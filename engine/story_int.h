/* story_int.h — what story.c (the engine: loading, triggers, runs, persistence) and
 * story_api.c (the functions stories call) share. Not for other modules: they use
 * story.h. Everything runs on the loop thread.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_STORY_INT_H
#define LP0_STORY_INT_H

#include <cjson/cJSON.h>
#include <lua.h>
#include <stdbool.h>
#include <uv.h>

#include "story.h"
#include "util.h"

#define STY_MEMORY (256u << 20)
#define STY_TRIGGER_BUDGET 1000000LL
#define STY_MAX_STEP_NAME 200

struct sty_story {
  char *name, *file;
  int env_ref, run_ref, on_ref; /* on_ref: the trigger function, or LUA_NOREF */
  char **dets;                  /* on.detections: ids or globs */
  size_t ndets;
  char **tags;
  size_t ntags;
  int min_sev; /* on.severity_at_least, or -1 */
  bool has_on;
};

struct sty_run;

struct sty_fiber {
  struct sty_run *run;
  lua_State *co;
  int ref; /* registry ref anchoring co */
  struct sty_fiber *parent;
  int slot;        /* index in the parent's results */
  int children;    /* parallel(): children not finished */
  int results_ref; /* parallel(): table of the children's first results */
  char *child_error;
  int nargs_ready; /* values on co's stack to resume with */
  bool done, queued;
  uv_timer_t *sleep; /* sleep(): its timer, owned until closed */
  struct sty_fiber *next_ready;
};

struct sty_run {
  struct sty_engine *e;
  size_t story;
  long long id; /* store row, 0 without a store */
  int attempt;
  char *alert_json;
  cJSON *steps; /* step name -> stored result */
  long long budget_left;
  double started;
  uv_timer_t *deadline; /* owned until closed */
  struct vec fibers;    /* struct sty_fiber * */
  struct vec calls;     /* struct http_call *: HTTP requests in flight */
  struct vec plug_ops;  /* struct plug_call *: plug operations in flight */
  int pending;          /* I/O callbacks still to come */
  bool finished, closing;
  sty_done_cb done;
  void *done_ud;
};

struct sty_engine {
  struct sty_options o;
  struct vm *vm;
  struct vec stories; /* struct sty_story * */
  struct vec runs;    /* struct sty_run *: live runs */
  struct vec queued;  /* long long run ids recorded and not started yet */
  struct vec secrets; /* "NAME=value" given by tests */
  struct vec redact;  /* secret values handed out: scrubbed from logs and errors */
  struct lkp_set *lookups; /* one reference, released with the state */
  struct sty_fiber *cur;
  struct sty_fiber *ready_head, *ready_tail;
  uv_idle_t *idle; /* drains the ready queue and the queued runs (owned until closed) */
  bool idle_on, closing;
  int handles; /* open uv handles (idle + timers) */
  void (*closed)(void *);
  void *closed_ud;
};

struct http_call {
  struct sty_fiber *f;
  char *method, *url;
  long long id;
};

struct plug_call {
  struct sty_fiber *f;
  char *op, *target;
  void *handle;
};

/* The engine of a story state (vm->owner). */
struct sty_engine *sty_engine_of(lua_State *L);
/* A copy of s (free()) with every secret handed out replaced by [redacted]. */
char *sty_redact(const struct sty_engine *e, const char *s);
void sty_emit_trace(struct sty_engine *e, struct sty_trace *t);
void sty_trace_base(struct sty_run *r, struct sty_trace *t, enum sty_trace_kind kind);
/* A timer on the engine's loop (owned by the caller until sty_close_timer), or NULL. */
uv_timer_t *sty_new_timer(struct sty_engine *e, void *data);
void sty_close_timer(struct sty_engine *e, uv_timer_t *t);
/* Writes the run's row (state, attempts, error, steps, times) in its own commit. */
void sty_save_run(struct sty_run *r, const char *state, const char *error, double next_at);
/* An I/O callback of f's arrived: false when its run is over (the result is dropped). */
bool sty_io_back(struct sty_fiber *f);
struct sty_fiber *sty_fiber_new(struct sty_run *r, struct sty_fiber *parent);
/* Queues f to be resumed with the nargs values on its stack, from the idle handle. */
void sty_make_ready(struct sty_fiber *f, int nargs);
int sty_cmp_cstr(const void *a, const void *b);
/* Adds the story API to the base environment (story_api.c). Protected call. */
int sty_open_api(lua_State *L);

#endif
