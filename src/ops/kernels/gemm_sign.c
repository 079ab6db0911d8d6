/* The four sign-split products of gemm_sign.h: per row, the k with a
 * nonzero a1 (and a2) are listed once; the columns run in blocks of NB
 * (vectors), each block's B1 and B2 rows packed side by side, the k in
 * cache blocks of KB; every element sums its terms in the order of k,
 * whatever the blocking and the threads. */
#include "ops/kernels/gemm_sign.h"

#include "ops/kernels/gemm_kernels.h"
#include "ops/op.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#ifdef _OPENMP
#include <omp.h>
#define THREAD_NUM() omp_get_thread_num()
#else
#define THREAD_NUM() 0
#endif

#define NB 16  /* columns per block: two vectors */
#define KB 128 /* k per cache block of the packed panel */
#define RB 16  /* rows that share a cache block of the panel */

typedef lrp_real sg_vec __attribute__((vector_size(8 * sizeof(lrp_real))));
typedef lrp_real sg_uvec __attribute__((vector_size(8 * sizeof(lrp_real)), aligned(sizeof(lrp_real)), may_alias));

/* The nonzero entries of the rows: row i's k and a in [ptr[i], ptr[i+1]),
 * and kb[i * nkb + b] the first of them with k >= b KB. */
typedef struct {
    int32_t *k;
    lrp_real *a;
    int64_t *ptr, *kb;
} sg_list;

static int list_build(const lrp_real *A, int64_t M, int64_t K, int64_t lda, sg_list *l)
{
    const int64_t nkb = (K + KB - 1) / KB;
    l->ptr = malloc(sizeof(int64_t) * (size_t)(M + 1));
    l->kb = malloc(sizeof(int64_t) * (size_t)(M * (nkb + 1)));
    int64_t nz = 0;
    if (l->ptr)
        for (int64_t i = 0; i < M; i++) {
            l->ptr[i] = nz;
            for (int64_t k = 0; k < K; k++)
                nz += A[i * lda + k] != 0.0f;
        }
    l->k = malloc(sizeof(int32_t) * (size_t)(nz ? nz : 1));
    l->a = malloc(sizeof(lrp_real) * (size_t)(nz ? nz : 1));
    if (!l->ptr || !l->kb || !l->k || !l->a)
        return -1;
    l->ptr[M] = nz;
    for (int64_t i = 0; i < M; i++) {
        int64_t e = l->ptr[i];
        for (int64_t b = 0; b < nkb; b++) {
            l->kb[i * (nkb + 1) + b] = e;
            int64_t kend = (b + 1) * KB < K ? (b + 1) * KB : K;
            for (int64_t k = b * KB; k < kend; k++) {
                lrp_real a = A[i * lda + k];
                if (a != 0.0f) {
                    l->k[e] = (int32_t)k;
                    l->a[e] = a;
                    e++;
                }
            }
        }
        l->kb[i * (nkb + 1) + nkb] = e;
    }
    return 0;
}

static void list_free(sg_list *l)
{
    free(l->k);
    free(l->a);
    free(l->ptr);
    free(l->kb);
}

/* acc[0..1] += a B1 row, acc[2..3] += a B2 row, over the listed entries
 * [e0, e1); the panel holds, per k from k0, NB values of B1 then NB of B2. */
static inline __attribute__((always_inline)) void run_list(const sg_list *l, int64_t e0, int64_t e1,
                                                           const lrp_real *panel, int64_t k0, sg_vec *acc)
{
    for (int64_t e = e0; e < e1; e++) {
        const lrp_real *b = panel + (int64_t)(l->k[e] - k0) * (2 * NB);
        const sg_vec av = l->a[e] - (sg_vec){0}; /* a splat, exact */
        for (int v = 0; v < 4; v++) {
            sg_vec t = av * *(const sg_uvec *)(b + 8 * v);
            acc[v] = acc[v] + t;
        }
    }
}

/* run_list on two lists at once (acc1 from l1's entries, acc2 from l2's),
 * so that eight sums are in flight instead of four; each keeps its order. */
static inline __attribute__((always_inline)) void run_lists(const sg_list *l1, int64_t e0, int64_t e1,
                                                            const sg_list *l2, int64_t f0, int64_t f1,
                                                            const lrp_real *panel, int64_t k0, sg_vec *acc1,
                                                            sg_vec *acc2)
{
    int64_t n = e1 - e0 < f1 - f0 ? e1 - e0 : f1 - f0;
    for (int64_t q = 0; q < n; q++) {
        const lrp_real *b1 = panel + (int64_t)(l1->k[e0 + q] - k0) * (2 * NB);
        const lrp_real *b2 = panel + (int64_t)(l2->k[f0 + q] - k0) * (2 * NB);
        const sg_vec a1 = l1->a[e0 + q] - (sg_vec){0}, a2 = l2->a[f0 + q] - (sg_vec){0};
        for (int v = 0; v < 4; v++) {
            sg_vec t1 = a1 * *(const sg_uvec *)(b1 + 8 * v);
            sg_vec t2 = a2 * *(const sg_uvec *)(b2 + 8 * v);
            acc1[v] = acc1[v] + t1;
            acc2[v] = acc2[v] + t2;
        }
    }
    run_list(l1, e0 + n, e1, panel, k0, acc1);
    run_list(l2, f0 + n, f1, panel, k0, acc2);
}

/* One column block [j0, j0+nb) of all four (or two) outputs; panel: K x 2NB. */
static inline __attribute__((always_inline)) void block_body(int64_t M, int64_t N, int64_t K, const sg_list *l1,
                                                             const sg_list *l2, const lrp_real *B1, const lrp_real *B2,
                                                             int64_t bsk, int64_t bsj, const lrp_real *const c0[4],
                                                             lrp_real *const C[4], int64_t ldc, int64_t j0,
                                                             lrp_real *panel, lrp_real *tile, int *bad)
{
    const int64_t nb = N - j0 < NB ? N - j0 : NB, nkb = (K + KB - 1) / KB;
    sg_vec fin = {0};
    for (int64_t k = 0; k < K; k++) {
        lrp_real *d = panel + k * 2 * NB;
        for (int64_t c = 0; c < NB; c++) {
            d[c] = c < nb ? B1[k * bsk + (j0 + c) * bsj] : 0.0f;
            d[NB + c] = c < nb ? B2[k * bsk + (j0 + c) * bsj] : 0.0f;
        }
        /* b - b is 0 for a finite b, NaN otherwise */
        for (int v = 0; v < 4; v++) {
            sg_vec b = *(const sg_uvec *)(d + 8 * v);
            fin = fin + (b - b);
        }
    }
    for (int v = 0; v < 8; v++)
        if (!(fin[v] == 0.0f)) {
            *bad = 1;
            return;
        }
    const int nq = l2 ? 4 : 2;
    for (int64_t i0 = 0; i0 < M; i0 += RB) {
        const int64_t rb = M - i0 < RB ? M - i0 : RB;
        /* tile: rb rows x the four outputs' NB columns; starts at c0 */
        for (int64_t r = 0; r < rb; r++)
            for (int q = 0; q < nq; q++)
                for (int64_t c = 0; c < NB; c++)
                    tile[(r * 4 + q) * NB + c] = c0[q] && c < nb ? c0[q][j0 + c] : 0.0f;
        for (int64_t b = 0; b < nkb; b++) {
            const lrp_real *pb = panel + b * KB * 2 * NB;
            for (int64_t r = 0; r < rb; r++) {
                const int64_t i = i0 + r;
                lrp_real *t = tile + r * 4 * NB;
                const int64_t *p1 = l1->kb + i * (nkb + 1) + b;
                if (!l2) { /* the A1 terms only: C11 (B1), C12 (B2) */
                    sg_vec acc[4];
                    memcpy(acc, t, sizeof(lrp_real) * 2 * NB);
                    run_list(l1, p1[0], p1[1], pb, b * KB, acc);
                    memcpy(t, acc, sizeof(lrp_real) * 2 * NB);
                    continue;
                }
                /* and the A2 terms: C21 (B1), C22 (B2) */
                const int64_t *p2 = l2->kb + i * (nkb + 1) + b;
                sg_vec acc1[4], acc2[4];
                memcpy(acc1, t, sizeof(lrp_real) * 2 * NB);
                memcpy(acc2, t + 2 * NB, sizeof(lrp_real) * 2 * NB);
                run_lists(l1, p1[0], p1[1], l2, p2[0], p2[1], pb, b * KB, acc1, acc2);
                memcpy(t, acc1, sizeof(lrp_real) * 2 * NB);
                memcpy(t + 2 * NB, acc2, sizeof(lrp_real) * 2 * NB);
            }
        }
        for (int64_t r = 0; r < rb; r++)
            for (int q = 0; q < nq; q++)
                memcpy(C[q] + (i0 + r) * ldc + j0, tile + (r * 4 + q) * NB, sizeof(lrp_real) * (size_t)nb);
    }
}

static void block_base(int64_t M, int64_t N, int64_t K, const sg_list *l1, const sg_list *l2, const lrp_real *B1,
                       const lrp_real *B2, int64_t bsk, int64_t bsj, const lrp_real *const c0[4], lrp_real *const C[4],
                       int64_t ldc, int64_t j0, lrp_real *panel, lrp_real *tile, int *bad)
{
    block_body(M, N, K, l1, l2, B1, B2, bsk, bsj, c0, C, ldc, j0, panel, tile, bad);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(LRP_GEMM_BASELINE)
#define SG_AVX2 1
__attribute__((target("avx2"))) static void block_avx2(int64_t M, int64_t N, int64_t K, const sg_list *l1,
                                                       const sg_list *l2, const lrp_real *B1, const lrp_real *B2,
                                                       int64_t bsk, int64_t bsj, const lrp_real *const c0[4],
                                                       lrp_real *const C[4], int64_t ldc, int64_t j0, lrp_real *panel,
                                                       lrp_real *tile, int *bad)
{
    block_body(M, N, K, l1, l2, B1, B2, bsk, bsj, c0, C, ldc, j0, panel, tile, bad);
}
#else
#define SG_AVX2 0
#endif

static int c0_ok(const lrp_real *c, int64_t n)
{
    if (!c)
        return 1;
    for (int64_t j = 0; j < n; j++)
        if (c[j] == 0.0f && signbit(c[j]))
            return 0;
    return 1;
}

int lrp_sgemm_sign4(int64_t M, int64_t N, int64_t K, const lrp_real *A1, const lrp_real *A2, int64_t lda,
                    const lrp_real *B1, const lrp_real *B2, int64_t bsk, int64_t bsj, const lrp_real *const c0[4],
                    lrp_real *const C[4], int64_t ldc)
{
    if (M <= 0 || N <= 0 || K <= 0 || K > INT32_MAX)
        return -1;
    for (int q = 0; q < 4; q++)
        if (!c0_ok(c0[q], N))
            return -1;
    sg_list l1 = {0}, l2 = {0};
    const int nth = lrp_num_threads > 0 ? lrp_num_threads : 1;
    const size_t per = (size_t)(K * 2 * NB) + (size_t)(RB * 4 * NB);
    const int64_t nblk = (N + NB - 1) / NB;
    lrp_real *buf = malloc(sizeof(lrp_real) * per * (size_t)nth);
    int *bad = calloc((size_t)nblk, sizeof(int));
    int st =
        buf && bad && list_build(A1, M, K, lda, &l1) == 0 && (!A2 || list_build(A2, M, K, lda, &l2) == 0) ? 0 : -1;
    if (st == 0) {
        void (*block)(int64_t, int64_t, int64_t, const sg_list *, const sg_list *, const lrp_real *, const lrp_real *,
                      int64_t, int64_t, const lrp_real *const *, lrp_real *const *, int64_t, int64_t, lrp_real *,
                      lrp_real *, int *) = block_base;
#if SG_AVX2
        if (lrp_cpu_avx2())
            block = block_avx2;
#endif
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth) if (nth > 1 && nblk > 1)
        for (int64_t jb = 0; jb < nblk; jb++) {
            lrp_real *panel = buf + per * (size_t)THREAD_NUM();
            block(M, N, K, &l1, A2 ? &l2 : NULL, B1, B2, bsk, bsj, c0, C, ldc, jb * NB, panel, panel + K * 2 * NB,
                  &bad[jb]);
        }
        for (int64_t jb = 0; jb < nblk; jb++)
            if (bad[jb])
                st = -1; /* a B is not finite: the caller starts again with lrp_sgemm */
    }
    free(bad);
    list_free(&l1);
    list_free(&l2);
    free(buf);
    return st;
}
