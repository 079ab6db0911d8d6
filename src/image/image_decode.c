/*
 * PNG (libpng) and JPEG (libjpeg-turbo) decoding to 8-bit RGB, matching what
 * Pillow 9.4's Image.open(path).convert('RGB') returns. See image.h.
 *
 * Neither library is allowed to print anything: both get error and warning
 * handlers that record the message and longjmp back here. Everything that
 * changes between setjmp() and a possible longjmp() (the library state, the
 * message, the buffers to free) lives in a heap-allocated job owned by the
 * caller of the function that calls setjmp(), so no local variable of that
 * function is left indeterminate by the jump (C11 7.13.2.1).
 */
#include "base/error.h"
#include "image/image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

void lrp_image_free(lrp_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    img->rgb = NULL;
    img->width = 0;
    img->height = 0;
}

/* Sizes over the limits are refused before anything is allocated. */
static int too_large(uint64_t w, uint64_t h)
{
    return w > LRP_IMAGE_MAX_SIDE || h > LRP_IMAGE_MAX_SIDE || w * h > (uint64_t)LRP_IMAGE_MAX_PIXELS;
}

static lrp_status fail_too_large(lrp_error *err, uint64_t w, uint64_t h, const char *name, const char *what)
{
    return lrp_fail(err, LRP_ERR_LIMIT,
                    "%s: %s image of %llux%llu pixels is too large (limit %lld pixels, %d per side)", name, what,
                    (unsigned long long)w, (unsigned long long)h, (long long)LRP_IMAGE_MAX_PIXELS, LRP_IMAGE_MAX_SIDE);
}

/* ------------------------------------------------------------------- JPEG */

/* Stop after this many progressive scans: a crafted file with thousands of
 * tiny scans would otherwise take minutes to decode. */
#define JPEG_MAX_SCANS 1000

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub; /* first: libjpeg passes &pub as cinfo->err */
    jmp_buf jb;
    lrp_status status;
    char msg[JMSG_LENGTH_MAX + 64];
} jpeg_ctx;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    int code = c->pub.msg_code;
    char text[JMSG_LENGTH_MAX];
    (*c->pub.format_message)(cinfo, text);
    switch (code) {
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_NOT_COMPILED:
    case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
        c->status = LRP_ERR_UNSUPPORTED;
        snprintf(c->msg, sizeof c->msg, "unsupported JPEG: %s", text);
        break;
    case JERR_OUT_OF_MEMORY:
        c->status = LRP_ERR_NOMEM;
        snprintf(c->msg, sizeof c->msg, "out of memory decoding JPEG: %s", text);
        break;
    case JERR_IMAGE_TOO_BIG:
    case JERR_WIDTH_OVERFLOW:
        c->status = LRP_ERR_LIMIT;
        snprintf(c->msg, sizeof c->msg, "JPEG image too large: %s", text);
        break;
    default:
        c->status = LRP_ERR_FORMAT;
        snprintf(c->msg, sizeof c->msg, "corrupt JPEG: %s", text);
        break;
    }
    longjmp(c->jb, 1);
}

/* Warnings (level -1) are ignored as PIL ignores them, except running out of
 * data: libjpeg would pad the image with gray, PIL reports "image file is
 * truncated". Trace messages (level >= 0) are dropped. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    if (level >= 0)
        return;
    if (c->pub.msg_code == JWRN_JPEG_EOF || c->pub.msg_code == JWRN_HIT_MARKER) {
        c->status = LRP_ERR_FORMAT;
        snprintf(c->msg, sizeof c->msg, "truncated JPEG (premature end of data)");
        longjmp(c->jb, 1);
    }
    c->pub.num_warnings++;
}

static void jpeg_output_nothing(j_common_ptr cinfo) { (void)cinfo; }

static void jpeg_on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (!cinfo->is_decompressor || d->input_scan_number <= JPEG_MAX_SCANS)
        return;
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    c->status = LRP_ERR_LIMIT;
    snprintf(c->msg, sizeof c->msg, "JPEG has more than %d scans", JPEG_MAX_SCANS);
    longjmp(c->jb, 1);
}

/* Pillow 9.4 (Convert.c cmyk2rgb): each ink scaled by (255 - K), with its
 * rounded division by 255. */
static inline uint8_t muldiv255(int a, int b)
{
    int t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

/* Everything that changes between setjmp() and a longjmp() lives here, in the
 * caller's frame, so that none of it is an indeterminate local afterwards. */
typedef struct jpeg_job {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    jpeg_ctx ctx;
    uint8_t *pixels;
    JSAMPLE *row;
} jpeg_job;

static lrp_status decode_jpeg_run(jpeg_job *job, const unsigned char *data, size_t len, const char *name,
                                  lrp_image *out, lrp_error *err)
{
    struct jpeg_decompress_struct *cinfo = &job->cinfo;
    cinfo->err = jpeg_std_error(&job->ctx.pub);
    job->ctx.pub.error_exit = jpeg_on_error;
    job->ctx.pub.emit_message = jpeg_on_message;
    job->ctx.pub.output_message = jpeg_output_nothing;
    job->ctx.status = LRP_OK;
    if (setjmp(job->ctx.jb))
        return lrp_fail(err, job->ctx.status, "%s: %s", name, job->ctx.msg);
    jpeg_create_decompress(cinfo);
    job->progress.progress_monitor = jpeg_on_progress;
    cinfo->progress = &job->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)len);
    jpeg_read_header(cinfo, TRUE);

    /* PIL chooses the mode from the number of components: 1 -> L, 3 -> RGB
     * (libjpeg converts from YCbCr or RGB as the markers say), 4 -> CMYK
     * (libjpeg turns YCCK into CMYK). */
    int nc = cinfo->num_components;
    if (nc == 1)
        cinfo->out_color_space = JCS_GRAYSCALE;
    else if (nc == 3)
        cinfo->out_color_space = JCS_RGB;
    else if (nc == 4)
        cinfo->out_color_space = JCS_CMYK;
    else
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: JPEG with %d components is not supported", name, nc);
    /* Everything else stays at libjpeg's defaults, as in PIL (which changes
     * them only in draft mode): JDCT_ISLOW, fancy upsampling, no scaling.
     * EXIF orientation is ignored, as PIL's Image.open and torchvision do. */
    if (too_large(cinfo->image_width, cinfo->image_height))
        return fail_too_large(err, cinfo->image_width, cinfo->image_height, name, "JPEG");
    jpeg_start_decompress(cinfo);
    int w = (int)cinfo->output_width, h = (int)cinfo->output_height, oc = cinfo->output_components;
    if (oc != nc)
        return lrp_fail(err, LRP_ERR_INTERNAL, "%s: libjpeg produced %d components instead of %d", name, oc, nc);
    job->pixels = malloc((size_t)w * (size_t)h * 3);
    job->row = malloc((size_t)w * (size_t)oc);
    if (!job->pixels || !job->row)
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory for a %dx%d image", name, w, h);
    JSAMPLE *row = job->row;
    while (cinfo->output_scanline < cinfo->output_height) {
        uint8_t *dst = job->pixels + (size_t)cinfo->output_scanline * (size_t)w * 3;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: truncated JPEG (decoder suspended)", name);
        if (oc == 3) {
            memcpy(dst, row, (size_t)w * 3);
        } else if (oc == 1) {
            for (int x = 0; x < w; x++)
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
        } else {
            /* PIL reads CMYK JPEGs as "CMYK;I", i.e. Adobe's inverted
             * polarity, whatever the markers say, then converts to RGB. */
            for (int x = 0; x < w; x++) {
                const JSAMPLE *s = row + 4 * x;
                int nk = s[3]; /* 255 - K with K = 255 - s[3] */
                for (int k = 0; k < 3; k++)
                    dst[3 * x + k] = (uint8_t)(nk - muldiv255(255 - s[k], nk));
            }
        }
    }
    /* Reads on up to EOI: a file that stops after its last scan is truncated
     * for PIL too ("image file is truncated"). */
    jpeg_finish_decompress(cinfo);
    out->width = w;
    out->height = h;
    out->rgb = job->pixels;
    job->pixels = NULL;
    return LRP_OK;
}

static lrp_status decode_jpeg(const unsigned char *data, size_t len, const char *name, lrp_image *out, lrp_error *err)
{
    jpeg_job *job = calloc(1, sizeof *job);
    if (!job)
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory", name);
    lrp_status st = decode_jpeg_run(job, data, len, name, out, err);
    jpeg_destroy_decompress(&job->cinfo); /* safe also before jpeg_create_decompress: cinfo is zeroed */
    free(job->pixels);
    free(job->row);
    free(job);
    return st;
}

/* -------------------------------------------------------------------- PNG */

typedef struct png_ctx {
    jmp_buf jb;
    const unsigned char *data;
    size_t len, pos;
    int truncated;
    char msg[256];
} png_ctx;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    longjmp(c->jb, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_read_memory(png_structp png, png_bytep dst, size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->len - c->pos) {
        c->truncated = 1;
        png_error(png, "unexpected end of file");
    }
    memcpy(dst, c->data + c->pos, n);
    c->pos += n;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct png_job {
    png_structp png;
    png_infop info;
    png_ctx ctx;
    uint8_t *buf;
    png_bytep *rows;
} png_job;

/* PIL's palette: the PLTE entries, then a gray ramp (index i -> i,i,i) for
 * indices past the end of PLTE. */
static void png_palette(png_structp png, png_infop info, uint8_t pal[256][3])
{
    png_colorp plte = NULL;
    int nplte = 0;
    for (int i = 0; i < 256; i++)
        pal[i][0] = pal[i][1] = pal[i][2] = (uint8_t)i;
    if (png_get_PLTE(png, info, &plte, &nplte) & PNG_INFO_PLTE)
        for (int i = 0; i < nplte && i < 256; i++) {
            pal[i][0] = plte[i].red;
            pal[i][1] = plte[i].green;
            pal[i][2] = plte[i].blue;
        }
}

/* npix pixels of ch bytes each, packed at the start of p, widened to RGB in
 * place (p holds 3 bytes a pixel or more); returns the buffer, which an
 * RGBA image shrinks. */
static uint8_t *widen_to_rgb(uint8_t *p, size_t npix, int ch, bool palette, uint8_t pal[256][3])
{
    if (ch == 1 && palette) {
        for (size_t i = npix; i-- > 0;) {
            const uint8_t *c = pal[p[i]];
            p[3 * i] = c[0];
            p[3 * i + 1] = c[1];
            p[3 * i + 2] = c[2];
        }
    } else if (ch == 1) {
        for (size_t i = npix; i-- > 0;)
            p[3 * i] = p[3 * i + 1] = p[3 * i + 2] = p[i];
    } else if (ch == 2) { /* gray + alpha: alpha dropped */
        for (size_t i = npix; i-- > 0;) {
            uint8_t g = p[2 * i];
            p[3 * i] = p[3 * i + 1] = p[3 * i + 2] = g;
        }
    } else if (ch == 4) { /* RGBA: alpha dropped, not composited */
        for (size_t i = 0; i < npix; i++) {
            p[3 * i] = p[4 * i];
            p[3 * i + 1] = p[4 * i + 1];
            p[3 * i + 2] = p[4 * i + 2];
        }
        uint8_t *shrunk = realloc(p, npix * 3);
        if (shrunk)
            p = shrunk;
    }
    return p;
}

static lrp_status decode_png_run(png_job *job, const char *name, lrp_image *out, lrp_error *err)
{
    png_ctx *ctx = &job->ctx;
    job->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, png_on_error, png_on_warning);
    if (!job->png)
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory (libpng)", name);
    job->info = png_create_info_struct(job->png);
    if (!job->info)
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory (libpng)", name);
    png_structp png = job->png;
    png_infop info = job->info;
    if (setjmp(ctx->jb)) {
        if (ctx->truncated)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: truncated PNG (unexpected end of file)", name);
        if (strstr(ctx->msg, "ut of memory"))
            return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory decoding PNG: %s", name, ctx->msg);
        if (strstr(ctx->msg, "exceeds user limit"))
            return lrp_fail(err, LRP_ERR_LIMIT, "%s: PNG too large: %s", name, ctx->msg);
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: corrupt PNG: %s", name, ctx->msg);
    }
    png_set_read_fn(png, ctx, png_read_memory);
    png_set_user_limits(png, LRP_IMAGE_MAX_SIDE, LRP_IMAGE_MAX_SIDE);
    png_set_chunk_cache_max(png, 1000);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)64 << 20);
    /* A bad CRC is an error in any chunk (PIL refuses one in the chunks it
     * reads while opening; libpng would only warn for ancillary ones). */
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);

    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if (too_large(w, h))
        return fail_too_large(err, w, h, name, "PNG");
    /* 16-bit samples: keep the high byte, as Pillow's RGB;16B, RGBA;16B and
     * LA;16B unpackers do. Pillow opens 16-bit grayscale as mode "I" instead,
     * and its convert('RGB') clips the 0..65535 values at 255 (a nearly white
     * image); we deliberately take the high byte there too. */
    if (depth == 16)
        png_set_strip_16(png);
    /* 1/2/4-bit gray is scaled to 0..255 by bit replication (PIL: "1" gives
     * 0/255, "L;2" x 0x55, "L;4" x 0x11); palette indices are unpacked to a
     * byte each and mapped below. tRNS is never expanded: PIL's
     * convert('RGB') ignores transparency. Gamma, sBIT and colour profiles
     * are ignored, like PIL. */
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (ctype == PNG_COLOR_TYPE_PALETTE && depth < 8)
        png_set_packing(png);
    (void)png_set_interlace_handling(png); /* Adam7: png_read_image runs the passes */
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || ch < 1 || ch > 4 || rowbytes != (size_t)w * (size_t)ch)
        return lrp_fail(err, LRP_ERR_INTERNAL, "%s: unexpected libpng row layout", name);
    uint8_t pal[256][3];
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_palette(png, info, pal);
    size_t npix = (size_t)w * (size_t)h;
    job->buf = malloc(npix * (ch > 3 ? (size_t)ch : 3));
    job->rows = malloc((size_t)h * sizeof *job->rows);
    if (!job->buf || !job->rows)
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory for a %ux%u image", name, (unsigned)w, (unsigned)h);
    /* Rows packed at the start of buf, then widened to RGB in place. */
    for (png_uint_32 y = 0; y < h; y++)
        job->rows[y] = job->buf + (size_t)y * rowbytes;
    png_read_image(png, job->rows);
    /* No png_read_end(): like PIL, what follows the image data is not
     * checked (a missing IEND is accepted). */

    uint8_t *p = widen_to_rgb(job->buf, npix, ch, ctype == PNG_COLOR_TYPE_PALETTE, pal);
    out->width = (int)w;
    out->height = (int)h;
    out->rgb = p;
    job->buf = NULL;
    return LRP_OK;
}

static lrp_status decode_png(const unsigned char *data, size_t len, const char *name, lrp_image *out, lrp_error *err)
{
    /* The IHDR must be the first chunk: refuse absurd sizes before libpng
     * allocates anything for them. */
    if (len >= 24 && memcmp(data + 12, "IHDR", 4) == 0 && too_large(be32(data + 16), be32(data + 20)))
        return fail_too_large(err, be32(data + 16), be32(data + 20), name, "PNG");
    png_job *job = calloc(1, sizeof *job);
    if (!job)
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory", name);
    job->ctx.data = data;
    job->ctx.len = len;
    lrp_status st = decode_png_run(job, name, out, err);
    png_destroy_read_struct(&job->png, &job->info, NULL);
    free(job->buf);
    free(job->rows);
    free(job);
    return st;
}

/* ------------------------------------------------------------------ entry */

static const char *other_format(const unsigned char *d, size_t n)
{
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
        return "GIF";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
        return "WebP";
    if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4)))
        return "TIFF";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M')
        return "BMP";
    if (n >= 12 && !memcmp(d + 4, "ftyp", 4))
        return "HEIF/AVIF";
    if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7')
        return "PNM";
    if (n >= 8 && !memcmp(d, "\0\0\0\x0cjP  ", 8))
        return "JPEG 2000";
    return NULL;
}

lrp_status lrp_image_load_memory(const unsigned char *data, size_t len, const char *name_for_errors, lrp_image *out,
                                 lrp_error *err)
{
    const char *name = name_for_errors ? name_for_errors : "<memory>";
    if (!out)
        return lrp_fail(err, LRP_ERR_ARG, "%s: no output image", name);
    memset(out, 0, sizeof *out);
    if (!data && len)
        return lrp_fail(err, LRP_ERR_ARG, "%s: no data", name);
    if (len == 0)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: empty file, not an image", name);
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 8 && !memcmp(data, png_sig, 8))
        return decode_png(data, len, name, out, err);
    if (len < 8 && !memcmp(data, png_sig, len))
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: truncated PNG (%zu bytes)", name, len);
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(data, len, name, out, err);
    if (len < 3 && data[0] == 0xFF && (len == 1 || data[1] == 0xD8))
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: truncated JPEG (%zu bytes)", name, len);
    const char *other = other_format(data, len);
    if (other)
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: %s images are not supported (only PNG and JPEG)", name, other);
    return lrp_fail(err, LRP_ERR_FORMAT, "%s: not a PNG or JPEG image (unrecognized header)", name);
}

lrp_status lrp_image_load(const char *path, lrp_image *out, lrp_error *err)
{
    if (!out)
        return lrp_fail(err, LRP_ERR_ARG, "%s: no output image", path ? path : "(null)");
    memset(out, 0, sizeof *out);
    if (!path)
        return lrp_fail(err, LRP_ERR_ARG, "no image path given");
    FILE *f = fopen(path, "rb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        int e = errno;
        fclose(f);
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        fclose(f);
        return lrp_fail(err, LRP_ERR_IO, "%s: is a directory", path);
    }
    if (S_ISREG(sb.st_mode) && (int64_t)sb.st_size > LRP_IMAGE_MAX_FILE_BYTES) {
        fclose(f);
        return lrp_fail(err, LRP_ERR_LIMIT, "%s: file of %lld bytes is too large for an image (limit %lld)", path,
                        (long long)sb.st_size, (long long)LRP_IMAGE_MAX_FILE_BYTES);
    }
    /* Read everything (also works for pipes, whose size is unknown). */
    size_t cap = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    lrp_status st = LRP_OK;
    if (!buf) {
        fclose(f);
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory reading the file", path);
    }
    for (;;) {
        if (n == cap) {
            if ((int64_t)cap > LRP_IMAGE_MAX_FILE_BYTES) {
                st = lrp_fail(err, LRP_ERR_LIMIT, "%s: file is too large for an image (limit %lld bytes)", path,
                              (long long)LRP_IMAGE_MAX_FILE_BYTES);
                break;
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                st = lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory reading the file", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                st = lrp_fail(err, LRP_ERR_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == LRP_OK)
        st = lrp_image_load_memory(buf, n, path, out, err);
    free(buf);
    return st;
}
