/* PRelu: y = x > 0 ? x : slope * x, slope broadcast to x (numpy, from the
 * right). Before opset 7 a 1-D slope of C values is per channel (dim 1). */
#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int legacy; /* opset < 7 */
} prelu_state;

static lrp_status prelu_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    prelu_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    s->legacy = g->opset < 7;
    return LRP_OK;
}

/* The slope's shape as it broadcasts into x's. */
static int slope_shape(const lrp_node *n, int xnd, const int64_t *xd, int snd, const int64_t *sd, int64_t *out)
{
    const prelu_state *s = n->state;
    if (s->legacy && snd == 1 && xnd >= 2 && sd[0] == xd[1] && sd[0] != 1) {
        for (int d = 1; d < xnd; d++)
            out[d - 1] = d == 1 ? sd[0] : 1;
        return xnd - 1;
    }
    memcpy(out, sd, sizeof(int64_t) * (size_t)snd);
    return snd;
}

static lrp_status prelu_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0), *sl = lrp_node_in(g, n, 1);
    char s1[160], s2[160];
    if (x->dtype != LRP_REAL_DT || sl->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    int64_t sd[LRP_MAX_DIMS];
    int snd = slope_shape(n, x->ndim, x->dims, sl->ndim, sl->dims, sd);
    lrp_bcast bc;
    const int64_t *sp = sd;
    if (lrp_bcast_init(&bc, x->ndim, x->dims, 1, &snd, &sp) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "slope of shape %s does not broadcast to the input %s",
                             lrp_shape_str(sl->ndim, sl->dims, s1, sizeof s1),
                             lrp_shape_str(x->ndim, x->dims, s2, sizeof s2));
    lrp_set_output(g, n, 0, LRP_REAL_DT, x->ndim, x->dims);
    return LRP_OK;
}

static int setup(const lrp_node *n, const lrp_tensor *x, const lrp_tensor *sl, lrp_bcast *bc)
{
    int64_t sd[LRP_MAX_DIMS];
    int snd = slope_shape(n, x->ndim, x->dims, sl->ndim, sl->dims, sd);
    int nds[2] = {x->ndim, snd};
    const int64_t *ds[2] = {x->dims, sd};
    return lrp_bcast_init(bc, x->ndim, x->dims, 2, nds, ds);
}

static lrp_status prelu_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    lrp_bcast bc;
    if (setup(n, in[0], in[1], &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "slope does not broadcast to the input");
    const lrp_real *x = lrp_reals(in[0]), *a = lrp_reals(in[1]);
    lrp_real *y = lrp_reals(out[0]);
    const int64_t sa = lrp_bcast_inner(&bc, 2), len = bc.len;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (in[0]->numel > LRP_PAR_MIN)
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t off[LRP_BC_MAX];
        lrp_bcast_row(&bc, r, off);
        for (int64_t i = 0; i < len; i++) {
            lrp_real v = x[off[1] + i];
            y[off[0] + i] = v > 0.0f ? v : a[off[2] + i * sa] * v;
        }
    }
    return LRP_OK;
}

/* gx += g (x > 0 ? 1 : slope); gslope += sum of g x where x <= 0. */
static lrp_status prelu_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                 const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    lrp_bcast bc;
    if (setup(n, in[0], in[1], &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "slope does not broadcast to the input");
    const lrp_real *x = lrp_reals(in[0]), *a = lrp_reals(in[1]), *g = lrp_reals(gout);
    const int64_t sa = lrp_bcast_inner(&bc, 2), len = bc.len;
    if (gin[0]) {
        lrp_real *gx = lrp_reals(gin[0]);
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (in[0]->numel > LRP_PAR_MIN)
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t off[LRP_BC_MAX];
            lrp_bcast_row(&bc, r, off);
            for (int64_t i = 0; i < len; i++) {
                lrp_real v = x[off[1] + i], gv = g[off[0] + i];
                gx[off[1] + i] += v > 0.0f ? gv : a[off[2] + i * sa] * gv;
            }
        }
    }
    if (gin[1]) {
        lrp_real *ga = lrp_reals(gin[1]);
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t off[LRP_BC_MAX];
            lrp_bcast_row(&bc, r, off);
            for (int64_t i = 0; i < len; i++) {
                lrp_real v = x[off[1] + i];
                if (v <= 0.0f)
                    ga[off[2] + i * sa] += g[off[0] + i] * v;
            }
        }
    }
    return LRP_OK;
}

const lrp_op lrp_op_prelu = {
    .piecewise = 1,
    .type = "PRelu",
    .min_inputs = 2,
    .max_inputs = 2,
    .init = prelu_init,
    .destroy = free,
    .infer = prelu_infer,
    .forward = prelu_forward,
    .backward = prelu_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
};
