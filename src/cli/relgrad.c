/* lrp explain --relevance-grad ones|self|target:T.npy|mask:M.png (relgrad.h). */
#include "cli/relgrad.h"

#include "cli/attribution.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* mask:M.png: u = M on every channel, the gradient of sum(M R), the relevance
 * inside the mask. M must have the input's height and width: R is (N, C, H, W)
 * or (N, H, W, C), told apart by which of dims 1..2 or 2..3 give M's size. */
static lrp_status mask_cotangent(void *ctx, const lrp_tensor *R, lrp_tensor *u, lrp_error *err)
{
    const cli_relgrad *rg = ctx;
    const int64_t H = rg->mask->height, W = rg->mask->width;
    bool nchw = R->ndim == 4 && R->dims[2] == H && R->dims[3] == W;
    bool nhwc = R->ndim == 4 && R->dims[1] == H && R->dims[2] == W;
    if (!nchw && !nhwc)
        return lrp_fail(err, LRP_ERR_SHAPE, "--relevance-grad mask: the mask is %lldx%lld, the input is not",
                        (long long)W, (long long)H);
    lrp_real *d = u->data;
    const int64_t C = nchw ? R->dims[1] : R->dims[3], HW = H * W, per = C * HW;
    for (int64_t i = 0; i < R->numel; i++) {
        int64_t j = i % per;
        d[i] = (lrp_real)rg->m[nchw ? j % HW : j / C];
    }
    return LRP_OK;
}

int cli_relgrad_open(const cli_args *a, const char *attributor, cli_relgrad *rg)
{
    memset(rg, 0, sizeof *rg);
    if (!a->relevance_grad) {
        if (a->relevance_grad_out || a->zennit_second_order) {
            cli_error("%s needs --relevance-grad",
                      a->relevance_grad_out ? "--relevance-grad-out" : "--zennit-second-order");
            return EXIT_USAGE;
        }
        return EXIT_OK;
    }
    const char *s = a->relevance_grad;
    if (!strcmp(s, "ones")) {
        rg->o.cotangent = LRP_COTANGENT_ONES;
    } else if (!strcmp(s, "self")) {
        rg->o.cotangent = LRP_COTANGENT_SELF;
    } else if (!strncmp(s, "target:", 7) && s[7]) {
        lrp_error err = {0};
        rg->o.cotangent = LRP_COTANGENT_TARGET;
        if (lrp_npy_read(s + 7, &rg->target, &err) != LRP_OK) {
            cli_error("--relevance-grad %s: %s", s, err.message);
            return EXIT_INPUT;
        }
        if (rg->target->dtype != LRP_REAL_DT) {
            cli_error("--relevance-grad %s: T must be a float .npy", s);
            cli_relgrad_close(rg);
            return EXIT_INPUT;
        }
        rg->o.target = rg->target;
    } else if (!strncmp(s, "mask:", 5) && s[5]) {
        lrp_error err = {0};
        if (lrp_png_read_rgb(s + 5, &rg->mask, &err) != LRP_OK) {
            cli_error("--relevance-grad %s: %s", s, err.message);
            return EXIT_INPUT;
        }
        int64_t n = (int64_t)rg->mask->width * rg->mask->height;
        if (!(rg->m = malloc(sizeof(double) * (size_t)(n ? n : 1)))) {
            cli_error("out of memory");
            cli_relgrad_close(rg);
            return EXIT_INTERNAL;
        }
        for (int64_t q = 0; q < n; q++) {
            const uint8_t *px = rg->mask->data + q * rg->mask->channels;
            double v = 0;
            for (int c = 0; c < rg->mask->channels; c++)
                v += px[c];
            rg->m[q] = v / (255.0 * rg->mask->channels);
        }
        rg->o.cotangent = LRP_COTANGENT_FN;
        rg->o.cotangent_fn = mask_cotangent;
        rg->o.ctx = rg;
    } else {
        cli_error("--relevance-grad %s: give ones, self, target:T.npy or mask:M.png", s);
        return EXIT_USAGE;
    }
    rg->ixg = attributor && !strcmp(attributor, "input-x-gradient");
    rg->copies = attributor && (!strcmp(attributor, "integrated-gradients") || !strcmp(attributor, "smoothgrad"));
    if (attributor && strcmp(attributor, "gradient") && !rg->ixg && !rg->copies) {
        cli_error("--relevance-grad: the second order is computed for the composite alone (attributor gradient), "
                  "input-x-gradient, integrated-gradients and smoothgrad, not for %s",
                  attributor);
        cli_relgrad_close(rg);
        return EXIT_USAGE;
    }
    if (rg->copies) {
        attribution_config c;
        int rc = attribution_config_from_args(a, &c);
        if (rc != EXIT_OK) {
            cli_relgrad_close(rg);
            return rc;
        }
        rg->attr = c.o;
        lrp_error err = {0};
        if (c.baseline && strcmp(c.baseline, "zero") && lrp_npy_read(c.baseline, &rg->baseline, &err) != LRP_OK) {
            cli_error("--baseline: %s", err.message);
            cli_relgrad_close(rg);
            return EXIT_INPUT;
        }
        rg->attr.baseline = rg->baseline;
    }
    rg->o.zennit = a->zennit_second_order;
    rg->on = true;
    return EXIT_OK;
}

void cli_relgrad_close(cli_relgrad *rg)
{
    lrp_tensor_free(rg->target);
    rg->target = NULL;
    lrp_tensor_free(rg->baseline);
    rg->baseline = NULL;
    lrp_raster_free(rg->mask);
    rg->mask = NULL;
    free(rg->m);
    rg->m = NULL;
    rg->on = false;
}

/* input-x-gradient: the cotangent of A = x R, kept, and x times it as R's. */
typedef struct ixg_ctx {
    const cli_relgrad *rg;
    const lrp_tensor *x;
    lrp_tensor *uA; /* shaped like R */
} ixg_ctx;

static lrp_status ixg_cotangent(void *ctx, const lrp_tensor *R, lrp_tensor *u, lrp_error *err)
{
    ixg_ctx *c = ctx;
    const cli_relgrad *rg = c->rg;
    if (!(c->uA = lrp_tensor_clone(u, err)) || R->numel != c->x->numel)
        return c->uA ? lrp_fail(err, LRP_ERR_INTERNAL, "input-x-gradient: R is not shaped like x") : err->status;
    const lrp_real *r = R->data, *xv = c->x->data;
    lrp_real *ua = c->uA->data, *ur = u->data;
    lrp_status st = LRP_OK;
    if (rg->o.cotangent == LRP_COTANGENT_FN) /* mask:M.png */
        st = rg->o.cotangent_fn(rg->o.ctx, R, c->uA, err);
    for (int64_t i = 0; i < R->numel && st == LRP_OK; i++) {
        lrp_real A = xv[i] * r[i];
        if (rg->o.cotangent == LRP_COTANGENT_ONES)
            ua[i] = 1.0f;
        else if (rg->o.cotangent == LRP_COTANGENT_SELF)
            ua[i] = A;
        else if (rg->o.cotangent == LRP_COTANGENT_TARGET) {
            int64_t per = rg->target->numel;
            if (per != R->numel && (per == 0 || R->numel % per))
                return lrp_fail(err, LRP_ERR_SHAPE, "the relevance-gradient target T must be shaped like the input");
            ua[i] = A - ((const lrp_real *)rg->target->data)[i % per];
        }
        ur[i] = ua[i] * xv[i];
    }
    return st;
}

lrp_status cli_relgrad_run(const cli_relgrad *rg, lrp_explainer *ex, const lrp_tensor *x, int64_t target,
                           lrp_seed seed, lrp_tensor **rel, lrp_tensor **logits, int64_t *target_out,
                           lrp_tensor **grad, lrp_error *err)
{
    int64_t t = target;
    if (rg->copies)
        return lrp_attribute_relevance_grad(ex, &rg->attr, x, target, seed, &rg->o, rel, grad, logits, target_out,
                                            err);
    if (!rg->ixg)
        return lrp_explain_relevance_grad(ex, x, &t, seed, &rg->o, rel, grad, logits, target_out, err);
    ixg_ctx c = {rg, x, NULL};
    lrp_relevance_grad_options o = rg->o;
    o.cotangent = LRP_COTANGENT_FN;
    o.cotangent_fn = ixg_cotangent;
    o.ctx = &c;
    lrp_tensor *R = NULL;
    lrp_status st = lrp_explain_relevance_grad(ex, x, &t, seed, &o, &R, grad, logits, target_out, err);
    if (st == LRP_OK && (!c.uA || c.uA->numel != R->numel || (*grad)->numel != R->numel))
        st = lrp_fail(err, LRP_ERR_INTERNAL, "input-x-gradient: the cotangent was not computed");
    if (st == LRP_OK) { /* G += u_A R (the product rule's other term); the relevance is A = x R */
        lrp_real *g = (*grad)->data, *r = R->data;
        const lrp_real *ua = c.uA->data, *xv = x->data;
        for (int64_t i = 0; i < R->numel; i++) {
            g[i] += ua[i] * r[i];
            r[i] *= xv[i];
        }
        *rel = R;
        R = NULL;
    }
    lrp_tensor_free(R);
    lrp_tensor_free(c.uA);
    if (st != LRP_OK) {
        lrp_tensor_free(*grad);
        *grad = NULL;
        if (logits) {
            lrp_tensor_free(*logits);
            *logits = NULL;
        }
    }
    return st;
}

double cli_relgrad_norm(const lrp_tensor *grad)
{
    double s = 0;
    const lrp_real *g = grad->data;
    for (int64_t i = 0; i < grad->numel; i++)
        s += (double)g[i] * (double)g[i];
    return sqrt(s);
}
