/* Thread-count-independent matrix products: see gemm_kernels.h. */
#include "gemm_kernels.h"

#include "op.h"

#include <cblas.h>
#include <pthread.h>

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_init(void) { openblas_set_num_threads(1); }

void lrp_blas_single_thread(void) { pthread_once(&blas_once, blas_init); }

/* Below this many multiply-adds a product is one call: splitting it would
 * cost more than it gains. */
#define GEMM_ONE_CALL (1 << 20)
/* Tile edge for a dimension that is cut; a dimension up to GEMM_KEEP stays
 * whole. Both are constants, so a tile depends on the shape alone. */
#define GEMM_TILE 256
#define GEMM_KEEP 384

static int64_t tile_edge(int64_t dim, int64_t M, int64_t N, int64_t K)
{
    if (M * N * K <= GEMM_ONE_CALL || dim <= GEMM_KEEP)
        return dim;
    return GEMM_TILE;
}

static int64_t ceil_div(int64_t a, int64_t b) { return b > 0 ? (a + b - 1) / b : 0; }

typedef struct {
    bool ta, tb;
    int64_t unit, K, lda, ldb, ldc, mb, nb, mt, nt;
} tiling;

static tiling plan(int64_t unit, bool ta, bool tb, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc)
{
    tiling t = {.ta = ta, .tb = tb, .unit = unit, .K = K, .lda = lda, .ldb = ldb, .ldc = ldc};
    t.mb = tile_edge(unit, unit, N, K);
    t.nb = tile_edge(N, unit, N, K);
    t.mt = ceil_div(unit, t.mb);
    t.nt = ceil_div(N, t.nb);
    return t;
}

/* Tile index -> first row (within all M rows), rows, first column, columns. */
static void tile_at(const tiling *t, int64_t N, int64_t idx, int64_t *i0, int64_t *mi, int64_t *j0, int64_t *nj)
{
    int64_t per_unit = t->mt * t->nt;
    int64_t u = idx / per_unit, r = idx % per_unit;
    int64_t a = r / t->nt, b = r % t->nt;
    int64_t ia = a * t->mb;
    *i0 = u * t->unit + ia;
    *mi = t->unit - ia < t->mb ? t->unit - ia : t->mb;
    *j0 = b * t->nb;
    *nj = N - *j0 < t->nb ? N - *j0 : t->nb;
}

static int nthreads_for(int64_t tiles)
{
    int n = lrp_num_threads > 0 ? lrp_num_threads : 1;
    return tiles < n ? (int)(tiles > 0 ? tiles : 1) : n;
}

void lrp_sgemm_units(int64_t unit, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (unit <= 0 || unit > M || M % unit)
        unit = M;
    lrp_blas_single_thread();
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    const tiling t = plan(unit, ta, tb, N, K, lda, ldb, ldc);
    const int64_t tiles = (M / unit) * t.mt * t.nt;
    const int nth = nthreads_for(tiles);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth) if (nth > 1)
    for (int64_t idx = 0; idx < tiles; idx++) {
        int64_t i0, mi, j0, nj;
        tile_at(&t, N, idx, &i0, &mi, &j0, &nj);
        const float *a = t.ta ? A + i0 : A + i0 * t.lda;
        const float *b = t.tb ? B + j0 * t.ldb : B + j0;
        cblas_sgemm(CblasRowMajor, t.ta ? CblasTrans : CblasNoTrans, t.tb ? CblasTrans : CblasNoTrans, (int)mi,
                    (int)nj, (int)t.K, alpha, a, (int)t.lda, b, (int)t.ldb, beta, C + i0 * t.ldc + j0, (int)t.ldc);
    }
}

void lrp_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    lrp_sgemm_units(M, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void lrp_dgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double *A, int64_t lda,
               const double *B, int64_t ldb, double beta, double *C, int64_t ldc)
{
    if (M <= 0 || N <= 0)
        return;
    lrp_blas_single_thread();
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0 ? 0.0 : beta * C[i * ldc + j];
        return;
    }
    const tiling t = plan(M, ta, tb, N, K, lda, ldb, ldc);
    const int64_t tiles = t.mt * t.nt;
    const int nth = nthreads_for(tiles);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth) if (nth > 1)
    for (int64_t idx = 0; idx < tiles; idx++) {
        int64_t i0, mi, j0, nj;
        tile_at(&t, N, idx, &i0, &mi, &j0, &nj);
        const double *a = t.ta ? A + i0 : A + i0 * t.lda;
        const double *b = t.tb ? B + j0 * t.ldb : B + j0;
        cblas_dgemm(CblasRowMajor, t.ta ? CblasTrans : CblasNoTrans, t.tb ? CblasTrans : CblasNoTrans, (int)mi,
                    (int)nj, (int)t.K, alpha, a, (int)t.lda, b, (int)t.ldb, beta, C + i0 * t.ldc + j0, (int)t.ldc);
    }
}
