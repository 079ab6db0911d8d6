/* ConvTranspose: 1-D and 2-D transposed convolution with groups, strides,
 * dilations, pads, output_padding, output_shape and auto_pad. It is the
 * transpose of the convolution whose input has the ConvTranspose's output
 * shape, so the conv kernels serve both ways: forward = convᵀ, gradient =
 * conv. A zennit Convolution when its weight and bias are constant. */
#include "ops/conv_attrs.h"
#include "ops/kernels/conv_kernels.h"
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    lrp_window win;
    int64_t group;
    int64_t out_pad[2];
    int n_out_shape;
    int64_t out_shape[LRP_MAX_DIMS];
    lrp_conv_geom geom; /* the convolution this is the transpose of */
} convt_state;

static lrp_status convt_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    convt_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    lrp_status st = lrp_conv_attrs_parse(n, &s->win, &s->group, err);
    if (st != LRP_OK)
        return st;
    const int64_t *v;
    int c = lrp_attr_ints(n, "output_padding", &v);
    if (c > 2)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "output_padding has %d entries: only 1-D and 2-D", c);
    for (int i = 0; i < c; i++) {
        if (v[i] < 0 || v[i] > (1 << 20))
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "output_padding[%d] = %lld is out of range", i,
                                 (long long)v[i]);
        s->out_pad[i] = v[i];
    }
    c = lrp_attr_ints(n, "output_shape", &v);
    if (c > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "output_shape has %d entries", c);
    s->n_out_shape = c < 0 ? 0 : c;
    for (int i = 0; i < s->n_out_shape; i++) {
        if (v[i] < 0 || v[i] > LRP_MAX_ELEMENTS)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "output_shape[%d] = %lld is out of range", i,
                                 (long long)v[i]);
        s->out_shape[i] = v[i];
    }
    return LRP_OK;
}

static lrp_status convt_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    convt_state *s = n->state;
    lrp_window *w = &s->win;
    const lrp_value *x = lrp_node_in(g, n, 0), *wt = lrp_node_in(g, n, 1), *b = lrp_node_in(g, n, 2);
    char s1[160], s2[160];
    if (x->dtype != LRP_REAL_DT || wt->dtype != LRP_REAL_DT || (b && b->dtype != LRP_REAL_DT))
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    if (x->ndim < 3 || x->ndim > 4 || wt->ndim != x->ndim)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                             "input of rank %d and weight of rank %d: only 1-D and 2-D transposed convolutions are "
                             "supported",
                             x->ndim, wt->ndim);
    const int nsp = x->ndim - 2;
    const int64_t C = x->dims[1], G = s->group, M = wt->dims[1] * G;
    if (wt->dims[0] != C || C % G)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE,
                             "input %s and weight %s: the weight must have %lld rows, "
                             "divisible by group %lld",
                             lrp_shape_str(x->ndim, x->dims, s1, sizeof s1),
                             lrp_shape_str(wt->ndim, wt->dims, s2, sizeof s2), (long long)C, (long long)G);
    if (b && (b->ndim != 1 || b->dims[0] != M))
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "bias must have %lld entries", (long long)M);
    if (w->nsp && w->nsp != nsp)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "attributes describe a %d-D window but the input is %d-D", w->nsp,
                             nsp);
    w->nsp = nsp;
    if (s->n_out_shape && s->n_out_shape != nsp && s->n_out_shape != nsp + 2)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "output_shape has %d entries for %d spatial dims", s->n_out_shape,
                             nsp);
    int64_t out[2];
    for (int i = 0; i < nsp; i++) {
        if (w->kernel[i] && w->kernel[i] != wt->dims[2 + i])
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "kernel_shape disagrees with the weight");
        w->kernel[i] = wt->dims[2 + i];
        const int64_t in = x->dims[2 + i], st = w->stride[i], span = w->dilation[i] * (w->kernel[i] - 1) + 1;
        const int64_t natural = st * (in - 1) + s->out_pad[i] + span;
        if (s->n_out_shape || w->auto_pad == LRP_PAD_SAME_UPPER || w->auto_pad == LRP_PAD_SAME_LOWER) {
            int64_t want = s->n_out_shape ? s->out_shape[s->n_out_shape - nsp + i] : in * st;
            int64_t total = natural - want;
            if (total < 0)
                total = 0; /* a larger output: the extra positions get the bias only */
            if (w->auto_pad == LRP_PAD_SAME_UPPER) {
                w->pad_begin[i] = total / 2;
                w->pad_end[i] = total - total / 2;
            } else {
                w->pad_begin[i] = total - total / 2;
                w->pad_end[i] = total / 2;
            }
            out[i] = want;
        } else {
            if (w->auto_pad == LRP_PAD_VALID)
                w->pad_begin[i] = w->pad_end[i] = 0;
            out[i] = natural - w->pad_begin[i] - w->pad_end[i];
        }
        if (out[i] <= 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the output would be empty (pads larger than the output)");
    }
    lrp_conv_geom *gm = &s->geom;
    gm->N = x->dims[0];
    gm->C = M;
    gm->M = C;
    gm->group = G;
    lrp_conv_geom_window(gm, w, nsp, out, x->dims + 2);
    int64_t dims[4] = {x->dims[0], M, out[0], nsp == 2 ? out[1] : 0};
    lrp_set_output(g, n, 0, LRP_REAL_DT, x->ndim, dims);
    return LRP_OK;
}

static lrp_status convt_apply(const lrp_node *n, const lrp_tensor *x, const lrp_real *W, const lrp_real *b,
                              lrp_tensor *y, lrp_error *err)
{
    const convt_state *s = n->state;
    lrp_conv_geom gm = s->geom;
    gm.N = x->dims[0];
    lrp_real *yd = lrp_reals(y);
    const int64_t P = gm.H * gm.W;
    for (int64_t i = 0; i < gm.N * gm.C; i++) {
        lrp_real v = b ? b[i % gm.C] : 0.0f;
        for (int64_t p = 0; p < P; p++)
            yd[i * P + p] = v;
    }
    return lrp_conv2d_t(&gm, lrp_reals(x), W, yd, err);
}

/* gx += conv(g; W), through a temporary (the conv kernel overwrites). */
static lrp_status convt_apply_t(const lrp_node *n, const lrp_tensor *gy, const lrp_real *W, lrp_tensor *gx,
                                lrp_error *err)
{
    const convt_state *s = n->state;
    lrp_conv_geom gm = s->geom;
    gm.N = gy->dims[0];
    lrp_real *tmp = malloc(sizeof(lrp_real) * (size_t)(gx->numel ? gx->numel : 1));
    if (!tmp)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    lrp_status st = lrp_conv2d(&gm, lrp_reals(gy), W, NULL, tmp, err);
    if (st == LRP_OK)
        lrp_add_to(lrp_reals(gx), tmp, gx->numel);
    free(tmp);
    return st;
}

static lrp_status convt_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_tensor *b = n->n_inputs > 2 ? in[2] : NULL;
    return convt_apply(n, in[0], lrp_reals(in[1]), b ? lrp_reals(b) : NULL, out[0], err);
}

static lrp_status convt_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                 const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (gin[1] || (n->n_inputs > 2 && gin[2]))
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "gradients with respect to a non-constant weight");
    if (!gin[0])
        return LRP_OK;
    if (!in[1])
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks the weight");
    return convt_apply_t(n, gout, lrp_reals(in[1]), gin[0], err);
}

static lrp_group convt_group(const lrp_graph *g, const lrp_node *n)
{
    const lrp_value *w = lrp_node_in(g, n, 1), *b = lrp_node_in(g, n, 2);
    return (w && w->constant && (!b || b->constant)) ? LRP_GROUP_CONVT : LRP_GROUP_OTHER;
}

static int convt_out_dim(const lrp_node *n) { return ((const convt_state *)n->state)->group == 1 ? 1 : -1; }

static const lrp_linear convt_linear = {convt_apply, convt_apply_t, 1, 2, convt_out_dim, NULL, NULL};

const lrp_op lrp_op_convtranspose = {
    .type = "ConvTranspose",
    .min_inputs = 2,
    .max_inputs = 3,
    .init = convt_init,
    .destroy = free,
    .infer = convt_infer,
    .forward = convt_forward,
    .backward = convt_backward,
    .keep = 0,
    .group = convt_group,
    .linear = &convt_linear,
};
