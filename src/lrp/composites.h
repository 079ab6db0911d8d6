/* Composites (zennit's rule maps) and the rule assigner. */
#ifndef LRP_COMPOSITES_H
#define LRP_COMPOSITES_H

#include "lrp/rules.h"

#include <stdbool.h>

typedef struct lrp_composite_params {
    lrp_real epsilon;     /* Epsilon on dense layers */
    lrp_real stabilizer;  /* every other rule */
    lrp_real alpha, beta; /* AlphaBeta in the alpha2-beta1 composites */
    lrp_real gamma;
    lrp_real gamma_conv, gamma_linear; /* attnlrp-vit */
    lrp_real beta_smooth;
    bool zero_bias;
    bool gate_uniform; /* squeeze-excitation gates: uniform instead of signal */
    int n_bounds;      /* ZBox bounds: 1 or one per input channel */
    const lrp_real *low, *high;
    int n_overrides; /* "NAME=RULE" / "OPTYPE=RULE" */
    const char *const *overrides;
} lrp_composite_params;

int lrp_composite_count(void);
const char *lrp_composite_name(int i);
const char *lrp_composite_summary(int i);
/* Index by name ("epsilon-plus-flat", also with underscores), or -1. */
int lrp_composite_find(const char *name);
/* An LRP composite (signed relevance) rather than a gradient-type method. */
bool lrp_composite_is_lrp(int i);

/* Fills rules[node index] for every live node. residual_sum: Adds of
 * activations are zennit Sums (canonizers on). */
lrp_status lrp_assign_rules(const lrp_graph *g, int composite, const lrp_composite_params *p, bool residual_sum,
                            lrp_rule *rules, lrp_error *err);

#endif
