/* Floor (float): no gradient (zero almost everywhere), so relevance stops here. */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static lrp_status floor_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(in[0]->numel, y[i] = lrp_floor(x[i]));
    return LRP_OK;
}

const lrp_op lrp_op_floor = {
    .type = "Floor",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_float,
    .forward = floor_forward,
};
