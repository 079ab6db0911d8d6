/* Clip: y = min(max(x, lo), hi) (so hi wins when lo > hi), float or int64.
 * Bounds from the min/max attributes before opset 11, from the optional
 * inputs after (constant or not). Gradient mask lo < x < hi, strict, as
 * PyTorch's hardtanh and ReLU6. */
#include "ops/kernels/eltwise_kernels.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    lrp_real lo, hi; /* opset < 11 */
} clip_state;

static lrp_status clip_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    clip_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    s->lo = -INFINITY;
    s->hi = INFINITY;
    if (g->opset < 11) {
        if (n->n_inputs > 1)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "Clip takes one input before opset 11");
        s->lo = lrp_attr_float(n, "min", -INFINITY);
        s->hi = lrp_attr_float(n, "max", INFINITY);
    }
    return LRP_OK;
}

static lrp_status clip_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    for (int i = 1; i < 3; i++) {
        const lrp_value *b = lrp_node_in(g, n, i);
        if (!b)
            continue;
        if (b->dtype != x->dtype)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "%s has a different type than the input",
                                 i == 1 ? "min" : "max");
        if (lrp_numel_checked(b->ndim, b->dims) != 1)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "%s must be a scalar", i == 1 ? "min" : "max");
    }
    return lrp_infer_same(g, n, true, err);
}

static const lrp_tensor *bound(const lrp_node *n, const lrp_tensor *const *in, int i)
{
    return i < n->n_inputs ? in[i] : NULL;
}

static void bounds_f(const lrp_node *n, const lrp_tensor *const *in, lrp_real *lo, lrp_real *hi)
{
    const clip_state *s = n->state;
    const lrp_tensor *a = bound(n, in, 1), *b = bound(n, in, 2);
    *lo = a ? lrp_reals(a)[0] : s->lo;
    *hi = b ? lrp_reals(b)[0] : s->hi;
}

/* From lo = 0 (ReLU6), y = 0 exactly where x <= 0, outside the strict mask. */
static bool clip_dead_at_zero(const lrp_node *n, const lrp_tensor *const *in)
{
    if (in[0]->dtype != LRP_REAL_DT)
        return false;
    for (int i = 1; i < n->n_inputs && i < 3; i++)
        if (in[i] && (in[i]->dtype != LRP_REAL_DT || in[i]->numel != 1))
            return false;
    lrp_real lo, hi;
    bounds_f(n, in, &lo, &hi);
    return lo == 0.0f && hi > 0.0f;
}

static lrp_status clip_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    if (in[0]->dtype == LRP_INT64) {
        const lrp_tensor *a = bound(n, in, 1), *b = bound(n, in, 2);
        const int64_t lo = a ? lrp_i64(a)[0] : INT64_MIN, hi = b ? lrp_i64(b)[0] : INT64_MAX;
        const int64_t *x = lrp_i64(in[0]);
        int64_t *y = lrp_i64(out[0]);
        LRP_MAP(in[0]->numel, int64_t v = x[i] < lo ? lo : x[i]; y[i] = v > hi ? hi : v);
        return LRP_OK;
    }
    lrp_real lo, hi;
    bounds_f(n, in, &lo, &hi);
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    lrp_clip_values(y, x, lo, hi, in[0]->numel);
    return LRP_OK;
}

static lrp_status clip_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    for (int i = 1; i < n->n_inputs; i++)
        if (gin[i])
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "gradients with respect to non-constant bounds");
    if (!gin[0])
        return LRP_OK;
    lrp_real lo, hi;
    bounds_f(n, in, &lo, &hi);
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    lrp_add_where_inside(gx, g, x, lo, hi, gout->numel);
    return LRP_OK;
}

const lrp_op lrp_op_clip = {
    .piecewise = 1,
    .overwrites = 1,
    .inplace = 1,
    .type = "Clip",
    .min_inputs = 1,
    .max_inputs = 3,
    .init = clip_init,
    .destroy = free,
    .infer = clip_infer,
    .forward = clip_forward,
    .backward = clip_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
    .dead_at_zero = clip_dead_at_zero,
};
