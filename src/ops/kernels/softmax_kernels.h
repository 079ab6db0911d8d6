/* Softmax and LogSoftmax over groups of L elements at stride `inner`: the
 * tensor is viewed as (outer, L, inner). Before opset 13 the input is coerced
 * to 2-D at `axis` (default 1): outer = prod(dims[:axis]), L = the rest,
 * inner = 1. From opset 13 the op runs along `axis` (default -1). */
#ifndef LRP_SOFTMAX_KERNELS_H
#define LRP_SOFTMAX_KERNELS_H

#include "ops/op.h"

typedef struct lrp_softmax_state {
    int64_t axis;
    int coerce_2d; /* opset < 13 */
} lrp_softmax_state;

lrp_status lrp_softmax_init(lrp_graph *g, lrp_node *n, lrp_error *err);
lrp_status lrp_softmax_infer(lrp_graph *g, lrp_node *n, lrp_error *err);

/* The (outer, L, inner) view of a tensor of the node's input shape. */
void lrp_softmax_view(const lrp_node *n, const lrp_tensor *x, int64_t *outer, int64_t *L, int64_t *inner);

/* y = softmax(x) or, with logsm set, log(softmax(x)). */
void lrp_softmax_fwd(int64_t outer, int64_t L, int64_t inner, const lrp_real *x, lrp_real *y, int logsm);
/* gx += y * (g - sum(g * y)) (softmax), or g - exp(y) * sum(g) (log). */
void lrp_softmax_bwd(int64_t outer, int64_t L, int64_t inner, const lrp_real *y, const lrp_real *g, lrp_real *gx,
                     int logsm);

#endif
