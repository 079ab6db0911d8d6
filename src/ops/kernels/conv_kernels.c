/* im2col/col2im convolution through lrp_sgemm (gemm_kernels.h). */
#include "ops/kernels/conv_kernels.h"

#include "base/error.h"
#include "ops/op.h"

#include "ops/kernels/gemm_kernels.h"

#include <stdlib.h>
#include <string.h>

int64_t lrp_conv_out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pad_total)
{
    if (s <= 0 || d <= 0 || k <= 0)
        return 0;
    int64_t span = d * (k - 1) + 1;
    if (in + pad_total < span)
        return 0;
    return (in + pad_total - span) / s + 1;
}

/* True when the convolution reads x exactly as a (C, H*W) matrix. */
static int is_pointwise(const lrp_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 && g->OH == g->H &&
           g->OW == g->W;
}

/* col[(c*kh + i)*kw + j][oy*OW + ox] = x[c][oy*sh - ph + i*dh][ox*sw - pw + j*dw] (0 outside). */
static void im2col(const lrp_conv_geom *g, const lrp_real *x, int64_t C, lrp_real *col)
{
    const int64_t OH = g->OH, OW = g->OW, H = g->H, W = g->W;
    const int64_t rows = C * g->kh * g->kw;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (rows * OH * OW > 65536)
    for (int64_t r = 0; r < rows; r++) {
        int64_t c = r / (g->kh * g->kw), i = (r / g->kw) % g->kh, j = r % g->kw;
        const lrp_real *xc = x + c * H * W;
        lrp_real *dst = col + r * OH * OW;
        for (int64_t oy = 0; oy < OH; oy++) {
            int64_t iy = oy * g->sh - g->ph + i * g->dh;
            lrp_real *d = dst + oy * OW;
            if (iy < 0 || iy >= H) {
                memset(d, 0, sizeof(lrp_real) * (size_t)OW);
                continue;
            }
            const lrp_real *xr = xc + iy * W;
            int64_t ix0 = -g->pw + j * g->dw;
            if (g->sw == 1 && ix0 >= 0 && ix0 + OW <= W) {
                memcpy(d, xr + ix0, sizeof(lrp_real) * (size_t)OW);
                continue;
            }
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t ix = ox * g->sw + ix0;
                d[ox] = (ix >= 0 && ix < W) ? xr[ix] : 0.0f;
            }
        }
    }
}

/* x[c][...] += col[...]: the adjoint of im2col. Parallel over channels so that
 * every x element is summed by one thread in a fixed order. */
static void col2im(const lrp_conv_geom *g, const lrp_real *col, int64_t C, lrp_real *x)
{
    const int64_t OH = g->OH, OW = g->OW, H = g->H, W = g->W, kk = g->kh * g->kw;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (C * kk * OH * OW > 65536)
    for (int64_t c = 0; c < C; c++) {
        lrp_real *xc = x + c * H * W;
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                const lrp_real *src = col + ((c * g->kh + i) * g->kw + j) * OH * OW;
                for (int64_t oy = 0; oy < OH; oy++) {
                    int64_t iy = oy * g->sh - g->ph + i * g->dh;
                    if (iy < 0 || iy >= H)
                        continue;
                    lrp_real *xr = xc + iy * W;
                    const lrp_real *s = src + oy * OW;
                    int64_t ix0 = -g->pw + j * g->dw;
                    if (g->sw == 1 && ix0 >= 0 && ix0 + OW <= W) {
                        lrp_real *xd = xr + ix0;
                        for (int64_t ox = 0; ox < OW; ox++)
                            xd[ox] += s[ox];
                        continue;
                    }
                    for (int64_t ox = 0; ox < OW; ox++) {
                        int64_t ix = ox * g->sw + ix0;
                        if (ix >= 0 && ix < W)
                            xr[ix] += s[ox];
                    }
                }
            }
    }
}

/* im2col of the output rows [oy0, oy0+ny), all columns. */
static void im2col_rows(const lrp_conv_geom *g, const lrp_real *x, int64_t C, int64_t oy0, int64_t ny, lrp_real *col)
{
    const int64_t OW = g->OW, H = g->H, W = g->W, np = ny * OW;
    const int64_t rows = C * g->kh * g->kw;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (rows * np > 65536)
    for (int64_t r = 0; r < rows; r++) {
        int64_t c = r / (g->kh * g->kw), i = (r / g->kw) % g->kh, j = r % g->kw;
        const lrp_real *xc = x + c * H * W;
        lrp_real *dst = col + r * np;
        int64_t ix0 = -g->pw + j * g->dw;
        for (int64_t t = 0; t < ny; t++) {
            int64_t iy = (oy0 + t) * g->sh - g->ph + i * g->dh;
            lrp_real *d = dst + t * OW;
            if (iy < 0 || iy >= H) {
                for (int64_t ox = 0; ox < OW; ox++)
                    d[ox] = 0.0f;
                continue;
            }
            const lrp_real *xr = xc + iy * W;
            if (g->sw == 1 && ix0 >= 0 && ix0 + OW <= W) {
                const lrp_real *s = xr + ix0;
                for (int64_t ox = 0; ox < OW; ox++)
                    d[ox] = s[ox];
                continue;
            }
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t ix = ox * g->sw + ix0;
                d[ox] = (ix >= 0 && ix < W) ? xr[ix] : 0.0f;
            }
        }
    }
}

lrp_status lrp_conv2d_acc64(const lrp_conv_geom *g, const lrp_real *x, const lrp_real *W, const lrp_real *b,
                            lrp_real *y, lrp_error *err)
{
    const int64_t G = g->group, Cg = g->C / G, Mg = g->M / G;
    const int64_t K = Cg * g->kh * g->kw, P = g->OH * g->OW;
    /* whole output rows per tile, so that the buffers stay near 8 MB */
    int64_t ny = K * g->OW > 0 ? (int64_t)(8 << 20) / (4 * K * g->OW) : g->OH;
    if (ny < 1)
        ny = 1;
    if (ny > g->OH)
        ny = g->OH;
    int64_t tile = ny * g->OW;
    lrp_real *col = malloc(sizeof(lrp_real) * (size_t)(K * tile > 0 ? K * tile : 1));
    double *acc = malloc(sizeof(double) * (size_t)(Mg * tile > 0 ? Mg * tile : 1));
    if (!col || !acc) {
        free(col);
        free(acc);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a convolution buffer");
    }
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t gi = 0; gi < G; gi++) {
            const lrp_real *xg = x + (n * g->C + gi * Cg) * g->H * g->W;
            lrp_real *yg = y + (n * g->M + gi * Mg) * P;
            const lrp_real *Wg = W + gi * Mg * K;
            for (int64_t oy0 = 0; oy0 < g->OH; oy0 += ny) {
                int64_t rows = g->OH - oy0 < ny ? g->OH - oy0 : ny, np = rows * g->OW, p0 = oy0 * g->OW;
                im2col_rows(g, xg, Cg, oy0, rows, col);
                lrp_gemm_f64acc(false, false, Mg, np, K, Wg, K, col, np, acc, np);
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (Mg * np > 65536)
                for (int64_t m = 0; m < Mg; m++) {
                    double bv = b ? (double)b[gi * Mg + m] : 0.0;
                    const double *a = acc + m * np;
                    lrp_real *o = yg + m * P + p0;
                    for (int64_t q = 0; q < np; q++)
                        o[q] = (lrp_real)(a[q] + bv);
                }
            }
        }
    free(col);
    free(acc);
    return LRP_OK;
}

lrp_status lrp_conv2d(const lrp_conv_geom *g, const lrp_real *x, const lrp_real *W, const lrp_real *b, lrp_real *y,
                      lrp_error *err)
{
    const int64_t G = g->group, Cg = g->C / G, Mg = g->M / G;
    const int64_t K = Cg * g->kh * g->kw, P = g->OH * g->OW;
    const int point = is_pointwise(g);
    lrp_real *col = NULL;
    if (!point) {
        col = malloc(sizeof(lrp_real) * (size_t)(K * P > 0 ? K * P : 1));
        if (!col)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a convolution buffer of %lld floats",
                            (long long)(K * P));
    }
    for (int64_t n = 0; n < g->N; n++) {
        for (int64_t gi = 0; gi < G; gi++) {
            const lrp_real *xg = x + (n * g->C + gi * Cg) * g->H * g->W;
            lrp_real *yg = y + (n * g->M + gi * Mg) * P;
            const lrp_real *Wg = W + gi * Mg * K;
            if (b) {
                for (int64_t m = 0; m < Mg; m++) {
                    lrp_real bv = b[gi * Mg + m];
                    lrp_real *yr = yg + m * P;
                    for (int64_t p = 0; p < P; p++)
                        yr[p] = bv;
                }
            }
            const lrp_real *B = xg;
            if (!point) {
                im2col(g, xg, Cg, col);
                B = col;
            }
            lrp_sgemm(false, false, Mg, P, K, 1.0f, Wg, K, B, P, b ? 1.0f : 0.0f, yg, P);
        }
    }
    free(col);
    return LRP_OK;
}

lrp_status lrp_conv2d_t(const lrp_conv_geom *g, const lrp_real *gy, const lrp_real *W, lrp_real *gx, lrp_error *err)
{
    const int64_t G = g->group, Cg = g->C / G, Mg = g->M / G;
    const int64_t K = Cg * g->kh * g->kw, P = g->OH * g->OW;
    const int point = is_pointwise(g);
    lrp_real *col = NULL;
    if (!point) {
        col = malloc(sizeof(lrp_real) * (size_t)(K * P > 0 ? K * P : 1));
        if (!col)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a convolution buffer of %lld floats",
                            (long long)(K * P));
    }
    for (int64_t n = 0; n < g->N; n++) {
        for (int64_t gi = 0; gi < G; gi++) {
            lrp_real *xg = gx + (n * g->C + gi * Cg) * g->H * g->W;
            const lrp_real *yg = gy + (n * g->M + gi * Mg) * P;
            const lrp_real *Wg = W + gi * Mg * K;
            if (point) {
                lrp_sgemm(true, false, K, P, Mg, 1.0f, Wg, K, yg, P, 1.0f, xg, P);
            } else {
                lrp_sgemm(true, false, K, P, Mg, 1.0f, Wg, K, yg, P, 0.0f, col, P);
                col2im(g, col, Cg, xg);
            }
        }
    }
    free(col);
    return LRP_OK;
}
