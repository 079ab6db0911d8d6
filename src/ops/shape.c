/* Shape: the input's dims as a 1-D int64 tensor (start/end from opset 15).
 * Known at shape inference: the output becomes a folded constant there, so
 * that the shape arithmetic of older exports (Shape -> Gather -> Unsqueeze ->
 * Concat -> Reshape) folds into constants. */
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>

typedef struct {
    int64_t start, end;
    int has_end;
} shape_state;

static lrp_status shape_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    shape_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    s->start = lrp_attr_int(n, "start", 0);
    s->has_end = lrp_node_attr(n, "end") != NULL;
    s->end = lrp_attr_int(n, "end", 0);
    return LRP_OK;
}

/* The [lo, hi) range of dims selected for rank r (clamped as ONNX says). */
static void range_of(const shape_state *s, int r, int *lo, int *hi)
{
    int64_t a = s->start, b = s->has_end ? s->end : r;
    if (a < 0)
        a += r;
    if (b < 0)
        b += r;
    a = a < 0 ? 0 : (a > r ? r : a);
    b = b < 0 ? 0 : (b > r ? r : b);
    *lo = (int)a;
    *hi = (int)(b > a ? b : a);
}

static lrp_status shape_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    lrp_value *v = lrp_node_out(g, n, 0);
    int lo, hi;
    range_of(n->state, x->ndim, &lo, &hi);
    int64_t len = hi - lo;
    lrp_set_output(g, n, 0, LRP_INT64, 1, &len);
    if (!v)
        return LRP_OK;
    lrp_tensor *t = lrp_tensor_new(LRP_INT64, 1, &len, err);
    if (!t)
        return err ? err->status : LRP_ERR_NOMEM;
    for (int i = lo; i < hi; i++)
        lrp_i64(t)[i - lo] = x->dims[i];
    return lrp_set_folded(n, v, t, err);
}

static lrp_status shape_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    int lo, hi;
    range_of(n->state, in[0]->ndim, &lo, &hi);
    for (int i = lo; i < hi; i++)
        lrp_i64(out[0])[i - lo] = in[0]->dims[i];
    return LRP_OK;
}

const lrp_op lrp_op_shape = {
    .type = "Shape",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = shape_init,
    .destroy = free,
    .infer = shape_infer,
    .forward = shape_forward,
};
