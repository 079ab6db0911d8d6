/* Flat (rules.py:400-424) and WSquare (rules.py:374-397): the input is
 * replaced by ones; on layers R_in = Wmᵀ(R / s(f(1; Wm, bm))), not
 * multiplied by x, with Wm = 1 (Flat) or W² (WSquare). */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

#include <string.h>

/* Flat on a dense layer: every input feature of a row feeds each of its N
 * outputs with weight 1, so z = K (the row's feature count) and every feature
 * gets the same sum_j R_j / s(K). That sum is taken in double: the R_j have
 * both signs, and float32 rounding of R_j / s(z_j) and of their running sum
 * comes back amplified by sum|R_j| / |sum R_j| (308x on tiny-mlp's first
 * layer for one unseen input, a 2e-5 error). False when the shapes do not
 * allow it. */
static bool flat_dense(const lrp_rule_call *c)
{
    const lrp_tensor *R = c->R, *G = c->gin[0];
    if (lrp_node_group(c->g, c->n) != LRP_GROUP_DENSE || R->ndim < 1 || G->ndim < 1 || R->dims[R->ndim - 1] <= 0 ||
        G->dims[G->ndim - 1] <= 0)
        return false;
    int64_t N = R->dims[R->ndim - 1], K = G->dims[G->ndim - 1], rows = R->numel / N;
    if (rows * K != G->numel)
        return false;
    const double s = (double)K + (double)c->rule->eps; /* s(z) for z = K > 0 */
    const lrp_real *r = lrp_reals(R);
    lrp_real *gp = lrp_reals(G);
    for (int64_t m = 0; m < rows; m++) {
        double acc = 0.0;
        for (int64_t j = 0; j < N; j++)
            acc += (double)r[m * N + j];
        const lrp_real v = (lrp_real)(acc / s);
        for (int64_t k = 0; k < K; k++)
            gp[m * K + k] += v;
    }
    return true;
}

static lrp_status flat_layer(const lrp_rule_call *c, bool wsquare, lrp_error *err)
{
    if (!wsquare && flat_dense(c))
        return LRP_OK;
    bool fail = false;
    const lrp_real *W = lrp_mod_weight(c, wsquare ? LRP_MOD_SQUARE : LRP_MOD_ONES, err);
    const lrp_real *b = wsquare ? lrp_mod_bias(c, LRP_MOD_SQUARE, err, &fail) : NULL;
    if (!W || fail)
        return lrp_rule_oom(err);
    /* z = f(1; Wm, bm) does not depend on the input: computed for one sample
     * once and kept in the node's cache (each sample of a batch has the same
     * sums), then g = R / s(z) as lrp_ratio_new takes it */
    const lrp_value *xv = lrp_node_in(c->g, c->n, 0);
    const bool one = lrp_const_per_sample(c, xv->ndim);
    const int64_t per = one ? c->R->numel / c->R->dims[0] : c->R->numel;
    bool have;
    lrp_real *zc = lrp_const_product(c, per, &have, err);
    if (!zc)
        return lrp_rule_oom(err);
    if (!have) {
        int64_t dims[LRP_MAX_DIMS];
        for (int i = 0; i < xv->ndim; i++)
            dims[i] = i ? xv->dims[i] : one ? 1 : c->R->dims[0];
        lrp_tensor *ones = lrp_ones_new(xv->ndim, dims, err);
        lrp_tensor *z1 =
            ones ? (one ? lrp_layer_sample_new(c, ones, W, b, err) : lrp_layer_new(c, ones, W, b, err)) : NULL;
        if (z1 && z1->numel == per) {
            memcpy(zc, lrp_reals(z1), sizeof(lrp_real) * (size_t)per);
            lrp_const_product_done(c, per);
        }
        bool ok = z1 && z1->numel == per;
        lrp_tensor_free(ones);
        lrp_tensor_free(z1);
        if (!ok)
            return z1 ? lrp_node_fail(err, c->n, LRP_ERR_INTERNAL, "flat: the product of ones has the wrong size")
                      : lrp_rule_oom(err);
    }
    lrp_tensor *g = lrp_tensor_like(c->R, err);
    if (!g)
        return lrp_rule_oom(err);
    const lrp_real *r = lrp_reals(c->R), eps = c->rule->eps;
    lrp_real *gp = lrp_reals(g);
    const int64_t n = c->R->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        gp[i] = r[i] / lrp_stabilize(zc[i % per], eps);
    lrp_gemm_count(c, LRP_COUNT_T, 1.0);
    lrp_status st = LRP_OK;
    if (c->n->op->linear->apply_t(c->n, g, W, c->gin[0], err) != LRP_OK)
        st = lrp_rule_oom(err);
    lrp_tensor_free(g);
    return st;
}

/* Flat on parameter-free ops (require_params=False): inputs replaced by ones,
 * R_in = Jᵀ(R / s(f(1))). */
static lrp_status flat_op(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_node *n = c->n;
    lrp_tensor *ones[LRP_RULE_MAX_INPUTS] = {0}, *tmp[LRP_RULE_MAX_INPUTS] = {0};
    const lrp_tensor *in[LRP_RULE_MAX_INPUTS];
    if (n->n_inputs > LRP_RULE_MAX_INPUTS)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs");
    lrp_status st = LRP_OK;
    for (int i = 0; i < n->n_inputs && st == LRP_OK; i++) {
        in[i] = c->in[i];
        if (c->gin[i] && !(in[i] = ones[i] = lrp_ones_new(c->gin[i]->ndim, c->gin[i]->dims, err)))
            st = lrp_rule_oom(err);
    }
    lrp_tensor *z = st == LRP_OK ? lrp_tensor_like(c->R, err) : NULL;
    lrp_tensor *outs[1] = {z};
    if (st == LRP_OK && (!z || (st = n->op->forward(n, in, outs, err)) != LRP_OK))
        st = z ? st : lrp_rule_oom(err);
    lrp_tensor *g = st == LRP_OK ? lrp_ratio_new(c->R, z, c->rule->eps, err) : NULL;
    if (st == LRP_OK && !g)
        st = lrp_rule_oom(err);
    if (st == LRP_OK)
        st = lrp_grad_into(c, in, z, g, tmp, err);
    if (st == LRP_OK)
        for (int i = 0; i < n->n_inputs; i++)
            if (tmp[i])
                lrp_add_inplace(c->gin[i], tmp[i]);
    lrp_grad_free(n, tmp);
    for (int i = 0; i < n->n_inputs; i++)
        lrp_tensor_free(ones[i]);
    lrp_tensor_free(z);
    lrp_tensor_free(g);
    return st;
}

/* The adjoint on layers: R_in = Wmᵀ(R / s(f(1; Wm, bm))) does not depend on
 * the input, so only uR += f(u; Wm, 0) / s(f(1; Wm, bm)). */
static lrp_status flat_layer_adjoint(const lrp_adjoint_call *a, bool wsquare, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    if (!lrp_rule_on_layer(c))
        return lrp_node_fail(err, c->n, LRP_ERR_UNSUPPORTED, "the flat rule has a second order on layers only");
    bool fail = false;
    const lrp_real *W = lrp_mod_weight(c, wsquare ? LRP_MOD_SQUARE : LRP_MOD_ONES, err);
    const lrp_real *b = wsquare ? lrp_mod_bias(c, LRP_MOD_SQUARE, err, &fail) : NULL;
    if (!W || fail)
        return lrp_rule_oom(err);
    const lrp_tensor *u = a->u[0];
    lrp_tensor *ones = lrp_ones_new(u->ndim, u->dims, err);
    lrp_tensor *z = ones ? lrp_layer_new(c, ones, W, b, err) : NULL;
    lrp_tensor *p = z ? lrp_layer_new(c, u, W, NULL, err) : NULL;
    lrp_status st = p ? LRP_OK : lrp_rule_oom(err);
    if (st == LRP_OK) {
        const lrp_real *pp = lrp_reals(p), *zz = lrp_reals(z);
        lrp_real *ur = lrp_reals(a->uR);
        for (int64_t k = 0; k < p->numel; k++)
            ur[k] += pp[k] / lrp_stabilize(zz[k], c->rule->eps);
    }
    lrp_tensor_free(ones);
    lrp_tensor_free(z);
    lrp_tensor_free(p);
    return st;
}

static lrp_status flat_adjoint(const lrp_adjoint_call *a, lrp_error *err) { return flat_layer_adjoint(a, false, err); }
static lrp_status wsquare_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    return flat_layer_adjoint(a, true, err);
}

static lrp_status flat_apply(const lrp_rule_call *c, lrp_error *err)
{
    return lrp_rule_on_layer(c) ? flat_layer(c, false, err) : flat_op(c, err);
}

static lrp_status wsquare_apply(const lrp_rule_call *c, lrp_error *err) { return flat_layer(c, true, err); }

const lrp_rule_def lrp_rule_flat = {
    .kind = LRP_RULE_FLAT,
    .name = "flat",
    .summary = "the layer with unit weights and inputs: relevance spread evenly (for the first layer)",
    .params = {LRP_PARAM_STABILIZER},
    .apply = flat_apply,
    .adjoint = flat_adjoint,
};

const lrp_rule_def lrp_rule_wsquare = {
    .kind = LRP_RULE_WSQUARE,
    .name = "wsquare",
    .summary = "the layer with squared weights and unit inputs",
    .params = {LRP_PARAM_STABILIZER, LRP_PARAM_BIAS},
    .target = LRP_ON_LAYER,
    .apply = wsquare_apply,
    .adjoint = wsquare_adjoint,
};
