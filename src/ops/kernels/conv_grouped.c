/* Direct grouped convolutions (conv_grouped.h).
 *
 * One group's im2col + GEMM sums every output element as
 *     y[m][p] = c0 + w[m][0] col[0][p] + w[m][1] col[1][p] + ...
 * over k = (c kh + i) kw + j in order (c0 the bias, or +0), each product and
 * sum rounded on its own; the transposed product is col[k][p] = 0 + Σ_m w[m][k]
 * gy[m][p] (m in order), which col2im adds into gx tap by tap. The kernels
 * below compute the same elements in the same order, reading the taps
 * straight from a copy of the group's input instead of an im2col buffer.
 *
 * That copy is the zero-padded input split into sh x sw phase planes (rows
 * r ≡ pr mod sh, columns q ≡ pc mod sw), each hq x wq: tap (c, i, j) of
 * output (oy, ox) reads plane (c, (i dh) mod sh, (j dw) mod sw) at row
 * oy + (i dh) / sh and column ox + (j dw) / sw, so that with the outputs laid
 * out on a grid of OH rows of wq columns (p = oy wq + ox, the columns from OW
 * on computed and dropped), every tap is one fixed offset off[k] from p:
 * GK_NB consecutive outputs of a tap are one contiguous load, whatever the
 * strides, dilations and the rows' ends. A register tile holds GK_MR output
 * channels by GK_NB grid outputs (the double sums: by GK_DB, from a copy of
 * the planes widened to double once).
 *
 * The transposed product gathers: a cell of gx's padded planes (GK_TB of
 * them, of GK_TR channels, at a time) takes, for each tap of its phase in
 * order, 0 + Σ_m w[m][k] gy[m][o] from the output o the tap reads it from:
 * gy sits on the same grid with zero borders, so o is one fixed offset back
 * from the cell, and a mask of the grid's real outputs leaves the cell as it
 * is (a select, not + 0, which would change a -0) where the tap has no
 * output. So every cell gets the terms col2im adds, in its order; the
 * padding's sums are dropped with the copy back. Each group is computed by
 * one thread, whatever the thread count. */
#include "ops/kernels/conv_grouped.h"

#include "base/error.h"
#include "ops/op.h"

#include "ops/kernels/gemm_kernels.h"

#include <stdlib.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

#define GK_MR 4  /* output channels (taps) of a register tile */
#define GK_NB 16 /* grid outputs of a register tile (float sums) */
#define GK_NV (GK_NB / 8)
#define GK_TB 16 /* cells of a transposed register tile */
#define GK_TV (GK_TB / 8)
#define GK_DV 2           /* double vectors of a register tile's row */
#define GK_DB (4 * GK_DV) /* grid outputs of a register tile (double sums) */
#define GK_TR 4           /* channels of a transposed register tile */

typedef lrp_real gk_vec __attribute__((vector_size(8 * sizeof(lrp_real))));
typedef lrp_real gk_uvec __attribute__((vector_size(8 * sizeof(lrp_real)), aligned(sizeof(lrp_real)), may_alias));
typedef double gk_dvec __attribute__((vector_size(32)));
typedef double gk_udvec __attribute__((vector_size(32), aligned(sizeof(double)), may_alias));
typedef lrp_real gk_ur4 __attribute__((vector_size(4 * sizeof(lrp_real)), aligned(sizeof(lrp_real)), may_alias));
typedef lrp_real gk_r4 __attribute__((vector_size(4 * sizeof(lrp_real))));
#ifdef LRP_REAL_DOUBLE
typedef int64_t gk_mint;
#else
typedef int32_t gk_mint;
#endif
typedef gk_mint gk_mvec __attribute__((vector_size(8 * sizeof(lrp_real))));
typedef gk_mint gk_umvec __attribute__((vector_size(8 * sizeof(lrp_real)), aligned(sizeof(lrp_real)), may_alias));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(LRP_GEMM_BASELINE)
#define GK_AVX2 1
#else
#define GK_AVX2 0
#endif

int lrp_conv_grouped_direct(const lrp_conv_geom *g)
{
    if (g->group <= 1 || g->C % g->group || g->M % g->group)
        return 0;
    if (g->C == g->group && g->M == g->group)
        return 0;
    const int point = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 &&
                      g->OH == g->H && g->OW == g->W;
    return !point && g->ph >= 0 && g->pw >= 0 && g->OH > 0 && g->OW > 0 && !lrp_exec_ctx.openblas;
}

/* The phase planes of one group and the grid of outputs. */
typedef struct {
    int64_t Cg, Mg, K;
    int64_t hq, wq, pq; /* a phase plane */
    int64_t chan;       /* floats per channel: sh sw pq */
    int64_t np, npr;    /* grid outputs OH wq, and rounded up to GK_NB */
    int64_t xsz;        /* floats of a group's planes, with room for a tile past the end */
} gk_layout;

static void gk_layout_init(const lrp_conv_geom *g, gk_layout *L)
{
    const int64_t hp = (g->OH - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    const int64_t wp = (g->OW - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    L->Cg = g->C / g->group;
    L->Mg = g->M / g->group;
    L->K = L->Cg * g->kh * g->kw;
    L->hq = (hp + g->sh - 1) / g->sh;
    L->wq = (wp + g->sw - 1) / g->sw;
    L->pq = L->hq * L->wq;
    L->chan = g->sh * g->sw * L->pq;
    L->np = g->OH * L->wq;
    L->npr = (L->np + GK_NB - 1) / GK_NB * GK_NB;
    L->xsz = L->Cg * L->chan + L->wq + 2 * GK_NB;
}

/* off[k]: where tap k = (c kh + i) kw + j of grid output 0 sits in the planes. */
static void gk_offsets(const lrp_conv_geom *g, const gk_layout *L, int64_t *off)
{
    for (int64_t c = 0; c < L->Cg; c++)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                int64_t a = i * g->dh, bq = j * g->dw;
                off[(c * g->kh + i) * g->kw + j] =
                    c * L->chan + ((a % g->sh) * g->sw + bq % g->sw) * L->pq + (a / g->sh) * L->wq + bq / g->sw;
            }
}

/* The columns q of phase pc that hold x's columns ix = q sw + pc - pw: [*q0, *q1). */
static void gk_cols(int64_t Wd, int64_t sw, int64_t pc, int64_t pw, int64_t wq, int64_t *q0, int64_t *q1)
{
    int64_t lo = pw - pc, hi = Wd + pw - pc; /* q sw in [lo, hi) */
    int64_t a = lo <= 0 ? 0 : (lo + sw - 1) / sw, b = hi <= 0 ? 0 : (hi + sw - 1) / sw;
    *q0 = a < wq ? a : wq;
    *q1 = b < wq ? (b > *q0 ? b : *q0) : wq;
}

/* d[i] = s[2 i], i < n (vectorized: restrict). */
static void gk_gather2(lrp_real *restrict d, const lrp_real *restrict s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        d[i] = s[2 * i];
}

/* The planes of the Cg channels at x (each H x W), 0 outside; the room past them is zeroed. */
static void gk_fill(const lrp_conv_geom *g, const gk_layout *L, const lrp_real *x, lrp_real *xq)
{
    const int64_t H = g->H, Wd = g->W, wq = L->wq, sh = g->sh, sw = g->sw, ph = g->ph, pw = g->pw;
    for (int64_t c = 0; c < L->Cg; c++)
        for (int64_t pr = 0; pr < sh; pr++)
            for (int64_t pc = 0; pc < sw; pc++) {
                lrp_real *pl = xq + c * L->chan + (pr * sw + pc) * L->pq;
                const lrp_real *xc = x + c * H * Wd;
                int64_t q0, q1;
                gk_cols(Wd, sw, pc, pw, wq, &q0, &q1);
                const int64_t x0 = q0 * sw + pc - pw;
                for (int64_t r = 0; r < L->hq; r++) {
                    const int64_t iy = r * sh + pr - ph;
                    lrp_real *d = pl + r * wq;
                    if (iy < 0 || iy >= H) {
                        memset(d, 0, sizeof(lrp_real) * (size_t)wq);
                        continue;
                    }
                    const lrp_real *xr = xc + iy * Wd + x0;
                    for (int64_t q = 0; q < q0; q++)
                        d[q] = 0.0f;
                    if (sw == 1)
                        memcpy(d + q0, xr, sizeof(lrp_real) * (size_t)(q1 - q0));
                    else if (sw == 2)
                        gk_gather2(d + q0, xr, q1 - q0);
                    else
                        for (int64_t q = q0; q < q1; q++)
                            d[q] = xr[(q - q0) * sw];
                    for (int64_t q = q1; q < wq; q++)
                        d[q] = 0.0f;
                }
            }
    memset(xq + L->Cg * L->chan, 0, sizeof(lrp_real) * (size_t)(L->xsz - L->Cg * L->chan));
}

/* The cells of x (Cg channels, H x W) that the planes hold, back from them. */
static void gk_unfill(const lrp_conv_geom *g, const gk_layout *L, const lrp_real *xq, lrp_real *x)
{
    const int64_t H = g->H, Wd = g->W, wq = L->wq, sh = g->sh, sw = g->sw, ph = g->ph, pw = g->pw;
    for (int64_t c = 0; c < L->Cg; c++)
        for (int64_t pr = 0; pr < sh; pr++)
            for (int64_t pc = 0; pc < sw; pc++) {
                const lrp_real *pl = xq + c * L->chan + (pr * sw + pc) * L->pq;
                lrp_real *xc = x + c * H * Wd;
                int64_t q0, q1;
                gk_cols(Wd, sw, pc, pw, wq, &q0, &q1);
                const int64_t x0 = q0 * sw + pc - pw;
                for (int64_t r = 0; r < L->hq; r++) {
                    const int64_t iy = r * sh + pr - ph;
                    if (iy < 0 || iy >= H)
                        continue;
                    const lrp_real *s = pl + r * wq;
                    lrp_real *xr = xc + iy * Wd + x0;
                    if (sw == 1)
                        memcpy(xr, s + q0, sizeof(lrp_real) * (size_t)(q1 - q0));
                    else
                        for (int64_t q = q0; q < q1; q++)
                            xr[(q - q0) * sw] = s[q];
                }
            }
}

/* ------------------------------------------------------------ tiles */

/* t[r ldt + l] = c0[r] + Σ_k w[k][r] xq[off[k] + l], r < R, l < GK_NB. */
static inline __attribute__((always_inline)) void gk_fwd_body(int R, int64_t K, const int64_t *off, const lrp_real *xq,
                                                              const lrp_real *w, const lrp_real *c0, lrp_real *t,
                                                              int64_t ldt)
{
    gk_vec acc[GK_MR][GK_NV];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < GK_NV; v++)
            acc[r][v] = c0[r] - (gk_vec){0}; /* a splat, exact (also for -0) */
    for (int64_t k = 0; k < K; k++) {
        const lrp_real *s = xq + off[k];
        gk_vec bv[GK_NV];
        for (int v = 0; v < GK_NV; v++)
            bv[v] = *(const gk_uvec *)(s + 8 * v);
        for (int r = 0; r < R; r++) {
            const gk_vec wv = w[k * GK_MR + r] - (gk_vec){0};
            for (int v = 0; v < GK_NV; v++) {
                gk_vec p = wv * bv[v];
                acc[r][v] = acc[r][v] + p;
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < GK_NV; v++)
            *(gk_uvec *)(t + r * ldt + 8 * v) = acc[r][v];
}

/* t[r ldt + l] = (lrp_real)((0 + Σ_k w[k][r] xq[off[k] + l]) + bias[r]) in double, r < R, l < GK_DB. */
static inline __attribute__((always_inline)) void gk_fwd64_body(int R, int64_t K, const int64_t *off, const double *xq,
                                                                const double *w, const double *bias, lrp_real *t,
                                                                int64_t ldt)
{
    gk_dvec acc[GK_MR][GK_DV];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < GK_DV; v++)
            acc[r][v] = (gk_dvec){0};
    for (int64_t k = 0; k < K; k++) {
        const double *s = xq + off[k];
        gk_dvec bv[GK_DV];
        for (int v = 0; v < GK_DV; v++)
            bv[v] = *(const gk_udvec *)(s + 4 * v);
        for (int r = 0; r < R; r++) {
            const gk_dvec wv = w[k * GK_MR + r] - (gk_dvec){0};
            for (int v = 0; v < GK_DV; v++) {
                gk_dvec p = wv * bv[v];
                acc[r][v] = acc[r][v] + p;
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < GK_DV; v++) {
            gk_dvec o = acc[r][v] + (bias[r] - (gk_dvec){0});
            *(gk_ur4 *)(t + r * ldt + 4 * v) = __builtin_convertvector(o, gk_r4);
        }
}

/* The transposed tile, by gathering: GK_TB cells of R channels' planes (cr
 * floats apart) take, tap by tap in order, u = 0 + Σ_m w[m][r] gy[m][o], the
 * output o = cell - toff[tap] read from the zero-bordered grids gyg (gstride
 * floats apart), where that output exists (vmask, on the same grid; the
 * cells past lim are left alone too). */
static inline __attribute__((always_inline)) void gk_t_body(int R, int64_t ntap, const int64_t *toff, int64_t Mg,
                                                            const lrp_real *gyg, int64_t gstride, const gk_mint *vmask,
                                                            const lrp_real *w, const gk_mint *lim, lrp_real *xq,
                                                            int64_t cr)
{
    for (int64_t tp = 0; tp < ntap; tp++) {
        const lrp_real *s = gyg - toff[tp];
        const lrp_real *wt = w + tp * Mg * GK_TR;
        gk_vec u[GK_TR][GK_TV];
        for (int r = 0; r < R; r++)
            for (int v = 0; v < GK_TV; v++)
                u[r][v] = (gk_vec){0};
        for (int64_t m = 0; m < Mg; m++) {
            gk_vec bv[GK_TV];
            for (int v = 0; v < GK_TV; v++)
                bv[v] = *(const gk_uvec *)(s + m * gstride + 8 * v);
            for (int r = 0; r < R; r++) {
                const gk_vec wv = wt[m * GK_TR + r] - (gk_vec){0};
                for (int v = 0; v < GK_TV; v++) {
                    gk_vec p = wv * bv[v];
                    u[r][v] = u[r][v] + p;
                }
            }
        }
        gk_mvec mk[GK_TV];
        for (int v = 0; v < GK_TV; v++)
            mk[v] = *(const gk_umvec *)(vmask - toff[tp] + 8 * v) & *(const gk_umvec *)(lim + 8 * v);
        /* the cells stay in memory (a load of the vector just stored, forwarded) */
        for (int r = 0; r < R; r++)
            for (int v = 0; v < GK_TV; v++) {
                lrp_real *d = xq + r * cr + 8 * v;
                gk_vec old = *(const gk_uvec *)d, sum = old + u[r][v];
                *(gk_uvec *)d = (gk_vec)(((gk_mvec)sum & mk[v]) | ((gk_mvec)old & ~mk[v]));
            }
    }
}

#define GK_TILE_FNS(SFX, ATTR)                                                                                        \
    ATTR static void gk_fwd_tile_##SFX(int R, int64_t K, const int64_t *off, const lrp_real *xq, const lrp_real *w,   \
                                       const lrp_real *c0, lrp_real *t, int64_t ldt)                                  \
    {                                                                                                                 \
        switch (R) {                                                                                                  \
        case 1: gk_fwd_body(1, K, off, xq, w, c0, t, ldt); break;                                                     \
        case 2: gk_fwd_body(2, K, off, xq, w, c0, t, ldt); break;                                                     \
        case 3: gk_fwd_body(3, K, off, xq, w, c0, t, ldt); break;                                                     \
        default: gk_fwd_body(GK_MR, K, off, xq, w, c0, t, ldt); break;                                                \
        }                                                                                                             \
    }                                                                                                                 \
    ATTR static void gk_fwd64_tile_##SFX(int R, int64_t K, const int64_t *off, const double *xq, const double *w,     \
                                         const double *bv, lrp_real *t, int64_t ldt)                                  \
    {                                                                                                                 \
        switch (R) {                                                                                                  \
        case 1: gk_fwd64_body(1, K, off, xq, w, bv, t, ldt); break;                                                   \
        case 2: gk_fwd64_body(2, K, off, xq, w, bv, t, ldt); break;                                                   \
        case 3: gk_fwd64_body(3, K, off, xq, w, bv, t, ldt); break;                                                   \
        default: gk_fwd64_body(GK_MR, K, off, xq, w, bv, t, ldt); break;                                              \
        }                                                                                                             \
    }                                                                                                                 \
    ATTR static void gk_t_tile_##SFX(int R, int64_t ntap, const int64_t *toff, int64_t Mg, const lrp_real *gyg,       \
                                     int64_t gstride, const gk_mint *vmask, const lrp_real *w, const gk_mint *lim,    \
                                     lrp_real *xq, int64_t cr)                                                        \
    {                                                                                                                 \
        switch (R) {                                                                                                  \
        case 1: gk_t_body(1, ntap, toff, Mg, gyg, gstride, vmask, w, lim, xq, cr); break;                             \
        case 2: gk_t_body(2, ntap, toff, Mg, gyg, gstride, vmask, w, lim, xq, cr); break;                             \
        case 3: gk_t_body(3, ntap, toff, Mg, gyg, gstride, vmask, w, lim, xq, cr); break;                             \
        default: gk_t_body(GK_TR, ntap, toff, Mg, gyg, gstride, vmask, w, lim, xq, cr); break;                        \
        }                                                                                                             \
    }

GK_TILE_FNS(base, )
#if GK_AVX2
GK_TILE_FNS(avx2, __attribute__((target("avx2"))))
#endif

typedef void (*gk_fwd_fn)(int, int64_t, const int64_t *, const lrp_real *, const lrp_real *, const lrp_real *,
                          lrp_real *, int64_t);
typedef void (*gk_fwd64_fn)(int, int64_t, const int64_t *, const double *, const double *, const double *, lrp_real *,
                            int64_t);
typedef void (*gk_t_fn)(int, int64_t, const int64_t *, int64_t, const lrp_real *, int64_t, const gk_mint *,
                        const lrp_real *, const gk_mint *, lrp_real *, int64_t);

/* ------------------------------------------------------------ drivers */

static int gk_threads(int64_t items)
{
    int nth = lrp_num_threads > 0 ? lrp_num_threads : 1;
    return items < nth ? (int)(items > 0 ? items : 1) : nth;
}

lrp_status lrp_conv_grouped_fwd(const lrp_conv_geom *g, const lrp_real *x, const lrp_real *W, const lrp_real *b,
                                lrp_real *y, int acc64, lrp_error *err)
{
    gk_layout L;
    gk_layout_init(g, &L);
    const int64_t G = g->group, Cg = L.Cg, Mg = L.Mg, K = L.K, P = g->OH * g->OW, mts = (Mg + GK_MR - 1) / GK_MR;
    const size_t wsz = (size_t)(G * mts * K * GK_MR);
    /* the grid's rows in yq: whole tiles of either width */
    const int64_t ldy = (L.np + GK_NB * GK_DB - 1) / (GK_NB * GK_DB) * (GK_NB * GK_DB);
    int64_t *off = malloc(sizeof(int64_t) * (size_t)K);
    void *wpk = calloc(wsz, acc64 ? sizeof(double) : sizeof(lrp_real));
    if (!off || !wpk) {
        free(off);
        free(wpk);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a grouped convolution");
    }
    gk_offsets(g, &L, off);

    /* w[gi][tile][k][r] = W[gi Mg + tile MR + r][k] (0 past Mg) */
    for (int64_t gi = 0; gi < G; gi++)
        for (int64_t mt = 0; mt < mts; mt++)
            for (int64_t k = 0; k < K; k++)
                for (int64_t r = 0; r < GK_MR && mt * GK_MR + r < Mg; r++) {
                    size_t at = (size_t)(((gi * mts + mt) * K + k) * GK_MR + r);
                    lrp_real v = W[(gi * Mg + mt * GK_MR + r) * K + k];
                    if (acc64)
                        ((double *)wpk)[at] = (double)v;
                    else
                        ((lrp_real *)wpk)[at] = v;
                }
    gk_fwd_fn fwd = gk_fwd_tile_base;
    gk_fwd64_fn fwd64 = gk_fwd64_tile_base;
#if GK_AVX2
    if (lrp_cpu_avx2()) {
        fwd = gk_fwd_tile_avx2;
        fwd64 = gk_fwd64_tile_avx2;
    }
#endif
    const int64_t items = g->N * G;
    const int nth = gk_threads(items);
    int failed = 0;
#pragma omp parallel num_threads(nth) if (nth > 1 && items * K * P * Mg > 65536)
    {
        lrp_real *xq = malloc(sizeof(lrp_real) * (size_t)L.xsz);
        lrp_real *yq = malloc(sizeof(lrp_real) * (size_t)(Mg * ldy));
        double *xqd = acc64 ? malloc(sizeof(double) * (size_t)L.xsz) : NULL; /* the planes widened, once */
        if (!xq || !yq || (acc64 && !xqd)) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            if (!xq || !yq || (acc64 && !xqd))
                continue;
            const int64_t n = it / G, gi = it % G;
            gk_fill(g, &L, x + (n * g->C + gi * Cg) * g->H * g->W, xq);
            if (acc64)
                for (int64_t i = 0; i < L.xsz; i++)
                    xqd[i] = (double)xq[i];
            /* the group's outputs on the grid (row stride npr), then their OW columns into y */
            for (int64_t p0 = 0; p0 < L.np; p0 += acc64 ? GK_DB : GK_NB)
                for (int64_t mt = 0; mt < mts; mt++) {
                    const int R = (int)(Mg - mt * GK_MR < GK_MR ? Mg - mt * GK_MR : GK_MR);
                    const int64_t m0 = gi * Mg + mt * GK_MR;
                    lrp_real *t = yq + mt * GK_MR * ldy + p0;
                    if (acc64) {
                        double bv[GK_MR];
                        for (int r = 0; r < GK_MR; r++)
                            bv[r] = b && r < R ? (double)b[m0 + r] : 0.0;
                        fwd64(R, K, off, xqd + p0, (const double *)wpk + (size_t)((gi * mts + mt) * K * GK_MR), bv, t,
                              ldy);
                    } else {
                        lrp_real c0[GK_MR];
                        for (int r = 0; r < GK_MR; r++)
                            c0[r] = b && r < R ? b[m0 + r] : 0.0f;
                        fwd(R, K, off, xq + p0, (const lrp_real *)wpk + (size_t)((gi * mts + mt) * K * GK_MR), c0, t,
                            ldy);
                    }
                }
            for (int64_t m = 0; m < Mg; m++) {
                lrp_real *ym = y + (n * g->M + gi * Mg + m) * P;
                for (int64_t oy = 0; oy < g->OH; oy++)
                    memcpy(ym + oy * g->OW, yq + m * ldy + oy * L.wq, sizeof(lrp_real) * (size_t)g->OW);
            }
        }
        free(xq);
        free(yq);
        free(xqd);
    }
    free(off);
    free(wpk);
    if (failed)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a grouped convolution");
    return LRP_OK;
}

lrp_status lrp_conv_grouped_t(const lrp_conv_geom *g, const lrp_real *gy, const lrp_real *W, lrp_real *gx,
                              lrp_error *err)
{
    gk_layout L;
    gk_layout_init(g, &L);
    const int64_t G = g->group, Cg = L.Cg, Mg = L.Mg, K = L.K, P = g->OH * g->OW, kk = g->kh * g->kw;
    const int64_t cts = (Cg + GK_TR - 1) / GK_TR, nph = g->sh * g->sw;
    /* the grids of gy: a border of marg zeros before (the largest tap offset in a plane), the
     * cells of a plane rounded up to GK_TB and GK_TB more after */
    const int64_t marg = ((g->kh - 1) * g->dh / g->sh) * L.wq + (g->kw - 1) * g->dw / g->sw;
    const int64_t pqr = (L.pq + GK_TB - 1) / GK_TB * GK_TB, gstride = marg + pqr + GK_TB;
    /* the taps of each phase, in order: their offsets, and w[gi][ct][phase's taps][m][r] */
    int64_t *toff = malloc(sizeof(int64_t) * (size_t)kk), *tph = malloc(sizeof(int64_t) * (size_t)(nph + 1));
    int64_t *tkk = malloc(sizeof(int64_t) * (size_t)kk);
    gk_mint *vmask = calloc((size_t)gstride, sizeof(gk_mint));
    lrp_real *wtp = calloc((size_t)(G * cts * kk * Mg * GK_TR), sizeof(lrp_real));
    if (!toff || !tph || !tkk || !vmask || !wtp) {
        free(toff);
        free(tph);
        free(tkk);
        free(vmask);
        free(wtp);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a grouped convolution");
    }
    int64_t nt = 0;
    for (int64_t ph = 0; ph < nph; ph++) {
        tph[ph] = nt;
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                const int64_t a = i * g->dh, bq = j * g->dw;
                if ((a % g->sh) * g->sw + bq % g->sw != ph)
                    continue;
                toff[nt] = (a / g->sh) * L.wq + bq / g->sw;
                tkk[nt++] = i * g->kw + j;
            }
    }
    tph[nph] = nt;
    for (int64_t oy = 0; oy < g->OH; oy++)
        for (int64_t ox = 0; ox < g->OW; ox++)
            vmask[marg + oy * L.wq + ox] = (gk_mint)-1;
    for (int64_t gi = 0; gi < G; gi++)
        for (int64_t ct = 0; ct < cts; ct++)
            for (int64_t t = 0; t < kk; t++)
                for (int64_t m = 0; m < Mg; m++)
                    for (int64_t r = 0; r < GK_TR && ct * GK_TR + r < Cg; r++)
                        wtp[(((gi * cts + ct) * kk + t) * Mg + m) * GK_TR + r] =
                            W[(gi * Mg + m) * K + (ct * GK_TR + r) * kk + tkk[t]];
    gk_t_fn tile = gk_t_tile_base;
#if GK_AVX2
    if (lrp_cpu_avx2())
        tile = gk_t_tile_avx2;
#endif
    const int64_t items = g->N * G;
    const int nth = gk_threads(items);
    int failed = 0;
#pragma omp parallel num_threads(nth) if (nth > 1 && items * K * P * Mg > 65536)
    {
        lrp_real *xq = malloc(sizeof(lrp_real) * (size_t)L.xsz);
        lrp_real *gyg = calloc((size_t)(Mg * gstride), sizeof(lrp_real));
        if (!xq || !gyg) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            if (!xq || !gyg)
                continue;
            const int64_t n = it / G, gi = it % G;
            lrp_real *xg = gx + (n * g->C + gi * Cg) * g->H * g->W;
            gk_fill(g, &L, xg, xq);
            /* the borders and the columns past OW stay 0 */
            for (int64_t m = 0; m < Mg; m++) {
                const lrp_real *src = gy + (n * g->M + gi * Mg + m) * P;
                lrp_real *d = gyg + m * gstride + marg;
                for (int64_t oy = 0; oy < g->OH; oy++)
                    memcpy(d + oy * L.wq, src + oy * g->OW, sizeof(lrp_real) * (size_t)g->OW);
            }
            for (int64_t ct = 0; ct < cts; ct++) {
                const int R = (int)(Cg - ct * GK_TR < GK_TR ? Cg - ct * GK_TR : GK_TR);
                for (int64_t ph = 0; ph < nph; ph++) {
                    const int64_t t0 = tph[ph], ntp = tph[ph + 1] - t0;
                    if (!ntp)
                        continue;
                    const lrp_real *w = wtp + (size_t)(((gi * cts + ct) * kk + t0) * Mg * GK_TR);
                    lrp_real *pl = xq + ct * GK_TR * L.chan + ph * L.pq;
                    /* only the rows of the plane that hold rows of x (the others are dropped) */
                    const int64_t pr = ph / g->sw, a = g->ph - pr, bq = g->H + g->ph - pr;
                    int64_t r0 = a <= 0 ? 0 : (a + g->sh - 1) / g->sh, r1 = bq <= 0 ? 0 : (bq + g->sh - 1) / g->sh;
                    r1 = r1 < L.hq ? r1 : L.hq;
                    const int64_t e1 = r1 * L.wq;
                    for (int64_t e0 = r0 * L.wq; e0 < e1; e0 += GK_TB) {
                        gk_mint lim[GK_TB];
                        for (int l = 0; l < GK_TB; l++)
                            lim[l] = e0 + l < e1 ? (gk_mint)-1 : 0;
                        tile(R, ntp, toff + t0, Mg, gyg + marg + e0, gstride, vmask + marg + e0, w, lim, pl + e0,
                             L.chan);
                    }
                }
            }
            gk_unfill(g, &L, xq, xg);
        }
        free(xq);
        free(gyg);
    }
    free(toff);
    free(tph);
    free(tkk);
    free(vmask);
    free(wtp);
    if (failed)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a grouped convolution");
    return LRP_OK;
}
