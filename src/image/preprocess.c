/*
 * torchvision-style preprocessing (torchvision 0.14 on PIL images):
 *   [convert('L')] -> Resize(int) | Resize((h, w)) -> CenterCrop((h, w))
 *   -> ToTensor() -> Normalize(mean, std)
 * reproduced exactly:
 *  - Resize(int size) keeps the aspect ratio: the shorter side becomes size,
 *    the longer int(size * long / short) (truncated); resampling is PIL's
 *    bilinear (image_resize.c);
 *  - CenterCrop takes top = int(round((H - h) / 2.0)), left likewise, with
 *    Python's round-half-to-even; an image smaller than the crop is first
 *    padded with black: (crop - size) // 2 before, the rest after;
 *  - ToTensor divides by 255 in float32; Normalize computes
 *    (x - mean[c]) / std[c] in float32 (two roundings, no fused operations).
 */
#include "base/error.h"
#include "image/image.h"
#include "base/tensor.h"

#include <stdlib.h>
#include <string.h>

void lrp_preprocess_defaults(lrp_preprocess *p, int height, int width)
{
    static const lrp_real mean[3] = {LRP_R(0.485), LRP_R(0.456), LRP_R(0.406)},
                          std[3] = {LRP_R(0.229), LRP_R(0.224), LRP_R(0.225)};
    memset(p, 0, sizeof *p);
    p->height = height;
    p->width = width;
    p->resize_mode = LRP_RESIZE_SHORTER;
    p->resize_to = 0;
    p->channels = 3;
    p->bgr = 0;
    p->range255 = 0;
    memcpy(p->mean, mean, sizeof mean);
    memcpy(p->std, std, sizeof std);
    p->nhwc = 0;
}

int lrp_preprocess_resize_size(const lrp_preprocess *p)
{
    if (p->resize_to > 0)
        return p->resize_to;
    int s = p->height < p->width ? p->height : p->width;
    /* int(S * 256 / 224): S*256/224 = S*8/7 is either an integer or at least
     * 1/7 away from one, so integer division gives what Python's float
     * division and int() give. */
    return (int)((int64_t)s * 256 / 224);
}

static lrp_status check_params(const lrp_preprocess *p, lrp_error *err)
{
    if (!p)
        return lrp_fail(err, LRP_ERR_ARG, "preprocess: no parameters");
    if (p->height <= 0 || p->width <= 0 || p->height > LRP_IMAGE_MAX_SIDE || p->width > LRP_IMAGE_MAX_SIDE ||
        (int64_t)p->height * p->width > LRP_IMAGE_MAX_PIXELS)
        return lrp_fail(err, LRP_ERR_ARG, "preprocess: invalid input size %dx%d", p->width, p->height);
    if (p->channels != 1 && p->channels != 3)
        return lrp_fail(err, LRP_ERR_ARG, "preprocess: %d channels (need 1 or 3)", p->channels);
    if (p->resize_mode != LRP_RESIZE_SHORTER && p->resize_mode != LRP_RESIZE_EXACT &&
        p->resize_mode != LRP_RESIZE_NONE)
        return lrp_fail(err, LRP_ERR_ARG, "preprocess: unknown resize mode %d", (int)p->resize_mode);
    if (p->resize_mode == LRP_RESIZE_SHORTER && (p->resize_to < 0 || p->resize_to > LRP_IMAGE_MAX_SIDE))
        return lrp_fail(err, LRP_ERR_ARG, "preprocess: invalid resize size %d", p->resize_to);
    if (p->resize_mode == LRP_RESIZE_SHORTER && lrp_preprocess_resize_size(p) <= 0)
        return lrp_fail(err, LRP_ERR_ARG, "preprocess: resize size is 0");
    for (int c = 0; c < p->channels; c++)
        if (!(p->std[c] != 0.0f) || p->std[c] != p->std[c] || p->mean[c] != p->mean[c])
            return lrp_fail(err, LRP_ERR_ARG, "preprocess: std[%d] is zero or mean/std is NaN", c);
    return LRP_OK;
}

/* Python's int(round(d / 2.0)) for d >= 0: half to even. */
static int half_round_even(int d)
{
    int k = d / 2;
    if (d % 2 != 0 && k % 2 != 0)
        k++;
    return k;
}

/* torchvision CenterCrop to h x w (zero padding when the image is smaller). */
static lrp_status center_crop(const lrp_image *src, int w, int h, lrp_image *dst, lrp_error *err)
{
    int sw = src->width, sh = src->height;
    /* padding as torchvision: left/top (crop - size) // 2, rest right/bottom */
    int pad_l = w > sw ? (w - sw) / 2 : 0, pad_t = h > sh ? (h - sh) / 2 : 0;
    int pw = w > sw ? w : sw, ph = h > sh ? h : sh; /* padded size */
    /* after padding, the crop offset in the padded image */
    int left = half_round_even(pw - w), top = half_round_even(ph - h);
    uint8_t *o = calloc((size_t)w * (size_t)h, 3);
    if (!o)
        return lrp_fail(err, LRP_ERR_NOMEM, "preprocess: out of memory");
    for (int y = 0; y < h; y++) {
        int sy = y + top - pad_t; /* row in src */
        if (sy < 0 || sy >= sh)
            continue;
        int x0 = 0, x1 = w; /* output columns that map into src */
        while (x0 < w && x0 + left - pad_l < 0)
            x0++;
        while (x1 > x0 && x1 - 1 + left - pad_l >= sw)
            x1--;
        if (x1 > x0)
            memcpy(o + ((size_t)y * w + x0) * 3, src->rgb + ((size_t)sy * sw + (x0 + left - pad_l)) * 3,
                   (size_t)(x1 - x0) * 3);
    }
    dst->width = w;
    dst->height = h;
    dst->rgb = o;
    return LRP_OK;
}

lrp_status lrp_preprocess_view(const lrp_image *img, const lrp_preprocess *p, lrp_image *out, lrp_error *err)
{
    if (!out)
        return lrp_fail(err, LRP_ERR_ARG, "preprocess: no output image");
    memset(out, 0, sizeof *out);
    lrp_status st = check_params(p, err);
    if (st != LRP_OK)
        return st;
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return lrp_fail(err, LRP_ERR_ARG, "preprocess: empty image");

    lrp_image gray = {0}, resized = {0};
    const lrp_image *cur = img;
    if (p->channels == 1) {
        /* PIL convert('L') comes first, on the full image */
        if ((st = lrp_image_to_gray(img, &gray, err)) != LRP_OK)
            return st;
        cur = &gray;
    }
    int rw = cur->width, rh = cur->height;
    if (p->resize_mode == LRP_RESIZE_SHORTER) {
        int64_t size = lrp_preprocess_resize_size(p);
        if (cur->width <= cur->height) {
            rw = (int)size;
            rh = (int)(size * cur->height / cur->width);
        } else {
            rh = (int)size;
            rw = (int)(size * cur->width / cur->height);
        }
        if (rw <= 0 || rh <= 0 || rw > LRP_IMAGE_MAX_SIDE || rh > LRP_IMAGE_MAX_SIDE ||
            (int64_t)rw * rh > LRP_IMAGE_MAX_PIXELS) {
            lrp_image_free(&gray);
            return lrp_fail(err, LRP_ERR_LIMIT, "preprocess: resizing %dx%d to shorter side %d gives an unusable size",
                            cur->width, cur->height, (int)size);
        }
    } else if (p->resize_mode == LRP_RESIZE_EXACT) {
        rw = p->width;
        rh = p->height;
    }
    if (rw != cur->width || rh != cur->height) {
        st = lrp_image_resize(cur, rw, rh, &resized, err);
        lrp_image_free(&gray);
        if (st != LRP_OK)
            return st;
        cur = &resized;
    }
    st = center_crop(cur, p->width, p->height, out, err);
    lrp_image_free(&gray);
    lrp_image_free(&resized);
    return st;
}

lrp_status lrp_preprocess_image(const lrp_image *img, const lrp_preprocess *p, lrp_tensor **out, lrp_error *err)
{
    if (!out)
        return lrp_fail(err, LRP_ERR_ARG, "preprocess: no output tensor");
    *out = NULL;
    lrp_image view = {0};
    lrp_status st = lrp_preprocess_view(img, p, &view, err);
    if (st != LRP_OK)
        return st;
    int C = p->channels, H = p->height, W = p->width;
    int64_t dims[4] = {1, C, H, W};
    if (p->nhwc) {
        dims[1] = H;
        dims[2] = W;
        dims[3] = C;
    }
    lrp_tensor *t = lrp_tensor_new(LRP_REAL_DT, 4, dims, err);
    if (!t) {
        lrp_image_free(&view);
        return err ? err->status : LRP_ERR_NOMEM;
    }
    lrp_real *d = lrp_reals(t);
    for (int c = 0; c < C; c++) {
        /* output channel c reads pixel channel src; luma is in all three */
        int src = C == 1 ? 0 : p->bgr ? 2 - c : c;
        lrp_real mean = p->mean[c], std = p->std[c];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                lrp_real v = (lrp_real)view.rgb[((size_t)y * W + x) * 3 + src];
                if (!p->range255)
                    v = v / 255.0f;
                v = (v - mean) / std;
                size_t i = p->nhwc ? ((size_t)y * W + x) * C + c : ((size_t)c * H + y) * W + x;
                d[i] = v;
            }
    }
    lrp_image_free(&view);
    *out = t;
    return LRP_OK;
}
