/* Gamma (rules.py:125-175): the layer with W + γW⁺ for the positive and
 * W + γW⁻ for the negative outputs, chosen by the sign of the output z. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

static lrp_status gamma_apply(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_tensor *z = c->out;
    lrp_sign_split s;
    lrp_status st = lrp_sign_split_new(&s, c->in[0], err);
    lrp_tensor *T1 = NULL, *T2 = NULL, *T3 = NULL, *T4 = NULL;
    bool fail1, fail2;
    const float *Wp = lrp_mod_weight(c, LRP_MOD_GAMMA_POS, err), *Wn = lrp_mod_weight(c, LRP_MOD_GAMMA_NEG, err);
    const float *bp = lrp_mod_bias(c, LRP_MOD_GAMMA_POS, err, &fail1),
                *bn = lrp_mod_bias(c, LRP_MOD_GAMMA_NEG, err, &fail2);
    if (st != LRP_OK || !Wp || !Wn || fail1 || fail2 || !z)
        goto fail;
    /* gp = [z>0]·R / s(f(x⁺; Wp, bp) + f(x⁻; Wn, 0)): T1 = Wpᵀgp, T2 = Wnᵀgp;
     * gn = [z<0]·R / s(f(x⁺; Wn, bn) + f(x⁻; Wp, 0)): T3 = Wnᵀgn, T4 = Wpᵀgn.
     * The masks use the original output. */
    if (lrp_sign_half(c, &s, Wp, Wn, bp, z, 1, &T1, &T2, err) != LRP_OK ||
        lrp_sign_half(c, &s, Wn, Wp, bn, z, -1, &T3, &T4, err) != LRP_OK)
        goto fail;
    /* R_in = ((x⁺⊙Wpᵀgp + x⁻⊙Wnᵀgp) + x⁺⊙Wnᵀgn) + x⁻⊙Wpᵀgn */
    {
        float *acc = lrp_f32(c->gin[0]);
        const float *p = lrp_f32(s.xpos), *q = s.xn ? lrp_f32(s.xn) : NULL, *t1 = lrp_f32(T1), *t3 = lrp_f32(T3),
                    *t2 = T2 ? lrp_f32(T2) : NULL, *t4 = T4 ? lrp_f32(T4) : NULL;
        int64_t n = s.x->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++)
            acc[i] += q ? ((p[i] * t1[i] + q[i] * t2[i]) + p[i] * t3[i]) + q[i] * t4[i] : p[i] * t1[i] + p[i] * t3[i];
    }
    st = LRP_OK;
    goto out;
fail:
    st = lrp_rule_oom(err);
out:
    lrp_sign_split_free(&s);
    lrp_tensor_free(T1);
    lrp_tensor_free(T2);
    lrp_tensor_free(T3);
    lrp_tensor_free(T4);
    return st;
}

const lrp_rule_def lrp_rule_gamma = {
    .kind = LRP_RULE_GAMMA,
    .name = "gamma",
    .summary = "the layer with its positive weights amplified by gamma",
    .params = {{"gamma", NULL, LRP_PARAM_FLOAT, offsetof(lrp_rule, gamma), 0.25f, false, NULL,
                "how much the positive weights are amplified"},
               LRP_PARAM_STABILIZER, LRP_PARAM_BIAS},
    .target = LRP_ON_LAYER,
    .flags = LRP_RULE_DIVIDES | LRP_RULE_DECIDES,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
    .apply = gamma_apply,
};
