/* ZPlus (rules.py:178-211) and AlphaBeta (rules.py:214-274): the positive
 * and the negative contributions of a layer, each normalized on its own.
 * ZPlus is AlphaBeta with alpha=1, beta=0 without the beta terms. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

#include <string.h>

static void combine_one(const lrp_sign_split *s, lrp_real alpha, lrp_real beta, lrp_real *acc, const lrp_real *a,
                        const lrp_real *b, const lrp_real *cc, const lrp_real *d);

/* R_in = α(x⁺⊙A + x⁻⊙B) − β(x⁺⊙C + x⁻⊙D); C, D NULL for ZPlus (no beta terms). */
static void combine(const lrp_rule_call *c, const lrp_sign_split *s, lrp_real alpha, lrp_real beta,
                    const lrp_tensor *A, const lrp_tensor *B, const lrp_tensor *C, const lrp_tensor *D)
{
    /* the input of one sample in a shared sweep (takes_one): the same for every copy */
    const int64_t copies = lrp_shared_one(c, s->x) ? c->shared : 1;
    for (int64_t k = 0; k < copies; k++) {
        const int64_t off = k * s->x->numel;
        combine_one(s, alpha, beta, lrp_reals(c->gin[0]) + off, lrp_reals(A) + off, B ? lrp_reals(B) + off : NULL,
                    C ? lrp_reals(C) + off : NULL, D ? lrp_reals(D) + off : NULL);
    }
}

/* One sample's (or all copies') acc += the combination of the input's halves with A..D. */
static void combine_one(const lrp_sign_split *s, lrp_real alpha, lrp_real beta, lrp_real *acc, const lrp_real *a,
                        const lrp_real *b, const lrp_real *cc, const lrp_real *d)
{
    const lrp_real *p = lrp_reals(s->xpos), *q = s->xn ? lrp_reals(s->xn) : NULL;
    int64_t n = s->x->numel;
    if (!cc) {
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++)
            acc[i] += q ? p[i] * a[i] + q[i] * b[i] : p[i] * a[i];
    } else {
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            lrp_real ra = q ? p[i] * a[i] + q[i] * b[i] : p[i] * a[i];
            lrp_real rb = q ? p[i] * cc[i] + q[i] * d[i] : p[i] * cc[i];
            acc[i] += alpha * ra - beta * rb;
        }
    }
}

static lrp_status alpha_beta(const lrp_rule_call *c, bool zplus, lrp_error *err)
{
    lrp_sign_split s;
    lrp_tensor *T[4] = {NULL}; /* A, B, C, D */
    bool fail, done = false;
    bool ok = lrp_sign_split_new(&s, c->in[0], err) == LRP_OK;
    /* in a second-order run the rule leaves its z and products to its adjoint */
    const bool keep = c->kept && c->shared <= 1 && !c->rule->unsigned_eps;
    /* both parts at once where the layer stacks its products (the same bytes) */
    if (ok && !zplus)
        ok = lrp_sign_halves(c, &s, LRP_MOD_POS, LRP_MOD_NEG, NULL, T, &done, err) == LRP_OK;
    if (ok && !done) {
        const lrp_real *Wp = lrp_mod_weight(c, LRP_MOD_POS, err), *Wn = NULL;
        const lrp_real *bp = lrp_mod_bias(c, LRP_MOD_POS, err, &fail), *bn = NULL;
        ok = Wp && !fail && (!(s.xn || !zplus) || (Wn = lrp_mod_weight(c, LRP_MOD_NEG, err)));
        /* alpha part: g_a = R / s(f(x⁺; W⁺, b̃⁺) + f(x⁻; W⁻, 0)), A = W⁺ᵀg_a, B = W⁻ᵀg_a */
        ok = ok && lrp_sign_half(c, &s, Wp, Wn, bp, NULL, 0, &T[0], &T[1], keep ? &c->kept[LRP_KEPT_Z] : NULL, err) ==
                       LRP_OK;
        /* beta part: the same with W⁺ and W⁻ swapped, b̃⁻: C = W⁻ᵀg_b, D = W⁺ᵀg_b */
        if (ok && !zplus) {
            bn = lrp_mod_bias(c, LRP_MOD_NEG, err, &fail);
            ok = !fail && lrp_sign_half(c, &s, Wn, Wp, bn, NULL, 0, &T[2], &T[3], keep ? &c->kept[LRP_KEPT_Z2] : NULL,
                                        err) == LRP_OK;
        }
    }
    if (ok)
        combine(c, &s, zplus ? 1.0f : c->rule->alpha, zplus ? 0.0f : c->rule->beta, T[0], T[1], T[2], T[3]);
    if (ok && keep) {
        const int slot[4] = {LRP_KEPT_T1, LRP_KEPT_T2, LRP_KEPT_T3, LRP_KEPT_T4};
        for (int k = 0; k < 4; k++) {
            lrp_tensor_free(c->kept[slot[k]]);
            c->kept[slot[k]] = T[k];
            T[k] = NULL;
        }
    }
    lrp_sign_split_free(&s);
    lrp_tensors_free(T, 4);
    return ok ? LRP_OK : lrp_rule_oom(err);
}

static lrp_status zplus_apply(const lrp_rule_call *c, lrp_error *err) { return alpha_beta(c, true, err); }
/* ZPlus takes one sample's input in a shared sweep: its products of x are
 * computed once, x⁺ ⊙ Wᵀg for each copy from the one x. */
static bool zplus_takes_one(const lrp_rule_call *c)
{
    return lrp_rule_on_layer(c) && c->in[0] && c->in[0]->ndim >= 1 && c->in[0]->dims[0] == 1 &&
           lrp_const_per_sample(c, c->in[0]->ndim);
}
static lrp_status alpha_beta_apply(const lrp_rule_call *c, lrp_error *err) { return alpha_beta(c, false, err); }

/* The adjoint: the alpha half (x⁺ through W⁺, x⁻ through W⁻, over its z)
 * scaled by alpha, the beta half (weights swapped) by -beta. Both factors
 * reach x̄, as their derivatives at x = 0 are 1 even where x has no negative
 * entries, unless x̄ is ignored at 0 (a ReLU's output, dead_at_zero). */
/* AlphaBeta's adjoint for an x >= 0 whose cotangent is ignored at 0, from
 * what the first order kept (k: both halves' z, T1 = W⁺ᵀgₐ, T3 = W⁻ᵀgᵦ).
 * With pₐ = W⁺(x⊙u) and pᵦ = W⁻(x⊙u): uR += α pₐ/s(zₐ) − β pᵦ/s(zᵦ);
 * x̄ += u ⊙ (α T1 − β T3); and z's cotangents z̄ₐ = −α pₐ gₐ/s(zₐ),
 * z̄ᵦ = β pᵦ gᵦ/s(zᵦ) reach x as W⁺ᵀz̄ₐ + W⁻ᵀz̄ᵦ = ½Wᵀ(z̄ₐ + z̄ᵦ) +
 * ½|W|ᵀ(z̄ₐ − z̄ᵦ): the first half as the forward output's cotangent (the
 * gradient sweep's own product through W), the second one transposed
 * product. */
static lrp_status alpha_beta_adjoint_kept(const lrp_adjoint_call *a, lrp_tensor *const *k, const lrp_real *Wp,
                                          const lrp_real *Wn, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_tensor *x = c->in[0], *u = a->u[0];
    const lrp_real al = c->rule->alpha, be = c->rule->beta;
    const lrp_real *Wa = a->detach ? NULL : lrp_mod_weight(c, LRP_MOD_ABS, err);
    lrp_tensor *xu = lrp_product_new(x, u, err), *pa = NULL, *pb = NULL, *d = NULL, *t = NULL;
    lrp_status st = xu && (a->detach || Wa) ? LRP_OK : lrp_rule_oom(err);
    if (st == LRP_OK) {
        if (!(pa = lrp_layer_new(c, xu, Wp, NULL, err)) || !(pb = lrp_layer_new(c, xu, Wn, NULL, err)) ||
            (!a->detach && !(d = lrp_tensor_new_uninit(LRP_REAL_DT, c->R->ndim, c->R->dims, err))))
            st = lrp_rule_oom(err);
    }
    if (st == LRP_OK) {
        const lrp_real *r = lrp_reals(c->R), *za = lrp_reals(k[LRP_KEPT_Z]), *zb = lrp_reals(k[LRP_KEPT_Z2]),
                       *qa = lrp_reals(pa), *qb = lrp_reals(pb);
        lrp_real *ur = lrp_reals(a->uR), *ao = lrp_reals(a->aout), *dd = d ? lrp_reals(d) : NULL;
        const int64_t n = c->R->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            const lrp_real sa = lrp_rule_stabilize(c->rule, za[i]), sb = lrp_rule_stabilize(c->rule, zb[i]);
            ur[i] += al * qa[i] / sa - be * qb[i] / sb;
            if (dd) {
                const lrp_real ga = r[i] / sa, gb = r[i] / sb, zba = -al * qa[i] * ga / sa, zbb = be * qb[i] * gb / sb;
                ao[i] += 0.5f * (zba + zbb);
                dd[i] = 0.5f * (zba - zbb);
            }
        }
        if (d && !(t = lrp_layer_t_new(c, d, Wa, x, err)))
            st = lrp_rule_oom(err);
    }
    if (st == LRP_OK) {
        const lrp_real *uu = lrp_reals(u), *t1 = lrp_reals(k[LRP_KEPT_T1]), *t3 = lrp_reals(k[LRP_KEPT_T3]),
                       *tt = t ? lrp_reals(t) : NULL;
        lrp_real *gx = lrp_reals(c->gin[0]);
        const int64_t n = x->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++)
            gx[i] += uu[i] * (al * t1[i] - be * t3[i]) + (tt ? tt[i] : 0.0f);
    }
    lrp_tensor_free(xu);
    lrp_tensor_free(pa);
    lrp_tensor_free(pb);
    lrp_tensor_free(d);
    lrp_tensor_free(t);
    return st;
}

static lrp_status alpha_beta_adjoint_run(const lrp_adjoint_call *a, bool zplus, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    lrp_sign_split s;
    lrp_tensor *z = NULL;
    bool fail1 = false, fail2 = false;
    const lrp_real *Wp = lrp_mod_weight(c, LRP_MOD_POS, err), *Wn = lrp_mod_weight(c, LRP_MOD_NEG, err);
    const lrp_real *bp = lrp_mod_bias(c, LRP_MOD_POS, err, &fail1);
    const lrp_real *bn = zplus ? NULL : lrp_mod_bias(c, LRP_MOD_NEG, err, &fail2);
    /* what the first order kept (the same bytes as recomputed), taken: z,
     * W⁺ᵀg and W⁻ᵀg of each half (k[LRP_KEPT_*]) */
    lrp_tensor *k[LRP_KEPT_N] = {NULL};
    if (c->kept && c->kept[LRP_KEPT_Z] && c->kept[LRP_KEPT_T1] &&
        (zplus || (c->kept[LRP_KEPT_Z2] && c->kept[LRP_KEPT_T3]))) {
        memcpy(k, c->kept, sizeof k);
        memset(c->kept, 0, sizeof k);
    }
    lrp_status st = lrp_sign_split_new(&s, c->in[0], err);
    if (st == LRP_OK && !zplus && !s.xn && a->dead_at_zero && k[LRP_KEPT_Z] && k[LRP_KEPT_Z2] && k[LRP_KEPT_T1] &&
        k[LRP_KEPT_T3] && c->out && Wp && Wn && c->gin[0]) {
        st = alpha_beta_adjoint_kept(a, k, Wp, Wn, err);
        lrp_sign_split_free(&s);
        lrp_tensors_free(k, LRP_KEPT_N);
        return st;
    }
    if (st != LRP_OK || !Wp || !Wn || fail1 || fail2 ||
        (!(z = k[LRP_KEPT_Z]) && !(z = lrp_adj_half_z(c, &s, Wp, Wn, bp, err))))
        st = lrp_rule_oom(err);
    k[LRP_KEPT_Z] = NULL;
    if (st == LRP_OK) {
        const lrp_adj_term ta[2] = {{Wp, s.xpos, 1.0f, LRP_ADJ_XPOS, false, k[LRP_KEPT_T1]},
                                    {Wn, s.xn ? s.xn : s.xpos, 1.0f, LRP_ADJ_XNEG, !s.xn,
                                     s.xn ? k[LRP_KEPT_T2] : NULL}};
        st = lrp_adj_group(a, ta, 2, z, NULL, 0, zplus ? 1.0f : c->rule->alpha, err);
    }
    if (st == LRP_OK && !zplus) {
        lrp_tensor_free(z);
        if (!(z = k[LRP_KEPT_Z2]) && !(z = lrp_adj_half_z(c, &s, Wn, Wp, bn, err)))
            st = lrp_rule_oom(err);
        k[LRP_KEPT_Z2] = NULL;
        const lrp_adj_term tb[2] = {{Wn, s.xpos, 1.0f, LRP_ADJ_XPOS, false, k[LRP_KEPT_T3]},
                                    {Wp, s.xn ? s.xn : s.xpos, 1.0f, LRP_ADJ_XNEG, !s.xn,
                                     s.xn ? k[LRP_KEPT_T4] : NULL}};
        if (st == LRP_OK)
            st = lrp_adj_group(a, tb, 2, z, NULL, 0, -c->rule->beta, err);
    }
    lrp_sign_split_free(&s);
    lrp_tensor_free(z);
    lrp_tensors_free(k, LRP_KEPT_N);
    return st;
}

static lrp_status zplus_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    return alpha_beta_adjoint_run(a, true, err);
}
static lrp_status alpha_beta_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    return alpha_beta_adjoint_run(a, false, err);
}

static lrp_status alpha_beta_validate(const lrp_rule *r, const char *spec, lrp_error *err)
{
    if (r->alpha < 0 || r->beta < 0 || r->alpha - r->beta != 1.0f)
        return lrp_fail(err, LRP_ERR_ARG, "rule '%s': alpha-beta needs alpha, beta >= 0 and alpha - beta = 1", spec);
    return LRP_OK;
}

const lrp_rule_def lrp_rule_zplus = {
    .kind = LRP_RULE_ZPLUS,
    .name = "zplus",
    .aliases = {"z-plus", "z+"},
    .summary = "only the positive contributions of a layer",
    .params = {LRP_PARAM_STABILIZER, LRP_PARAM_BIAS},
    .target = LRP_ON_LAYER,
    .flags = LRP_RULE_DIVIDES,
    .keep = LRP_KEEP_INPUTS,
    .apply = zplus_apply,
    .takes_one = zplus_takes_one,
    .adjoint = zplus_adjoint,
};

const lrp_rule_def lrp_rule_alpha_beta = {
    .kind = LRP_RULE_ALPHABETA,
    .name = "alpha-beta",
    .aliases = {"alphabeta", "alpha_beta"},
    .summary = "alpha times the positive minus beta times the negative contributions of a layer",
    .params = {LRP_FLOAT_PARAM("alpha", NULL, alpha, 2.0f, "weight of the positive contributions (alpha - beta = 1)"),
               LRP_FLOAT_PARAM("beta", NULL, beta, 1.0f, "weight of the negative contributions"), LRP_PARAM_STABILIZER,
               LRP_PARAM_BIAS},
    .target = LRP_ON_LAYER,
    .flags = LRP_RULE_DIVIDES,
    .keep = LRP_KEEP_INPUTS,
    .validate = alpha_beta_validate,
    .apply = alpha_beta_apply,
    .adjoint = alpha_beta_adjoint,
};
