/* The direct depthwise convolution kernels must give the im2col path's bytes:
 * each element summed in the GEMM's order (conv_kernels.c), the double sums
 * of the exact forward pass too (fused multiply-adds where the CPU has them,
 * the same bits as the plain loop's separate ones), against the plain
 * definitions, with zeros of both signs among the operands, at 1 and 2
 * threads. */
#include "testutil.h"

#include "ops/op.h"
#include "ops/kernels/conv_kernels.h"
#include "ops/kernels/gemm_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
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

/* x at (c, iy, ix), 0 outside: what im2col reads. */
static float at(const lrp_conv_geom *g, const float *x, int64_t c, int64_t iy, int64_t ix)
{
    return iy >= 0 && iy < g->H && ix >= 0 && ix < g->W ? x[(c * g->H + iy) * g->W + ix] : 0.0f;
}

static void test_depthwise_is_the_gemm_order(void **state)
{
    int cases = 0;
    for (int it = 0; it < 300 && cases < 150; it++) {
        lrp_conv_geom g = {0};
        g.N = 1 + it % 2;
        g.C = g.M = g.group = 2 + it % 5;
        g.H = 1 + (int64_t)(rng_state % 17);
        rnd();
        g.W = 1 + (int64_t)(rng_state % 37);
        rnd();
        g.kh = 1 + it % 7;
        g.kw = 1 + (it / 7) % 7;
        g.sh = 1 + (it % 5 == 0);
        g.sw = 1 + (it % 3 == 0);
        g.dh = 1 + (it % 11 == 0);
        g.dw = 1 + (it % 13 == 0);
        g.ph = it % 4;
        g.pw = (it / 4) % 4;
        g.OH = lrp_conv_out_size(g.H, g.kh, g.sh, g.dh, 2 * g.ph);
        g.OW = lrp_conv_out_size(g.W, g.kw, g.sw, g.dw, 2 * g.pw);
        if (g.OH <= 0 || g.OW <= 0 || (g.kh == 1 && g.kw == 1))
            continue;
        cases++;
        const int64_t nx = g.N * g.C * g.H * g.W, ny = g.N * g.M * g.OH * g.OW, kk = g.kh * g.kw;
        float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)(g.M * kk));
        float *b = malloc(sizeof(float) * (size_t)g.M), *y = malloc(sizeof(float) * (size_t)ny);
        float *r = malloc(sizeof(float) * (size_t)ny), *gy = malloc(sizeof(float) * (size_t)ny);
        float *gx = malloc(sizeof(float) * (size_t)nx), *gr = malloc(sizeof(float) * (size_t)nx);
        for (int64_t i = 0; i < nx; i++)
            x[i] = rnd();
        for (int64_t i = 0; i < g.M * kk; i++)
            w[i] = rnd();
        for (int64_t i = 0; i < g.M; i++)
            b[i] = rnd();
        for (int64_t i = 0; i < ny; i++)
            gy[i] = rnd();
        lrp_error err = {0};
        for (int th = 1; th <= 2; th++) {
            lrp_set_threads(th);
            for (int wb = 0; wb < 2; wb++)
                for (int exact = 0; exact < 2; exact++) {
                    for (int64_t n = 0; n < g.N; n++)
                        for (int64_t c = 0; c < g.C; c++)
                            for (int64_t oy = 0; oy < g.OH; oy++)
                                for (int64_t ox = 0; ox < g.OW; ox++) {
                                    float fa = wb ? b[c] : 0.0f;
                                    double da = 0.0;
                                    for (int64_t i = 0; i < g.kh; i++)
                                        for (int64_t j = 0; j < g.kw; j++) {
                                            float xv = at(&g, x + n * g.C * g.H * g.W, c, oy * g.sh - g.ph + i * g.dh,
                                                          ox * g.sw - g.pw + j * g.dw);
                                            float t = w[c * kk + i * g.kw + j] * xv;
                                            double dt = (double)w[c * kk + i * g.kw + j] * (double)xv;
                                            fa = fa + t;
                                            da = da + dt;
                                        }
                                    r[((n * g.C + c) * g.OH + oy) * g.OW + ox] =
                                        exact ? (float)(da + (wb ? (double)b[c] : 0.0)) : fa;
                                }
                    if (exact)
                        assert_int_equal(lrp_conv2d_acc64(&g, x, w, wb ? b : NULL, y, &err), LRP_OK);
                    else
                        assert_int_equal(lrp_conv2d(&g, x, w, wb ? b : NULL, y, &err), LRP_OK);
                    assert_memory_equal(r, y, sizeof(float) * (size_t)ny);
                }
            /* transposed: gx += (0 + w gy), tap by tap, from a start with zeros of both signs (and all +0) */
            for (int64_t i = 0; i < nx; i++)
                gx[i] = gr[i] = it % 3 ? rnd() : 0.0f;
            for (int64_t n = 0; n < g.N; n++)
                for (int64_t c = 0; c < g.C; c++)
                    for (int64_t i = 0; i < g.kh; i++)
                        for (int64_t j = 0; j < g.kw; j++)
                            for (int64_t oy = 0; oy < g.OH; oy++)
                                for (int64_t ox = 0; ox < g.OW; ox++) {
                                    int64_t iy = oy * g.sh - g.ph + i * g.dh, ix = ox * g.sw - g.pw + j * g.dw;
                                    if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W)
                                        continue;
                                    float t = w[c * kk + i * g.kw + j] * gy[((n * g.C + c) * g.OH + oy) * g.OW + ox];
                                    float *d = gr + ((n * g.C + c) * g.H + iy) * g.W + ix;
                                    *d = *d + (0.0f + t);
                                }
            assert_int_equal(lrp_conv2d_t(&g, gy, w, gx, &err), LRP_OK);
            assert_memory_equal(gr, gx, sizeof(float) * (size_t)nx);
        }
        free(x);
        free(w);
        free(b);
        free(y);
        free(r);
        free(gy);
        free(gx);
        free(gr);
    }
    assert_true(cases > 50);
    lrp_set_threads(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depthwise_is_the_gemm_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
