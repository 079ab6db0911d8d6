/* ScatterND: output = data with the slices data[indices[i]] replaced by (or, with `reduction`, combined with:
 * add, mul, max, min) updates[i], i running over indices.shape[:-1] in order (so repeated indices combine in a
 * fixed order; without a reduction the last write wins). Negative indices count from the end. Float or int64
 * data, int64 indices. The gradient (floats, reductions none and add) goes to data where no index writes
 * (everywhere for add), and to each update from the output's gradient at its index (the last write's, for none). */
#include "ops/kernels/eltwise_kernels.h"
#include "base/tensor.h"

#include <stdlib.h>
#include <string.h>

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

typedef struct {
    int reduction;
} scatternd_state;

static lrp_status scatternd_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    scatternd_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const char *r = lrp_attr_string(n, "reduction", "none");
    for (int k = 0; k < 5; k++)
        if (!strcmp(r, names[k])) {
            s->reduction = k;
            return LRP_OK;
        }
    return lrp_node_fail(err, n, LRP_ERR_FORMAT, "unknown reduction '%s'", r);
}

static lrp_status scatternd_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0), *idx = lrp_node_in(g, n, 1), *u = lrp_node_in(g, n, 2);
    char s1[160], s2[160], s3[160];
    if (idx->dtype != LRP_INT64)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "indices must be integers");
    if (u->dtype != x->dtype)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "data and updates have different types");
    int k = idx->ndim ? (int)idx->dims[idx->ndim - 1] : -1;
    bool ok = idx->ndim >= 1 && k <= x->ndim && u->ndim == idx->ndim - 1 + x->ndim - k;
    for (int d = 0; ok && d < idx->ndim - 1; d++)
        ok = u->dims[d] == idx->dims[d];
    for (int d = k; ok && d < x->ndim; d++)
        ok = u->dims[idx->ndim - 1 + d - k] == x->dims[d];
    if (!ok)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "data %s, indices %s and updates %s do not fit",
                             lrp_shape_str(x->ndim, x->dims, s1, sizeof s1),
                             lrp_shape_str(idx->ndim, idx->dims, s2, sizeof s2),
                             lrp_shape_str(u->ndim, u->dims, s3, sizeof s3));
    lrp_set_output(g, n, 0, x->dtype, x->ndim, x->dims);
    return LRP_OK;
}

/* The element offset in data of the slice that index tuple t names; -1 when an index is out of range. */
static int64_t slice_offset(const lrp_tensor *x, const int64_t *tuple, int k, int64_t slice)
{
    int64_t off = 0;
    for (int d = 0; d < k; d++) {
        int64_t j = tuple[d], dim = x->dims[d];
        if (j < -dim || j >= dim)
            return -1;
        off = off * dim + (j < 0 ? j + dim : j);
    }
    return off * slice;
}

/* k (index tuple length), the number of tuples and the elements per slice. */
static void geometry(const lrp_tensor *x, const lrp_tensor *idx, int *k, int64_t *count, int64_t *slice)
{
    *k = (int)idx->dims[idx->ndim - 1];
    *count = *k ? idx->numel / *k : 1;
    for (int d = 0; d < idx->ndim - 1 && !*k; d++)
        *count *= idx->dims[d];
    *slice = 1;
    for (int d = *k; d < x->ndim; d++)
        *slice *= x->dims[d];
}

#define COMBINE(T, Y, U, RED)                                                                                         \
    do {                                                                                                              \
        for (int64_t e = 0; e < slice; e++) {                                                                         \
            T v = (U)[e], *p = (Y) + e;                                                                               \
            switch (RED) {                                                                                            \
            case RED_ADD: *p += v; break;                                                                             \
            case RED_MUL: *p *= v; break;                                                                             \
            case RED_MAX: *p = v > *p ? v : *p; break;                                                                \
            case RED_MIN: *p = v < *p ? v : *p; break;                                                                \
            default: *p = v; break;                                                                                   \
            }                                                                                                         \
        }                                                                                                             \
    } while (0)

static lrp_status scatternd_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                    lrp_error *err)
{
    const scatternd_state *s = n->state;
    const lrp_tensor *x = in[0], *idx = in[1], *u = in[2];
    int k;
    int64_t count, slice;
    geometry(x, idx, &k, &count, &slice);
    const bool ints = x->dtype == LRP_INT64;
    if (x->numel)
        memcpy(out[0]->data, x->data, (size_t)x->numel * lrp_elem_size(x));
    for (int64_t t = 0; t < count; t++) {
        int64_t off = slice_offset(x, lrp_i64(idx) + t * k, k, slice);
        if (off < 0)
            return lrp_node_fail(err, n, LRP_ERR_ARG, "index tuple %lld is out of range", (long long)t);
        if (ints && s->reduction == RED_ADD) { /* wrapping, as the other integer ops */
            uint64_t *y = (uint64_t *)lrp_i64(out[0]) + off;
            const int64_t *ur = lrp_i64(u) + t * slice;
            for (int64_t e = 0; e < slice; e++)
                y[e] += (uint64_t)ur[e];
        } else if (ints && s->reduction == RED_MUL) {
            uint64_t *y = (uint64_t *)lrp_i64(out[0]) + off;
            const int64_t *ur = lrp_i64(u) + t * slice;
            for (int64_t e = 0; e < slice; e++)
                y[e] *= (uint64_t)ur[e];
        } else if (ints) {
            COMBINE(int64_t, lrp_i64(out[0]) + off, lrp_i64(u) + t * slice, s->reduction);
        } else {
            COMBINE(lrp_real, lrp_reals(out[0]) + off, lrp_reals(u) + t * slice, s->reduction);
        }
    }
    return LRP_OK;
}

static lrp_status scatternd_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                     const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const scatternd_state *s = n->state;
    if (!gin[0] && !gin[2])
        return LRP_OK;
    if (s->reduction != RED_NONE && s->reduction != RED_ADD)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "no gradient through the mul, max and min reductions");
    if (!in[1])
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "gradients through ScatterND need constant indices");
    const lrp_tensor *idx = in[1];
    int k;
    int64_t count, slice;
    geometry(gout, idx, &k, &count, &slice);
    const lrp_real *g = lrp_reals(gout);
    if (s->reduction == RED_ADD) {
        if (gin[0])
            lrp_add_to(lrp_reals(gin[0]), g, gout->numel);
        for (int64_t t = 0; t < count && gin[2]; t++) {
            int64_t off = slice_offset(gout, lrp_i64(idx) + t * k, k, slice);
            if (off < 0)
                return lrp_node_fail(err, n, LRP_ERR_ARG, "index tuple %lld is out of range", (long long)t);
            lrp_add_to(lrp_reals(gin[2]) + t * slice, g + off, slice);
        }
        return LRP_OK;
    }
    /* without reduction the last write wins: from the last tuple back, each takes what no later one took */
    lrp_real *left = malloc(sizeof(lrp_real) * (size_t)(gout->numel ? gout->numel : 1));
    if (!left)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    if (gout->numel)
        memcpy(left, g, sizeof(lrp_real) * (size_t)gout->numel);
    for (int64_t t = count - 1; t >= 0; t--) {
        int64_t off = slice_offset(gout, lrp_i64(idx) + t * k, k, slice);
        if (off < 0) {
            free(left);
            return lrp_node_fail(err, n, LRP_ERR_ARG, "index tuple %lld is out of range", (long long)t);
        }
        if (gin[2])
            lrp_add_to(lrp_reals(gin[2]) + t * slice, left + off, slice);
        memset(left + off, 0, sizeof(lrp_real) * (size_t)slice);
    }
    if (gin[0])
        lrp_add_to(lrp_reals(gin[0]), left, gout->numel);
    free(left);
    return LRP_OK;
}

const lrp_op lrp_op_scatternd = {
    .overwrites = 1,
    .type = "ScatterND",
    .min_inputs = 3,
    .max_inputs = 3,
    .init = scatternd_init,
    .destroy = free,
    .infer = scatternd_infer,
    .forward = scatternd_forward,
    .backward = scatternd_backward,
    .keep = 0,
};
