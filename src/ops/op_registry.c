/* The table of supported operators: one entry per ONNX op type, each defined
 * in its own file under src/ops/. */
#include "ops/op.h"

#include <string.h>

extern const lrp_op lrp_op_abs;
extern const lrp_op lrp_op_add;
extern const lrp_op lrp_op_averagepool;
extern const lrp_op lrp_op_batchnormalization;
extern const lrp_op lrp_op_cast;
extern const lrp_op lrp_op_ceil;
extern const lrp_op lrp_op_clip;
extern const lrp_op lrp_op_concat;
extern const lrp_op lrp_op_constantofshape;
extern const lrp_op lrp_op_conv;
extern const lrp_op lrp_op_convtranspose;
extern const lrp_op lrp_op_div;
extern const lrp_op lrp_op_dropout;
extern const lrp_op lrp_op_einsum;
extern const lrp_op lrp_op_elu;
extern const lrp_op lrp_op_equal;
extern const lrp_op lrp_op_erf;
extern const lrp_op lrp_op_exp;
extern const lrp_op lrp_op_expand;
extern const lrp_op lrp_op_flatten;
extern const lrp_op lrp_op_floor;
extern const lrp_op lrp_op_gather;
extern const lrp_op lrp_op_gelu;
extern const lrp_op lrp_op_gemm;
extern const lrp_op lrp_op_globalaveragepool;
extern const lrp_op lrp_op_globalmaxpool;
extern const lrp_op lrp_op_hardsigmoid;
extern const lrp_op lrp_op_hardswish;
extern const lrp_op lrp_op_identity;
extern const lrp_op lrp_op_layernormalization;
extern const lrp_op lrp_op_leakyrelu;
extern const lrp_op lrp_op_log;
extern const lrp_op lrp_op_logsoftmax;
extern const lrp_op lrp_op_matmul;
extern const lrp_op lrp_op_max;
extern const lrp_op lrp_op_maxpool;
extern const lrp_op lrp_op_mean;
extern const lrp_op lrp_op_min;
extern const lrp_op lrp_op_mod;
extern const lrp_op lrp_op_mul;
extern const lrp_op lrp_op_not;
extern const lrp_op lrp_op_neg;
extern const lrp_op lrp_op_pad;
extern const lrp_op lrp_op_pow;
extern const lrp_op lrp_op_prelu;
extern const lrp_op lrp_op_range;
extern const lrp_op lrp_op_reducemax;
extern const lrp_op lrp_op_reducemean;
extern const lrp_op lrp_op_reducesum;
extern const lrp_op lrp_op_reciprocal;
extern const lrp_op lrp_op_relu;
extern const lrp_op lrp_op_reshape;
extern const lrp_op lrp_op_resize;
extern const lrp_op lrp_op_scatternd;
extern const lrp_op lrp_op_selu;
extern const lrp_op lrp_op_shape;
extern const lrp_op lrp_op_size;
extern const lrp_op lrp_op_sigmoid;
extern const lrp_op lrp_op_slice;
extern const lrp_op lrp_op_softmax;
extern const lrp_op lrp_op_softplus;
extern const lrp_op lrp_op_softsign;
extern const lrp_op lrp_op_split;
extern const lrp_op lrp_op_sqrt;
extern const lrp_op lrp_op_squeeze;
extern const lrp_op lrp_op_sub;
extern const lrp_op lrp_op_sum;
extern const lrp_op lrp_op_tanh;
extern const lrp_op lrp_op_tile;
extern const lrp_op lrp_op_transpose;
extern const lrp_op lrp_op_unsqueeze;
extern const lrp_op lrp_op_upsample;
extern const lrp_op lrp_op_where;

static const lrp_op *const registry[] = {
    &lrp_op_abs,
    &lrp_op_add,
    &lrp_op_averagepool,
    &lrp_op_batchnormalization,
    &lrp_op_cast,
    &lrp_op_ceil,
    &lrp_op_clip,
    &lrp_op_concat,
    &lrp_op_constantofshape,
    &lrp_op_conv,
    &lrp_op_convtranspose,
    &lrp_op_div,
    &lrp_op_dropout,
    &lrp_op_einsum,
    &lrp_op_elu,
    &lrp_op_equal,
    &lrp_op_erf,
    &lrp_op_exp,
    &lrp_op_expand,
    &lrp_op_flatten,
    &lrp_op_floor,
    &lrp_op_gather,
    &lrp_op_gelu,
    &lrp_op_gemm,
    &lrp_op_globalaveragepool,
    &lrp_op_globalmaxpool,
    &lrp_op_hardsigmoid,
    &lrp_op_hardswish,
    &lrp_op_identity,
    &lrp_op_layernormalization,
    &lrp_op_leakyrelu,
    &lrp_op_log,
    &lrp_op_logsoftmax,
    &lrp_op_matmul,
    &lrp_op_max,
    &lrp_op_maxpool,
    &lrp_op_mean,
    &lrp_op_min,
    &lrp_op_mod,
    &lrp_op_mul,
    &lrp_op_not,
    &lrp_op_neg,
    &lrp_op_pad,
    &lrp_op_pow,
    &lrp_op_prelu,
    &lrp_op_range,
    &lrp_op_reducemax,
    &lrp_op_reducemean,
    &lrp_op_reducesum,
    &lrp_op_reciprocal,
    &lrp_op_relu,
    &lrp_op_reshape,
    &lrp_op_resize,
    &lrp_op_scatternd,
    &lrp_op_selu,
    &lrp_op_shape,
    &lrp_op_size,
    &lrp_op_sigmoid,
    &lrp_op_slice,
    &lrp_op_softmax,
    &lrp_op_softplus,
    &lrp_op_softsign,
    &lrp_op_split,
    &lrp_op_sqrt,
    &lrp_op_squeeze,
    &lrp_op_sub,
    &lrp_op_sum,
    &lrp_op_tanh,
    &lrp_op_tile,
    &lrp_op_transpose,
    &lrp_op_unsqueeze,
    &lrp_op_upsample,
    &lrp_op_where,
};

#define N_OPS ((int)(sizeof registry / sizeof *registry))

const lrp_op *lrp_op_find(const char *type)
{
    for (int i = 0; i < N_OPS; i++)
        if (!strcmp(registry[i]->type, type))
            return registry[i];
    return NULL;
}

int lrp_op_count(void) { return N_OPS; }

const lrp_op *lrp_op_at(int i) { return i >= 0 && i < N_OPS ? registry[i] : NULL; }
