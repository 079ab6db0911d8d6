/* Reshape to a constant shape: the `shape` input (opset >= 5) or attribute
 * (before). 0 copies the input's dim at that index (unless allowzero = 1,
 * opset 14), one -1 is inferred. A copy. */
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>

typedef struct {
    int allowzero;
} reshape_state;

static lrp_status reshape_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    reshape_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    int64_t az = lrp_attr_int(n, "allowzero", 0);
    if (az != 0 && az != 1)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "allowzero must be 0 or 1");
    s->allowzero = (int)az;
    if (g->opset < 5) {
        const int64_t *v;
        if (lrp_attr_ints(n, "shape", &v) < 0)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the shape attribute is missing");
    } else if (n->n_inputs < 2 || n->inputs[1] < 0) {
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the shape input is missing");
    }
    return LRP_OK;
}

static lrp_status reshape_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const reshape_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    const int64_t *sh;
    int cnt;
    if (g->opset < 5) {
        cnt = lrp_attr_ints(n, "shape", &sh);
    } else {
        lrp_status st = lrp_const_ints(g, n, 1, "the target shape", &sh, &cnt, err);
        if (st != LRP_OK)
            return st;
    }
    char s1[160], s2[640];
    lrp_shape_str(x->ndim, x->dims, s1, sizeof s1);
    if (cnt > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "target shape of rank %d (at most %d supported)", cnt,
                             LRP_MAX_DIMS);
    lrp_shape_str(cnt, sh, s2, sizeof s2);
    int64_t out[LRP_MAX_DIMS];
    int infer_at = -1, has_zero = 0;
    for (int i = 0; i < cnt; i++) {
        out[i] = sh[i];
        if (sh[i] == -1) {
            if (infer_at >= 0)
                return lrp_node_fail(err, n, LRP_ERR_SHAPE, "target shape %s has more than one -1", s2);
            infer_at = i;
            out[i] = 1;
        } else if (sh[i] < -1) {
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "target shape %s has a negative dim", s2);
        } else if (sh[i] == 0) {
            has_zero = 1;
            if (!s->allowzero) {
                if (i >= x->ndim)
                    return lrp_node_fail(err, n, LRP_ERR_SHAPE,
                                         "target shape %s copies dim %d of the input %s, which has no such dim", s2, i,
                                         s1);
                out[i] = x->dims[i];
            }
        }
    }
    if (s->allowzero && has_zero && infer_at >= 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "target shape %s has both 0 and -1 with allowzero", s2);
    int64_t numel = lrp_numel_checked(x->ndim, x->dims);
    int64_t known = lrp_numel_checked(cnt, out);
    if (known < 0)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "target shape %s is too large", s2);
    if (infer_at >= 0) {
        if (known == 0 || numel % known != 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "cannot reshape %s to %s", s1, s2);
        out[infer_at] = numel / known;
    } else if (known != numel) {
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s (%lld elements)", s1,
                             (long long)numel, s2, (long long)known);
    }
    lrp_set_output(g, n, 0, x->dtype, cnt, out);
    return LRP_OK;
}

const lrp_op lrp_op_reshape = {
    .view = 1,
    .type = "Reshape",
    .min_inputs = 1,
    .max_inputs = 2,
    .init = reshape_init,
    .destroy = free,
    .infer = reshape_infer,
    .forward = lrp_copy_forward,
    .backward = lrp_copy_backward,
    .keep = 0,
};
