/* Softmax (AttnLRP, Achtibat et al. 2024, Proposition 3.3; refset-modern's
 * rule for Softmax under attnlrp): the relevance of the softmax's input is
 * the first-order Taylor term of each output at the input,
 *   R_x = x ⊙ (R − s ⊙ Σ R)   over the softmax axis (s the output),
 * which is x ⊙ the gradient of Σ R·log(s): no denominators. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"
#include "ops/kernels/softmax_kernels.h"

#include <string.h>

static lrp_status softmax_check(const lrp_graph *g, const lrp_node *n, const char *label, lrp_error *err)
{
    if (strcmp(n->op_type, "Softmax") != 0)
        return lrp_fail(err, LRP_ERR_ARG, "rule softmax needs a Softmax node; node %s is a %s", label, n->op_type);
    return LRP_OK;
}

/* One group of L values at stride `inner`: gx += x * (R - s * sum(R)), the
 * sum in double in index order. */
static void softmax_group(int64_t L, int64_t inner, const lrp_real *x, const lrp_real *s, const lrp_real *R,
                          lrp_real *gx)
{
    double sum = 0.0;
    for (int64_t l = 0; l < L; l++)
        sum += R[l * inner];
    for (int64_t l = 0; l < L; l++) {
        int64_t i = l * inner;
        gx[i] += (lrp_real)((double)x[i] * ((double)R[i] - (double)s[i] * sum));
    }
}

static lrp_status softmax_apply(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_tensor *x = c->in[0], *s = c->out;
    if (!x || !s)
        return lrp_fail(err, LRP_ERR_INTERNAL, "rule softmax: the forward values were not kept");
    int64_t outer, L, inner;
    lrp_softmax_view(c->n, x, &outer, &L, &inner);
    const lrp_real *xv = lrp_reals(x), *sv = lrp_reals(s), *rv = lrp_reals(c->R);
    lrp_real *gx = lrp_reals(c->gin[0]);
    int64_t n = outer * L * inner, groups = outer * inner;
    LRP_PAR_FOR
    for (int64_t k = 0; k < groups; k++) {
        int64_t at = (k / inner) * L * inner + k % inner;
        softmax_group(L, inner, xv + at, sv + at, rv + at, gx + at);
    }
    return LRP_OK;
}

/* The adjoint, per group (S = ΣR, s the output): uR_l += x_l u_l −
 * Σ_i u_i x_i s_i, x̄ += u ⊙ (R − s S) (the explicit factor) and, unless
 * detached, the output's cotangent −u ⊙ x S (the gradient sweep takes it
 * through the softmax). In double. */
static lrp_status softmax_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_tensor *x = c->in[0], *s = c->out;
    if (!x || !s)
        return lrp_fail(err, LRP_ERR_INTERNAL, "rule softmax: the forward values were not kept");
    if (!a->u[0])
        return LRP_OK;
    int64_t outer, L, inner;
    lrp_softmax_view(c->n, x, &outer, &L, &inner);
    const lrp_real *xv = lrp_reals(x), *sv = lrp_reals(s), *rv = lrp_reals(c->R), *uv = lrp_reals(a->u[0]);
    lrp_real *ur = lrp_reals(a->uR), *ao = lrp_reals(a->aout), *gx = c->gin[0] ? lrp_reals(c->gin[0]) : NULL;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t q = 0; q < inner; q++) {
            const int64_t at = o * L * inner + q;
            double S = 0, uxs = 0;
            for (int64_t l = 0; l < L; l++) {
                const int64_t i = at + l * inner;
                S += rv[i];
                uxs += (double)uv[i] * xv[i] * sv[i];
            }
            for (int64_t l = 0; l < L; l++) {
                const int64_t i = at + l * inner;
                ur[i] += (lrp_real)((double)xv[i] * uv[i] - uxs);
                if (gx)
                    gx[i] += (lrp_real)((double)uv[i] * ((double)rv[i] - (double)sv[i] * S));
                if (!a->detach)
                    ao[i] -= (lrp_real)((double)uv[i] * xv[i] * S);
            }
        }
    return LRP_OK;
}

const lrp_rule_def lrp_rule_softmax = {
    .kind = LRP_RULE_SOFTMAX,
    .name = "softmax",
    .summary = "the input times the output's relevance minus the output times the relevance summed over the axis "
               "(AttnLRP), on Softmax nodes",
    .target = LRP_ON_ELEMENTWISE,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
    .check = softmax_check,
    .apply = softmax_apply,
    .adjoint = softmax_adjoint,
};
