/* The rules stack two weight sets into one convolution (lrp_sign_halves:
 * [W1; W2] as one weight of twice the output channels, sharing the input's
 * unfolding): that must give every element the bytes of the two products
 * run one by one, with a bias or without, at any batch and thread count,
 * with zeros of both signs among the operands. */
#include "testutil.h"

#include "ops/kernels/conv_kernels.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static float rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    unsigned v = (unsigned)(rng_state >> 40);
    if (v % 7 == 0)
        return 0.0f;
    if (v % 11 == 0)
        return -0.0f;
    return ((float)(v & 0xffff) / 65535.0f - 0.5f) * 3.0f;
}

static void test_stacked_conv_is_two_convs(void **state)
{
    int cases = 0;
    for (int it = 0; it < 200; it++) {
        lrp_conv_geom g = {0};
        g.N = 1;
        g.group = 1;
        g.C = 1 + it % 9;
        g.M = 1 + (int64_t)(rng_state % 41);
        rnd();
        g.H = 1 + (int64_t)(rng_state % 19);
        rnd();
        g.W = 1 + (int64_t)(rng_state % 23);
        rnd();
        g.kh = 1 + it % 4;
        g.kw = 1 + (it / 4) % 4;
        g.sh = 1 + (it % 5 == 0);
        g.sw = 1 + (it % 3 == 0);
        g.dh = 1 + (it % 11 == 0);
        g.dw = 1 + (it % 13 == 0);
        g.ph = it % 3;
        g.pw = (it / 3) % 3;
        g.OH = lrp_conv_out_size(g.H, g.kh, g.sh, g.dh, 2 * g.ph);
        g.OW = lrp_conv_out_size(g.W, g.kw, g.sw, g.dw, 2 * g.pw);
        if (g.OH <= 0 || g.OW <= 0)
            continue;
        cases++;
        const int64_t nx = g.C * g.H * g.W, ny = g.M * g.OH * g.OW, nw = g.M * g.C * g.kh * g.kw;
        float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)(2 * nw));
        float *b = malloc(sizeof(float) * (size_t)(2 * g.M)), *y = malloc(sizeof(float) * (size_t)(2 * ny));
        float *r = malloc(sizeof(float) * (size_t)(2 * ny));
        for (int64_t i = 0; i < nx; i++)
            x[i] = it % 2 ? rnd() : (rnd() > 0.0f ? 1.0f : 0.0f) * rnd();
        for (int64_t i = 0; i < 2 * nw; i++)
            w[i] = rnd();
        for (int64_t i = 0; i < 2 * g.M; i++)
            b[i] = rnd();
        lrp_error err = {0};
        for (int th = 1; th <= 2; th++) {
            lrp_set_threads(th);
            for (int wb = 0; wb < 2; wb++) {
                assert_int_equal(lrp_conv2d(&g, x, w, wb ? b : NULL, r, &err), LRP_OK);
                assert_int_equal(lrp_conv2d(&g, x, w + nw, wb ? b + g.M : NULL, r + ny, &err), LRP_OK);
                lrp_conv_geom g2 = g;
                g2.M = 2 * g.M;
                memset(y, 0xff, sizeof(float) * (size_t)(2 * ny));
                assert_int_equal(lrp_conv2d(&g2, x, w, wb ? b : NULL, y, &err), LRP_OK);
                assert_memory_equal(r, y, sizeof(float) * (size_t)(2 * ny));
            }
        }
        free(x);
        free(w);
        free(b);
        free(y);
        free(r);
    }
    assert_true(cases > 100);
    lrp_set_threads(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stacked_conv_is_two_convs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
