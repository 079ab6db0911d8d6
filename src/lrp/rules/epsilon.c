/* Epsilon (rules.py:97-122): z = f(x; W, b̃); R_in = x ⊙ Wᵀ(R / s_ε(z)). On
 * ops without weights it is Norm with epsilon as the stabilizer. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

static lrp_status epsilon_layer(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_tensor *x = c->in[0];
    const lrp_real *W = lrp_reals(lrp_layer_weight(c));
    lrp_tensor *zown;
    const lrp_tensor *z = lrp_layer_z(c, W, &zown, err);
    if (!z)
        return lrp_rule_oom(err);
    lrp_tensor *g = lrp_rule_ratio_new(c, c->R, z, err);
    lrp_tensor_free(zown);
    if (!g)
        return lrp_rule_oom(err);
    lrp_tensor *t = lrp_layer_t_new(c, g, W, x, err);
    lrp_tensor_free(g);
    if (!t)
        return lrp_rule_oom(err);
    lrp_add_product(c->gin[0], x, t);
    lrp_tensor_free(t);
    return LRP_OK;
}

static lrp_status epsilon_apply(const lrp_rule_call *c, lrp_error *err)
{
    return lrp_rule_on_layer(c) ? epsilon_layer(c, err) : lrp_norm_apply(c, err);
}

/* On ops without weights, as Norm takes them. */
static bool epsilon_takes_one(const lrp_rule_call *c) { return !lrp_rule_on_layer(c) && lrp_norm_takes_one(c); }

/* The adjoint: one group, the term x ⊙ Wᵀg over z (lrp_adj_group). */
static lrp_status epsilon_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    if (!lrp_rule_on_layer(c))
        return lrp_norm_adjoint(a, err);
    const lrp_real *W = lrp_reals(lrp_layer_weight(c));
    lrp_tensor *zown;
    const lrp_tensor *z = lrp_layer_z(c, W, &zown, err);
    if (!z)
        return lrp_rule_oom(err);
    const lrp_adj_term t = {W, c->in[0], 1.0f, LRP_ADJ_X, false, NULL};
    lrp_status st = lrp_adj_group(a, &t, 1, z, NULL, 0, 1.0f, err);
    lrp_tensor_free(zown);
    return st;
}

const lrp_rule_def lrp_rule_epsilon = {
    .kind = LRP_RULE_EPSILON,
    .name = "epsilon",
    .summary = "z-rule with a small epsilon added to the denominators",
    .params = {LRP_FLOAT_PARAM("epsilon", "eps", eps, LRP_R(1e-6), "added to each denominator z with the sign of z"),
               LRP_PARAM_BIAS, LRP_PARAM_SIGNED},
    .flags = LRP_RULE_DIVIDES | LRP_RULE_Z_IS_OUTPUT,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
    .apply = epsilon_apply,
    .takes_one = epsilon_takes_one,
    .adjoint = epsilon_adjoint,
};
