/* Gather along `axis`: output = data[:axis] + indices.shape + data[axis+1:],
 * negative indices count from the end. Float or int64 data, int64 indices.
 * The gradient scatters (adds) into the data's gradient. */
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t axis;
} gather_state;

static lrp_status gather_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    gather_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    s->axis = lrp_attr_int(n, "axis", 0);
    return LRP_OK;
}

static lrp_status check_indices(const lrp_node *n, const lrp_tensor *idx, int64_t dim, lrp_status st, lrp_error *err)
{
    for (int64_t i = 0; i < idx->numel; i++) {
        int64_t k = lrp_i64(idx)[i];
        if (k < -dim || k >= dim)
            return lrp_node_fail(err, n, st, "index %lld is out of range for a dim of %lld", (long long)k,
                                 (long long)dim);
    }
    return LRP_OK;
}

static lrp_status gather_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const gather_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0), *idx = lrp_node_in(g, n, 1);
    if (idx->dtype != LRP_INT64)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "indices must be integers");
    int r = x->ndim, axis = lrp_axis(s->axis, r);
    if (axis < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)s->axis, r);
    if (r - 1 + idx->ndim > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "result of rank %d", r - 1 + idx->ndim);
    if (idx->constant) {
        lrp_status st = check_indices(n, idx->constant, x->dims[axis], LRP_ERR_SHAPE, err);
        if (st != LRP_OK)
            return st;
    }
    int64_t out[LRP_MAX_DIMS];
    int no = 0;
    for (int d = 0; d < axis; d++)
        out[no++] = x->dims[d];
    for (int d = 0; d < idx->ndim; d++)
        out[no++] = idx->dims[d];
    for (int d = axis + 1; d < r; d++)
        out[no++] = x->dims[d];
    lrp_set_output(g, n, 0, x->dtype, no, out);
    return LRP_OK;
}

static void geometry(const lrp_node *n, const lrp_tensor *x, int64_t *outer, int64_t *dim, int64_t *inner)
{
    const gather_state *s = n->state;
    int axis = lrp_axis(s->axis, x->ndim);
    *outer = 1, *inner = 1;
    for (int d = 0; d < axis; d++)
        *outer *= x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        *inner *= x->dims[d];
    *dim = x->dims[axis];
}

static lrp_status gather_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                 lrp_error *err)
{
    int64_t outer, dim, inner;
    geometry(n, in[0], &outer, &dim, &inner);
    lrp_status st = check_indices(n, in[1], dim, LRP_ERR_ARG, err);
    if (st != LRP_OK)
        return st;
    const int64_t K = in[1]->numel, *idx = lrp_i64(in[1]);
    const size_t es = lrp_elem_size(in[0]);
    const char *x = in[0]->data;
    char *y = out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < K; k++) {
            int64_t j = idx[k] < 0 ? idx[k] + dim : idx[k];
            memcpy(y + (size_t)((o * K + k) * inner) * es, x + (size_t)((o * dim + j) * inner) * es,
                   (size_t)inner * es);
        }
    return LRP_OK;
}

static lrp_status gather_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                  const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    if (!in[1])
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "gradients through Gather need constant indices");
    int64_t outer, dim, inner;
    geometry(n, gin[0], &outer, &dim, &inner);
    const int64_t K = in[1]->numel, *idx = lrp_i64(in[1]);
    const lrp_real *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < K; k++) {
            int64_t j = idx[k] < 0 ? idx[k] + dim : idx[k];
            lrp_add_to(gx + (o * dim + j) * inner, g + (o * K + k) * inner, inner);
        }
    return LRP_OK;
}

const lrp_op lrp_op_gather = {
    .type = "Gather",
    .min_inputs = 2,
    .max_inputs = 2,
    .init = gather_init,
    .destroy = free,
    .infer = gather_infer,
    .forward = gather_forward,
    .backward = gather_backward,
    .keep = 0,
};
