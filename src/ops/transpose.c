/* Transpose: permutes dims by `perm` (default: reversed). Any dtype. */
#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>

typedef struct {
    int has_perm;
    int n;
    int perm[LRP_MAX_DIMS];
} transpose_state;

static lrp_status transpose_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    transpose_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    const int64_t *p;
    int c = lrp_attr_ints(n, "perm", &p);
    if (c < 0)
        return LRP_OK;
    if (c > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "perm of %d entries", c);
    int seen[LRP_MAX_DIMS] = {0};
    for (int i = 0; i < c; i++) {
        if (p[i] < 0 || p[i] >= c || seen[p[i]]++)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "perm is not a permutation of 0..%d", c - 1);
        s->perm[i] = (int)p[i];
    }
    s->has_perm = 1;
    s->n = c;
    return LRP_OK;
}

static void get_perm(const transpose_state *s, int r, int *perm)
{
    for (int i = 0; i < r; i++)
        perm[i] = s->has_perm ? s->perm[i] : r - 1 - i;
}

static lrp_status transpose_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const transpose_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    if (s->has_perm && s->n != x->ndim)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "perm has %d entries for an input of rank %d", s->n, x->ndim);
    int perm[LRP_MAX_DIMS];
    int64_t out[LRP_MAX_DIMS];
    get_perm(s, x->ndim, perm);
    for (int i = 0; i < x->ndim; i++)
        out[i] = x->dims[perm[i]];
    lrp_set_output(g, n, 0, x->dtype, x->ndim, out);
    return LRP_OK;
}

/* Input offset of each output row: an iteration over the output with the
 * input's strides permuted. mode 0: copy float, 1: copy int64, 2: gx += g. */
static void permute(const lrp_node *n, const lrp_tensor *x, const void *src, void *dst, int mode)
{
    const transpose_state *s = n->state;
    int r = x->ndim, perm[LRP_MAX_DIMS];
    get_perm(s, r, perm);
    int64_t is[LRP_MAX_DIMS], od[LRP_MAX_DIMS], os[LRP_MAX_DIMS];
    int64_t st = 1;
    for (int d = r - 1; d >= 0; d--) {
        is[d] = st;
        st *= x->dims[d];
    }
    for (int d = 0; d < r; d++) {
        od[d] = x->dims[perm[d]];
        os[d] = is[perm[d]];
    }
    int64_t len = r ? od[r - 1] : 1, inner = r ? os[r - 1] : 1, rows = len ? x->numel / len : 0;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (x->numel > LRP_PAR_MIN)
    for (int64_t row = 0; row < rows; row++) {
        int64_t q = row, off = 0;
        for (int d = r - 2; d >= 0; d--) {
            off += (q % od[d]) * os[d];
            q /= od[d];
        }
        int64_t o = row * len;
        if (mode == 0)
            for (int64_t i = 0; i < len; i++)
                ((lrp_real *)dst)[o + i] = ((const lrp_real *)src)[off + i * inner];
        else if (mode == 1)
            for (int64_t i = 0; i < len; i++)
                ((int64_t *)dst)[o + i] = ((const int64_t *)src)[off + i * inner];
        else
            for (int64_t i = 0; i < len; i++)
                ((lrp_real *)dst)[off + i * inner] += ((const lrp_real *)src)[o + i];
    }
}

static lrp_status transpose_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                    lrp_error *err)
{
    permute(n, in[0], in[0]->data, out[0]->data, in[0]->dtype == LRP_INT64 ? 1 : 0);
    return LRP_OK;
}

static lrp_status transpose_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                     const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (gin[0])
        permute(n, gin[0], gout->data, gin[0]->data, 2);
    return LRP_OK;
}

const lrp_op lrp_op_transpose = {
    .type = "Transpose",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = transpose_init,
    .destroy = free,
    .infer = transpose_infer,
    .forward = transpose_forward,
    .backward = transpose_backward,
    .keep = 0,
};
