/* Attributes shared by Conv, ConvTranspose and the pooling ops: kernel,
 * strides, dilations, pads and auto_pad, for 1 or 2 spatial dims. */
#ifndef LRP_CONV_ATTRS_H
#define LRP_CONV_ATTRS_H

#include "ops/op.h"

typedef enum { LRP_PAD_NOTSET, LRP_PAD_SAME_UPPER, LRP_PAD_SAME_LOWER, LRP_PAD_VALID } lrp_auto_pad;

typedef struct lrp_window {
    int nsp;           /* spatial dims: 1 or 2 (0 until known) */
    int64_t kernel[2]; /* 0 when to be taken from the weight */
    int64_t stride[2];
    int64_t dilation[2];
    int64_t pad_begin[2], pad_end[2]; /* explicit pads, or resolved auto pads */
    lrp_auto_pad auto_pad;
    int explicit_pads; /* 1 when the 'pads' attribute was given */
} lrp_window;

/* Reads kernel_shape (optional unless need_kernel), strides, dilations, pads,
 * auto_pad. nsp_hint is the spatial rank if known (else 0: taken from the
 * attributes, or set later by lrp_window_resolve). */
lrp_status lrp_window_parse(const lrp_node *n, lrp_window *w, int need_kernel, lrp_error *err);

/* Checks rank against the input, fills defaults, and resolves auto_pad for
 * the input's spatial size `in` (nsp entries). Output sizes go to `out`.
 * ceil_mode rounds the output size up (pooling). */
lrp_status lrp_window_resolve(const lrp_node *n, lrp_window *w, int nsp, const int64_t *in, int ceil_mode,
                              int64_t *out, lrp_error *err);

/* Conv and ConvTranspose: the window (kernel_shape optional, the weight has
 * it) and group, which must be positive. */
lrp_status lrp_conv_attrs_parse(const lrp_node *n, lrp_window *w, int64_t *group, lrp_error *err);

/* The window's part of a convolution's geometry: kernel, strides, dilations,
 * leading pads, and the spatial sizes of the convolution's input (in) and
 * output (out), nsp entries each (1-D is 2-D of height 1). */
struct lrp_conv_geom;
void lrp_conv_geom_window(struct lrp_conv_geom *g, const lrp_window *w, int nsp, const int64_t *in,
                          const int64_t *out);

#endif
