/* AveragePool over 1-D and 2-D windows: kernel_shape, strides, pads,
 * dilations, auto_pad, ceil_mode, count_include_pad. With ceil_mode, a last
 * window that would start in the end padding is dropped, and windows running
 * past the padded input divide by their clipped size (PyTorch's rule). */
#include "ops/kernels/pool_kernels.h"
#include "base/tensor.h"

#include <stdlib.h>

static lrp_status averagepool_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                      lrp_error *err)
{
    const lrp_pool_state *s = n->state;
    lrp_pool_geom pg = s->geom;
    pg.planes = in[0]->dims[0] * in[0]->dims[1];
    lrp_avgpool_fwd(&pg, s->count_include_pad, lrp_reals(in[0]), lrp_reals(out[0]));
    return LRP_OK;
}

static lrp_status averagepool_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                       const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_pool_state *s = n->state;
    lrp_pool_geom pg = s->geom;
    pg.planes = gin[0]->dims[0] * gin[0]->dims[1];
    lrp_avgpool_bwd(&pg, s->count_include_pad, lrp_reals(gout), lrp_reals(gin[0]));
    return LRP_OK;
}

static lrp_group averagepool_group(const lrp_graph *g, const lrp_node *n) { return LRP_GROUP_AVGPOOL; }

const lrp_op lrp_op_averagepool = {
    .type = "AveragePool",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = lrp_pool_init,
    .destroy = free,
    .infer = lrp_pool_infer,
    .forward = averagepool_forward,
    .backward = averagepool_backward,
    .keep = 0,
    .group = averagepool_group,
};
