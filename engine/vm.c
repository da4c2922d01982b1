/* vm.c — Lua states with a capped allocator and an unswallowable instruction budget.
 *
 * The budget follows Redis: a count hook every VM_HOOK_STEP instructions subtracts from
 * the call's allowance; when it runs out the hook re-arms itself for every instruction
 * and raises, so a script that catches the error with pcall hits it again at once (and
 * the sandbox's pcall re-raises kills anyway). The allocator refuses growth past the cap
 * and never fails a shrink, as lua_Alloc's contract requires.
 * SPDX-License-Identifier: MIT
 */
#include "vm.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_HOOK_STEP 1000

static void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct vm *vm = ud;
  size_t old = ptr ? osize : 0; /* with ptr == NULL, osize encodes a type */
  if (nsize == 0) {
    free(ptr);
    vm->mem_used -= old;
    return NULL;
  }
  /* The cap applies to scripts, inside vm_pcall. The engine's own calls between them
   * (reading a hook, pushing an event) are small and must not fail: outside a protected
   * call a failed allocation is a Lua panic. */
  if (nsize > old && vm->depth > 0 && vm->mem_used - old + nsize > vm->mem_limit) {
    vm->killed = VM_KILL_MEMORY;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  vm->mem_used = vm->mem_used - old + nsize;
  if (vm->mem_used > vm->mem_peak) vm->mem_peak = vm->mem_used;
  return p;
}

static void vm_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  struct vm *vm = vm_from(L);
  if (vm->depth == 0) return;
  if (vm->killed != VM_KILL_BUDGET) {
    vm->budget_left -= VM_HOOK_STEP;
    if (vm->budget_left > 0) return;
    vm->killed = VM_KILL_BUDGET;
    lua_sethook(L, vm_hook, LUA_MASKCOUNT, 1); /* every instruction from now on */
  }
  luaL_error(L, "instruction budget exceeded");
}

static int vm_panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "lp0: fatal Lua error outside a protected call: %s\n", msg ? msg : "?");
  return 0; /* Lua aborts */
}

struct vm *vm_new(size_t mem_limit) {
  struct vm *vm = calloc(1, sizeof *vm);
  if (!vm) return NULL;
  vm->mem_limit = mem_limit ? mem_limit : VM_DEFAULT_MEMORY;
  vm->L = lua_newstate(vm_alloc, vm);
  if (!vm->L) {
    free(vm);
    return NULL;
  }
  *(struct vm **)lua_getextraspace(vm->L) = vm; /* new threads copy it */
  lua_atpanic(vm->L, vm_panic);
  /* Generational collection: the detections' own tables are old and stay; per-event
   * garbage (proxies, strings) is young. Incremental mode would re-traverse every
   * detection on each cycle, a cost that grows with the pack. */
  lua_gc(vm->L, LUA_GCGEN, 0, 0);
  lua_sethook(vm->L, vm_hook, LUA_MASKCOUNT, VM_HOOK_STEP);
  return vm;
}

void vm_free(struct vm *vm) {
  if (!vm) return;
  lua_close(vm->L);
  free(vm);
}

struct vm *vm_from(lua_State *L) { return *(struct vm **)lua_getextraspace(L); }

/* Message handler: append a traceback to string errors; describe the others. */
static int vm_msgh(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int vm_pcall(struct vm *vm, int nargs, int nres, long long budget) {
  lua_State *L = vm->L;
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, vm_msgh);
  lua_insert(L, base);
  if (vm->depth++ == 0) {
    vm->killed = VM_KILL_NONE;
    vm->budget_left = budget > 0 ? budget : VM_DEFAULT_BUDGET;
  }
  int status = lua_pcall(L, nargs, nres, base);
  if (--vm->depth == 0 && vm->killed) {
    lua_sethook(L, vm_hook, LUA_MASKCOUNT, VM_HOOK_STEP);
    if (vm->killed == VM_KILL_MEMORY) vm_recover(vm);
  }
  lua_remove(L, base);
  if (status != LUA_OK && status != LUA_ERRMEM && !lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "(error without message)");
  }
  if (status == LUA_ERRMEM) {
    lua_pop(L, 1);
    lua_pushliteral(L, "not enough memory (Lua memory cap reached)");
  }
  return status;
}

void vm_recover(struct vm *vm) { lua_gc(vm->L, LUA_GCCOLLECT); }
