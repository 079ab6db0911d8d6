/* Max and average pooling over 1-D or 2-D windows (1-D with H = 1), with
 * strides, dilations, asymmetric pads and ceil_mode windows. Shared by
 * MaxPool and AveragePool. */
#ifndef LRP_POOL_KERNELS_H
#define LRP_POOL_KERNELS_H

#include "ops/conv_attrs.h"

typedef struct lrp_pool_geom {
    int64_t planes; /* N * C */
    int64_t H, W, OH, OW;
    int64_t kh, kw, sh, sw, dh, dw;
    int64_t ph, pw;   /* padding at the beginning */
    int64_t peh, pew; /* padding at the end */
} lrp_pool_geom;

/* Geometry of pooling x (N, C, spatial...) with the resolved window w and
 * output spatial size out. */
void lrp_pool_geom_set(lrp_pool_geom *pg, const lrp_window *w, int nsp, const int64_t *xdims, const int64_t *out);

/* y = max over each window (padding excluded); idx (may be NULL) gets the
 * position of the first maximum in row-major window order, as an offset in
 * its plane (-1 for a window without any input element). NaN wins, as in
 * PyTorch. Windows without any input element give the lowest float. */
void lrp_maxpool_fwd(const lrp_pool_geom *pg, const lrp_real *x, lrp_real *y, int64_t *idx);
/* gx += g routed to each window's first maximum. */
void lrp_maxpool_bwd(const lrp_pool_geom *pg, const lrp_real *x, const lrp_real *g, lrp_real *gx);

/* y = mean over each window. The divisor counts the window's taps inside the
 * input, or (count_include_pad) inside the padded input, so windows that
 * ceil_mode lets run past the end padding divide by their clipped size. */
void lrp_avgpool_fwd(const lrp_pool_geom *pg, int count_include_pad, const lrp_real *x, lrp_real *y);
/* gx += g / divisor for each tap inside the input. */
void lrp_avgpool_bwd(const lrp_pool_geom *pg, int count_include_pad, const lrp_real *g, lrp_real *gx);

/* Pooling attributes of MaxPool and AveragePool. */
typedef struct lrp_pool_state {
    lrp_window win;
    int ceil_mode, count_include_pad, storage_order;
    lrp_pool_geom geom; /* for the current input shape */
} lrp_pool_state;

/* Parses the attributes common to both pools (kernel_shape required). */
lrp_status lrp_pool_init(lrp_graph *g, lrp_node *n, lrp_error *err);
/* Checks the input, resolves the window and sets output 0 (and, for
 * MaxPool, the int64 Indices output 1 when present). */
lrp_status lrp_pool_infer(lrp_graph *g, lrp_node *n, lrp_error *err);

/* Shape inference of GlobalAveragePool and GlobalMaxPool: (N, C, ...) to
 * (N, C, 1, ...). */
lrp_status lrp_global_pool_infer(lrp_graph *g, lrp_node *n, lrp_error *err);

#endif
