/* ONNX ModelProto (protobuf-c, schema from Debian's libonnx-dev) -> lrp_graph. */
#include "onnx/onnx_load.h"
#include "onnx/onnx_lift.h"

#include "base/error.h"
#include "graph/graph.h"
#include "ops/op.h"
#include "base/tensor.h"

#include "onnx.pb-c.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char *lrp_onnx_dtype_name(int dt)
{
    static const char *names[] = {"undefined", "float32", "uint8",     "int8",       "uint16",  "int16",
                                  "int32",     "int64",   "string",    "bool",       "float16", "float64",
                                  "uint32",    "uint64",  "complex64", "complex128", "bfloat16"};
    return dt >= 0 && dt < (int)(sizeof names / sizeof *names) ? names[dt] : "unknown";
}

static int elem_size(int dt)
{
    switch (dt) {
    case LRP_DT_UINT8:
    case LRP_DT_INT8:
    case LRP_DT_BOOL: return 1;
    case LRP_DT_UINT16:
    case LRP_DT_INT16:
    case LRP_DT_FLOAT16: return 2;
    case LRP_DT_FLOAT:
    case LRP_DT_INT32:
    case LRP_DT_UINT32: return 4;
    case LRP_DT_INT64:
    case LRP_DT_DOUBLE:
    case LRP_DT_UINT64: return 8;
    default: return 0;
    }
}

static bool is_float_type(int dt) { return dt == LRP_DT_FLOAT || dt == LRP_DT_FLOAT16 || dt == LRP_DT_DOUBLE; }

/* ------------------------------------------------------------- big buffers
 * A model's file and its unpacked protobuf are each about the size of its
 * weights (100 MB for ResNet-50), and protobuf-c makes one allocation per
 * field. Both go into big anonymous mappings instead (the unpacked message
 * through an arena, freed at once), which the kernel may back with huge pages
 * where it allows them: loading ResNet-50 took 0.29 s of CPU time with malloc,
 * 0.19 s so. Small buffers stay with malloc. Under AddressSanitizer the
 * message is malloc'ed as before, so that every field keeps its own bounds. */
#define BIG_BYTES ((size_t)4 << 20)

static void *big_alloc(size_t n)
{
    if (n < BIG_BYTES)
        return malloc(n ? n : 1);
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE); /* a hint: without it, ordinary pages */
#endif
    return p;
}

static void big_free(void *p, size_t n)
{
    if (!p)
        return;
    if (n < BIG_BYTES)
        free(p);
    else
        munmap(p, n);
}

/* An arena for protobuf-c's unpacking: allocations bump through big chunks,
 * frees do nothing, and the chunks go at once. */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
} arena_chunk;

#if defined(__SANITIZE_ADDRESS__)
#define LOAD_ARENA 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOAD_ARENA 0
#endif
#endif
#ifndef LOAD_ARENA
#define LOAD_ARENA 1
#endif
#define ARENA_CHUNK ((size_t)64 << 20)
#define ARENA_ALIGN 16
#define ARENA_HEAD ((sizeof(arena_chunk) + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN)

static void *arena_alloc(void *data, size_t size)
{
    arena_chunk **head = data;
    size = (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    arena_chunk *c = *head;
    if (!c || c->size - c->used < size) {
        if (size > SIZE_MAX - ARENA_HEAD)
            return NULL;
        size_t want = size + ARENA_HEAD > ARENA_CHUNK ? size + ARENA_HEAD : ARENA_CHUNK;
        c = big_alloc(want);
        if (!c)
            return NULL;
        c->next = *head;
        c->size = want;
        c->used = ARENA_HEAD;
        *head = c;
    }
    void *p = (char *)c + c->used;
    c->used += size;
    return p;
}

static void arena_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

static void arena_release(arena_chunk *c)
{
    while (c) {
        arena_chunk *next = c->next;
        big_free(c, c->size);
        c = next;
    }
}

/* Reads a whole file into big_alloc's memory (free it with big_free(data, len)).
 * Refuses files over 4 GiB (protobuf's own limit is 2 GiB). */
static lrp_status read_file(const char *path, uint8_t **data, size_t *len, lrp_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return lrp_fail(err, LRP_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > ((uint64_t)1 << 32)) {
        fclose(f);
        return lrp_fail(err, LRP_ERR_LIMIT, "%s: file is larger than 4 GiB", path);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = big_alloc(n);
    if (!buf) {
        fclose(f);
        return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    if (fread(buf, 1, n, f) != n) {
        big_free(buf, n);
        fclose(f);
        return lrp_fail(err, LRP_ERR_IO, "%s: read error", path);
    }
    fclose(f);
    *data = buf;
    *len = n;
    return LRP_OK;
}

/* Directory part of path, with trailing '/', or "" . */
static void dir_of(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path + 1) : 0;
    if (n >= size)
        n = size - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

/* Whether the resolved path file lies under the resolved directory dir. */
static bool path_within(const char *file, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return strncmp(file, dir, n) == 0 && file[n] == '/';
}

/* External data: the file named by "location", relative to the model's
 * directory and not escaping it; "offset" and "length" optional. */
static lrp_status read_external(const char *model_path, const Onnx__TensorProto *tp, size_t want, uint8_t **out,
                                lrp_error *err)
{
    const char *loc = NULL;
    long long offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value)
            continue;
        char *end;
        if (!strcmp(e->key, "location"))
            loc = e->value;
        else if (!strcmp(e->key, "offset")) {
            errno = 0;
            offset = strtoll(e->value, &end, 10);
            if (errno || *end || offset < 0)
                return lrp_fail(err, LRP_ERR_FORMAT, "%s: tensor '%s' has a bad external data offset '%s'", model_path,
                                tp->name ? tp->name : "", e->value);
        } else if (!strcmp(e->key, "length")) {
            errno = 0;
            length = strtoll(e->value, &end, 10);
            if (errno || *end || length < 0)
                return lrp_fail(err, LRP_ERR_FORMAT, "%s: tensor '%s' has a bad external data length '%s'", model_path,
                                tp->name ? tp->name : "", e->value);
        }
    }
    if (!loc || !*loc)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: tensor '%s' has external data without a location", model_path,
                        tp->name ? tp->name : "");
    if (loc[0] == '/' || strstr(loc, "..") != NULL)
        return lrp_fail(err, LRP_ERR_UNSUPPORTED,
                        "%s: tensor '%s' refers to external data '%s' outside the model's directory", model_path,
                        tp->name ? tp->name : "", loc);
    if (length >= 0 && (size_t)length != want)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: tensor '%s': external data length %lld does not match its shape",
                        model_path, tp->name ? tp->name : "", length);
    char dir[PATH_MAX], full[PATH_MAX + 256];
    dir_of(model_path, dir, sizeof dir);
    snprintf(full, sizeof full, "%s%s", dir, loc);
    /* A symbolic link beside the model may point anywhere: the resolved file
     * must lie under the model's directory (or under the directory of the
     * resolved model file, for a model that is itself a link). */
    char rfile[PATH_MAX], rdir[PATH_MAX], rmodel[PATH_MAX];
    if (realpath(full, rfile)) {
        bool inside = realpath(dir[0] ? dir : ".", rdir) && path_within(rfile, rdir);
        if (!inside && realpath(model_path, rmodel)) {
            dir_of(rmodel, rdir, sizeof rdir);
            inside = path_within(rfile, rdir);
        }
        if (!inside)
            return lrp_fail(err, LRP_ERR_UNSUPPORTED,
                            "%s: tensor '%s' refers to external data '%s' outside the model's directory (it resolves "
                            "to %s)",
                            model_path, tp->name ? tp->name : "", loc, rfile);
    }
    FILE *f = fopen(full, "rb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: external data file %s for tensor '%s': %s", model_path, full,
                        tp->name ? tp->name : "", strerror(errno));
    uint8_t *buf = malloc(want ? want : 1);
    lrp_status st = LRP_OK;
    if (!buf)
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    else if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || fread(buf, 1, want, f) != want)
        st = lrp_fail(err, LRP_ERR_FORMAT, "%s: external data file %s is shorter than tensor '%s' needs", model_path,
                      full, tp->name ? tp->name : "");
    fclose(f);
    if (st != LRP_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return LRP_OK;
}

static double read_elem(const uint8_t *p, int dt)
{
    switch (dt) {
    case LRP_DT_FLOAT: {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    case LRP_DT_DOUBLE: {
        double v;
        memcpy(&v, p, 8);
        return v;
    }
    case LRP_DT_FLOAT16: {
        uint16_t v;
        memcpy(&v, p, 2);
        return lrp_half_to_float(v);
    }
    case LRP_DT_UINT8: return *p;
    case LRP_DT_INT8: return (int8_t)*p;
    case LRP_DT_BOOL: return *p != 0;
    case LRP_DT_UINT16: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case LRP_DT_INT16: {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case LRP_DT_INT32: {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case LRP_DT_UINT32: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: return 0;
    }
}

static int64_t read_elem_i64(const uint8_t *p, int dt)
{
    if (dt == LRP_DT_INT64) {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    if (dt == LRP_DT_UINT64) {
        uint64_t v;
        memcpy(&v, p, 8);
        return (int64_t)v;
    }
    return (int64_t)read_elem(p, dt);
}

/* float32 raw data (little-endian, as the host): one copy, or one conversion per element in the --double build */
static void copy_float_raw(const uint8_t *raw, int64_t numel, lrp_real *dst)
{
    if (sizeof(lrp_real) == sizeof(float)) {
        memcpy(dst, raw, sizeof(float) * (size_t)numel);
        return;
    }
    for (int64_t i = 0; i < numel; i++) {
        float v;
        memcpy(&v, raw + (size_t)i * sizeof v, sizeof v);
        dst[i] = (lrp_real)v;
    }
}

/* A TensorProto as a tensor; sp (if not NULL and sp->len >= 0): its raw_data is not in the message but at sp in the
 * file fd (onnx_lift.h). */
static lrp_status tensor_from(const char *model_path, const Onnx__TensorProto *tp, const lrp_lift_span *sp, int fd,
                              lrp_tensor **out, lrp_error *err)
{
    *out = NULL;
    const char *tname = tp->name ? tp->name : "";
    char sb[160];
    int dt = tp->has_data_type ? tp->data_type : 0;
    if (tp->n_dims > LRP_MAX_DIMS)
        return lrp_fail(err, LRP_ERR_LIMIT, "%s: tensor '%s' has rank %zu (at most %d supported)", model_path, tname,
                        tp->n_dims, LRP_MAX_DIMS);
    int64_t dims[LRP_MAX_DIMS];
    for (size_t i = 0; i < tp->n_dims; i++) {
        dims[i] = tp->dims[i];
        if (dims[i] < 0)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: tensor '%s' has a negative dimension", model_path, tname);
    }
    int nd = (int)tp->n_dims;
    int64_t numel = lrp_numel_checked(nd, dims);
    if (numel < 0)
        return lrp_fail(err, LRP_ERR_LIMIT, "%s: tensor '%s' of shape %s is too large (limit %lld elements)",
                        model_path, tname, lrp_shape_str(nd, dims, sb, sizeof sb), (long long)LRP_MAX_ELEMENTS);
    int es = elem_size(dt);
    if (es == 0)
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported data type %s (%d)", model_path,
                        tname, lrp_onnx_dtype_name(dt), dt);
    bool isf = is_float_type(dt);
    const uint8_t *raw = NULL;
    uint8_t *ext = NULL;
    bool direct = false;
    size_t want = (size_t)numel * (size_t)es;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        lrp_status st = read_external(model_path, tp, want, &ext, err);
        if (st != LRP_OK)
            return st;
        raw = ext;
    } else if (sp && sp->len >= 0) {
        if ((uint64_t)sp->len != want)
            return lrp_fail(err, LRP_ERR_FORMAT,
                            "%s: tensor '%s' holds %lld bytes of data but its shape %s of %s needs %zu", model_path,
                            tname, (long long)sp->len, lrp_shape_str(nd, dims, sb, sizeof sb), lrp_onnx_dtype_name(dt),
                            want);
        if (dt == LRP_DT_FLOAT && sizeof(lrp_real) == sizeof(float)) {
            direct = true; /* read into the tensor below, which need not be zeroed first */
        } else {
            ext = malloc(want ? want : 1);
            if (!ext)
                return lrp_fail(err, LRP_ERR_NOMEM, "%s: out of memory reading tensor '%s'", model_path, tname);
            if (!lrp_onnx_read_at(fd, sp->off, ext, (int64_t)want)) {
                free(ext);
                return lrp_fail(err, LRP_ERR_IO, "%s: read error in tensor '%s'", model_path, tname);
            }
            raw = ext;
        }
    } else if (tp->has_raw_data) {
        if (tp->raw_data.len != want)
            return lrp_fail(err, LRP_ERR_FORMAT,
                            "%s: tensor '%s' holds %zu bytes of data but its shape %s of %s needs %zu", model_path,
                            tname, tp->raw_data.len, lrp_shape_str(nd, dims, sb, sizeof sb), lrp_onnx_dtype_name(dt),
                            want);
        raw = tp->raw_data.data;
    } else {
        size_t have;
        switch (dt) {
        case LRP_DT_FLOAT: have = tp->n_float_data; break;
        case LRP_DT_DOUBLE: have = tp->n_double_data; break;
        case LRP_DT_INT64: have = tp->n_int64_data; break;
        case LRP_DT_UINT32:
        case LRP_DT_UINT64: have = tp->n_uint64_data; break;
        default: have = tp->n_int32_data; break;
        }
        if (have != (size_t)numel)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: tensor '%s' holds %zu values but its shape %s needs %lld",
                            model_path, tname, have, lrp_shape_str(nd, dims, sb, sizeof sb), (long long)numel);
    }
    lrp_tensor *t = direct ? lrp_tensor_new_uninit(LRP_REAL_DT, nd, dims, err)
                           : lrp_tensor_new(isf ? LRP_REAL_DT : LRP_INT64, nd, dims, err);
    if (!t) {
        free(ext);
        lrp_error_prefix(err, "%s: tensor '%s'", model_path, tname);
        return err ? err->status : LRP_ERR_NOMEM;
    }
    if (direct) {
        if (!lrp_onnx_read_at(fd, sp->off, lrp_reals(t), (int64_t)want)) {
            lrp_tensor_free(t);
            return lrp_fail(err, LRP_ERR_IO, "%s: read error in tensor '%s'", model_path, tname);
        }
    } else if (raw && dt == LRP_DT_FLOAT) /* the common case */
        copy_float_raw(raw, numel, lrp_reals(t));
    else
        for (int64_t i = 0; i < numel; i++) {
            if (raw) {
                const uint8_t *p = raw + (size_t)i * (size_t)es;
                if (isf)
                    lrp_reals(t)[i] = (lrp_real)read_elem(p, dt);
                else
                    lrp_i64(t)[i] = read_elem_i64(p, dt);
            } else if (dt == LRP_DT_FLOAT) {
                lrp_reals(t)[i] = tp->float_data[i];
            } else if (dt == LRP_DT_DOUBLE) {
                lrp_reals(t)[i] = (lrp_real)tp->double_data[i];
            } else if (dt == LRP_DT_FLOAT16) {
                lrp_reals(t)[i] = lrp_half_to_float((uint16_t)tp->int32_data[i]);
            } else if (dt == LRP_DT_INT64) {
                lrp_i64(t)[i] = tp->int64_data[i];
            } else if (dt == LRP_DT_UINT32 || dt == LRP_DT_UINT64) {
                lrp_i64(t)[i] = (int64_t)tp->uint64_data[i];
            } else {
                lrp_i64(t)[i] = tp->int32_data[i];
            }
        }
    free(ext);
    *out = t;
    return LRP_OK;
}

lrp_status lrp_onnx_tensor(const char *model_path, const Onnx__TensorProto *tp, lrp_tensor **out, lrp_error *err)
{
    return tensor_from(model_path, tp, NULL, -1, out, err);
}

static char *dup_or_empty(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void read_value_info(lrp_value *v, const Onnx__ValueInfoProto *vi)
{
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type)
        return;
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    if (tt->has_elem_type)
        v->decl_elem_type = tt->elem_type;
    if (!tt->shape || tt->shape->n_dim > LRP_MAX_DIMS)
        return;
    v->decl_ndim = (int)tt->shape->n_dim;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        v->decl_dims[i] = (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0)
                              ? d->dim_value
                              : -1;
        free(v->decl_names[i]);
        v->decl_names[i] = NULL;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param && *d->dim_param)
            v->decl_names[i] = strdup(d->dim_param); /* NULL when out of memory: shown as "?" */
    }
}

/* The value a graph input or output declares, with its declared type. */
static lrp_status declared_value(lrp_graph *g, const Onnx__ValueInfoProto *vi, const char *what, size_t i, int *v,
                                 lrp_error *err)
{
    if (!vi->name || !*vi->name)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: graph %s #%zu has no name", g->path, what, i);
    if ((*v = lrp_graph_value(g, vi->name)) < 0)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    read_value_info(&g->values[*v], vi);
    return LRP_OK;
}

static lrp_status convert_attr(const char *path, const Onnx__AttributeProto *ap, lrp_attr *a, lrp_error *err)
{
    memset(a, 0, sizeof *a);
    a->name = dup_or_empty(ap->name);
    if (!a->name)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    int type = ap->has_type ? (int)ap->type : 0;
    if (!type) { /* IR version 1 files lack the type: infer it from what is set */
        if (ap->has_f)
            type = LRP_ATTR_FLOAT;
        else if (ap->has_i)
            type = LRP_ATTR_INT;
        else if (ap->has_s)
            type = LRP_ATTR_STRING;
        else if (ap->t)
            type = LRP_ATTR_TENSOR;
        else if (ap->n_floats)
            type = LRP_ATTR_FLOATS;
        else if (ap->n_ints)
            type = LRP_ATTR_INTS;
    }
    a->type = type;
    switch (type) {
    case LRP_ATTR_FLOAT: a->f = lrp_attr_real(ap->f); break;
    case LRP_ATTR_INT: a->i = ap->i; break;
    case LRP_ATTR_STRING:
        a->s = malloc(ap->s.len + 1);
        if (!a->s)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = '\0';
        break;
    case LRP_ATTR_TENSOR:
        if (!ap->t)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: attribute '%s' has no tensor", path, a->name);
        return lrp_onnx_tensor(path, ap->t, &a->t, err);
    case LRP_ATTR_FLOATS:
        if (ap->n_floats > (size_t)INT_MAX / 8)
            return lrp_fail(err, LRP_ERR_LIMIT, "%s: attribute '%s' is too long", path, a->name);
        a->n = (int)ap->n_floats;
        a->floats = malloc(sizeof(lrp_real) * (ap->n_floats ? ap->n_floats : 1));
        if (!a->floats)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        for (int i = 0; i < a->n; i++)
            a->floats[i] = lrp_attr_real(ap->floats[i]);
        break;
    case LRP_ATTR_INTS:
        if (ap->n_ints > (size_t)INT_MAX / 8)
            return lrp_fail(err, LRP_ERR_LIMIT, "%s: attribute '%s' is too long", path, a->name);
        a->n = (int)ap->n_ints;
        a->ints = malloc(sizeof(int64_t) * (ap->n_ints ? ap->n_ints : 1));
        if (!a->ints)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        if (a->n)
            memcpy(a->ints, ap->ints, sizeof(int64_t) * ap->n_ints);
        break;
    default: /* graphs, strings lists, sparse tensors: kept by name only */ break;
    }
    return LRP_OK;
}

/* A Constant node becomes a constant value (no node). */
static lrp_status constant_node(lrp_graph *g, const Onnx__NodeProto *np, lrp_error *err)
{
    const char *nm = np->name && *np->name ? np->name : "(unnamed)";
    if (np->n_output != 1 || !np->output[0] || !*np->output[0])
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: Constant node %s must have one output", g->path, nm);
    lrp_tensor *t = NULL;
    lrp_status st = LRP_OK;
    for (size_t k = 0; k < np->n_attribute && !t && st == LRP_OK; k++) {
        const Onnx__AttributeProto *ap = np->attribute[k];
        const char *an = ap->name ? ap->name : "";
        if (!strcmp(an, "value") && ap->t) {
            st = lrp_onnx_tensor(g->path, ap->t, &t, err);
        } else if (!strcmp(an, "value_float")) {
            t = lrp_tensor_new(LRP_REAL_DT, 0, NULL, err);
            if (t)
                lrp_reals(t)[0] = ap->f;
        } else if (!strcmp(an, "value_int")) {
            t = lrp_tensor_new(LRP_INT64, 0, NULL, err);
            if (t)
                lrp_i64(t)[0] = ap->i;
        } else if (!strcmp(an, "value_floats")) {
            int64_t d = (int64_t)ap->n_floats;
            t = lrp_tensor_new(LRP_REAL_DT, 1, &d, err);
            for (size_t i = 0; t && i < ap->n_floats; i++)
                lrp_reals(t)[i] = ap->floats[i];
        } else if (!strcmp(an, "value_ints")) {
            int64_t d = (int64_t)ap->n_ints;
            t = lrp_tensor_new(LRP_INT64, 1, &d, err);
            for (size_t i = 0; t && i < ap->n_ints; i++)
                lrp_i64(t)[i] = ap->ints[i];
        } else if (!strcmp(an, "sparse_value") || !strcmp(an, "value_string") || !strcmp(an, "value_strings")) {
            st = lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: Constant node %s has an unsupported '%s' value", g->path, nm,
                          an);
        }
    }
    if (st != LRP_OK)
        return st;
    if (!t)
        return err && err->status != LRP_OK && err->message[0]
                   ? err->status
                   : lrp_fail(err, LRP_ERR_FORMAT, "%s: Constant node %s has no value", g->path, nm);
    int v = lrp_graph_value(g, np->output[0]);
    if (v < 0) {
        lrp_tensor_free(t);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    if (g->values[v].constant || g->values[v].is_input) {
        lrp_tensor_free(t);
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: tensor '%s' is produced twice", g->path, np->output[0]);
    }
    g->values[v].constant = t;
    return LRP_OK;
}

static lrp_status add_node(lrp_graph *g, const Onnx__NodeProto *np, lrp_error *err)
{
    int nin = (int)np->n_input, nout = (int)np->n_output;
    if (np->n_input > 4096 || np->n_output > 4096)
        return lrp_fail(err, LRP_ERR_LIMIT, "%s: node %s has too many inputs or outputs", g->path,
                        np->name ? np->name : "");
    int in[4096], out[4096];
    for (int k = 0; k < nin; k++) {
        const char *s = np->input[k];
        in[k] = (s && *s) ? lrp_graph_value(g, s) : -1;
        if (s && *s && in[k] < 0)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; k < nout; k++) {
        const char *s = np->output[k];
        out[k] = (s && *s) ? lrp_graph_value(g, s) : -1;
        if (s && *s && out[k] < 0)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    int idx = lrp_graph_add_node(g, np->name, np->op_type ? np->op_type : "", nin, in, nout, out);
    if (idx < 0)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    lrp_node *n = &g->nodes[idx];
    free(n->domain);
    n->domain = dup_or_empty(np->domain);
    n->attrs = calloc(np->n_attribute ? np->n_attribute : 1, sizeof(lrp_attr));
    if (!n->domain || !n->attrs)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < np->n_attribute; k++) {
        lrp_status st = convert_attr(g->path, np->attribute[k], &n->attrs[k], err);
        n->n_attrs = (int)k + 1;
        if (st != LRP_OK)
            return st;
    }
    return LRP_OK;
}

/* The file's bytes as a ModelProto, allocated by alloc (NULL: malloc). */
static lrp_status unpack_model(const char *path, ProtobufCAllocator *alloc, Onnx__ModelProto **mp, lrp_error *err)
{
    uint8_t *buf;
    size_t len;
    lrp_status st = read_file(path, &buf, &len, err);
    if (st != LRP_OK)
        return st;
    if (len == 0) {
        big_free(buf, len);
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: empty file, not an ONNX model", path);
    }
    *mp = onnx__model_proto__unpack(alloc, len, buf);
    big_free(buf, len);
    if (!*mp)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: not an ONNX model (the protobuf data is malformed or truncated)",
                        path);
    return LRP_OK;
}

/* The model's metadata_props; entries without a key are left out, a value may be empty. */
static lrp_status read_metadata(lrp_graph *g, const Onnx__ModelProto *mp, lrp_error *err)
{
    if (!mp->n_metadata_props)
        return LRP_OK;
    if (mp->n_metadata_props > 100000)
        return lrp_fail(err, LRP_ERR_LIMIT, "%s: %zu metadata entries", g->path, mp->n_metadata_props);
    g->meta_keys = calloc(mp->n_metadata_props, sizeof(char *));
    g->meta_values = calloc(mp->n_metadata_props, sizeof(char *));
    if (!g->meta_keys || !g->meta_values)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < mp->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
        if (!e || !e->key || !*e->key)
            continue;
        char *k = dup_or_empty(e->key), *v = dup_or_empty(e->value);
        if (!k || !v) {
            free(k);
            free(v);
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        }
        g->meta_keys[g->n_meta] = k;
        g->meta_values[g->n_meta++] = v;
    }
    return LRP_OK;
}

/* IR version, producer and the default domain's opset. */
static void read_model_info(lrp_graph *g, const Onnx__ModelProto *mp)
{
    g->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    g->producer_name = dup_or_empty(mp->producer_name);
    g->producer_version = dup_or_empty(mp->producer_version);
    g->opset = -1;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *op = mp->opset_import[i];
        if ((!op->domain || !*op->domain || !strcmp(op->domain, "ai.onnx")) && op->has_version)
            g->opset = op->version;
    }
    if (g->opset < 0) /* IR version 2 models and older had no opset_import: opset 1 */
        g->opset = mp->n_opset_import ? 1 : 1;
}

static lrp_status read_initializers(lrp_graph *g, const Onnx__GraphProto *gp, const char *path, const lrp_lifted *lift,
                                    int fd, lrp_error *err)
{
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: initializer #%zu has no name", path, i);
        int v = lrp_graph_value(g, tp->name);
        if (v < 0)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        if (g->values[v].constant)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: initializer '%s' appears twice", path, tp->name);
        const lrp_lift_span *sp = lift && i < lift->n_spans ? &lift->spans[i] : NULL;
        lrp_status st = tensor_from(path, tp, sp, fd, &g->values[v].constant, err);
        if (st != LRP_OK)
            return st;
    }
    if (gp->n_sparse_initializer)
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: sparse initializers are not supported", path);
    return LRP_OK;
}

/* The graph's inputs that are not initializers, and the declared value
 * shapes. */
static lrp_status read_inputs(lrp_graph *g, const Onnx__GraphProto *gp, lrp_error *err)
{
    for (size_t i = 0; i < gp->n_input; i++) {
        int v = -1;
        lrp_status st = declared_value(g, gp->input[i], "input", i, &v, err);
        if (st != LRP_OK)
            return st;
        if (!g->values[v].constant && !g->values[v].is_input) {
            g->values[v].is_input = true;
            g->inputs[g->n_inputs++] = v;
        }
    }
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        if (!vi->name || !*vi->name)
            continue;
        int v = lrp_graph_value(g, vi->name);
        if (v >= 0)
            read_value_info(&g->values[v], vi);
    }
    return LRP_OK;
}

static lrp_status read_nodes(lrp_graph *g, const Onnx__GraphProto *gp, lrp_error *err)
{
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        bool std_domain = !np->domain || !*np->domain || !strcmp(np->domain, "ai.onnx");
        lrp_status st;
        if (std_domain && np->op_type && !strcmp(np->op_type, "Constant"))
            st = constant_node(g, np, err);
        else
            st = add_node(g, np, err);
        if (st != LRP_OK)
            return st;
    }
    return LRP_OK;
}

static lrp_status read_outputs(lrp_graph *g, const Onnx__GraphProto *gp, const char *path, lrp_error *err)
{
    for (size_t i = 0; i < gp->n_output; i++) {
        int v = -1;
        lrp_status st = declared_value(g, gp->output[i], "output", i, &v, err);
        if (st != LRP_OK)
            return st;
        g->values[v].is_output = true;
        g->outputs[g->n_outputs++] = v;
    }
    if (g->n_outputs == 0)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: the graph has no outputs", path);
    return LRP_OK;
}

/* The graph of a ModelProto, its operators bound and its nodes sorted. */
static lrp_status build_graph(lrp_graph *g, const Onnx__ModelProto *mp, const char *path, const lrp_lifted *lift,
                              int fd, lrp_error *err)
{
    const Onnx__GraphProto *gp = mp->graph;
    if (!gp || (!gp->n_node && !gp->n_output))
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: not an ONNX model (no graph)", path);
    read_model_info(g, mp);
    lrp_status st = read_metadata(g, mp, err);
    if (st == LRP_OK)
        st = read_initializers(g, gp, path, lift, fd, err);
    if (st != LRP_OK)
        return st;
    g->inputs = malloc(sizeof(int) * (gp->n_input + 1));
    g->outputs = malloc(sizeof(int) * (gp->n_output + 1));
    if (!g->inputs || !g->outputs)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    if ((st = read_inputs(g, gp, err)) != LRP_OK || (st = read_nodes(g, gp, err)) != LRP_OK ||
        (st = read_outputs(g, gp, path, err)) != LRP_OK)
        return st;
    /* operators */
    for (int i = 0; i < g->n_nodes; i++) {
        lrp_node *n = &g->nodes[i];
        bool std_domain = !n->domain[0] || !strcmp(n->domain, "ai.onnx");
        n->op = std_domain ? lrp_op_find(n->op_type) : NULL;
    }
    return lrp_graph_sort(g, err);
}

/* raw_data payloads of this many bytes or more (four floats) are read from the file into their tensors
 * (onnx_lift.h): a threshold this low so that the fuzzers' small files take that path too */
#define LIFT_MIN 16

/* The file without its large weights' bytes, unpacked (onnx_lift.h); false: unpack it whole. On true, fd stays
 * open for the weights. */
static bool unpack_lifted(const char *path, ProtobufCAllocator *alloc, Onnx__ModelProto **mp, lrp_lifted *lift,
                          int *fd)
{
    *fd = -1;
    if (getenv("LRP_LOAD_WHOLE")) /* tests compare the two paths */
        return false;
    int f = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (f < 0)
        return false;
    if (fstat(f, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 || (uint64_t)sb.st_size > ((uint64_t)1 << 32) ||
        !lrp_onnx_lift(f, (int64_t)sb.st_size, LIFT_MIN, lift)) {
        close(f);
        return false;
    }
    *mp = onnx__model_proto__unpack(alloc, lift->len, lift->buf);
    if (!*mp || !(*mp)->graph || (*mp)->graph->n_initializer != lift->n_spans) {
        if (*mp)
            onnx__model_proto__free_unpacked(*mp, alloc);
        *mp = NULL;
        lrp_lifted_free(lift);
        close(f);
        return false;
    }
    *fd = f;
    return true;
}

lrp_status lrp_onnx_load(const char *path, lrp_graph **out, lrp_error *err)
{
    *out = NULL;
    Onnx__ModelProto *mp = NULL;
    arena_chunk *chunks = NULL;
    ProtobufCAllocator arena = {arena_alloc, arena_free, &chunks};
    ProtobufCAllocator *alloc = LOAD_ARENA ? &arena : NULL;
    lrp_lifted lift = {0};
    int fd = -1;
    lrp_status st = LRP_OK;
    if (!unpack_lifted(path, alloc, &mp, &lift, &fd)) {
        arena_release(chunks);
        chunks = NULL;
        st = unpack_model(path, alloc, &mp, err);
    }
    lrp_graph *g = st == LRP_OK ? lrp_graph_new(path) : NULL;
    if (st == LRP_OK && !g)
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    if (g)
        st = build_graph(g, mp, path, fd >= 0 ? &lift : NULL, fd, err);
    if (mp && !LOAD_ARENA)
        onnx__model_proto__free_unpacked(mp, NULL);
    arena_release(chunks); /* mp's memory, all of it */
    lrp_lifted_free(&lift);
    if (fd >= 0)
        close(fd);
    if (st != LRP_OK) {
        lrp_graph_free(g);
        return st;
    }
    *out = g;
    return LRP_OK;
}

lrp_status lrp_graph_init_ops(lrp_graph *g, lrp_error *err)
{
    char lb[64];
    for (int k = 0; k < g->n_order; k++) {
        lrp_node *n = &g->nodes[g->order[k]];
        if (!n->op) {
            if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
                return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: node %s: unsupported operator %s (domain %s)", g->path,
                                lrp_node_label(g, n, lb, sizeof lb), n->op_type, n->domain);
            return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: node %s: unsupported operator %s (opset %lld)", g->path,
                            lrp_node_label(g, n, lb, sizeof lb), n->op_type, (long long)g->opset);
        }
        if (n->n_inputs < n->op->min_inputs || n->n_inputs > n->op->max_inputs)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: node %s (%s) has %d inputs, expected %d to %d", g->path,
                            lrp_node_label(g, n, lb, sizeof lb), n->op_type, n->n_inputs, n->op->min_inputs,
                            n->op->max_inputs);
        if (n->n_outputs < 1 || n->outputs[0] < 0) /* every operator makes output #0 */
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: node %s (%s) has no output", g->path,
                            lrp_node_label(g, n, lb, sizeof lb), n->op_type);
        for (int i = 0; i < n->op->min_inputs; i++)
            if (n->inputs[i] < 0)
                return lrp_fail(err, LRP_ERR_FORMAT, "%s: node %s (%s) lacks its required input #%d", g->path,
                                lrp_node_label(g, n, lb, sizeof lb), n->op_type, i);
        if (n->op->init && !n->state) {
            lrp_status st = n->op->init(g, n, err);
            if (st != LRP_OK) {
                lrp_error_prefix(err, "%s", g->path);
                return st;
            }
        }
    }
    return LRP_OK;
}

lrp_status lrp_onnx_read_tensor_file(const char *path, lrp_tensor **out, lrp_error *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    lrp_status st = read_file(path, &buf, &len, err);
    if (st != LRP_OK)
        return st;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    big_free(buf, len);
    if (!tp)
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: not a serialized ONNX TensorProto", path);
    st = lrp_onnx_tensor(path, tp, out, err);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return st;
}

/* Whether a tensor of the graph (an initializer, or a Constant's value) keeps its data in another file. */
static bool has_external_data(const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        if (t && t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
            return true;
    }
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t k = 0; gp->node[i] && k < gp->node[i]->n_attribute; k++) {
            const Onnx__TensorProto *t = gp->node[i]->attribute[k] ? gp->node[i]->attribute[k]->t : NULL;
            if (t && t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
                return true;
        }
    return false;
}

lrp_status lrp_onnx_set_metadata(const char *model_path, const char *out_path, int n, const char *const *keys,
                                 const char *const *values, void **bytes, size_t *len, lrp_error *err)
{
    *bytes = NULL;
    *len = 0;
    Onnx__ModelProto *mp = NULL;
    lrp_status st = unpack_model(model_path, NULL, &mp, err);
    if (st != LRP_OK)
        return st;
    char din[4096], dout[4096];
    dir_of(model_path, din, sizeof din);
    dir_of(out_path, dout, sizeof dout);
    if (mp->graph && has_external_data(mp->graph) && strcmp(din, dout) != 0) {
        onnx__model_proto__free_unpacked(mp, NULL);
        return lrp_fail(err, LRP_ERR_UNSUPPORTED,
                        "%s: its weights are in external files, found beside the model: write the new model into "
                        "the same directory",
                        model_path);
    }
    /* the entries kept, then the given ones (a NULL value removes its key) */
    size_t cap = mp->n_metadata_props + (size_t)n;
    Onnx__StringStringEntryProto **keep = calloc(cap ? cap : 1, sizeof *keep);
    Onnx__StringStringEntryProto *added = calloc((size_t)n + 1, sizeof *added);
    if (!keep || !added) {
        free(keep);
        free(added);
        onnx__model_proto__free_unpacked(mp, NULL);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    size_t nk = 0;
    for (size_t i = 0; i < mp->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
        bool replaced = false;
        for (int k = 0; k < n && e && e->key && !replaced; k++)
            replaced = !strcmp(e->key, keys[k]);
        if (e && !replaced)
            keep[nk++] = mp->metadata_props[i];
    }
    for (int k = 0; k < n; k++) {
        bool later = false; /* the last of a repeated key counts */
        for (int j = k + 1; j < n && !later; j++)
            later = !strcmp(keys[j], keys[k]);
        if (later || !values[k])
            continue;
        onnx__string_string_entry_proto__init(&added[k]);
        added[k].key = (char *)keys[k];
        added[k].value = (char *)values[k];
        keep[nk++] = &added[k];
    }
    /* pack with the new list, then put the file's own back for the free */
    size_t n_old = mp->n_metadata_props;
    Onnx__StringStringEntryProto **old = mp->metadata_props;
    mp->n_metadata_props = nk;
    mp->metadata_props = keep;
    size_t size = onnx__model_proto__get_packed_size(mp);
    uint8_t *buf = malloc(size ? size : 1);
    if (buf)
        onnx__model_proto__pack(mp, buf);
    mp->n_metadata_props = n_old;
    mp->metadata_props = old;
    free(keep);
    free(added);
    onnx__model_proto__free_unpacked(mp, NULL);
    if (!buf)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    *bytes = buf;
    *len = size;
    return LRP_OK;
}
