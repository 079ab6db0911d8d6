/* Four products of two sign-split operands at once, for the rules that
 * split a layer by sign (Gamma): with A1 and A2 of the same shape, mostly
 * zero where the other is not (x⁺ and x⁻, or two masked ratios),
 *   C11 = A1 B1, C12 = A1 B2, C21 = A2 B1, C22 = A2 B2,
 * each element c0 + a0 b0 + a1 b1 + ... in the order of k, each product and
 * sum rounded on its own, as lrp_sgemm computes it (gemm_kernels.h), but
 * leaving out the terms whose a is ±0. Such a term is a·b = ±0 for a finite b,
 * and adding ±0 to a sum changes it only when the sum is -0; a sum that starts
 * from a c0 other than -0 is never -0 (x + y is -0 only for x = y = -0), so
 * with finite B1, B2 and no -0 among the c0 the bytes are lrp_sgemm's, at half
 * its multiply-adds when A1 and A2 share no nonzero entries.
 *
 * A1, A2 (M, K) row-major (lda); A2 may be NULL (then C21, C22 are not
 * computed). B1, B2: element (k, j) at B[k * bsk + j * bsj]. c0[q] (N values)
 * or NULL for +0, per output q in the order C11, C12, C21, C22; C[q] (M, N)
 * row-major (ldc), overwritten. The result does not depend on the thread
 * count. Returns 0, or -1 when the preconditions do not hold (a B not finite,
 * a c0 -0) or memory runs out: then nothing was written that matters and
 * the caller computes the products with lrp_sgemm. */
#ifndef LRP_GEMM_SIGN_H
#define LRP_GEMM_SIGN_H

#include "base/real.h"

#include <stdint.h>

int lrp_sgemm_sign4(int64_t M, int64_t N, int64_t K, const lrp_real *A1, const lrp_real *A2, int64_t lda,
                    const lrp_real *B1, const lrp_real *B2, int64_t bsk, int64_t bsj, const lrp_real *const c0[4],
                    lrp_real *const C[4], int64_t ldc);

#endif
