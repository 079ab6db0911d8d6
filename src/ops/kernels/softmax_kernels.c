/* Softmax kernels, numerically stable (the maximum is subtracted), sums in
 * double, each group on one thread (results do not depend on threads). */
#include "ops/kernels/softmax_kernels.h"

#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

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
    if (x->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    int r = x->ndim;
    /* coerced to 2-D, axis may equal the rank; a scalar has one group of one */
    bool ok = s->coerce_2d ? (s->axis >= -r && s->axis <= r)
                           : (r == 0 ? (s->axis == 0 || s->axis == -1) : lrp_axis(s->axis, r) >= 0);
    if (!ok)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)s->axis, r);
    lrp_set_output(g, n, 0, LRP_REAL_DT, r, x->dims);
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

/* Columns handled together when groups are strided (inner > 1): the
 * tensor is walked row by row, each column keeping its own sums. */
#define SM_COLS 256

void lrp_softmax_fwd(int64_t outer, int64_t L, int64_t inner, const lrp_real *x, lrp_real *y, int logsm)
{
    const int64_t chunks = (inner + SM_COLS - 1) / SM_COLS, tasks = outer * chunks;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (outer * L * inner > LRP_PAR_MIN)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t o = t / chunks, c0 = (t % chunks) * SM_COLS;
        const int64_t nc = inner - c0 < SM_COLS ? inner - c0 : SM_COLS;
        const lrp_real *xq = x + o * L * inner + c0;
        lrp_real *yq = y + o * L * inner + c0;
        lrp_real m[SM_COLS];
        double s[SM_COLS];
        for (int64_t c = 0; c < nc; c++) {
            m[c] = -INFINITY;
            s[c] = 0;
        }
        for (int64_t k = 0; k < L; k++)
            for (int64_t c = 0; c < nc; c++) {
                const lrp_real v = xq[k * inner + c];
                if (v > m[c] || v != v)
                    m[c] = v;
            }
        for (int64_t c = 0; c < nc; c++)
            if (isinf(m[c]))
                m[c] = 0.0f; /* all -inf: avoid inf - inf */
        /* exp once per element (kept in y), summed in double */
        for (int64_t k = 0; k < L; k++)
            for (int64_t c = 0; c < nc; c++) {
                const lrp_real e = lrp_exp(xq[k * inner + c] - m[c]);
                s[c] += e;
                if (!logsm)
                    yq[k * inner + c] = e;
            }
        if (logsm) {
            for (int64_t c = 0; c < nc; c++)
                s[c] = log(s[c]) + (double)m[c];
            for (int64_t k = 0; k < L; k++)
                for (int64_t c = 0; c < nc; c++)
                    yq[k * inner + c] = (lrp_real)((double)xq[k * inner + c] - s[c]);
        } else {
            for (int64_t c = 0; c < nc; c++)
                s[c] = 1.0 / s[c];
            for (int64_t k = 0; k < L; k++)
                for (int64_t c = 0; c < nc; c++)
                    yq[k * inner + c] = (lrp_real)((double)yq[k * inner + c] * s[c]);
        }
    }
}

void lrp_softmax_bwd(int64_t outer, int64_t L, int64_t inner, const lrp_real *y, const lrp_real *g, lrp_real *gx,
                     int logsm)
{
    const int64_t chunks = (inner + SM_COLS - 1) / SM_COLS, tasks = outer * chunks;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (outer * L * inner > LRP_PAR_MIN)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t o = t / chunks, c0 = (t % chunks) * SM_COLS;
        const int64_t nc = inner - c0 < SM_COLS ? inner - c0 : SM_COLS;
        const int64_t base = o * L * inner + c0;
        const lrp_real *yq = y + base, *gq = g + base;
        lrp_real *gxq = gx + base;
        double s[SM_COLS];
        for (int64_t c = 0; c < nc; c++)
            s[c] = 0;
        for (int64_t k = 0; k < L; k++)
            for (int64_t c = 0; c < nc; c++)
                s[c] += logsm ? (double)gq[k * inner + c] : (double)gq[k * inner + c] * yq[k * inner + c];
        for (int64_t k = 0; k < L; k++)
            for (int64_t c = 0; c < nc; c++) {
                const int64_t at = k * inner + c;
                gxq[at] += logsm ? (lrp_real)((double)gq[at] - exp((double)yq[at]) * s[c])
                                 : (lrp_real)((double)yq[at] * ((double)gq[at] - s[c]));
            }
    }
}
