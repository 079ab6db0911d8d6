/* Matrix products through OpenBLAS whose results do not depend on the thread
 * count.
 *
 * OpenBLAS splits a product among its threads by output rows and columns,
 * and on some CPUs (its Zen kernels, for one) an element computed near the
 * edge of a thread's share accumulates in another order than the same
 * element inside it: the last bits then follow the thread count. Here the
 * output is cut into tiles whose sizes are a function of the shape (M, N, K)
 * alone; each tile is one single-threaded OpenBLAS call over the whole K, and
 * the tiles are spread over lrp's threads. Every element thus sees the same
 * arithmetic at 1 or 64 threads, run after run.
 *
 * Row-major, as cblas; ta/tb transpose A/B; C = alpha op(A) op(B) + beta C.
 * lrp_sgemm_units additionally treats the M rows as independent units of
 * `unit` rows (samples of a batch): a unit's rows get the same arithmetic
 * whether the batch holds one unit or many, so batched and one-at-a-time
 * evaluation give the same bytes. */
#ifndef LRP_GEMM_KERNELS_H
#define LRP_GEMM_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

void lrp_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

void lrp_sgemm_units(int64_t unit, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

void lrp_dgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double *A, int64_t lda,
               const double *B, int64_t ldb, double beta, double *C, int64_t ldc);

/* Makes OpenBLAS itself single-threaded (lrp's tiles are the parallelism).
 * Called by the products above; idempotent and thread-safe. */
void lrp_blas_single_thread(void);

#endif
