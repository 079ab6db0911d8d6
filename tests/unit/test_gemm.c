/* lrp's matrix products: every element must be exactly (bit for bit) the
 * chain c = fma(a_k, b_k, c) in k order from c0, each step one IEEE fused
 * multiply-add (C's fmaf), computed here by the plainest loop; for every shape
 * (tile edges, cache blocks of k, one row or one column, transposes, alpha and
 * beta), with every micro-kernel the CPU runs (the SSE2 baseline's fused
 * multiply-add emulated in double) and at any thread count. That is what
 * makes the results the same on every CPU. */
#include "testutil.h"

#include "ops/op.h"
#include "ops/kernels/gemm_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The definition, one element at a time (the test is compiled with
 * -ffp-contract=off like the library, so only fmaf is fused). */
static void reference(bool ta, bool tb, int64_t M, int64_t N, int64_t K, lrp_real alpha, const lrp_real *A,
                      int64_t lda, const lrp_real *B, int64_t ldb, lrp_real beta, lrp_real *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            lrp_real acc = beta == 0.0f ? 0.0f : (beta == 1.0f ? C[i * ldc + j] : beta * C[i * ldc + j]);
            for (int64_t k = 0; k < K; k++) {
                lrp_real a = ta ? A[k * lda + i] : A[i * lda + k];
                lrp_real b = tb ? B[j * ldb + k] : B[k * ldb + j];
                acc = fmaf(alpha == 1.0f ? a : alpha * a, b, acc);
            }
            C[i * ldc + j] = acc;
        }
}

static uint64_t rng_state = 88172645463325252ull;
static lrp_real rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    /* a spread of magnitudes, so that rounding differences would show */
    lrp_real u = (lrp_real)(rng_state >> 40) / (lrp_real)(1 << 24) - 0.5f;
    return u * (lrp_real)(1 << (rng_state % 7));
}

static lrp_real *filled(int64_t n)
{
    lrp_real *p = malloc(sizeof(lrp_real) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        p[i] = rnd();
    return p;
}

static void check_shape(int64_t M, int64_t N, int64_t K, bool ta, bool tb, lrp_real alpha, lrp_real beta, int pad)
{
    int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    lrp_real *A = filled((ta ? K : M) * lda), *B = filled((tb ? N : K) * ldb), *C0 = filled(M * ldc);
    lrp_real *want = malloc(sizeof(lrp_real) * (size_t)(M * ldc > 0 ? M * ldc : 1));
    lrp_real *got = malloc(sizeof(lrp_real) * (size_t)(M * ldc > 0 ? M * ldc : 1));
    if (beta == 0.0f) /* beta 0 must overwrite whatever C held, NaN included */
        for (int64_t i = 0; i < M * ldc; i++)
            C0[i] = NAN;
    memcpy(want, C0, sizeof(lrp_real) * (size_t)(M * ldc));
    reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, want, ldc);
    const int threads[] = {1, 2, 3, 8};
    for (int level = 0; level <= 3; level++) /* every micro-kernel this CPU runs (gemm_kernels.h) */
        for (int t = 0; t < 4; t++) {
            lrp_gemm_set_kernel(level);
            lrp_set_threads(threads[t]);
            memcpy(got, C0, sizeof(lrp_real) * (size_t)(M * ldc));
            lrp_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, got, ldc);
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++)
                    if (memcmp(&got[i * ldc + j], &want[i * ldc + j], sizeof(lrp_real)))
                        fail_msg("M=%lld N=%lld K=%lld ta=%d tb=%d alpha=%g beta=%g pad=%d threads=%d kernel=%d: "
                                 "C[%lld][%lld] = %.9g, the k-order fma chain is %.9g",
                                 (long long)M, (long long)N, (long long)K, ta, tb, alpha, beta, pad, threads[t],
                                 lrp_gemm_kernel(), (long long)i, (long long)j, got[i * ldc + j], want[i * ldc + j]);
        }
    lrp_gemm_set_kernel(-1);
    lrp_set_threads(1);
    free(A);
    free(B);
    free(C0);
    free(want);
    free(got);
}

static void test_sgemm_is_the_k_order_sum(void **state)
{
    (void)state;
    /* around the register tile (6 x 16), the k block (512), the output tile
     * (512) and the one-tile threshold */
    const int64_t ms[] = {1, 5, 6, 7, 13, 64, 515}, ns[] = {1, 15, 16, 17, 49, 530}, ks[] = {1, 3, 511, 513, 1100};
    int n = 0;
    for (int a = 0; a < 7; a++)
        for (int b = 0; b < 6; b++)
            for (int c = 0; c < 5; c++) {
                if (ms[a] * ns[b] * ks[c] > 40000000)
                    continue;
                bool ta = (a + c) % 2, tb = (b + c) % 3 == 0;
                check_shape(ms[a], ns[b], ks[c], ta, tb, 1.0f, (a + b) % 2 ? 1.0f : 0.0f, (a * b) % 3);
                n++;
            }
    assert_true(n > 150);
    /* the 12-row AVX-512 tile and its 6-row blocks (MC 72), the k blocks of
     * 256 floats and 128 doubles, few columns against many rows (computed as
     * the transpose: N 49 or 17 under 128 or 515 rows), wide tiles split for
     * the threads */
    const int64_t ms2[] = {11, 12, 13, 25, 73, 128}, ns2[] = {7, 17, 49, 200}, ks2[] = {127, 129, 255, 257, 700};
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 4; b++) {
            int c = (a + b) % 5;
            check_shape(ms2[a], ns2[b], ks2[c], (a + c) % 2, (b + c) % 3 == 0, 1.0f, b % 2 ? 1.0f : 0.0f, a % 2);
        }
    /* the 12 x 32 AVX-512 tile of 64-byte vectors */
    check_shape(12, 31, 40, false, false, 1.0f, 0.0f, 0);
    check_shape(24, 32, 300, false, true, 1.0f, 1.0f, 1);
    check_shape(25, 33, 257, true, false, 1.0f, 0.0f, 0);
    check_shape(73, 65, 129, false, false, 1.0f, 1.0f, 3);
    check_shape(515, 49, 300, false, false, 1.0f, 0.0f, 0);
    check_shape(515, 49, 300, true, true, 1.0f, 1.0f, 2);
    check_shape(600, 1030, 40, false, false, 1.0f, 0.0f, 0);
    /* one row against a large B (streamed, not packed, on AVX-512): every
     * layout, column and row tails of the 256-column and 64-row blocks */
    check_shape(1, 600, 700, false, false, 1.0f, 0.0f, 0);
    check_shape(1, 600, 700, false, true, 1.0f, 1.0f, 1);
    check_shape(1, 37, 8000, true, true, 1.0f, 0.0f, 2);
    check_shape(1, 1030, 300, true, false, -2.0f, 0.5f, 3);
    check_shape(1, 70, 4000, false, true, 0.75f, -1.5f, 0);
    /* alpha and beta other than 0 and 1 */
    check_shape(37, 70, 600, false, true, 0.75f, -1.5f, 1);
    check_shape(37, 70, 600, true, false, -2.0f, 0.5f, 0);
}

/* Products one rounding apart from their double-rounded value: x y + c
 * just off the midpoint between two floats by less than a double's rounding,
 * where rounding x y + c to double first and then to float lands on the
 * midpoint and ties to the wrong side. Each kernel (the baseline's emulation
 * among them) must give C's fmaf, here through K = 1 and beta 1. */
static void test_sgemm_fma_hard_cases(void **state)
{
    (void)state;
    const float x = ldexpf(1.0f + ldexpf(1.0f, -18), -24), y = 1.0f - ldexpf(1.0f, -18);
    const float c = 1.0f + ldexpf(1.0f, -23);
    const float cases[][3] = {
        {x, y, c},
        {-x, y, -c},
        {x, -y, -c},
        {-x, -y, c},
        {ldexpf(x, 40), y, ldexpf(c, 40)},
        {ldexpf(x, -100), y, ldexpf(c, -100)},
        {ldexpf(1.0f + ldexpf(1.0f, -18), -75), ldexpf(1.0f - ldexpf(1.0f, -18), -75), ldexpf(3.0f, -149)},
        {x, y, -c},
        {3.0f, 1.0f / 3.0f, -1.0f},
        {INFINITY, 2.0f, 1.0f},
        {0.0f, INFINITY, 1.0f},
        {-0.0f, 1.0f, 0.0f},
        {1e30f, 1e30f, -INFINITY},
        {NAN, 1.0f, 2.0f},
    };
    const int n = (int)(sizeof cases / sizeof cases[0]);
    const int64_t N = 32; /* one full row of the widest tile, the cases repeated across it */
    lrp_real A[1] = {1.0f}, B[32], C[32], want[32];
    for (int i = 0; i < n; i++) {
        for (int level = 0; level <= 3; level++) {
            lrp_gemm_set_kernel(level);
            for (int64_t j = 0; j < N; j++) {
                A[0] = cases[i][0];
                B[j] = cases[i][1];
                C[j] = cases[i][2];
                want[j] = fmaf(cases[i][0], cases[i][1], cases[i][2]);
            }
            lrp_sgemm(false, false, 1, N, 1, 1.0f, A, 1, B, N, 1.0f, C, N);
            for (int64_t j = 0; j < N; j++)
                if (memcmp(&C[j], &want[j], sizeof(lrp_real)) && !(C[j] != C[j] && want[j] != want[j]))
                    fail_msg("case %d kernel %d: fma(%a, %a, %a) = %a, not %a", i, lrp_gemm_kernel(), cases[i][0],
                             cases[i][1], cases[i][2], C[j], want[j]);
        }
    }
    lrp_gemm_set_kernel(-1);
    /* the first case is a real double-rounding trap (so this test can fail) */
    assert_true(fmaf(x, y, c) != (float)((double)x * (double)y + (double)c));
}

static void test_sgemm_edges(void **state)
{
    (void)state;
    /* K = 0: C = beta C; M or N = 0: nothing */
    lrp_real c[6] = {1, 2, 3, 4, 5, 6};
    lrp_sgemm(false, false, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 2.0f, c, 3);
    assert_true(c[0] == 2.0f && c[5] == 12.0f);
    lrp_sgemm(false, false, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, c, 3);
    assert_true(c[0] == 0.0f && c[5] == 0.0f);
    c[0] = 7.0f;
    lrp_sgemm(false, false, 0, 3, 4, 1.0f, NULL, 4, NULL, 3, 0.0f, c, 3);
    lrp_sgemm(false, false, 2, 0, 4, 1.0f, NULL, 4, NULL, 1, 0.0f, c, 1);
    assert_true(c[0] == 7.0f);
}

/* One product of lrp_gemm_f64acc against the plain loop of double sums. */
static void check_f64acc(int64_t M, int64_t N, int64_t K)
{
    lrp_real *A = malloc(sizeof(lrp_real) * M * K), *B = malloc(sizeof(lrp_real) * K * N);
    double *want = malloc(sizeof(double) * M * N), *got = malloc(sizeof(double) * M * N);
    for (int64_t i = 0; i < M * K; i++)
        A[i] = rnd();
    for (int64_t i = 0; i < K * N; i++)
        B[i] = rnd();
    for (int tr = 0; tr < 2; tr++) {
        /* tr = 1: the same numbers with B stored transposed (N, K) */
        lrp_real *Bt = malloc(sizeof(lrp_real) * K * N);
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < N; j++)
                Bt[j * K + k] = B[k * N + j];
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0.0;
                for (int64_t k = 0; k < K; k++) {
                    double t = (double)A[i * K + k] * (double)B[k * N + j];
                    acc = acc + t;
                }
                want[i * N + j] = acc;
            }
        for (int level = 0; level <= 3; level++)
            for (int t = 1; t <= 3; t++) {
                lrp_gemm_set_kernel(level);
                lrp_set_threads(t);
                for (int64_t i = 0; i < M * N; i++)
                    got[i] = NAN; /* overwritten, never read */
                lrp_gemm_f64acc(false, tr, M, N, K, A, K, tr ? Bt : B, tr ? K : N, got, N);
                assert_memory_equal(got, want, sizeof(double) * M * N);
            }
        free(Bt);
    }
    lrp_gemm_set_kernel(-1);
    lrp_set_threads(1);
    free(A);
    free(B);
    free(want);
    free(got);
}

/* The double-accumulating product of float operands (the exact forward
 * pass) is the same construction: the plain loop of double sums of float
 * products, exactly, with transposes, at several thread counts and with
 * every micro-kernel (tiles of 12 rows, k blocks of 128, the transpose for
 * few columns). */
static void test_f64acc_is_the_k_order_sum(void **state)
{
    (void)state;
    check_f64acc(29, 41, 1030);
    check_f64acc(130, 49, 300);
    check_f64acc(13, 17, 257);
    check_f64acc(1, 33, 40);
    check_f64acc(75, 530, 129);
    check_f64acc(1, 530, 600); /* one row, streamed on AVX-512 (both layouts of B) */
    check_f64acc(1, 45, 7000);
}

/* The kernel levels: a request above what the CPU runs gives the best it has, -1 the best again. */
static void test_kernel_levels(void **state)
{
    (void)state;
    const int best = lrp_gemm_kernel();
    assert_true(best >= 0 && best <= 3);
    lrp_gemm_set_kernel(0);
    assert_int_equal(lrp_gemm_kernel(), 0);
    lrp_gemm_set_kernel(3);
    assert_int_equal(lrp_gemm_kernel(), best);
    assert_int_equal(lrp_gemm_set_kernel(-1), 3);
    assert_int_equal(lrp_gemm_kernel(), best);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgemm_is_the_k_order_sum),
        cmocka_unit_test(test_sgemm_fma_hard_cases),
        cmocka_unit_test(test_sgemm_edges),
        cmocka_unit_test(test_f64acc_is_the_k_order_sum),
        cmocka_unit_test(test_kernel_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
