/* The direct grouped convolution kernels (ops/kernels/conv_grouped.c) must give
 * the bytes of one im2col + GEMM per group: every element summed in the
 * GEMM's order, checked against the plain loops of that order, on odd
 * geometries (strides, dilations, pads, Cg and Mg from 1 to 5, batches of
 * 1 to 3), with zeros of both signs among the operands, at 1 and 2
 * threads; and through lrp_conv2d, lrp_conv2d_acc64 and lrp_conv2d_t, which
 * pick them. Dense convolutions whose columns come in several bands too. */
#include "testutil.h"

#include "ops/op.h"
#include "ops/kernels/conv_grouped.h"
#include "ops/kernels/conv_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static float rnd(void)
{
    unsigned v = (unsigned)(next() >> 40);
    if (v % 7 == 0)
        return 0.0f;
    if (v % 11 == 0)
        return -0.0f;
    return ((float)(v & 0xffff) / 65535.0f - 0.5f) * 3.0f;
}

/* x[n][c][iy][ix], 0 outside */
static float at(const lrp_conv_geom *g, const float *x, int64_t n, int64_t c, int64_t iy, int64_t ix)
{
    if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W)
        return 0.0f;
    return x[((n * g->C + c) * g->H + iy) * g->W + ix];
}

/* The operands of a case: x (nx), w (nw), b (nb) and gy (ny) random; y, r (ny) and gx, gr (nx) to be written. */
typedef struct conv_case {
    float *x, *w, *b, *y, *r, *gy, *gx, *gr;
} conv_case;

static conv_case case_new(int64_t nx, int64_t nw, int64_t nb, int64_t ny)
{
    conv_case t = {malloc(sizeof(float) * (size_t)nx), malloc(sizeof(float) * (size_t)nw),
                   malloc(sizeof(float) * (size_t)nb), malloc(sizeof(float) * (size_t)ny),
                   malloc(sizeof(float) * (size_t)ny), malloc(sizeof(float) * (size_t)ny),
                   malloc(sizeof(float) * (size_t)nx), malloc(sizeof(float) * (size_t)nx)};
    assert_true(t.x && t.w && t.b && t.y && t.r && t.gy && t.gx && t.gr);
    for (int64_t i = 0; i < nx; i++)
        t.x[i] = rnd();
    for (int64_t i = 0; i < nw; i++)
        t.w[i] = rnd();
    for (int64_t i = 0; i < nb; i++)
        t.b[i] = rnd();
    for (int64_t i = 0; i < ny; i++)
        t.gy[i] = rnd();
    return t;
}

static void case_free(conv_case *t)
{
    float *p[] = {t->x, t->w, t->b, t->y, t->r, t->gy, t->gx, t->gr};
    for (int i = 0; i < 8; i++)
        free(p[i]);
}

static void test_grouped_is_the_gemm_order(void **state)
{
    int cases = 0;
    for (int it = 0; it < 400 && cases < 160; it++) {
        lrp_conv_geom g = {0};
        const int64_t G = 2 + (int64_t)(next() % 3), Cg = 1 + (int64_t)(next() % 5), Mg = 1 + (int64_t)(next() % 5);
        g.N = 1 + it % 3;
        g.group = G;
        g.C = G * Cg;
        g.M = G * Mg;
        g.H = 1 + (int64_t)(next() % 13);
        g.W = 1 + (int64_t)(next() % 29);
        g.kh = 1 + (int64_t)(next() % 4);
        g.kw = 1 + (int64_t)(next() % 4);
        g.sh = 1 + (it % 4 == 0) + (it % 9 == 0);
        g.sw = 1 + (it % 3 == 0);
        g.dh = 1 + (it % 5 == 0);
        g.dw = 1 + (it % 7 == 0);
        g.ph = (int64_t)(next() % 3);
        g.pw = (int64_t)(next() % 3);
        g.OH = lrp_conv_out_size(g.H, g.kh, g.sh, g.dh, 2 * g.ph);
        g.OW = lrp_conv_out_size(g.W, g.kw, g.sw, g.dw, 2 * g.pw);
        if (g.OH <= 0 || g.OW <= 0 || !lrp_conv_grouped_direct(&g))
            continue;
        cases++;
        const int64_t nx = g.N * g.C * g.H * g.W, ny = g.N * g.M * g.OH * g.OW, K = Cg * g.kh * g.kw;
        conv_case cs = case_new(nx, g.M * K, g.M, ny);
        float *x = cs.x, *w = cs.w, *b = cs.b, *y = cs.y, *r = cs.r, *gy = cs.gy, *gx = cs.gx, *gr = cs.gr;
        lrp_error err = {0};
        for (int th = 1; th <= 2; th++) {
            lrp_set_threads(th);
            for (int wb = 0; wb < 2; wb++)
                for (int exact = 0; exact < 2; exact++) {
                    for (int64_t n = 0; n < g.N; n++)
                        for (int64_t m = 0; m < g.M; m++)
                            for (int64_t oy = 0; oy < g.OH; oy++)
                                for (int64_t ox = 0; ox < g.OW; ox++) {
                                    const int64_t gi = m / Mg;
                                    float fa = wb ? b[m] : 0.0f;
                                    double da = 0.0;
                                    for (int64_t c = 0; c < Cg; c++)
                                        for (int64_t i = 0; i < g.kh; i++)
                                            for (int64_t j = 0; j < g.kw; j++) {
                                                float xv = at(&g, x, n, gi * Cg + c, oy * g.sh - g.ph + i * g.dh,
                                                              ox * g.sw - g.pw + j * g.dw);
                                                float wv = w[m * K + (c * g.kh + i) * g.kw + j];
                                                float t = wv * xv;
                                                double dt = (double)wv * (double)xv;
                                                fa = fa + t;
                                                da = da + dt;
                                            }
                                    r[((n * g.M + m) * g.OH + oy) * g.OW + ox] =
                                        exact ? (float)(da + (wb ? (double)b[m] : 0.0)) : fa;
                                }
                    memset(y, 0x7f, sizeof(float) * (size_t)ny);
                    if (exact)
                        assert_int_equal(lrp_conv2d_acc64(&g, x, w, wb ? b : NULL, y, &err), LRP_OK);
                    else
                        assert_int_equal(lrp_conv2d(&g, x, w, wb ? b : NULL, y, &err), LRP_OK);
                    assert_memory_equal(r, y, sizeof(float) * (size_t)ny);
                }
            /* transposed: gx += (0 + Σ_m w gy), tap by tap, from a start with zeros of both signs (or all +0) */
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
                                    const int64_t gi = c / Cg, k = ((c % Cg) * g.kh + i) * g.kw + j;
                                    float t = 0.0f;
                                    for (int64_t m = gi * Mg; m < (gi + 1) * Mg; m++)
                                        t = t + w[m * K + k] * gy[((n * g.M + m) * g.OH + oy) * g.OW + ox];
                                    float *d = gr + ((n * g.C + c) * g.H + iy) * g.W + ix;
                                    *d = *d + t;
                                }
            assert_int_equal(lrp_conv2d_t(&g, gy, w, gx, &err), LRP_OK);
            assert_memory_equal(gr, gx, sizeof(float) * (size_t)nx);
        }
        case_free(&cs);
    }
    assert_true(cases > 100);
    lrp_set_threads(1);
}

/* ResNeXt's shapes (32 groups of 4 to 32 channels, 3 x 3, strides 1 and 2) against the plain loops. */
static void test_grouped_resnext_shapes(void **state)
{
    static const int64_t shapes[][4] = {{128, 14, 1, 1}, {256, 14, 2, 2}, {512, 7, 1, 1}, {1024, 5, 2, 1}};
    for (int s = 0; s < 4; s++) {
        lrp_conv_geom g = {.N = shapes[s][3],
                           .C = shapes[s][0],
                           .M = shapes[s][0],
                           .H = shapes[s][1],
                           .W = shapes[s][1],
                           .kh = 3,
                           .kw = 3,
                           .sh = shapes[s][2],
                           .sw = shapes[s][2],
                           .dh = 1,
                           .dw = 1,
                           .ph = 1,
                           .pw = 1,
                           .group = 32};
        g.OH = lrp_conv_out_size(g.H, 3, g.sh, 1, 2);
        g.OW = lrp_conv_out_size(g.W, 3, g.sw, 1, 2);
        assert_true(lrp_conv_grouped_direct(&g));
        const int64_t Cg = g.C / 32, Mg = g.M / 32, K = Cg * 9, nx = g.N * g.C * g.H * g.W,
                      ny = g.N * g.M * g.OH * g.OW;
        conv_case cs = case_new(nx, g.M * K, g.M, ny);
        float *x = cs.x, *w = cs.w, *b = cs.b, *y = cs.y, *r = cs.r, *gx = cs.gx, *gr = cs.gr;
        memset(gx, 0, sizeof(float) * (size_t)nx);
        memset(gr, 0, sizeof(float) * (size_t)nx);
        lrp_error err = {0};
        lrp_set_threads(2);
        for (int64_t n = 0; n < g.N; n++)
            for (int64_t m = 0; m < g.M; m++)
                for (int64_t oy = 0; oy < g.OH; oy++)
                    for (int64_t ox = 0; ox < g.OW; ox++) {
                        float fa = b[m];
                        for (int64_t c = 0; c < Cg; c++)
                            for (int64_t i = 0; i < 3; i++)
                                for (int64_t j = 0; j < 3; j++) {
                                    float t = w[m * K + (c * 3 + i) * 3 + j] *
                                              at(&g, x, n, (m / Mg) * Cg + c, oy * g.sh - 1 + i, ox * g.sw - 1 + j);
                                    fa = fa + t;
                                }
                        r[((n * g.M + m) * g.OH + oy) * g.OW + ox] = fa;
                    }
        assert_int_equal(lrp_conv2d(&g, x, w, b, y, &err), LRP_OK);
        assert_memory_equal(r, y, sizeof(float) * (size_t)ny);
        /* the transposed product of y */
        for (int64_t n = 0; n < g.N; n++)
            for (int64_t c = 0; c < g.C; c++)
                for (int64_t i = 0; i < 3; i++)
                    for (int64_t j = 0; j < 3; j++)
                        for (int64_t oy = 0; oy < g.OH; oy++)
                            for (int64_t ox = 0; ox < g.OW; ox++) {
                                int64_t iy = oy * g.sh - 1 + i, ix = ox * g.sw - 1 + j;
                                if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W)
                                    continue;
                                const int64_t gi = c / Cg, k = ((c % Cg) * 3 + i) * 3 + j;
                                float t = 0.0f;
                                for (int64_t m = gi * Mg; m < (gi + 1) * Mg; m++)
                                    t = t + w[m * K + k] * y[((n * g.M + m) * g.OH + oy) * g.OW + ox];
                                float *d = gr + ((n * g.C + c) * g.H + iy) * g.W + ix;
                                *d = *d + t;
                            }
        assert_int_equal(lrp_conv2d_t(&g, y, w, gx, &err), LRP_OK);
        assert_memory_equal(gr, gx, sizeof(float) * (size_t)nx);
        case_free(&cs);
    }
    lrp_set_threads(1);
}

/* Dense convolutions wide enough that their im2col columns come in several bands of output rows (about 8 MB
 * each, conv_kernels.c): lrp_conv2d, lrp_conv2d_acc64 and lrp_conv2d_t against the plain loops of the GEMM's order
 * (each element's fused multiply-add chain over k from the bias or +0; the transposed product's taps added into each
 * input element in (i, j) order), with strides, dilations and pads, at 1 and 2 threads. */
static void test_dense_bands_are_one_product(void **state)
{
    const int64_t geo[][6] = {/* H, W, stride, dilation, pad, M */ {8, 1000, 1, 1, 1, 3}, {17, 2401, 2, 2, 2, 2}};
    for (int gk = 0; gk < 2; gk++) {
        lrp_conv_geom g = {0};
        g.N = 1, g.group = 1, g.C = 64, g.M = geo[gk][5], g.H = geo[gk][0], g.W = geo[gk][1], g.kh = g.kw = 3;
        g.sh = g.sw = geo[gk][2], g.dh = g.dw = geo[gk][3], g.ph = g.pw = geo[gk][4];
        g.OH = lrp_conv_out_size(g.H, g.kh, g.sh, g.dh, 2 * g.ph);
        g.OW = lrp_conv_out_size(g.W, g.kw, g.sw, g.dw, 2 * g.pw);
        const int64_t K = g.C * g.kh * g.kw, nx = g.C * g.H * g.W, ny = g.M * g.OH * g.OW;
        /* more than one band: more than 8 MB of columns */
        assert_true((double)K * (double)(g.OH * g.OW) * sizeof(float) > (double)(8 << 20));
        conv_case cs = case_new(nx, g.M * K, g.M, ny);
        float *x = cs.x, *w = cs.w, *b = cs.b, *y = cs.y, *r = cs.r, *gy = cs.gy, *gx = cs.gx, *gr = cs.gr;
        lrp_error err = {0};
        for (int th = 1; th <= 2; th++) {
            lrp_set_threads(th);
            for (int wb = 0; wb < 2; wb++)
                for (int exact = 0; exact < 2; exact++) {
                    for (int64_t m = 0; m < g.M; m++)
                        for (int64_t oy = 0; oy < g.OH; oy++)
                            for (int64_t ox = 0; ox < g.OW; ox++) {
                                float fa = wb ? b[m] : 0.0f;
                                double da = 0.0;
                                for (int64_t c = 0; c < g.C; c++)
                                    for (int64_t i = 0; i < g.kh; i++)
                                        for (int64_t j = 0; j < g.kw; j++) {
                                            float xv = at(&g, x, 0, c, oy * g.sh - g.ph + i * g.dh,
                                                          ox * g.sw - g.pw + j * g.dw);
                                            float wv = w[m * K + (c * g.kh + i) * g.kw + j];
                                            fa = fmaf(wv, xv, fa);
                                            da = da + (double)wv * (double)xv;
                                        }
                                r[(m * g.OH + oy) * g.OW + ox] = exact ? (float)(da + (wb ? (double)b[m] : 0.0)) : fa;
                            }
                    memset(y, 0x7f, sizeof(float) * (size_t)ny);
                    if (exact)
                        assert_int_equal(lrp_conv2d_acc64(&g, x, w, wb ? b : NULL, y, &err), LRP_OK);
                    else
                        assert_int_equal(lrp_conv2d(&g, x, w, wb ? b : NULL, y, &err), LRP_OK);
                    assert_memory_equal(r, y, sizeof(float) * (size_t)ny);
                }
            for (int64_t i = 0; i < nx; i++)
                gx[i] = gr[i] = rnd();
            for (int64_t c = 0; c < g.C; c++)
                for (int64_t i = 0; i < g.kh; i++)
                    for (int64_t j = 0; j < g.kw; j++)
                        for (int64_t oy = 0; oy < g.OH; oy++)
                            for (int64_t ox = 0; ox < g.OW; ox++) {
                                int64_t iy = oy * g.sh - g.ph + i * g.dh, ix = ox * g.sw - g.pw + j * g.dw;
                                if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W)
                                    continue;
                                const int64_t k = (c * g.kh + i) * g.kw + j;
                                float t = 0.0f;
                                for (int64_t m = 0; m < g.M; m++)
                                    t = fmaf(w[m * K + k], gy[(m * g.OH + oy) * g.OW + ox], t);
                                float *d = gr + (c * g.H + iy) * g.W + ix;
                                *d = *d + t;
                            }
            assert_int_equal(lrp_conv2d_t(&g, gy, w, gx, &err), LRP_OK);
            assert_memory_equal(gr, gx, sizeof(float) * (size_t)nx);
        }
        case_free(&cs);
    }
    lrp_set_threads(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouped_is_the_gemm_order),
        cmocka_unit_test(test_grouped_resnext_shapes),
        cmocka_unit_test(test_dense_bands_are_one_product),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
