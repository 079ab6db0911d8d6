/* A dense layer's forward product accumulated in double precision and
 * rounded once to float: the Gemm counterpart of lrp_conv2d_acc64, for the
 * forward pass of an explanation (see lrp_rule_divides in rules.h). */
#ifndef LRP_GEMM_ACC64_H
#define LRP_GEMM_ACC64_H

#include "base/error.h"

#include <stdbool.h>
#include <stdint.h>

/* y (M,N) = alpha x (M,K) op(W) + beta c, with op(W) = W (K,N), or Wᵀ for W
 * (N,K) when transB; c is NULL or N values (one per output column). Every
 * row is computed on its own, so a sample's bytes do not depend on the
 * batch, nor on the thread count (lrp_gemm_f64acc). */
lrp_status lrp_gemm_acc64(int64_t M, int64_t N, int64_t K, bool transB, double alpha, const lrp_real *x,
                          const lrp_real *W, double beta, const lrp_real *c, lrp_real *y, lrp_error *err);

#endif
