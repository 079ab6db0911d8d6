/* The execution context of a call: how many threads the kernels use, whether
 * matrix products go to OpenBLAS, and whether the node now running forward
 * accumulates in double. The public entry points (lrp_model_run, lrp_explain,
 * lrp_attribute, lrp_region_perturbation) install the context of their model
 * or explainer on the calling thread for the duration of the call; the
 * kernels read it where they read process globals before. Nothing here is
 * shared between threads. */
#ifndef LRP_EXEC_H
#define LRP_EXEC_H

#include <stdbool.h>

typedef struct lrp_exec {
    int threads;   /* threads for dense math and lrp's own loops, >= 1 */
    bool openblas; /* lrp_sgemm calls OpenBLAS's kernels (gemm_kernels.h) */
    /* Set by the forward engine around one node's forward call: the node is
     * in the explainer's exact plan, so its convolution or dense layer
     * accumulates in double (rules.h, lrp_rule_decides / lrp_rule_divides). */
    bool exact;
    int depth; /* entry points entered on this thread; the outermost one's context holds */
} lrp_exec;

/* The calling thread's context. Outside any call it holds what lrp_set_threads
 * and lrp_set_openblas last set on this thread (for the unit tests that call
 * kernels directly). */
extern _Thread_local lrp_exec lrp_exec_ctx;

/* Installs threads and openblas for a call on this thread, unless the thread
 * is already inside a call (then the outer call's choices hold). Every enter
 * is paired with one lrp_exec_leave(saved). */
void lrp_exec_enter(int threads, bool openblas, lrp_exec *saved);
void lrp_exec_leave(const lrp_exec *saved);

/* The process defaults that lrp_load_options_default and
 * lrp_explain_options_default start from (lrp_set_threads, lrp_set_openblas,
 * lrp_set_exact_forward). */
int lrp_exec_default_threads(void);
bool lrp_exec_default_openblas(void);
bool lrp_exec_default_exact_forward(void);

/* n <= 0: the CPUs this process may run on. */
int lrp_exec_resolve_threads(int n);

#endif
