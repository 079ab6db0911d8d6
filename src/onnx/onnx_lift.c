/* A model file's weights without the round trip through protobuf-c: see onnx_lift.h. */
#include "onnx/onnx_lift.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ModelProto.graph, GraphProto.initializer, TensorProto.raw_data (onnx.proto) */
#define F_MODEL_GRAPH 7
#define F_GRAPH_INITIALIZER 5
#define F_TENSOR_RAW_DATA 9
#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2
#define WT_I32 5

#define WINDOW ((int64_t)1 << 16)

typedef struct {
    int fd;
    int64_t size;
    uint8_t *win; /* bytes [woff, woff + wlen) of the file */
    int64_t woff, wlen;
} reader;

typedef struct {
    uint8_t *p;
    size_t n, cap;
} membuf;

static bool mb_reserve(membuf *b, size_t more)
{
    if (more > SIZE_MAX / 2 - b->n)
        return false;
    if (b->n + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static bool mb_put(membuf *b, const void *src, size_t n)
{
    if (!mb_reserve(b, n))
        return false;
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
    return true;
}

static bool mb_varint(membuf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return mb_put(b, tmp, n);
}

bool lrp_onnx_read_at(int fd, int64_t off, void *buf, int64_t n)
{
    uint8_t *dst = buf;
    while (n > 0) {
        ssize_t got = pread(fd, dst, (size_t)(n > ((int64_t)1 << 30) ? ((int64_t)1 << 30) : n), (off_t)off);
        if (got <= 0)
            return false;
        dst += got;
        off += got;
        n -= got;
    }
    return true;
}

static int rd_byte(reader *r, int64_t off)
{
    if (off < 0 || off >= r->size)
        return -1;
    if (off < r->woff || off >= r->woff + r->wlen) {
        int64_t n = r->size - off < WINDOW ? r->size - off : WINDOW;
        if (!lrp_onnx_read_at(r->fd, off, r->win, n))
            return -1;
        r->woff = off;
        r->wlen = n;
    }
    return r->win[off - r->woff];
}

/* A varint at *off, below end; *off moves past it. */
static bool rd_varint(reader *r, int64_t *off, int64_t end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*off >= end)
            return false;
        int c = rd_byte(r, (*off)++);
        if (c < 0)
            return false;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* Appends the file's bytes [off, off + n) to b. */
static bool copy_bytes(reader *r, int64_t off, int64_t n, membuf *b)
{
    if (n < 0 || (uint64_t)n > SIZE_MAX / 2 || !mb_reserve(b, (size_t)n))
        return false;
    if (off >= r->woff && off + n <= r->woff + r->wlen)
        memcpy(b->p + b->n, r->win + (off - r->woff), (size_t)n);
    else if (!lrp_onnx_read_at(r->fd, off, b->p + b->n, n))
        return false;
    b->n += (size_t)n;
    return true;
}

typedef struct {
    int64_t start;     /* where the field's key begins */
    int64_t body, end; /* its payload (for WT_LEN: after the length) and its end */
    uint32_t num, wt;
} field;

/* The field at *off (below end); *off moves past it. Groups (wire types 3 and 4), which onnx.proto does not use,
 * and anything malformed give false. */
static bool next_field(reader *r, int64_t *off, int64_t end, field *f)
{
    uint64_t key, len = 0;
    f->start = *off;
    if (!rd_varint(r, off, end, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return false;
    f->num = (uint32_t)(key >> 3);
    f->wt = (uint32_t)(key & 7);
    switch (f->wt) {
    case WT_VARINT:
        f->body = *off;
        if (!rd_varint(r, off, end, &len))
            return false;
        break;
    case WT_I64:
    case WT_I32:
        f->body = *off;
        *off += f->wt == WT_I64 ? 8 : 4;
        break;
    case WT_LEN:
        if (!rd_varint(r, off, end, &len) || len > (uint64_t)(end - *off))
            return false;
        f->body = *off;
        *off += (int64_t)len;
        break;
    default: return false;
    }
    if (*off > end)
        return false;
    f->end = *off;
    return true;
}

typedef struct {
    lrp_lift_span *p;
    size_t n, cap;
} spans;

static bool spans_push(spans *s, lrp_lift_span v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        lrp_lift_span *p = realloc(s->p, cap * sizeof *p);
        if (!p)
            return false;
        s->p = p;
        s->cap = cap;
    }
    s->p[s->n++] = v;
    return true;
}

/* A TensorProto's fields into out, but for a raw_data of at least min_len bytes, which *sp records. A tensor with
 * raw_data twice (the last would win) is left to protobuf-c. */
static bool walk_tensor(reader *r, int64_t off, int64_t end, size_t min_len, membuf *out, lrp_lift_span *sp)
{
    int raws = 0;
    sp->off = 0;
    sp->len = -1;
    while (off < end) {
        field f;
        if (!next_field(r, &off, end, &f))
            return false;
        if (f.num == F_TENSOR_RAW_DATA) {
            if (f.wt != WT_LEN || ++raws > 1)
                return false;
            if ((uint64_t)(f.end - f.body) >= min_len) {
                sp->off = f.body;
                sp->len = f.end - f.body;
                continue;
            }
        }
        if (!copy_bytes(r, f.start, f.end - f.start, out))
            return false;
    }
    return true;
}

static bool put_len_field(membuf *out, uint32_t num, const membuf *body)
{
    return mb_varint(out, ((uint64_t)num << 3) | WT_LEN) && mb_varint(out, body->n) && mb_put(out, body->p, body->n);
}

static bool walk_graph(reader *r, int64_t off, int64_t end, size_t min_len, membuf *out, spans *sp)
{
    membuf t = {0};
    bool ok = true;
    while (ok && off < end) {
        field f;
        ok = next_field(r, &off, end, &f);
        if (ok && f.num == F_GRAPH_INITIALIZER && f.wt == WT_LEN) {
            lrp_lift_span s;
            t.n = 0;
            ok = walk_tensor(r, f.body, f.end, min_len, &t, &s) && put_len_field(out, f.num, &t) && spans_push(sp, s);
        } else if (ok) {
            ok = copy_bytes(r, f.start, f.end - f.start, out);
        }
    }
    free(t.p);
    return ok;
}

static bool walk_model(reader *r, size_t min_len, membuf *out, spans *sp)
{
    int64_t off = 0;
    int graphs = 0;
    membuf gb = {0};
    bool ok = true;
    while (ok && off < r->size) {
        field f;
        ok = next_field(r, &off, r->size, &f);
        if (ok && f.num == F_MODEL_GRAPH) {
            /* a second graph field would be merged into the first: protobuf-c's business */
            ok = f.wt == WT_LEN && ++graphs == 1 && walk_graph(r, f.body, f.end, min_len, &gb, sp) &&
                 put_len_field(out, f.num, &gb);
        } else if (ok) {
            ok = copy_bytes(r, f.start, f.end - f.start, out);
        }
    }
    free(gb.p);
    return ok && graphs == 1;
}

bool lrp_onnx_lift(int fd, int64_t size, size_t min_len, lrp_lifted *out)
{
    memset(out, 0, sizeof *out);
    if (size <= 0)
        return false;
    reader r = {.fd = fd, .size = size, .win = malloc((size_t)WINDOW), .woff = 0, .wlen = 0};
    membuf mb = {0};
    spans sp = {0};
    bool ok = r.win && walk_model(&r, min_len ? min_len : 1, &mb, &sp);
    free(r.win);
    if (!ok) {
        free(mb.p);
        free(sp.p);
        return false;
    }
    out->buf = mb.p ? mb.p : malloc(1);
    out->len = mb.n;
    out->spans = sp.p;
    out->n_spans = sp.n;
    return out->buf != NULL;
}

void lrp_lifted_free(lrp_lifted *l)
{
    free(l->buf);
    free(l->spans);
    memset(l, 0, sizeof *l);
}
