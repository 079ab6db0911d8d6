/* Softmax kernels, numerically stable (the maximum is subtracted), sums in
 * double, one group per iteration (results do not depend on threads). */
#include "softmax_kernels.h"

#include "bcast_kernels.h"
#include "tensor.h"

#include <math.h>
#include <stdlib.h>

lrp_status lrp_softmax_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    lrp_softmax_state *s = calloc(1, sizeof *s);
    if (!s)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    n->state = s;
    s->coerce_2d = g->opset < 13;
    s->axis = lrp_attr_int(n, "axis", s->coerce_2d ? 1 : -1);
    return LRP_OK;
}

lrp_status lrp_softmax_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_softmax_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    if (x->dtype != LRP_FLOAT32)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    int r = x->ndim;
    /* coerced to 2-D, axis may equal the rank; a scalar has one group of one */
    bool ok = s->coerce_2d ? (s->axis >= -r && s->axis <= r) : (r == 0 ? (s->axis == 0 || s->axis == -1)
                                                                        : lrp_axis(s->axis, r) >= 0);
    if (!ok)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)s->axis, r);
    lrp_set_output(g, n, 0, LRP_FLOAT32, r, x->dims);
    return LRP_OK;
}

void lrp_softmax_view(const lrp_node *n, const lrp_tensor *x, int64_t *outer, int64_t *L, int64_t *inner)
{
    const lrp_softmax_state *s = n->state;
    int r = x->ndim;
    int64_t axis = s->axis < 0 ? s->axis + r : s->axis;
    *outer = 1, *L = 1, *inner = 1;
    if (r == 0)
        return;
    for (int d = 0; d < r; d++) {
        if (d < axis)
            *outer *= x->dims[d];
        else if (s->coerce_2d || d == axis)
            *L *= x->dims[d];
        else
            *inner *= x->dims[d];
    }
}

void lrp_softmax_fwd(int64_t outer, int64_t L, int64_t inner, const float *x, float *y, int logsm)
{
    const int64_t groups = outer * inner;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (groups * L > LRP_PAR_MIN)
    for (int64_t q = 0; q < groups; q++) {
        const int64_t base = (q / inner) * L * inner + q % inner;
        const float *xq = x + base;
        float *yq = y + base;
        float m = -INFINITY;
        for (int64_t k = 0; k < L; k++)
            if (xq[k * inner] > m || xq[k * inner] != xq[k * inner])
                m = xq[k * inner];
        if (isinf(m))
            m = 0.0f; /* all -inf: avoid inf - inf */
        double s = 0;
        for (int64_t k = 0; k < L; k++)
            s += exp((double)xq[k * inner] - (double)m);
        if (logsm) {
            const double ls = log(s) + (double)m;
            for (int64_t k = 0; k < L; k++)
                yq[k * inner] = (float)((double)xq[k * inner] - ls);
        } else {
            for (int64_t k = 0; k < L; k++)
                yq[k * inner] = (float)(exp((double)xq[k * inner] - (double)m) / s);
        }
    }
}

void lrp_softmax_bwd(int64_t outer, int64_t L, int64_t inner, const float *y, const float *g, float *gx, int logsm)
{
    const int64_t groups = outer * inner;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (groups * L > LRP_PAR_MIN)
    for (int64_t q = 0; q < groups; q++) {
        const int64_t base = (q / inner) * L * inner + q % inner;
        const float *yq = y + base, *gq = g + base;
        float *gxq = gx + base;
        double s = 0;
        if (logsm) {
            for (int64_t k = 0; k < L; k++)
                s += gq[k * inner];
            for (int64_t k = 0; k < L; k++)
                gxq[k * inner] += (float)((double)gq[k * inner] - exp((double)yq[k * inner]) * s);
        } else {
            for (int64_t k = 0; k < L; k++)
                s += (double)gq[k * inner] * yq[k * inner];
            for (int64_t k = 0; k < L; k++)
                gxq[k * inner] += (float)((double)yq[k * inner] * ((double)gq[k * inner] - s));
        }
    }
}
