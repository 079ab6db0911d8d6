/* Matrix products whose every element is computed the same way on every CPU
 * and at every thread count: see gemm_kernels.h.
 *
 * C[i][j] = fma(a[i][K-1], b[K-1][j], ... fma(a[i][0], b[0][j], c0)): the
 * fused multiply-adds in k order, each rounded once, c0 being beta C[i][j]
 * (0 when beta is 0). IEEE arithmetic makes that sequence give the same bits
 * wherever it runs; the blocking below only decides which elements are
 * computed together and where a partial sum waits (exactly, as a float) between
 * two blocks of k, never the order of an element's own operations. Vectors
 * run across j, so SIMD width, the tile shapes, the blocks and the threads
 * change nothing but the speed. */
#include "ops/kernels/gemm_kernels.h"

#include "ops/op.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The fused multiply-adds are written out (intrinsics, fmaf, the baseline's
 * emulation); nothing else may be contracted into one, the emulation's
 * two-sum least of all (the Makefile passes -ffp-contract=off; clang also
 * takes the standard pragma, which GCC does not know). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Register tiles (rows x columns): MR x NR for the baseline and AVX2
 * micro-kernels, MRW x NR and MRW x 2 NR for the AVX-512 ones (NR = 2 NV, NV
 * elements in 32 bytes); cache blocks of k (KC elements of 4 bytes, half as many of 8) and
 * rows (MC, a multiple of both tile heights), and the output tiles spread
 * over the threads (at most TILE x TILE). */
#define MR 6
#define MRW 12
#ifndef KC
#define KC 256
#endif
#ifndef MC
#define MC 72
#endif
#ifndef TILE
#define TILE 512
#endif
/* Below this many multiply-adds a product is one tile. */
#define ONE_TILE (1 << 18)

/* On x86-64 (GCC or clang), AVX2 and AVX-512 micro-kernels beside the
 * baseline (SSE2) one, picked at run time; LRP_GEMM_BASELINE builds the
 * baseline only (to check by hand that all give the same bits:
 * tests/cross-kernel-check, which also runs LRP_GEMM_KERNEL=avx2). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LRP_GEMM_BASELINE)
#define HAVE_AVX2_KERNEL 1
#define AVX2_TARGET __attribute__((target("avx2,fma")))
#define AVX512_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl")))
#include <immintrin.h>
int lrp_cpu_avx2(void)
{
    static int v = -1; /* a benign race: every thread stores the same value */
    if (v < 0)
        v = __builtin_cpu_supports("avx2") ? 1 : 0;
    return v;
}
#else
#define HAVE_AVX2_KERNEL 0
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif
/* The micro-kernel in use: 0 the baseline, 1 AVX2 with FMA, 2 AVX-512F on
 * 32-byte vectors, 3 AVX-512F on 64-byte ones (not on AMD's: Zen 4 runs them
 * in two halves), the best the CPU runs unless LRP_GEMM_KERNEL (baseline, avx2,
 * avx512vl) or lrp_gemm_set_kernel asks for a lower one. Each gives the same
 * bits; they differ only in speed. */
static atomic_int kernel_forced = -1;

static int kernel_best(void)
{
    static int v = -1; /* a benign race: every thread stores the same value */
    if (v < 0) {
        int l = 0;
#if HAVE_AVX2_KERNEL
        l = lrp_cpu_avx2() && __builtin_cpu_supports("fma");
        if (l && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
            l = __builtin_cpu_is("amd") ? 2 : 3;
#endif
        const char *e = getenv("LRP_GEMM_KERNEL");
        if (e && !strcmp(e, "baseline"))
            l = 0;
        else if (e && !strcmp(e, "avx2") && l > 1)
            l = 1;
        else if (e && !strcmp(e, "avx512vl") && l > 2)
            l = 2;
        v = l;
    }
    return v;
}

int lrp_gemm_kernel(void)
{
    int f = atomic_load_explicit(&kernel_forced, memory_order_relaxed), b = kernel_best();
    return f >= 0 && f < b ? f : b;
}

int lrp_gemm_set_kernel(int level) { return atomic_exchange(&kernel_forced, level); }

/* Four-lane shuffles (GCC 12 or clang): without them, the packing copies
 * one element at a time. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define HAVE_SHUF4 1
#define SHUF4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#define SHUF8(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define HAVE_SHUF4 0
#define SHUF4(a, b, i, j, k, l) (a)
#define SHUF8(a, b, ...) (a)
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

static int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

static int nthreads_for(int64_t tiles)
{
    int n = lrp_num_threads > 0 ? lrp_num_threads : 1;
    return tiles < n ? (int)(tiles > 0 ? tiles : 1) : n;
}

/* The output tiles spread over the threads. */
typedef struct {
    int64_t mb, nb, mt, nt;
} tiling;

/* OpenBLAS's tiles: a function of the shape alone (its kernels sum an element
 * near a tile's edge in another order than inside it). */
static tiling tiles_for(int64_t M, int64_t N, int64_t K)
{
    const bool one = M * N * K <= ONE_TILE;
    tiling t = {.mb = one || M <= TILE ? M : TILE, .nb = one ? N : TILE};
    t.mt = ceil_div(M, t.mb);
    t.nt = ceil_div(N, t.nb);
    return t;
}

/* lrp's tiles, which change no bit: rows in whole blocks of MC, columns in
 * whole register tiles (knr), and with several threads split (the wider side
 * first) until each thread has about four, while a tile keeps some work. */
static tiling own_tiles(int64_t M, int64_t N, int64_t K, int64_t knr)
{
    tiling t = {.mb = M, .nb = N};
    if (M * N * K > ONE_TILE) {
        const int n = lrp_num_threads > 0 ? lrp_num_threads : 1;
        t.mb = M <= TILE ? M : TILE / MC * MC;
        t.nb = N <= TILE ? N : TILE;
        while (n > 1 && ceil_div(M, t.mb) * ceil_div(N, t.nb) < 4 * n && t.mb * t.nb * K >= 4 * ONE_TILE) {
            if (t.nb >= t.mb && t.nb >= 4 * knr)
                t.nb = round_up(ceil_div(t.nb, 2), knr);
            else if (t.mb >= 2 * MC)
                t.mb = round_up(ceil_div(t.mb, 2), MC);
            else if (t.nb >= 4 * knr)
                t.nb = round_up(ceil_div(t.nb, 2), knr);
            else
                break;
        }
    }
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
 * vectors VEC of VN elements per row (VN * NVR = NR columns), A panels of PMR
 * rows; each element's sum runs over k in order. Reads a, b, c, ldc, R, r0, kc
 * of the function it stands in. UVEC is VEC at any element address
 * (unaligned loads, stores). */
#define MICRO_BODY(VEC, UVEC, VN, NVR, ROWS, PMR, MADD)                                                               \
    VEC acc[ROWS][NVR];                                                                                               \
    for (int r = 0; r < R; r++)                                                                                       \
        for (int v = 0; v < (NVR); v++) {                                                                             \
            if (z) /* the chain starts from +0 (beta 0), C unread */                                                  \
                acc[r][v] = (VEC){0};                                                                                 \
            else                                                                                                      \
                acc[r][v] = *(const UVEC *)(c + (r0 + r) * ldc + v * (VN));                                           \
        }                                                                                                             \
    a += r0;                                                                                                          \
    for (int64_t p = 0; p < kc; p++) {                                                                                \
        VEC bv[NVR];                                                                                                  \
        for (int v = 0; v < (NVR); v++)                                                                               \
            bv[v] = *(const UVEC *)(b + v * (VN));                                                                    \
        for (int r = 0; r < R; r++) {                                                                                 \
            VEC av = a[r] - (VEC){0}; /* a splat, exact (also for -0) */                                              \
            for (int v = 0; v < (NVR); v++) {                                                                         \
                acc[r][v] = MADD(acc[r][v], av, bv[v]);                                                               \
            }                                                                                                         \
        }                                                                                                             \
        a += (PMR);                                                                                                   \
        b += (VN) * (NVR);                                                                                            \
    }                                                                                                                 \
    for (int r = 0; r < R; r++)                                                                                       \
        for (int v = 0; v < (NVR); v++)                                                                               \
            *(UVEC *)(c + (r0 + r) * ldc + v * (VN)) = acc[r][v];

/* The arguments of a tile (below), passed on unchanged. */
#define TILE_PARAMS(T, S)                                                                                             \
    bool ta, bool tb, bool tc, int64_t i0, int64_t mt, int64_t j0, int64_t nt, int64_t K, T alpha, const S *A,        \
        int64_t lda, const S *B, int64_t ldb, T *C, int64_t ldc, T *ap, T *bp, T *cp, bool zs
#define TILE_ARGS ta, tb, tc, i0, mt, j0, nt, K, alpha, A, lda, B, ldb, C, ldc, ap, bp, cp, zs

/* One implementation for each precision: T the type of the sums (and of C),
 * S the type of A and B (packed into T, exactly: a float is a double), NV
 * elements of T in 32 bytes. The baseline and AVX2 kernels take MR x 2 NV
 * register tiles, the AVX-512 one MRW x 2 NV. */
#define DEFINE_GEMM(PFX, T, S, NV, MADD_H)                                                                                   \
    typedef T PFX##_vec __attribute__((vector_size(32)));                                                                    \
    /* the same vector at any element address (an unaligned load or store) */                                                \
    typedef T PFX##_uvec __attribute__((vector_size(32), aligned(sizeof(T)), may_alias));                                    \
    typedef T PFX##_hvec __attribute__((vector_size(16)));                                                                   \
    typedef T PFX##_uhvec __attribute__((vector_size(16), aligned(sizeof(T)), may_alias));                                   \
    /* 64 bytes, for the AVX-512 kernel on CPUs that run them whole (wide_ok) */                                             \
    typedef T PFX##_wvec __attribute__((vector_size(64)));                                                                   \
    typedef T PFX##_uwvec __attribute__((vector_size(64), aligned(sizeof(T)), may_alias));                                   \
    /* NV elements of S at any address, as packed into a vector of T */                                                      \
    typedef S PFX##_svec __attribute__((vector_size(sizeof(S) * (NV)), aligned(sizeof(S)), may_alias));                      \
    enum { PFX##_NR = 2 * (NV), PFX##_KC = KC * 4 / (int)sizeof(T) };                                                        \
    typedef void PFX##_micro_fn(int R, int64_t kc, const T *a, const T *b, T *c, int64_t ldc, bool z);                       \
                                                                                                                             \
    typedef S PFX##_s4 __attribute__((vector_size(4 * sizeof(S))));                                                          \
    typedef S PFX##_us4 __attribute__((vector_size(4 * sizeof(S)), aligned(sizeof(S)), may_alias));                          \
    typedef T PFX##_t4 __attribute__((vector_size(4 * sizeof(T))));                                                          \
    typedef T PFX##_ut4 __attribute__((vector_size(4 * sizeof(T)), aligned(sizeof(T)), may_alias));                          \
    typedef S PFX##_s8 __attribute__((vector_size(8 * sizeof(S))));                                                          \
    typedef S PFX##_us8 __attribute__((vector_size(8 * sizeof(S)), aligned(sizeof(S)), may_alias));                          \
    typedef T PFX##_t8 __attribute__((vector_size(8 * sizeof(T))));                                                          \
    typedef T PFX##_ut8 __attribute__((vector_size(8 * sizeof(T)), aligned(sizeof(T)), may_alias));                          \
    /* d[p ds + r] = alpha src[r ld + p] (r < rows, p < kc), four rows at a time, each four by four transposed in \
     * registers (a copy: the same values as one element at a time). */          \
    static inline __attribute__((always_inline)) void PFX##_pack_t(const S *src, int64_t ld, int64_t rows,                   \
                                                                   int64_t kc, T *d, int64_t ds, T alpha)                    \
    {                                                                                                                        \
        const bool one = alpha == (T)1;                                                                                      \
        int64_t r = 0;                                                                                                       \
        /* eight rows: eight by eight transposed in registers (three rounds of shuffles) */                                  \
        for (; HAVE_SHUF4 && r + 8 <= rows; r += 8) {                                                                        \
            const S *s0 = src + r * ld;                                                                                      \
            int64_t p = 0;                                                                                                   \
            for (; p + 8 <= kc; p += 8) {                                                                                    \
                PFX##_s8 x[8], t[8], u[8];                                                                                   \
                for (int q = 0; q < 8; q++)                                                                                  \
                    x[q] = *(const PFX##_us8 *)(s0 + q * ld + p);                                                            \
                for (int q = 0; q < 8; q += 2) {                                                                             \
                    t[q] = SHUF8(x[q], x[q + 1], 0, 8, 1, 9, 4, 12, 5, 13);                                                  \
                    t[q + 1] = SHUF8(x[q], x[q + 1], 2, 10, 3, 11, 6, 14, 7, 15);                                            \
                }                                                                                                            \
                for (int q = 0; q < 8; q += 4)                                                                               \
                    for (int h = 0; h < 2; h++) {                                                                            \
                        u[q + 2 * h] = SHUF8(t[q + h], t[q + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);                              \
                        u[q + 2 * h + 1] = SHUF8(t[q + h], t[q + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);                        \
                    }                                                                                                        \
                for (int q = 0; q < 4; q++) {                                                                                \
                    PFX##_s8 lo = SHUF8(u[q], u[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);                                           \
                    PFX##_s8 hi = SHUF8(u[q], u[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);                                         \
                    PFX##_t8 wl = __builtin_convertvector(lo, PFX##_t8), wh = __builtin_convertvector(hi, PFX##_t8);         \
                    if (!one) {                                                                                              \
                        wl = alpha * wl;                                                                                     \
                        wh = alpha * wh;                                                                                     \
                    }                                                                                                        \
                    *(PFX##_ut8 *)(d + (p + q) * ds + r) = wl;                                                               \
                    *(PFX##_ut8 *)(d + (p + q + 4) * ds + r) = wh;                                                           \
                }                                                                                                            \
            }                                                                                                                \
            for (; p < kc; p++)                                                                                              \
                for (int q = 0; q < 8; q++) {                                                                                \
                    T v = src[(r + q) * ld + p];                                                                             \
                    d[p * ds + r + q] = one ? v : alpha * v;                                                                 \
                }                                                                                                            \
        }                                                                                                                    \
        for (; HAVE_SHUF4 && r + 4 <= rows; r += 4) {                                                                        \
            const S *s0 = src + r * ld, *s1 = s0 + ld, *s2 = s1 + ld, *s3 = s2 + ld;                                         \
            int64_t p = 0;                                                                                                   \
            for (; p + 4 <= kc; p += 4) {                                                                                    \
                PFX##_s4 a = *(const PFX##_us4 *)(s0 + p), b = *(const PFX##_us4 *)(s1 + p);                                 \
                PFX##_s4 c = *(const PFX##_us4 *)(s2 + p), e = *(const PFX##_us4 *)(s3 + p);                                 \
                PFX##_s4 t0 = SHUF4(a, b, 0, 4, 1, 5), t1 = SHUF4(a, b, 2, 6, 3, 7);                                         \
                PFX##_s4 t2 = SHUF4(c, e, 0, 4, 1, 5), t3 = SHUF4(c, e, 2, 6, 3, 7);                                         \
                PFX##_s4 o[4] = {SHUF4(t0, t2, 0, 1, 4, 5), SHUF4(t0, t2, 2, 3, 6, 7), SHUF4(t1, t3, 0, 1, 4, 5),            \
                                 SHUF4(t1, t3, 2, 3, 6, 7)};                                                                 \
                for (int q = 0; q < 4; q++) {                                                                                \
                    PFX##_t4 w = __builtin_convertvector(o[q], PFX##_t4);                                                    \
                    if (!one)                                                                                                \
                        w = alpha * w;                                                                                       \
                    *(PFX##_ut4 *)(d + (p + q) * ds + r) = w;                                                                \
                }                                                                                                            \
            }                                                                                                                \
            for (; p < kc; p++)                                                                                              \
                for (int q = 0; q < 4; q++) {                                                                                \
                    T v = src[(r + q) * ld + p];                                                                             \
                    d[p * ds + r + q] = one ? v : alpha * v;                                                                 \
                }                                                                                                            \
        }                                                                                                                    \
        for (; r < rows; r++)                                                                                                \
            for (int64_t p = 0; p < kc; p++) {                                                                               \
                T v = src[r * ld + p];                                                                                       \
                d[p * ds + r] = one ? v : alpha * v;                                                                         \
            }                                                                                                                \
    }                                                                                                                        \
                                                                                                                             \
    /* A rows [i0, i0+mc) x k [p0, p0+kc) into KMR-row panels, k-major within a panel (zero rows past mc); each \
     * row of A (or of Aᵀ) is read in order. */            \
    static inline                                                                                                            \
        __attribute__((always_inline)) void PFX##_pack_a(const int KMR, bool ta, const S *A, int64_t lda, int64_t i0,        \
                                                         int64_t mc, int64_t p0, int64_t kc, T alpha, T *dst)                \
    {                                                                                                                        \
        const bool one = alpha == (T)1;                                                                                      \
        for (int64_t ir = 0; ir < mc; ir += KMR) {                                                                           \
            const int64_t mr = mc - ir < KMR ? mc - ir : KMR;                                                                \
            T *d = dst + (ir / KMR) * kc * KMR;                                                                              \
            if (ta) {                                                                                                        \
                for (int64_t p = 0; p < kc; p++) {                                                                           \
                    const S *src = A + (p0 + p) * lda + i0 + ir;                                                             \
                    for (int64_t r = 0; r < mr; r++) {                                                                       \
                        T v = src[r];                                                                                        \
                        d[p * KMR + r] = one ? v : alpha * v;                                                                \
                    }                                                                                                        \
                }                                                                                                            \
            } else {                                                                                                         \
                PFX##_pack_t(A + (i0 + ir) * lda + p0, lda, mr, kc, d, KMR, alpha);                                          \
            }                                                                                                                \
            for (int64_t r = mr; r < KMR; r++)                                                                               \
                for (int64_t p = 0; p < kc; p++)                                                                             \
                    d[p * KMR + r] = 0;                                                                                      \
        }                                                                                                                    \
    }                                                                                                                        \
                                                                                                                             \
    /* B k [p0, p0+kc) x columns [j0, j0+nc) into KNR-column panels, k-major (zero columns past nc); each row of B \
     * (or of Bᵀ) is read in order. */         \
    static inline __attribute__((always_inline)) void PFX##_pack_b(                                                          \
        const int KNR, bool tb, const S *B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T *dst)             \
    {                                                                                                                        \
        const int64_t full = nc / KNR * KNR;                                                                                 \
        if (!tb) {                                                                                                           \
            for (int64_t p = 0; p < kc; p++) {                                                                               \
                const S *src = B + (p0 + p) * ldb + j0;                                                                      \
                T *d = dst + p * KNR;                                                                                        \
                for (int64_t jr = 0; jr < full; jr += KNR, d += kc * KNR)                                                    \
                    for (int c = 0; c < KNR; c += (NV))                                                                      \
                        *(PFX##_uvec *)(d + c) =                                                                             \
                            __builtin_convertvector(*(const PFX##_svec *)(src + jr + c), PFX##_vec);                         \
                if (full < nc) {                                                                                             \
                    for (int64_t c = 0; c < nc - full; c++)                                                                  \
                        d[c] = src[full + c];                                                                                \
                    for (int64_t c = nc - full; c < KNR; c++)                                                                \
                        d[c] = 0;                                                                                            \
                }                                                                                                            \
            }                                                                                                                \
            return;                                                                                                          \
        }                                                                                                                    \
        for (int64_t jr = 0; jr < nc; jr += KNR) {                                                                           \
            const int64_t nr = nc - jr < KNR ? nc - jr : KNR;                                                                \
            T *d = dst + (jr / KNR) * kc * KNR;                                                                              \
            PFX##_pack_t(B + (j0 + jr) * ldb + p0, ldb, nr, kc, d, KNR, (T)1);                                               \
            for (int64_t c = nr; c < KNR; c++)                                                                               \
                for (int64_t p = 0; p < kc; p++)                                                                             \
                    d[p * KNR + c] = 0;                                                                                      \
        }                                                                                                                    \
    }                                                                                                                        \
                                                                                                                             \
    /* The same sums with half-width vectors, at most two rows (16 SSE registers hold 2 x 4 sums). */                        \
    static inline __attribute__((always_inline)) KERNEL_NO_ASAN void PFX##_micro_half(                                       \
        int R, int r0, int64_t kc, const T *a, const T *b, T *c, int64_t ldc, bool z)                                        \
    {                                                                                                                        \
        MICRO_BODY(PFX##_hvec, PFX##_uhvec, (NV) / 2, 4, 2, MR, MADD_H)                                                      \
    }                                                                                                                        \
                                                                                                                             \
    /* Baseline: rows in pairs, each pair one pass over the panels. */                                                       \
    __attribute__((noinline))                                                                                                \
    KERNEL_NO_ASAN static void PFX##_micro_base(int R, int64_t kc, const T *a, const T *b, T *c, int64_t ldc, bool z)        \
    {                                                                                                                        \
        for (int r0 = 0; r0 < R; r0 += 2) {                                                                                  \
            if (R - r0 >= 2)                                                                                                 \
                PFX##_micro_half(2, r0, kc, a, b, c, ldc, z);                                                                \
            else                                                                                                             \
                PFX##_micro_half(1, r0, kc, a, b, c, ldc, z);                                                                \
        }                                                                                                                    \
    }                                                                                                                        \
                                                                                                                             \
    PFX##_SIMD_DEF                                                                                                           \
                                                                                                                             \
        /* C[i0.., j0..] (mt x nt) += op(A) op(B) over all of K, one thread, with a KMR x KNR micro-kernel; C already \
     * holds beta C. */      \
        static inline __attribute__((always_inline)) void PFX##_tile_with(const int KMR, const int KNR,                      \
                                                                          PFX##_micro_fn *micro, TILE_PARAMS(T, S))          \
    {                                                                                                                        \
        T edge[MRW * 2 * PFX##_NR];                                                                                          \
        /* tc: C holds the transpose (element (i, j) at C[j ldc + i]). The tile's sums then run in cp, row-major, its \
         * columns padded to whole register tiles (the padding's sums are dropped), from C's values and back to C at \
         * the end: the same chain for every element, without a transposed copy around each micro-kernel call. */      \
        const int64_t lc = tc ? round_up(nt, KNR) + 64 / (int64_t)sizeof(T) : ldc;                                           \
        if (tc && !zs)                                                                                                       \
            for (int64_t j = 0; j < lc; j++)                                                                                 \
                for (int64_t i = 0; i < mt; i++)                                                                             \
                    cp[i * lc + j] = j < nt ? C[(j0 + j) * ldc + i0 + i] : (T)0;                                             \
        T *const cbase = tc ? cp : C + i0 * ldc + j0;                                                                        \
        for (int64_t p0 = 0; p0 < K; p0 += PFX##_KC) {                                                                       \
            int64_t kc = K - p0 < PFX##_KC ? K - p0 : PFX##_KC;                                                              \
            PFX##_pack_b(KNR, tb, B, ldb, p0, kc, j0, nt, bp);                                                               \
            for (int64_t ic = 0; ic < mt; ic += MC) {                                                                        \
                int64_t mc = mt - ic < MC ? mt - ic : MC;                                                                    \
                PFX##_pack_a(KMR, ta, A, lda, i0 + ic, mc, p0, kc, alpha, ap);                                               \
                for (int64_t jr = 0; jr < nt; jr += KNR) {                                                                   \
                    int64_t nr = nt - jr < KNR ? nt - jr : KNR;                                                              \
                    const T *bpan = bp + (jr / KNR) * kc * KNR;                                                              \
                    for (int64_t ir = 0; ir < mc; ir += KMR) {                                                               \
                        int64_t mr = mc - ir < KMR ? mc - ir : KMR;                                                          \
                        const T *apan = ap + (ir / KMR) * kc * KMR;                                                          \
                        T *c = cbase + (ic + ir) * lc + jr;                                                                  \
                        const bool z = zs && p0 == 0; /* the sums start from 0, not from C */                                \
                        if (nr == KNR || tc) {                                                                               \
                            micro((int)mr, kc, apan, bpan, c, lc, z);                                                        \
                            continue;                                                                                        \
                        }                                                                                                    \
                        if (!z) {                                                                                            \
                            memset(edge, 0, sizeof edge);                                                                    \
                            for (int64_t r = 0; r < mr; r++)                                                                 \
                                memcpy(edge + r * KNR, c + r * lc, sizeof(T) * (size_t)nr);                                  \
                        }                                                                                                    \
                        micro((int)mr, kc, apan, bpan, edge, KNR, z);                                                        \
                        for (int64_t r = 0; r < mr; r++)                                                                     \
                            memcpy(c + r * lc, edge + r * KNR, sizeof(T) * (size_t)nr);                                      \
                    }                                                                                                        \
                }                                                                                                            \
            }                                                                                                                \
        }                                                                                                                    \
        if (tc)                                                                                                              \
            for (int64_t j = 0; j < nt; j++)                                                                                 \
                for (int64_t i = 0; i < mt; i++)                                                                             \
                    C[(j0 + j) * ldc + i0 + i] = cp[i * lc + j];                                                             \
    }                                                                                                                        \
    static void PFX##_tile_base(TILE_PARAMS(T, S)) { PFX##_tile_with(MR, PFX##_NR, PFX##_micro_base, TILE_ARGS); }           \
    PFX##_SIMD_TILES                                                                                                         \
                                                                                                                             \
        static void PFX##_run(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const S *A, int64_t lda,           \
                              const S *B, int64_t ldb, T beta, T *C, int64_t ldc)                                            \
    {                                                                                                                        \
        if (M <= 0 || N <= 0)                                                                                                \
            return;                                                                                                          \
        /* beta 0: C is not read (its sums start from 0), and zeroed here only where no tile does it */                      \
        const bool zs = beta == (T)0;                                                                                        \
        const int level = lrp_gemm_kernel();                                                                                 \
        const bool zero_here = zs && (K <= 0 || alpha == (T)0 || M == 1);                                                    \
        for (int64_t i = 0; i < M && beta != (T)1 && (!zs || zero_here); i++)                                                \
            for (int64_t j = 0; j < N; j++)                                                                                  \
                C[i * ldc + j] = zs ? (T)0 : beta * C[i * ldc + j];                                                          \
        if (K <= 0 || alpha == (T)0)                                                                                         \
            return;                                                                                                          \
        if (PFX##_gemv(level, ta, tb, M, N, K, alpha, A, lda, B, ldb, C))                                                    \
            return;                                                                                                          \
        const int64_t kmr = level >= 2 ? MRW : MR, knr = level == 3 ? 2 * PFX##_NR : PFX##_NR;                               \
        /* Few columns against many rows (a convolution's 7 x 7 outputs): the same sums as Cᵀ = op(B)ᵀ op(A)ᵀ, whose \
         * wide side fills the register tiles (each product is the same, b a = a b; alpha 1, as it scales A). */ \
        const int64_t nfull = round_up(N, knr), mfull = round_up(M, knr);                                                    \
        const bool tc = alpha == (T)1 && N * 8 < nfull * 7 && M * nfull > N * mfull;                                         \
        const int64_t m_ = tc ? N : M, n_ = tc ? M : N, lda_ = tc ? ldb : lda, ldb_ = tc ? lda : ldb;                        \
        const bool ta_ = tc ? !tb : ta, tb_ = tc ? !ta : tb;                                                                 \
        const S *A_ = tc ? B : A, *B_ = tc ? A : B;                                                                          \
        const tiling tl = own_tiles(m_, n_, K, knr);                                                                         \
        const int64_t mb = tl.mb, nb = tl.nb, tiles = tl.mt * tl.nt;                                                         \
        const int64_t kc = K < PFX##_KC ? K : PFX##_KC, mc = (mb < MC ? mb : MC);                                            \
        /* whole cache lines, so that every thread's B panels start on one (64 bytes) */                                     \
        const int64_t line = 64 / (int64_t)sizeof(T);                                                                        \
        const size_t asz = (size_t)round_up(ceil_div(mc, kmr) * kmr * kc, line),                                             \
                     bsz = (size_t)round_up(ceil_div(nb, knr) * knr * kc, line),                                             \
                     csz = tc ? (size_t)round_up(mb * (round_up(nb, knr) + line), line) : 0;                                 \
        int nth = nthreads_for(tiles);                                                                                       \
        T *buf = aligned_alloc(64, sizeof(T) * (asz + bsz + csz) * (size_t)nth);                                             \
        if (!buf && nth > 1)                                                                                                 \
            buf = aligned_alloc(64, sizeof(T) * (asz + bsz + csz) * (size_t)(nth = 1));                                      \
        if (!buf) { /* no memory for the panels: the same sums, element by element */                                        \
            for (int64_t i = 0; i < M; i++)                                                                                  \
                for (int64_t j = 0; j < N; j++) {                                                                            \
                    T acc = zs ? (T)0 : C[i * ldc + j];                                                                      \
                    for (int64_t k = 0; k < K; k++) {                                                                        \
                        T a = ta ? A[k * lda + i] : A[i * lda + k], b = tb ? B[j * ldb + k] : B[k * ldb + j];                \
                        acc = PFX##_madd1(acc, alpha == (T)1 ? a : alpha * a, b);                                            \
                    }                                                                                                        \
                    C[i * ldc + j] = acc;                                                                                    \
                }                                                                                                            \
            return;                                                                                                          \
        }                                                                                                                    \
        _Pragma("omp parallel num_threads(nth) if (nth > 1)")                                                                \
        {                                                                                                                    \
            T *ap = buf + (asz + bsz + csz) * (size_t)THREAD_NUM(), *bp = ap + asz, *cp = bp + bsz;                          \
            _Pragma("omp for schedule(dynamic, 1)") for (int64_t idx = 0; idx < tiles; idx++)                                \
            {                                                                                                                \
                int64_t i0, mi, j0, nj;                                                                                      \
                tile_at(&tl, m_, n_, idx, &i0, &mi, &j0, &nj);                                                               \
                PFX##_SIMD_SWITCH(level, ta_, tb_, tc, i0, mi, j0, nj, K, alpha, A_, lda_, B_, ldb_, C, ldc, ap, bp,         \
                                  cp, zs);                                                                                   \
            }                                                                                                                \
        }                                                                                                                    \
        free(buf);                                                                                                           \
    }

#if HAVE_AVX2_KERNEL
/* AVX2 and AVX-512: full-width vectors, the row count as a constant so that
 * each case keeps its sums in registers; the tiles (packing) are compiled for
 * the same instructions. MADD_V and MADD_W are the fused multiply-add of a
 * 32- and a 64-byte vector. */
#define ROWS_CASES(F)                                                                                                 \
    switch (R) {                                                                                                      \
    case 1: F(1, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 2: F(2, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 3: F(3, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 4: F(4, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 5: F(5, 0, kc, a, b, c, ldc, z); break;                                                                      \
    default: F(MR, 0, kc, a, b, c, ldc, z); break;                                                                    \
    }
#define WROWS_CASES(F)                                                                                                \
    switch (R) {                                                                                                      \
    case 1: F(1, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 2: F(2, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 3: F(3, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 4: F(4, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 5: F(5, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 6: F(6, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 7: F(7, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 8: F(8, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 9: F(9, 0, kc, a, b, c, ldc, z); break;                                                                      \
    case 10: F(10, 0, kc, a, b, c, ldc, z); break;                                                                    \
    case 11: F(11, 0, kc, a, b, c, ldc, z); break;                                                                    \
    default: F(MRW, 0, kc, a, b, c, ldc, z); break;                                                                   \
    }
#define SIMD_KERNELS(PFX, FUSE, MADD_V, MADD_W)                                                                        \
    /* c[r0..r0+R)[0..NR) (row stride ldc) += the kc products of an A and a B panel, k in order (MICRO_BODY) */        \
    static inline __attribute__((always_inline)) AVX2_TARGET FUSE KERNEL_NO_ASAN void PFX##_micro_rows(                \
        int R, int r0, int64_t kc, const PFX##_t *a, const PFX##_t *b, PFX##_t *c, int64_t ldc, bool z)                \
    {                                                                                                                  \
        MICRO_BODY(PFX##_vec, PFX##_uvec, PFX##_NR / 2, 2, MR, MR, MADD_V)                                             \
    }                                                                                                                  \
    /* MRW rows of 2 vectors: AVX-512's 32 registers hold the 24 sums, of 32 bytes (on Zen 4, which runs 64-byte     \
     * vectors in two halves and broadcasts into them at a cost) or of 64 */ \
    static inline __attribute__((always_inline)) AVX512_TARGET FUSE KERNEL_NO_ASAN void PFX##_micro_wrows(             \
        int R, int r0, int64_t kc, const PFX##_t *a, const PFX##_t *b, PFX##_t *c, int64_t ldc, bool z)                \
    {                                                                                                                  \
        MICRO_BODY(PFX##_vec, PFX##_uvec, PFX##_NR / 2, 2, MRW, MRW, MADD_V)                                           \
    }                                                                                                                  \
    static inline __attribute__((always_inline)) AVX512_TARGET FUSE KERNEL_NO_ASAN void PFX##_micro_zrows(             \
        int R, int r0, int64_t kc, const PFX##_t *a, const PFX##_t *b, PFX##_t *c, int64_t ldc, bool z)                \
    {                                                                                                                  \
        MICRO_BODY(PFX##_wvec, PFX##_uwvec, PFX##_NR, 2, MRW, MRW, MADD_W)                                             \
    }                                                                                                                  \
    __attribute__((noinline)) AVX2_TARGET FUSE KERNEL_NO_ASAN static void PFX##_micro_avx2(                            \
        int R, int64_t kc, const PFX##_t *a, const PFX##_t *b, PFX##_t *c, int64_t ldc, bool z)                        \
    {                                                                                                                  \
        ROWS_CASES(PFX##_micro_rows)                                                                                   \
    }                                                                                                                  \
    __attribute__((noinline)) AVX512_TARGET FUSE KERNEL_NO_ASAN static void PFX##_micro_avx512(                        \
        int R, int64_t kc, const PFX##_t *a, const PFX##_t *b, PFX##_t *c, int64_t ldc, bool z)                        \
    {                                                                                                                  \
        WROWS_CASES(PFX##_micro_wrows)                                                                                 \
    }                                                                                                                  \
    __attribute__((noinline)) AVX512_TARGET FUSE KERNEL_NO_ASAN static void PFX##_micro_avx512z(                       \
        int R, int64_t kc, const PFX##_t *a, const PFX##_t *b, PFX##_t *c, int64_t ldc, bool z)                        \
    {                                                                                                                  \
        WROWS_CASES(PFX##_micro_zrows)                                                                                 \
    }
#define SIMD_TILES(PFX, T, S)                                                                                         \
    AVX2_TARGET static void PFX##_tile_avx2(TILE_PARAMS(T, S))                                                        \
    {                                                                                                                 \
        PFX##_tile_with(MR, PFX##_NR, PFX##_micro_avx2, TILE_ARGS);                                                   \
    }                                                                                                                 \
    AVX512_TARGET static void PFX##_tile_avx512(TILE_PARAMS(T, S))                                                    \
    {                                                                                                                 \
        PFX##_tile_with(MRW, PFX##_NR, PFX##_micro_avx512, TILE_ARGS);                                                \
    }                                                                                                                 \
    AVX512_TARGET static void PFX##_tile_avx512z(TILE_PARAMS(T, S))                                                   \
    {                                                                                                                 \
        PFX##_tile_with(MRW, 2 * PFX##_NR, PFX##_micro_avx512z, TILE_ARGS);                                           \
    }
#define SIMD_SWITCH(PFX, level, ...)                                                                                  \
    do {                                                                                                              \
        if ((level) == 3)                                                                                             \
            PFX##_tile_avx512z(__VA_ARGS__);                                                                          \
        else if ((level) == 2)                                                                                        \
            PFX##_tile_avx512(__VA_ARGS__);                                                                           \
        else if ((level) == 1)                                                                                        \
            PFX##_tile_avx2(__VA_ARGS__);                                                                             \
        else                                                                                                          \
            PFX##_tile_base(__VA_ARGS__);                                                                             \
    } while (0)
/* The float kernels' multiply-add is the fused one, rounded once: the
 * instructions (AVX2 CPUs with FMA, which level 1 requires, and AVX-512F). */
#define S_FMA_V(acc, x, y) ((s_vec)_mm256_fmadd_ps((__m256)(x), (__m256)(y), (__m256)(acc)))
#define S_FMA_W(acc, x, y) ((s_wvec)_mm512_fmadd_ps((__m512)(x), (__m512)(y), (__m512)(acc)))
#define D_FMA_V(acc, x, y) ((d_vec)_mm256_fmadd_pd((__m256d)(x), (__m256d)(y), (__m256d)(acc)))
#define D_FMA_W(acc, x, y) ((d_wvec)_mm512_fmadd_pd((__m512d)(x), (__m512d)(y), (__m512d)(acc)))
#ifdef LRP_REAL_DOUBLE
/* the double build's products of doubles are rounded: multiply, then add, as the baseline */
#define S_MADD_V(acc, x, y) ((acc) + (x) * (y))
#define S_MADD_W(acc, x, y) ((acc) + (x) * (y))
#define S_FUSE_ATTR
#else
#define S_MADD_V S_FMA_V
#define S_MADD_W S_FMA_W
#define S_FUSE_ATTR
#endif
/* Double sums of float products: a product of two floats is exact in double
 * (48 significant bits of 53), so fma(a, b, acc) rounds acc + a·b once, as the
 * separate add after an exact multiply does: the same bits as the baseline's
 * multiply and add. Not in the double build, whose products of doubles are
 * rounded. */
#ifndef LRP_REAL_DOUBLE
#define D_MADD_V D_FMA_V
#define D_MADD_W D_FMA_W
#else
#define D_MADD_V(acc, x, y) ((acc) + (x) * (y))
#define D_MADD_W(acc, x, y) ((acc) + (x) * (y))
#endif
#define s_SIMD_DEF SIMD_KERNELS(s, S_FUSE_ATTR, S_MADD_V, S_MADD_W)
#define d_SIMD_DEF SIMD_KERNELS(d, , D_MADD_V, D_MADD_W)
#define s_SIMD_TILES SIMD_TILES(s, lrp_real, lrp_real)
#define d_SIMD_TILES SIMD_TILES(d, double, lrp_real)
#define s_SIMD_SWITCH(...) SIMD_SWITCH(s, __VA_ARGS__)
#define d_SIMD_SWITCH(...) SIMD_SWITCH(d, __VA_ARGS__)
#else
#define s_SIMD_DEF
#define d_SIMD_DEF
#define s_SIMD_TILES
#define d_SIMD_TILES
#define s_SIMD_SWITCH(level, ...) s_tile_base(__VA_ARGS__)
#define d_SIMD_SWITCH(level, ...) d_tile_base(__VA_ARGS__)
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

#ifndef LRP_REAL_DOUBLE
typedef float f4_vec __attribute__((vector_size(16)));
#if defined(__aarch64__)
/* NEON's fused multiply-add: one rounding, as the x86 kernels' */
#define S_MADD_H(acc, x, y) ((f4_vec)vfmaq_f32((float32x4_t)(acc), (float32x4_t)(x), (float32x4_t)(y)))
#else
/* fma(x, y, c) without an FMA instruction (the SSE2 baseline), exactly: the
 * product of two floats is exact in double; the sum is rounded to odd in
 * double (its error, from the two-sum, says whether it is inexact and on
 * which side) and then to the nearest float, which gives the correctly
 * rounded x y + c (Boldo and Melquiond: rounding to odd with two or more
 * extra bits, then to nearest, is rounding to nearest once). */
static inline float fma_by_odd(float x, float y, float c)
{
    const double p = (double)x * (double)y, cd = c, s = p + cd;
    const double bb = s - p, e = (p - (s - bb)) + (cd - bb); /* s + e = p + c exactly */
    double r = s;
    if (e != 0.0 && e - e == 0.0) { /* inexact (and finite: an infinity or NaN makes e NaN) */
        uint64_t u;
        memcpy(&u, &s, sizeof u);
        if (!(u & 1)) /* even: its neighbour towards the exact sum is odd (s is not 0: a sum rounded to 0 is exact) */
            u = (e > 0.0) == (s > 0.0) ? u + 1 : u - 1;
        memcpy(&r, &u, sizeof r);
    }
    return (float)r;
}

static inline f4_vec fma4_by_odd(f4_vec acc, f4_vec x, f4_vec y)
{
    f4_vec r;
    for (int i = 0; i < 4; i++)
        r[i] = fma_by_odd(x[i], y[i], acc[i]);
    return r;
}
#define S_MADD_H(acc, x, y) fma4_by_odd((acc), (x), (y))
#endif
#else
#define S_MADD_H(acc, x, y) ((acc) + (x) * (y))
#endif
#define D_MADD_H(acc, x, y) ((acc) + (x) * (y))
/* one element's multiply-add, as the kernels' (C's fmaf is rounded once) */
#ifndef LRP_REAL_DOUBLE
static inline lrp_real s_madd1(lrp_real acc, lrp_real x, lrp_real y) { return fmaf(x, y, acc); }
#else
static inline lrp_real s_madd1(lrp_real acc, lrp_real x, lrp_real y) { return acc + x * y; }
#endif
static inline double d_madd1(double acc, double x, double y) { return acc + x * y; }

/* One row (M = 1: a dense layer on one input) against a large B: a product
 * of vectors and a matrix, whose packing would cost more than its
 * multiply-adds. Streamed instead, each element of B read once, with each
 * element's chain as the kernels' (beta C, then fma(alpha a_k, b_kj, c) in k
 * order; the double sums of float products with exact products). AVX-512 on
 * 64-byte vectors only (level 3); elsewhere the tiles. C already holds beta C.
 * B not transposed: 16 vectors of columns per block, a row of B at a time; B
 * transposed (rows of B are columns of op(B)): 16 or 8 rows gathered per k,
 * four groups at once. Returns false to leave the product to the tiles. */
#define GEMV_MIN (1 << 18)
#if HAVE_AVX2_KERNEL && !defined(LRP_REAL_DOUBLE)
/* alpha op(A)'s one row, as the packing scales it */
#define GEMV_ROW(T)                                                                                                   \
    T *ar = malloc(sizeof(T) * (size_t)K);                                                                            \
    if (!ar)                                                                                                          \
        return false;                                                                                                 \
    for (int64_t k = 0; k < K; k++) {                                                                                 \
        T v = ta ? A[k * lda] : A[k];                                                                                 \
        ar[k] = alpha == (T)1 ? v : alpha * v;                                                                        \
    }
AVX512_TARGET static void s_gemv_cols(const float *ar, int64_t K, const float *B, int64_t ldb, float *C, int64_t j0,
                                      int64_t nc)
{
    __m512 acc[16];
    __mmask16 m[16];
    for (int i = 0; i < 16; i++) {
        int64_t left = nc - 16 * i;
        m[i] = left >= 16 ? (__mmask16)0xffff : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
        acc[i] = _mm512_maskz_loadu_ps(m[i], C + j0 + 16 * i);
    }
    for (int64_t k = 0; k < K; k++) {
        const __m512 av = _mm512_set1_ps(ar[k]);
        const float *b = B + k * ldb + j0;
        for (int i = 0; i < 16; i++)
            acc[i] = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m[i], b + 16 * i), acc[i]);
    }
    for (int i = 0; i < 16; i++)
        _mm512_mask_storeu_ps(C + j0 + 16 * i, m[i], acc[i]);
}
AVX512_TARGET static void s_gemv_rows(const float *ar, int64_t K, const float *B, int64_t ldb, float *C, int64_t j0,
                                      int64_t nr)
{
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)ldb));
    __m512 acc[4];
    __mmask16 m[4];
    for (int g = 0; g < 4; g++) {
        int64_t left = nr - 16 * g;
        m[g] = left >= 16 ? (__mmask16)0xffff : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
        acc[g] = _mm512_maskz_loadu_ps(m[g], C + j0 + 16 * g);
    }
    for (int64_t k = 0; k < K; k++) {
        const __m512 av = _mm512_set1_ps(ar[k]);
        for (int g = 0; g < 4; g++) {
            const float *b = B + (j0 + 16 * g) * ldb + k;
            __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m[g], idx, b, 4);
            acc[g] = _mm512_fmadd_ps(av, v, acc[g]);
        }
    }
    for (int g = 0; g < 4; g++)
        _mm512_mask_storeu_ps(C + j0 + 16 * g, m[g], acc[g]);
}
AVX512_TARGET static void d_gemv_cols(const double *ar, int64_t K, const float *B, int64_t ldb, double *C, int64_t j0,
                                      int64_t nc)
{
    __m512d acc[16];
    __mmask8 m[16];
    for (int i = 0; i < 16; i++) {
        int64_t left = nc - 8 * i;
        m[i] = left >= 8 ? (__mmask8)0xff : left <= 0 ? (__mmask8)0 : (__mmask8)((1u << left) - 1);
        acc[i] = _mm512_maskz_loadu_pd(m[i], C + j0 + 8 * i);
    }
    for (int64_t k = 0; k < K; k++) {
        const __m512d av = _mm512_set1_pd(ar[k]);
        const float *b = B + k * ldb + j0;
        for (int i = 0; i < 16; i++)
            acc[i] = _mm512_fmadd_pd(av, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m[i], b + 8 * i)), acc[i]);
    }
    for (int i = 0; i < 16; i++)
        _mm512_mask_storeu_pd(C + j0 + 8 * i, m[i], acc[i]);
}
AVX512_TARGET static void d_gemv_rows(const double *ar, int64_t K, const float *B, int64_t ldb, double *C, int64_t j0,
                                      int64_t nr)
{
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)ldb));
    __m512d acc[4];
    __mmask8 m[4];
    for (int g = 0; g < 4; g++) {
        int64_t left = nr - 8 * g;
        m[g] = left >= 8 ? (__mmask8)0xff : left <= 0 ? (__mmask8)0 : (__mmask8)((1u << left) - 1);
        acc[g] = _mm512_maskz_loadu_pd(m[g], C + j0 + 8 * g);
    }
    for (int64_t k = 0; k < K; k++) {
        const __m512d av = _mm512_set1_pd(ar[k]);
        for (int g = 0; g < 4; g++) {
            const float *b = B + (j0 + 8 * g) * ldb + k;
            __m256 v = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), m[g], idx, b, 4);
            acc[g] = _mm512_fmadd_pd(av, _mm512_cvtps_pd(v), acc[g]);
        }
    }
    for (int g = 0; g < 4; g++)
        _mm512_mask_storeu_pd(C + j0 + 8 * g, m[g], acc[g]);
}
/* The driver: blocks of W columns (WT with B transposed) spread over the threads. */
#define DEFINE_GEMV(PFX, T, W, WT, LANES)                                                                             \
    static bool PFX##_gemv(int level, bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const float *A,     \
                           int64_t lda, const float *B, int64_t ldb, T *C)                                            \
    {                                                                                                                 \
        if (level != 3 || M != 1 || N * K < GEMV_MIN || (tb && ldb * (LANES) > INT32_MAX))                            \
            return false;                                                                                             \
        GEMV_ROW(T)                                                                                                   \
        const int64_t w = tb ? (WT) : (W), blocks = ceil_div(N, w);                                                   \
        const int nth = nthreads_for(blocks);                                                                         \
        _Pragma("omp parallel for schedule(static) num_threads(nth) if (nth > 1)") for (int64_t blk = 0;              \
                                                                                        blk < blocks; blk++)          \
        {                                                                                                             \
            const int64_t j0 = blk * w, n = N - j0 < w ? N - j0 : w;                                                  \
            if (tb)                                                                                                   \
                PFX##_gemv_rows(ar, K, B, ldb, C, j0, n);                                                             \
            else                                                                                                      \
                PFX##_gemv_cols(ar, K, B, ldb, C, j0, n);                                                             \
        }                                                                                                             \
        free(ar);                                                                                                     \
        return true;                                                                                                  \
    }
DEFINE_GEMV(s, float, 256, 64, 16)
DEFINE_GEMV(d, double, 128, 32, 8)
#else
#define s_gemv(...) false
#define d_gemv(...) false
#endif

DEFINE_GEMM(s, lrp_real, lrp_real, S_NV, S_MADD_H)

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
DEFINE_GEMM(d, double, lrp_real, 4, D_MADD_H)

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
