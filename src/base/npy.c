/* NumPy .npy files (format versions 1.0-3.0): float32/float64 in, lrp_real out. */
#include "base/error.h"
#include "base/tensor.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NPY_MAGIC "\x93NUMPY"

/* The header is the repr of a Python dict, as numpy writes it:
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * parsed strictly as a Python literal of exactly that form: the three keys
 * exactly once each (in any order) and nothing else, single- or
 * double-quoted strings without escapes, True/False, and a tuple of
 * non-negative decimal integers ("(3,)" and "()" included; "(3)" is not a
 * tuple). numpy's own reader takes Python 2's "3L" in version 1.0 and 2.0
 * headers, and so does this one. Trailing commas and Python whitespace are
 * allowed where Python allows them; anything after the closing brace but
 * whitespace is an error. */
typedef struct npy_header {
    char descr[16];
    int fortran; /* 1 True, 0 False */
    int ndim;
    int64_t dims[LRP_MAX_DIMS];
} npy_header;

typedef struct hparser {
    const char *s, *p;
    const char *path;
    int allow_long; /* "3L" (version 1.0 and 2.0) */
    lrp_error *err;
} hparser;

static void hskip(hparser *h)
{
    while (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r' || *h->p == '\f')
        h->p++;
}

static lrp_status hfail(hparser *h, lrp_status st, const char *what)
{
    return lrp_fail(h->err, st, "%s: malformed .npy header: %s at byte %ld of the header dict", h->path, what,
                    (long)(h->p - h->s));
}

/* A string literal into buf (at most size - 1 characters). */
static lrp_status hstring(hparser *h, char *buf, size_t size, const char *what)
{
    char q = *h->p;
    if (q != '\'' && q != '"')
        return hfail(h, LRP_ERR_FORMAT, what);
    const char *b = ++h->p;
    while (*h->p && *h->p != q && *h->p != '\\' && *h->p != '\n')
        h->p++;
    if (*h->p != q)
        return hfail(h, LRP_ERR_FORMAT, "unterminated or escaped string");
    size_t n = (size_t)(h->p - b);
    h->p++;
    if (n >= size)
        n = size - 1; /* long enough to be reported as an unknown key or dtype */
    memcpy(buf, b, n);
    buf[n] = '\0';
    return LRP_OK;
}

/* A Python name: the letters, digits and underscores that follow. */
static size_t hname_len(const char *p)
{
    size_t n = 0;
    while (isalnum((unsigned char)p[n]) || p[n] == '_')
        n++;
    return n;
}

static lrp_status hbool(hparser *h, int *v)
{
    size_t n = hname_len(h->p);
    if (n == 4 && !strncmp(h->p, "True", 4))
        *v = 1;
    else if (n == 5 && !strncmp(h->p, "False", 5))
        *v = 0;
    else
        return hfail(h, LRP_ERR_FORMAT, "fortran_order is not True or False");
    h->p += n;
    return LRP_OK;
}

static lrp_status hshape(hparser *h, int *ndim, int64_t *dims)
{
    if (*h->p != '(')
        return hfail(h, LRP_ERR_FORMAT, "the shape is not a tuple");
    h->p++;
    *ndim = 0;
    int trailing_comma = 0;
    for (;;) {
        hskip(h);
        if (*h->p == ')')
            break;
        if (*ndim > 0 && !trailing_comma)
            return hfail(h, LRP_ERR_FORMAT, "expected ',' or ')' in the shape");
        if (!isdigit((unsigned char)*h->p))
            return hfail(h, LRP_ERR_FORMAT, "the shape holds something other than a non-negative integer");
        if (h->p[0] == '0' && isdigit((unsigned char)h->p[1]))
            return hfail(h, LRP_ERR_FORMAT, "an integer with a leading zero in the shape");
        if (*ndim >= LRP_MAX_DIMS)
            return lrp_fail(h->err, LRP_ERR_LIMIT, "%s: .npy array has more than %d dimensions", h->path,
                            LRP_MAX_DIMS);
        int64_t v = 0;
        int big = 0;
        while (isdigit((unsigned char)*h->p)) {
            if (v > (LRP_MAX_ELEMENTS - (*h->p - '0')) / 10)
                big = 1;
            else
                v = v * 10 + (*h->p - '0');
            h->p++;
        }
        if (h->allow_long && (*h->p == 'L' || *h->p == 'l'))
            h->p++;
        if (isalnum((unsigned char)*h->p) || *h->p == '_' || *h->p == '.')
            return hfail(h, LRP_ERR_FORMAT, "the shape holds something other than a non-negative integer");
        if (big)
            return lrp_fail(h->err, LRP_ERR_LIMIT, "%s: .npy dimension too large (more than %lld)", h->path,
                            (long long)LRP_MAX_ELEMENTS);
        dims[(*ndim)++] = v;
        hskip(h);
        trailing_comma = *h->p == ',';
        if (trailing_comma)
            h->p++;
    }
    if (*ndim == 1 && !trailing_comma)
        return hfail(h, LRP_ERR_FORMAT, "the shape is '(n)', not the tuple '(n,)'");
    h->p++;
    return LRP_OK;
}

static lrp_status parse_header(const char *text, int major, const char *path, npy_header *out, lrp_error *err)
{
    hparser h = {text, text, path, major < 3, err};
    int seen_descr = 0, seen_fo = 0, seen_shape = 0;
    lrp_status st;
    memset(out, 0, sizeof *out);
    hskip(&h);
    if (*h.p != '{')
        return hfail(&h, LRP_ERR_FORMAT, "the header is not a dict");
    h.p++;
    for (;;) {
        hskip(&h);
        if (*h.p == '}')
            break;
        char key[32];
        if ((st = hstring(&h, key, sizeof key, "expected a quoted key or '}'")) != LRP_OK)
            return st;
        int *seen = !strcmp(key, "descr")           ? &seen_descr
                    : !strcmp(key, "fortran_order") ? &seen_fo
                    : !strcmp(key, "shape")         ? &seen_shape
                                                    : NULL;
        if (!seen)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: malformed .npy header: unknown key '%s'", path, key);
        if (*seen)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: malformed .npy header: the key '%s' appears twice", path, key);
        *seen = 1;
        hskip(&h);
        if (*h.p != ':')
            return hfail(&h, LRP_ERR_FORMAT, "expected ':' after a key");
        h.p++;
        hskip(&h);
        if (seen == &seen_descr) {
            if (*h.p == '[')
                return lrp_fail(err, LRP_ERR_UNSUPPORTED,
                                "%s: structured .npy dtypes are not supported (need float32 or float64)", path);
            st = hstring(&h, out->descr, sizeof out->descr, "descr is not a string");
        } else if (seen == &seen_fo) {
            st = hbool(&h, &out->fortran);
        } else {
            st = hshape(&h, &out->ndim, out->dims);
        }
        if (st != LRP_OK)
            return st;
        hskip(&h);
        if (*h.p == ',')
            h.p++;
        else if (*h.p != '}')
            return hfail(&h, LRP_ERR_FORMAT, "expected ',' or '}' after a value");
    }
    h.p++;
    hskip(&h);
    if (*h.p)
        return hfail(&h, LRP_ERR_FORMAT, "text after the dict");
    if (!seen_descr || !seen_fo || !seen_shape)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy header lacks %s", path,
                        !seen_descr ? "descr"
                        : !seen_fo  ? "fortran_order"
                                    : "shape");
    return LRP_OK;
}

/* The magic, the version, the header length and the header dict, parsed
 * into h. */
static lrp_status read_header(FILE *f, const char *path, npy_header *h, lrp_error *err)
{
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, f);
    if (got < 10 || memcmp(pre, NPY_MAGIC, 6) != 0)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
    unsigned major = pre[6];
    size_t hlen;
    if (major == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: truncated .npy header", path);
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: .npy format version %u is not supported", path, major);
    }
    if (hlen > (1u << 20))
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy header is implausibly long", path);
    char *hdr = malloc(hlen + 1);
    if (!hdr)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    lrp_status st;
    if (fread(hdr, 1, hlen, f) != hlen) {
        st = lrp_fail(err, LRP_ERR_FORMAT, "%s: truncated .npy header", path);
    } else {
        hdr[hlen] = '\0';
        if (strlen(hdr) != hlen)
            st = lrp_fail(err, LRP_ERR_FORMAT, "%s: malformed .npy header: it holds a NUL byte", path);
        else
            st = parse_header(hdr, (int)major, path, h, err);
    }
    free(hdr);
    return st;
}

/* float32 or float64, either byte order. */
static lrp_status npy_dtype(const char *type, const char *path, int *is64, int *big, lrp_error *err)
{
    if (!strcmp(type, "<f4") || !strcmp(type, "=f4") || !strcmp(type, ">f4")) {
        *is64 = 0;
        *big = type[0] == '>';
    } else if (!strcmp(type, "<f8") || !strcmp(type, "=f8") || !strcmp(type, ">f8")) {
        *is64 = 1;
        *big = type[0] == '>';
    } else {
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: .npy dtype '%s' is not supported (need float32 or float64)",
                        path, type);
    }
    return LRP_OK;
}

/* The data must be exactly what the shape declares: a regular file's size is
 * checked before anything is allocated, so that a 100-byte file declaring
 * gigabytes is a format error, not an allocation. */
static lrp_status check_data_size(FILE *f, const char *path, const npy_header *h, int64_t numel, size_t esz,
                                  lrp_error *err)
{
    struct stat sb;
    long data_at = ftell(f);
    if (data_at >= 0 && fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode)) {
        uint64_t have = (uint64_t)sb.st_size > (uint64_t)data_at ? (uint64_t)sb.st_size - (uint64_t)data_at : 0;
        uint64_t want = (uint64_t)numel * esz;
        if (have != want) {
            char sh[128];
            lrp_shape_str(h->ndim, h->dims, sh, sizeof sh);
            if (have < want)
                return lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy data is shorter than its shape %s (%llu of %llu bytes)",
                                path, sh, (unsigned long long)have, (unsigned long long)want);
            return lrp_fail(err, LRP_ERR_FORMAT,
                            "%s: .npy file has data beyond its shape %s (%llu bytes, %llu needed)", path, sh,
                            (unsigned long long)have, (unsigned long long)want);
        }
    }
    return LRP_OK;
}

/* The values into t, converted to lrp_real, and nothing after them. */
static lrp_status read_data(FILE *f, const char *path, const npy_header *h, int is64, int big, lrp_tensor *t,
                            lrp_error *err)
{
    size_t esz = is64 ? 8 : 4;
    lrp_real *dst = lrp_reals(t);
    unsigned char buf[8192];
    size_t done_n = 0, total = (size_t)t->numel;
    while (done_n < total) {
        size_t want = (total - done_n) * esz;
        if (want > sizeof buf)
            want = sizeof buf;
        if (fread(buf, 1, want, f) != want)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy data is shorter than its shape %s", path,
                            lrp_shape_str(h->ndim, h->dims, (char[128]){0}, 128));
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
                dst[done_n + i] = (lrp_real)d;
            } else {
                float v;
                memcpy(&v, e, 4);
                dst[done_n + i] = v;
            }
        }
        done_n += want / esz;
    }
    if (fgetc(f) != EOF)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: .npy file has data beyond its shape", path);
    return LRP_OK;
}

lrp_status lrp_npy_read(const char *path, lrp_tensor **out, lrp_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    lrp_tensor *t = NULL;
    npy_header h;
    int is64 = 0, big = 0;
    lrp_status st = read_header(f, path, &h, err);
    if (st != LRP_OK)
        goto done;
    if (h.fortran) {
        st = lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: Fortran-ordered .npy arrays are not supported", path);
        goto done;
    }
    if ((st = npy_dtype(h.descr, path, &is64, &big, err)) != LRP_OK)
        goto done;
    int64_t numel = lrp_numel_checked(h.ndim, h.dims);
    if (numel < 0) {
        st = lrp_fail(err, LRP_ERR_LIMIT, "%s: .npy array of shape %s is larger than lrp's limit of %lld values", path,
                      lrp_shape_str(h.ndim, h.dims, (char[128]){0}, 128), (long long)LRP_MAX_ELEMENTS);
        goto done;
    }
    if ((st = check_data_size(f, path, &h, numel, is64 ? 8 : 4, err)) != LRP_OK)
        goto done;
    t = lrp_tensor_new(LRP_REAL_DT, h.ndim, h.dims, err);
    if (!t) {
        st = err ? err->status : LRP_ERR_LIMIT;
        lrp_error_prefix(err, "%s", path);
        goto done;
    }
    st = read_data(f, path, &h, is64, big, t, err);
done:
    fclose(f);
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
                     t->dtype == LRP_INT64     ? "<i8"
                     : t->dtype == LRP_FLOAT64 ? "<f8"
                                               : "<f4",
                     shape);
    /* pad with spaces so that magic+len+header is a multiple of 64, ending in '\n' */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(hdr + n, ' ', pad);
    hdr[n + pad] = '\n';
    size_t hlen = (size_t)n + pad + 1;
    FILE *f = fopen(path, "wb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    size_t esz = lrp_elem_size(t);
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, hlen, f) == hlen &&
             fwrite(t->data, esz, (size_t)t->numel, f) == (size_t)t->numel;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok)
        return lrp_fail(err, LRP_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return LRP_OK;
}
