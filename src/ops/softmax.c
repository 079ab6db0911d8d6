/* Softmax: y = exp(x) / sum(exp(x)) along the axis (see softmax_kernels.h for the
 * opset < 13 coercion to 2-D). */
#include "ops/kernels/softmax_kernels.h"
#include "base/tensor.h"

#include <stdlib.h>

static lrp_status softmax_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                  lrp_error *err)
{
    int64_t outer, L, inner;
    lrp_softmax_view(n, in[0], &outer, &L, &inner);
    lrp_softmax_fwd(outer, L, inner, lrp_reals(in[0]), lrp_reals(out[0]), 0);
    return LRP_OK;
}

static lrp_status softmax_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                   const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    int64_t outer, L, inner;
    lrp_softmax_view(n, out, &outer, &L, &inner);
    lrp_softmax_bwd(outer, L, inner, lrp_reals(out), lrp_reals(gout), lrp_reals(gin[0]), 0);
    return LRP_OK;
}

/* The curvature term of the second order: with s the output, per group,
 * w = u⊙g − u⟨s,g⟩ − g⟨s,u⟩ and gx += s ⊙ (w − ⟨s,w⟩) (the derivative of
 * ⟨u, s ⊙ (g − ⟨s,g⟩)⟩ through s), in double. */
static lrp_status softmax_second(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                 const lrp_tensor *g, const lrp_tensor *u, lrp_tensor *gx, lrp_error *err)
{
    int64_t outer, L, inner;
    lrp_softmax_view(n, out, &outer, &L, &inner);
    const lrp_real *s = lrp_reals(out), *gg = lrp_reals(g), *uu = lrp_reals(u);
    lrp_real *d = lrp_reals(gx);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t q = 0; q < inner; q++) {
            const int64_t at = o * L * inner + q;
            double sg = 0, su = 0, sw = 0;
            for (int64_t l = 0; l < L; l++) {
                sg += (double)s[at + l * inner] * gg[at + l * inner];
                su += (double)s[at + l * inner] * uu[at + l * inner];
            }
            for (int64_t l = 0; l < L; l++) {
                const int64_t i = at + l * inner;
                sw += (double)s[i] * ((double)uu[i] * gg[i] - uu[i] * sg - gg[i] * su);
            }
            for (int64_t l = 0; l < L; l++) {
                const int64_t i = at + l * inner;
                const double w = (double)uu[i] * gg[i] - uu[i] * sg - gg[i] * su;
                d[i] += (lrp_real)((double)s[i] * (w - sw));
            }
        }
    return LRP_OK;
}

const lrp_op lrp_op_softmax = {
    .type = "Softmax",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = lrp_softmax_init,
    .destroy = free,
    .infer = lrp_softmax_infer,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .second = softmax_second,
    .keep = LRP_KEEP_OUTPUT,
};
