/* Gate (Pahde et al.'s SignalOnlyGate; refset-modern's squeeze-excitation
 * rule): on a Mul x * gate that lrp_mul_kind_of recognises (a
 * squeeze-excitation product, or x * Sigmoid(x) and x * HardSigmoid(x), the
 * SiLU and HardSwish activations), the signal x takes all the relevance,
 *   R_x = R, R_gate = 0;
 * with uniform=1 (a squeeze-excitation product only) it takes half and the
 * gate the other half summed over the dimensions it is broadcast along,
 *   R_x = R / 2, R_gate = sum over H, W of R / 2. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"
#include "graph/canonize.h"

#include <string.h>

static lrp_status gate_check(const lrp_graph *g, const lrp_node *n, const char *label, lrp_error *err)
{
    int x;
    if (lrp_mul_kind_of(g, n, &x) == LRP_MUL_PLAIN)
        return lrp_fail(err, LRP_ERR_ARG,
                        "rule gate needs a squeeze-excitation Mul or a Mul of x and Sigmoid/HardSigmoid(x); node %s "
                        "is neither",
                        label);
    return LRP_OK;
}

static lrp_status gate_apply(const lrp_rule_call *c, lrp_error *err)
{
    int x;
    lrp_mul_kind kind = lrp_mul_kind_of(c->g, c->n, &x);
    if (kind == LRP_MUL_PLAIN)
        return lrp_fail(err, LRP_ERR_INTERNAL, "rule gate on a Mul it does not recognise");
    bool uniform = c->rule->uniform && kind == LRP_MUL_GATE;
    lrp_tensor *gx = c->gin[x], *gg = c->gin[1 - x];
    if (gx && gx->numel != c->R->numel)
        return lrp_fail(err, LRP_ERR_SHAPE, "rule gate: the signal is not shaped like the product");
    if (gx && !uniform)
        lrp_add_inplace(gx, c->R);
    if (gx && uniform) {
        const lrp_real *r = lrp_reals(c->R);
        lrp_real *a = lrp_reals(gx);
        for (int64_t i = 0; i < gx->numel; i++)
            a[i] += 0.5f * r[i];
    }
    if (gg && uniform)
        lrp_bcast_map(gg, (lrp_tensor *)c->R, 0.5f, false);
    return LRP_OK;
}

/* The adjoint: the rule is linear in R and uses no forward value, so only
 * uR moves: uR += u_x (u_x / 2 with uniform), and with uniform u_gate / 2
 * broadcast back to R's shape. */
static lrp_status gate_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    int x;
    lrp_mul_kind kind = lrp_mul_kind_of(c->g, c->n, &x);
    if (kind == LRP_MUL_PLAIN)
        return lrp_fail(err, LRP_ERR_INTERNAL, "rule gate on a Mul it does not recognise");
    bool uniform = c->rule->uniform && kind == LRP_MUL_GATE;
    const lrp_tensor *ux = a->u[x], *ug = a->u[1 - x];
    if (ux && ux->numel != a->uR->numel)
        return lrp_fail(err, LRP_ERR_SHAPE, "rule gate: the signal is not shaped like the product");
    if (ux) {
        const lrp_real *u = lrp_reals(ux), s = uniform ? 0.5f : 1.0f;
        lrp_real *ur = lrp_reals(a->uR);
        for (int64_t i = 0; i < a->uR->numel; i++)
            ur[i] += s * u[i];
    }
    if (ug && uniform)
        lrp_bcast_map((lrp_tensor *)ug, a->uR, 0.5f, true);
    return LRP_OK;
}

const lrp_rule_def lrp_rule_gate = {
    .kind = LRP_RULE_GATE,
    .name = "gate",
    .summary = "on a squeeze-excitation Mul x*gate (or x*Sigmoid(x)): the signal x takes the relevance, the gate none "
               "(uniform=1: half each, the gate's summed over the broadcast dimensions)",
    .params = {LRP_FLAG_PARAM("uniform", uniform, 0.0f, false, "uniform=1",
                              "1 splits the relevance evenly between the signal and the gate")},
    .check = gate_check,
    .apply = gate_apply,
    .adjoint = gate_adjoint,
};
