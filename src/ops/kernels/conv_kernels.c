/* im2col/col2im convolution through lrp_sgemm (gemm_kernels.h). */
#include "ops/kernels/conv_kernels.h"

#include "base/error.h"
#include "base/tensor.h"
#include "ops/op.h"

#include "ops/kernels/conv_grouped.h"
#include "ops/kernels/gemm_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#define THREAD_NUM() omp_get_thread_num()
#else
#define THREAD_NUM() 0
#endif

/* The im2col columns of a product (forward, double-accumulated and transposed) cover bands of whole output rows of
 * about this many bytes. Any size gives the same bytes (each element's sum and col2im's order do not depend on it):
 * build with -DCONV_BAND_BYTES=1 (one row per band) to check that by hand against tests/cross-kernel-check. */
#ifndef CONV_BAND_BYTES
#define CONV_BAND_BYTES (8 << 20)
#endif

/* The output rows of a band: as many whole rows as CONV_BAND_BYTES of columns hold (K of them per output
 * position), at least one, at most all; all of them where no columns are made (point). */
static int64_t band_rows(const lrp_conv_geom *g, int64_t K, int point)
{
    int64_t ny = K * g->OW > 0 ? (int64_t)CONV_BAND_BYTES / ((int64_t)sizeof(lrp_real) * K * g->OW) : g->OH;
    return point ? g->OH : ny < 1 ? 1 : ny > g->OH ? g->OH : ny;
}

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

/* x[c][...] += col[...] for the output rows [oy0, oy0 + ny): the adjoint of
 * im2col_rows, col's rows ld apart (ny * OW for a matrix of its own).
 * Parallel over channels so that every x element is summed by one thread in
 * a fixed order: tap (i, j) by tap. An element takes tap i from output row
 * (iy + ph - i dh) / sh, so that, for bands of rows added from the last band
 * to the first, it still takes its taps in that order. */
static void col2im_rows(const lrp_conv_geom *g, const lrp_real *col, int64_t ld, int64_t C, int64_t oy0, int64_t ny,
                        lrp_real *x)
{
    const int64_t OW = g->OW, H = g->H, W = g->W, kk = g->kh * g->kw;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (C * kk * ny * OW > 65536)
    for (int64_t c = 0; c < C; c++) {
        lrp_real *xc = x + c * H * W;
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                const lrp_real *src = col + ((c * g->kh + i) * g->kw + j) * ld;
                for (int64_t oy = oy0; oy < oy0 + ny; oy++) {
                    int64_t iy = oy * g->sh - g->ph + i * g->dh;
                    if (iy < 0 || iy >= H)
                        continue;
                    lrp_real *xr = xc + iy * W;
                    const lrp_real *s = src + (oy - oy0) * OW;
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

/* The whole matrix (every output row). */
static void col2im(const lrp_conv_geom *g, const lrp_real *col, int64_t ld, int64_t C, lrp_real *x)
{
    col2im_rows(g, col, ld, C, 0, g->OH, x);
}

/* im2col of the output rows [oy0, oy0+ny), all columns: col[(c*kh + i)*kw + j][t*OW + ox] =
 * x[c][(oy0 + t)*sh - ph + i*dh][ox*sw - pw + j*dw] (0 outside). */
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

/* ------------------------------------------------------------ depthwise
 * A depthwise convolution (one input and one output channel per group) is one
 * GEMM per channel with a single row (or, transposed, a single column): the
 * kernels below compute the same elements directly, each in the order the
 * GEMM sums it (c0, then the taps (i, j) in order, the padding's zeros
 * included, every product and sum rounded on its own), so the bytes are those
 * of the im2col path; only the speed changes. Every channel is computed by one
 * thread, whatever the thread count. */

/* Whether the direct kernels apply: Cg = Mg = 1, no negative pads, and lrp's
 * own GEMM (OpenBLAS sums in its own order). Strided ones (columns, and rows
 * too for the transposed product) go to the grouped kernels (conv_grouped.c),
 * which read every tap contiguously from phase planes: the same sums. */
static int is_depthwise(const lrp_conv_geom *g)
{
    return g->group > 1 && g->C == g->group && g->M == g->group && g->ph >= 0 && g->pw >= 0 && !is_pointwise(g) &&
           !lrp_exec_ctx.openblas;
}

/* The padded input plane the taps read: rows and columns from -ph, -pw. */
static void dw_padded_size(const lrp_conv_geom *g, int64_t *hp, int64_t *wp)
{
    *hp = (g->OH - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    *wp = (g->OW - 1) * g->sw + (g->kw - 1) * g->dw + 1;
}

/* xp (hp, wp) = the plane x (H, W) shifted by (ph, pw), 0 outside. */
static void dw_pad(const lrp_conv_geom *g, const lrp_real *x, int64_t hp, int64_t wp, lrp_real *xp)
{
    /* columns [pw, pw + W) of a row hold x's row (as far as wp reaches), zeros around */
    const int64_t q0 = g->pw < wp ? g->pw : wp, q1 = g->pw + g->W < wp ? g->pw + g->W : wp;
    for (int64_t r = 0; r < hp; r++) {
        int64_t iy = r - g->ph;
        lrp_real *d = xp + r * wp;
        if (iy < 0 || iy >= g->H) {
            memset(d, 0, sizeof(lrp_real) * (size_t)wp);
            continue;
        }
        for (int64_t q = 0; q < q0; q++)
            d[q] = 0.0f;
        if (q1 > q0)
            memcpy(d + q0, x + iy * g->W, sizeof(lrp_real) * (size_t)(q1 - q0));
        for (int64_t q = q1 > q0 ? q1 : q0; q < wp; q++)
            d[q] = 0.0f;
    }
}

/* Output columns computed together: one block of sums held in registers
 * while the taps run (lanes past the row are computed and dropped). */
#define DW_LANES 16
#define DW_NV (DW_LANES / 8)
typedef lrp_real dw_vec __attribute__((vector_size(8 * sizeof(lrp_real))));
/* the same vector at any float address (an unaligned load) */
typedef lrp_real dw_uvec __attribute__((vector_size(8 * sizeof(lrp_real)), aligned(sizeof(lrp_real)), may_alias));

/* AVX2 copies of the plane kernels beside the baseline ones, picked at run
 * time as the GEMM picks its micro-kernel: the vectors run across output
 * columns, so the width changes nothing but the speed. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LRP_GEMM_BASELINE)
#define DW_AVX2 1
#define dw_use_avx2 lrp_cpu_avx2
#else
#define DW_AVX2 0
#endif

/* One plane of y = c0 + Σ w[i][j] xp[...] with stride 1 in x; xp has
 * DW_LANES readable floats past its end. */
static inline __attribute__((always_inline)) void dw_plane_body(const lrp_conv_geom *g, const lrp_real *xp, int64_t wp,
                                                                const lrp_real *w, lrp_real c0, lrp_real *y)
{
    const int64_t OH = g->OH, OW = g->OW;
    for (int64_t oy = 0; oy < OH; oy++)
        for (int64_t ox0 = 0; ox0 < OW; ox0 += DW_LANES) {
            dw_vec acc[DW_NV];
            for (int v = 0; v < DW_NV; v++)
                acc[v] = c0 - (dw_vec){0}; /* a splat, exact (also for -0) */
            for (int64_t i = 0; i < g->kh; i++) {
                const lrp_real *row = xp + (oy * g->sh + i * g->dh) * wp + ox0;
                for (int64_t j = 0; j < g->kw; j++) {
                    const dw_vec wv = w[i * g->kw + j] - (dw_vec){0};
                    const lrp_real *sr = row + j * g->dw;
                    for (int v = 0; v < DW_NV; v++) {
                        dw_vec t = wv * *(const dw_uvec *)(sr + 8 * v);
                        acc[v] = acc[v] + t;
                    }
                }
            }
            int64_t n = OW - ox0 < DW_LANES ? OW - ox0 : DW_LANES;
            memcpy(y + oy * OW + ox0, acc, sizeof(lrp_real) * (size_t)n);
        }
}

static void dw_plane_base(const lrp_conv_geom *g, const lrp_real *xp, int64_t wp, const lrp_real *w, lrp_real c0,
                          lrp_real *y)
{
    dw_plane_body(g, xp, wp, w, c0, y);
}

#if DW_AVX2
__attribute__((target("avx2"))) static void dw_plane_avx2(const lrp_conv_geom *g, const lrp_real *xp, int64_t wp,
                                                          const lrp_real *w, lrp_real c0, lrp_real *y)
{
    dw_plane_body(g, xp, wp, w, c0, y);
}
#endif

/* Float sums (lrp_conv2d): y = c0 + Σ w[i][j] xp[...], c0 the bias or +0. */
static lrp_status dw_conv(const lrp_conv_geom *g, const lrp_real *x, const lrp_real *W, const lrp_real *b, lrp_real *y,
                          lrp_error *err)
{
    int64_t hp, wp;
    dw_padded_size(g, &hp, &wp);
    const int64_t planes = g->N * g->C, OH = g->OH, OW = g->OW, kk = g->kh * g->kw;
    const int nth = lrp_num_threads > 0 ? lrp_num_threads : 1;
    const size_t per = (size_t)(hp * wp) + DW_LANES;
    lrp_real *buf = calloc(per * (size_t)nth, sizeof(lrp_real));
    if (!buf)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a convolution buffer");
    void (*plane)(const lrp_conv_geom *, const lrp_real *, int64_t, const lrp_real *, lrp_real, lrp_real *) =
        dw_plane_base;
#if DW_AVX2
    if (dw_use_avx2())
        plane = dw_plane_avx2;
#endif
#pragma omp parallel for schedule(static) num_threads(nth) if (planes * OH * OW * kk > 65536 && nth > 1)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t c = pl % g->C;
        lrp_real *xp = buf + per * (size_t)THREAD_NUM();
        dw_pad(g, x + pl * g->H * g->W, hp, wp, xp);
        const lrp_real *w = W + c * kk;
        const lrp_real c0 = b ? b[c] : 0.0f;
        if (g->sw == 1) {
            plane(g, xp, wp, w, c0, y + pl * OH * OW);
            continue;
        }
        for (int64_t oy = 0; oy < OH; oy++) {
            lrp_real *o = y + pl * OH * OW + oy * OW;
            for (int64_t ox = 0; ox < OW; ox++)
                o[ox] = c0;
            for (int64_t i = 0; i < g->kh; i++) {
                const lrp_real *row = xp + (oy * g->sh + i * g->dh) * wp;
                for (int64_t j = 0; j < g->kw; j++) {
                    const lrp_real wv = w[i * g->kw + j];
                    const lrp_real *sr = row + j * g->dw;
                    for (int64_t ox = 0; ox < OW; ox++)
                        o[ox] = o[ox] + wv * sr[ox * g->sw];
                }
            }
        }
    }
    free(buf);
    return LRP_OK;
}

/* Double sums (lrp_conv2d_acc64): y = (float)((0 + Σ w x) + b). */
/* One plane of the double sums with stride 1 in x: y = (float)((0 + Σ w x) + b),
 * DW_LANES columns at a time in double vectors. */
typedef double dw_dvec __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) void
dw_plane64_body(const lrp_conv_geom *g, const lrp_real *xp, int64_t wp, const lrp_real *w, double bv, lrp_real *y)
{
    const int64_t OH = g->OH, OW = g->OW;
    for (int64_t oy = 0; oy < OH; oy++)
        for (int64_t ox0 = 0; ox0 < OW; ox0 += DW_LANES) {
            dw_dvec acc[DW_LANES / 4];
            for (int v = 0; v < DW_LANES / 4; v++)
                acc[v] = (dw_dvec){0};
            for (int64_t i = 0; i < g->kh; i++) {
                const lrp_real *row = xp + (oy * g->sh + i * g->dh) * wp + ox0;
                for (int64_t j = 0; j < g->kw; j++) {
                    const dw_dvec wv = (double)w[i * g->kw + j] - (dw_dvec){0};
                    const lrp_real *sr = row + j * g->dw;
                    for (int v = 0; v < DW_LANES / 4; v++) {
                        dw_dvec xv = {sr[4 * v], sr[4 * v + 1], sr[4 * v + 2], sr[4 * v + 3]};
                        dw_dvec t = wv * xv;
                        acc[v] = acc[v] + t;
                    }
                }
            }
            double out[DW_LANES];
            memcpy(out, acc, sizeof out);
            int64_t n = OW - ox0 < DW_LANES ? OW - ox0 : DW_LANES;
            lrp_real *o = y + oy * OW + ox0;
            for (int64_t t = 0; t < n; t++)
                o[t] = (lrp_real)(out[t] + bv);
        }
}

static void dw_plane64_base(const lrp_conv_geom *g, const lrp_real *xp, int64_t wp, const lrp_real *w, double bv,
                            lrp_real *y)
{
    dw_plane64_body(g, xp, wp, w, bv, y);
}

#if DW_AVX2
__attribute__((target("avx2"))) static void dw_plane64_avx2(const lrp_conv_geom *g, const lrp_real *xp, int64_t wp,
                                                            const lrp_real *w, double bv, lrp_real *y)
{
    dw_plane64_body(g, xp, wp, w, bv, y);
}
#if !defined(LRP_REAL_DOUBLE) && !defined(__clang__)
/* With fused multiply-adds: the same bits, as the product of two floats is
 * exact in double (see FUSE_EXACT in gemm_kernels.c). */
#define DW_FMA 1
__attribute__((target("avx2,fma"), optimize("fp-contract=fast"))) static void
dw_plane64_fma(const lrp_conv_geom *g, const lrp_real *xp, int64_t wp, const lrp_real *w, double bv, lrp_real *y)
{
    dw_plane64_body(g, xp, wp, w, bv, y);
}
static int dw_use_fma(void)
{
    static int v = -1; /* a benign race: every thread stores the same value */
    if (v < 0)
        v = lrp_cpu_avx2() && __builtin_cpu_supports("fma") ? 1 : 0;
    return v && lrp_gemm_kernel() > 0; /* LRP_GEMM_KERNEL=baseline: the plain kernel, for cross-checks */
}
#endif
#endif

static lrp_status dw_conv_acc64(const lrp_conv_geom *g, const lrp_real *x, const lrp_real *W, const lrp_real *b,
                                lrp_real *y, lrp_error *err)
{
    int64_t hp, wp;
    dw_padded_size(g, &hp, &wp);
    const int64_t planes = g->N * g->C, OH = g->OH, OW = g->OW, kk = g->kh * g->kw;
    const int nth = lrp_num_threads > 0 ? lrp_num_threads : 1;
    const size_t per = (size_t)(hp * wp) + DW_LANES;
    lrp_real *buf = calloc(per * (size_t)nth, sizeof(lrp_real));
    double *abuf = malloc(sizeof(double) * (size_t)OW * (size_t)nth);
    if (!buf || !abuf) {
        free(buf);
        free(abuf);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a convolution buffer");
    }
    void (*plane)(const lrp_conv_geom *, const lrp_real *, int64_t, const lrp_real *, double, lrp_real *) =
        dw_plane64_base;
#if DW_AVX2
    if (dw_use_avx2())
        plane = dw_plane64_avx2;
#ifdef DW_FMA
    if (dw_use_fma())
        plane = dw_plane64_fma;
#endif
#endif
#pragma omp parallel for schedule(static) num_threads(nth) if (planes * OH * OW * kk > 65536 && nth > 1)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t c = pl % g->C;
        lrp_real *xp = buf + per * (size_t)THREAD_NUM();
        double *acc = abuf + (size_t)OW * (size_t)THREAD_NUM();
        dw_pad(g, x + pl * g->H * g->W, hp, wp, xp);
        const lrp_real *w = W + c * kk;
        const double bv = b ? (double)b[c] : 0.0;
        if (g->sw == 1) {
            plane(g, xp, wp, w, bv, y + pl * OH * OW);
            continue;
        }
        for (int64_t oy = 0; oy < OH; oy++) {
            for (int64_t ox = 0; ox < OW; ox++)
                acc[ox] = 0.0;
            for (int64_t i = 0; i < g->kh; i++) {
                const lrp_real *row = xp + (oy * g->sh + i * g->dh) * wp;
                for (int64_t j = 0; j < g->kw; j++) {
                    const double wv = (double)w[i * g->kw + j];
                    const lrp_real *s = row + j * g->dw;
                    for (int64_t ox = 0; ox < OW; ox++)
                        acc[ox] = acc[ox] + wv * (double)s[ox * g->sw];
                }
            }
            lrp_real *o = y + pl * OH * OW + oy * OW;
            for (int64_t ox = 0; ox < OW; ox++)
                o[ox] = (lrp_real)(acc[ox] + bv);
        }
    }
    free(buf);
    free(abuf);
    return LRP_OK;
}

/* The transposed product of one plane by gathering, for stride 1: a cell of
 * gx takes, tap by tap in order, 0 + w[i][j] gy at the output the tap
 * reads it from. gyp holds gy's rows shifted right by L = (kw-1) dw with
 * zeros around, so that a tap whose output column lies outside adds
 * 0 + w·0 = +0 instead of nothing: the same sum as long as the cell never
 * holds -0, which the caller makes sure of (its start is not -0 and w is
 * finite; a sum of values that are not both -0 is not -0). Rows of
 * outputs outside are skipped, as col2im skips them. */
static inline __attribute__((always_inline)) void dw_plane_t_body(const lrp_conv_geom *g, const lrp_real *gyp,
                                                                  int64_t wq, const lrp_real *w, lrp_real *xc)
{
    const int64_t H = g->H, Wd = g->W, OH = g->OH, L = (g->kw - 1) * g->dw;
    for (int64_t iy = 0; iy < H; iy++)
        for (int64_t ix0 = 0; ix0 < Wd; ix0 += DW_LANES) {
            int64_t n = Wd - ix0 < DW_LANES ? Wd - ix0 : DW_LANES;
            dw_vec acc[DW_NV];
            memset(acc, 0, sizeof acc);
            memcpy(acc, xc + iy * Wd + ix0, sizeof(lrp_real) * (size_t)n);
            for (int64_t i = 0; i < g->kh; i++) {
                int64_t oy = iy + g->ph - i * g->dh;
                if (oy < 0 || oy >= OH)
                    continue;
                /* output column ox = ix + pw - j dw sits at gyp column ox + L */
                const lrp_real *row = gyp + oy * wq + ix0 + g->pw + L;
                for (int64_t j = 0; j < g->kw; j++) {
                    const dw_vec wv = w[i * g->kw + j] - (dw_vec){0};
                    const lrp_real *sr = row - j * g->dw;
                    for (int v = 0; v < DW_NV; v++) {
                        dw_vec t = wv * *(const dw_uvec *)(sr + 8 * v);
                        t = (dw_vec){0} + t;
                        acc[v] = acc[v] + t;
                    }
                }
            }
            memcpy(xc + iy * Wd + ix0, acc, sizeof(lrp_real) * (size_t)n);
        }
}

static void dw_plane_t_base(const lrp_conv_geom *g, const lrp_real *gyp, int64_t wq, const lrp_real *w, lrp_real *xc)
{
    dw_plane_t_body(g, gyp, wq, w, xc);
}

#if DW_AVX2
__attribute__((target("avx2"))) static void dw_plane_t_avx2(const lrp_conv_geom *g, const lrp_real *gyp, int64_t wq,
                                                            const lrp_real *w, lrp_real *xc)
{
    dw_plane_t_body(g, gyp, wq, w, xc);
}
#endif

/* Whether a plane can be gathered (dw_plane_t_body): finite taps, no -0 in gx. */
static int dw_gather_ok(const lrp_real *w, int64_t kk, const lrp_real *xc, int64_t n)
{
    for (int64_t k = 0; k < kk; k++)
        if (!(w[k] - w[k] == 0.0f)) /* inf or NaN */
            return 0;
    for (int64_t i = 0; i < n; i++)
        if (xc[i] == 0.0f && signbit(xc[i]))
            return 0;
    return 1;
}

/* gx += convᵀ(gy; W) (lrp_conv2d_t): the column the GEMM writes is
 * 0 + w[i][j] gy, which col2im adds into gx tap by tap. */
static lrp_status dw_conv_t(const lrp_conv_geom *g, const lrp_real *gy, const lrp_real *W, lrp_real *gx,
                            lrp_error *err)
{
    int64_t hp, wp;
    dw_padded_size(g, &hp, &wp);
    const int64_t planes = g->N * g->C, OH = g->OH, OW = g->OW, kk = g->kh * g->kw, H = g->H, Wd = g->W;
    const int nth = lrp_num_threads > 0 ? lrp_num_threads : 1;
    /* gather (stride 1): gy's rows shifted by L, with room for a block of lanes on either side */
    const int gather = g->sh == 1 && g->sw == 1;
    const int64_t L = (g->kw - 1) * g->dw, wq = L + (OW > Wd + g->pw ? OW : Wd + g->pw) + DW_LANES;
    const size_t per = (size_t)(hp * wp) > (size_t)(OH * wq) ? (size_t)(hp * wp) : (size_t)(OH * wq);
    lrp_real *buf = calloc(per * (size_t)nth, sizeof(lrp_real));
    if (!buf)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a convolution buffer");
    void (*plane)(const lrp_conv_geom *, const lrp_real *, int64_t, const lrp_real *, lrp_real *) = dw_plane_t_base;
#if DW_AVX2
    if (dw_use_avx2())
        plane = dw_plane_t_avx2;
#endif
#pragma omp parallel for schedule(static) num_threads(nth) if (planes * OH * OW * kk > 65536 && nth > 1)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t c = pl % g->C;
        lrp_real *xp = buf + per * (size_t)THREAD_NUM();
        lrp_real *xc = gx + pl * H * Wd;
        const lrp_real *w = W + c * kk, *gc = gy + pl * OH * OW;
        if (gather && dw_gather_ok(w, kk, xc, H * Wd)) {
            for (int64_t oy = 0; oy < OH; oy++) {
                lrp_real *d = xp + oy * wq;
                memset(d, 0, sizeof(lrp_real) * (size_t)L);
                memcpy(d + L, gc + oy * OW, sizeof(lrp_real) * (size_t)OW);
                memset(d + L + OW, 0, sizeof(lrp_real) * (size_t)(wq - L - OW));
            }
            plane(g, xp, wq, w, xc);
            continue;
        }
        dw_pad(g, xc, hp, wp, xp);
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                const lrp_real wv = w[i * g->kw + j];
                for (int64_t oy = 0; oy < OH; oy++) {
                    lrp_real *d = xp + (oy * g->sh + i * g->dh) * wp + j * g->dw;
                    const lrp_real *sr = gc + oy * OW;
                    for (int64_t ox = 0; ox < OW; ox++)
                        d[ox * g->sw] = d[ox * g->sw] + (0.0f + wv * sr[ox]);
                }
            }
        /* back into gx: the cells inside the plane (the padding's sums are dropped, as col2im skips them) */
        for (int64_t r = 0; r < hp; r++) {
            int64_t iy = r - g->ph;
            if (iy < 0 || iy >= H)
                continue;
            for (int64_t q = 0; q < wp; q++) {
                int64_t ix = q - g->pw;
                if (ix >= 0 && ix < Wd)
                    xc[iy * Wd + ix] = xp[r * wp + q];
            }
        }
    }
    free(buf);
    return LRP_OK;
}

lrp_status lrp_conv2d_acc64(const lrp_conv_geom *g, const lrp_real *x, const lrp_real *W, const lrp_real *b,
                            lrp_real *y, lrp_error *err)
{
    if (is_depthwise(g))
        return g->sw > 1 ? lrp_conv_grouped_fwd(g, x, W, b, y, 1, err) : dw_conv_acc64(g, x, W, b, y, err);
    if (lrp_conv_grouped_direct(g))
        return lrp_conv_grouped_fwd(g, x, W, b, y, 1, err);
    const int64_t G = g->group, Cg = g->C / G, Mg = g->M / G;
    const int64_t K = Cg * g->kh * g->kw, P = g->OH * g->OW;
    /* whole output rows per tile, so that the buffers stay near 8 MB */
    const int64_t ny = band_rows(g, K, 0);
    int64_t tile = ny * g->OW;
    lrp_real *col = lrp_alloc_big(sizeof(lrp_real) * (size_t)(K * tile > 0 ? K * tile : 1), false);
    double *acc = lrp_alloc_big(sizeof(double) * (size_t)(Mg * tile > 0 ? Mg * tile : 1), false);
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
    if (is_depthwise(g))
        return g->sw > 1 ? lrp_conv_grouped_fwd(g, x, W, b, y, 0, err) : dw_conv(g, x, W, b, y, err);
    if (lrp_conv_grouped_direct(g))
        return lrp_conv_grouped_fwd(g, x, W, b, y, 0, err);
    const int64_t G = g->group, Cg = g->C / G, Mg = g->M / G;
    const int64_t K = Cg * g->kh * g->kw, P = g->OH * g->OW;
    const int point = is_pointwise(g);
    /* whole output rows per product, so that the columns stay near 8 MB (in cache, and in the heap rather than a
     * fresh mapping each call: VGG-16's first layers took 115 MB); each element's sum is the same at any width */
    const int64_t ny = band_rows(g, K, point);
    lrp_real *col = NULL;
    if (!point) {
        col = lrp_alloc_big(sizeof(lrp_real) * (size_t)(K * ny * g->OW > 0 ? K * ny * g->OW : 1), false);
        if (!col)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a convolution buffer of %lld floats",
                            (long long)(K * ny * g->OW));
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
            if (point) {
                lrp_sgemm(false, false, Mg, P, K, 1.0f, Wg, K, xg, P, b ? 1.0f : 0.0f, yg, P);
                continue;
            }
            for (int64_t oy0 = 0; oy0 < g->OH; oy0 += ny) {
                int64_t rows = g->OH - oy0 < ny ? g->OH - oy0 : ny, np = rows * g->OW, p0 = oy0 * g->OW;
                im2col_rows(g, xg, Cg, oy0, rows, col);
                lrp_sgemm(false, false, Mg, np, K, 1.0f, Wg, K, col, np, b ? 1.0f : 0.0f, yg + p0, P);
            }
        }
    }
    free(col);
    return LRP_OK;
}

/* Below this many output positions a batch's transposed products run as one
 * GEMM with the samples side by side: the small ones gain most from wider
 * products (1.25-1.85x at 7x7 and 14x14 on ResNet-50's layers), the large
 * ones not at all. lrp's GEMM sums every element over k in order, whatever
 * the shape, so the bytes are those of one sample at a time (not so with
 * OpenBLAS's kernels, which keep the per-sample products). */
#define WIDE_T_MAX_P 1024

/* The transposed convolution of a batch with the samples' columns side by
 * side: gy's rows gathered into (Mg, N*P), one product, then col2im (or, 1x1,
 * the sums in place of gx's, gathered before and scattered after, so that
 * each element sums as sample by sample: gx + the products in order). */
static lrp_status conv2d_t_wide(const lrp_conv_geom *g, const lrp_real *gy, const lrp_real *W, lrp_real *gx,
                                lrp_error *err)
{
    const int64_t G = g->group, Cg = g->C / G, Mg = g->M / G, N = g->N;
    const int64_t K = Cg * g->kh * g->kw, P = g->OH * g->OW, NP = N * P, HW = g->H * g->W;
    const int point = is_pointwise(g);
    lrp_real *ycat = lrp_alloc_big(sizeof(lrp_real) * (size_t)(Mg * NP > 0 ? Mg * NP : 1), false);
    lrp_real *ccat = lrp_alloc_big(sizeof(lrp_real) * (size_t)(K * NP > 0 ? K * NP : 1), false);
    if (!ycat || !ccat) {
        free(ycat);
        free(ccat);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a convolution buffer of %lld floats",
                        (long long)(K * NP));
    }
    for (int64_t gi = 0; gi < G; gi++) {
        for (int64_t m = 0; m < Mg; m++)
            for (int64_t n = 0; n < N; n++)
                memcpy(ycat + m * NP + n * P, gy + (n * g->M + gi * Mg + m) * P, sizeof(lrp_real) * (size_t)P);
        const lrp_real *Wg = W + gi * Mg * K;
        if (point) { /* K = Cg, P = H*W */
            for (int64_t c = 0; c < K; c++)
                for (int64_t n = 0; n < N; n++)
                    memcpy(ccat + c * NP + n * P, gx + (n * g->C + gi * Cg + c) * HW, sizeof(lrp_real) * (size_t)P);
            lrp_sgemm(true, false, K, NP, Mg, 1.0f, Wg, K, ycat, NP, 1.0f, ccat, NP);
            for (int64_t c = 0; c < K; c++)
                for (int64_t n = 0; n < N; n++)
                    memcpy(gx + (n * g->C + gi * Cg + c) * HW, ccat + c * NP + n * P, sizeof(lrp_real) * (size_t)P);
        } else {
            lrp_sgemm(true, false, K, NP, Mg, 1.0f, Wg, K, ycat, NP, 0.0f, ccat, NP);
            for (int64_t n = 0; n < N; n++)
                col2im(g, ccat + n * P, NP, Cg, gx + (n * g->C + gi * Cg) * HW);
        }
    }
    free(ycat);
    free(ccat);
    return LRP_OK;
}

lrp_status lrp_conv2d_t(const lrp_conv_geom *g, const lrp_real *gy, const lrp_real *W, lrp_real *gx, lrp_error *err)
{
    if (is_depthwise(g))
        return g->sh > 1 || g->sw > 1 ? lrp_conv_grouped_t(g, gy, W, gx, err) : dw_conv_t(g, gy, W, gx, err);
    if (lrp_conv_grouped_direct(g))
        return lrp_conv_grouped_t(g, gy, W, gx, err);
    const int64_t G = g->group, Cg = g->C / G, Mg = g->M / G;
    const int64_t K = Cg * g->kh * g->kw, P = g->OH * g->OW;
    const int point = is_pointwise(g);
    if (g->N > 1 && P <= WIDE_T_MAX_P && !lrp_exec_ctx.openblas) {
        lrp_status st = conv2d_t_wide(g, gy, W, gx, err);
        if (st != LRP_ERR_NOMEM)
            return st;
        lrp_error_clear(err); /* the buffers of the wide product did not fit: sample by sample */
    }
    /* bands of whole output rows whose columns stay near 8 MB, as in the forward product, added from the last band
     * to the first (col2im_rows): the same sums in the same order as one matrix */
    const int64_t ny = band_rows(g, K, point);
    lrp_real *col = NULL;
    if (!point) {
        col = lrp_alloc_big(sizeof(lrp_real) * (size_t)(K * ny * g->OW > 0 ? K * ny * g->OW : 1), false);
        if (!col)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a convolution buffer of %lld floats",
                            (long long)(K * ny * g->OW));
    }
    for (int64_t n = 0; n < g->N; n++) {
        for (int64_t gi = 0; gi < G; gi++) {
            lrp_real *xg = gx + (n * g->C + gi * Cg) * g->H * g->W;
            const lrp_real *yg = gy + (n * g->M + gi * Mg) * P;
            const lrp_real *Wg = W + gi * Mg * K;
            if (point) {
                lrp_sgemm(true, false, K, P, Mg, 1.0f, Wg, K, yg, P, 1.0f, xg, P);
                continue;
            }
            for (int64_t oy0 = (g->OH - 1) / ny * ny; oy0 >= 0; oy0 -= ny) {
                int64_t rows = g->OH - oy0 < ny ? g->OH - oy0 : ny, np = rows * g->OW;
                lrp_sgemm(true, false, K, np, Mg, 1.0f, Wg, K, yg + oy0 * g->OW, P, 0.0f, col, np);
                col2im_rows(g, col, np, Cg, oy0, rows, xg);
            }
        }
    }
    free(col);
    return LRP_OK;
}
