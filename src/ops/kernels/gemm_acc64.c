/* Dense forward products accumulated in double (gemm_acc64.h): the float
 * operands go straight to lrp_gemm_f64acc, which widens them as it packs
 * them, so no double copy of W is made. */
#include "ops/kernels/gemm_acc64.h"

#include "ops/kernels/gemm_kernels.h"
#include "ops/op.h"

#include <stdlib.h>

lrp_status lrp_gemm_acc64(int64_t M, int64_t N, int64_t K, bool transB, double alpha, const lrp_real *x,
                          const lrp_real *W, double beta, const lrp_real *c, lrp_real *y, lrp_error *err)
{
    if (M <= 0 || N <= 0)
        return LRP_OK;
    double *acc = malloc(sizeof(double) * (size_t)(M * N));
    if (!acc)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a dense layer's double sums");
    lrp_gemm_f64acc(false, transB, M, N, K, x, K, W, transB ? K : N, acc, N);
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (M * N > 65536)
    for (int64_t m = 0; m < M; m++)
        for (int64_t j = 0; j < N; j++) {
            double a = alpha == 1.0 ? acc[m * N + j] : alpha * acc[m * N + j];
            y[m * N + j] = (lrp_real)(c ? a + beta * (double)c[j] : a);
        }
    free(acc);
    return LRP_OK;
}
