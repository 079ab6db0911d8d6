/* Where: y = cond ? X : Y with three-way broadcasting (cond a bool tensor
 * held as int64). Gradients: X gets g where cond, Y where not. */
#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

#include <string.h>

static lrp_status where_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *c = lrp_node_in(g, n, 0), *x = lrp_node_in(g, n, 1), *y = lrp_node_in(g, n, 2);
    char s1[160], s2[160], s3[160];
    if (c->dtype != LRP_INT64)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the condition must be a bool tensor");
    if (x->dtype != y->dtype)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "X and Y have different types");
    int64_t t[LRP_MAX_DIMS], out[LRP_MAX_DIMS];
    int nt = lrp_broadcast_shape(c->ndim, c->dims, x->ndim, x->dims, t);
    int no = nt < 0 ? -1 : lrp_broadcast_shape(nt, t, y->ndim, y->dims, out);
    if (no < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "shapes %s, %s and %s do not broadcast",
                             lrp_shape_str(c->ndim, c->dims, s1, sizeof s1),
                             lrp_shape_str(x->ndim, x->dims, s2, sizeof s2),
                             lrp_shape_str(y->ndim, y->dims, s3, sizeof s3));
    lrp_set_output(g, n, 0, x->dtype, no, out);
    return LRP_OK;
}

/* Broadcast of (out, cond, X, Y); shapes from the given tensors. */
static int setup(const lrp_tensor *o, const lrp_tensor *c, const lrp_tensor *x, const lrp_tensor *y, lrp_bcast *bc)
{
    int nds[3] = {c->ndim, x->ndim, y->ndim};
    const int64_t *ds[3] = {c->dims, x->dims, y->dims};
    return lrp_bcast_init(bc, o->ndim, o->dims, 3, nds, ds);
}

static lrp_status where_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    lrp_bcast bc;
    if (setup(out[0], in[0], in[1], in[2], &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the inputs do not broadcast to the output");
    const int64_t sc = lrp_bcast_inner(&bc, 1), sx = lrp_bcast_inner(&bc, 2), sy = lrp_bcast_inner(&bc, 3);
    const int64_t *c = lrp_i64(in[0]);
    const size_t es = lrp_elem_size(out[0]);
    const char *x = in[1]->data, *y = in[2]->data;
    char *o = out[0]->data;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (out[0]->numel > LRP_PAR_MIN)
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t off[LRP_BC_MAX];
        lrp_bcast_row(&bc, r, off);
        for (int64_t i = 0; i < bc.len; i++) {
            const char *src =
                c[off[1] + i * sc] ? x + (size_t)(off[2] + i * sx) * es : y + (size_t)(off[3] + i * sy) * es;
            memcpy(o + (size_t)(off[0] + i) * es, src, es);
        }
    }
    return LRP_OK;
}

static lrp_status where_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                 const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[1] && !gin[2])
        return LRP_OK;
    const lrp_tensor *x = gin[1] ? gin[1] : in[1], *y = gin[2] ? gin[2] : in[2];
    if (!in[0] || !x || !y)
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks the condition");
    lrp_bcast bc;
    if (setup(gout, in[0], x, y, &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the inputs do not broadcast to the output");
    const int64_t sc = lrp_bcast_inner(&bc, 1), sx = lrp_bcast_inner(&bc, 2), sy = lrp_bcast_inner(&bc, 3);
    const int64_t *c = lrp_i64(in[0]);
    const lrp_real *g = lrp_reals(gout);
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t off[LRP_BC_MAX];
        lrp_bcast_row(&bc, r, off);
        for (int64_t i = 0; i < bc.len; i++) {
            if (c[off[1] + i * sc]) {
                if (gin[1])
                    lrp_reals(gin[1])[off[2] + i * sx] += g[off[0] + i];
            } else if (gin[2]) {
                lrp_reals(gin[2])[off[3] + i * sy] += g[off[0] + i];
            }
        }
    }
    return LRP_OK;
}

const lrp_op lrp_op_where = {
    .type = "Where",
    .min_inputs = 3,
    .max_inputs = 3,
    .infer = where_infer,
    .forward = where_forward,
    .backward = where_backward,
    .keep = LRP_KEEP_INPUTS,
};
