/* Conv: 1-D and 2-D convolution with groups (incl. depthwise), strides,
 * dilations, pads and auto_pad. A zennit Convolution when its weight is
 * constant. */
#include "ops/conv_attrs.h"
#include "ops/kernels/conv_kernels.h"
#include "ops/op.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    lrp_window win;
    int64_t group;
    lrp_conv_geom geom; /* for the current input shape */
} conv_state;

static void conv_destroy(void *p) { free(p); }

static lrp_status conv_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    conv_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    return lrp_conv_attrs_parse(n, &s->win, &s->group, err);
}

static lrp_status conv_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    conv_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0), *w = lrp_node_in(g, n, 1), *b = lrp_node_in(g, n, 2);
    if (x->dtype != LRP_REAL_DT || w->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    if (x->ndim < 3 || x->ndim > 4 || w->ndim != x->ndim)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                             "input of rank %d and weight of rank %d: only 1-D and 2-D convolutions are supported",
                             x->ndim, w->ndim);
    int nsp = x->ndim - 2;
    int64_t C = x->dims[1], M = w->dims[0];
    if (s->group < 1 || C % s->group || M % s->group || w->dims[1] * s->group != C)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "input has %lld channels, weight expects %lld x group %lld",
                             (long long)C, (long long)w->dims[1], (long long)s->group);
    if (b && (b->ndim != 1 || b->dims[0] != M))
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "bias must have %lld entries", (long long)M);
    for (int i = 0; i < nsp; i++) {
        if (s->win.kernel[i] && s->win.kernel[i] != w->dims[2 + i])
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "kernel_shape disagrees with the weight");
        s->win.kernel[i] = w->dims[2 + i];
    }
    int64_t out[2];
    lrp_status st = lrp_window_resolve(n, &s->win, nsp, x->dims + 2, 0, out, err);
    if (st != LRP_OK)
        return st;
    lrp_conv_geom *gm = &s->geom;
    gm->N = x->dims[0];
    gm->C = C;
    gm->M = M;
    gm->group = s->group;
    lrp_conv_geom_window(gm, &s->win, nsp, x->dims + 2, out);
    if (gm->OH <= 0 || gm->OW <= 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the output would be empty");
    int64_t dims[4] = {gm->N, M, nsp == 1 ? out[0] : out[0], nsp == 2 ? out[1] : 0};
    lrp_set_output(g, n, 0, LRP_REAL_DT, x->ndim, dims);
    return LRP_OK;
}

static lrp_status conv_apply(const lrp_node *n, const lrp_tensor *x, const lrp_real *W, const lrp_real *b,
                             lrp_tensor *y, lrp_error *err)
{
    const conv_state *s = n->state;
    lrp_conv_geom gm = s->geom;
    gm.N = x->dims[0];
    return lrp_conv2d(&gm, lrp_reals(x), W, b, lrp_reals(y), err);
}

static lrp_status conv_apply_t(const lrp_node *n, const lrp_tensor *gy, const lrp_real *W, lrp_tensor *gx,
                               lrp_error *err)
{
    const conv_state *s = n->state;
    lrp_conv_geom gm = s->geom;
    gm.N = gy->dims[0];
    return lrp_conv2d_t(&gm, lrp_reals(gy), W, lrp_reals(gx), err);
}

static lrp_status conv_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    /* in[] has n_inputs entries: a bias-less node has no in[2] */
    const lrp_tensor *b = n->n_inputs > 2 ? in[2] : NULL;
    if (!lrp_forward_exact())
        return conv_apply(n, in[0], lrp_reals(in[1]), b ? lrp_reals(b) : NULL, out[0], err);
    const conv_state *s = n->state;
    lrp_conv_geom gm = s->geom;
    gm.N = in[0]->dims[0];
    return lrp_conv2d_acc64(&gm, lrp_reals(in[0]), lrp_reals(in[1]), b ? lrp_reals(b) : NULL, lrp_reals(out[0]), err);
}

static lrp_status conv_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (gin[1] || (n->n_inputs > 2 && gin[2]))
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "gradients with respect to a non-constant weight");
    if (!gin[0])
        return LRP_OK;
    return conv_apply_t(n, gout, lrp_reals(in[1]), gin[0], err);
}

static lrp_group conv_group(const lrp_graph *g, const lrp_node *n)
{
    const lrp_value *w = lrp_node_in(g, n, 1), *b = lrp_node_in(g, n, 2);
    return (w && w->constant && (!b || b->constant)) ? LRP_GROUP_CONV : LRP_GROUP_OTHER;
}

static int conv_out_dim(const lrp_node *n) { return 0; }

/* Stacked products (the rules' weight pairs): for ungrouped convolutions that
 * unfold their input (im2col), with lrp's own GEMM, whose elements do not
 * depend on the number of rows. */
static bool conv_can_stack(const lrp_node *n)
{
    const lrp_conv_geom *g = &((const conv_state *)n->state)->geom;
    bool pointwise = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 &&
                     g->OH == g->H && g->OW == g->W;
    return g->group == 1 && !pointwise && !lrp_exec_ctx.openblas;
}

static lrp_status conv_apply_stacked(const lrp_node *n, const lrp_tensor *x, int stack, const lrp_real *W,
                                     const lrp_real *b, lrp_tensor *y, lrp_error *err)
{
    const conv_state *s = n->state;
    lrp_conv_geom gm = s->geom;
    const int64_t N = x->dims[0], M = gm.M, P = gm.OH * gm.OW, in = gm.C * gm.H * gm.W;
    gm.N = 1;
    gm.M = M * stack;
    if (N == 1)
        return lrp_conv2d(&gm, lrp_reals(x), W, b, lrp_reals(y), err);
    lrp_real *tmp = malloc(sizeof(lrp_real) * (size_t)(stack * M * P > 0 ? stack * M * P : 1));
    if (!tmp)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a stacked convolution");
    lrp_status st = LRP_OK;
    for (int64_t i = 0; i < N && st == LRP_OK; i++) {
        st = lrp_conv2d(&gm, lrp_reals(x) + i * in, W, b, tmp, err);
        for (int k = 0; k < stack && st == LRP_OK; k++)
            memcpy(lrp_reals(y) + (k * N + i) * M * P, tmp + k * M * P, sizeof(lrp_real) * (size_t)(M * P));
    }
    free(tmp);
    return st;
}

static const lrp_linear conv_linear = {conv_apply,     conv_apply_t,      1, 2, conv_out_dim,
                                       conv_can_stack, conv_apply_stacked};

const lrp_op lrp_op_conv = {
    .overwrites = 1,
    .type = "Conv",
    .min_inputs = 2,
    .max_inputs = 3,
    .init = conv_init,
    .destroy = conv_destroy,
    .infer = conv_infer,
    .forward = conv_forward,
    .backward = conv_backward,
    .keep = 0,
    .group = conv_group,
    .linear = &conv_linear,
};
