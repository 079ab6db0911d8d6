/* Expand: broadcasts the input to the (constant) shape, bidirectionally:
 * the output is the broadcast of both shapes. The gradient is summed over
 * the broadcast dims. Any dtype. */
#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/eltwise_kernels.h"

#include <string.h>

static lrp_status expand_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    const int64_t *sh;
    int cnt;
    char s1[160], s2[640];
    lrp_status st = lrp_const_ints(g, n, 1, "the shape", &sh, &cnt, err);
    if (st != LRP_OK)
        return st;
    if (cnt > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "shape of rank %d", cnt);
    int64_t out[LRP_MAX_DIMS];
    int no = lrp_broadcast_shape(x->ndim, x->dims, cnt, sh, out);
    for (int i = 0; i < cnt && no >= 0; i++)
        if (sh[i] < 0)
            no = -1;
    if (no < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "cannot expand %s to %s",
                             lrp_shape_str(x->ndim, x->dims, s1, sizeof s1), lrp_shape_str(cnt, sh, s2, sizeof s2));
    if (lrp_numel_checked(no, out) < 0)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "expanding to %s is too large",
                             lrp_shape_str(cnt, sh, s2, sizeof s2));
    lrp_set_output(g, n, 0, x->dtype, no, out);
    return LRP_OK;
}

static lrp_status expand_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                 lrp_error *err)
{
    lrp_bcast bc;
    const lrp_tensor *x = in[0];
    lrp_tensor *y = out[0];
    const int64_t *xd = x->dims;
    if (lrp_bcast_init(&bc, y->ndim, y->dims, 1, &x->ndim, &xd) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the input does not broadcast to the output");
    const int64_t sx = lrp_bcast_inner(&bc, 1);
    const size_t es = lrp_elem_size(y);
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (y->numel > LRP_PAR_MIN)
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t off[LRP_BC_MAX];
        lrp_bcast_row(&bc, r, off);
        if (sx)
            memcpy((char *)y->data + (size_t)off[0] * es, (const char *)x->data + (size_t)off[1] * es,
                   (size_t)bc.len * es);
        else
            for (int64_t i = 0; i < bc.len; i++)
                memcpy((char *)y->data + (size_t)(off[0] + i) * es, (const char *)x->data + (size_t)off[1] * es, es);
    }
    return LRP_OK;
}

static lrp_status expand_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                  const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    lrp_bcast bc;
    const int64_t *xd = gin[0]->dims;
    if (lrp_bcast_init(&bc, gout->ndim, gout->dims, 1, &gin[0]->ndim, &xd) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the input does not broadcast to the output");
    lrp_bcast_reduce(&bc, 1, lrp_reals(gout), 1.0f, lrp_reals(gin[0]));
    return LRP_OK;
}

const lrp_op lrp_op_expand = {
    .type = "Expand",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = expand_infer,
    .forward = expand_forward,
    .backward = expand_backward,
    .keep = 0,
};
