/* Matrix products with the same bits on every CPU and at every thread count.
 *
 * OpenBLAS picks its kernels by CPU (AVX-512, AVX2, SSE, NEON), and they
 * accumulate in different orders, with or without fused multiply-adds; it
 * also splits a product among threads so that an element near the edge of a
 * thread's share is summed in another order than inside it. Either changes
 * the last bits of the relevance, and so, now and then, a heatmap pixel.
 *
 * lrp's own kernels compute every element as the chain c = fma(a_k, b_k, c)
 * in the order of k from c0, each step one IEEE fused multiply-add (rounded
 * once), c0 being beta C (0 when beta is 0) and a the elements of alpha op(A).
 * IEEE arithmetic gives that sequence the same result on every CPU: the FMA
 * instructions (x86-64 with AVX2 and FMA, AVX-512, aarch64) or, on x86-64
 * without them, an exact emulation in double (the SSE2 baseline, slower).
 * SIMD runs across columns, and the tiles spread over the threads, the cache
 * blocks and the SIMD width decide only the speed, never a bit of the result.
 * So an element is also the same whether its row is computed alone or in a
 * batch.
 *
 * Row-major, as cblas: C = alpha op(A) op(B) + beta C, ta/tb transpose A/B. */
#ifndef LRP_GEMM_KERNELS_H
#define LRP_GEMM_KERNELS_H

#include "base/real.h"

#include <stdbool.h>
#include <stdint.h>

void lrp_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, lrp_real alpha, const lrp_real *A, int64_t lda,
               const lrp_real *B, int64_t ldb, lrp_real beta, lrp_real *C, int64_t ldc);

/* C = op(A) op(B) with float A and B, summed in double (each product of two
 * floats is exact in double) in the same fixed order; C is overwritten. */
void lrp_gemm_f64acc(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const lrp_real *A, int64_t lda,
                     const lrp_real *B, int64_t ldb, double *C, int64_t ldc);

/* With the execution context's openblas set (base/exec.h), lrp_sgemm calls
 * OpenBLAS instead, tile by tile (results still independent of the thread
 * count, but not of the CPU, nor equal to the portable kernels'). */

/* Makes OpenBLAS itself single-threaded (the tiles are the parallelism);
 * idempotent and thread-safe. */
void lrp_blas_single_thread(void);

/* 1 when the CPU runs AVX2 (x86-64 builds with the AVX2 kernels; the other
 * kernels with AVX2 copies pick them by it too). */
int lrp_cpu_avx2(void);

/* The micro-kernel lrp_sgemm and lrp_gemm_f64acc use: 0 the baseline (SSE2),
 * 1 AVX2 with FMA, 2 AVX-512F on 32-byte vectors (AMD's CPUs), 3 on 64-byte
 * ones; the best the CPU runs, or lower with LRP_GEMM_KERNEL (baseline, avx2,
 * avx512vl) in the environment. All give the same bits.
 * lrp_gemm_set_kernel asks for a level (-1: the best again; a level the CPU
 * lacks gives the best it has) and returns the previous request, for tests. */
int lrp_gemm_kernel(void);
int lrp_gemm_set_kernel(int level);

#endif
