/* vm.h — one Lua state with a memory cap, an instruction budget and protected calls.
 *
 * Every call from C into user Lua goes through vm_pcall(): it arms the per-call
 * instruction budget, installs a traceback handler and reports budget or memory kills
 * in a way a pcall inside the script cannot swallow (see sandbox.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_VM_H
#define LP0_VM_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

#define VM_DEFAULT_MEMORY (64u << 20)      /* bytes per Lua state */
#define VM_DEFAULT_BUDGET 1000000LL        /* instructions per hook call */
#define VM_LOAD_BUDGET 50000000LL          /* instructions to run a file at load */

enum vm_kill { VM_KILL_NONE = 0, VM_KILL_BUDGET, VM_KILL_MEMORY };

struct vm {
  lua_State *L;
  size_t mem_used, mem_peak, mem_limit;
  long long budget_left;  /* instructions left in the current vm_pcall */
  enum vm_kill killed;    /* set when the current call was killed; pcall re-raises */
  int depth;              /* nesting of vm_pcall */
  unsigned event_gen;     /* generation of the event proxies that are valid now */
  bool quiet_log;         /* log.* from scripts is discarded (lp0 test without -v) */
  void *owner;            /* the detection set or story engine using this state */
};

/* Creates a state with the given memory cap (0 = VM_DEFAULT_MEMORY). Opens no library:
 * sandbox.c decides what scripts see. Returns NULL when Lua cannot start. Free with vm_free. */
struct vm *vm_new(size_t mem_limit);
void vm_free(struct vm *vm);

/* The vm owning L (any thread of it). */
struct vm *vm_from(lua_State *L);

/* Calls the function below nargs arguments like lua_pcall, with `budget` instructions
 * (0 = VM_DEFAULT_BUDGET). On error returns the Lua status and leaves one string on the
 * stack: the message with a traceback. The kill reason is in vm->killed until the next call.
 * [-(nargs+1), +(nres|1), -] */
int vm_pcall(struct vm *vm, int nargs, int nres, long long budget);

/* Puts the state's memory use back under its cap after a kill (full collection). */
void vm_recover(struct vm *vm);

#endif
