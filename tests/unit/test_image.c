/* Image input: PNG/JPEG decoding, PIL's bilinear resize and torchvision
 * preprocessing, checked against values produced by Pillow 9.4 (see
 * testdata/images/README.md), plus bad and hostile input. */
#include "testutil.h"

#include "image/image.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *img_path(const char *name)
{
    static char buf[4][1024];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s", tu_testdata(tu_path("images", name)));
    return b;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void load_ok(const char *path, lrp_image *img)
{
    lrp_error err = {0};
    if (lrp_image_load(path, img, &err) != LRP_OK)
        fail_msg("%s should decode: %s", path, err.message);
}

/* img must equal the (H, W, 3) float32 pixels in testdata/images/npy. */
static void expect_pixels(const lrp_image *img, const char *npy, const char *what)
{
    lrp_tensor *t = NULL;
    lrp_error err = {0};
    if (lrp_npy_read(img_path(npy), &t, &err) != LRP_OK)
        fail_msg("%s", err.message);
    if (t->ndim != 3 || t->dims[0] != img->height || t->dims[1] != img->width || t->dims[2] != 3) {
        char shape[128];
        lrp_shape_str(t->ndim, t->dims, shape, sizeof shape);
        lrp_tensor_free(t);
        fail_msg("%s: size %dx%d, but %s is shaped %s", what, img->width, img->height, npy, shape);
    }
    const lrp_real *e = (const lrp_real *)t->data;
    size_t n = (size_t)img->width * img->height * 3, bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if ((lrp_real)img->rgb[i] != e[i] && bad++ == 0)
            first = i;
    if (bad) {
        size_t px = first / 3;
        print_message("%s: %zu of %zu values differ from %s; first at x=%zu y=%zu c=%zu: %d, PIL %g\n", what, bad, n,
                      npy, px % (size_t)img->width, px / (size_t)img->width, first % 3, img->rgb[first],
                      (double)e[first]);
    }
    lrp_tensor_free(t);
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------ stderr must stay silent */

/* Setup and teardown of the bad-input tests: stderr goes to a temporary file
 * meanwhile; anything found there (libjpeg or libpng messages, or cmocka's
 * own report of a failure) is copied to the real stderr and fails the test.
 * A crash report (ASan) would be lost in the file: set LRP_TEST_NO_CAPTURE=1
 * to leave stderr alone when debugging one. */
static int saved_stderr = -1;
static FILE *captured;

static int stderr_begin(void **state)
{
    (void)state;
    if (getenv("LRP_TEST_NO_CAPTURE"))
        return 0;
    fflush(stderr);
    captured = tmpfile();
    if (!captured)
        return -1;
    saved_stderr = dup(2);
    if (saved_stderr < 0 || dup2(fileno(captured), 2) < 0)
        return -1;
    return 0;
}

static int stderr_end(void **state)
{
    (void)state;
    if (!captured)
        return 0;
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
    long size = 0;
    if (fseek(captured, 0, SEEK_END) == 0)
        size = ftell(captured);
    if (size > 0) {
        char text[4096];
        size_t got;
        rewind(captured);
        fprintf(stderr, "written to stderr during the test:\n");
        while ((got = fread(text, 1, sizeof text, captured)) > 0)
            fwrite(text, 1, got, stderr);
    }
    fclose(captured);
    captured = NULL;
    return size > 0 ? -1 : 0;
}

/* ------------------------------------------------------------ error checks */

static void check_error(lrp_status st, const lrp_error *err, const lrp_image *img, lrp_status want, const char *name,
                        const char *needle)
{
    if (st != want)
        fail_msg("%s: status %d (%s), expected %d (%s): %s", name, st, lrp_status_name(st), want,
                 lrp_status_name(want), err->message);
    assert_int_equal(err->status, want);
    assert_null(img->rgb);
    assert_int_equal(img->width, 0);
    assert_int_equal(img->height, 0);
    if (!strstr(err->message, name))
        fail_msg("message does not name the file %s: %s", name, err->message);
    assert_null(strchr(err->message, '\n'));
    if (needle && !strstr(err->message, needle))
        fail_msg("message lacks \"%s\": %s", needle, err->message);
}

static void expect_file_error(const char *path, lrp_status want, const char *needle)
{
    lrp_image img;
    memset(&img, 0x5a, sizeof img); /* must be zeroed on failure */
    lrp_error err = {0};
    lrp_status st = lrp_image_load(path, &img, &err);
    check_error(st, &err, &img, want, path, needle);
}

static void expect_memory_error(const unsigned char *data, size_t len, const char *name, lrp_status want,
                                const char *needle)
{
    lrp_image img;
    memset(&img, 0x5a, sizeof img);
    lrp_error err = {0};
    lrp_status st = lrp_image_load_memory(data, len, name, &img, &err);
    check_error(st, &err, &img, want, name, needle);
}

static unsigned char *read_testdata(const char *name, size_t *len)
{
    unsigned char *d = tu_read_file(img_path(name), len);
    if (!d)
        fail_msg("cannot read %s", img_path(name));
    return d;
}

/* --------------------------------------------------------------- decoding */

static const struct {
    const char *file, *expect;
} format_cases[] = {
    {"rgb8.png", "expect-rgb.npy"},
    {"rgb8_adam7.png", "expect-rgb.npy"},   /* interlaced */
    {"rgb16.png", "expect-rgb.npy"},        /* 16-bit: high byte */
    {"rgba8.png", "expect-rgb.npy"},        /* alpha dropped */
    {"rgba16_adam7.png", "expect-rgb.npy"}, /* 16-bit RGBA, interlaced */
    {"gray8.png", "expect-gray.npy"},       /* replicated */
    {"gray8_trns.png", "expect-gray.npy"},  /* tRNS ignored */
    {"graya8.png", "expect-gray.npy"},      /* LA */
    {"graya16.png", "expect-gray.npy"},     /* 16-bit LA */
    {"gray16.png", "expect-gray.npy"},      /* 16-bit L: high byte (PIL clips: deliberate) */
    {"gray1.png", "expect-gray1.npy"},      /* 0/255 */
    {"gray2.png", "expect-gray2.npy"},      /* x 0x55 */
    {"gray2_adam7.png", "expect-gray2.npy"},
    {"gray4.png", "expect-gray4.npy"},     /* x 0x11 */
    {"pal8_trns.png", "expect-pal8.npy"},  /* palette, transparency ignored */
    {"pal4_short.png", "expect-pal4.npy"}, /* indices past PLTE: PIL's gray ramp */
    {"pal2.png", "expect-pal2.npy"},
    {"pal1_adam7.png", "expect-pal1.npy"},
    {"rgb420.jpg", "expect-jpg-rgb420.npy"}, /* 4:2:0, fancy upsampling */
    {"rgb422.jpg", "expect-jpg-rgb422.npy"},
    {"rgb444_progressive.jpg", "expect-jpg-rgb444_progressive.npy"},
    {"rgb420_progressive.jpg", "expect-jpg-rgb420_progressive.npy"},
    {"gray.jpg", "expect-jpg-gray.npy"},
    {"cmyk.jpg", "expect-jpg-cmyk.npy"}, /* Adobe CMYK through Pillow's formula */
    {"ycck.jpg", "expect-jpg-ycck.npy"}, /* Adobe YCCK (Photoshop style) */
};

static void test_decode_formats(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++) {
        lrp_image img = {0};
        load_ok(img_path(format_cases[i].file), &img);
        expect_pixels(&img, format_cases[i].expect, format_cases[i].file);
        lrp_image_free(&img);
        /* the same from memory, with the name used in errors */
        size_t len;
        unsigned char *d = read_testdata(format_cases[i].file, &len);
        lrp_error err = {0};
        assert_int_equal(lrp_image_load_memory(d, len, format_cases[i].file, &img, &err), LRP_OK);
        expect_pixels(&img, format_cases[i].expect, format_cases[i].file);
        lrp_image_free(&img);
        free(d);
    }
}

static void test_detect_by_content(void **state)
{
    (void)state;
    /* a PNG named .jpg and a JPEG named .png decode by their magic bytes */
    size_t lp, lj;
    unsigned char *png = read_testdata("rgb8.png", &lp), *jpg = read_testdata("rgb420.jpg", &lj);
    const char *p1 = tu_temp_file(png, lp, ".jpg");
    char png_as_jpg[256];
    snprintf(png_as_jpg, sizeof png_as_jpg, "%s", p1);
    const char *jpg_as_png = tu_temp_file(jpg, lj, ".png");
    lrp_image img = {0};
    load_ok(png_as_jpg, &img);
    expect_pixels(&img, "expect-rgb.npy", png_as_jpg);
    lrp_image_free(&img);
    load_ok(jpg_as_png, &img);
    expect_pixels(&img, "expect-jpg-rgb420.npy", jpg_as_png);
    lrp_image_free(&img);
    unlink(png_as_jpg);
    unlink(jpg_as_png);
    free(png);
    free(jpg);
    /* lrp_image_free on a zeroed struct and on NULL */
    lrp_image zero = {0};
    lrp_image_free(&zero);
    lrp_image_free(NULL);
}

/* ----------------------------------------------------------------- resize */

static void test_resize_pil(void **state)
{
    (void)state;
    static const int sizes[][2] = {{17, 11}, {40, 13}, {21, 30}, {50, 37}, {1, 1}, {5, 70}};
    lrp_image src = {0};
    load_ok(img_path("tiny.png"), &src);
    assert_int_equal(src.width, 40);
    assert_int_equal(src.height, 30);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        lrp_image dst = {0};
        lrp_error err = {0};
        assert_int_equal(lrp_image_resize(&src, sizes[i][0], sizes[i][1], &dst, &err), LRP_OK);
        char npy[64], what[64];
        snprintf(npy, sizeof npy, "tiny.resize-%dx%d.npy", sizes[i][0], sizes[i][1]);
        snprintf(what, sizeof what, "resize to %dx%d", sizes[i][0], sizes[i][1]);
        expect_pixels(&dst, npy, what);
        lrp_image_free(&dst);
    }
    /* same size: an identical copy */
    lrp_image same = {0};
    lrp_error err = {0};
    assert_int_equal(lrp_image_resize(&src, 40, 30, &same, &err), LRP_OK);
    assert_ptr_not_equal(same.rgb, src.rgb);
    assert_memory_equal(same.rgb, src.rgb, 40 * 30 * 3);
    lrp_image_free(&same);
    /* bad arguments */
    lrp_image bad;
    assert_int_equal(lrp_image_resize(&src, 0, 5, &bad, &err), LRP_ERR_ARG);
    assert_null(bad.rgb);
    assert_int_equal(lrp_image_resize(&src, 5, -1, &bad, &err), LRP_ERR_ARG);
    assert_int_equal(lrp_image_resize(&src, 100000, 100000, &bad, &err), LRP_ERR_LIMIT);
    assert_null(bad.rgb);
    lrp_image empty = {0};
    assert_int_equal(lrp_image_resize(&empty, 5, 5, &bad, &err), LRP_ERR_ARG);
    lrp_image_free(&src);
}

/* ------------------------------------------------------------- preprocess */

static void test_preprocess_defaults(void **state)
{
    (void)state;
    lrp_preprocess p;
    lrp_preprocess_defaults(&p, 224, 224);
    assert_int_equal(p.height, 224);
    assert_int_equal(p.width, 224);
    assert_int_equal(p.resize_mode, LRP_RESIZE_SHORTER);
    assert_int_equal(p.channels, 3);
    assert_int_equal(p.bgr, 0);
    assert_int_equal(p.range255, 0);
    assert_int_equal(p.nhwc, 0);
    assert_true(p.mean[0] == 0.485f && p.mean[1] == 0.456f && p.mean[2] == 0.406f);
    assert_true(p.std[0] == 0.229f && p.std[1] == 0.224f && p.std[2] == 0.225f);
    /* int(S * 256 / 224), truncated: 36 for S = 32, not round(36.57) = 37 */
    static const int sz[][2] = {{224, 256}, {16, 18}, {32, 36}, {64, 73}, {28, 32}, {299, 341}, {7, 8}};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
        lrp_preprocess_defaults(&p, sz[i][0], sz[i][0]);
        assert_int_equal(lrp_preprocess_resize_size(&p), sz[i][1]);
    }
    lrp_preprocess_defaults(&p, 24, 32); /* S = min(height, width) */
    assert_int_equal(lrp_preprocess_resize_size(&p), 27);
    p.resize_to = 50;
    assert_int_equal(lrp_preprocess_resize_size(&p), 50);
}

typedef struct pre_case {
    const char *image, *expect, *view;
    int height, width;
    lrp_resize_mode mode;
    int resize_to, channels, bgr, range255, nhwc;
    lrp_real mean[3], std[3]; /* all zero: ImageNet defaults */
} pre_case;

/* The same cases as preprocess_cases() in testdata/images/make.py. */
static const pre_case pre_cases[] = {
    {"tiny.png", "pre-png-16.npy", "pre-png-16.view.npy", 16, 16, LRP_RESIZE_SHORTER, 0, 3, 0, 0, 0, {0}, {0}},
    {"tiny.png", "pre-png-32.npy", NULL, 32, 32, LRP_RESIZE_SHORTER, 0, 3, 0, 0, 0, {0}, {0}},
    {"tiny.jpg", "pre-jpg-32.npy", NULL, 32, 32, LRP_RESIZE_SHORTER, 0, 3, 0, 0, 0, {0}, {0}},
    {"tiny.png", "pre-png-24x32.npy", "pre-png-24x32.view.npy", 24, 32, LRP_RESIZE_SHORTER, 0, 3, 0, 0, 0, {0}, {0}},
    {"tiny.png", "pre-png-exact-20x28.npy", NULL, 20, 28, LRP_RESIZE_EXACT, 0, 3, 0, 0, 0, {0}, {0}},
    {"tiny.png",
     "pre-png-none-29x35.npy",
     "pre-png-none-29x35.view.npy",
     29,
     35,
     LRP_RESIZE_NONE,
     0,
     3,
     0,
     0,
     0,
     {0},
     {0}},
    {"tiny.png",
     "pre-png-none-33x43.npy",
     "pre-png-none-33x43.view.npy",
     33,
     43,
     LRP_RESIZE_NONE,
     0,
     3,
     0,
     0,
     0,
     {0},
     {0}},
    {"tiny.png",
     "pre-png-gray-28.npy",
     "pre-png-gray-28.view.npy",
     28,
     28,
     LRP_RESIZE_SHORTER,
     0,
     1,
     0,
     0,
     0,
     {0.1307f},
     {0.3081f}},
    {"tiny.png",
     "pre-png-bgr255-nhwc-32.npy",
     NULL,
     32,
     32,
     LRP_RESIZE_SHORTER,
     40,
     3,
     1,
     1,
     1,
     {103.939f, 116.779f, 123.68f},
     {1, 1, 1}},
};

static void pre_params(const pre_case *c, lrp_preprocess *p)
{
    lrp_preprocess_defaults(p, c->height, c->width);
    p->resize_mode = c->mode;
    p->resize_to = c->resize_to;
    p->channels = c->channels;
    p->bgr = c->bgr;
    p->range255 = c->range255;
    p->nhwc = c->nhwc;
    if (c->std[0] != 0) {
        memcpy(p->mean, c->mean, sizeof p->mean);
        memcpy(p->std, c->std, sizeof p->std);
    }
}

/* Compares a tensor with a reference .npy; returns the fraction of exactly
 * equal values and sets *maxdev. */
static double compare_tensor(const lrp_tensor *t, const lrp_tensor *ref, double *maxdev, const char *what)
{
    if (t->ndim != ref->ndim || memcmp(t->dims, ref->dims, sizeof(int64_t) * (size_t)t->ndim) != 0) {
        char a[128], b[128];
        fail_msg("%s: shape %s, expected %s", what, lrp_shape_str(t->ndim, t->dims, a, sizeof a),
                 lrp_shape_str(ref->ndim, ref->dims, b, sizeof b));
    }
    const lrp_real *x = (const lrp_real *)t->data, *y = (const lrp_real *)ref->data;
    size_t same = 0, n = (size_t)t->numel;
    for (size_t i = 0; i < n; i++)
        same += x[i] == y[i];
    *maxdev = tu_max_abs_diff(x, y, n);
    return n ? (double)same / (double)n : 1.0;
}

static void test_preprocess_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pre_cases / sizeof pre_cases[0]; i++) {
        const pre_case *c = &pre_cases[i];
        lrp_image img = {0};
        load_ok(img_path(c->image), &img);
        lrp_preprocess p;
        pre_params(c, &p);
        lrp_tensor *t = NULL, *ref = NULL;
        lrp_error err = {0};
        if (lrp_preprocess_image(&img, &p, &t, &err) != LRP_OK)
            fail_msg("%s: %s", c->expect, err.message);
        if (lrp_npy_read(img_path(c->expect), &ref, &err) != LRP_OK)
            fail_msg("%s", err.message);
        double maxdev;
        double exact = compare_tensor(t, ref, &maxdev, c->expect);
        if (exact != 1.0)
            fail_msg("%s: %.4f%% exact, max deviation %g", c->expect, 100 * exact, maxdev);
        if (c->view) {
            lrp_image v = {0};
            assert_int_equal(lrp_preprocess_view(&img, &p, &v, &err), LRP_OK);
            expect_pixels(&v, c->view, c->view);
            lrp_image_free(&v);
        }
        lrp_tensor_free(t);
        lrp_tensor_free(ref);
        lrp_image_free(&img);
    }
}

static void test_preprocess_bad_args(void **state)
{
    (void)state;
    lrp_image img = {0};
    load_ok(img_path("tiny.png"), &img);
    lrp_preprocess p;
    static lrp_tensor sentinel;
    lrp_tensor *t = &sentinel; /* must be set to NULL on error */
    lrp_error err = {0};

    lrp_preprocess_defaults(&p, 32, 32);
    p.std[1] = 0;
    assert_int_equal(lrp_preprocess_image(&img, &p, &t, &err), LRP_ERR_ARG);
    assert_null(t);
    lrp_preprocess_defaults(&p, 32, 32);
    p.channels = 2;
    assert_int_equal(lrp_preprocess_image(&img, &p, &t, &err), LRP_ERR_ARG);
    lrp_preprocess_defaults(&p, 0, 32);
    assert_int_equal(lrp_preprocess_image(&img, &p, &t, &err), LRP_ERR_ARG);
    lrp_preprocess_defaults(&p, 32, 32);
    p.resize_mode = (lrp_resize_mode)7;
    assert_int_equal(lrp_preprocess_image(&img, &p, &t, &err), LRP_ERR_ARG);
    lrp_preprocess_defaults(&p, 32, 32);
    p.resize_to = -3;
    assert_int_equal(lrp_preprocess_image(&img, &p, &t, &err), LRP_ERR_ARG);
    lrp_preprocess_defaults(&p, 32, 32);
    lrp_image empty = {0};
    assert_int_equal(lrp_preprocess_image(&empty, &p, &t, &err), LRP_ERR_ARG);
    lrp_image v;
    assert_int_equal(lrp_preprocess_view(&empty, &p, &v, &err), LRP_ERR_ARG);
    assert_null(v.rgb);
    /* a 1-pixel-wide image whose longer side would become absurd */
    lrp_image thin = {1, 5000, calloc(5000, 3)};
    lrp_preprocess_defaults(&p, 224, 224);
    p.resize_to = 1000;
    assert_int_equal(lrp_preprocess_image(&thin, &p, &t, &err), LRP_ERR_LIMIT);
    lrp_image_free(&thin);
    lrp_image_free(&img);
}

/* --------------------------------------------------------------- bad input */

static void test_bad_missing_and_empty(void **state)
{
    (void)state;
    expect_file_error("testdata/images/no-such-image.png", LRP_ERR_IO, "No such file");
    expect_file_error(tu_testdata("images"), LRP_ERR_IO, NULL); /* a directory */
    const char *empty = tu_temp_file("", 0, ".png");
    assert_non_null(empty);
    char path[256];
    snprintf(path, sizeof path, "%s", empty);
    expect_file_error(path, LRP_ERR_FORMAT, "empty");
    unlink(path);
    expect_memory_error((const unsigned char *)"", 0, "empty-buffer", LRP_ERR_FORMAT, "empty");
}

static void test_bad_random_and_unsupported(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    unsigned char buf[4096];
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + xorshift(&s) % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)xorshift(&s);
        if (round % 3 == 1 && n >= 8) /* PNG signature, then garbage */
            memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
        else if (round % 3 == 2 && n >= 3) /* JPEG SOI, then garbage */
            memcpy(buf, "\xff\xd8\xff", 3);
        else if (buf[0] == 0x89 || buf[0] == 0xff)
            buf[0] = 0;
        lrp_image img;
        lrp_error err = {0};
        lrp_status st = lrp_image_load_memory(buf, n, "random.bin", &img, &err);
        if (st == LRP_OK)
            fail_msg("random bytes (round %d) decoded", round);
        if (st != LRP_ERR_FORMAT && st != LRP_ERR_UNSUPPORTED && st != LRP_ERR_LIMIT)
            fail_msg("random bytes (round %d): unexpected status %d: %s", round, st, err.message);
        check_error(st, &err, &img, st, "random.bin", NULL);
    }
    /* other formats: refused as unsupported */
    expect_memory_error((const unsigned char *)"GIF89a\x01\x00\x01\x00\x00\x00\x00", 13, "x.gif", LRP_ERR_UNSUPPORTED,
                        "GIF");
    expect_memory_error((const unsigned char *)"BM\x3a\0\0\0\0\0\0\0", 10, "x.bmp", LRP_ERR_UNSUPPORTED, "BMP");
    expect_memory_error((const unsigned char *)"not an image at all\n", 20, "x.txt", LRP_ERR_FORMAT,
                        "not a PNG or JPEG");
    expect_memory_error((const unsigned char *)"\x89PNG", 4, "short.png", LRP_ERR_FORMAT, "truncated");
}

/* Every strict prefix of a JPEG is refused as truncated (PIL: "image file
 * is truncated"), including one that lacks only the EOI marker. */
static void check_jpeg_prefixes(const char *name)
{
    size_t len;
    unsigned char *d = read_testdata(name, &len);
    for (size_t n = 1; n < len; n++) {
        lrp_image img;
        lrp_error err = {0};
        lrp_status st = lrp_image_load_memory(d, n, name, &img, &err);
        if (st == LRP_OK)
            fail_msg("%s cut to %zu of %zu bytes decoded", name, n, len);
        check_error(st, &err, &img, LRP_ERR_FORMAT, name, NULL);
        if (!strstr(err.message, "truncated"))
            fail_msg("%s cut to %zu bytes: %s", name, n, err.message);
    }
    /* a good file cut in half, from disk */
    const char *half = tu_temp_file(d, len / 2, ".jpg");
    char path[256];
    snprintf(path, sizeof path, "%s", half);
    expect_file_error(path, LRP_ERR_FORMAT, "truncated");
    unlink(path);
    free(d);
}

static void test_bad_truncated_jpeg(void **state)
{
    (void)state;
    check_jpeg_prefixes("rgb420.jpg");
    check_jpeg_prefixes("rgb420_progressive.jpg");
    check_jpeg_prefixes("cmyk.jpg");
}

/* Strict prefixes of a PNG fail, except those that already hold all the
 * image data (PIL does not need IEND either): those must decode correctly. */
static void check_png_prefixes(const char *name, const char *expect)
{
    size_t len;
    unsigned char *d = read_testdata(name, &len);
    int accepted = 0;
    for (size_t n = 1; n < len; n++) {
        lrp_image img;
        lrp_error err = {0};
        lrp_status st = lrp_image_load_memory(d, n, name, &img, &err);
        if (st == LRP_OK) {
            expect_pixels(&img, expect, name);
            lrp_image_free(&img);
            accepted++;
            assert_true(n >= len - 12); /* only the IEND chunk may be missing */
            continue;
        }
        check_error(st, &err, &img, LRP_ERR_FORMAT, name, NULL);
    }
    const char *half = tu_temp_file(d, len / 2, ".png");
    char path[256];
    snprintf(path, sizeof path, "%s", half);
    expect_file_error(path, LRP_ERR_FORMAT, "truncated");
    unlink(path);
    free(d);
}

static void test_bad_truncated_png(void **state)
{
    (void)state;
    check_png_prefixes("rgb8.png", "expect-rgb.npy");
    check_png_prefixes("rgba16_adam7.png", "expect-rgb.npy");
    check_png_prefixes("pal1_adam7.png", "expect-pal1.npy");
}

/* Offset of the CRC of the first chunk of type kind, or 0. */
static size_t png_chunk_crc(const unsigned char *d, size_t len, const char *kind)
{
    size_t pos = 8;
    while (pos + 12 <= len) {
        size_t n = (size_t)d[pos] << 24 | (size_t)d[pos + 1] << 16 | (size_t)d[pos + 2] << 8 | d[pos + 3];
        if (!memcmp(d + pos + 4, kind, 4))
            return pos + 8 + n;
        pos += 12 + n;
    }
    return 0;
}

static void test_bad_png_crc(void **state)
{
    (void)state;
    static const struct {
        const char *file, *chunk;
    } cases[] = {{"rgb8.png", "IHDR"}, {"rgb8.png", "IDAT"}, {"pal8_trns.png", "PLTE"}, {"gray8_trns.png", "tRNS"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        unsigned char *d = read_testdata(cases[i].file, &len);
        size_t at = png_chunk_crc(d, len, cases[i].chunk);
        assert_true(at > 0);
        d[at + 2] ^= 0x40;
        char name[64];
        snprintf(name, sizeof name, "%s-bad-%s-crc.png", cases[i].file, cases[i].chunk);
        expect_memory_error(d, len, name, LRP_ERR_FORMAT, "CRC");
        free(d);
    }
}

static void test_bad_limits(void **state)
{
    (void)state;
    expect_file_error(img_path("huge_area.png"), LRP_ERR_LIMIT, "too large");
    expect_file_error(img_path("huge_side.png"), LRP_ERR_LIMIT, "too large");
    expect_file_error(img_path("huge.jpg"), LRP_ERR_LIMIT, "too large");
}

/* Random byte corruption of every test image: any outcome but a crash, a
 * leak (under ASan/valgrind) or output on stderr. */
static void test_bad_corrupted_bytes(void **state)
{
    (void)state;
    uint64_t s = 12345;
    int failed = 0, decoded = 0;
    for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++) {
        size_t len;
        unsigned char *orig = read_testdata(format_cases[i].file, &len);
        unsigned char *d = malloc(len);
        for (int round = 0; round < 60; round++) {
            memcpy(d, orig, len);
            int flips = 1 + (int)(xorshift(&s) % 4);
            for (int k = 0; k < flips; k++) {
                size_t at = (size_t)(xorshift(&s) % len);
                d[at] = (unsigned char)xorshift(&s);
            }
            lrp_image img;
            lrp_error err = {0};
            lrp_status st = lrp_image_load_memory(d, len, format_cases[i].file, &img, &err);
            if (st == LRP_OK) {
                assert_true(img.width > 0 && img.height > 0);
                assert_non_null(img.rgb);
                lrp_image_free(&img);
                decoded++;
            } else {
                check_error(st, &err, &img, st, format_cases[i].file, NULL);
                failed++;
            }
        }
        free(d);
        free(orig);
    }
    print_message("corrupted files: %d refused, %d decoded anyway\n", failed, decoded);
}

/* ------------------------------------------------- shared reference data */

static void test_refset_parity(void **state)
{
    (void)state;
    const char *shared = tu_shared_dir();
    if (!shared)
        TU_SKIP("../shared not found: refset parity not checked");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/refset/inputs", shared);
    struct dirent **entries = NULL;
    int nent = scandir(dir, &entries, NULL, alphasort);
    assert_true(nent > 0);
    int cases = 0;
    /* one 8-bit level after normalization, at the smallest std */
    const double level = 1.0 / 255.0 / 0.224;
    for (int k = 0; k < nent; k++) {
        const struct dirent *e = entries[k];
        char name[256];
        int S;
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".npy") != 0)
            continue;
        snprintf(name, sizeof name, "%.*s", (int)(n - 4), e->d_name);
        char *dash = strrchr(name, '-');
        if (!dash || sscanf(dash + 1, "%d", &S) != 1)
            continue;
        *dash = '\0';
        char img_file[1200];
        struct stat sb;
        snprintf(img_file, sizeof img_file, "%s/refset/images/%s.png", shared, name);
        if (stat(img_file, &sb) != 0)
            snprintf(img_file, sizeof img_file, "%s/refset/images/%s.jpg", shared, name);
        lrp_image img = {0};
        load_ok(img_file, &img);
        lrp_preprocess p;
        lrp_preprocess_defaults(&p, S, S);
        lrp_tensor *t = NULL, *ref = NULL;
        lrp_error err = {0};
        assert_int_equal(lrp_preprocess_image(&img, &p, &t, &err), LRP_OK);
        assert_int_equal(lrp_npy_read(tu_path(dir, e->d_name), &ref, &err), LRP_OK);
        double maxdev;
        double exact = compare_tensor(t, ref, &maxdev, e->d_name);
        print_message("refset %-14s %8.4f%% exact, max deviation %.3g\n", e->d_name, 100 * exact, maxdev);
        if (exact < 0.99 || maxdev > level * 1.0001)
            fail_msg("%s: %.4f%% exact, max deviation %g (limit 99%%, %g)", e->d_name, 100 * exact, maxdev, level);
        lrp_tensor_free(t);
        lrp_tensor_free(ref);
        lrp_image_free(&img);
        cases++;
    }
    for (int k = 0; k < nent; k++)
        free(entries[k]);
    free(entries);
    assert_true(cases >= 4);
}

/* FNV-1a 64 of Pillow 9.4's RGB bytes: Image.open(f).convert('RGB'), and of
 * its .resize((97, 61), BILINEAR) and .resize((224, 224), BILINEAR). */
static const struct {
    const char *file;
    int w, h;
    uint64_t rgb, r97x61, r224;
} pil_hashes[] = {
    {"refdata/images/gdkpixbuf_cat_gray.jpg", 512, 512, 0x97d326d64567360dull, 0xa13deae86a695940ull,
     0x61fe9833183c63adull},
    {"refdata/images/gdkpixbuf_exif_orientation6.jpg", 640, 428, 0x8522b6912d51b6eeull, 0xe8b3c738db9dbceeull,
     0xc10614c69ea8dd97ull}, /* EXIF orientation ignored, as PIL */
    {"refdata/images/matplotlib_grace_hopper.jpg", 512, 600, 0xeaad7eb636c70992ull, 0xe1697887b87e17c7ull,
     0x8c6c5927802e8598ull},
    {"refdata/images/opencv_chicky_512_rgba.png", 512, 512, 0x13a593306b57e8c5ull, 0x7044a2d7e6c0f767ull,
     0x3c32883fc0959f67ull},
    {"refdata/images/opencv_ela_original_progressive.jpg", 902, 770, 0xfc4629a66c85ee10ull, 0xad0eaa023a6ee9c4ull,
     0x970fbd8adfaa6008ull},
    {"refdata/images/opencv_fruits.jpg", 512, 480, 0x9f55c2b488ce45bcull, 0x74909197dfe6afb0ull,
     0xeec305dba187ab63ull},
    {"refdata/images/skimage_astronaut.png", 512, 512, 0xfa4e6bff08e5e8fbull, 0xa3dc00f2aef1e043ull,
     0xbd6bcd4b71555a17ull},
    {"refdata/images/skimage_camera_gray.png", 512, 512, 0x350bdd5a5fceb30eull, 0xbe0854a56cec18e6ull,
     0xbbc7c22c24054272ull},
    {"refdata/images/skimage_chelsea.png", 451, 300, 0xb2179687966157a8ull, 0x28268d86321492dfull,
     0xa9e250b4dc9e9a4cull},
    {"refdata/images/skimage_coffee.png", 600, 400, 0xd261c1b91ef6ee1eull, 0x83e1d1ca59bbd3b0ull,
     0x70f1aac2c712f982ull},
    {"refdata/images/skimage_rocket.jpg", 640, 427, 0x34b9b35d9b0edb19ull, 0x6211b8ba7e7ab2d5ull,
     0xd7441600ee788f0full},
    {"refdata/images/winml_fish.png", 224, 224, 0x5576affc2a2a6c71ull, 0x7f3afc27d5b500b1ull, 0x5576affc2a2a6c71ull},
    {"refdata/images/winml_kitten_224_rgba.png", 224, 224, 0x95a782a2cef329e4ull, 0x0c0c68d4c1a128ddull,
     0x95a782a2cef329e4ull},
    {"refset/images/logo.png", 500, 500, 0x53277361b10f3de2ull, 0x40259ed20e7e1f4eull, 0x2fba5d297bef5b1aull},
};

static void test_refdata_pil_hashes(void **state)
{
    (void)state;
    const char *shared = tu_shared_dir();
    if (!shared)
        TU_SKIP("../shared not found: decoding of the reference images not checked");
    for (size_t i = 0; i < sizeof pil_hashes / sizeof pil_hashes[0]; i++) {
        lrp_image img = {0}, r = {0};
        lrp_error err = {0};
        const char *path = tu_path(shared, pil_hashes[i].file);
        load_ok(path, &img);
        assert_int_equal(img.width, pil_hashes[i].w);
        assert_int_equal(img.height, pil_hashes[i].h);
        if (fnv1a(img.rgb, (size_t)img.width * img.height * 3) != pil_hashes[i].rgb)
            fail_msg("%s: decoded pixels differ from PIL's", pil_hashes[i].file);
        assert_int_equal(lrp_image_resize(&img, 97, 61, &r, &err), LRP_OK);
        if (fnv1a(r.rgb, 97 * 61 * 3) != pil_hashes[i].r97x61)
            fail_msg("%s: resize to 97x61 differs from PIL's", pil_hashes[i].file);
        lrp_image_free(&r);
        assert_int_equal(lrp_image_resize(&img, 224, 224, &r, &err), LRP_OK);
        if (fnv1a(r.rgb, 224 * 224 * 3) != pil_hashes[i].r224)
            fail_msg("%s: resize to 224x224 differs from PIL's", pil_hashes[i].file);
        lrp_image_free(&r);
        lrp_image_free(&img);
    }
}

/* WinML's fish.csv is winml_fish.png as raw 0..255 BGR planes: the caffe-style
 * settings (bgr, range255, mean 0, std 1, no resize) must reproduce it. */
static void test_refdata_fish_bgr255(void **state)
{
    (void)state;
    const char *shared = tu_shared_dir();
    if (!shared)
        TU_SKIP("../shared not found: fish.csv not checked");
    size_t len;
    unsigned char *csv = tu_read_file(tu_path(shared, "refdata/models/winml-squeezenet1.0-fp16/fish.csv"), &len);
    assert_non_null(csv);
    csv[len] = '\0';
    lrp_image img = {0};
    load_ok(tu_path(shared, "refdata/images/winml_fish.png"), &img);
    lrp_preprocess p;
    lrp_preprocess_defaults(&p, 224, 224);
    p.resize_mode = LRP_RESIZE_NONE;
    p.bgr = 1;
    p.range255 = 1;
    for (int c = 0; c < 3; c++) {
        p.mean[c] = 0;
        p.std[c] = 1;
    }
    lrp_tensor *t = NULL;
    lrp_error err = {0};
    assert_int_equal(lrp_preprocess_image(&img, &p, &t, &err), LRP_OK);
    const lrp_real *x = (const lrp_real *)t->data;
    char *s = (char *)csv, *end;
    int64_t n = 0, bad = 0;
    for (;; n++) {
        double v = strtod(s, &end);
        if (end == s)
            break;
        if (n < t->numel && (lrp_real)v != x[n])
            bad++;
        s = end;
        while (*s == ',' || *s == '\n' || *s == '\r' || *s == ' ')
            s++;
    }
    assert_int_equal(n, t->numel);
    assert_int_equal(bad, 0);
    lrp_tensor_free(t);
    lrp_image_free(&img);
    free(csv);
}

static void test_refdata_truncated_cmyk(void **state)
{
    (void)state;
    const char *shared = tu_shared_dir();
    if (!shared)
        TU_SKIP("../shared not found: truncated CMYK JPEG not checked");
    /* PIL: "image file is truncated (1 bytes not processed)" */
    expect_file_error(tu_path(shared, "refdata/images/gdkpixbuf_cmyk_truncated.jpg"), LRP_ERR_FORMAT, "truncated");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_formats),
        cmocka_unit_test(test_detect_by_content),
        cmocka_unit_test(test_resize_pil),
        cmocka_unit_test(test_preprocess_defaults),
        cmocka_unit_test(test_preprocess_cases),
        cmocka_unit_test(test_preprocess_bad_args),
        cmocka_unit_test_setup_teardown(test_bad_missing_and_empty, stderr_begin, stderr_end),
        cmocka_unit_test_setup_teardown(test_bad_random_and_unsupported, stderr_begin, stderr_end),
        cmocka_unit_test_setup_teardown(test_bad_truncated_jpeg, stderr_begin, stderr_end),
        cmocka_unit_test_setup_teardown(test_bad_truncated_png, stderr_begin, stderr_end),
        cmocka_unit_test_setup_teardown(test_bad_png_crc, stderr_begin, stderr_end),
        cmocka_unit_test_setup_teardown(test_bad_limits, stderr_begin, stderr_end),
        cmocka_unit_test_setup_teardown(test_bad_corrupted_bytes, stderr_begin, stderr_end),
        cmocka_unit_test(test_refset_parity),
        cmocka_unit_test(test_refdata_pil_hashes),
        cmocka_unit_test(test_refdata_fish_bgr255),
        cmocka_unit_test_setup_teardown(test_refdata_truncated_cmyk, stderr_begin, stderr_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
