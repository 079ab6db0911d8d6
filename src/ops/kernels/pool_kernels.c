/* Pooling kernels. */
#include "ops/kernels/pool_kernels.h"

#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

void lrp_pool_geom_set(lrp_pool_geom *pg, const lrp_window *w, int nsp, const int64_t *xdims, const int64_t *out)
{
    pg->planes = xdims[0] * xdims[1];
    if (nsp == 1) {
        pg->H = 1, pg->W = xdims[2], pg->OH = 1, pg->OW = out[0];
        pg->kh = 1, pg->kw = w->kernel[0], pg->sh = 1, pg->sw = w->stride[0], pg->dh = 1, pg->dw = w->dilation[0];
        pg->ph = 0, pg->pw = w->pad_begin[0], pg->peh = 0, pg->pew = w->pad_end[0];
    } else {
        pg->H = xdims[2], pg->W = xdims[3], pg->OH = out[0], pg->OW = out[1];
        pg->kh = w->kernel[0], pg->kw = w->kernel[1], pg->sh = w->stride[0], pg->sw = w->stride[1];
        pg->dh = w->dilation[0], pg->dw = w->dilation[1];
        pg->ph = w->pad_begin[0], pg->pw = w->pad_begin[1], pg->peh = w->pad_end[0], pg->pew = w->pad_end[1];
    }
}

/* The taps [*lo, *hi) of a window starting at `start` (dilation d, k taps)
 * that fall inside [0, n). */
static inline void tap_range(int64_t start, int64_t k, int64_t d, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t a = start < 0 ? (-start + d - 1) / d : 0;
    int64_t b = start >= n ? 0 : (n - start + d - 1) / d;
    *lo = a;
    *hi = b < k ? b : k;
}

/* Position of the first maximum of window (oy, ox) in plane x (row-major
 * window order; a NaN wins, as in PyTorch's kernel), or -1 for a window
 * without any input element. */
static inline int64_t window_argmax(const lrp_pool_geom *pg, const lrp_real *x, int64_t oy, int64_t ox)
{
    int64_t i0, i1, j0, j1;
    const int64_t y0 = oy * pg->sh - pg->ph, x0 = ox * pg->sw - pg->pw;
    tap_range(y0, pg->kh, pg->dh, pg->H, &i0, &i1);
    tap_range(x0, pg->kw, pg->dw, pg->W, &j0, &j1);
    if (i0 >= i1 || j0 >= j1)
        return -1;
    int64_t best = (y0 + i0 * pg->dh) * pg->W + x0 + j0 * pg->dw;
    lrp_real bv = -INFINITY;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t row = (y0 + i * pg->dh) * pg->W + x0;
        for (int64_t j = j0; j < j1; j++) {
            const lrp_real v = x[row + j * pg->dw];
            if (v > bv || v != v) {
                best = row + j * pg->dw;
                bv = v;
            }
        }
    }
    return best;
}

void lrp_maxpool_fwd(const lrp_pool_geom *pg, const lrp_real *x, lrp_real *y, int64_t *idx)
{
    const int64_t HW = pg->H * pg->W, OHW = pg->OH * pg->OW, work = pg->planes * OHW * pg->kh * pg->kw;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (work > LRP_PAR_MIN)
    for (int64_t p = 0; p < pg->planes; p++) {
        const lrp_real *xp = x + p * HW;
        for (int64_t oy = 0; oy < pg->OH; oy++)
            for (int64_t ox = 0; ox < pg->OW; ox++) {
                int64_t a = window_argmax(pg, xp, oy, ox);
                y[p * OHW + oy * pg->OW + ox] = a >= 0 ? xp[a] : -LRP_REAL_MAX;
                if (idx)
                    idx[p * OHW + oy * pg->OW + ox] = a;
            }
    }
}

void lrp_maxpool_bwd(const lrp_pool_geom *pg, const lrp_real *x, const lrp_real *g, lrp_real *gx)
{
    const int64_t HW = pg->H * pg->W, OHW = pg->OH * pg->OW, work = pg->planes * OHW * pg->kh * pg->kw;
    /* parallel over planes: each plane of gx is written by one thread, in order */
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (work > LRP_PAR_MIN)
    for (int64_t p = 0; p < pg->planes; p++) {
        const lrp_real *xp = x + p * HW;
        for (int64_t oy = 0; oy < pg->OH; oy++)
            for (int64_t ox = 0; ox < pg->OW; ox++) {
                int64_t a = window_argmax(pg, xp, oy, ox);
                if (a >= 0)
                    gx[p * HW + a] += g[p * OHW + oy * pg->OW + ox];
            }
    }
}

/* Number of taps of a window along one dim that lie in [lo, hi). */
static inline int64_t taps_in(int64_t start, int64_t k, int64_t d, int64_t lo, int64_t hi)
{
    int64_t a, b;
    tap_range(start - lo, k, d, hi - lo, &a, &b);
    return b > a ? b - a : 0;
}

static inline int64_t divisor(const lrp_pool_geom *pg, int cip, int64_t oy, int64_t ox)
{
    int64_t y0 = oy * pg->sh - pg->ph, x0 = ox * pg->sw - pg->pw;
    if (cip)
        return taps_in(y0, pg->kh, pg->dh, -pg->ph, pg->H + pg->peh) *
               taps_in(x0, pg->kw, pg->dw, -pg->pw, pg->W + pg->pew);
    return taps_in(y0, pg->kh, pg->dh, 0, pg->H) * taps_in(x0, pg->kw, pg->dw, 0, pg->W);
}

void lrp_avgpool_fwd(const lrp_pool_geom *pg, int cip, const lrp_real *x, lrp_real *y)
{
    const int64_t HW = pg->H * pg->W, OHW = pg->OH * pg->OW, work = pg->planes * OHW * pg->kh * pg->kw;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (work > LRP_PAR_MIN)
    for (int64_t p = 0; p < pg->planes; p++) {
        const lrp_real *xp = x + p * HW;
        for (int64_t oy = 0; oy < pg->OH; oy++)
            for (int64_t ox = 0; ox < pg->OW; ox++) {
                const int64_t y0 = oy * pg->sh - pg->ph, x0 = ox * pg->sw - pg->pw;
                int64_t i0, i1, j0, j1;
                tap_range(y0, pg->kh, pg->dh, pg->H, &i0, &i1);
                tap_range(x0, pg->kw, pg->dw, pg->W, &j0, &j1);
                lrp_real s = 0.0f;
                for (int64_t i = i0; i < i1; i++) {
                    const lrp_real *xr = xp + (y0 + i * pg->dh) * pg->W + x0;
                    for (int64_t j = j0; j < j1; j++)
                        s += xr[j * pg->dw];
                }
                int64_t dv = divisor(pg, cip, oy, ox);
                y[p * OHW + oy * pg->OW + ox] = dv > 0 ? s / (lrp_real)dv : 0.0f;
            }
    }
}

void lrp_avgpool_bwd(const lrp_pool_geom *pg, int cip, const lrp_real *g, lrp_real *gx)
{
    const int64_t HW = pg->H * pg->W, OHW = pg->OH * pg->OW, work = pg->planes * OHW * pg->kh * pg->kw;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (work > LRP_PAR_MIN)
    for (int64_t p = 0; p < pg->planes; p++) {
        lrp_real *gp = gx + p * HW;
        for (int64_t oy = 0; oy < pg->OH; oy++)
            for (int64_t ox = 0; ox < pg->OW; ox++) {
                int64_t dv = divisor(pg, cip, oy, ox);
                if (dv <= 0)
                    continue;
                const lrp_real v = g[p * OHW + oy * pg->OW + ox] / (lrp_real)dv;
                const int64_t y0 = oy * pg->sh - pg->ph, x0 = ox * pg->sw - pg->pw;
                int64_t i0, i1, j0, j1;
                tap_range(y0, pg->kh, pg->dh, pg->H, &i0, &i1);
                tap_range(x0, pg->kw, pg->dw, pg->W, &j0, &j1);
                for (int64_t i = i0; i < i1; i++) {
                    lrp_real *gr = gp + (y0 + i * pg->dh) * pg->W + x0;
                    for (int64_t j = j0; j < j1; j++)
                        gr[j * pg->dw] += v;
                }
            }
    }
}

lrp_status lrp_pool_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    lrp_pool_state *s = calloc(1, sizeof *s);
    if (!s)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    n->state = s;
    lrp_status st = lrp_window_parse(n, &s->win, 1, err);
    if (st != LRP_OK)
        return st;
    int64_t cm = lrp_attr_int(n, "ceil_mode", 0), cip = lrp_attr_int(n, "count_include_pad", 0);
    int64_t so = lrp_attr_int(n, "storage_order", 0);
    if ((cm != 0 && cm != 1) || (cip != 0 && cip != 1) || (so != 0 && so != 1))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "ceil_mode, count_include_pad and storage_order must be 0 or 1");
    s->ceil_mode = (int)cm;
    s->count_include_pad = (int)cip;
    s->storage_order = (int)so;
    return LRP_OK;
}

lrp_status lrp_pool_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    lrp_pool_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    if (x->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    if (x->ndim < 3)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "input of rank %d: expected (N, C, spatial...)", x->ndim);
    int nsp = x->ndim - 2;
    int64_t out[2];
    lrp_status st = lrp_window_resolve(n, &s->win, nsp, x->dims + 2, s->ceil_mode, out, err);
    if (st != LRP_OK)
        return st;
    int64_t dims[4] = {x->dims[0], x->dims[1], out[0], nsp == 2 ? out[1] : 0};
    lrp_pool_geom_set(&s->geom, &s->win, nsp, x->dims, out);
    lrp_set_output(g, n, 0, LRP_REAL_DT, x->ndim, dims);
    lrp_set_output(g, n, 1, LRP_INT64, x->ndim, dims);
    return LRP_OK;
}

lrp_status lrp_global_pool_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    if (x->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    if (x->ndim < 2)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "input of rank %d: expected (N, C, spatial...)", x->ndim);
    int64_t dims[LRP_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    lrp_set_output(g, n, 0, LRP_REAL_DT, x->ndim, dims);
    return LRP_OK;
}
