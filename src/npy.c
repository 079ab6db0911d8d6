/* NumPy .npy files (format versions 1.0-3.0): float32/float64 in, float32 out. */
#include "error.h"
#include "tensor.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"

/* Finds the value text after 'key': in a header dict; NULL if absent. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\"%s\"", key);
        p = strstr(hdr, pat);
    }
    if (!p)
        return NULL;
    p += strlen(pat);
    while (isspace((unsigned char)*p))
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

static lrp_status parse_shape(const char *p, int *ndim, int64_t *dims, const char *path, lrp_error *err)
{
    if (*p != '(')
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy header has no shape tuple", path);
    p++;
    *ndim = 0;
    for (;;) {
        while (isspace((unsigned char)*p) || *p == ',')
            p++;
        if (*p == ')')
            break;
        if (!isdigit((unsigned char)*p))
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: malformed shape in .npy header", path);
        if (*ndim >= LRP_MAX_DIMS)
            return lrp_fail(err, LRP_ERR_LIMIT, "%s: .npy array has more than %d dimensions", path,
                            LRP_MAX_DIMS);
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0 || v > LRP_MAX_ELEMENTS)
            return lrp_fail(err, LRP_ERR_LIMIT, "%s: .npy dimension too large", path);
        dims[(*ndim)++] = v;
        p = end;
    }
    return LRP_OK;
}

lrp_status lrp_npy_read(const char *path, lrp_tensor **out, lrp_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    lrp_status st = LRP_OK;
    char *hdr = NULL;
    lrp_tensor *t = NULL;
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, f);
    if (got < 10 || memcmp(pre, NPY_MAGIC, 6) != 0) {
        st = lrp_fail(err, LRP_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
        goto done;
    }
    unsigned major = pre[6];
    size_t hlen;
    if (major == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            st = lrp_fail(err, LRP_ERR_FORMAT, "%s: truncated .npy header", path);
            goto done;
        }
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        st = lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: .npy format version %u is not supported", path, major);
        goto done;
    }
    if (hlen > (1u << 20)) {
        st = lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy header is implausibly long", path);
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (fread(hdr, 1, hlen, f) != hlen) {
        st = lrp_fail(err, LRP_ERR_FORMAT, "%s: truncated .npy header", path);
        goto done;
    }
    hdr[hlen] = '\0';
    const char *descr = dict_value(hdr, "descr");
    const char *fo = dict_value(hdr, "fortran_order");
    const char *shp = dict_value(hdr, "shape");
    if (!descr || !fo || !shp) {
        st = lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy header lacks descr, fortran_order or shape", path);
        goto done;
    }
    if (strncmp(fo, "False", 5) != 0) {
        st = lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: Fortran-ordered .npy arrays are not supported", path);
        goto done;
    }
    char q = *descr;
    if (q != '\'' && q != '"') {
        st = lrp_fail(err, LRP_ERR_FORMAT, "%s: malformed descr in .npy header", path);
        goto done;
    }
    char type[16] = {0};
    size_t k = 0;
    for (const char *p = descr + 1; *p && *p != q && k + 1 < sizeof type; p++)
        type[k++] = *p;
    int is64, big = 0;
    if (!strcmp(type, "<f4") || !strcmp(type, "=f4") || !strcmp(type, ">f4")) {
        is64 = 0;
        big = type[0] == '>';
    } else if (!strcmp(type, "<f8") || !strcmp(type, "=f8") || !strcmp(type, ">f8")) {
        is64 = 1;
        big = type[0] == '>';
    } else {
        st = lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: .npy dtype '%s' is not supported (need float32 or float64)",
                      path, type);
        goto done;
    }
    int ndim = 0;
    int64_t dims[LRP_MAX_DIMS];
    if ((st = parse_shape(shp, &ndim, dims, path, err)) != LRP_OK)
        goto done;
    t = lrp_tensor_new(LRP_FLOAT32, ndim, dims, err);
    if (!t) {
        st = err ? err->status : LRP_ERR_LIMIT;
        lrp_error_prefix(err, "%s", path);
        goto done;
    }
    size_t esz = is64 ? 8 : 4;
    float *dst = lrp_f32(t);
    unsigned char buf[8192];
    size_t done_n = 0, total = (size_t)t->numel;
    while (done_n < total) {
        size_t want = (total - done_n) * esz;
        if (want > sizeof buf)
            want = sizeof buf;
        if (fread(buf, 1, want, f) != want) {
            st = lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy data is shorter than its shape %s", path,
                          lrp_shape_str(ndim, dims, (char[128]){0}, 128));
            goto done;
        }
        for (size_t i = 0; i < want / esz; i++) {
            unsigned char *e = buf + i * esz;
            if (big)
                for (size_t a = 0, b = esz - 1; a < b; a++, b--) {
                    unsigned char c = e[a];
                    e[a] = e[b];
                    e[b] = c;
                }
            if (is64) {
                double d;
                memcpy(&d, e, 8);
                dst[done_n + i] = (float)d;
            } else {
                memcpy(&dst[done_n + i], e, 4);
            }
        }
        done_n += want / esz;
    }
    if (fgetc(f) != EOF) {
        st = lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy file has data beyond its shape", path);
        goto done;
    }
done:
    fclose(f);
    free(hdr);
    if (st != LRP_OK) {
        lrp_tensor_free(t);
        return st;
    }
    *out = t;
    return LRP_OK;
}

lrp_status lrp_npy_write(const char *path, const lrp_tensor *t, lrp_error *err)
{
    char shape[256];
    size_t used = 0;
    shape[0] = '\0';
    for (int i = 0; i < t->ndim; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%lld%s", (long long)t->dims[i],
                                 (t->ndim == 1 || i + 1 < t->ndim) ? ", " : "");
    if (t->ndim == 1) /* "(5, )" -> "(5,)" as numpy writes it */
        shape[used - 1] = '\0';
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     t->dtype == LRP_INT64 ? "<i8" : "<f4", shape);
    /* pad with spaces so that magic+len+header is a multiple of 64, ending in '\n' */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(hdr + n, ' ', pad);
    hdr[n + pad] = '\n';
    size_t hlen = (size_t)n + pad + 1;
    FILE *f = fopen(path, "wb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    size_t esz = t->dtype == LRP_INT64 ? 8 : 4;
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, hlen, f) == hlen &&
             fwrite(t->data, esz, (size_t)t->numel, f) == (size_t)t->numel;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok)
        return lrp_fail(err, LRP_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return LRP_OK;
}
