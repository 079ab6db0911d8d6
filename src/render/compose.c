/* Compositing for readable heatmaps: a gray underlay, opacity that follows the
 * relevance, two rasters side by side, a colour bar. */
#include "render/heatmap.h"
#include "base/error.h"

#include <string.h>

/* A raster as RGB: 3 channels copied, 1 channel through pal (NULL: gray). */
static lrp_raster *as_rgb(const lrp_raster *r, const uint8_t pal[256][3], lrp_error *err)
{
    lrp_raster *o = lrp_raster_new(r->width, r->height, 3, err);
    if (!o)
        return NULL;
    size_t n = (size_t)r->width * (size_t)r->height;
    if (r->channels == 3) {
        memcpy(o->data, r->data, 3 * n);
    } else {
        for (size_t i = 0; i < n; i++) {
            uint8_t v = r->data[i];
            if (pal)
                memcpy(o->data + 3 * i, pal[v], 3);
            else
                memset(o->data + 3 * i, v, 3);
        }
    }
    return o;
}

lrp_status lrp_raster_gray_mean(const lrp_raster *image, lrp_raster **out, lrp_error *err)
{
    *out = NULL;
    if (!image || (image->channels != 1 && image->channels != 3))
        return lrp_fail(err, LRP_ERR_ARG, "gray: need a 1- or 3-channel image");
    lrp_raster *r = lrp_raster_new(image->width, image->height, 3, err);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    size_t n = (size_t)image->width * (size_t)image->height;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (image->channels == 3) {
            const uint8_t *p = image->data + 3 * i;
            v = ((unsigned)p[0] + p[1] + p[2] + 1) / 3; /* sum/3 rounded: its fraction is never 1/2 */
        } else {
            v = image->data[i];
        }
        memset(r->data + 3 * i, (int)v, 3);
    }
    *out = r;
    return LRP_OK;
}

lrp_status lrp_heatmap_blend(const lrp_raster *underlay, const lrp_raster *heat, const uint8_t pal[256][3],
                             const lrp_raster *weights, double alpha, lrp_raster **out, lrp_error *err)
{
    *out = NULL;
    if (!underlay || !heat)
        return lrp_fail(err, LRP_ERR_ARG, "blend: missing underlay or heatmap");
    if (!(alpha >= 0.0 && alpha <= 1.0))
        return lrp_fail(err, LRP_ERR_ARG, "blend: alpha must be in [0, 1]");
    if (underlay->width != heat->width || underlay->height != heat->height ||
        (weights && (weights->width != heat->width || weights->height != heat->height || weights->channels != 1)))
        return lrp_fail(err, LRP_ERR_SHAPE, "blend: the heatmap, the underlay and the weights differ in size");
    if (heat->channels == 1 && !pal)
        return lrp_fail(err, LRP_ERR_ARG, "blend: an index heatmap needs a palette");
    lrp_raster *r = lrp_raster_new(heat->width, heat->height, 3, err);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    size_t n = (size_t)heat->width * (size_t)heat->height;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *c = heat->channels == 1 ? pal[heat->data[i]] : heat->data + 3 * i;
        double a = weights ? alpha * (double)weights->data[i] / 255.0 : alpha;
        for (int k = 0; k < 3; k++) {
            double base = underlay->channels == 1 ? underlay->data[i] : underlay->data[3 * i + (size_t)k];
            double v = base * (1.0 - a) + (double)c[k] * a + 0.5;
            r->data[3 * i + (size_t)k] = (uint8_t)(v > 255.0 ? 255.0 : v);
        }
    }
    *out = r;
    return LRP_OK;
}

lrp_status lrp_raster_side_by_side(const lrp_raster *left, const lrp_raster *right, const uint8_t pal[256][3],
                                   lrp_raster **out, lrp_error *err)
{
    *out = NULL;
    if (!left || !right)
        return lrp_fail(err, LRP_ERR_ARG, "side by side: missing raster");
    if (left->height != right->height)
        return lrp_fail(err, LRP_ERR_SHAPE, "side by side: heights differ (%d and %d)", left->height, right->height);
    if ((int64_t)left->width + right->width > INT32_MAX)
        return lrp_fail(err, LRP_ERR_LIMIT, "side by side: too wide");
    lrp_raster *a = as_rgb(left, pal, err), *b = a ? as_rgb(right, pal, err) : NULL;
    lrp_raster *r = b ? lrp_raster_new(left->width + right->width, left->height, 3, err) : NULL;
    if (r) {
        size_t la = 3 * (size_t)left->width, lb = 3 * (size_t)right->width;
        for (int y = 0; y < r->height; y++) {
            uint8_t *d = r->data + (size_t)y * (la + lb);
            memcpy(d, a->data + (size_t)y * la, la);
            memcpy(d + la, b->data + (size_t)y * lb, lb);
        }
    }
    lrp_raster_free(a);
    lrp_raster_free(b);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    *out = r;
    return LRP_OK;
}

void lrp_colorbar_size(int height, int *gap, int *bar)
{
    *gap = height / 32 > 2 ? height / 32 : 2;
    *bar = height / 16 > 4 ? height / 16 : 4;
}

int lrp_colorbar_index(int y, int height)
{
    if (height < 2)
        return 255;
    return (int)(((int64_t)(height - 1 - y) * 255 + (height - 1) / 2) / (height - 1));
}

lrp_status lrp_raster_colorbar(const lrp_raster *heat, const uint8_t pal[256][3], lrp_raster **out, lrp_error *err)
{
    *out = NULL;
    if (!heat || !pal)
        return lrp_fail(err, LRP_ERR_ARG, "colour bar: need a heatmap and a palette");
    int gap, bar;
    lrp_colorbar_size(heat->height, &gap, &bar);
    if ((int64_t)heat->width + gap + bar > INT32_MAX)
        return lrp_fail(err, LRP_ERR_LIMIT, "colour bar: too wide");
    lrp_raster *a = as_rgb(heat, pal, err);
    lrp_raster *r = a ? lrp_raster_new(heat->width + gap + bar, heat->height, 3, err) : NULL;
    if (r) {
        size_t la = 3 * (size_t)heat->width, row = 3 * (size_t)r->width;
        for (int y = 0; y < r->height; y++) {
            uint8_t *d = r->data + (size_t)y * row;
            memcpy(d, a->data + (size_t)y * la, la);
            memset(d + la, 255, 3 * (size_t)gap);
            const uint8_t *c = pal[lrp_colorbar_index(y, r->height)];
            for (int x = 0; x < bar; x++)
                memcpy(d + la + 3 * (size_t)(gap + x), c, 3);
        }
    }
    lrp_raster_free(a);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    *out = r;
    return LRP_OK;
}
