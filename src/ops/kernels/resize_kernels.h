/* Nearest-neighbour resizing, shared by Resize and Upsample: per-axis
 * output sizes and scales, a coordinate transformation and a rounding rule
 * map each output index to an input index. */
#ifndef LRP_RESIZE_KERNELS_H
#define LRP_RESIZE_KERNELS_H

#include "ops/op.h"

enum {
    LRP_CT_HALF_PIXEL,
    LRP_CT_PYTORCH_HALF_PIXEL,
    LRP_CT_ALIGN_CORNERS,
    LRP_CT_ASYMMETRIC,
    LRP_CT_TF_HALF_PIXEL_FOR_NN
};
enum { LRP_NEAREST_ROUND_PREFER_FLOOR, LRP_NEAREST_ROUND_PREFER_CEIL, LRP_NEAREST_FLOOR, LRP_NEAREST_CEIL };

typedef struct lrp_resize_state {
    int coord, nearest;
    /* for the current input shape */
    int r;
    double scale[LRP_MAX_DIMS];
} lrp_resize_state;

/* y[o] = x[src(o)] with the node's state (shapes from x and y). */
lrp_status lrp_resize_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err);
/* gx[src(o)] += g[o]. */
lrp_status lrp_resize_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err);

/* Sets the output from per-axis scales (output = floor(in * scale)) or, when
 * sizes is not NULL, from sizes (scale = size / in). */
lrp_status lrp_resize_set(lrp_graph *g, lrp_node *n, const lrp_real *scales, const int64_t *sizes, int count,
                          lrp_error *err);

#endif
