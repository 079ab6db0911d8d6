/* Direct kernels for grouped convolutions with more than one channel per
 * group (ResNeXt, depth multipliers): the same sums as one im2col + GEMM per
 * group (conv_kernels.c), element by element in the same order, without the
 * im2col buffer and without a tiny GEMM per group. */
#ifndef LRP_CONV_GROUPED_H
#define LRP_CONV_GROUPED_H

#include "ops/kernels/conv_kernels.h"

/* Whether the direct kernels below apply: group > 1, not depthwise (Cg = Mg
 * = 1 has its own kernels), not pointwise, no negative pads, and lrp's own
 * GEMM (OpenBLAS sums in its own order). */
int lrp_conv_grouped_direct(const lrp_conv_geom *g);

/* As lrp_conv2d (acc64 = 0) and lrp_conv2d_acc64 (acc64 = 1). */
lrp_status lrp_conv_grouped_fwd(const lrp_conv_geom *g, const lrp_real *x, const lrp_real *W, const lrp_real *b,
                                lrp_real *y, int acc64, lrp_error *err);

/* As lrp_conv2d_t: gx += convᵀ(gy; W). */
lrp_status lrp_conv_grouped_t(const lrp_conv_geom *g, const lrp_real *gy, const lrp_real *W, lrp_real *gx,
                              lrp_error *err);

#endif
