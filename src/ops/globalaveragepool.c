/* GlobalAveragePool: mean over all spatial dims, (N, C, ...) -> (N, C, 1...). */
#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/pool_kernels.h"
#include "base/tensor.h"

static lrp_status gap_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const int64_t P = out[0]->numel, S = P ? in[0]->numel / P : 0;
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (in[0]->numel > LRP_PAR_MIN)
    for (int64_t p = 0; p < P; p++) {
        double s = 0;
        for (int64_t k = 0; k < S; k++)
            s += x[p * S + k];
        y[p] = S ? (lrp_real)(s / (double)S) : 0.0f;
    }
    return LRP_OK;
}

static lrp_status gap_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const int64_t P = gout->numel, S = P ? gin[0]->numel / P : 0;
    const lrp_real *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (gin[0]->numel > LRP_PAR_MIN)
    for (int64_t p = 0; p < P; p++) {
        lrp_real v = g[p] / (lrp_real)S;
        for (int64_t k = 0; k < S; k++)
            gx[p * S + k] += v;
    }
    return LRP_OK;
}

static lrp_group gap_group(const lrp_graph *g, const lrp_node *n) { return LRP_GROUP_AVGPOOL; }

const lrp_op lrp_op_globalaveragepool = {
    .overwrites = 1,
    .type = "GlobalAveragePool",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = lrp_global_pool_infer,
    .forward = gap_forward,
    .backward = gap_backward,
    .keep = 0,
    .group = gap_group,
};
