/* Norm (rules.py:350-371): R_in = x ⊙ Jᵀ(R / s(z)) with z the op's output,
 * on sums and average pooling. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

/* Add/Sum of same-shaped activations (zennit's residual Sum): each input
 * gets a ⊙ R / s(z), with z the output, in one pass. */
static bool residual_sum(const lrp_rule_call *c)
{
    return lrp_node_group(c->g, c->n) == LRP_GROUP_SUM && c->n->n_inputs == 2 && c->gin[0] && c->gin[1] &&
           c->gin[0] != c->gin[1] && c->out && c->in[0]->numel == c->R->numel && c->in[1]->numel == c->R->numel;
}

lrp_status lrp_norm_apply(const lrp_rule_call *c, lrp_error *err)
{
    if (residual_sum(c)) {
        const lrp_real *a = lrp_reals(c->in[0]), *b = lrp_reals(c->in[1]), *z = lrp_reals(c->out),
                       *r = lrp_reals(c->R);
        lrp_real *ga = lrp_reals(c->gin[0]), *gb = lrp_reals(c->gin[1]);
        const lrp_rule *rule = c->rule;
        int64_t n = c->R->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            lrp_real q = r[i] / lrp_rule_stabilize(rule, z[i]);
            ga[i] += a[i] * q;
            gb[i] += b[i] * q;
        }
        return LRP_OK;
    }
    lrp_tensor *tmp[LRP_RULE_MAX_INPUTS];
    if (c->n->n_inputs > LRP_RULE_MAX_INPUTS)
        return lrp_node_fail(err, c->n, LRP_ERR_UNSUPPORTED, "too many inputs");
    lrp_tensor *g = lrp_rule_ratio_new(c, c->R, c->out, err);
    if (!g)
        return lrp_rule_oom(err);
    lrp_status st = lrp_grad_into(c, c->in, c->out, g, tmp, err);
    lrp_tensor_free(g);
    if (st == LRP_OK)
        for (int i = 0; i < c->n->n_inputs; i++)
            if (tmp[i])
                lrp_add_product(c->gin[i], c->in[i], tmp[i]);
    lrp_grad_free(c->n, tmp);
    return st;
}

const lrp_rule_def lrp_rule_norm = {
    .kind = LRP_RULE_NORM,
    .name = "norm",
    .summary = "each input's share x·Jᵀ(R / z) of the output z (sums, average pooling)",
    .params = {LRP_PARAM_STABILIZER, LRP_PARAM_SIGNED},
    .flags = LRP_RULE_DIVIDES,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
    .apply = lrp_norm_apply,
};
