/* The second-order conformance set ../shared/refset-order2 (test_refset_order2.c): its cases, lrp's G = u·dR/dx
 * on one case (lrp_explain_relevance_grad) scored as its README says, and a central finite-difference check of
 * the exact mode. Public API only; built for float32 and float64 (the _f64 names, as refset_common.h). */
#ifndef LRP_ORDER2_COMMON_H
#define LRP_ORDER2_COMMON_H

#include <stdint.h>

#include "lrp.h"

typedef struct o2_case {
    char model[256], input[256], method[64], seed[16], cotangent[16], target_map[256], mode[16], golden[256],
        relevance[256];
    int64_t target;
    double tolerance, rel_tolerance; /* G's, and the first-order relevance's (max(1e-4, 5x zennit's error)) */
    int ill_conditioned;
} o2_case;

/* DIR/cases.json -> *out (malloc'ed); the number of cases, -1 without the file. */
int o2_read_cases(const char *dir, o2_case **out);

typedef struct o2_result {
    double rel_l2;     /* |G - golden| / |golden|; INFINITY without G */
    double rel_l2_rel; /* the first-order relevance against its golden */
    char why[600];
} o2_result;

/* Runs case c of the set in DIR (the model loaded once per path) and scores it. */
void o2_run_case(const char *dir, const o2_case *c, o2_result *r);
/* Frees the model o2_run_case keeps. */
void o2_close(void);

/* The exact mode against central differences of S(x) = sum R(x) (cotangent ones): along every input coordinate
 * (full) or along n_dirs Gaussian directions v, comparing <G, v>, step h. Returns the relative L2 error of the
 * directional derivatives, or INFINITY with why. */
double o2_fd_check(const char *model, const char *input, const char *method, int64_t target, int seed_logit, int full,
                   int n_dirs, double h, char *why, size_t why_size);

/* Whether o2_fd_check loads its models with the canonizers (1, the default;
 * 0 keeps, e.g., a LayerNorm written out as ReduceMean, Sub, Div, ...). */
extern int o2_canonize;

/* The float64 build of this file (the Makefile links it into test_refset_order2). */
extern int o2_canonize_f64;
void o2_run_case_f64(const char *dir, const o2_case *c, o2_result *r);
void o2_close_f64(void);
double o2_fd_check_f64(const char *model, const char *input, const char *method, int64_t target, int seed_logit,
                       int full, int n_dirs, double h, char *why, size_t why_size);

#endif
