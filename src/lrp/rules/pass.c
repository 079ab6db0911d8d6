/* Pass (zennit's Pass): the relevance goes through unchanged, on nodes with
 * one input shaped like the output (activations, batch normalization). */
#include "lrp/rules/rule.h"

static lrp_status pass_apply(const lrp_rule_call *c, lrp_error *err)
{
    lrp_add_inplace(c->gin[lrp_activation_input(c)], c->R);
    return LRP_OK;
}

/* The adjoint: the cotangent passes back unchanged. */
static lrp_status pass_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    lrp_add_inplace(a->uR, a->u[lrp_activation_input(&a->c)]);
    return LRP_OK;
}

const lrp_rule_def lrp_rule_pass = {
    .kind = LRP_RULE_PASS,
    .name = "pass",
    .summary = "relevance passes unchanged",
    .target = LRP_ON_ELEMENTWISE,
    .apply = pass_apply,
    .adjoint = pass_adjoint,
};
