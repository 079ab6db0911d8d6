/* ZBox (rules.py:277-322): the input bounded by low and high, for the first
 * layer: R_in = x⊙Wᵀg − (l⊙W⁺ᵀg + h⊙W⁻ᵀg), g = R / s(f(x; W, b) −
 * (f(l; W⁺, b⁺) + f(h; W⁻, b⁻))). */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

/* A bound (low/high) broadcast to x's shape: scalar or one value per dim-1 entry. */
static lrp_tensor *bound_tensor(const lrp_rule_call *c, const lrp_real *vals, const lrp_tensor *x, lrp_error *err)
{
    int nb = c->rule->n_bounds;
    if (nb != 1 && (x->ndim < 2 || x->dims[1] != nb)) {
        char sb[160];
        lrp_node_fail(err, c->n, LRP_ERR_SHAPE, "zbox bounds have %d values but the layer input %s has %lld channels",
                      nb, lrp_shape_str(x->ndim, x->dims, sb, sizeof sb), (long long)(x->ndim >= 2 ? x->dims[1] : 0));
        return NULL;
    }
    lrp_tensor *t = lrp_tensor_like(x, err);
    if (!t)
        return NULL;
    lrp_real *d = lrp_reals(t);
    int64_t inner = 1;
    for (int i = 2; i < x->ndim; i++)
        inner *= x->dims[i];
    for (int64_t i = 0; i < x->numel; i++)
        d[i] = nb == 1 ? vals[0] : vals[(i / inner) % nb];
    return t;
}

/* R_in += x⊙A − (l⊙B + h⊙C) */
static void zbox_combine(lrp_tensor *gin, const lrp_tensor *x, const lrp_tensor *l, const lrp_tensor *h,
                         const lrp_tensor *A, const lrp_tensor *B, const lrp_tensor *C)
{
    lrp_real *acc = lrp_reals(gin);
    const lrp_real *xp = lrp_reals(x), *lp = lrp_reals(l), *hp = lrp_reals(h), *a = lrp_reals(A), *bb = lrp_reals(B),
                   *cc = lrp_reals(C);
    int64_t n = x->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        acc[i] += xp[i] * a[i] - (lp[i] * bb[i] + hp[i] * cc[i]);
}

/* ZBox's tensors: the bounds, f(x; W, b) (when recomputed), f(l; W⁺, b⁺),
 * f(h; W⁻, b⁻) (then g), and Wᵀg, W⁺ᵀg, W⁻ᵀg. */
enum { T_L, T_H, T_Z, T_ZL, T_ZH, T_A, T_B, T_C, N_T };

/* f(l; W⁺, b⁺) + f(h; W⁻, b⁻) for one sample: the bounds do not depend on the
 * input, so the node's cache keeps it (the same sums as for every sample of
 * a batch). NULL on failure. */
static const lrp_real *zbox_bounds_z(const lrp_rule_call *c, const lrp_real *Wp, const lrp_real *Wn,
                                     const lrp_real *bp, const lrp_real *bn, lrp_error *err)
{
    const lrp_tensor *x = c->in[0];
    const bool one = lrp_const_per_sample(c, x->ndim) && x->dims[0] > 0;
    const int64_t per = one ? c->R->numel / c->R->dims[0] : c->R->numel;
    bool have;
    lrp_real *s = lrp_const_product(c, per, &have, err);
    if (!s || have)
        return s;
    lrp_tensor x1 = *x; /* x's shape with one sample (or all), for the bounds */
    if (one) {
        x1.dims[0] = 1;
        x1.numel = x->numel / x->dims[0];
    }
    lrp_tensor *l = bound_tensor(c, c->rule->low, &x1, err), *h = l ? bound_tensor(c, c->rule->high, &x1, err) : NULL;
    lrp_tensor *zl = !h ? NULL : one ? lrp_layer_sample_new(c, l, Wp, bp, err) : lrp_layer_new(c, l, Wp, bp, err);
    lrp_tensor *zh = !zl ? NULL : one ? lrp_layer_sample_new(c, h, Wn, bn, err) : lrp_layer_new(c, h, Wn, bn, err);
    if (zh && zh->numel == per) {
        const lrp_real *p1 = lrp_reals(zl), *p2 = lrp_reals(zh);
        for (int64_t i = 0; i < per; i++)
            s[i] = p1[i] + p2[i];
        lrp_const_product_done(c, per);
    } else if (zh) {
        lrp_node_fail(err, c->n, LRP_ERR_INTERNAL, "zbox: the bounds' product has %lld values, not %lld",
                      (long long)zh->numel, (long long)per);
    }
    bool ok = zh && zh->numel == per;
    lrp_tensor_free(l);
    lrp_tensor_free(h);
    lrp_tensor_free(zl);
    lrp_tensor_free(zh);
    return ok ? s : NULL;
}

/* g = R / s(z0 − s1), s1 the bounds' product of one sample, into a new tensor. */
static lrp_tensor *zbox_ratio_cached(const lrp_rule_call *c, const lrp_tensor *z0, const lrp_real *s1, lrp_error *err)
{
    lrp_tensor *g = lrp_tensor_like(c->R, err);
    if (!g)
        return NULL;
    const lrp_real *r = lrp_reals(c->R), *a = lrp_reals(z0);
    lrp_real *p = lrp_reals(g), eps = c->rule->eps;
    const int64_t n = c->R->numel,
                  per = lrp_const_per_sample(c, c->in[0]->ndim) && c->in[0]->dims[0] > 0 ? n / c->R->dims[0] : n;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        p[i] = r[i] / lrp_stabilize(a[i] - s1[i % per], eps);
    return g;
}

/* ZBox with its tensors in t (the caller frees them). */
static lrp_status zbox_run(const lrp_rule_call *c, lrp_tensor **t, lrp_error *err)
{
    const lrp_tensor *x = c->in[0];
    bool f2, f3;
    const lrp_real *W = lrp_reals(lrp_layer_weight(c)), *Wp = lrp_mod_weight(c, LRP_MOD_POS, err),
                   *Wn = lrp_mod_weight(c, LRP_MOD_NEG, err);
    const lrp_real *bp = lrp_mod_bias(c, LRP_MOD_POS, err, &f2), *bn = lrp_mod_bias(c, LRP_MOD_NEG, err, &f3);
    if (!Wp || !Wn || f2 || f3 || !(t[T_L] = bound_tensor(c, c->rule->low, x, err)) ||
        !(t[T_H] = bound_tensor(c, c->rule->high, x, err)))
        return lrp_rule_oom(err);
    const lrp_tensor *z = lrp_layer_z(c, W, &t[T_Z], err);
    const lrp_real *s1 = z ? zbox_bounds_z(c, Wp, Wn, bp, bn, err) : NULL;
    if (!s1 || !(t[T_ZL] = zbox_ratio_cached(c, z, s1, err))) /* g, into T_ZL */
        return lrp_rule_oom(err);
    if (!(t[T_A] = lrp_layer_t_new(c, t[T_ZL], W, x, err)) || !(t[T_B] = lrp_layer_t_new(c, t[T_ZL], Wp, x, err)) ||
        !(t[T_C] = lrp_layer_t_new(c, t[T_ZL], Wn, x, err)))
        return lrp_rule_oom(err);
    zbox_combine(c->gin[0], x, t[T_L], t[T_H], t[T_A], t[T_B], t[T_C]);
    return LRP_OK;
}

static lrp_status zbox_apply(const lrp_rule_call *c, lrp_error *err)
{
    if (c->rule->n_bounds <= 0)
        return lrp_node_fail(err, c->n, LRP_ERR_ARG, "the zbox rule needs low and high bounds");
    lrp_tensor *t[N_T] = {NULL};
    lrp_status st = zbox_run(c, t, err);
    lrp_tensors_free(t, N_T);
    return st;
}

/* The adjoint: one group, x through W and the bounds (constants) through W⁺
 * and W⁻ with coefficient -1, over z = f(x; W, b) - (f(l; W⁺, b⁺) + f(h; W⁻, b⁻)). */
static lrp_status zbox_adjoint_run(const lrp_adjoint_call *a, lrp_tensor **t, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_tensor *x = c->in[0];
    bool f2, f3;
    const lrp_real *W = lrp_reals(lrp_layer_weight(c)), *Wp = lrp_mod_weight(c, LRP_MOD_POS, err),
                   *Wn = lrp_mod_weight(c, LRP_MOD_NEG, err);
    const lrp_real *bp = lrp_mod_bias(c, LRP_MOD_POS, err, &f2), *bn = lrp_mod_bias(c, LRP_MOD_NEG, err, &f3);
    if (!Wp || !Wn || f2 || f3 || !(t[T_L] = bound_tensor(c, c->rule->low, x, err)) ||
        !(t[T_H] = bound_tensor(c, c->rule->high, x, err)))
        return lrp_rule_oom(err);
    const lrp_tensor *z = lrp_layer_z(c, W, &t[T_Z], err);
    if (!z || !(t[T_ZL] = lrp_layer_new(c, t[T_L], Wp, bp, err)) || !(t[T_ZH] = lrp_layer_new(c, t[T_H], Wn, bn, err)))
        return lrp_rule_oom(err);
    const lrp_real *z0 = lrp_reals(z), *zh = lrp_reals(t[T_ZH]);
    lrp_real *zl = lrp_reals(t[T_ZL]);
    for (int64_t i = 0; i < t[T_ZL]->numel; i++)
        zl[i] = z0[i] - (zl[i] + zh[i]); /* the denominator, into T_ZL */
    const lrp_adj_term terms[3] = {{W, x, 1.0f, LRP_ADJ_X, false, NULL},
                                   {Wp, t[T_L], -1.0f, LRP_ADJ_CONST, false, NULL},
                                   {Wn, t[T_H], -1.0f, LRP_ADJ_CONST, false, NULL}};
    return lrp_adj_group(a, terms, 3, t[T_ZL], NULL, 0, 1.0f, err);
}

static lrp_status zbox_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    if (a->c.rule->n_bounds <= 0)
        return lrp_node_fail(err, a->c.n, LRP_ERR_ARG, "the zbox rule needs low and high bounds");
    lrp_tensor *t[N_T] = {NULL};
    lrp_status st = zbox_adjoint_run(a, t, err);
    lrp_tensors_free(t, N_T);
    return st;
}

static lrp_status zbox_validate(const lrp_rule *r, const char *spec, lrp_error *err)
{
    if ((r->low == NULL) != (r->high == NULL))
        return lrp_fail(err, LRP_ERR_ARG, "rule '%s': give both low and high", spec);
    return LRP_OK;
}

const lrp_rule_def lrp_rule_zbox = {
    .kind = LRP_RULE_ZBOX,
    .name = "zbox",
    .summary = "the input bounded by low and high (for the first layer)",
    .params = {LRP_BOUNDS_PARAM("low", low, "lowest input value, one or one per channel (v/v/v)"),
               LRP_BOUNDS_PARAM("high", high, "highest input value, one or one per channel (v/v/v)"),
               LRP_PARAM_STABILIZER, LRP_PARAM_BIAS},
    .target = LRP_ON_LAYER,
    .flags = LRP_RULE_DIVIDES | LRP_RULE_Z_IS_OUTPUT,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
    .validate = zbox_validate,
    .apply = zbox_apply,
    .adjoint = zbox_adjoint,
};
