/* Helpers shared by the elementwise and shape operators: same-shape shape
 * inference, copies, reading constant integer inputs and axes. */
#ifndef LRP_ELTWISE_KERNELS_H
#define LRP_ELTWISE_KERNELS_H

#include "ops/op.h"
#include "base/tensor.h"

#include <stdbool.h>

/* Output 0 gets input 0's dtype and shape. Float only unless allow_int. */
lrp_status lrp_infer_same(lrp_graph *g, lrp_node *n, bool allow_int, lrp_error *err);

/* out[0] = in[0] (any dtype, same element count): Identity, Reshape, Flatten,
 * Squeeze, Unsqueeze, Dropout. */
lrp_status lrp_copy_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err);
/* gin[0] += gout. */
lrp_status lrp_copy_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                             const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err);

/* dst[i] += src[i] over n floats. */
void lrp_add_to(lrp_real *dst, const lrp_real *src, int64_t n);

/* True when the model declares v with an integer type narrower than int32
 * or unsigned (uint8, int8, uint16, int16, uint32, uint64): lrp holds
 * integers as int64, so their wraparound cannot be reproduced. */
bool lrp_value_narrow_int(const lrp_value *v);

/* Refuses (LRP_ERR_UNSUPPORTED) when an input or output 0 of n is declared
 * with a narrow integer type (see lrp_value_narrow_int). */
lrp_status lrp_refuse_narrow_ints(const lrp_graph *g, const lrp_node *n, lrp_error *err);

/* The elements of an integer input that must be constant (shapes, axes,
 * pads...). Fails (LRP_ERR_UNSUPPORTED) when it is not constant, and
 * (LRP_ERR_FORMAT) when it is not int64 or has rank > 1. *count gets the
 * number of elements; *vals points into the constant. */
lrp_status lrp_const_ints(const lrp_graph *g, const lrp_node *n, int i, const char *what, const int64_t **vals,
                          int *count, lrp_error *err);

/* Normalizes and validates a list of axes against rank r into out (sorted
 * ascending when sort is set), refusing duplicates and out-of-range values. */
lrp_status lrp_norm_axes(const lrp_node *n, const int64_t *axes, int count, int r, bool sort, int *out,
                         lrp_error *err);

/* gx[i] += g[i] where lo < x[i] < hi (Clip), where y[i] > 0 (ReLU); gx[i]
 * unchanged elsewhere (vectorized selects, the bits of the branch). */
void lrp_add_where_inside(lrp_real *gx, const lrp_real *g, const lrp_real *x, lrp_real lo, lrp_real hi, int64_t n);
void lrp_add_where_positive(lrp_real *gx, const lrp_real *g, const lrp_real *y, int64_t n);
/* y[i] = min(max(x[i], lo), hi) as Clip writes it (x < lo ? lo : x, then > hi ? hi), in vectors; y may be x. */
void lrp_clip_values(lrp_real *y, const lrp_real *x, lrp_real lo, lrp_real hi, int64_t n);

/* Below this many elements our loops stay single-threaded. */
#ifndef LRP_PAR_MIN
#define LRP_PAR_MIN 65536
#endif

/* Runs the body (which may use the index i) for i in [0, N), in parallel when
 * N is large. Every element is computed on its own, so results do not depend
 * on the thread count. */
#define LRP_MAP(N, ...)                                                                                               \
    do {                                                                                                              \
        const int64_t lrp_par_n = (N);                                                                                \
        _Pragma("omp parallel for schedule(static) num_threads(lrp_num_threads) if (lrp_par_n > LRP_PAR_MIN)") for (  \
            int64_t i = 0; i < lrp_par_n; i++)                                                                        \
        {                                                                                                             \
            __VA_ARGS__;                                                                                              \
        }                                                                                                             \
    } while (0)

/* Defines NAME, an elementwise op's lrp_op.second: gx += g ⊙ u ⊙ f''(x), the
 * expression F2 of x[i] (the input) and y[i] (the output). */
#define LRP_SECOND(NAME, F2)                                                                                          \
    static lrp_status NAME(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,                     \
                           const lrp_tensor *g, const lrp_tensor *u, lrp_tensor *gx, lrp_error *err)                  \
    {                                                                                                                 \
        const lrp_real *x = lrp_reals(in[0]), *y = lrp_reals(out), *gg = lrp_reals(g), *uu = lrp_reals(u);            \
        lrp_real *d = lrp_reals(gx);                                                                                  \
        (void)x;                                                                                                      \
        (void)y;                                                                                                      \
        LRP_MAP(g->numel, d[i] += gg[i] * uu[i] * (F2));                                                              \
        return LRP_OK;                                                                                                \
    }

/* Float attributes of a parametrised activation (LeakyRelu alpha, Elu alpha,
 * Selu alpha and gamma, HardSigmoid alpha and beta). */
typedef struct lrp_act_params {
    lrp_real alpha, beta;
} lrp_act_params;

/* Reads attribute a (default da) into alpha and b (default db; NULL: none)
 * into beta; refuses non-finite values. */
lrp_status lrp_act_params_init(lrp_node *n, const char *a, lrp_real da, const char *b, lrp_real db, lrp_error *err);

/* Group function of the elementwise activations (LRP_GROUP_ACTIVATION). */
lrp_group lrp_group_activation(const lrp_graph *g, const lrp_node *n);

/* Infer function of float-only elementwise ops. */
lrp_status lrp_infer_same_float(lrp_graph *g, lrp_node *n, lrp_error *err);
/* Infer function of elementwise ops on float or int64. */
lrp_status lrp_infer_same_any(lrp_graph *g, lrp_node *n, lrp_error *err);

/* Scalar float value of a (constant or runtime) tensor with one element. */
lrp_real lrp_scalar_f(const lrp_tensor *t);

#endif
