/* Dense forward products accumulated in double (gemm_acc64.h). W is
 * converted to double a block of output columns at a time, so the extra
 * memory stays near 8 MB however large the layer. */
#include "gemm_acc64.h"

#include "gemm_kernels.h"
#include "op.h"

#include <stdlib.h>

lrp_status lrp_gemm_acc64(int64_t M, int64_t N, int64_t K, bool transB, double alpha, const float *x, const float *W,
                          double beta, const float *c, float *y, lrp_error *err)
{
    if (M <= 0 || N <= 0)
        return LRP_OK;
    /* a block of nb output columns: nb*K weights in double */
    int64_t nb = K > 0 ? (int64_t)(1 << 20) / K : N;
    if (nb < 1)
        nb = 1;
    if (nb > N)
        nb = N;
    double *xd = malloc(sizeof(double) * (size_t)(M * K > 0 ? M * K : 1));
    double *wd = malloc(sizeof(double) * (size_t)(nb * K > 0 ? nb * K : 1));
    double *acc = malloc(sizeof(double) * (size_t)nb);
    if (!xd || !wd || !acc) {
        free(xd);
        free(wd);
        free(acc);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a dense layer's double buffers");
    }
    for (int64_t i = 0; i < M * K; i++)
        xd[i] = x[i];
    for (int64_t j0 = 0; j0 < N; j0 += nb) {
        int64_t nj = N - j0 < nb ? N - j0 : nb;
        /* wd holds op(W)'s columns j0..j0+nj: (nj,K) rows with transB, else (K,nj) */
        if (transB) {
            const float *src = W + j0 * K;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (nj * K > 65536)
            for (int64_t i = 0; i < nj * K; i++)
                wd[i] = src[i];
        } else {
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (nj * K > 65536)
            for (int64_t k = 0; k < K; k++)
                for (int64_t j = 0; j < nj; j++)
                    wd[k * nj + j] = W[k * N + j0 + j];
        }
        for (int64_t m = 0; m < M; m++) {
            if (K > 0)
                lrp_dgemm(false, transB, 1, nj, K, alpha, xd + m * K, K, wd, transB ? K : nj, 0.0, acc, nj);
            else
                for (int64_t j = 0; j < nj; j++)
                    acc[j] = 0.0;
            float *yr = y + m * N + j0;
            for (int64_t j = 0; j < nj; j++)
                yr[j] = (float)(c ? acc[j] + beta * (double)c[j0 + j] : acc[j]);
        }
    }
    free(xd);
    free(wd);
    free(acc);
    return LRP_OK;
}
