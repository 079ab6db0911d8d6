/*
 * PIL's Image.resize((w, h), Image.BILINEAR) on 8-bit RGB, bit-exact with
 * Pillow 9.4 (libImaging/Resample.c, the convolution resampler).
 *
 * The algorithm, as Pillow does it:
 *  - per axis, the filter is the triangle 1-|x| with support 1, widened by the
 *    downscale factor scale = in/out when scale > 1 (antialiasing);
 *  - for each output index i the centre is (i + 0.5) * scale; the taps are the
 *    input indices from int(centre - support + 0.5) (clamped at 0) to
 *    int(centre + support + 0.5) (clamped at in), each weighted by
 *    filter((j - centre + 0.5) / filterscale), all in double, then divided by
 *    their sum;
 *  - the weights become fixed point with PRECISION_BITS = 32 - 8 - 2 = 22
 *    fractional bits, rounded half away from zero;
 *  - a horizontal pass (only over the rows the vertical pass will read) then
 *    a vertical pass; each accumulates in int starting from 1 << 21 (so the
 *    shift rounds), shifts right by 22 and clips to 0..255. An axis whose
 *    size does not change is not resampled at all.
 */
#include "base/error.h"
#include "image/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

typedef struct coeffs {
    int ksize;   /* coefficients per output index */
    int *bounds; /* per output index: first input index, number of taps */
    int32_t *k;  /* out * ksize fixed-point weights */
} coeffs;

static double bilinear_filter(double x)
{
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return 1.0 - x;
    return 0.0;
}

static void coeffs_free(coeffs *c)
{
    free(c->bounds);
    free(c->k);
    c->bounds = NULL;
    c->k = NULL;
}

/* Pillow's precompute_coeffs + normalize_coeffs_8bpc for box [0, in_size). */
static int coeffs_compute(coeffs *c, int in_size, int out_size)
{
    const double support_1 = 1.0; /* BILINEAR's support */
    /* Pillow takes the box as floats: (double)(in1 - in0) with float in1. */
    lrp_real in0 = 0.0f, in1 = (lrp_real)in_size;
    double scale = (double)(in1 - in0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = support_1 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    c->ksize = ksize;
    c->bounds = malloc((size_t)out_size * 2 * sizeof *c->bounds);
    c->k = malloc((size_t)out_size * (size_t)ksize * sizeof *c->k);
    double *w = malloc((size_t)ksize * sizeof *w);
    if (!c->bounds || !c->k || !w) {
        free(w);
        coeffs_free(c);
        return -1;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        int x = 0;
        for (; x < xmax; x++) {
            w[x] = bilinear_filter((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = c->k + (size_t)xx * (size_t)ksize;
        for (x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS)) : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        for (; x < ksize; x++)
            k[x] = 0;
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    free(w);
    return 0;
}

/* Pillow's clip8: ss >> PRECISION_BITS (arithmetic) clamped to 0..255. */
static inline uint8_t clip8(int ss)
{
    int v = ss >> PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* dst (out_w x rows) from src rows [row0, row0 + rows), stride 3 bytes. */
static void resample_horizontal(const uint8_t *src, int src_w, int row0, int rows, uint8_t *dst, int out_w,
                                const coeffs *c)
{
    for (int yy = 0; yy < rows; yy++) {
        const uint8_t *in = src + (size_t)(yy + row0) * (size_t)src_w * 3;
        uint8_t *o = dst + (size_t)yy * (size_t)out_w * 3;
        for (int xx = 0; xx < out_w; xx++) {
            int xmin = c->bounds[2 * xx], xmax = c->bounds[2 * xx + 1];
            const int32_t *k = c->k + (size_t)xx * (size_t)c->ksize;
            int s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < xmax; x++) {
                const uint8_t *p = in + (size_t)(x + xmin) * 3;
                s0 += p[0] * k[x];
                s1 += p[1] * k[x];
                s2 += p[2] * k[x];
            }
            o[3 * xx] = clip8(s0);
            o[3 * xx + 1] = clip8(s1);
            o[3 * xx + 2] = clip8(s2);
        }
    }
}

static void resample_vertical(const uint8_t *src, int w, uint8_t *dst, int out_h, const coeffs *c)
{
    size_t stride = (size_t)w * 3;
    for (int yy = 0; yy < out_h; yy++) {
        int ymin = c->bounds[2 * yy], ymax = c->bounds[2 * yy + 1];
        const int32_t *k = c->k + (size_t)yy * (size_t)c->ksize;
        uint8_t *o = dst + (size_t)yy * stride;
        for (size_t i = 0; i < stride; i++) {
            int s = 1 << (PRECISION_BITS - 1);
            const uint8_t *p = src + (size_t)ymin * stride + i;
            for (int y = 0; y < ymax; y++)
                s += p[(size_t)y * stride] * k[y];
            o[i] = clip8(s);
        }
    }
}

lrp_status lrp_image_resize(const lrp_image *src, int width, int height, lrp_image *dst, lrp_error *err)
{
    if (!dst)
        return lrp_fail(err, LRP_ERR_ARG, "resize: no output image");
    memset(dst, 0, sizeof *dst);
    if (!src || !src->rgb || src->width <= 0 || src->height <= 0)
        return lrp_fail(err, LRP_ERR_ARG, "resize: empty source image");
    if (width <= 0 || height <= 0)
        return lrp_fail(err, LRP_ERR_ARG, "resize: invalid target size %dx%d", width, height);
    if (width > LRP_IMAGE_MAX_SIDE || height > LRP_IMAGE_MAX_SIDE || (int64_t)width * height > LRP_IMAGE_MAX_PIXELS)
        return lrp_fail(err, LRP_ERR_LIMIT, "resize: target size %dx%d is too large", width, height);

    int sw = src->width, sh = src->height;
    int need_h = width != sw, need_v = height != sh;
    coeffs cv = {0}, ch = {0};
    uint8_t *tmp = NULL, *out = NULL;
    lrp_status st = LRP_OK;

    /* As Pillow: vertical coefficients first, to know which rows to resample
     * horizontally. */
    if (coeffs_compute(&cv, sh, height) != 0)
        goto nomem;
    int row_first = cv.bounds[0];
    int row_last = cv.bounds[2 * (height - 1)] + cv.bounds[2 * (height - 1) + 1];

    const uint8_t *cur = src->rgb;
    int cur_w = sw;
    if (need_h) {
        if (coeffs_compute(&ch, sw, width) != 0)
            goto nomem;
        int rows = need_v ? row_last - row_first : sh;
        int first = need_v ? row_first : 0;
        tmp = malloc((size_t)width * (size_t)rows * 3);
        if (!tmp)
            goto nomem;
        resample_horizontal(src->rgb, sw, first, rows, tmp, width, &ch);
        if (need_v)
            for (int i = 0; i < height; i++)
                cv.bounds[2 * i] -= row_first;
        cur = tmp;
        cur_w = width;
    }
    if (need_v) {
        out = malloc((size_t)width * (size_t)height * 3);
        if (!out)
            goto nomem;
        resample_vertical(cur, cur_w, out, height, &cv);
        free(tmp);
        tmp = NULL;
    } else if (need_h) {
        out = tmp;
        tmp = NULL;
    } else {
        out = malloc((size_t)width * (size_t)height * 3);
        if (!out)
            goto nomem;
        memcpy(out, src->rgb, (size_t)width * (size_t)height * 3);
    }
    dst->width = width;
    dst->height = height;
    dst->rgb = out;
    out = NULL;
    goto done;
nomem:
    st = lrp_fail(err, LRP_ERR_NOMEM, "resize: out of memory resizing %dx%d to %dx%d", sw, sh, width, height);
done:
    coeffs_free(&cv);
    coeffs_free(&ch);
    free(tmp);
    free(out);
    return st;
}

lrp_status lrp_image_to_gray(const lrp_image *src, lrp_image *dst, lrp_error *err)
{
    if (!dst)
        return lrp_fail(err, LRP_ERR_ARG, "to_gray: no output image");
    memset(dst, 0, sizeof *dst);
    if (!src || !src->rgb || src->width <= 0 || src->height <= 0)
        return lrp_fail(err, LRP_ERR_ARG, "to_gray: empty source image");
    size_t n = (size_t)src->width * (size_t)src->height;
    uint8_t *p = malloc(n * 3);
    if (!p)
        return lrp_fail(err, LRP_ERR_NOMEM, "to_gray: out of memory");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = src->rgb + 3 * i;
        /* PIL's L24: ITU-R 601-2 luma in 16-bit fixed point, rounded */
        uint8_t l = (uint8_t)((s[0] * 19595u + s[1] * 38470u + s[2] * 7471u + 0x8000u) >> 16);
        p[3 * i] = p[3 * i + 1] = p[3 * i + 2] = l;
    }
    dst->width = src->width;
    dst->height = src->height;
    dst->rgb = p;
    return LRP_OK;
}
