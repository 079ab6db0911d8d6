/* Equal: elementwise a == b with broadcasting (float or int64), a bool
 * tensor held as int64 0/1. */
#include "ops/kernels/bcast_kernels.h"

#include <stdlib.h>

static lrp_status equal_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    return lrp_binary_infer(g, n, true, LRP_INT64, err);
}

static lrp_status equal_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    return lrp_binary_forward(n, LRP_BIN_EQUAL, in, out, err);
}

const lrp_op lrp_op_equal = {
    .type = "Equal",
    .min_inputs = 2,
    .max_inputs = 2,
    .init = lrp_binary_init,
    .destroy = free,
    .infer = equal_infer,
    .forward = equal_forward,
};
