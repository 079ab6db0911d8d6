/* Identity: a copy (any dtype). */
#include "ops/kernels/eltwise_kernels.h"

const lrp_op lrp_op_identity = {
    .view = 1,
    .type = "Identity",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_infer_same_any,
    .forward = lrp_copy_forward,
    .backward = lrp_copy_backward,
    .keep = 0,
};
