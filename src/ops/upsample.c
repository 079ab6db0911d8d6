/* Upsample (opset 7 to 9; deprecated by Resize), nearest mode only: output
 * = floor(input * scale), input index floor(output index / scale). Scales
 * from the attribute (opset 7) or the constant input (9). */
#include "ops/kernels/eltwise_kernels.h"
#include "ops/kernels/resize_kernels.h"

#include <stdlib.h>
#include <string.h>

static lrp_status upsample_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    lrp_resize_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    s->coord = LRP_CT_ASYMMETRIC;
    s->nearest = LRP_NEAREST_FLOOR;
    const char *mode = lrp_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") != 0)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "mode '%s': only nearest-neighbour upsampling is supported",
                             mode);
    if (g->opset < 7)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "Upsample before opset 7 is not supported");
    return LRP_OK;
}

static lrp_status upsample_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    if (g->opset < 9) {
        const lrp_attr *a = lrp_node_attr(n, "scales");
        if (!a || a->type != LRP_ATTR_FLOATS)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the scales attribute is missing");
        return lrp_resize_set(g, n, a->floats, NULL, a->n, err);
    }
    const lrp_value *sc = lrp_node_in(g, n, 1);
    if (!sc)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the scales input is missing");
    if (!sc->constant)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "scales must be constant");
    if (sc->dtype != LRP_REAL_DT || sc->constant->ndim != 1 || sc->constant->numel > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "scales must be a 1-D float tensor");
    return lrp_resize_set(g, n, lrp_reals(sc->constant), NULL, (int)sc->constant->numel, err);
}

const lrp_op lrp_op_upsample = {
    .type = "Upsample",
    .min_inputs = 1,
    .max_inputs = 2,
    .init = upsample_init,
    .destroy = free,
    .infer = upsample_infer,
    .forward = lrp_resize_forward,
    .backward = lrp_resize_backward,
    .keep = 0,
};
