/* Gamma (rules.py:125-175): the layer with W + γW⁺ for the positive and
 * W + γW⁻ for the negative outputs, chosen by the sign of the output z. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

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
    bool ok = lrp_sign_split_new(&s, c->in[0], err) == LRP_OK && Wp && Wn && !fail1 && !fail2 && z &&
              lrp_sign_half(c, &s, Wp, Wn, bp, z, 1, &T[0], &T[1], err) == LRP_OK &&
              lrp_sign_half(c, &s, Wn, Wp, bn, z, -1, &T[2], &T[3], err) == LRP_OK;
    if (ok)
        combine(c, &s, T);
    lrp_sign_split_free(&s);
    lrp_tensors_free(T, 4);
    return ok ? LRP_OK : lrp_rule_oom(err);
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
};
