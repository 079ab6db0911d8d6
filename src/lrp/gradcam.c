/* Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay et al. 2018)
 * at one layer, as ../shared/refset-layers/README.md §3 defines them: A =
 * the layer's output (N, K, h, w), g = dA of the target logit (its gradient
 * under the explainer's composite: the plain gradient with "gradient"),
 * raw = sum_k w_k A_k with w_k = mean g_k (Grad-CAM) or sum max(g, 0) alpha
 * (Grad-CAM++, pytorch-grad-cam's closed form). pytorch-grad-cam's output
 * is ReLU'd, min-max scaled, resized to the input (bilinear, half-pixel) and
 * scaled again; Captum's is raw. One forward pass keeps the layer's output;
 * the reverse sweep stops once the layer's gradient is complete. */
#include "lrp/gradcam.h"

#include "base/error.h"
#include "base/tensor.h"
#include "engine/backward.h"
#include "engine/forward.h"
#include "engine/model.h"
#include "graph/shape_infer.h"
#include "lrp/explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool spatial_4d(const lrp_value *v) { return v->shape_known && v->ndim == 4; }

/* The layer's node: by node name, else by output value name; NULL name: the
 * last Conv with a 4-D output, or the last node after it whose output has the same shape. */
static int find_layer(const lrp_graph *g, const char *name, lrp_error *err)
{
    if (name) {
        for (int k = 0; k < g->n_order; k++) {
            const lrp_node *n = &g->nodes[g->order[k]];
            if (n->name && !strcmp(n->name, name))
                return g->order[k];
        }
        int v = lrp_graph_find_value(g, name);
        if (v >= 0 && g->values[v].producer >= 0 && !g->nodes[g->values[v].producer].removed &&
            g->nodes[g->values[v].producer].outputs[0] == v)
            return g->values[v].producer;
        /* folded away by a canonizer (a BatchNormalization into its Conv): say so */
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i].removed && g->nodes[i].name && !strcmp(g->nodes[i].name, name))
                return lrp_fail(err, LRP_ERR_ARG,
                                "--layer %s: the canonizers removed this node (a BatchNormalization folded into the "
                                "layer before it is that layer's output: name the layer)",
                                name),
                       -1;
        lrp_fail(err, LRP_ERR_ARG, "--layer %s: no node or value of that name in %s (lrp inspect lists the nodes)",
                 name, g->path);
        return -1;
    }
    int conv = -1, at = -1;
    for (int k = 0; k < g->n_order; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        if (!strcmp(n->op_type, "Conv") && n->outputs[0] >= 0 && spatial_4d(&g->values[n->outputs[0]]) &&
            !lrp_node_is_static(g, n)) {
            conv = g->order[k];
            at = k;
        }
    }
    if (conv < 0) {
        lrp_fail(err, LRP_ERR_UNSUPPORTED, "grad-cam: %s has no convolution with a 4-D output; name one with --layer",
                 g->path);
        return -1;
    }
    /* the last node after it with its output's shape: its activation, the block's residual Add and the ReLU after
     * it (ResNet, ConvNeXt), but not a pooling */
    const lrp_value *cv = &g->values[g->nodes[conv].outputs[0]];
    for (int k = at + 1; k < g->n_order; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        if (n->outputs[0] < 0 || lrp_node_is_static(g, n) || !spatial_4d(&g->values[n->outputs[0]]))
            continue;
        const lrp_value *v = &g->values[n->outputs[0]];
        if (lrp_dims_equal(v->ndim, v->dims, cv->ndim, cv->dims))
            conv = g->order[k];
    }
    return conv;
}

void lrp_cam_resize(const double *src, int h, int w, double *dst, int H, int W)
{
    double sy = (double)h / H, sx = (double)w / W;
    for (int y = 0; y < H; y++) {
        double fy = (y + 0.5) * sy - 0.5;
        if (fy < 0)
            fy = 0;
        int y0 = (int)fy, y1 = y0 < h - 1 ? y0 + 1 : y0;
        double ly = fy - y0;
        for (int x = 0; x < W; x++) {
            double fx = (x + 0.5) * sx - 0.5;
            if (fx < 0)
                fx = 0;
            int x0 = (int)fx, x1 = x0 < w - 1 ? x0 + 1 : x0;
            double lx = fx - x0;
            double top = (1 - lx) * src[y0 * w + x0] + lx * src[y0 * w + x1];
            double bot = (1 - lx) * src[y1 * w + x0] + lx * src[y1 * w + x1];
            dst[(int64_t)y * W + x] = (1 - ly) * top + ly * bot;
        }
    }
}

/* pytorch-grad-cam's scale_cam_image: max(., 0), minus the min, over
 * (1e-7 + max). */
static void relu_minmax(double *c, int64_t n)
{
    double mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (c[i] < 0)
            c[i] = 0;
        mn = c[i] < mn ? c[i] : mn;
    }
    for (int64_t i = 0; i < n; i++) {
        c[i] -= mn;
        mx = c[i] > mx ? c[i] : mx;
    }
    for (int64_t i = 0; i < n; i++)
        c[i] /= 1e-7 + mx;
}

/* The reverse sweep's work and its observer: the layer's gradient is taken
 * when the sweep reaches the layer, then the sweep stops. */
typedef struct cam_sweep {
    lrp_explainer *e;
    lrp_weight_cache *caches;
    int layer;
    lrp_tensor *grad;
    bool done;
} cam_sweep;

static lrp_status cam_apply(void *ctx, const lrp_backward_step *s, lrp_error *err)
{
    cam_sweep *c = ctx;
    if (s->node == c->layer) { /* all its consumers have sent their part: the gradient is complete */
        if (!(c->grad = lrp_tensor_clone(s->R, err)))
            return err ? err->status : LRP_ERR_NOMEM;
        c->done = true;
        return LRP_ERR_INTERNAL; /* stops the sweep; not an error */
    }
    const lrp_rule_call call = {
        s->g, s->n, lrp_explainer_rule(c->e, s->node), &c->caches[s->node], s->in, s->out, s->R, s->gin, 0, NULL};
    return lrp_rule_apply(&call, err);
}

/* The map of sample b from A and g (NCHW, or NHWC with nhwc). */
static void cam_sample(const lrp_attributor_options *o, const lrp_real *A, const lrp_real *G, int64_t K, int64_t h,
                       int64_t w, bool nhwc, int H, int W, double *raw, double *big, lrp_real *out)
{
    int64_t hw = h * w;
    int64_t sk = nhwc ? 1 : hw, sp = nhwc ? K : 1; /* strides of channel and position */
    for (int64_t p = 0; p < hw; p++)
        raw[p] = 0;
    for (int64_t k = 0; k < K; k++) {
        double wk = 0;
        if (o->kind == LRP_ATTRIBUTOR_GRAD_CAM) {
            for (int64_t p = 0; p < hw; p++)
                wk += G[k * sk + p * sp];
            wk /= (double)hw;
        } else {
            double sa = 0;
            for (int64_t p = 0; p < hw; p++)
                sa += A[k * sk + p * sp];
            for (int64_t p = 0; p < hw; p++) {
                double g = G[k * sk + p * sp];
                if (g == 0)
                    continue;
                double g2 = g * g, g3 = g2 * g;
                double alpha = g2 / (2 * g2 + sa * g3 + 1e-6);
                wk += (g > 0 ? g : 0) * alpha;
            }
        }
        for (int64_t p = 0; p < hw; p++)
            raw[p] += wk * A[k * sk + p * sp];
    }
    if (o->cam_convention == LRP_CAM_CAPTUM) {
        for (int64_t p = 0; p < hw; p++)
            out[p] = (lrp_real)raw[p];
        return;
    }
    relu_minmax(raw, hw);
    lrp_cam_resize(raw, (int)h, (int)w, big, H, W);
    relu_minmax(big, (int64_t)H * W);
    for (int64_t p = 0; p < (int64_t)H * W; p++)
        out[p] = (lrp_real)big[p];
}

/* The layer's node index, checked: a 4-D output (-1 and err otherwise). */
static int checked_layer(const lrp_graph *g, const char *name, lrp_error *err)
{
    int layer = find_layer(g, name, err);
    if (layer < 0)
        return -1;
    const lrp_node *ln = &g->nodes[layer];
    const lrp_value *lval = &g->values[ln->outputs[0]];
    if (lrp_node_is_static(g, ln) || !spatial_4d(lval)) {
        char lb[64];
        lrp_fail(err, LRP_ERR_ARG, "--layer %s: grad-cam needs a layer with a 4-D output (N, C, h, w); this one is %s",
                 lrp_node_label(g, ln, lb, sizeof lb),
                 lrp_node_is_static(g, ln) ? "a constant"
                                           : lrp_shape_str(lval->ndim, lval->dims, (char[128]){0}, 128));
        return -1;
    }
    return layer;
}

lrp_status lrp_attributor_check(lrp_explainer *e, const lrp_attributor_options *o, lrp_error *err)
{
    if (!o || (o->kind != LRP_ATTRIBUTOR_GRAD_CAM && o->kind != LRP_ATTRIBUTOR_GRAD_CAM_PP))
        return LRP_OK;
    lrp_model *m = lrp_explainer_model(e);
    if (!lrp_model_is_prepared(m))
        return LRP_OK;
    return checked_layer(m->g, o->layer, err) < 0 ? (err ? err->status : LRP_ERR_ARG) : LRP_OK;
}

lrp_status lrp_gradcam_attribute(lrp_explainer *e, const lrp_attributor_options *o, const lrp_tensor *input,
                                 const int64_t *targets, lrp_tensor **map, lrp_tensor **logits_out,
                                 int64_t *targets_out, lrp_error *err)
{
    *map = NULL;
    if (logits_out)
        *logits_out = NULL;
    lrp_model *m = lrp_explainer_model(e);
    lrp_tensor *x = NULL, *act = NULL, *logits = NULL, *res = NULL;
    lrp_tensor **vals = NULL, **rel = NULL;
    unsigned char *keep = NULL, *exact = NULL;
    double *raw = NULL, *big = NULL;
    cam_sweep c = {e, NULL, -1, NULL, false};
    lrp_status st = lrp_model_conform_input(m, input, &x, err);
    if (st != LRP_OK)
        return st;
    const lrp_graph *g = m->g;
    if ((st = lrp_model_prepare(m, x->ndim, x->dims, err)) != LRP_OK || (st = lrp_explainer_assign(e, err)) != LRP_OK)
        goto done;
    if ((c.layer = checked_layer(g, o->layer, err)) < 0) {
        st = err ? err->status : LRP_ERR_ARG;
        goto done;
    }
    const lrp_node *ln = &g->nodes[c.layer];
    int lv = ln->outputs[0];
    const lrp_value *lval = &g->values[lv];
    char lb[64];
    bool nhwc = m->info.layout == LRP_LAYOUT_NHWC;
    int64_t N = x->dims[0];
    int64_t K = nhwc ? lval->dims[3] : lval->dims[1], h = nhwc ? lval->dims[1] : lval->dims[2],
            w = nhwc ? lval->dims[2] : lval->dims[3];
    int H = 0, W = 0;
    if (o->cam_convention == LRP_CAM_PYTORCH_GRAD_CAM) {
        if (x->ndim != 4) {
            st = lrp_fail(err, LRP_ERR_UNSUPPORTED, "grad-cam resizes to the input's size: it needs an image input");
            goto done;
        }
        H = (int)(nhwc ? x->dims[1] : x->dims[2]);
        W = (int)(nhwc ? x->dims[2] : x->dims[3]);
    }
    /* the forward pass: what the gradient rules need, and the layer's output */
    keep = calloc((size_t)g->n_values + 1, 1);
    exact = calloc((size_t)g->n_nodes + 1, 1);
    vals = calloc((size_t)g->n_values, sizeof *vals);
    rel = calloc((size_t)g->n_values, sizeof *rel);
    c.caches = calloc((size_t)g->n_nodes + 1, sizeof *c.caches);
    raw = malloc(sizeof(double) * (size_t)(h * w + 1));
    big = malloc(sizeof(double) * (size_t)((int64_t)H * W + 1));
    if (!keep || !exact || !vals || !rel || !c.caches || !raw || !big) {
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < g->n_order; k++) {
        int ni = g->order[k];
        const lrp_node *n = &g->nodes[ni];
        unsigned kf = lrp_rule_keep(n, lrp_explainer_rule(e, ni));
        if (kf & LRP_KEEP_INPUTS)
            for (int i = 0; i < n->n_inputs; i++)
                if (n->inputs[i] >= 0 && !g->values[n->inputs[i]].constant)
                    keep[n->inputs[i]] = 1;
        if ((kf & LRP_KEEP_OUTPUT) && n->outputs[0] >= 0)
            keep[n->outputs[0]] = 1;
    }
    keep[lv] = 1;
    /* as the explainer does: what feeds a decision of the sweep accumulates in double */
    for (int k = g->n_order - 1; k >= 0; k--) {
        int ni = g->order[k];
        const lrp_node *n = &g->nodes[ni];
        const lrp_rule *r = lrp_explainer_rule(e, ni);
        if (lrp_rule_decides(n, r) || lrp_rule_divides(n, r))
            exact[ni] = 1;
        for (int i = 0; exact[ni] && i < n->n_inputs; i++)
            if (n->inputs[i] >= 0 && g->values[n->inputs[i]].producer >= 0)
                exact[g->values[n->inputs[i]].producer] = 1;
    }
    const lrp_tensor *ins[1] = {x};
    if ((st = lrp_forward_ex(g, ins, keep, exact, vals, err)) != LRP_OK)
        goto done;
    if (lrp_find_nonfinite(vals[m->output]) >= 0) {
        lrp_vals_clear(g, vals);
        st = lrp_model_nonfinite(m, ins, exact, err);
        goto done;
    }
    if (!(act = lrp_tensor_clone(vals[lv], err))) {
        st = err ? err->status : LRP_ERR_NOMEM;
        goto done;
    }
    /* the logits and the seed: 1 at the target (the gradient of its logit) */
    const lrp_tensor *y = vals[m->output];
    int64_t C = N ? y->numel / N : 0, ldims[2] = {N, C};
    if (!(logits = lrp_tensor_new(LRP_REAL_DT, 2, ldims, err)) || !(rel[m->output] = lrp_tensor_like(y, err))) {
        st = err ? err->status : LRP_ERR_NOMEM;
        goto done;
    }
    memcpy(logits->data, y->data, sizeof(lrp_real) * (size_t)y->numel);
    for (int64_t b = 0; b < N; b++) {
        int64_t t = 0;
        if ((st = lrp_target_class(lrp_reals(logits) + b * C, C, targets ? targets[b] : -1, &t, err)) != LRP_OK)
            goto done;
        if (targets_out)
            targets_out[b] = t;
        lrp_reals(rel[m->output])[b * C + t] = 1.0f;
    }
    if (m->output == lv) {
        c.grad = lrp_tensor_clone(rel[lv], err);
        c.done = c.grad != NULL;
    } else {
        lrp_backward b = {.apply = cam_apply, .ctx = &c};
        st = lrp_backward_run(g, vals, rel, &b, N, err);
        if (c.done) {
            st = LRP_OK;
            lrp_error_clear(err);
        }
        if (st != LRP_OK)
            goto done;
    }
    if (!c.grad && !(c.grad = lrp_tensor_like(act, err))) { /* no gradient reaches the layer: zero */
        st = err ? err->status : LRP_ERR_NOMEM;
        goto done;
    }
    int64_t rdims[4] = {N, 1, h, w};
    if (o->cam_convention == LRP_CAM_PYTORCH_GRAD_CAM) {
        rdims[1] = H;
        rdims[2] = W;
    }
    if (!(res = lrp_tensor_new(LRP_REAL_DT, o->cam_convention == LRP_CAM_CAPTUM ? 4 : 3, rdims, err))) {
        st = err ? err->status : LRP_ERR_NOMEM;
        goto done;
    }
    int64_t per_in = K * h * w, per_out = N ? res->numel / N : 0;
    for (int64_t b = 0; b < N; b++)
        cam_sample(o, lrp_reals(act) + b * per_in, lrp_reals(c.grad) + b * per_in, K, h, w, nhwc, H, W, raw, big,
                   lrp_reals(res) + b * per_out);
    if (lrp_find_nonfinite(res) >= 0) {
        st = lrp_fail(err, LRP_ERR_NUMERIC, "the %s map at %s is not finite", lrp_attributor_name(o->kind),
                      lrp_node_label(g, ln, lb, sizeof lb));
        goto done;
    }
    *map = res;
    res = NULL;
    if (logits_out) {
        *logits_out = logits;
        logits = NULL;
    }
done:
    if (vals)
        lrp_vals_clear(g, vals);
    if (rel)
        lrp_vals_clear(g, rel);
    if (c.caches)
        for (int i = 0; i < g->n_nodes; i++)
            lrp_weight_cache_clear(&c.caches[i]);
    free(c.caches);
    free(vals);
    free(rel);
    free(keep);
    free(exact);
    free(raw);
    free(big);
    lrp_tensor_free(c.grad);
    lrp_tensor_free(act);
    lrp_tensor_free(logits);
    lrp_tensor_free(res);
    lrp_tensor_free(x);
    return st;
}
