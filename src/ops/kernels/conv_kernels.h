/* 2-D convolution kernels (1-D convolutions use H = 1) through lrp_sgemm:
 * im2col + SGEMM forward, SGEMM + col2im for the transposed product. Shared
 * by Conv and ConvTranspose, which are each other's transpose. */
#ifndef LRP_CONV_KERNELS_H
#define LRP_CONV_KERNELS_H

#include <stdint.h>

#include "lrp.h"

typedef struct lrp_conv_geom {
    int64_t N;         /* batch */
    int64_t C, H, W;   /* channels and size of the convolution's input */
    int64_t M, OH, OW; /* channels and size of its output */
    int64_t kh, kw;    /* kernel */
    int64_t sh, sw;    /* strides */
    int64_t dh, dw;    /* dilations */
    int64_t ph, pw;    /* padding at the beginning (top, left) */
    int64_t group;
} lrp_conv_geom;

/* y = conv(x; W) + b. x (N,C,H,W), W (M, C/group, kh, kw), b (M) or NULL,
 * y (N,M,OH,OW) overwritten. */
lrp_status lrp_conv2d(const lrp_conv_geom *g, const lrp_real *x, const lrp_real *W, const lrp_real *b, lrp_real *y,
                      lrp_error *err);

/* gx += convᵀ(gy; W): the gradient of conv(·; W) with respect to its input.
 * gy (N,M,OH,OW), gx (N,C,H,W). */
lrp_status lrp_conv2d_t(const lrp_conv_geom *g, const lrp_real *gy, const lrp_real *W, lrp_real *gx, lrp_error *err);

/* y = conv(x; W) + b like lrp_conv2d, but accumulated in double precision
 * and rounded once to float: the forward pass
 * uses it, so that its discrete decisions (the max of a pooling window, the
 * sign of a ReLU input) agree with an exact computation wherever float32
 * accumulation would be the deciding error. */
lrp_status lrp_conv2d_acc64(const lrp_conv_geom *g, const lrp_real *x, const lrp_real *W, const lrp_real *b,
                            lrp_real *y, lrp_error *err);

/* Output size of one spatial dim; <= 0 when the geometry is impossible. */
int64_t lrp_conv_out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pad_total);

#endif
