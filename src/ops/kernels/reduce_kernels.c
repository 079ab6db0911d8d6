/* Reductions over a set of axes, through the broadcast iteration: the
 * output with the reduced dims kept as 1 broadcasts into the input. Sums
 * are accumulated in double in input order, one pass, deterministic. */
#include "ops/kernels/reduce_kernels.h"

#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/eltwise_kernels.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

lrp_status lrp_reduce_init(lrp_graph *g, lrp_node *n, lrp_reduce_kind kind, int axes_input_opset, lrp_error *err)
{
    lrp_reduce_state *s = calloc(1, sizeof *s);
    if (!s)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    n->state = s;
    s->kind = kind;
    int64_t kd = lrp_attr_int(n, "keepdims", 1), ne = lrp_attr_int(n, "noop_with_empty_axes", 0);
    if ((kd != 0 && kd != 1) || (ne != 0 && ne != 1))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "keepdims and noop_with_empty_axes must be 0 or 1");
    s->keepdims = (int)kd;
    s->noop_empty = (int)ne;
    s->axes_from_input = g->opset >= axes_input_opset;
    if (!s->axes_from_input && n->n_inputs > 1)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "an axes input before opset %d", axes_input_opset);
    return LRP_OK;
}

lrp_status lrp_reduce_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    lrp_reduce_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    if (x->dtype != LRP_REAL_DT && !(x->dtype == LRP_INT64 && s->kind != LRP_RED_MEAN))
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    const int64_t *axes = NULL;
    int cnt = 0;
    if (s->axes_from_input) {
        if (lrp_node_in(g, n, 1)) {
            lrp_status st = lrp_const_ints(g, n, 1, "axes", &axes, &cnt, err);
            if (st != LRP_OK)
                return st;
        }
    } else {
        cnt = lrp_attr_ints(n, "axes", &axes);
        if (cnt < 0)
            cnt = 0;
    }
    int r = x->ndim, ax[LRP_MAX_DIMS];
    lrp_status st = lrp_norm_axes(n, axes, cnt, r, false, ax, err);
    if (st != LRP_OK)
        return st;
    s->r = r;
    s->identity = cnt == 0 && s->noop_empty;
    for (int d = 0; d < r; d++)
        s->red[d] = cnt == 0 && !s->noop_empty;
    for (int i = 0; i < cnt; i++)
        s->red[ax[i]] = true;
    int64_t out[LRP_MAX_DIMS];
    int no = 0;
    s->count = 1;
    for (int d = 0; d < r; d++) {
        if (!s->red[d])
            out[no++] = x->dims[d];
        else {
            s->count *= x->dims[d];
            if (s->keepdims)
                out[no++] = 1;
        }
    }
    if (s->kind == LRP_RED_MAX && s->count == 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "maximum over an empty set");
    lrp_set_output(g, n, 0, x->dtype, no, out);
    return LRP_OK;
}

/* The broadcast of the kept-dims output shape into the input shape. */
static int setup(const lrp_reduce_state *s, const lrp_tensor *x, lrp_bcast *bc)
{
    int64_t kept[LRP_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        kept[d] = s->red[d] ? 1 : x->dims[d];
    int nd = x->ndim;
    const int64_t *kp = kept;
    return lrp_bcast_init(bc, x->ndim, x->dims, 1, &nd, &kp);
}

lrp_status lrp_reduce_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_reduce_state *s = n->state;
    const lrp_tensor *x = in[0];
    lrp_tensor *y = out[0];
    if (s->identity)
        return lrp_copy_forward(n, in, out, err);
    lrp_bcast bc;
    if (setup(s, x, &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "reduction shapes");
    const int64_t sk = lrp_bcast_inner(&bc, 1), len = bc.len;
    if (s->kind == LRP_RED_MAX) {
        bool *seen = calloc((size_t)(y->numel ? y->numel : 1), sizeof(bool));
        if (!seen)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t off[LRP_BC_MAX];
            lrp_bcast_row(&bc, r, off);
            for (int64_t i = 0; i < len; i++) {
                int64_t o = off[1] + i * sk;
                if (x->dtype == LRP_INT64) {
                    int64_t v = lrp_i64(x)[off[0] + i];
                    if (!seen[o] || v > lrp_i64(y)[o])
                        lrp_i64(y)[o] = v;
                } else {
                    lrp_real v = lrp_reals(x)[off[0] + i], *yo = lrp_reals(y) + o;
                    if (!seen[o] || v > *yo || (v != v && *yo == *yo))
                        *yo = v;
                }
                seen[o] = true;
            }
        }
        free(seen);
        return LRP_OK;
    }
    if (x->dtype == LRP_INT64) { /* integer sum, wrapping */
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t off[LRP_BC_MAX];
            lrp_bcast_row(&bc, r, off);
            for (int64_t i = 0; i < len; i++) {
                int64_t *yo = lrp_i64(y) + off[1] + i * sk;
                *yo = (int64_t)((uint64_t)*yo + (uint64_t)lrp_i64(x)[off[0] + i]);
            }
        }
        return LRP_OK;
    }
    double *acc = calloc((size_t)(y->numel ? y->numel : 1), sizeof(double));
    if (!acc)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    const lrp_real *xd = lrp_reals(x);
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t off[LRP_BC_MAX];
        lrp_bcast_row(&bc, r, off);
        if (sk == 0) {
            double t = 0;
            for (int64_t i = 0; i < len; i++)
                t += xd[off[0] + i];
            acc[off[1]] += t;
        } else {
            for (int64_t i = 0; i < len; i++)
                acc[off[1] + i] += xd[off[0] + i];
        }
    }
    const double scale = s->kind == LRP_RED_MEAN ? (s->count ? 1.0 / (double)s->count : NAN) : 1.0;
    for (int64_t o = 0; o < y->numel; o++)
        lrp_reals(y)[o] = (lrp_real)(acc[o] * scale);
    free(acc);
    return LRP_OK;
}

lrp_status lrp_reduce_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const lrp_reduce_state *s = n->state;
    if (!gin[0])
        return LRP_OK;
    if (s->identity)
        return lrp_copy_backward(n, in, out, gout, gin, err);
    lrp_bcast bc;
    if (setup(s, gin[0], &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "reduction shapes");
    const int64_t sk = lrp_bcast_inner(&bc, 1), len = bc.len;
    const lrp_real *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    if (s->kind != LRP_RED_MAX) {
        const lrp_real scale = s->kind == LRP_RED_MEAN ? 1.0f / (lrp_real)s->count : 1.0f;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (gin[0]->numel > LRP_PAR_MIN)
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t off[LRP_BC_MAX];
            lrp_bcast_row(&bc, r, off);
            for (int64_t i = 0; i < len; i++)
                gx[off[0] + i] += g[off[1] + i * sk] * scale;
        }
        return LRP_OK;
    }
    if (!in[0] || !out)
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks the input or output");
    const lrp_real *x = lrp_reals(in[0]), *y = lrp_reals(out);
    lrp_real *cnt = calloc((size_t)(out->numel ? out->numel : 1), sizeof(lrp_real));
    if (!cnt)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int pass = 0; pass < 2; pass++)
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t off[LRP_BC_MAX];
            lrp_bcast_row(&bc, r, off);
            for (int64_t i = 0; i < len; i++) {
                int64_t o = off[1] + i * sk;
                if (x[off[0] + i] != y[o])
                    continue;
                if (pass == 0)
                    cnt[o] += 1.0f;
                else
                    gx[off[0] + i] += g[o] / cnt[o];
            }
        }
    free(cnt);
    return LRP_OK;
}
