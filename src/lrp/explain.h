/* Internal parts of the explainer shared with the attributors. */
#ifndef LRP_EXPLAIN_H
#define LRP_EXPLAIN_H

#include "base/exec.h"
#include "lrp/rules.h"

/* Fills the seed (N, classes; zeroed) from the logits (N, classes). */
typedef lrp_status (*lrp_seed_fn)(void *ctx, const lrp_tensor *logits, lrp_tensor *seed, lrp_error *err);

/* The class explained for one sample of C logits: t, or when t < 0 the
 * largest logit (the first of equal ones); a t past the classes is
 * LRP_ERR_ARG, saying how many the model has. */
lrp_status lrp_target_class(const lrp_real *logits, int64_t C, int64_t t, int64_t *out, lrp_error *err);

/* Assigns rules (needs the model's shapes known). */
lrp_status lrp_explainer_assign(lrp_explainer *e, lrp_error *err);

/* The rule of node index `node`, or NULL before assignment. */
const lrp_rule *lrp_explainer_rule(const lrp_explainer *e, int node);

struct lrp_model;
struct lrp_model *lrp_explainer_model(const lrp_explainer *e);

/* Installs the explainer's execution choices (lrp_explain_options threads,
 * openblas) on the calling thread for a call; lrp_exec_leave(saved) after. */
void lrp_explainer_exec_enter(const lrp_explainer *e, lrp_exec *saved);

/* The copies of the input that Integrated Gradients (path points, α_k = k/n)
 * or SmoothGrad (noisy copies, the last one clean) explain, (n, ...) in the
 * order lrp_attribute runs them, and alpha[k] (IG: α_k; SmoothGrad: 1);
 * alpha holds n = steps or samples entries. x is one sample. */
lrp_status lrp_attributor_copies(const lrp_attributor_options *o, const lrp_tensor *x, lrp_tensor **copies,
                                 lrp_real *alpha, lrp_error *err);

/* lrp_explain with any output relevance. */
lrp_status lrp_explain_seeded(lrp_explainer *e, const lrp_tensor *input, lrp_seed_fn seed_fn, void *seed_ctx,
                              lrp_tensor **relevance, lrp_tensor **logits, lrp_error *err);

/* The explainer's plan, for the second order (relevance_grad.c): the rule and
 * the weight cache of every node, the nodes whose forward accumulates in
 * double (NULL when not asked for), the pass nodes. Assigned first. */
typedef struct lrp_explainer_plan {
    const lrp_rule *rules;
    lrp_weight_cache *caches;
    const unsigned char *exact, *pass;
} lrp_explainer_plan;
void lrp_explainer_plan_get(lrp_explainer *e, lrp_explainer_plan *p);

#endif
