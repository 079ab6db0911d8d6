/* Norm (rules.py:350-371): R_in = x ⊙ Jᵀ(R / s(z)) with z the op's output,
 * on sums and average pooling. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

#include <string.h>

/* Add/Sum of same-shaped activations (zennit's residual Sum): each input
 * gets a ⊙ R / s(z), with z the output, in one pass. */
/* Its forward values hold one sample of a shared sweep (lrp_norm_takes_one)
 * or every sample. */
static bool residual_sum(const lrp_rule_call *c, int64_t copies)
{
    return lrp_node_group(c->g, c->n) == LRP_GROUP_SUM && c->n->n_inputs == 2 && c->gin[0] && c->gin[1] &&
           c->gin[0] != c->gin[1] && c->out && c->in[0] && c->in[1] && c->in[0]->numel * copies == c->R->numel &&
           c->in[1]->numel * copies == c->R->numel && c->out->numel * copies == c->R->numel;
}

bool lrp_norm_takes_one(const lrp_rule_call *c) { return c->shared > 1 && residual_sum(c, c->shared); }

lrp_status lrp_norm_apply(const lrp_rule_call *c, lrp_error *err)
{
    const int64_t copies = c->out && lrp_shared_one(c, c->out) ? c->shared : 1;
    if (residual_sum(c, copies)) {
        const lrp_real *a = lrp_reals(c->in[0]), *b = lrp_reals(c->in[1]), *z = lrp_reals(c->out);
        const lrp_rule *rule = c->rule;
        int64_t n = c->out->numel;
        for (int64_t k = 0; k < copies; k++) { /* one sample's a, b, z for every copy */
            const lrp_real *r = lrp_reals(c->R) + k * n;
            lrp_real *ga = lrp_reals(c->gin[0]) + k * n, *gb = lrp_reals(c->gin[1]) + k * n;
            LRP_PAR_FOR
            for (int64_t i = 0; i < n; i++) {
                lrp_real q = r[i] / lrp_rule_stabilize(rule, z[i]);
                ga[i] += a[i] * q;
                gb[i] += b[i] * q;
            }
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

/* Whether the node is an Add, Sub, Mul or Div of one activation and a
 * constant: affine in the activation (a positional embedding, a scaling). */
static bool affine_with_constant(const lrp_rule_call *c)
{
    const lrp_node *n = c->n;
    const char *t = n->op->type;
    if ((strcmp(t, "Add") && strcmp(t, "Sub") && strcmp(t, "Mul") && strcmp(t, "Div")) || n->n_inputs != 2)
        return false;
    int act = 0;
    for (int i = 0; i < 2; i++)
        act += c->gin[i] != NULL;
    return act == 1 && (strcmp(t, "Div") || c->gin[0]); /* x / c, not c / x */
}

/* The adjoint on sums, average pooling and an activation's affine map by a
 * constant (J with z the output): p = J(x ⊙ u) (lrp_adj_linear_new); uR += p / s(z); the output's
 * cotangent -p ⊙ g / s(z) with g = R / s(z) (through z, unless detached);
 * each input's u ⊙ Jᵀg (the explicit factor). */
lrp_status lrp_norm_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_node *n = c->n;
    lrp_group gr = lrp_node_group(c->g, n);
    const bool affine = affine_with_constant(c);
    if ((gr != LRP_GROUP_SUM && gr != LRP_GROUP_AVGPOOL && !affine) || n->n_outputs != 1 || !c->out ||
        n->n_inputs > LRP_RULE_MAX_INPUTS)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                             "the second order of the norm rule covers sums, average pooling and an activation's "
                             "affine map by a constant only");
    lrp_tensor *xu[LRP_RULE_MAX_INPUTS] = {0}, *tmp[LRP_RULE_MAX_INPUTS] = {0}, *p = NULL, *g = NULL;
    lrp_status st = LRP_OK;
    for (int i = 0; i < n->n_inputs && st == LRP_OK; i++)
        if (c->gin[i] && !(xu[i] = lrp_product_new(c->in[i], a->u[i], err)))
            st = lrp_rule_oom(err);
    if (st == LRP_OK && (!(p = lrp_adj_linear_new(c, (const lrp_tensor *const *)xu, err)) ||
                         !(g = lrp_rule_ratio_new(c, c->R, c->out, err))))
        st = err && err->status != LRP_OK ? err->status : lrp_rule_oom(err);
    if (st == LRP_OK) {
        const lrp_real *pp = lrp_reals(p), *zz = lrp_reals(c->out), *gg = lrp_reals(g);
        lrp_real *ur = lrp_reals(a->uR), *ao = lrp_reals(a->aout);
        for (int64_t k = 0; k < p->numel; k++) {
            lrp_real s = lrp_rule_stabilize(c->rule, zz[k]);
            ur[k] += pp[k] / s;
            if (!a->detach)
                ao[k] -= pp[k] * gg[k] / s;
        }
        st = lrp_grad_into(c, c->in, c->out, g, tmp, err);
    }
    for (int i = 0; st == LRP_OK && i < n->n_inputs; i++)
        if (tmp[i]) {
            const lrp_real *t = lrp_reals(tmp[i]), *u = lrp_reals(a->u[i]);
            lrp_real *ab = lrp_reals(c->gin[i]);
            for (int64_t k = 0; k < tmp[i]->numel; k++)
                ab[k] += u[k] * t[k];
        }
    lrp_grad_free(n, tmp);
    for (int i = 0; i < n->n_inputs; i++)
        lrp_tensor_free(xu[i]);
    lrp_tensor_free(p);
    lrp_tensor_free(g);
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
    .takes_one = lrp_norm_takes_one,
    .adjoint = lrp_norm_adjoint,
};
