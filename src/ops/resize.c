/* Resize, nearest mode only: scales or sizes from constant inputs (opset
 * 10: X, scales, with Upsample's rule: asymmetric coordinates, floor);
 * coordinate_transformation_mode half_pixel, pytorch_half_pixel,
 * align_corners, asymmetric, tf_half_pixel_for_nn; nearest_mode
 * round_prefer_floor, round_prefer_ceil, floor, ceil. Linear and cubic
 * modes, tf_crop_and_resize, axes and keep_aspect_ratio_policy are refused.
 * The gradient sums into each output's source element. */
#include "ops/kernels/eltwise_kernels.h"
#include "ops/kernels/resize_kernels.h"

#include <stdlib.h>
#include <string.h>

static lrp_status resize_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    lrp_resize_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    const char *mode = lrp_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") != 0)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "mode '%s': only nearest-neighbour resizing is supported",
                             mode);
    if (g->opset < 11) {
        s->coord = LRP_CT_ASYMMETRIC;
        s->nearest = LRP_NEAREST_FLOOR;
        return LRP_OK;
    }
    static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                         "tf_half_pixel_for_nn"};
    static const char *const rounds[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const char *ct = lrp_attr_string(n, "coordinate_transformation_mode", "half_pixel");
    const char *nm = lrp_attr_string(n, "nearest_mode", "round_prefer_floor");
    s->coord = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(ct, coords[i]))
            s->coord = i;
    s->nearest = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(nm, rounds[i]))
            s->nearest = i;
    if (s->coord < 0)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported", ct);
    if (s->nearest < 0)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "nearest_mode '%s' is not supported", nm);
    if (lrp_node_attr(n, "axes"))
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "the axes attribute is not supported");
    if (strcmp(lrp_attr_string(n, "keep_aspect_ratio_policy", "stretch"), "stretch") != 0)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "keep_aspect_ratio_policy other than stretch");
    return LRP_OK;
}

static lrp_status resize_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const int si = g->opset < 11 ? 1 : 2; /* the scales input */
    const lrp_value *sc = lrp_node_in(g, n, si), *sz = g->opset < 11 ? NULL : lrp_node_in(g, n, 3);
    if (sc && sc->shape_known && lrp_numel_checked(sc->ndim, sc->dims) == 0)
        sc = NULL; /* an empty scales tensor stands for "absent" */
    if (sz) {
        if (sc)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "both scales and sizes are given");
        const int64_t *v;
        int cnt;
        lrp_status st = lrp_const_ints(g, n, 3, "sizes", &v, &cnt, err);
        return st != LRP_OK ? st : lrp_resize_set(g, n, NULL, v, cnt, err);
    }
    if (!sc)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "neither scales nor sizes are given");
    if (!sc->constant)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "scales must be constant");
    if (sc->dtype != LRP_REAL_DT || sc->constant->ndim != 1 || sc->constant->numel > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "scales must be a 1-D float tensor");
    return lrp_resize_set(g, n, lrp_reals(sc->constant), NULL, (int)sc->constant->numel, err);
}

const lrp_op lrp_op_resize = {
    .type = "Resize",
    .min_inputs = 1,
    .max_inputs = 4,
    .init = resize_init,
    .destroy = free,
    .infer = resize_infer,
    .forward = lrp_resize_forward,
    .backward = lrp_resize_backward,
    .keep = 0,
};
