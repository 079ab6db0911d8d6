/* MaxPool over 1-D and 2-D windows: kernel_shape, strides, pads, dilations,
 * auto_pad, ceil_mode; the optional Indices output (flat indices over the
 * whole tensor, row-major or, with storage_order = 1, column-major within a
 * plane). The gradient goes to the first maximum of each window (PyTorch). */
#include "ops/kernels/pool_kernels.h"
#include "base/tensor.h"

#include <stdlib.h>

static lrp_status maxpool_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    if (n->n_outputs > 2)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "MaxPool has at most 2 outputs");
    return lrp_pool_init(g, n, err);
}

static lrp_status maxpool_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                  lrp_error *err)
{
    const lrp_pool_state *s = n->state;
    lrp_pool_geom pg = s->geom;
    pg.planes = in[0]->dims[0] * in[0]->dims[1];
    lrp_tensor *ind = n->n_outputs > 1 ? out[1] : NULL;
    int64_t *idx = ind ? lrp_i64(ind) : NULL;
    lrp_maxpool_fwd(&pg, lrp_reals(in[0]), lrp_reals(out[0]), idx);
    if (idx) {
        const int64_t HW = pg.H * pg.W, OHW = pg.OH * pg.OW;
        for (int64_t k = 0; k < ind->numel; k++) {
            int64_t a = idx[k], p = k / OHW;
            if (a < 0)
                idx[k] = -1;
            else if (s->storage_order)
                idx[k] = p * HW + (a % pg.W) * pg.H + a / pg.W;
            else
                idx[k] = p * HW + a;
        }
    }
    return LRP_OK;
}

static lrp_status maxpool_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                   const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_pool_state *s = n->state;
    lrp_pool_geom pg = s->geom;
    pg.planes = in[0]->dims[0] * in[0]->dims[1];
    lrp_maxpool_bwd(&pg, lrp_reals(in[0]), lrp_reals(gout), lrp_reals(gin[0]));
    return LRP_OK;
}

static lrp_group maxpool_group(const lrp_graph *g, const lrp_node *n) { return LRP_GROUP_MAXPOOL; }

const lrp_op lrp_op_maxpool = {
    .piecewise = 1,
    .overwrites = 1,
    .type = "MaxPool",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = maxpool_init,
    .destroy = free,
    .infer = lrp_pool_infer,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = maxpool_group,
};
