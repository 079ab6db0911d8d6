/* Gamma (rules.py:125-175): the layer with W + γW⁺ for the positive and
 * W + γW⁻ for the negative outputs, chosen by the sign of the output z. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"
#include "ops/kernels/gemm_sign.h"
#include "ops/op.h"

#include <stdlib.h>
#include <string.h>

/* R_in += ((x⁺⊙T1 + x⁻⊙T2) + x⁺⊙T3) + x⁻⊙T4 (T2, T4 only with negative entries) */
static void combine(const lrp_rule_call *c, const lrp_sign_split *s, lrp_tensor *const *T)
{
    lrp_real *acc = lrp_reals(c->gin[0]);
    const lrp_real *p = lrp_reals(s->xpos), *q = s->xn ? lrp_reals(s->xn) : NULL, *t1 = lrp_reals(T[0]),
                   *t2 = T[1] ? lrp_reals(T[1]) : NULL, *t3 = lrp_reals(T[2]), *t4 = T[3] ? lrp_reals(T[3]) : NULL;
    int64_t n = s->x->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        acc[i] += q ? ((p[i] * t1[i] + q[i] * t2[i]) + p[i] * t3[i]) + q[i] * t4[i] : p[i] * t1[i] + p[i] * t3[i];
}

/* g = m·R / s(z) in place, m = [mask > 0] (sign 1) or [mask < 0] (-1), as lrp_sign_half computes it. */
static void dense_ratio(const lrp_tensor *R, lrp_real *d, const lrp_tensor *mask, int mask_sign, lrp_real eps)
{
    const lrp_real *r = lrp_reals(R), *m = lrp_reals(mask);
    int64_t n = R->numel;
    if (mask_sign > 0) {
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++)
            d[i] = (m[i] > 0.0f ? r[i] : 0.0f * r[i]) / lrp_stabilize(d[i], eps);
    } else {
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++)
            d[i] = (m[i] < 0.0f ? r[i] : 0.0f * r[i]) / lrp_stabilize(d[i], eps);
    }
}

/* Gamma on a MatMul dense layer (x (..., K) times a constant W (K, N), the
 * bias fused by the canonizer or none): the same sums as gamma_apply's eight
 * products, computed as two sign-split products (gemm_sign.h) that leave out
 * the zero terms of x⁺, x⁻ and of the masked ratios. 1 when it does not
 * apply (another op, OpenBLAS, a weight or bias it cannot take): then
 * gamma_apply computes it the general way. */
static int gamma_dense(const lrp_rule_call *c, const lrp_real *Wp, const lrp_real *Wn, const lrp_real *bp,
                       const lrp_real *bn, lrp_status *st, lrp_error *err)
{
    const lrp_tensor *x = c->in[0], *z = c->out, *W = lrp_layer_weight(c);
    if (strcmp(c->n->op->type, "MatMul") || lrp_exec_ctx.openblas || W->ndim != 2 || !z || x->ndim < 2 ||
        x->dims[x->ndim - 1] != W->dims[0] || z->dims[z->ndim - 1] != W->dims[1])
        return 1;
    const int64_t K = W->dims[0], N = W->dims[1], M = K ? x->numel / K : 0;
    if (M * N != z->numel || M <= 0 || N <= 0 || K <= 0)
        return 1;
    lrp_sign_split s;
    lrp_real *f = NULL, *t = NULL;
    int ret = 1;
    if (lrp_sign_split_new(&s, x, err) != LRP_OK)
        goto done;
    const lrp_real *xp = lrp_reals(s.xpos), *xn = s.xn ? lrp_reals(s.xn) : NULL;
    f = malloc(sizeof(lrp_real) * (size_t)(4 * M * N));
    t = malloc(sizeof(lrp_real) * (size_t)(4 * M * K));
    if (!f || !t)
        goto done;
    /* f(x⁺; Wp, bp), f(x⁺; Wn, bn), f(x⁻; Wp, 0), f(x⁻; Wn, 0) */
    lrp_real *const F[4] = {f, f + M * N, f + 2 * M * N, f + 3 * M * N};
    const lrp_real *const fc0[4] = {bp, bn, NULL, NULL};
    lrp_gemm_count(c, LRP_COUNT_FWD, xn ? 4.0 : 2.0); /* nominal: the zero terms are left out */
    if (lrp_sgemm_sign4(M, N, K, xp, xn, K, Wp, Wn, N, 1, fc0, F, N) != 0)
        goto done;
    if (xn)
        for (int64_t i = 0; i < M * N; i++) {
            F[0][i] += F[3][i]; /* zp = f(x⁺; Wp, bp) + f(x⁻; Wn, 0) */
            F[1][i] += F[2][i]; /* zn = f(x⁺; Wn, bn) + f(x⁻; Wp, 0) */
        }
    dense_ratio(c->R, F[0], z, 1, c->rule->eps);  /* gp */
    dense_ratio(c->R, F[1], z, -1, c->rule->eps); /* gn */
    /* Wpᵀgp, Wnᵀgp, Wpᵀgn, Wnᵀgn: T1, T2, T4, T3 */
    lrp_real *const T[4] = {t, t + M * K, t + 2 * M * K, t + 3 * M * K};
    const lrp_real *const tc0[4] = {NULL, NULL, NULL, NULL};
    lrp_gemm_count(c, LRP_COUNT_T, 4.0);
    if (lrp_sgemm_sign4(M, K, N, F[0], F[1], N, Wp, Wn, 1, N, tc0, T, K) != 0)
        goto done;
    lrp_tensor v[4];
    lrp_tensor *TT[4] = {&v[0], xn ? &v[1] : NULL, &v[2], xn ? &v[3] : NULL};
    const lrp_real *src[4] = {T[0], T[1], T[3], T[2]};
    for (int q = 0; q < 4; q++) {
        v[q] = *x;
        v[q].data = (void *)src[q];
    }
    combine(c, &s, TT);
    ret = 0;
    *st = LRP_OK;
done:
    lrp_sign_split_free(&s);
    free(f);
    free(t);
    return ret;
}

static lrp_status gamma_apply(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_tensor *z = c->out;
    lrp_sign_split s;
    lrp_tensor *T[4] = {NULL};
    bool fail1, fail2;
    const lrp_real *Wp = lrp_mod_weight(c, LRP_MOD_GAMMA_POS, err), *Wn = lrp_mod_weight(c, LRP_MOD_GAMMA_NEG, err);
    const lrp_real *bp = lrp_mod_bias(c, LRP_MOD_GAMMA_POS, err, &fail1),
                   *bn = lrp_mod_bias(c, LRP_MOD_GAMMA_NEG, err, &fail2);
    /* gp = [z>0]·R / s(f(x⁺; Wp, bp) + f(x⁻; Wn, 0)): T1 = Wpᵀgp, T2 = Wnᵀgp;
     * gn = [z<0]·R / s(f(x⁺; Wn, bn) + f(x⁻; Wp, 0)): T3 = Wnᵀgn, T4 = Wpᵀgn.
     * The masks use the original output. */
    lrp_status st;
    if (Wp && Wn && !fail1 && !fail2 && z && gamma_dense(c, Wp, Wn, bp, bn, &st, err) == 0)
        return st;
    bool done = false;
    bool ok = lrp_sign_split_new(&s, c->in[0], err) == LRP_OK && Wp && Wn && !fail1 && !fail2 && z &&
              lrp_sign_halves(c, &s, LRP_MOD_GAMMA_POS, LRP_MOD_GAMMA_NEG, z, T, &done, err) == LRP_OK;
    if (ok && !done) { /* half by half (the weights fetched again: a stacked pair moves them) */
        Wp = lrp_mod_weight(c, LRP_MOD_GAMMA_POS, err);
        Wn = lrp_mod_weight(c, LRP_MOD_GAMMA_NEG, err);
        bp = lrp_mod_bias(c, LRP_MOD_GAMMA_POS, err, &fail1);
        bn = lrp_mod_bias(c, LRP_MOD_GAMMA_NEG, err, &fail2);
        ok = Wp && Wn && !fail1 && !fail2 && lrp_sign_half(c, &s, Wp, Wn, bp, z, 1, &T[0], &T[1], err) == LRP_OK &&
             lrp_sign_half(c, &s, Wn, Wp, bn, z, -1, &T[2], &T[3], err) == LRP_OK;
    }
    if (ok)
        combine(c, &s, T);
    lrp_sign_split_free(&s);
    lrp_tensors_free(T, 4);
    return ok ? LRP_OK : lrp_rule_oom(err);
}

/* The adjoint: the positive half ([z > 0], x⁺ through W + γW⁺, x⁻ through
 * W + γW⁻) and the negative half ([z < 0], weights swapped), each over its z;
 * the masks are constants. */
static lrp_status gamma_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    if (!c->out)
        return lrp_node_fail(err, c->n, LRP_ERR_INTERNAL, "gamma: the forward output was not kept");
    lrp_sign_split s;
    lrp_tensor *xp = NULL, *xn = NULL, *z = NULL;
    bool fail1, fail2;
    const lrp_real *Wp = lrp_mod_weight(c, LRP_MOD_GAMMA_POS, err), *Wn = lrp_mod_weight(c, LRP_MOD_GAMMA_NEG, err);
    const lrp_real *bp = lrp_mod_bias(c, LRP_MOD_GAMMA_POS, err, &fail1),
                   *bn = lrp_mod_bias(c, LRP_MOD_GAMMA_NEG, err, &fail2);
    lrp_status st = lrp_sign_split_new(&s, c->in[0], err);
    if (st != LRP_OK || !Wp || !Wn || fail1 || fail2 || !(xp = lrp_adj_clamp_new(c->in[0], 0, err)) ||
        !(xn = lrp_adj_clamp_new(c->in[0], 1, err)) || !(z = lrp_adj_half_z(c, &s, Wp, Wn, bp, err)))
        st = lrp_rule_oom(err);
    const lrp_adj_term tp[2] = {{Wp, xp, 1.0f, LRP_ADJ_XPOS}, {Wn, xn, 1.0f, LRP_ADJ_XNEG}};
    if (st == LRP_OK)
        st = lrp_adj_group(a, tp, 2, z, c->out, 1, 1.0f, err);
    lrp_tensor_free(z);
    z = NULL;
    if (st == LRP_OK && !(z = lrp_adj_half_z(c, &s, Wn, Wp, bn, err)))
        st = lrp_rule_oom(err);
    const lrp_adj_term tn[2] = {{Wn, xp, 1.0f, LRP_ADJ_XPOS}, {Wp, xn, 1.0f, LRP_ADJ_XNEG}};
    if (st == LRP_OK)
        st = lrp_adj_group(a, tn, 2, z, c->out, -1, 1.0f, err);
    lrp_sign_split_free(&s);
    lrp_tensor_free(xp);
    lrp_tensor_free(xn);
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
