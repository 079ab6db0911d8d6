/* Gamma (rules.py:125-175): the layer with W + γW⁺ for the positive and
 * W + γW⁻ for the negative outputs, chosen by the sign of the output z. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"
#include "ops/op.h"

#include <stdlib.h>
#include <string.h>

/* Gamma in four products rather than eight. With W = W⁺ + W⁻ and x = x⁺ + x⁻,
 *   W⁺x⁺ + W⁻x⁻ = (Wx + |W||x|)/2,   W⁺x⁻ + W⁻x⁺ = (Wx − |W||x|)/2,
 * so zennit's denominators, with a = |W||x| + |b̃| and z = f(x; W, b̃),
 *   f(x⁺; Wp, bp) + f(x⁻; Wn, 0) = (1 + γ/2) z + (γ/2) a,
 *   f(x⁺; Wn, bn) + f(x⁻; Wp, 0) = (1 + γ/2) z − (γ/2) a,
 * take one product (a) beside the forward's own z (b̃ the layer's bias, or
 * none: a zeroed bias goes to gamma_split). With gp = [z>0]·R / s(zp) and gn =
 * [z<0]·R / s(zn) (the masks on the forward's z with its bias), the sum
 *   x⁺⊙(Wpᵀgp + Wnᵀgn) + x⁻⊙(Wnᵀgp + Wpᵀgn)
 * = (1 + γ/2) x⊙Wᵀ(gp + gn) + (γ/2) |x|⊙|W|ᵀ(gp − gn),
 * two transposed products. Both denominators are sums of two terms of the
 * same sign where they are used (z > 0 for zp, z < 0 for zn, a ≥ |z|), so
 * nothing cancels. γ = 0 needs neither |W| product. */

/* |x| as a new tensor, or NULL with *none when x has no negative entries. */
static lrp_tensor *abs_new(const lrp_tensor *x, bool *none, lrp_error *err)
{
    const lrp_real *p = lrp_reals(x);
    int64_t n = x->numel, i = 0;
    while (i < n && !(p[i] < 0.0f))
        i++;
    *none = i == n;
    if (*none)
        return NULL;
    lrp_tensor *t = lrp_tensor_new_uninit(LRP_REAL_DT, x->ndim, x->dims, err);
    if (!t)
        return NULL;
    lrp_real *d = lrp_reals(t);
    LRP_PAR_FOR
    for (int64_t k = 0; k < n; k++)
        d[k] = lrp_fabs(p[k]);
    return t;
}

/* G = gp + gn and H = gp − gn (H only with A), in place of A and into G. */
static void ratios(const lrp_tensor *R, const lrp_tensor *zt, lrp_tensor *A, lrp_real *g, lrp_real gamma, lrp_real eps)
{
    const lrp_real *r = lrp_reals(R), *z = lrp_reals(zt);
    lrp_real *h = A ? lrp_reals(A) : NULL;
    const lrp_real c1 = 1.0f + 0.5f * gamma, c2 = 0.5f * gamma;
    int64_t n = R->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++) {
        const lrp_real d = c1 * z[i], e = h ? c2 * h[i] : 0.0f;
        const lrp_real gp = (z[i] > 0.0f ? r[i] : 0.0f * r[i]) / lrp_stabilize(d + e, eps);
        const lrp_real gn = (z[i] < 0.0f ? r[i] : 0.0f * r[i]) / lrp_stabilize(d - e, eps);
        g[i] = gp + gn;
        if (h)
            h[i] = gp - gn;
    }
}

/* R_in += (1 + γ/2) x⊙T1 + (γ/2) |x|⊙T2 (T2 NULL: γ = 0). */
static void combine(const lrp_rule_call *c, const lrp_tensor *T1, const lrp_tensor *T2)
{
    lrp_real *acc = lrp_reals(c->gin[0]);
    const lrp_real *x = lrp_reals(c->in[0]), *t1 = lrp_reals(T1), *t2 = T2 ? lrp_reals(T2) : NULL;
    const lrp_real c1 = 1.0f + 0.5f * c->rule->gamma, c2 = 0.5f * c->rule->gamma;
    int64_t n = c->in[0]->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        acc[i] += t2 ? c1 * x[i] * t1[i] + c2 * lrp_fabs(x[i]) * t2[i] : c1 * x[i] * t1[i];
}

/* R_in += ((x⁺⊙T1 + x⁻⊙T2) + x⁺⊙T3) + x⁻⊙T4 (T2, T4 only with negative entries) */
static void combine4(const lrp_rule_call *c, const lrp_sign_split *s, lrp_tensor *const *T)
{
    lrp_real *acc = lrp_reals(c->gin[0]);
    const lrp_real *p = lrp_reals(s->xpos), *q = s->xn ? lrp_reals(s->xn) : NULL, *t1 = lrp_reals(T[0]),
                   *t2 = T[1] ? lrp_reals(T[1]) : NULL, *t3 = lrp_reals(T[2]), *t4 = T[3] ? lrp_reals(T[3]) : NULL;
    int64_t n = s->x->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        acc[i] += q ? ((p[i] * t1[i] + q[i] * t2[i]) + p[i] * t3[i]) + q[i] * t4[i] : p[i] * t1[i] + p[i] * t3[i];
}

/* With the bias zeroed, the masks (the forward's z, with its bias) and the
 * denominators (without it) need not agree in sign, so the sums above could
 * cancel where the ones below do not: zennit's eight products as it writes
 * them. gp = [z>0]·R / s(f(x⁺; Wp, 0) + f(x⁻; Wn, 0)), T1 = Wpᵀgp, T2 = Wnᵀgp;
 * gn = [z<0]·R / s(f(x⁺; Wn, 0) + f(x⁻; Wp, 0)), T3 = Wnᵀgn, T4 = Wpᵀgn. */
static lrp_status gamma_split(const lrp_rule_call *c, lrp_error *err)
{
    lrp_sign_split s;
    lrp_tensor *T[4] = {NULL};
    bool done = false;
    bool ok = lrp_sign_split_new(&s, c->in[0], err) == LRP_OK &&
              lrp_sign_halves(c, &s, LRP_MOD_GAMMA_POS, LRP_MOD_GAMMA_NEG, c->out, T, &done, err) == LRP_OK;
    if (ok && !done) { /* half by half */
        const lrp_real *Wp = lrp_mod_weight(c, LRP_MOD_GAMMA_POS, err),
                       *Wn = lrp_mod_weight(c, LRP_MOD_GAMMA_NEG, err);
        ok = Wp && Wn && lrp_sign_half(c, &s, Wp, Wn, NULL, c->out, 1, &T[0], &T[1], NULL, err) == LRP_OK &&
             lrp_sign_half(c, &s, Wn, Wp, NULL, c->out, -1, &T[2], &T[3], NULL, err) == LRP_OK;
    }
    if (ok)
        combine4(c, &s, T);
    lrp_sign_split_free(&s);
    lrp_tensors_free(T, 4);
    return ok ? LRP_OK : lrp_rule_oom(err);
}

static lrp_status gamma_apply(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_tensor *x = c->in[0], *z = c->out;
    if (!z)
        return lrp_node_fail(err, c->n, LRP_ERR_INTERNAL, "gamma: the forward output was not kept");
    if (lrp_layer_bias_zeroed(c))
        return gamma_split(c, err);
    const lrp_real gamma = c->rule->gamma;
    const lrp_real *W = lrp_reals(lrp_layer_weight(c)), *Wa = NULL, *ba = NULL;
    lrp_tensor *ax = NULL, *A = NULL, *G = NULL, *T1 = NULL, *T2 = NULL;
    lrp_status st = LRP_ERR_NOMEM;
    bool fail = false, none = true;
    if (gamma != 0.0f) { /* a = f(|x|; |W|, |b|) */
        if (!(Wa = lrp_mod_weight(c, LRP_MOD_ABS, err)))
            goto done;
        ba = lrp_mod_bias(c, LRP_MOD_ABS, err, &fail);
        if (fail || (!(ax = abs_new(x, &none, err)) && !none) || !(A = lrp_layer_new(c, none ? x : ax, Wa, ba, err)))
            goto done;
    }
    /* in a second-order run: a, T1 and T2 for the adjoint (gamma_adjoint_kept) */
    const bool keep = c->kept && c->shared <= 1;
    if (keep) {
        lrp_tensors_free(c->kept, LRP_KEPT_N);
        if (A && !(c->kept[LRP_KEPT_Z] = lrp_tensor_clone(A, err)))
            goto done;
    }
    if (!(G = lrp_tensor_new_uninit(LRP_REAL_DT, c->R->ndim, c->R->dims, err)))
        goto done;
    ratios(c->R, z, A, lrp_reals(G), gamma, c->rule->eps);
    if (!(T1 = lrp_layer_t_new(c, G, W, x, err)) || (A && !(T2 = lrp_layer_t_new(c, A, Wa, x, err))))
        goto done;
    combine(c, T1, T2);
    if (keep) {
        c->kept[LRP_KEPT_T1] = T1;
        c->kept[LRP_KEPT_T2] = T2;
        T1 = T2 = NULL;
    }
    st = LRP_OK;
done:
    lrp_tensor_free(ax);
    lrp_tensor_free(A);
    lrp_tensor_free(G);
    lrp_tensor_free(T1);
    lrp_tensor_free(T2);
    return st == LRP_OK ? st : lrp_rule_oom(err);
}

/* Whether x has an entry exactly 0. */
static bool any_zero(const lrp_tensor *x)
{
    const lrp_real *p = lrp_reals(x);
    for (int64_t i = 0; i < x->numel; i++)
        if (p[i] == 0.0f)
            return true;
    return false;
}

/* The adjoint of gamma_apply's own sums, given what it kept (a = Aa, T1 =
 * Wᵀ(gp + gn), T2 = |W|ᵀ(gp − gn); Aa and T2 NULL for γ = 0), for an x whose
 * cotangent is ignored where x is 0 or that has no zeros: there, d|x|/dx =
 * sign(x) agrees with the halves' clamps. With v = c1 x⊙u and w = c2 |x|⊙u,
 *   ḡp = f(v; W) + f(w; |W|),  ḡn = f(v; W) − f(w; |W|),
 *   R̄ += [z>0] ḡp / s(zp) + [z<0] ḡn / s(zn),
 *   z̄p = −ḡp gp / s(zp),  z̄n = −ḡn gn / s(zn),
 * z̄ = c1 (z̄p + z̄n) is the forward output's cotangent (the gradient sweep
 * takes it through W), ā = c2 (z̄p − z̄n) reaches x as sign(x) ⊙ |W|ᵀā, and
 * the explicit factors give x̄ += c1 u⊙T1 + c2 sign(x) u⊙T2. */
static lrp_status gamma_adjoint_kept(const lrp_adjoint_call *a, const lrp_tensor *Aa, const lrp_tensor *T1,
                                     const lrp_tensor *T2, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_tensor *x = c->in[0], *u = a->u[0];
    const lrp_real gamma = c->rule->gamma, c1 = 1.0f + 0.5f * gamma, c2 = 0.5f * gamma, eps = c->rule->eps;
    const lrp_real *W = lrp_reals(lrp_layer_weight(c)), *Wa = NULL;
    lrp_tensor *v = NULL, *w = NULL, *Gb = NULL, *Hb = NULL, *ab = NULL, *t = NULL;
    lrp_status st = LRP_ERR_NOMEM;
    if (Aa && !(Wa = lrp_mod_weight(c, LRP_MOD_ABS, err)))
        goto done;
    if (!(v = lrp_tensor_new_uninit(LRP_REAL_DT, x->ndim, x->dims, err)) ||
        (Aa && !(w = lrp_tensor_new_uninit(LRP_REAL_DT, x->ndim, x->dims, err))))
        goto done;
    {
        const lrp_real *xx = lrp_reals(x), *uu = lrp_reals(u);
        lrp_real *vv = lrp_reals(v), *ww = w ? lrp_reals(w) : NULL;
        const int64_t n = x->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            vv[i] = c1 * xx[i] * uu[i];
            if (ww)
                ww[i] = c2 * lrp_fabs(xx[i]) * uu[i];
        }
    }
    if (!(Gb = lrp_layer_new(c, v, W, NULL, err)) || (w && !(Hb = lrp_layer_new(c, w, Wa, NULL, err))))
        goto done;
    if (Aa && !a->detach && !(ab = lrp_tensor_new_uninit(LRP_REAL_DT, c->R->ndim, c->R->dims, err)))
        goto done;
    {
        const lrp_real *r = lrp_reals(c->R), *z = lrp_reals(c->out), *h = Aa ? lrp_reals(Aa) : NULL,
                       *gb = lrp_reals(Gb), *hb = Hb ? lrp_reals(Hb) : NULL;
        lrp_real *ur = lrp_reals(a->uR), *ao = lrp_reals(a->aout), *abar = ab ? lrp_reals(ab) : NULL;
        const int64_t n = c->R->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            const lrp_real d = c1 * z[i], e = h ? c2 * h[i] : 0.0f;
            const lrp_real sp = lrp_stabilize(d + e, eps), sn = lrp_stabilize(d - e, eps);
            const lrp_real gp = (z[i] > 0.0f ? r[i] : 0.0f * r[i]) / sp, gn = (z[i] < 0.0f ? r[i] : 0.0f * r[i]) / sn;
            const lrp_real gbp = hb ? gb[i] + hb[i] : gb[i], gbn = hb ? gb[i] - hb[i] : gb[i];
            ur[i] += (z[i] > 0.0f ? gbp / sp : 0.0f) + (z[i] < 0.0f ? gbn / sn : 0.0f);
            if (a->detach)
                continue;
            const lrp_real zbp = -gbp * gp / sp, zbn = -gbn * gn / sn;
            ao[i] += c1 * (zbp + zbn);
            if (abar)
                abar[i] = c2 * (zbp - zbn);
        }
    }
    if (ab && !(t = lrp_layer_t_new(c, ab, Wa, x, err)))
        goto done;
    {
        const lrp_real *xx = lrp_reals(x), *uu = lrp_reals(u), *t1 = lrp_reals(T1), *t2 = T2 ? lrp_reals(T2) : NULL,
                       *ta = t ? lrp_reals(t) : NULL;
        lrp_real *gx = lrp_reals(c->gin[0]);
        const int64_t n = x->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            const lrp_real sg = xx[i] > 0.0f ? 1.0f : (xx[i] < 0.0f ? -1.0f : 0.0f);
            lrp_real q = c1 * uu[i] * t1[i];
            if (t2)
                q += c2 * sg * uu[i] * t2[i];
            if (ta)
                q += sg * ta[i];
            gx[i] += q;
        }
    }
    st = LRP_OK;
done:
    lrp_tensor_free(v);
    lrp_tensor_free(w);
    lrp_tensor_free(Gb);
    lrp_tensor_free(Hb);
    lrp_tensor_free(ab);
    lrp_tensor_free(t);
    return st == LRP_OK ? st : lrp_rule_oom(err);
}

/* The adjoint: from what the first order kept where that is its derivative
 * (gamma_adjoint_kept); else the positive half ([z > 0], x⁺ through W + γW⁺,
 * x⁻ through W + γW⁻) and the negative half ([z < 0], weights swapped), each
 * over its z; the masks are constants. */
static lrp_status gamma_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    if (!c->out)
        return lrp_node_fail(err, c->n, LRP_ERR_INTERNAL, "gamma: the forward output was not kept");
    if (c->kept && c->kept[LRP_KEPT_T1]) {
        lrp_tensor *k[LRP_KEPT_N];
        memcpy(k, c->kept, sizeof k);
        memset(c->kept, 0, sizeof k);
        lrp_status st = LRP_OK;
        bool ok = (c->rule->gamma == 0.0f || k[LRP_KEPT_Z]) && (a->dead_at_zero || !any_zero(c->in[0]));
        if (ok)
            st = gamma_adjoint_kept(a, k[LRP_KEPT_Z], k[LRP_KEPT_T1], k[LRP_KEPT_T2], err);
        lrp_tensors_free(k, LRP_KEPT_N);
        if (ok)
            return st;
    }
    lrp_sign_split s;
    lrp_tensor *z = NULL;
    bool fail1, fail2;
    const lrp_real *Wp = lrp_mod_weight(c, LRP_MOD_GAMMA_POS, err), *Wn = lrp_mod_weight(c, LRP_MOD_GAMMA_NEG, err);
    const lrp_real *bp = lrp_mod_bias(c, LRP_MOD_GAMMA_POS, err, &fail1),
                   *bn = lrp_mod_bias(c, LRP_MOD_GAMMA_NEG, err, &fail2);
    lrp_status st = lrp_sign_split_new(&s, c->in[0], err);
    if (st != LRP_OK || !Wp || !Wn || fail1 || fail2 || !(z = lrp_adj_half_z(c, &s, Wp, Wn, bp, err)))
        st = lrp_rule_oom(err);
    const lrp_adj_term tp[2] = {{Wp, s.xpos, 1.0f, LRP_ADJ_XPOS, false, NULL},
                                {Wn, s.xn ? s.xn : s.xpos, 1.0f, LRP_ADJ_XNEG, !s.xn, NULL}};
    if (st == LRP_OK)
        st = lrp_adj_group(a, tp, 2, z, c->out, 1, 1.0f, err);
    lrp_tensor_free(z);
    z = NULL;
    if (st == LRP_OK && !(z = lrp_adj_half_z(c, &s, Wn, Wp, bn, err)))
        st = lrp_rule_oom(err);
    const lrp_adj_term tn[2] = {{Wn, s.xpos, 1.0f, LRP_ADJ_XPOS, false, NULL},
                                {Wp, s.xn ? s.xn : s.xpos, 1.0f, LRP_ADJ_XNEG, !s.xn, NULL}};
    if (st == LRP_OK)
        st = lrp_adj_group(a, tn, 2, z, c->out, -1, 1.0f, err);
    lrp_sign_split_free(&s);
    lrp_tensor_free(z);
    return st;
}

const lrp_rule_def lrp_rule_gamma = {
    .kind = LRP_RULE_GAMMA,
    .name = "gamma",
    .summary = "the layer with its positive weights amplified by gamma",
    .params = {LRP_FLOAT_PARAM("gamma", NULL, gamma, 0.25f, "how much the positive weights are amplified"),
               LRP_PARAM_STABILIZER, LRP_PARAM_BIAS},
    .target = LRP_ON_LAYER,
    .flags = LRP_RULE_DIVIDES | LRP_RULE_DECIDES,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
    .apply = gamma_apply,
    .adjoint = gamma_adjoint,
};
