/* One metadata_props entry of an ONNX file without loading the model: the
 * top level of the ModelProto read field by field from the file, every field
 * but metadata_props (14: StringStringEntryProto {key = 1; value = 2}) skipped
 * with a seek, so that a 100 MB model costs a few reads. The protobuf wire
 * format: a field is a varint key (number << 3 | wire type), then a varint
 * (type 0), 8 bytes (1), a varint length and that many bytes (2) or 4 bytes
 * (5). */
#include "base/error.h"
#include "lrp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A metadata entry larger than this is refused (labels of 21k classes are
 * about 500 KB). */
#define ENTRY_MAX ((uint64_t)64 << 20)

/* A varint from f into *v; false at the end of the file or on a varint of
 * more than 10 bytes (*eof tells the clean end before its first byte). */
static bool read_varint(FILE *f, uint64_t *v, bool *eof)
{
    *v = 0;
    *eof = false;
    for (int i = 0; i < 10; i++) {
        int c = getc(f);
        if (c == EOF) {
            *eof = i == 0;
            return false;
        }
        *v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80))
            return true;
    }
    return false;
}

/* A varint from b[*p..n). */
static bool buf_varint(const uint8_t *b, size_t n, size_t *p, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 10 && *p < n; i++) {
        uint8_t c = b[(*p)++];
        *v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80))
            return true;
    }
    return false;
}

/* The key and value of one StringStringEntryProto (b, n bytes), as pointers
 * into b with their lengths (the last of a repeated field counts, as protobuf
 * reads it); false when it is malformed. */
static bool parse_entry(const uint8_t *b, size_t n, const uint8_t **key, size_t *nkey, const uint8_t **val,
                        size_t *nval)
{
    *key = *val = NULL;
    *nkey = *nval = 0;
    size_t p = 0;
    while (p < n) {
        uint64_t tag, len;
        if (!buf_varint(b, n, &p, &tag))
            return false;
        const unsigned wt = (unsigned)(tag & 7);
        const uint64_t field = tag >> 3;
        if (wt == 0) {
            if (!buf_varint(b, n, &p, &len) || field == 1 || field == 2)
                return false;
        } else if (wt == 1 || wt == 5) {
            size_t w = wt == 1 ? 8 : 4;
            if (n - p < w || field == 1 || field == 2)
                return false;
            p += w;
        } else if (wt == 2) {
            if (!buf_varint(b, n, &p, &len) || len > n - p)
                return false;
            if (field == 1) {
                *key = b + p;
                *nkey = (size_t)len;
            } else if (field == 2) {
                *val = b + p;
                *nval = (size_t)len;
            }
            p += (size_t)len;
        } else {
            return false;
        }
    }
    return true;
}

static lrp_status peek(FILE *f, const char *path, uint64_t size, const char *key, char **value, lrp_error *err)
{
    uint64_t at = 0;
    for (;;) {
        uint64_t tag, v;
        bool eof;
        if (!read_varint(f, &tag, &eof))
            return eof ? LRP_OK : lrp_fail(err, LRP_ERR_FORMAT, "%s: not an ONNX model (a bad field key)", path);
        const unsigned wt = (unsigned)(tag & 7);
        const uint64_t field = tag >> 3;
        if (field == 0 || wt == 3 || wt == 4 || wt > 5)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: not an ONNX model (field %llu of wire type %u)", path,
                            (unsigned long long)field, wt);
        if (field == 14 && wt != 2)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: not an ONNX model (metadata_props of wire type %u)", path, wt);
        if (wt == 0) {
            if (!read_varint(f, &v, &eof))
                return lrp_fail(err, LRP_ERR_FORMAT, "%s: not an ONNX model (a truncated varint)", path);
            continue;
        }
        uint64_t len = wt == 1 ? 8 : wt == 5 ? 4 : 0;
        if (wt == 2 && !read_varint(f, &len, &eof))
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: not an ONNX model (a truncated length)", path);
        long long pos = (long long)ftello(f);
        if (pos < 0)
            return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
        at = (uint64_t)pos;
        if (len > size - at)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: not an ONNX model (a field of %llu bytes past the end)", path,
                            (unsigned long long)len);
        if (field != 14) {
            if (fseeko(f, (off_t)(at + len), SEEK_SET) != 0)
                return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
            continue;
        }
        if (len > ENTRY_MAX)
            return lrp_fail(err, LRP_ERR_LIMIT, "%s: a metadata entry of %llu bytes", path, (unsigned long long)len);
        uint8_t *b = malloc(len ? (size_t)len : 1);
        if (!b)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        const uint8_t *k, *val;
        size_t nk, nv;
        bool ok = fread(b, 1, (size_t)len, f) == (size_t)len;
        if (ok && !parse_entry(b, (size_t)len, &k, &nk, &val, &nv)) {
            free(b);
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: not an ONNX model (a malformed metadata entry)", path);
        }
        /* the strings end at their first NUL, as the loader's do */
        char *ks = ok && k ? strndup((const char *)k, nk) : NULL;
        if (ok && k && !ks) {
            free(b);
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        }
        if (ks && ks[0] && !strcmp(ks, key)) { /* entries without a key are left out, as the loader does */
            char *vs = strndup(val ? (const char *)val : "", val ? nv : 0);
            if (!vs) {
                free(ks);
                free(b);
                return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
            }
            free(*value); /* the later entry of a key counts */
            *value = vs;
        }
        free(ks);
        free(b);
        if (!ok)
            return lrp_fail(err, LRP_ERR_IO, "%s: read error", path);
    }
}

lrp_status lrp_onnx_metadata_peek(const char *path, const char *key, char **value, lrp_error *err)
{
    *value = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return lrp_fail(err, LRP_ERR_IO, "%s: not a regular file", path);
    }
    lrp_status st = peek(f, path, (uint64_t)sb.st_size, key, value, err);
    fclose(f);
    if (st != LRP_OK) {
        free(*value);
        *value = NULL;
    }
    return st;
}
