/* The execution context of a call and the process defaults behind it. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "base/exec.h"

#include "lrp.h"

#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

_Thread_local lrp_exec lrp_exec_ctx = {.threads = 1};

/* Written by lrp_set_* (before threads start, as lrp.h asks), read when
 * options are defaulted; atomics so that a late call is not a data race. */
static atomic_int default_threads = 1;
static atomic_bool default_openblas = false, default_exact = true;

int lrp_exec_resolve_threads(int n)
{
    if (n > 0)
        return n;
    /* the CPUs this process may run on (taskset, cgroup cpusets), not every
     * CPU of the machine */
    cpu_set_t set;
    long c = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

void lrp_exec_enter(int threads, bool openblas, lrp_exec *saved)
{
    *saved = lrp_exec_ctx;
    if (lrp_exec_ctx.depth++ > 0)
        return;
    lrp_exec_ctx.threads = lrp_exec_resolve_threads(threads);
    lrp_exec_ctx.openblas = openblas;
    lrp_exec_ctx.exact = false;
}

void lrp_exec_leave(const lrp_exec *saved) { lrp_exec_ctx = *saved; }

int lrp_exec_default_threads(void) { return atomic_load(&default_threads); }
bool lrp_exec_default_openblas(void) { return atomic_load(&default_openblas); }
bool lrp_exec_default_exact_forward(void) { return atomic_load(&default_exact); }

/* The public setters (lrp.h): the process defaults, and this thread's
 * context for kernels called outside an entry point. */
void lrp_set_threads(int n)
{
    n = lrp_exec_resolve_threads(n);
    atomic_store(&default_threads, n);
    if (lrp_exec_ctx.depth == 0)
        lrp_exec_ctx.threads = n;
}

void lrp_set_openblas(int on)
{
    atomic_store(&default_openblas, on != 0);
    if (lrp_exec_ctx.depth == 0)
        lrp_exec_ctx.openblas = on != 0;
}

void lrp_set_exact_forward(int on) { atomic_store(&default_exact, on != 0); }
