/* Heatmaps: zennit's normalization and quantization, grids, scaling, overlays,
 * PNG writing/reading, and the refset's golden heatmap PNGs.
 *
 * testdata/heatmaps holds 8 PNGs and their 4 golden relevances copied unchanged
 * from ../shared/refset (heatmaps/ and golden/), made by zennit: imgify of the
 * channel-summed relevance, "-sym" = symmetric bounds, else min..max. */
#include "refset_common.h"
#include "testutil.h"

#include "render/cmap.h"
#include "render/heatmap.h"
#include "render/png_io.h"
#include "base/tensor.h"

#include <dirent.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static lrp_tensor *tensor_of(const lrp_real *v, int ndim, const int64_t *dims)
{
    lrp_error err;
    lrp_tensor *t = lrp_tensor_from_floats(v, ndim, dims, &err);
    if (!t)
        fail_msg("tensor: %s", err.message);
    return t;
}

static void quantize_with(const lrp_real *v, size_t n, lrp_heatmap_norm norm, uint8_t *out)
{
    lrp_heatmap_opts o;
    lrp_heatmap_opts_init(&o);
    o.norm = norm;
    lrp_heatmap_quantize(v, n, &o, out);
}

static void expect_bytes(const uint8_t *got, const uint8_t *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s: [%zu] = %u, expected %u", what, i, got[i], want[i]);
}

/* ------------------------------------------------------------ quantization */

/* imgify: trunc(clip((a - vmin)/(vmax - vmin)*255, 0, 255)) (§6.1, §7). */
static void test_quantize_facts(void **state)
{
    (void)state;
    lrp_heatmap_opts o;
    lrp_heatmap_opts_init(&o);
    o.norm = LRP_NORM_RANGE;
    o.vmin = 0.0;
    o.vmax = 1.0;
    const lrp_real v[] = {1.0f, 0.5f, 0.0f, -1.0f, 2.0f, 0.999f, 1.0f / 255.0f, 0.25f};
    uint8_t out[8];
    lrp_heatmap_quantize(v, 8, &o, out);
    const uint8_t want[] = {255, 127, 0, 0, 255, 254, 1, 63};
    expect_bytes(out, want, 8, "range 0..1");

    /* NumPy 1.x arithmetic with user bounds: float32 (x - vmin) / float32(vmax - vmin).
     * x = 0x1.060606p0 = 1.0235294103... lies just below 261/255, so in exact (or double)
     * arithmetic x/3*255 = 86.99999... -> 86; in float32 x/3 rounds to 0x1.5d5d5ep-2, which is
     * above 87/255, so NumPy 1.24 gives 87 (NumPy 2 would give 86). */
    const lrp_real x = 0x1.060606p+0f;
    assert_true((double)x / 3.0 * 255.0 < 87.0);
    o.vmin = 0.0;
    o.vmax = 3.0;
    lrp_heatmap_quantize(&x, 1, &o, out);
    assert_int_equal(out[0], 87);

    /* symmetric: 0 -> 127 (not the centre node 128) */
    const lrp_real s[] = {-2.0f, 0.0f, 1.0f, 2.0f};
    quantize_with(s, 4, LRP_NORM_SYMMETRIC, out);
    const uint8_t ws[] = {0, 127, 191, 255};
    expect_bytes(out, ws, 4, "symmetric");
    /* absolute */
    quantize_with(s, 4, LRP_NORM_ABSOLUTE, out);
    const uint8_t wa[] = {255, 0, 127, 255};
    expect_bytes(out, wa, 4, "absolute");
    /* unaligned */
    const lrp_real u[] = {-1.0f, 0.0f, 1.0f, 3.0f};
    quantize_with(u, 4, LRP_NORM_UNALIGNED, out);
    const uint8_t wu[] = {0, 63, 127, 255};
    expect_bytes(out, wu, 4, "unaligned");
    /* a user range wider than the data */
    o.vmin = -4.0;
    o.vmax = 4.0;
    lrp_heatmap_quantize(u, 4, &o, out);
    const uint8_t wr[] = {95, 127, 159, 223};
    expect_bytes(out, wr, 4, "range -4..4");
}

/* Degenerate maps give 0/0 = NaN in zennit, rendered as index 0; never UB. */
static void test_degenerate(void **state)
{
    (void)state;
    lrp_real zero[6] = {0};
    uint8_t out[6];
    const uint8_t zeros[6] = {0};
    for (int norm = 0; norm < 3; norm++) {
        memset(out, 0xaa, sizeof out);
        quantize_with(zero, 6, (lrp_heatmap_norm)norm, out);
        expect_bytes(out, zeros, 6, lrp_heatmap_norm_name((lrp_heatmap_norm)norm));
    }
    /* constant map, unaligned: max - min = 0 */
    lrp_real c[3] = {5.0f, 5.0f, 5.0f};
    quantize_with(c, 3, LRP_NORM_UNALIGNED, out);
    expect_bytes(out, zeros, 3, "constant unaligned");
    /* constant map, symmetric: all at the top */
    quantize_with(c, 3, LRP_NORM_SYMMETRIC, out);
    const uint8_t top[3] = {255, 255, 255};
    expect_bytes(out, top, 3, "constant symmetric");
    /* a NaN makes the bounds NaN, as NumPy's max does */
    lrp_real n[3] = {1.0f, NAN, -1.0f};
    for (int norm = 0; norm < 3; norm++) {
        quantize_with(n, 3, (lrp_heatmap_norm)norm, out);
        expect_bytes(out, zeros, 3, "with NaN");
    }
    /* infinities */
    lrp_real inf[3] = {1.0f, INFINITY, -INFINITY};
    for (int norm = 0; norm < 3; norm++)
        quantize_with(inf, 3, (lrp_heatmap_norm)norm, out); /* must not trap under UBSan */
    /* vmin == vmax */
    lrp_heatmap_opts o;
    lrp_heatmap_opts_init(&o);
    o.norm = LRP_NORM_RANGE;
    o.vmin = o.vmax = 1.0;
    lrp_real r[3] = {1.0f, 1.0f, 1.0f};
    lrp_heatmap_quantize(r, 3, &o, out);
    expect_bytes(out, zeros, 3, "vmin == vmax");
    /* a whole all-zero relevance tensor renders */
    int64_t dims[4] = {1, 3, 4, 5};
    lrp_error err;
    lrp_tensor *t = lrp_tensor_new(LRP_REAL_DT, 4, dims, &err);
    assert_non_null(t);
    lrp_raster *img = NULL;
    assert_int_equal(lrp_heatmap_indices(t, NULL, 0, &img, &err), LRP_OK);
    assert_int_equal(img->width, 5);
    assert_int_equal(img->height, 4);
    for (int i = 0; i < 20; i++)
        assert_int_equal(img->data[i], 0);
    lrp_raster_free(img);
    lrp_tensor_free(t);
}

static void test_norm_names(void **state)
{
    (void)state;
    assert_int_equal(lrp_heatmap_norm_from_name("symmetric"), LRP_NORM_SYMMETRIC);
    assert_int_equal(lrp_heatmap_norm_from_name("absolute"), LRP_NORM_ABSOLUTE);
    assert_int_equal(lrp_heatmap_norm_from_name("unaligned"), LRP_NORM_UNALIGNED);
    assert_int_equal(lrp_heatmap_norm_from_name("bogus"), -1);
    assert_string_equal(lrp_heatmap_norm_name(LRP_NORM_ABSOLUTE), "absolute");
}

/* ------------------------------------------------------------- channel sum */

static void test_channel_sum(void **state)
{
    (void)state;
    lrp_error err;
    /* (1,3,2,2) channels first */
    const lrp_real nchw[12] = {1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400};
    int64_t d4[4] = {1, 3, 2, 2};
    lrp_tensor *t = tensor_of(nchw, 4, d4);
    lrp_tensor *s = NULL;
    assert_int_equal(lrp_heatmap_channel_sum(t, 0, &s, &err), LRP_OK);
    assert_int_equal(s->ndim, 3);
    assert_int_equal(s->dims[0], 1);
    assert_int_equal(s->dims[1], 2);
    assert_int_equal(s->dims[2], 2);
    const lrp_real want[4] = {111, 222, 333, 444};
    assert_memory_equal(lrp_reals(s), want, sizeof want);
    lrp_tensor_free(s);
    lrp_tensor_free(t);
    /* the same data channels last: (1,2,2,3) */
    lrp_real nhwc[12];
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < 4; p++)
            nhwc[p * 3 + c] = nchw[c * 4 + p];
    int64_t d4l[4] = {1, 2, 2, 3};
    t = tensor_of(nhwc, 4, d4l);
    assert_int_equal(lrp_heatmap_channel_sum(t, 1, &s, &err), LRP_OK);
    assert_memory_equal(lrp_reals(s), want, sizeof want);
    lrp_tensor_free(s);
    lrp_tensor_free(t);
    /* float32 in channel order: (1e8 + 1) - 1e8 = 0 in float32, not 1 */
    const lrp_real order[3] = {1e8f, 1.0f, -1e8f};
    int64_t d1[4] = {1, 3, 1, 1};
    t = tensor_of(order, 4, d1);
    assert_int_equal(lrp_heatmap_channel_sum(t, 0, &s, &err), LRP_OK);
    assert_true(lrp_reals(s)[0] == 0.0f);
    lrp_tensor_free(s);
    lrp_tensor_free(t);
    /* 2-D (H,W) */
    int64_t d2[2] = {2, 3};
    t = tensor_of(nchw, 2, d2);
    assert_int_equal(lrp_heatmap_channel_sum(t, 0, &s, &err), LRP_OK);
    assert_int_equal(s->dims[0], 1);
    assert_int_equal(s->dims[1], 2);
    assert_int_equal(s->dims[2], 3);
    lrp_tensor_free(s);
    lrp_tensor_free(t);
    /* 1-D and 5-D are refused */
    int64_t d5[5] = {1, 1, 1, 1, 12};
    t = tensor_of(nchw, 5, d5);
    assert_int_equal(lrp_heatmap_channel_sum(t, 0, &s, &err), LRP_ERR_SHAPE);
    assert_null(s);
    assert_non_null(strstr(err.message, "(1, 1, 1, 1, 12)"));
    lrp_tensor_free(t);
}

/* ------------------------------------------------------------------- grids */

static void test_grid_shapes(void **state)
{
    (void)state;
    /* grid_w = int(sqrt(n)), grid_h = ceil(n / grid_w) */
    static const int want[][3] = {{1, 1, 1},  {2, 2, 1},   {3, 3, 1},     {4, 2, 2},    {5, 3, 2},  {6, 3, 2},
                                  {7, 4, 2},  {8, 4, 2},   {9, 3, 3},     {10, 4, 3},   {15, 5, 3}, {16, 4, 4},
                                  {17, 5, 4}, {99, 11, 9}, {100, 10, 10}, {101, 11, 10}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int gh, gw;
        lrp_grid_shape(want[i][0], &gh, &gw);
        if (gh != want[i][1] || gw != want[i][2])
            fail_msg("n=%d: grid %dx%d, expected %dx%d", want[i][0], gh, gw, want[i][1], want[i][2]);
    }
}

static void test_gridify(void **state)
{
    (void)state;
    lrp_error err;
    /* 3 tiles of 2x2, 1 channel -> default layout 3 rows x 1 column */
    uint8_t tiles[12] = {10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33};
    lrp_raster *g = NULL;
    assert_int_equal(lrp_gridify(tiles, 3, 2, 2, 1, 0, 0, NULL, &g, &err), LRP_OK);
    assert_int_equal(g->width, 2);
    assert_int_equal(g->height, 6);
    assert_memory_equal(g->data, tiles, 12);
    lrp_raster_free(g);
    /* 5 tiles -> 3x2 grid, row-major, the empty cell filled with the minimum (10) */
    uint8_t five[20];
    for (int t = 0; t < 5; t++)
        for (int p = 0; p < 4; p++)
            five[t * 4 + p] = (uint8_t)(10 * (t + 1) + p);
    assert_int_equal(lrp_gridify(five, 5, 2, 2, 1, 0, 0, NULL, &g, &err), LRP_OK);
    assert_int_equal(g->width, 4);
    assert_int_equal(g->height, 6);
    const uint8_t want5[24] = {10, 11, 20, 21, 12, 13, 22, 23, 30, 31, 40, 41,
                               32, 33, 42, 43, 50, 51, 10, 10, 52, 53, 10, 10};
    expect_bytes(g->data, want5, 24, "5-tile grid");
    lrp_raster_free(g);
    /* explicit shape and fill, RGB, per-channel minimum */
    uint8_t rgb[2 * 3] = {5, 100, 200, 7, 90, 250}; /* 2 tiles of 1x1 RGB */
    assert_int_equal(lrp_gridify(rgb, 2, 1, 1, 3, 2, 2, NULL, &g, &err), LRP_OK);
    assert_int_equal(g->width, 2);
    assert_int_equal(g->height, 2);
    const uint8_t wantrgb[12] = {5, 100, 200, 7, 90, 250, 5, 90, 200, 5, 90, 200};
    expect_bytes(g->data, wantrgb, 12, "RGB grid");
    lrp_raster_free(g);
    const uint8_t fill[3] = {1, 2, 3};
    assert_int_equal(lrp_gridify(rgb, 2, 1, 1, 3, 1, 3, fill, &g, &err), LRP_OK);
    assert_int_equal(g->width, 3);
    const uint8_t wantfill[9] = {5, 100, 200, 7, 90, 250, 1, 2, 3};
    expect_bytes(g->data, wantfill, 9, "explicit fill");
    lrp_raster_free(g);
    /* a grid smaller than n drops the rest */
    assert_int_equal(lrp_gridify(tiles, 3, 2, 2, 1, 1, 1, NULL, &g, &err), LRP_OK);
    assert_int_equal(g->width * g->height, 4);
    assert_memory_equal(g->data, tiles, 4);
    lrp_raster_free(g);
    assert_int_equal(lrp_gridify(tiles, 0, 2, 2, 1, 0, 0, NULL, &g, &err), LRP_ERR_ARG);
}

/* imgify(grid=True): each sample normalized on its own, then gridified. */
static void test_heatmap_grid(void **state)
{
    (void)state;
    lrp_error err;
    /* 3 samples, 1 channel, 1x2 */
    const lrp_real v[6] = {-1, 1, 0, 2, -4, 0};
    int64_t d[4] = {3, 1, 1, 2};
    lrp_tensor *t = tensor_of(v, 4, d);
    lrp_heatmap_opts o;
    lrp_heatmap_opts_init(&o);
    lrp_raster *g = NULL;
    assert_int_equal(lrp_heatmap_indices(t, &o, -1, &g, &err), LRP_OK);
    assert_int_equal(g->width, 2);
    assert_int_equal(g->height, 3);
    const uint8_t want[6] = {0, 255, 127, 255, 0, 127};
    expect_bytes(g->data, want, 6, "grid of 3");
    lrp_raster_free(g);
    assert_int_equal(lrp_heatmap_indices(t, &o, 1, &g, &err), LRP_OK);
    assert_int_equal(g->width, 2);
    assert_int_equal(g->height, 1);
    expect_bytes(g->data, want + 2, 2, "sample 1");
    lrp_raster_free(g);
    assert_int_equal(lrp_heatmap_indices(t, &o, 3, &g, &err), LRP_ERR_ARG);
    assert_null(g);
    lrp_tensor_free(t);
}

/* ------------------------------------------------- colour, scale, overlay */

static void test_colorize_scale_overlay(void **state)
{
    (void)state;
    lrp_error err;
    uint8_t pal[256][3];
    assert_int_equal(lrp_palette_for("bwr", 1.0, pal, &err), LRP_OK);
    lrp_raster *idx = lrp_raster_new(2, 2, 1, &err);
    assert_non_null(idx);
    const uint8_t iv[4] = {0, 128, 255, 64};
    memcpy(idx->data, iv, 4);
    lrp_raster *rgb = NULL;
    assert_int_equal(lrp_raster_colorize(idx, pal, &rgb, &err), LRP_OK);
    assert_memory_equal(rgb->data, pal[0], 3);
    assert_memory_equal(rgb->data + 3, pal[128], 3);
    assert_memory_equal(rgb->data + 9, pal[64], 3);

    /* nearest 2x2 -> 4x4: 2x2 blocks */
    lrp_raster *big = NULL;
    assert_int_equal(lrp_raster_scale(idx, 4, 4, LRP_SCALE_NEAREST, &big, &err), LRP_OK);
    const uint8_t wbig[16] = {0, 0, 128, 128, 0, 0, 128, 128, 255, 255, 64, 64, 255, 255, 64, 64};
    expect_bytes(big->data, wbig, 16, "nearest x2");
    lrp_raster_free(big);
    /* nearest 4x4 -> 2x2 takes the pixel whose centre is nearest */
    lrp_raster *four = lrp_raster_new(4, 1, 1, &err);
    const uint8_t f4[4] = {1, 2, 3, 4};
    memcpy(four->data, f4, 4);
    assert_int_equal(lrp_raster_scale(four, 2, 1, LRP_SCALE_NEAREST, &big, &err), LRP_OK);
    assert_int_equal(big->data[0], 2);
    assert_int_equal(big->data[1], 4);
    lrp_raster_free(big);
    lrp_raster_free(four);
    /* bilinear: same size is the identity; 1x2 -> 1x4 interpolates between centres */
    assert_int_equal(lrp_raster_scale(rgb, 2, 2, LRP_SCALE_BILINEAR, &big, &err), LRP_OK);
    assert_memory_equal(big->data, rgb->data, 12);
    lrp_raster_free(big);
    lrp_raster *two = lrp_raster_new(2, 1, 1, &err);
    two->data[0] = 0;
    two->data[1] = 100;
    assert_int_equal(lrp_raster_scale(two, 4, 1, LRP_SCALE_BILINEAR, &big, &err), LRP_OK);
    const uint8_t wbil[4] = {0, 25, 75, 100};
    expect_bytes(big->data, wbil, 4, "bilinear 2->4");
    lrp_raster_free(big);
    lrp_raster_free(two);
    assert_int_equal(lrp_raster_scale(idx, 0, 4, LRP_SCALE_NEAREST, &big, &err), LRP_ERR_ARG);

    /* overlay */
    lrp_raster *image = lrp_raster_new(2, 2, 3, &err);
    memset(image->data, 200, 12);
    lrp_raster *o = NULL;
    assert_int_equal(lrp_heatmap_overlay(image, idx, pal, 0.0, &o, &err), LRP_OK);
    assert_memory_equal(o->data, image->data, 12);
    lrp_raster_free(o);
    assert_int_equal(lrp_heatmap_overlay(image, idx, pal, 1.0, &o, &err), LRP_OK);
    assert_memory_equal(o->data, rgb->data, 12);
    lrp_raster_free(o);
    assert_int_equal(lrp_heatmap_overlay(image, rgb, NULL, 0.5, &o, &err), LRP_OK);
    /* pixel 0 is pal[0] = 0000ff: (200+0)/2 = 100, (200+255)/2 = 227.5 -> 228 */
    assert_int_equal(o->data[0], 100);
    assert_int_equal(o->data[2], 228);
    lrp_raster_free(o);
    assert_int_equal(lrp_heatmap_overlay(image, idx, pal, 1.5, &o, &err), LRP_ERR_ARG);
    lrp_raster *small = lrp_raster_new(1, 1, 3, &err);
    assert_int_equal(lrp_heatmap_overlay(image, small, pal, 0.5, &o, &err), LRP_ERR_SHAPE);
    assert_null(o);
    lrp_raster_free(small);
    lrp_raster_free(image);
    lrp_raster_free(rgb);
    lrp_raster_free(idx);
    assert_null(lrp_raster_new(1, 1, 2, &err));
    assert_null(lrp_raster_new(1 << 20, 1 << 20, 1, &err));
    assert_int_equal(err.status, LRP_ERR_LIMIT);
}

/* -------------------------------------------------------------------- PNG */

static void test_png_deterministic(void **state)
{
    (void)state;
    lrp_error err;
    uint8_t pal[256][3];
    assert_int_equal(lrp_palette_for("coldnhot", 1.0, pal, &err), LRP_OK);
    lrp_raster *idx = lrp_raster_new(37, 23, 1, &err);
    for (int i = 0; i < 37 * 23; i++)
        idx->data[i] = (uint8_t)(i * 7 + i / 37);
    const char *a = tu_temp_file("", 0, ".png");
    const char *b = tu_temp_file("", 0, ".png");
    assert_non_null(a);
    assert_non_null(b);
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s", a);
    snprintf(pb, sizeof pb, "%s", b);
    assert_int_equal(lrp_png_write_palette(pa, idx, pal, &err), LRP_OK);
    assert_int_equal(lrp_png_write_palette(pb, idx, pal, &err), LRP_OK);
    size_t la, lb;
    unsigned char *da = tu_read_file(pa, &la), *db = tu_read_file(pb, &lb);
    assert_non_null(da);
    assert_non_null(db);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    /* chunks: IHDR (colour type 3, depth 8), PLTE of 768 bytes, IDAT, IEND; nothing else */
    assert_memory_equal(da, "\x89PNG\r\n\x1a\n", 8);
    size_t off = 8;
    int n_idat = 0, seen_plte = 0;
    while (off + 8 <= la) {
        uint32_t len =
            (uint32_t)da[off] << 24 | (uint32_t)da[off + 1] << 16 | (uint32_t)da[off + 2] << 8 | da[off + 3];
        const char *type = (const char *)da + off + 4;
        if (!memcmp(type, "IHDR", 4)) {
            assert_int_equal(da[off + 8 + 8], 8); /* bit depth */
            assert_int_equal(da[off + 8 + 9], 3); /* colour type */
        } else if (!memcmp(type, "PLTE", 4)) {
            assert_int_equal(len, 768);
            assert_memory_equal(da + off + 8, pal, 768);
            seen_plte = 1;
        } else if (!memcmp(type, "IDAT", 4)) {
            n_idat++;
        } else if (memcmp(type, "IEND", 4)) {
            fail_msg("unexpected chunk %.4s", type);
        }
        off += 12 + len;
    }
    assert_int_equal(off, la);
    assert_true(seen_plte && n_idat >= 1);
    free(da);
    free(db);
    /* read back: palette resolved */
    lrp_raster *back = NULL, *want = NULL;
    assert_int_equal(lrp_png_read_rgb(pa, &back, &err), LRP_OK);
    assert_int_equal(lrp_raster_colorize(idx, pal, &want, &err), LRP_OK);
    assert_int_equal(back->width, 37);
    assert_int_equal(back->height, 23);
    assert_int_equal(back->channels, 3);
    assert_memory_equal(back->data, want->data, 37 * 23 * 3);
    lrp_raster_free(back);
    /* RGB: deterministic and lossless */
    assert_int_equal(lrp_png_write_rgb(pa, want, &err), LRP_OK);
    assert_int_equal(lrp_png_write_rgb(pb, want, &err), LRP_OK);
    da = tu_read_file(pa, &la);
    db = tu_read_file(pb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    free(da);
    free(db);
    assert_int_equal(lrp_png_read_rgb(pa, &back, &err), LRP_OK);
    assert_memory_equal(back->data, want->data, 37 * 23 * 3);
    lrp_raster_free(back);
    /* wrong channel counts */
    assert_int_equal(lrp_png_write_rgb(pa, idx, &err), LRP_ERR_ARG);
    assert_int_equal(lrp_png_write_palette(pa, want, pal, &err), LRP_ERR_ARG);
    assert_non_null(strstr(err.message, pa));
    lrp_raster_free(want);
    lrp_raster_free(idx);
    unlink(pa);
    unlink(pb);
}

/* Writes a PNG of another kind with libpng's simplified API. */
static void write_simple(const char *path, uint32_t format, int w, int h, const void *pixels)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)w;
    im.height = (png_uint_32)h;
    im.format = format;
    if (!png_image_write_to_file(&im, path, 0, pixels, 0, NULL))
        fail_msg("writing %s: %s", path, im.message);
}

static void test_png_read_kinds(void **state)
{
    (void)state;
    lrp_error err;
    char path[256];
    snprintf(path, sizeof path, "%s", tu_temp_file("", 0, ".png"));
    lrp_raster *r = NULL;
    /* gray + alpha */
    const uint8_t ga[4] = {10, 255, 200, 0};
    write_simple(path, PNG_FORMAT_GA, 2, 1, ga);
    assert_int_equal(lrp_png_read_rgb(path, &r, &err), LRP_OK);
    const uint8_t wga[6] = {10, 10, 10, 200, 200, 200};
    expect_bytes(r->data, wga, 6, "gray+alpha");
    lrp_raster_free(r);
    /* RGBA: alpha dropped, not composited */
    const uint8_t rgba[8] = {1, 2, 3, 0, 250, 251, 252, 128};
    write_simple(path, PNG_FORMAT_RGBA, 2, 1, rgba);
    assert_int_equal(lrp_png_read_rgb(path, &r, &err), LRP_OK);
    const uint8_t wrgba[6] = {1, 2, 3, 250, 251, 252};
    expect_bytes(r->data, wrgba, 6, "RGBA");
    lrp_raster_free(r);
    /* gray */
    const uint8_t gray[3] = {0, 128, 255};
    write_simple(path, PNG_FORMAT_GRAY, 3, 1, gray);
    assert_int_equal(lrp_png_read_rgb(path, &r, &err), LRP_OK);
    assert_int_equal(r->width, 3);
    assert_int_equal(r->data[3], 128);
    assert_int_equal(r->data[5], 128);
    assert_int_equal(r->data[8], 255);
    lrp_raster_free(r);
    /* 16-bit gray: reduced to 8 bits */
    const uint16_t g16[2] = {0, 65535};
    write_simple(path, PNG_FORMAT_LINEAR_Y, 2, 1, g16);
    assert_int_equal(lrp_png_read_rgb(path, &r, &err), LRP_OK);
    assert_int_equal(r->data[0], 0);
    assert_int_equal(r->data[3], 255);
    lrp_raster_free(r);
    unlink(path);
}

/* Runs f with stderr redirected to a file; returns how many bytes reached it. */
static long stderr_bytes_during(void (*f)(void *), void *arg)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", tu_temp_file("", 0, ".err"));
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = fopen(tmp, "w");
    dup2(fileno(cap), 2);
    f(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(cap);
    size_t len = 0;
    unsigned char *d = tu_read_file(tmp, &len);
    free(d);
    unlink(tmp);
    return (long)len;
}

struct bad_read {
    const char *path;
    lrp_status st;
    lrp_error err;
};

static void do_bad_read(void *arg)
{
    struct bad_read *b = arg;
    lrp_raster *r = (lrp_raster *)1;
    b->st = lrp_png_read_rgb(b->path, &r, &b->err);
    if (r)
        fail_msg("no raster expected for %s", b->path);
}

static void expect_read_error(const char *path, lrp_status want)
{
    struct bad_read b = {path, LRP_OK, {0, ""}};
    long noise = stderr_bytes_during(do_bad_read, &b);
    if (b.st != want)
        fail_msg("%s: status %d, expected %d (%s)", path, (int)b.st, (int)want, b.err.message);
    if (!strstr(b.err.message, path) || strchr(b.err.message, '\n'))
        fail_msg("message should be one line naming %s: %s", path, b.err.message);
    if (noise)
        fail_msg("%ld bytes written to stderr while reading %s", noise, path);
    print_message("  %s\n", b.err.message);
}

static void test_png_errors(void **state)
{
    (void)state;
    lrp_error err;
    expect_read_error("/nonexistent/lrp-test.png", LRP_ERR_IO);
    const char *txt = tu_temp_file("hello, not a png at all", 23, ".png");
    char notpng[256];
    snprintf(notpng, sizeof notpng, "%s", txt);
    expect_read_error(notpng, LRP_ERR_FORMAT);
    /* a valid PNG, truncated, and one with a corrupted IDAT */
    uint8_t pal[256][3];
    assert_int_equal(lrp_palette_for("hot", 1.0, pal, &err), LRP_OK);
    lrp_raster *idx = lrp_raster_new(64, 64, 1, &err);
    for (int i = 0; i < 64 * 64; i++)
        idx->data[i] = (uint8_t)(i * 31 + i / 64);
    char good[256];
    snprintf(good, sizeof good, "%s", tu_temp_file("", 0, ".png"));
    assert_int_equal(lrp_png_write_palette(good, idx, pal, &err), LRP_OK);
    size_t len;
    unsigned char *d = tu_read_file(good, &len);
    assert_non_null(d);
    char cut[256], bad[256];
    snprintf(cut, sizeof cut, "%s", tu_temp_file(d, len / 2, ".png"));
    expect_read_error(cut, LRP_ERR_FORMAT);
    d[len - 40] ^= 0x55; /* inside the IDAT data: bad CRC / zlib stream */
    snprintf(bad, sizeof bad, "%s", tu_temp_file(d, len, ".png"));
    expect_read_error(bad, LRP_ERR_FORMAT);
    free(d);
    /* writing where one cannot */
    assert_int_equal(lrp_png_write_palette("/nonexistent/dir/x.png", idx, pal, &err), LRP_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/dir/x.png"));
    lrp_raster_free(idx);
    unlink(notpng);
    unlink(good);
    unlink(cut);
    unlink(bad);
}

/* ---------------------------------------------------- golden heatmap PNGs */

/* "DIR/MODEL--IMAGE--TARGET--METHOD--CMAP[-sym].png" -> golden base, cmap, symmetric. */
static int split_heatmap_name(const char *file, char *base, size_t base_size, char *cmap, size_t cmap_size,
                              int *symmetric)
{
    const char *slash = strrchr(file, '/');
    const char *name = slash ? slash + 1 : file;
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".png"))
        return -1;
    const char *sep = NULL;
    for (const char *p = name; (p = strstr(p, "--")); p += 2)
        sep = p;
    if (!sep)
        return -1;
    snprintf(base, base_size, "%.*s", (int)(sep - name), name);
    size_t clen = (size_t)(name + n - 4 - (sep + 2));
    *symmetric = clen > 4 && !strncmp(sep + 2 + clen - 4, "-sym", 4);
    if (*symmetric)
        clen -= 4;
    snprintf(cmap, cmap_size, "%.*s", (int)clen, sep + 2);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The refset subset kept in testdata/heatmaps: always runs. */
static void test_golden_subset(void **state)
{
    (void)state;
    const char *dir = tu_testdata("heatmaps");
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    char *names[64];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < 64) {
        size_t n = strlen(e->d_name);
        if (n > 4 && !strcmp(e->d_name + n - 4, ".png"))
            names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)count, sizeof *names, cmp_str);
    assert_true(count >= 6);
    int passed = 0, sym = 0, unsym = 0;
    for (int i = 0; i < count; i++) {
        char base[256], cmap[64], why[300], rel[512], png[512];
        int symmetric;
        assert_int_equal(split_heatmap_name(names[i], base, sizeof base, cmap, sizeof cmap, &symmetric), 0);
        snprintf(rel, sizeof rel, "%s/%s.npy", dir, base);
        snprintf(png, sizeof png, "%s/%s", dir, names[i]);
        lrp_tensor *t = NULL;
        lrp_error err;
        if (lrp_npy_read(rel, &t, &err) != LRP_OK)
            fail_msg("%s", err.message);
        if (rs_heatmap_matches(t, cmap, symmetric, png, why, sizeof why))
            passed++;
        else
            print_message("  MISMATCH %s: %s\n", names[i], why);
        sym += symmetric;
        unsym += !symmetric;
        lrp_tensor_free(t);
        free(names[i]);
    }
    print_message("  testdata heatmaps: %d/%d identical\n", passed, count);
    assert_int_equal(passed, count);
    assert_true(sym > 0 && unsym > 0);
}

/* Reads the JSON string value after key at p ('"key": "value"'); returns the end or NULL. */
static const char *json_string_after(const char *p, const char *key, char *out, size_t size)
{
    size_t k = strlen(key);
    if (strncmp(p, key, k))
        return NULL;
    p += k;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != '"')
        return NULL;
    const char *q = strchr(p + 1, '"');
    if (!q)
        return NULL;
    snprintf(out, size, "%.*s", (int)(q - p - 1), p + 1);
    return q + 1;
}

/* Every heatmap of /work/shared/refset/cases.json. */
static void test_golden_refset(void **state)
{
    (void)state;
    const char *shared = tu_shared_dir();
    if (!shared)
        TU_SKIP("shared reference directory (../shared or $LRP_SHARED) not found");
    char refset[1024];
    snprintf(refset, sizeof refset, "%s/refset", shared);
    size_t len;
    char *json = (char *)tu_read_file(tu_path(refset, "cases.json"), &len);
    if (!json)
        TU_SKIP("%s/cases.json is missing", refset);
    json[len] = '\0';
    char relevance[512] = "", loaded[512] = "", cmap[64] = "", png[512];
    int symmetric = -1, total = 0, passed = 0, declared = 0, shown = 0;
    lrp_tensor *t = NULL;
    for (const char *p = json; (p = strstr(p, "\"png\"")); p++)
        declared++;
    for (const char *p = json; (p = strchr(p, '"'));) {
        const char *next;
        if ((next = json_string_after(p, "\"relevance\"", relevance, sizeof relevance))) {
            p = next;
        } else if ((next = json_string_after(p, "\"cmap\"", cmap, sizeof cmap))) {
            p = next;
        } else if (!strncmp(p, "\"symmetric\"", 11)) {
            const char *v = strchr(p + 11, ':');
            assert_non_null(v);
            v++;
            while (*v == ' ')
                v++;
            symmetric = !strncmp(v, "true", 4) ? 1 : !strncmp(v, "false", 5) ? 0 : -1;
            p = v;
        } else if ((next = json_string_after(p, "\"png\"", png, sizeof png))) {
            p = next;
            total++;
            /* cross-check the entry against the file-name convention */
            char base[256], ncmap[64], why[300];
            int nsym;
            assert_int_equal(split_heatmap_name(png, base, sizeof base, ncmap, sizeof ncmap, &nsym), 0);
            char want_rel[300];
            snprintf(want_rel, sizeof want_rel, "golden/%s.npy", base);
            if (strcmp(want_rel, relevance) || strcmp(ncmap, cmap) || nsym != symmetric)
                fail_msg("cases.json entry %s does not match relevance %s, cmap %s, symmetric %d", png, relevance,
                         cmap, symmetric);
            if (strcmp(loaded, relevance)) {
                lrp_tensor_free(t);
                t = NULL;
                lrp_error err;
                if (lrp_npy_read(tu_path(refset, relevance), &t, &err) != LRP_OK)
                    fail_msg("golden relevance missing: %s", err.message);
                snprintf(loaded, sizeof loaded, "%s", relevance);
            }
            if (rs_heatmap_matches(t, cmap, symmetric, tu_path(refset, png), why, sizeof why))
                passed++;
            else if (shown++ < 10)
                print_message("  MISMATCH %s: %s\n", png, why);
            symmetric = -1;
            cmap[0] = '\0';
        } else {
            p++;
        }
    }
    lrp_tensor_free(t);
    free(json);
    print_message("  refset heatmaps: %d/%d identical\n", passed, total);
    assert_int_equal(total, declared);
    assert_true(total > 0);
    assert_int_equal(passed, total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_facts),    cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_norm_names),        cmocka_unit_test(test_channel_sum),
        cmocka_unit_test(test_grid_shapes),       cmocka_unit_test(test_gridify),
        cmocka_unit_test(test_heatmap_grid),      cmocka_unit_test(test_colorize_scale_overlay),
        cmocka_unit_test(test_png_deterministic), cmocka_unit_test(test_png_read_kinds),
        cmocka_unit_test(test_png_errors),        cmocka_unit_test(test_golden_subset),
        cmocka_unit_test(test_golden_refset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
