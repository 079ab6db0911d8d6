/* Concat along `axis` (required from opset 4, default 1 before; negative
 * from opset 11). Any dtype; inputs may be empty along the axis. */
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t axis;
} concat_state;

static lrp_status concat_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    concat_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    if (!lrp_node_attr(n, "axis") && g->opset >= 4)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the axis attribute is missing");
    s->axis = lrp_attr_int(n, "axis", 1);
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] < 0)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "input %d is empty", i);
    return LRP_OK;
}

static lrp_status concat_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const concat_state *s = n->state;
    const lrp_value *x0 = lrp_node_in(g, n, 0);
    int r = x0->ndim, axis = lrp_axis(s->axis, r);
    char s1[160], s2[160];
    if (axis < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)s->axis, r);
    int64_t out[LRP_MAX_DIMS];
    memcpy(out, x0->dims, sizeof(int64_t) * (size_t)r);
    out[axis] = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const lrp_value *x = lrp_node_in(g, n, i);
        if (x->dtype != x0->dtype)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "inputs of different types");
        bool ok = x->ndim == r;
        for (int d = 0; d < r && ok; d++)
            ok = d == axis || x->dims[d] == x0->dims[d];
        if (!ok)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE,
                                 "input %d of shape %s does not fit input 0 of shape %s on axis %d", i,
                                 lrp_shape_str(x->ndim, x->dims, s1, sizeof s1),
                                 lrp_shape_str(r, x0->dims, s2, sizeof s2), axis);
        out[axis] += x->dims[axis];
        if (out[axis] > LRP_MAX_ELEMENTS)
            return lrp_node_fail(err, n, LRP_ERR_LIMIT, "result too large");
    }
    lrp_set_output(g, n, 0, x0->dtype, r, out);
    return LRP_OK;
}

/* Copies each input's blocks into (or, backward, out of) the output. */
static void blocks(const lrp_node *n, const lrp_tensor *y, int nin, const lrp_tensor *const *xs, void *const *xdata,
                   void *ydata, int backward)
{
    const concat_state *s = n->state;
    int r = y->ndim, axis = lrp_axis(s->axis, r);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= y->dims[d];
    for (int d = axis + 1; d < r; d++)
        inner *= y->dims[d];
    const size_t es = lrp_elem_size(y);
    const int64_t yrow = y->dims[axis] * inner;
    int64_t at = 0;
    for (int k = 0; k < nin; k++) {
        int64_t row = xs[k]->dims[axis] * inner;
        if (row) {
            for (int64_t o = 0; o < outer; o++) {
                char *yp = (char *)ydata + (size_t)(o * yrow + at) * es;
                char *xp = (char *)xdata[k] + (size_t)(o * row) * es;
                if (!backward)
                    memcpy(yp, xp, (size_t)row * es);
                else if (xdata[k])
                    lrp_add_to((lrp_real *)xp, (const lrp_real *)yp, row);
            }
        }
        at += row;
    }
}

static lrp_status concat_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                 lrp_error *err)
{
    void **xd = malloc(sizeof(void *) * (size_t)n->n_inputs);
    if (!xd)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int k = 0; k < n->n_inputs; k++)
        xd[k] = in[k]->data;
    blocks(n, out[0], n->n_inputs, in, xd, out[0]->data, 0);
    free(xd);
    return LRP_OK;
}

static lrp_status concat_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                  const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const lrp_tensor **xs = malloc(sizeof(lrp_tensor *) * (size_t)n->n_inputs);
    void **xd = malloc(sizeof(void *) * (size_t)n->n_inputs);
    lrp_status st = LRP_OK;
    if (!xs || !xd) {
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < n->n_inputs; k++) {
        /* the size along the axis: from the gradient, or the (constant) input */
        xs[k] = gin[k] ? gin[k] : in[k];
        xd[k] = gin[k] ? gin[k]->data : NULL;
        if (!xs[k]) {
            st = lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks the shape of input %d", k);
            goto done;
        }
    }
    blocks(n, gout, n->n_inputs, xs, xd, gout->data, 1);
done:
    free(xs);
    free(xd);
    return st;
}

const lrp_op lrp_op_concat = {
    .type = "Concat",
    .min_inputs = 1,
    .max_inputs = 65536,
    .init = concat_init,
    .destroy = free,
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
    .keep = 0,
};
