/* GlobalMaxPool: max over all spatial dims, (N, C, ...) -> (N, C, 1...).
 * The gradient goes to the first maximum of each plane. */
#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/pool_kernels.h"
#include "base/tensor.h"

#include <float.h>
#include <math.h>

/* Offset of the first maximum of x[0..S) (a NaN wins, as in PyTorch's
 * kernels); -1 if S == 0. */
static int64_t first_max(const lrp_real *x, int64_t S)
{
    if (S == 0)
        return -1;
    int64_t best = 0;
    lrp_real bv = -INFINITY;
    for (int64_t k = 0; k < S; k++) {
        lrp_real v = x[k];
        if (v > bv || v != v) {
            best = k;
            bv = v;
        }
    }
    return best;
}

static lrp_status gmp_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const int64_t P = out[0]->numel, S = P ? in[0]->numel / P : 0;
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (in[0]->numel > LRP_PAR_MIN)
    for (int64_t p = 0; p < P; p++) {
        int64_t a = first_max(x + p * S, S);
        y[p] = a >= 0 ? x[p * S + a] : -LRP_REAL_MAX;
    }
    return LRP_OK;
}

static lrp_status gmp_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const int64_t P = gout->numel, S = P ? in[0]->numel / P : 0;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    for (int64_t p = 0; p < P; p++) {
        int64_t a = first_max(x + p * S, S);
        if (a >= 0)
            gx[p * S + a] += g[p];
    }
    return LRP_OK;
}

static lrp_group gmp_group(const lrp_graph *g, const lrp_node *n) { return LRP_GROUP_MAXPOOL; }

const lrp_op lrp_op_globalmaxpool = {
    .piecewise = 1,
    .type = "GlobalMaxPool",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_global_pool_infer,
    .forward = gmp_forward,
    .backward = gmp_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = gmp_group,
};
