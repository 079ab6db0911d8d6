/* Slice: starts, ends, axes, steps from constant inputs (opset 10) or
 * attributes (before; no steps). Negative starts/ends count from the end,
 * out-of-range values are clamped, negative steps walk backwards. Any dtype. */
#include "ops/kernels/eltwise_kernels.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int r;
    int64_t start[LRP_MAX_DIMS], step[LRP_MAX_DIMS]; /* resolved for the current input */
} slice_state;

static lrp_status slice_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    slice_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    if (g->opset < 10) {
        const int64_t *v;
        if (lrp_attr_ints(n, "starts", &v) < 0 || lrp_attr_ints(n, "ends", &v) < 0)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the starts and ends attributes are required");
        if (n->n_inputs > 1)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "Slice takes one input before opset 10");
    } else if (n->n_inputs < 3) {
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "Slice needs the starts and ends inputs");
    }
    return LRP_OK;
}

static lrp_status slice_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    slice_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    const int64_t *starts, *ends, *axes = NULL, *steps = NULL;
    int ns, ne, na = -1, nt = -1;
    if (g->opset < 10) {
        ns = lrp_attr_ints(n, "starts", &starts);
        ne = lrp_attr_ints(n, "ends", &ends);
        na = lrp_attr_ints(n, "axes", &axes);
    } else {
        lrp_status st = lrp_const_ints(g, n, 1, "starts", &starts, &ns, err);
        if (st == LRP_OK)
            st = lrp_const_ints(g, n, 2, "ends", &ends, &ne, err);
        if (st == LRP_OK && lrp_node_in(g, n, 3))
            st = lrp_const_ints(g, n, 3, "axes", &axes, &na, err);
        if (st == LRP_OK && lrp_node_in(g, n, 4))
            st = lrp_const_ints(g, n, 4, "steps", &steps, &nt, err);
        if (st != LRP_OK)
            return st;
    }
    int r = x->ndim, ax[LRP_MAX_DIMS];
    if (ns != ne || (na >= 0 && na != ns) || (nt >= 0 && nt != ns))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "starts, ends, axes and steps have different lengths");
    if (na < 0) {
        if (ns > r)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "%d starts for an input of rank %d", ns, r);
        for (int i = 0; i < ns; i++)
            ax[i] = i;
    } else {
        lrp_status st = lrp_norm_axes(n, axes, na, r, false, ax, err);
        if (st != LRP_OK)
            return st;
    }
    int64_t out[LRP_MAX_DIMS];
    s->r = r;
    for (int d = 0; d < r; d++) {
        s->start[d] = 0;
        s->step[d] = 1;
        out[d] = x->dims[d];
    }
    for (int i = 0; i < ns; i++) {
        const int d = ax[i];
        const int64_t dim = x->dims[d], step = steps ? steps[i] : 1;
        int64_t a = starts[i], b = ends[i];
        if (step == 0)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "step 0 on axis %d", d);
        if (a < 0)
            a += dim;
        if (b < 0)
            b += dim;
        int64_t len;
        if (step > 0) {
            a = a < 0 ? 0 : (a > dim ? dim : a);
            b = b < 0 ? 0 : (b > dim ? dim : b);
            len = b > a ? (b - a - 1) / step + 1 : 0;
        } else {
            a = a < 0 ? 0 : (a > dim - 1 ? dim - 1 : a);
            b = b < -1 ? -1 : (b > dim - 1 ? dim - 1 : b);
            const int64_t back = step == INT64_MIN ? INT64_MAX : -step;
            len = a > b ? (a - b - 1) / back + 1 : 0;
        }
        s->start[d] = len ? a : 0;
        s->step[d] = step;
        out[d] = len;
    }
    lrp_set_output(g, n, 0, x->dtype, r, out);
    return LRP_OK;
}

/* Input offset of output row `row` (all dims but the last). */
static int64_t row_offset(const slice_state *s, const lrp_tensor *x, const lrp_tensor *y, int64_t row)
{
    int64_t off = 0, stride = x->dims[s->r - 1];
    for (int d = s->r - 2; d >= 0; d--) {
        int64_t o = row % y->dims[d];
        row /= y->dims[d];
        off += (s->start[d] + o * s->step[d]) * stride;
        stride *= x->dims[d];
    }
    return off + s->start[s->r - 1];
}

/* mode 0: copy float, 1: copy int64, 2: gx += g (the map is injective). */
static void run(const slice_state *s, const lrp_tensor *x, const lrp_tensor *y, const void *src, void *dst, int mode)
{
    const int64_t len = y->dims[s->r - 1], rows = len ? y->numel / len : 0, st = s->step[s->r - 1];
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (y->numel > LRP_PAR_MIN)
    for (int64_t row = 0; row < rows; row++) {
        const int64_t off = row_offset(s, x, y, row), o = row * len;
        if (mode == 0)
            for (int64_t i = 0; i < len; i++)
                ((lrp_real *)dst)[o + i] = ((const lrp_real *)src)[off + i * st];
        else if (mode == 1)
            for (int64_t i = 0; i < len; i++)
                ((int64_t *)dst)[o + i] = ((const int64_t *)src)[off + i * st];
        else
            for (int64_t i = 0; i < len; i++)
                ((lrp_real *)dst)[off + i * st] += ((const lrp_real *)src)[o + i];
    }
}

static lrp_status slice_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const slice_state *s = n->state;
    if (s->r == 0)
        return lrp_copy_forward(n, in, out, err);
    run(s, in[0], out[0], in[0]->data, out[0]->data, in[0]->dtype == LRP_INT64);
    return LRP_OK;
}

static lrp_status slice_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                 const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const slice_state *s = n->state;
    if (!gin[0])
        return LRP_OK;
    if (s->r == 0)
        return lrp_copy_backward(n, in, out, gout, gin, err);
    run(s, gin[0], gout, gout->data, gin[0]->data, 2);
    return LRP_OK;
}

const lrp_op lrp_op_slice = {
    .type = "Slice",
    .min_inputs = 1,
    .max_inputs = 5,
    .init = slice_init,
    .destroy = free,
    .infer = slice_infer,
    .forward = slice_forward,
    .backward = slice_backward,
    .keep = 0,
};
