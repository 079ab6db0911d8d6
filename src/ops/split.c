/* Split along `axis` into the outputs: sizes from the `split` attribute
 * (before opset 13) or constant input (from 13), else equal parts (opset 18
 * num_outputs: ceil-sized parts, the last one smaller). Any dtype.
 *
 * The backward interface carries the gradient of output 0 only (the engine
 * refuses relevance reaching other outputs), so backward routes it into the
 * first part. */
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t axis;
    int nout;
    int64_t *sizes; /* resolved for the current input */
} split_state;

static void split_free(void *p)
{
    split_state *s = p;
    if (s)
        free(s->sizes);
    free(s);
}

static lrp_status split_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    split_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    s->axis = lrp_attr_int(n, "axis", 0);
    s->nout = n->n_outputs;
    if (s->nout < 1)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "Split has no outputs");
    s->sizes = calloc((size_t)s->nout, sizeof(int64_t));
    if (!s->sizes)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    int64_t no = lrp_attr_int(n, "num_outputs", s->nout);
    if (no != s->nout)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "num_outputs is %lld but the node has %d outputs", (long long)no,
                             s->nout);
    return LRP_OK;
}

static lrp_status split_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    split_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    int r = x->ndim, axis = lrp_axis(s->axis, r);
    char sb[160];
    if (axis < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)s->axis, r);
    const int64_t dim = x->dims[axis];
    const int64_t *sp = NULL;
    int cnt = -1;
    if (g->opset < 13) {
        cnt = lrp_attr_ints(n, "split", &sp);
    } else if (lrp_node_in(g, n, 1)) {
        lrp_status st = lrp_const_ints(g, n, 1, "split", &sp, &cnt, err);
        if (st != LRP_OK)
            return st;
    }
    if (cnt >= 0) {
        if (cnt != s->nout)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "split has %d sizes for %d outputs", cnt, s->nout);
        int64_t sum = 0;
        for (int i = 0; i < cnt; i++) {
            if (sp[i] < 0 || sp[i] > dim)
                return lrp_node_fail(err, n, LRP_ERR_SHAPE, "split size %lld is out of range", (long long)sp[i]);
            s->sizes[i] = sp[i];
            sum += sp[i];
        }
        if (sum != dim)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "split sizes add up to %lld, not to dim %d of %s",
                                 (long long)sum, axis, lrp_shape_str(r, x->dims, sb, sizeof sb));
    } else if (g->opset >= 18) {
        int64_t part = (dim + s->nout - 1) / s->nout, left = dim;
        for (int i = 0; i < s->nout; i++) {
            s->sizes[i] = left < part ? left : part;
            left -= s->sizes[i];
        }
    } else {
        if (dim % s->nout)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "dim %d of %s does not split into %d equal parts", axis,
                                 lrp_shape_str(r, x->dims, sb, sizeof sb), s->nout);
        for (int i = 0; i < s->nout; i++)
            s->sizes[i] = dim / s->nout;
    }
    for (int k = 0; k < s->nout; k++) {
        int64_t d[LRP_MAX_DIMS];
        memcpy(d, x->dims, sizeof(int64_t) * (size_t)r);
        d[axis] = s->sizes[k];
        lrp_set_output(g, n, k, x->dtype, r, d);
    }
    return LRP_OK;
}

static void geometry(const split_state *s, const lrp_tensor *x, int64_t *outer, int64_t *inner)
{
    int axis = lrp_axis(s->axis, x->ndim);
    *outer = 1, *inner = 1;
    for (int d = 0; d < axis; d++)
        *outer *= x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        *inner *= x->dims[d];
}

static lrp_status split_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const split_state *s = n->state;
    const lrp_tensor *x = in[0];
    int64_t outer, inner;
    geometry(s, x, &outer, &inner);
    const size_t es = lrp_elem_size(x);
    const int64_t xrow = x->dims[lrp_axis(s->axis, x->ndim)] * inner;
    int64_t at = 0;
    for (int k = 0; k < s->nout; k++) {
        const int64_t row = s->sizes[k] * inner;
        if (out[k] && row)
            for (int64_t o = 0; o < outer; o++)
                memcpy((char *)out[k]->data + (size_t)(o * row) * es,
                       (const char *)x->data + (size_t)(o * xrow + at) * es, (size_t)row * es);
        at += row;
    }
    return LRP_OK;
}

static lrp_status split_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                 const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const split_state *s = n->state;
    if (!gin[0])
        return LRP_OK;
    int64_t outer, inner;
    geometry(s, gin[0], &outer, &inner);
    const int64_t xrow = gin[0]->dims[lrp_axis(s->axis, gin[0]->ndim)] * inner, row = s->sizes[0] * inner;
    for (int64_t o = 0; o < outer; o++)
        lrp_add_to(lrp_reals(gin[0]) + o * xrow, lrp_reals(gout) + o * row, row);
    return LRP_OK;
}

const lrp_op lrp_op_split = {
    .type = "Split",
    .min_inputs = 1,
    .max_inputs = 2,
    .init = split_init,
    .destroy = split_free,
    .infer = split_infer,
    .forward = split_forward,
    .backward = split_backward,
    .keep = 0,
};
