/* Matrix products whose every element is computed the same way on every CPU
 * and at every thread count: see gemm_kernels.h.
 *
 * C[i][j] = c0 + a[i][0] b[0][j] + a[i][1] b[1][j] + ... in this order, each
 * product and each sum rounded (no fused multiply-add), c0 being beta C[i][j]
 * (0 when beta is 0). IEEE arithmetic makes that sequence give the same bits
 * wherever it runs; the blocking below only decides which elements are
 * computed together and where a partial sum waits (exactly, as a float) between
 * two blocks of k, never the order of an element's own operations. Vectors
 * run across j, so SIMD width, the tile shapes, the blocks and the threads
 * change nothing but the speed. */
#include "ops/kernels/gemm_kernels.h"

#include "ops/op.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* An element's operations must stay separately rounded: never contracted
 * into a fused multiply-add (the Makefile passes -ffp-contract=off; clang
 * also takes the standard pragma, which GCC does not know). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Register tile (MR rows x NR columns), cache blocks of k (KC) and rows (MC),
 * and the output tiles spread over the threads (TILE x TILE). */
#define MR 6
#ifndef KC
#define KC 512
#endif
#ifndef MC
#define MC 72
#endif
#ifndef TILE
#define TILE 512
#endif
/* Below this many multiply-adds a product is one tile. */
#define ONE_TILE (1 << 18)

/* On x86-64 (GCC or clang), an AVX2 micro-kernel beside the baseline (SSE2)
 * one, picked at run time; LRP_GEMM_BASELINE builds the baseline only (to
 * check by hand that both give the same bits: tests/cross-kernel-check). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LRP_GEMM_BASELINE)
#define HAVE_AVX2_KERNEL 1
#define AVX2_TARGET __attribute__((target("avx2")))
int lrp_cpu_avx2(void)
{
    static int v = -1; /* a benign race: every thread stores the same value */
    if (v < 0)
        v = __builtin_cpu_supports("avx2") ? 1 : 0;
    return v;
}
#define use_avx2 lrp_cpu_avx2
#else
#define HAVE_AVX2_KERNEL 0
#endif
/* The micro-kernel reads only the packed panels and one register tile of C,
 * whose bounds the packing (instrumented) and test_gemm check; uninstrumented,
 * it keeps the sanitizer build's tests near their normal speed. */
#define KERNEL_NO_ASAN __attribute__((no_sanitize("address", "undefined")))

#ifdef _OPENMP
#include <omp.h>
#define THREAD_NUM() omp_get_thread_num()
#else
#define THREAD_NUM() 0
#endif

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int nthreads_for(int64_t tiles)
{
    int n = lrp_num_threads > 0 ? lrp_num_threads : 1;
    return tiles < n ? (int)(tiles > 0 ? tiles : 1) : n;
}

/* The output tiles spread over the threads: a function of the shape alone. */
typedef struct {
    int64_t mb, nb, mt, nt;
} tiling;

static tiling tiles_for(int64_t M, int64_t N, int64_t K)
{
    const bool one = M * N * K <= ONE_TILE;
    tiling t = {.mb = one || M <= TILE ? M : TILE, .nb = one ? N : TILE};
    t.mt = ceil_div(M, t.mb);
    t.nt = ceil_div(N, t.nb);
    return t;
}

/* Tile idx: first row and column, rows and columns. */
static void tile_at(const tiling *t, int64_t M, int64_t N, int64_t idx, int64_t *i0, int64_t *mi, int64_t *j0,
                    int64_t *nj)
{
    *i0 = (idx / t->nt) * t->mb;
    *j0 = (idx % t->nt) * t->nb;
    *mi = M - *i0 < t->mb ? M - *i0 : t->mb;
    *nj = N - *j0 < t->nb ? N - *j0 : t->nb;
}

/* The micro-kernel: R (at most ROWS) rows from r0 of a register tile, NVR
 * vectors VEC of VN elements per row (VN * NVR = NR columns); each element's
 * sum runs over k in order. Reads a, b, c, ldc, R, r0, kc of the function it
 * stands in. UVEC is VEC at any element address (unaligned loads, stores). */
#define MICRO_BODY(VEC, UVEC, VN, NVR, ROWS)                                                                          \
    VEC acc[ROWS][NVR];                                                                                               \
    for (int r = 0; r < R; r++)                                                                                       \
        for (int v = 0; v < (NVR); v++)                                                                               \
            acc[r][v] = *(const UVEC *)(c + (r0 + r) * ldc + v * (VN));                                               \
    a += r0;                                                                                                          \
    for (int64_t p = 0; p < kc; p++) {                                                                                \
        VEC bv[NVR];                                                                                                  \
        for (int v = 0; v < (NVR); v++)                                                                               \
            bv[v] = *(const UVEC *)(b + v * (VN));                                                                    \
        for (int r = 0; r < R; r++) {                                                                                 \
            VEC av = a[r] - (VEC){0}; /* a splat, exact (also for -0) */                                              \
            for (int v = 0; v < (NVR); v++) {                                                                         \
                VEC t = av * bv[v];                                                                                   \
                acc[r][v] = acc[r][v] + t;                                                                            \
            }                                                                                                         \
        }                                                                                                             \
        a += MR;                                                                                                      \
        b += (VN) * (NVR);                                                                                            \
    }                                                                                                                 \
    for (int r = 0; r < R; r++)                                                                                       \
        for (int v = 0; v < (NVR); v++)                                                                               \
            *(UVEC *)(c + (r0 + r) * ldc + v * (VN)) = acc[r][v];

/* One implementation for each precision: T the type of the sums (and of C),
 * S the type of A and B (packed into T, exactly: a float is a double), a
 * vector of NV elements of T (32 bytes), NR = 2 NV columns per tile. */
#define DEFINE_GEMM(PFX, T, S, NV)                                                                                    \
    typedef T PFX##_vec __attribute__((vector_size(32)));                                                             \
    /* the same vector at any element address (an unaligned load or store) */                                         \
    typedef T PFX##_uvec __attribute__((vector_size(32), aligned(sizeof(T)), may_alias));                             \
    typedef T PFX##_hvec __attribute__((vector_size(16)));                                                            \
    typedef T PFX##_uhvec __attribute__((vector_size(16), aligned(sizeof(T)), may_alias));                            \
    enum { PFX##_NR = 2 * (NV) };                                                                                     \
                                                                                                                      \
    /* A rows [i0, i0+mc) x k [p0, p0+kc) into MR-row panels, k-major within a panel (zero rows past mc). */          \
    static void PFX##_pack_a(bool ta, const S *A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,        \
                             T alpha, T *dst)                                                                         \
    {                                                                                                                 \
        for (int64_t ir = 0; ir < mc; ir += MR) {                                                                     \
            int64_t mr = mc - ir < MR ? mc - ir : MR;                                                                 \
            for (int64_t p = 0; p < kc; p++) {                                                                        \
                for (int64_t r = 0; r < mr; r++) {                                                                    \
                    int64_t i = i0 + ir + r, k = p0 + p;                                                              \
                    T v = ta ? A[k * lda + i] : A[i * lda + k];                                                       \
                    dst[r] = alpha == (T)1 ? v : alpha * v;                                                           \
                }                                                                                                     \
                for (int64_t r = mr; r < MR; r++)                                                                     \
                    dst[r] = 0;                                                                                       \
                dst += MR;                                                                                            \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
                                                                                                                      \
    /* B k [p0, p0+kc) x columns [j0, j0+nc) into NR-column panels, k-major (zero columns past nc). */                \
    static void PFX##_pack_b(bool tb, const S *B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,        \
                             T *dst)                                                                                  \
    {                                                                                                                 \
        for (int64_t jr = 0; jr < nc; jr += PFX##_NR) {                                                               \
            int64_t nr = nc - jr < PFX##_NR ? nc - jr : PFX##_NR;                                                     \
            for (int64_t p = 0; p < kc; p++) {                                                                        \
                int64_t k = p0 + p;                                                                                   \
                if (!tb && nr == PFX##_NR && sizeof(S) == sizeof(T)) {                                                \
                    memcpy(dst, B + k * ldb + j0 + jr, sizeof(T) * PFX##_NR);                                         \
                } else {                                                                                              \
                    for (int64_t c = 0; c < nr; c++) {                                                                \
                        int64_t j = j0 + jr + c;                                                                      \
                        dst[c] = tb ? B[j * ldb + k] : B[k * ldb + j];                                                \
                    }                                                                                                 \
                    for (int64_t c = nr; c < PFX##_NR; c++)                                                           \
                        dst[c] = 0;                                                                                   \
                }                                                                                                     \
                dst += PFX##_NR;                                                                                      \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
                                                                                                                      \
    /* c[r0..r0+R)[0..NR) (row stride ldc) += the kc products of an A and a B panel, k in order (MICRO_BODY). */      \
    static inline __attribute__((always_inline))                                                                      \
    KERNEL_NO_ASAN void PFX##_micro_rows(int R, int r0, int64_t kc, const T *a, const T *b, T *c, int64_t ldc)        \
    {                                                                                                                 \
        MICRO_BODY(PFX##_vec, PFX##_uvec, (NV), 2, MR)                                                                \
    }                                                                                                                 \
    /* The same sums with half-width vectors, at most two rows (16 SSE registers hold 2 x 4 sums). */                 \
    static inline __attribute__((always_inline))                                                                      \
    KERNEL_NO_ASAN void PFX##_micro_half(int R, int r0, int64_t kc, const T *a, const T *b, T *c,                     \
                                         int64_t ldc){MICRO_BODY(PFX##_hvec, PFX##_uhvec, (NV) / 2, 4, 2)}            \
                                                                                                                      \
    /* Baseline: rows in pairs, each pair one pass over the panels. */                                                \
    KERNEL_NO_ASAN static void PFX##_micro_base(int R, int64_t kc, const T *a, const T *b, T *c, int64_t ldc)         \
    {                                                                                                                 \
        for (int r0 = 0; r0 < R; r0 += 2) {                                                                           \
            if (R - r0 >= 2)                                                                                          \
                PFX##_micro_half(2, r0, kc, a, b, c, ldc);                                                            \
            else                                                                                                      \
                PFX##_micro_half(1, r0, kc, a, b, c, ldc);                                                            \
        }                                                                                                             \
    }                                                                                                                 \
                                                                                                                      \
    PFX##_AVX2_DEF                                                                                                    \
                                                                                                                      \
        static void PFX##_micro(int R, int64_t kc, const T *a, const T *b, T *c, int64_t ldc)                         \
    {                                                                                                                 \
        PFX##_AVX2_CALL PFX##_micro_base(R, kc, a, b, c, ldc);                                                        \
    }                                                                                                                 \
                                                                                                                      \
    /* C[i0.., j0..] (mt x nt) += op(A) op(B) over all of K, one thread; C already holds beta C. */                   \
    static void PFX##_tile(bool ta, bool tb, int64_t i0, int64_t mt, int64_t j0, int64_t nt, int64_t K, T alpha,      \
                           const S *A, int64_t lda, const S *B, int64_t ldb, T *C, int64_t ldc, T *ap, T *bp)         \
    {                                                                                                                 \
        T edge[MR * PFX##_NR];                                                                                        \
        for (int64_t p0 = 0; p0 < K; p0 += KC) {                                                                      \
            int64_t kc = K - p0 < KC ? K - p0 : KC;                                                                   \
            PFX##_pack_b(tb, B, ldb, p0, kc, j0, nt, bp);                                                             \
            for (int64_t ic = 0; ic < mt; ic += MC) {                                                                 \
                int64_t mc = mt - ic < MC ? mt - ic : MC;                                                             \
                PFX##_pack_a(ta, A, lda, i0 + ic, mc, p0, kc, alpha, ap);                                             \
                for (int64_t jr = 0; jr < nt; jr += PFX##_NR) {                                                       \
                    int64_t nr = nt - jr < PFX##_NR ? nt - jr : PFX##_NR;                                             \
                    const T *bpan = bp + (jr / PFX##_NR) * kc * PFX##_NR;                                             \
                    for (int64_t ir = 0; ir < mc; ir += MR) {                                                         \
                        int64_t mr = mc - ir < MR ? mc - ir : MR;                                                     \
                        const T *apan = ap + (ir / MR) * kc * MR;                                                     \
                        T *c = C + (i0 + ic + ir) * ldc + j0 + jr;                                                    \
                        if (nr == PFX##_NR) {                                                                         \
                            PFX##_micro((int)mr, kc, apan, bpan, c, ldc);                                             \
                            continue;                                                                                 \
                        }                                                                                             \
                        memset(edge, 0, sizeof edge);                                                                 \
                        for (int64_t r = 0; r < mr; r++)                                                              \
                            memcpy(edge + r * PFX##_NR, c + r * ldc, sizeof(T) * (size_t)nr);                         \
                        PFX##_micro((int)mr, kc, apan, bpan, edge, PFX##_NR);                                         \
                        for (int64_t r = 0; r < mr; r++)                                                              \
                            memcpy(c + r * ldc, edge + r * PFX##_NR, sizeof(T) * (size_t)nr);                         \
                    }                                                                                                 \
                }                                                                                                     \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
                                                                                                                      \
    static void PFX##_run(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const S *A, int64_t lda,        \
                          const S *B, int64_t ldb, T beta, T *C, int64_t ldc)                                         \
    {                                                                                                                 \
        if (M <= 0 || N <= 0)                                                                                         \
            return;                                                                                                   \
        for (int64_t i = 0; i < M && beta != (T)1; i++)                                                               \
            for (int64_t j = 0; j < N; j++)                                                                           \
                C[i * ldc + j] = beta == (T)0 ? (T)0 : beta * C[i * ldc + j];                                         \
        if (K <= 0 || alpha == (T)0)                                                                                  \
            return;                                                                                                   \
        const tiling tl = tiles_for(M, N, K);                                                                         \
        const int64_t mb = tl.mb, nb = tl.nb, tiles = tl.mt * tl.nt;                                                  \
        const int64_t kc = K < KC ? K : KC, mc = (mb < MC ? mb : MC);                                                 \
        const size_t asz = (size_t)(ceil_div(mc, MR) * MR * kc),                                                      \
                     bsz = (size_t)(ceil_div(nb, PFX##_NR) * PFX##_NR * kc);                                          \
        int nth = nthreads_for(tiles);                                                                                \
        T *buf = malloc(sizeof(T) * (asz + bsz) * (size_t)nth);                                                       \
        if (!buf && nth > 1)                                                                                          \
            buf = malloc(sizeof(T) * (asz + bsz) * (size_t)(nth = 1));                                                \
        if (!buf) { /* no memory for the panels: the same sums, element by element */                                 \
            for (int64_t i = 0; i < M; i++)                                                                           \
                for (int64_t j = 0; j < N; j++) {                                                                     \
                    T acc = C[i * ldc + j];                                                                           \
                    for (int64_t k = 0; k < K; k++) {                                                                 \
                        T a = ta ? A[k * lda + i] : A[i * lda + k], b = tb ? B[j * ldb + k] : B[k * ldb + j];         \
                        acc = acc + (alpha == (T)1 ? a : alpha * a) * b;                                              \
                    }                                                                                                 \
                    C[i * ldc + j] = acc;                                                                             \
                }                                                                                                     \
            return;                                                                                                   \
        }                                                                                                             \
        _Pragma("omp parallel num_threads(nth) if (nth > 1)")                                                         \
        {                                                                                                             \
            T *ap = buf + (asz + bsz) * (size_t)THREAD_NUM(), *bp = ap + asz;                                         \
            _Pragma("omp for schedule(dynamic, 1)") for (int64_t idx = 0; idx < tiles; idx++)                         \
            {                                                                                                         \
                int64_t i0, mi, j0, nj;                                                                               \
                tile_at(&tl, M, N, idx, &i0, &mi, &j0, &nj);                                                          \
                PFX##_tile(ta, tb, i0, mi, j0, nj, K, alpha, A, lda, B, ldb, C, ldc, ap, bp);                         \
            }                                                                                                         \
        }                                                                                                             \
        free(buf);                                                                                                    \
    }

#if HAVE_AVX2_KERNEL
/* AVX2: full-width vectors, the row count as a constant so that each case
 * keeps its 2 R sums in registers. */
#define AVX2_KERNEL(PFX)                                                                                              \
    AVX2_TARGET KERNEL_NO_ASAN static void PFX##_micro_avx2(int R, int64_t kc, const PFX##_t *a, const PFX##_t *b,    \
                                                            PFX##_t *c, int64_t ldc)                                  \
    {                                                                                                                 \
        switch (R) {                                                                                                  \
        case 1: PFX##_micro_rows(1, 0, kc, a, b, c, ldc); break;                                                      \
        case 2: PFX##_micro_rows(2, 0, kc, a, b, c, ldc); break;                                                      \
        case 3: PFX##_micro_rows(3, 0, kc, a, b, c, ldc); break;                                                      \
        case 4: PFX##_micro_rows(4, 0, kc, a, b, c, ldc); break;                                                      \
        case 5: PFX##_micro_rows(5, 0, kc, a, b, c, ldc); break;                                                      \
        default: PFX##_micro_rows(MR, 0, kc, a, b, c, ldc); break;                                                    \
        }                                                                                                             \
    }
#define s_AVX2_DEF AVX2_KERNEL(s)
#define d_AVX2_DEF AVX2_KERNEL(d)
#define s_AVX2_CALL                                                                                                   \
    if (use_avx2()) {                                                                                                 \
        s_micro_avx2(R, kc, a, b, c, ldc);                                                                            \
        return;                                                                                                       \
    }
#define d_AVX2_CALL                                                                                                   \
    if (use_avx2()) {                                                                                                 \
        d_micro_avx2(R, kc, a, b, c, ldc);                                                                            \
        return;                                                                                                       \
    }
#else
#define s_AVX2_DEF
#define d_AVX2_DEF
#define s_AVX2_CALL
#define d_AVX2_CALL
#endif
/* lrp_real (float, or double in the --double build): 32-byte vectors of 8 or 4, and OpenBLAS's routine of that type */
#ifdef LRP_REAL_DOUBLE
#define S_NV 4
#define cblas_real_gemm cblas_dgemm
#else
#define S_NV 8
#define cblas_real_gemm cblas_sgemm
#endif
typedef lrp_real s_t;
typedef double d_t;

DEFINE_GEMM(s, lrp_real, lrp_real, S_NV)

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_init(void) { openblas_set_num_threads(1); }

void lrp_blas_single_thread(void) { pthread_once(&blas_once, blas_init); }

/* OpenBLAS: the same output tiles, each one single-threaded call over the
 * whole K (its kernels, and so the last bits, follow the CPU). */
static void s_openblas(bool ta, bool tb, int64_t M, int64_t N, int64_t K, lrp_real alpha, const lrp_real *A,
                       int64_t lda, const lrp_real *B, int64_t ldb, lrp_real beta, lrp_real *C, int64_t ldc)
{
    lrp_blas_single_thread();
    const tiling tl = tiles_for(M, N, K);
    const int64_t tiles = tl.mt * tl.nt;
    const int nth = nthreads_for(tiles);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth) if (nth > 1)
    for (int64_t idx = 0; idx < tiles; idx++) {
        int64_t i0, mi, j0, nj;
        tile_at(&tl, M, N, idx, &i0, &mi, &j0, &nj);
        cblas_real_gemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)mi,
                        (int)nj, (int)K, alpha, ta ? A + i0 : A + i0 * lda, (int)lda, tb ? B + j0 * ldb : B + j0,
                        (int)ldb, beta, C + i0 * ldc + j0, (int)ldc);
    }
}

/* double sums of float products, for the exact forward pass */
DEFINE_GEMM(d, double, lrp_real, 4)

void lrp_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, lrp_real alpha, const lrp_real *A, int64_t lda,
               const lrp_real *B, int64_t ldb, lrp_real beta, lrp_real *C, int64_t ldc)
{
    if (lrp_exec_ctx.openblas && M > 0 && N > 0 && K > 0) {
        s_openblas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    s_run(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void lrp_gemm_f64acc(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const lrp_real *A, int64_t lda,
                     const lrp_real *B, int64_t ldb, double *C, int64_t ldc)
{
    const double alpha = 1.0, beta = 0.0;
    d_run(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
