/* Tensors: allocation with size limits, cloning, shape printing. */
#include "base/tensor.h"
#include "base/error.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

int64_t lrp_numel_checked(int ndim, const int64_t *dims)
{
    if (ndim < 0 || ndim > LRP_MAX_DIMS)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] == 0)
            n = 0;
        else if (n > LRP_MAX_ELEMENTS / dims[i] + 1)
            n = LRP_MAX_ELEMENTS + 1; /* saturate; refused below */
        else
            n *= dims[i];
        if (n > LRP_MAX_ELEMENTS) {
            /* keep scanning for a zero dim, which makes the tensor empty */
            for (int j = i + 1; j < ndim; j++)
                if (dims[j] == 0)
                    return 0;
            return -1;
        }
    }
    return n;
}

/* Blocks of at least this many bytes are asked for in transparent huge
 * pages: an explanation writes hundreds of MB of fresh activations, and in 4
 * KB pages the kernel's page faults took a quarter of a ResNet-50 run's time
 * (where THP is "madvise", as Debian's default; elsewhere the advice is a
 * hint). The 2 MB pages that lie inside the block are advised before the
 * block is first written (calloc's fresh mappings are not written at all). */
#define BIG_BLOCK ((size_t)4 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

void *lrp_alloc_big(size_t bytes, bool zero)
{
    void *p = zero ? calloc(bytes ? bytes : 1, 1) : malloc(bytes ? bytes : 1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p && bytes >= BIG_BLOCK) {
        uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1), b = ((uintptr_t)p + bytes) & ~(HUGE_PAGE - 1);
        if (b > a)
            madvise((void *)a, b - a, MADV_HUGEPAGE);
    }
#endif
    return p;
}

void *lrp_calloc_checked(size_t n, size_t size)
{
    if (size && n > ((size_t)LRP_MAX_ELEMENTS * 8) / size)
        return NULL;
    return lrp_alloc_big((n ? n : 1) * (size ? size : 1), true);
}

static void set_shape(lrp_tensor *t, lrp_dtype dtype, int ndim, const int64_t *dims, int64_t numel)
{
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->dims[i] = dims[i];
    t->numel = numel;
}

lrp_tensor *lrp_tensor_new(lrp_dtype dtype, int ndim, const int64_t *dims, lrp_error *err)
{
    char buf[160];
    if (dtype != LRP_REAL_DT && dtype != LRP_INT64) {
        lrp_fail(err, LRP_ERR_INTERNAL, "tensor of unknown dtype %d", (int)dtype);
        return NULL;
    }
    if (ndim < 0 || ndim > LRP_MAX_DIMS) {
        lrp_fail(err, LRP_ERR_LIMIT, "tensor rank %d is outside 0..%d", ndim, LRP_MAX_DIMS);
        return NULL;
    }
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) {
            lrp_fail(err, LRP_ERR_SHAPE, "negative dimension in shape %s", lrp_shape_str(ndim, dims, buf, sizeof buf));
            return NULL;
        }
    }
    int64_t n = lrp_numel_checked(ndim, dims);
    if (n < 0) {
        lrp_fail(err, LRP_ERR_LIMIT, "tensor of shape %s is too large (limit %lld elements)",
                 lrp_shape_str(ndim, dims, buf, sizeof buf), (long long)LRP_MAX_ELEMENTS);
        return NULL;
    }
    lrp_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    set_shape(t, dtype, ndim, dims, n);
    t->data = lrp_calloc_checked((size_t)n, lrp_dtype_size(dtype));
    if (!t->data) {
        free(t);
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory allocating a tensor of shape %s",
                 lrp_shape_str(ndim, dims, buf, sizeof buf));
        return NULL;
    }
    return t;
}

lrp_tensor *lrp_tensor_new_uninit(lrp_dtype dtype, int ndim, const int64_t *dims, lrp_error *err)
{
    int64_t n = lrp_numel_checked(ndim, dims);
    if (n < 0 || ndim < 0 || ndim > LRP_MAX_DIMS || (dtype != LRP_REAL_DT && dtype != LRP_INT64))
        return lrp_tensor_new(dtype, ndim, dims, err); /* reports the problem */
    lrp_tensor *t = calloc(1, sizeof *t);
    size_t es = lrp_dtype_size(dtype);
    if (t)
        t->data = lrp_alloc_big((size_t)(n ? n : 1) * es, false);
    if (!t || !t->data) {
        free(t);
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    set_shape(t, dtype, ndim, dims, n);
    return t;
}

lrp_tensor *lrp_tensor_like(const lrp_tensor *t, lrp_error *err)
{
    return lrp_tensor_new(t->dtype, t->ndim, t->dims, err);
}

lrp_tensor *lrp_tensor_clone(const lrp_tensor *t, lrp_error *err)
{
    lrp_tensor *c = lrp_tensor_new(t->dtype, t->ndim, t->dims, err);
    if (c && t->numel)
        memcpy(c->data, t->data, (size_t)t->numel * lrp_dtype_size(t->dtype));
    return c;
}

lrp_tensor *lrp_tensor_from_floats(const lrp_real *v, int ndim, const int64_t *dims, lrp_error *err)
{
    lrp_tensor *t = lrp_tensor_new(LRP_REAL_DT, ndim, dims, err);
    if (t && t->numel)
        memcpy(t->data, v, (size_t)t->numel * sizeof(lrp_real));
    return t;
}

void lrp_tensor_free(lrp_tensor *t)
{
    if (!t)
        return;
    free(t->data);
    free(t);
}

bool lrp_dims_equal(int na, const int64_t *a, int nb, const int64_t *b)
{
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

bool lrp_same_shape(const lrp_tensor *a, const lrp_tensor *b)
{
    return lrp_dims_equal(a->ndim, a->dims, b->ndim, b->dims);
}

const char *lrp_shape_str(int ndim, const int64_t *dims, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "%s)", ndim == 1 ? "," : "");
    return buf;
}

lrp_real lrp_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while (!(mant & 0x400u));
            mant &= 0x3ffu;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int64_t lrp_find_nonfinite_r(const lrp_real *p, int64_t n)
{
    /* blocks of a branch-free test (vectorizes), then the exact index */
    const int64_t B = 1024;
    for (int64_t i0 = 0; i0 < n; i0 += B) {
        int64_t e = i0 + B < n ? i0 + B : n;
        int bad = 0;
        for (int64_t i = i0; i < e; i++)
            bad |= !(p[i] - p[i] == 0.0f); /* NaN - NaN and inf - inf are NaN */
        if (bad)
            for (int64_t i = i0; i < e; i++)
                if (!isfinite(p[i]))
                    return i;
    }
    return -1;
}

int64_t lrp_find_nonfinite(const lrp_tensor *t)
{
    if (!t || t->dtype != LRP_REAL_DT || !t->data)
        return -1;
    return lrp_find_nonfinite_r(lrp_reals(t), t->numel);
}

const char *lrp_nonfinite_name(lrp_real v) { return isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf"; }
