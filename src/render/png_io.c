/* PNG writing (palette and RGB, deterministic) and reading (to RGB8) with libpng. */
#include "render/png_io.h"
#include "base/error.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- rasters */

lrp_raster *lrp_raster_new(int width, int height, int channels, lrp_error *err)
{
    if (width <= 0 || height <= 0) {
        lrp_fail(err, LRP_ERR_ARG, "image size %dx%d is empty", width, height);
        return NULL;
    }
    if (channels != 1 && channels != 3) {
        lrp_fail(err, LRP_ERR_ARG, "image with %d channels (need 1 or 3)", channels);
        return NULL;
    }
    if ((int64_t)width * height > LRP_RASTER_MAX_PIXELS) {
        lrp_fail(err, LRP_ERR_LIMIT, "image of %dx%d pixels is too large (limit %lld pixels)", width, height,
                 (long long)LRP_RASTER_MAX_PIXELS);
        return NULL;
    }
    lrp_raster *r = calloc(1, sizeof *r);
    if (r)
        r->data = calloc((size_t)width * (size_t)height, (size_t)channels);
    if (!r || !r->data) {
        free(r);
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory allocating a %dx%d image", width, height);
        return NULL;
    }
    r->width = width;
    r->height = height;
    r->channels = channels;
    return r;
}

void lrp_raster_free(lrp_raster *r)
{
    if (!r)
        return;
    free(r->data);
    free(r);
}

/* ------------------------------------------------------- libpng plumbing */

typedef struct {
    char msg[200];
    /* state that must survive a longjmp lives here, not in locals */
    png_bytep *rows;
    uint8_t *pixels;
    int got_channels;
} png_ctx;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    if (c)
        snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings are not errors and must not reach stderr */
}

/* ----------------------------------------------------------------- write */

/* Everything after setjmp; only parameters are used, so nothing is clobbered. */
static int write_body(png_structp png, png_infop info, FILE *f, const lrp_raster *r, const uint8_t (*pal)[3],
                      png_bytep *rows)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_init_io(png, f);
    png_set_compression_level(png, 9);
    png_set_compression_mem_level(png, 8);
    png_set_compression_window_bits(png, 15);
    png_set_compression_strategy(png, 0 /* Z_DEFAULT_STRATEGY */);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, pal ? PNG_FILTER_NONE : PNG_ALL_FILTERS);
    png_set_IHDR(png, info, (png_uint_32)r->width, (png_uint_32)r->height, 8,
                 pal ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal) {
        png_color plte[256];
        for (int i = 0; i < 256; i++) {
            plte[i].red = pal[i][0];
            plte[i].green = pal[i][1];
            plte[i].blue = pal[i][2];
        }
        png_set_PLTE(png, info, plte, 256);
    }
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    return 0;
}

static lrp_status write_png(const char *path, const lrp_raster *r, const uint8_t (*pal)[3], lrp_error *err)
{
    int want = pal ? 1 : 3;
    if (!r || !r->data || r->width <= 0 || r->height <= 0)
        return lrp_fail(err, LRP_ERR_ARG, "%s: no image to write", path);
    if (r->channels != want)
        return lrp_fail(err, LRP_ERR_ARG, "%s: %s PNG needs a %d-channel image, got %d channels", path,
                        pal ? "palette" : "RGB", want, r->channels);
    png_ctx c;
    memset(&c, 0, sizeof c);
    png_bytep *rows = malloc((size_t)r->height * sizeof *rows);
    if (!rows)
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory", path);
    size_t stride = (size_t)r->width * (size_t)r->channels;
    for (int y = 0; y < r->height; y++)
        rows[y] = (png_bytep)(r->data + (size_t)y * stride);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory (libpng)", path);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        int e = errno;
        png_destroy_write_struct(&png, &info);
        free(rows);
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(e));
    }
    int rc = write_body(png, info, f, r, pal, rows);
    png_destroy_write_struct(&png, &info);
    free(rows);
    int werr = ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !werr) {
        werr = 1;
        e = errno;
    }
    if (rc != 0 || werr) {
        remove(path);
        if (rc != 0)
            return lrp_fail(err, LRP_ERR_IO, "%s: PNG write failed: %s", path, c.msg);
        return lrp_fail(err, LRP_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return LRP_OK;
}

lrp_status lrp_png_write_palette(const char *path, const lrp_raster *indices, const uint8_t pal[256][3],
                                 lrp_error *err)
{
    if (!pal)
        return lrp_fail(err, LRP_ERR_ARG, "%s: palette PNG without a palette", path);
    return write_png(path, indices, pal, err);
}

lrp_status lrp_png_write_rgb(const char *path, const lrp_raster *rgb, lrp_error *err)
{
    return write_png(path, rgb, NULL, err);
}

/* ------------------------------------------------------------------ read */

/* fread-based input that names a short file as such (libpng's default says "Read Error"). */
static void read_data(png_structp png, png_bytep data, size_t length)
{
    FILE *f = png_get_io_ptr(png);
    if (fread(data, 1, length, f) != length)
        png_error(png, ferror(f) ? "read error" : "file is truncated");
}

/* Header, transforms and pixels; state needed after a longjmp is kept in c. */
static int read_body(png_structp png, png_infop info, FILE *f, png_ctx *c, png_uint_32 *w, png_uint_32 *h)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_read_fn(png, f, read_data);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, w, h, &bit_depth, &color_type, &interlace, NULL, NULL);
    if ((int64_t)*w * (int64_t)*h > LRP_RASTER_MAX_PIXELS) {
        snprintf(c->msg, sizeof c->msg, "image of %lux%lu pixels is too large (limit %lld pixels)", (unsigned long)*w,
                 (unsigned long)*h, (long long)LRP_RASTER_MAX_PIXELS);
        return -2;
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0) {
        if (bit_depth < 8)
            png_set_expand_gray_1_2_4_to_8(png);
        png_set_gray_to_rgb(png);
    }
    if (bit_depth == 16)
        png_set_strip_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((ch != 3 && ch != 4) || rowbytes != (size_t)*w * (size_t)ch) {
        snprintf(c->msg, sizeof c->msg, "unexpected decoded layout (%d channels)", ch);
        return -1;
    }
    c->got_channels = ch;
    c->pixels = malloc((size_t)*h * rowbytes);
    c->rows = malloc((size_t)*h * sizeof *c->rows);
    if (!c->pixels || !c->rows) {
        snprintf(c->msg, sizeof c->msg, "out of memory");
        return -3;
    }
    for (png_uint_32 y = 0; y < *h; y++)
        c->rows[y] = c->pixels + (size_t)y * rowbytes;
    png_read_image(png, c->rows);
    png_read_end(png, NULL);
    return 0;
}

lrp_status lrp_png_read_rgb(const char *path, lrp_raster **out, lrp_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        fclose(f);
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: not a PNG file", path);
    }
    png_ctx c;
    memset(&c, 0, sizeof c);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory (libpng)", path);
    }
    png_uint_32 w = 0, h = 0;
    int rc = read_body(png, info, f, &c, &w, &h);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(c.rows);
    lrp_status st = LRP_OK;
    if (rc == -1)
        st = lrp_fail(err, LRP_ERR_FORMAT, "%s: bad PNG: %s", path, c.msg);
    else if (rc == -2)
        st = lrp_fail(err, LRP_ERR_LIMIT, "%s: %s", path, c.msg);
    else if (rc == -3)
        st = lrp_fail(err, LRP_ERR_NOMEM, "%s: %s", path, c.msg);
    lrp_raster *r = NULL;
    if (st == LRP_OK) {
        r = lrp_raster_new((int)w, (int)h, 3, err);
        if (!r) {
            st = err ? err->status : LRP_ERR_NOMEM;
            lrp_error_prefix(err, "%s", path);
        }
    }
    if (r) {
        size_t n = (size_t)w * h;
        if (c.got_channels == 3) {
            memcpy(r->data, c.pixels, n * 3);
        } else {
            for (size_t i = 0; i < n; i++)
                memcpy(r->data + 3 * i, c.pixels + 4 * i, 3); /* alpha dropped */
        }
    }
    free(c.pixels);
    *out = r;
    return st;
}
