/* Range: start, start + delta, ... up to (not including) limit, from
 * constant scalars (float or int64); max(ceil((limit - start) / delta), 0)
 * elements. */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>

static lrp_status range_count(lrp_graph *g, lrp_node *n, int64_t *count, lrp_error *err)
{
    const lrp_value *v[3];
    for (int i = 0; i < 3; i++) {
        v[i] = lrp_node_in(g, n, i);
        if (!v[i]->constant)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "start, limit and delta must be constant");
        if (v[i]->constant->numel != 1 || v[i]->dtype != v[0]->dtype)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "start, limit and delta must be scalars of one type");
    }
    double c;
    if (v[0]->dtype == LRP_INT64) {
        int64_t a = lrp_i64(v[0]->constant)[0], b = lrp_i64(v[1]->constant)[0], d = lrp_i64(v[2]->constant)[0];
        if (d == 0)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "delta is 0");
        c = ceil(((double)b - (double)a) / (double)d);
    } else {
        double a = lrp_reals(v[0]->constant)[0], b = lrp_reals(v[1]->constant)[0], d = lrp_reals(v[2]->constant)[0];
        if (d == 0 || !isfinite(a) || !isfinite(b) || !isfinite(d))
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "delta is 0 or a bound is not finite");
        c = ceil((b - a) / d);
    }
    if (c > (double)LRP_MAX_ELEMENTS)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "a range of %.0f elements", c);
    *count = c > 0 ? (int64_t)c : 0;
    return LRP_OK;
}

static lrp_status range_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    int64_t c;
    lrp_status st = range_count(g, n, &c, err);
    if (st == LRP_OK)
        lrp_set_output(g, n, 0, lrp_node_in(g, n, 0)->dtype, 1, &c);
    return st;
}

static lrp_status range_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    lrp_tensor *y = out[0];
    if (y->dtype == LRP_INT64) {
        const int64_t a = lrp_i64(in[0])[0], d = lrp_i64(in[2])[0];
        for (int64_t i = 0; i < y->numel; i++)
            lrp_i64(y)[i] = (int64_t)((uint64_t)a + (uint64_t)i * (uint64_t)d); /* wraps, no UB */
    } else {
        const lrp_real a = lrp_reals(in[0])[0], d = lrp_reals(in[2])[0];
        for (int64_t i = 0; i < y->numel; i++)
            lrp_reals(y)[i] = a + (lrp_real)i * d;
    }
    return LRP_OK;
}

const lrp_op lrp_op_range = {
    .type = "Range",
    .min_inputs = 3,
    .max_inputs = 3,
    .infer = range_infer,
    .forward = range_forward,
};
