/* Heatmaps: channel sum, zennit's normalization and quantization, grids, scaling, overlays. */
#include "render/heatmap.h"
#include "base/error.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Exactness needs one rounding per operation: no fused multiply-add. GCC does
 * not contract under -std=c11 (the Makefile's mode); clang needs the pragma. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

void lrp_heatmap_opts_init(lrp_heatmap_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->norm = LRP_NORM_SYMMETRIC;
    opts->vmin = 0.0;
    opts->vmax = 1.0;
}

static const char *const norm_names[] = {"symmetric", "absolute", "unaligned", "range"};

int lrp_heatmap_norm_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, norm_names[i]))
            return i;
    return -1;
}

const char *lrp_heatmap_norm_name(lrp_heatmap_norm norm) { return (unsigned)norm < 4 ? norm_names[norm] : "unknown"; }

/* ------------------------------------------------------------ channel sum */

lrp_status lrp_heatmap_channel_sum(const lrp_tensor *relevance, int channels_last, lrp_tensor **out, lrp_error *err)
{
    *out = NULL;
    char shape[160];
    if (!relevance || relevance->dtype != LRP_REAL_DT)
        return lrp_fail(err, LRP_ERR_ARG, "heatmap: relevance must be a floating-point tensor");
    const int64_t *d = relevance->dims;
    int64_t n, c, h, w;
    switch (relevance->ndim) {
    case 2: n = 1, c = 1, h = d[0], w = d[1]; break;
    case 3: n = d[0], c = 1, h = d[1], w = d[2]; break;
    case 4:
        n = d[0];
        c = channels_last ? d[3] : d[1];
        h = channels_last ? d[1] : d[2];
        w = channels_last ? d[2] : d[3];
        break;
    default:
        return lrp_fail(err, LRP_ERR_SHAPE,
                        "heatmap: relevance of shape %s is not (N,C,H,W), (N,H,W,C), (N,H,W) or (H,W)",
                        lrp_shape_str(relevance->ndim, d, shape, sizeof shape));
    }
    if (n < 1 || c < 1 || h < 1 || w < 1)
        return lrp_fail(err, LRP_ERR_SHAPE, "heatmap: relevance of shape %s is empty",
                        lrp_shape_str(relevance->ndim, d, shape, sizeof shape));
    if (h > INT32_MAX || w > INT32_MAX || h * w > LRP_RASTER_MAX_PIXELS || n > INT32_MAX)
        return lrp_fail(err, LRP_ERR_LIMIT, "heatmap: relevance of shape %s is too large to draw",
                        lrp_shape_str(relevance->ndim, d, shape, sizeof shape));
    int64_t odims[3] = {n, h, w};
    lrp_tensor *t = lrp_tensor_new(LRP_REAL_DT, 3, odims, err);
    if (!t)
        return err ? err->status : LRP_ERR_NOMEM;
    const lrp_real *src = lrp_reals(relevance);
    lrp_real *dst = lrp_reals(t);
    size_t hw = (size_t)h * (size_t)w;
    for (int64_t s = 0; s < n; s++) {
        const lrp_real *x = src + (size_t)s * (size_t)c * hw;
        lrp_real *y = dst + (size_t)s * hw;
        if (channels_last && relevance->ndim == 4) {
            for (size_t p = 0; p < hw; p++) {
                lrp_real acc = x[p * (size_t)c];
                for (int64_t k = 1; k < c; k++)
                    acc = acc + x[p * (size_t)c + (size_t)k];
                y[p] = acc;
            }
        } else {
            memcpy(y, x, hw * sizeof *y);
            for (int64_t k = 1; k < c; k++) {
                const lrp_real *xk = x + (size_t)k * hw;
                for (size_t p = 0; p < hw; p++)
                    y[p] = y[p] + xk[p];
            }
        }
    }
    *out = t;
    return LRP_OK;
}

/* ----------------------------------------------------- normalize, quantize */

/* NumPy-style max/min: NaN if any element is NaN. */
static lrp_real max_of(const lrp_real *x, size_t n, int absolute)
{
    lrp_real m = absolute ? lrp_fabs(x[0]) : x[0];
    for (size_t i = 0; i < n; i++) {
        lrp_real v = absolute ? lrp_fabs(x[i]) : x[i];
        if (isnan(v))
            return v;
        if (v > m)
            m = v;
    }
    return m;
}

static lrp_real min_of(const lrp_real *x, size_t n)
{
    lrp_real m = x[0];
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            return x[i];
        if (x[i] < m)
            m = x[i];
    }
    return m;
}

/* trunc(clip(v*255, 0, 255)) in float32; NaN -> 0 (what NumPy gives on x86-64). */
static inline uint8_t quantize(lrp_real v)
{
    lrp_real u = v * 255.0f;
    if (isnan(u))
        return 0;
    if (u < 0.0f)
        u = 0.0f;
    if (u > 255.0f)
        u = 255.0f;
    return (uint8_t)u;
}

/* ------------------------------------- sign, clipping and one-sided bounds */

static const char *const sign_names[] = {"all", "positive", "negative", "absolute"};

int lrp_heatmap_sign_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, sign_names[i]))
            return i;
    return -1;
}

/* Whether opts asks for more than zennit's rendering. */
static int extended(const lrp_heatmap_opts *opts)
{
    return opts && (opts->sign != LRP_SIGN_ALL || opts->clip_percent > 0.0 || opts->fix_vmin || opts->fix_vmax);
}

/* The drawn part D of a value (NaN stays NaN). */
static inline lrp_real drawn(lrp_real v, lrp_heatmap_sign sign)
{
    switch (sign) {
    case LRP_SIGN_POSITIVE: return v <= 0.0f ? 0.0f : v;
    case LRP_SIGN_NEGATIVE: return v >= 0.0f ? 0.0f : v;
    case LRP_SIGN_ABSOLUTE: return lrp_fabs(v);
    case LRP_SIGN_ALL:
    default: return v;
    }
}

#ifdef LRP_REAL_DOUBLE
typedef uint64_t real_bits;
#else
typedef uint32_t real_bits;
#endif

static lrp_real from_bits(real_bits b)
{
    lrp_real v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static real_bits to_bits(lrp_real v)
{
    real_bits b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Sum (in double) of the magnitudes |D_i| that are <= m. */
static double mass_up_to(const lrp_real *map, size_t n, lrp_heatmap_sign sign, lrp_real m)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        lrp_real a = lrp_fabs(drawn(map[i], sign));
        if (a <= m)
            s += (double)a;
    }
    return s;
}

/* Captum's _cumulative_sum_threshold(|D|, 100 - pct): the smallest magnitude
 * |D_k| whose cumulative sum over the sorted magnitudes reaches (100 - pct)%
 * of their total. Ties do not matter: that is the smallest data value m with
 * sum(|D_i| <= m) >= target. Non-negative floats order as their bit patterns,
 * so a binary search over the patterns finds it without sorting or memory. */
static lrp_real clip_threshold(const lrp_real *map, size_t n, lrp_heatmap_sign sign, double pct)
{
    lrp_real top = 0.0f;
    for (size_t i = 0; i < n; i++) {
        lrp_real a = lrp_fabs(drawn(map[i], sign));
        if (isnan(a))
            return a;
        if (a > top)
            top = a;
    }
    double target = mass_up_to(map, n, sign, top) * 0.01 * (100.0 - pct);
    real_bits lo = 0, hi = to_bits(top); /* the answer is in [lo, hi] */
    while (lo < hi) {
        real_bits mid = lo + (hi - lo) / 2;
        if (mass_up_to(map, n, sign, from_bits(mid)) >= target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return from_bits(lo);
}

/* The largest |D|, or its clipped value. */
static lrp_real magnitude_bound(const lrp_real *map, size_t n, const lrp_heatmap_opts *o)
{
    if (o->clip_percent > 0.0)
        return clip_threshold(map, n, o->sign, o->clip_percent);
    lrp_real m = lrp_fabs(drawn(map[0], o->sign));
    for (size_t i = 0; i < n; i++) {
        lrp_real v = lrp_fabs(drawn(map[i], o->sign));
        if (isnan(v))
            return v;
        if (v > m)
            m = v;
    }
    return m;
}

/* The bounds lo..hi of the colour scale of one map under opts (extended or
 * not), and whether the values drawn are |D| (absolute norm). span is hi - lo
 * as the quantization uses it. */
static void scale_bounds(const lrp_real *map, size_t n, const lrp_heatmap_opts *o, lrp_real *lo, lrp_real *span,
                         int *absolute)
{
    *absolute = o->norm == LRP_NORM_ABSOLUTE;
    if (o->norm == LRP_NORM_RANGE) {
        *lo = (lrp_real)o->vmin;
        *span = (lrp_real)(o->vmax - o->vmin);
        return;
    }
    lrp_real alo, ahi; /* automatic bounds */
    if (o->norm == LRP_NORM_UNALIGNED) {
        alo = drawn(map[0], o->sign);
        ahi = alo;
        for (size_t i = 0; i < n; i++) {
            lrp_real v = drawn(map[i], o->sign);
            if (isnan(v)) {
                alo = ahi = v;
                break;
            }
            if (v < alo)
                alo = v;
            if (v > ahi)
                ahi = v;
        }
    } else {
        ahi = magnitude_bound(map, n, o);
        alo = o->norm == LRP_NORM_ABSOLUTE ? 0.0f : -ahi;
    }
    if (!o->fix_vmin && !o->fix_vmax) {
        *lo = alo;
        *span = ahi - alo;
        return;
    }
    /* a given bound is a double (as NumPy 1.x's 0-d float64 array): the
     * difference is taken in double and rounded once */
    double dlo = o->fix_vmin ? o->vmin : (double)alo, dhi = o->fix_vmax ? o->vmax : (double)ahi;
    *lo = (lrp_real)dlo;
    *span = (lrp_real)(dhi - dlo);
}

static void quantize_extended(const lrp_real *map, size_t count, const lrp_heatmap_opts *o, uint8_t *indices)
{
    lrp_real lo, span;
    int absolute;
    scale_bounds(map, count, o, &lo, &span, &absolute);
    for (size_t i = 0; i < count; i++) {
        lrp_real d = drawn(map[i], o->sign);
        if (absolute)
            d = lrp_fabs(d);
        indices[i] = quantize((d - lo) / span);
    }
}

uint8_t lrp_heatmap_index_of(const lrp_real *map, size_t count, const lrp_heatmap_opts *opts, lrp_real value)
{
    lrp_heatmap_opts defaults;
    if (!opts) {
        lrp_heatmap_opts_init(&defaults);
        opts = &defaults;
    }
    if (count == 0)
        return 0;
    lrp_real lo, span;
    int absolute;
    scale_bounds(map, count, opts, &lo, &span, &absolute);
    lrp_real d = drawn(value, opts->sign);
    if (absolute)
        d = lrp_fabs(d);
    return quantize((d - lo) / span);
}

void lrp_heatmap_weights(const lrp_real *map, size_t count, const lrp_heatmap_opts *opts, uint8_t *weights)
{
    if (count == 0)
        return;
    lrp_heatmap_opts defaults;
    if (!opts) {
        lrp_heatmap_opts_init(&defaults);
        opts = &defaults;
    }
    lrp_real lo, span;
    int absolute;
    scale_bounds(map, count, opts, &lo, &span, &absolute);
    double hi = (double)lo + (double)span;
    double s = fabs((double)lo) > fabs(hi) ? fabs((double)lo) : fabs(hi);
    for (size_t i = 0; i < count; i++) {
        double w = fabs((double)drawn(map[i], opts->sign)) / s;
        if (!(w >= 0.0)) /* NaN: 0/0 or a NaN value */
            w = 0.0;
        if (w > 1.0)
            w = 1.0;
        weights[i] = (uint8_t)(w * 255.0 + 0.5);
    }
}

void lrp_heatmap_quantize(const lrp_real *map, size_t count, const lrp_heatmap_opts *opts, uint8_t *indices)
{
    if (count == 0)
        return;
    if (extended(opts)) {
        quantize_extended(map, count, opts, indices);
        return;
    }
    lrp_heatmap_norm norm = opts ? opts->norm : LRP_NORM_SYMMETRIC;
    lrp_real lo, span;
    switch (norm) {
    case LRP_NORM_ABSOLUTE: {
        lrp_real a = max_of(map, count, 1);
        for (size_t i = 0; i < count; i++)
            indices[i] = quantize(lrp_fabs(map[i]) / a);
        return;
    }
    case LRP_NORM_UNALIGNED: {
        lrp_real hi = max_of(map, count, 0);
        lo = min_of(map, count);
        span = hi - lo;
        break;
    }
    case LRP_NORM_RANGE:
        lo = (lrp_real)opts->vmin;
        span = (lrp_real)(opts->vmax - opts->vmin);
        break;
    case LRP_NORM_SYMMETRIC:
    default: {
        lrp_real a = max_of(map, count, 1);
        lo = -a;
        span = a - lo;
        break;
    }
    }
    for (size_t i = 0; i < count; i++)
        indices[i] = quantize((map[i] - lo) / span);
}

/* ------------------------------------------------------------------ grids */

void lrp_grid_shape(int n, int *grid_h, int *grid_w)
{
    int gw = (int)sqrt((double)n);
    while ((int64_t)(gw + 1) * (gw + 1) <= n) /* guard against sqrt rounding */
        gw++;
    while (gw > 1 && (int64_t)gw * gw > n)
        gw--;
    if (gw < 1)
        gw = 1;
    *grid_w = gw;
    *grid_h = (n + gw - 1) / gw;
}

lrp_status lrp_gridify(const uint8_t *tiles, int n, int height, int width, int channels, int grid_h, int grid_w,
                       const uint8_t *fill, lrp_raster **out, lrp_error *err)
{
    *out = NULL;
    if (n < 1 || height < 1 || width < 1 || (channels != 1 && channels != 3))
        return lrp_fail(err, LRP_ERR_ARG, "gridify: need at least one %dx%d tile with 1 or 3 channels", height, width);
    if (grid_h <= 0 || grid_w <= 0)
        lrp_grid_shape(n, &grid_h, &grid_w);
    int64_t oh = (int64_t)grid_h * height, ow = (int64_t)grid_w * width;
    if (oh > INT32_MAX || ow > INT32_MAX || oh * ow > LRP_RASTER_MAX_PIXELS)
        return lrp_fail(err, LRP_ERR_LIMIT, "gridify: a %dx%d grid of %dx%d tiles is too large", grid_h, grid_w,
                        height, width);
    size_t tile = (size_t)height * (size_t)width * (size_t)channels;
    uint8_t fillv[3] = {0, 0, 0};
    if (fill) {
        memcpy(fillv, fill, (size_t)channels);
    } else {
        for (int k = 0; k < channels; k++) {
            uint8_t m = 255;
            for (size_t i = (size_t)k; i < tile * (size_t)n; i += (size_t)channels)
                if (tiles[i] < m)
                    m = tiles[i];
            fillv[k] = m;
        }
    }
    lrp_raster *r = lrp_raster_new((int)ow, (int)oh, channels, err);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    size_t row = (size_t)width * (size_t)channels;
    int cells = grid_h * grid_w;
    for (int cell = 0; cell < cells; cell++) {
        int gy = cell / grid_w, gx = cell % grid_w;
        for (int y = 0; y < height; y++) {
            uint8_t *dst =
                r->data + (((size_t)gy * (size_t)height + (size_t)y) * (size_t)ow + (size_t)gx * (size_t)width) *
                              (size_t)channels;
            if (cell < n) {
                memcpy(dst, tiles + (size_t)cell * tile + (size_t)y * row, row);
            } else {
                for (size_t i = 0; i < row; i++)
                    dst[i] = fillv[i % (size_t)channels];
            }
        }
    }
    *out = r;
    return LRP_OK;
}

/* --------------------------------------------------------------- heatmaps */

lrp_status lrp_heatmap_indices(const lrp_tensor *relevance, const lrp_heatmap_opts *opts, int sample, lrp_raster **out,
                               lrp_error *err)
{
    *out = NULL;
    lrp_heatmap_opts defaults;
    if (!opts) {
        lrp_heatmap_opts_init(&defaults);
        opts = &defaults;
    }
    if ((unsigned)opts->norm > LRP_NORM_RANGE)
        return lrp_fail(err, LRP_ERR_ARG, "heatmap: unknown normalization %d", (int)opts->norm);
    if (opts->norm == LRP_NORM_RANGE && !(isfinite(opts->vmin) && isfinite(opts->vmax)))
        return lrp_fail(err, LRP_ERR_ARG, "heatmap: vmin and vmax must be finite numbers");
    if ((opts->fix_vmin && !isfinite(opts->vmin)) || (opts->fix_vmax && !isfinite(opts->vmax)))
        return lrp_fail(err, LRP_ERR_ARG, "heatmap: vmin and vmax must be finite numbers");
    if ((unsigned)opts->sign > LRP_SIGN_ABSOLUTE)
        return lrp_fail(err, LRP_ERR_ARG, "heatmap: unknown sign selection %d", (int)opts->sign);
    if (!(opts->clip_percent >= 0.0 && opts->clip_percent < 100.0))
        return lrp_fail(err, LRP_ERR_ARG, "heatmap: the clip percentage must be in [0, 100)");
    if (opts->clip_percent > 0.0 && (opts->norm == LRP_NORM_UNALIGNED || opts->norm == LRP_NORM_RANGE))
        return lrp_fail(err, LRP_ERR_ARG, "heatmap: clipping needs the symmetric or absolute norm");
    lrp_tensor *maps = NULL;
    lrp_status st = lrp_heatmap_channel_sum(relevance, opts->channels_last, &maps, err);
    if (st != LRP_OK)
        return st;
    int n = (int)maps->dims[0], h = (int)maps->dims[1], w = (int)maps->dims[2];
    size_t hw = (size_t)h * (size_t)w;
    if (sample < -1 || sample >= n) {
        lrp_tensor_free(maps);
        return lrp_fail(err, LRP_ERR_ARG, "heatmap: sample %d is out of range (batch of %d)", sample, n);
    }
    if (sample >= 0) {
        lrp_raster *r = lrp_raster_new(w, h, 1, err);
        if (r)
            lrp_heatmap_quantize(lrp_reals(maps) + (size_t)sample * hw, hw, opts, r->data);
        lrp_tensor_free(maps);
        if (!r)
            return err ? err->status : LRP_ERR_NOMEM;
        *out = r;
        return LRP_OK;
    }
    uint8_t *tiles = lrp_calloc_checked((size_t)n, hw);
    if (!tiles) {
        lrp_tensor_free(maps);
        return lrp_fail(err, LRP_ERR_NOMEM, "heatmap: out of memory");
    }
    for (int s = 0; s < n; s++)
        lrp_heatmap_quantize(lrp_reals(maps) + (size_t)s * hw, hw, opts, tiles + (size_t)s * hw);
    lrp_tensor_free(maps);
    st = lrp_gridify(tiles, n, h, w, 1, 0, 0, NULL, out, err);
    free(tiles);
    return st;
}

/* ----------------------------------------------------- colour and overlay */

lrp_status lrp_raster_colorize(const lrp_raster *indices, const uint8_t pal[256][3], lrp_raster **rgb, lrp_error *err)
{
    *rgb = NULL;
    if (!indices || indices->channels != 1 || !pal)
        return lrp_fail(err, LRP_ERR_ARG, "colorize: need a 1-channel index image and a palette");
    lrp_raster *r = lrp_raster_new(indices->width, indices->height, 3, err);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    size_t n = (size_t)indices->width * (size_t)indices->height;
    for (size_t i = 0; i < n; i++)
        memcpy(r->data + 3 * i, pal[indices->data[i]], 3);
    *rgb = r;
    return LRP_OK;
}

lrp_status lrp_heatmap_overlay(const lrp_raster *image, const lrp_raster *heat, const uint8_t pal[256][3],
                               double alpha, lrp_raster **out, lrp_error *err)
{
    *out = NULL;
    if (!image || !heat)
        return lrp_fail(err, LRP_ERR_ARG, "overlay: missing image or heatmap");
    if (!(alpha >= 0.0 && alpha <= 1.0))
        return lrp_fail(err, LRP_ERR_ARG, "overlay: alpha must be in [0, 1]");
    if (image->width != heat->width || image->height != heat->height)
        return lrp_fail(err, LRP_ERR_SHAPE, "overlay: heatmap is %dx%d but the image is %dx%d (scale it first)",
                        heat->width, heat->height, image->width, image->height);
    if (heat->channels == 1 && !pal)
        return lrp_fail(err, LRP_ERR_ARG, "overlay: an index heatmap needs a palette");
    lrp_raster *r = lrp_raster_new(image->width, image->height, 3, err);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    size_t n = (size_t)image->width * (size_t)image->height;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *c = heat->channels == 1 ? pal[heat->data[i]] : heat->data + 3 * i;
        for (int k = 0; k < 3; k++) {
            double base = image->channels == 1 ? image->data[i] : image->data[3 * i + (size_t)k];
            double v = base * (1.0 - alpha) + (double)c[k] * alpha + 0.5;
            r->data[3 * i + (size_t)k] = (uint8_t)(v > 255.0 ? 255.0 : v);
        }
    }
    *out = r;
    return LRP_OK;
}

/* ---------------------------------------------------------------- scaling */

/* Bilinear scaling, one axis: destination pixel i of n samples the source
 * (of m pixels) between pixels i0 and i1 = i0 + 1 (both clamped), at the
 * returned fraction from i0 (pixel centres aligned). */
static double bilinear_source(int i, int n, int m, int *i0, int *i1)
{
    double f = ((double)i + 0.5) * m / n - 0.5;
    if (f < 0)
        f = 0;
    *i0 = (int)f;
    if (*i0 > m - 1)
        *i0 = m - 1;
    *i1 = *i0 + 1 < m ? *i0 + 1 : m - 1;
    return f - *i0;
}

lrp_status lrp_raster_scale(const lrp_raster *src, int width, int height, lrp_scale_filter filter, lrp_raster **out,
                            lrp_error *err)
{
    *out = NULL;
    if (!src || !src->data)
        return lrp_fail(err, LRP_ERR_ARG, "scale: no image");
    if (filter != LRP_SCALE_NEAREST && filter != LRP_SCALE_BILINEAR)
        return lrp_fail(err, LRP_ERR_ARG, "scale: unknown filter %d", (int)filter);
    lrp_raster *r = lrp_raster_new(width, height, src->channels, err);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    int ch = src->channels, sw = src->width, sh = src->height;
    if (filter == LRP_SCALE_NEAREST) {
        for (int y = 0; y < height; y++) {
            int64_t sy = ((int64_t)2 * y + 1) * sh / ((int64_t)2 * height);
            if (sy > sh - 1)
                sy = sh - 1;
            for (int x = 0; x < width; x++) {
                int64_t sx = ((int64_t)2 * x + 1) * sw / ((int64_t)2 * width);
                if (sx > sw - 1)
                    sx = sw - 1;
                memcpy(r->data + ((size_t)y * (size_t)width + (size_t)x) * (size_t)ch,
                       src->data + ((size_t)sy * (size_t)sw + (size_t)sx) * (size_t)ch, (size_t)ch);
            }
        }
    } else {
        for (int y = 0; y < height; y++) {
            int y0, y1;
            double ty = bilinear_source(y, height, sh, &y0, &y1);
            for (int x = 0; x < width; x++) {
                int x0, x1;
                double tx = bilinear_source(x, width, sw, &x0, &x1);
                const uint8_t *p00 = src->data + ((size_t)y0 * (size_t)sw + (size_t)x0) * (size_t)ch;
                const uint8_t *p01 = src->data + ((size_t)y0 * (size_t)sw + (size_t)x1) * (size_t)ch;
                const uint8_t *p10 = src->data + ((size_t)y1 * (size_t)sw + (size_t)x0) * (size_t)ch;
                const uint8_t *p11 = src->data + ((size_t)y1 * (size_t)sw + (size_t)x1) * (size_t)ch;
                uint8_t *q = r->data + ((size_t)y * (size_t)width + (size_t)x) * (size_t)ch;
                for (int k = 0; k < ch; k++) {
                    double top = p00[k] + (p01[k] - p00[k]) * tx;
                    double bot = p10[k] + (p11[k] - p10[k]) * tx;
                    double v = top + (bot - top) * ty + 0.5;
                    q[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
            }
        }
    }
    *out = r;
    return LRP_OK;
}
