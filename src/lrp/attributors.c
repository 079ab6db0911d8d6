/* Attributors (zennit-reference.md §4) around the explainer's composite:
 * input × gradient, SmoothGrad, Integrated Gradients, Occlusion and a random
 * baseline. The copies each needs (noisy inputs, path points, occluded
 * inputs) run through the engine as batches. */
#include "base/error.h"
#include "lrp/explain.h"
#include "lrp/gradcam.h"
#include "engine/model.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lrp_attributor_options_default(lrp_attributor_options *o)
{
    memset(o, 0, sizeof *o);
    o->kind = LRP_ATTRIBUTOR_GRADIENT;
    o->steps = 20;
    o->samples = 20;
    o->noise_level = LRP_R(0.1);
}

static const char *const kind_names[] = {"gradient",  "input-x-gradient", "smoothgrad", "integrated-gradients",
                                         "occlusion", "random",           "grad-cam",   "grad-cam++"};

int lrp_attributor_from_name(const char *name)
{
    for (int i = 0; i < (int)(sizeof kind_names / sizeof *kind_names); i++)
        if (!strcmp(name, kind_names[i]))
            return i;
    return -1;
}

const char *lrp_attributor_name(lrp_attributor_kind kind)
{
    return kind >= 0 && kind < (int)(sizeof kind_names / sizeof *kind_names) ? kind_names[kind] : "?";
}

/* --------------------------------------------------------------- batching */

/* How many copies of one input go through the engine at once: bounded by
 * ~1.5 GB of activations, estimated from the inferred shapes. */
static int chunk_size(lrp_model *m, int want, int max_batch)
{
    if (max_batch > 0)
        return want < max_batch ? want : max_batch;
    const lrp_graph *g = m->g;
    double per = 0;
    int64_t N = m->prepared && m->cur_ndim > 0 ? m->cur_dims[0] : 1;
    for (int v = 0; v < g->n_values; v++) {
        const lrp_value *val = &g->values[v];
        if (val->constant || !val->shape_known)
            continue;
        double n = 1;
        for (int i = 0; i < val->ndim; i++)
            n *= (double)val->dims[i];
        per += n / (double)(N > 0 ? N : 1);
    }
    double bytes = per * (double)sizeof(lrp_real) * 2.0; /* activations kept plus relevance */
    int c = bytes > 0 ? (int)(1.5e9 / bytes) : want;
    if (c < 1)
        c = 1;
    if (c > 32)
        c = 32;
    return want < c ? want : c;
}

/* A batch of k copies of the single-sample shape of x. */
static lrp_tensor *batch_of(const lrp_tensor *x, int k, lrp_error *err)
{
    int64_t dims[LRP_MAX_DIMS];
    memcpy(dims, x->dims, sizeof dims);
    dims[0] = k;
    return lrp_tensor_new(LRP_REAL_DT, x->ndim, dims, err);
}

typedef struct fixed_target {
    int64_t target;
    lrp_seed seed;
} fixed_target;

/* Every copy explains the same class. */
static lrp_status seed_fixed(void *ctx, const lrp_tensor *logits, lrp_tensor *seed, lrp_error *err)
{
    const fixed_target *ft = ctx;
    int64_t N = logits->dims[0], C = logits->dims[1];
    if (ft->target >= C)
        return lrp_fail(err, LRP_ERR_ARG, "target class %lld is out of range: the model has %lld classes",
                        (long long)ft->target, (long long)C);
    for (int64_t b = 0; b < N; b++)
        lrp_reals(seed)[b * C + ft->target] =
            ft->seed == LRP_SEED_LOGIT ? lrp_reals(logits)[b * C + ft->target] : 1.0f;
    return LRP_OK;
}

/* Runs copies through the explainer (chunks of at most `chunk`), handing each
 * sample's gradient to `take` in order. fill(ctx, k, dst) writes copy k. When
 * a model cannot run batched (e.g. a Reshape to a fixed batch of 1), copies go
 * one at a time. */
typedef void (*fill_fn)(void *ctx, int k, lrp_real *dst);
typedef void (*take_fn)(void *ctx, int k, const lrp_real *grad);

static lrp_status run_copies(lrp_explainer *e, lrp_model *m, const lrp_tensor *x, int n, int64_t target, lrp_seed seed,
                             int max_batch, fill_fn fill, take_fn take, void *ctx, const lrp_attributor_options *o,
                             lrp_error *err)
{
    int64_t per = x->numel / x->dims[0];
    int chunk = chunk_size(m, n, max_batch);
    fixed_target ft = {target, seed};
    for (int k0 = 0; k0 < n;) {
        int k = n - k0 < chunk ? n - k0 : chunk;
        lrp_tensor *b = batch_of(x, k, err);
        if (!b)
            return err ? err->status : LRP_ERR_NOMEM;
        for (int i = 0; i < k; i++)
            fill(ctx, k0 + i, lrp_reals(b) + (int64_t)i * per);
        lrp_tensor *rel = NULL;
        lrp_status st = lrp_explain_seeded(e, b, seed_fixed, &ft, &rel, NULL, err);
        lrp_tensor_free(b);
        if (st == LRP_ERR_SHAPE && k > 1) { /* not batchable: go one by one */
            chunk = 1;
            lrp_error_clear(err);
            continue;
        }
        if (st != LRP_OK)
            return st;
        for (int i = 0; i < k; i++)
            take(ctx, k0 + i, lrp_reals(rel) + (int64_t)i * per);
        lrp_tensor_free(rel);
        k0 += k;
        if (o->progress)
            o->progress(o->progress_ctx, k0, n);
    }
    return LRP_OK;
}

/* ------------------------------------------------------------ attributors */

typedef struct path_ctx {
    const lrp_real *x, *base;
    int64_t per;
    int n;
    lrp_real *acc;
} path_ctx;

/* IG path point k (0-based): baseline + alpha*(x - baseline), alpha = (k+1)/n. */
static void ig_fill(void *ctx, int k, lrp_real *dst)
{
    const path_ctx *c = ctx;
    lrp_real alpha = (lrp_real)((double)(k + 1) / (double)c->n);
    for (int64_t i = 0; i < c->per; i++) {
        lrp_real b = c->base ? c->base[i] : 0.0f;
        dst[i] = b + alpha * (c->x[i] - b);
    }
}

static void mean_take(void *ctx, int k, const lrp_real *g)
{
    const path_ctx *c = ctx;
    (void)k;
    lrp_real n = (lrp_real)c->n;
    for (int64_t i = 0; i < c->per; i++)
        c->acc[i] += g[i] / n;
}

typedef struct noise_ctx {
    const lrp_real *x;
    int64_t per;
    int n;
    lrp_real std;
    lrp_rng *rng;
    lrp_real *acc;
} noise_ctx;

static void sg_fill(void *ctx, int k, lrp_real *dst)
{
    const noise_ctx *c = ctx;
    if (k == c->n - 1) { /* the last sample is the clean input */
        memcpy(dst, c->x, sizeof(lrp_real) * (size_t)c->per);
        return;
    }
    for (int64_t i = 0; i < c->per; i++)
        dst[i] = c->x[i] + (lrp_real)lrp_rng_normal(c->rng) * c->std;
}

static void sg_take(void *ctx, int k, const lrp_real *g)
{
    const noise_ctx *c = ctx;
    (void)k;
    lrp_real n = (lrp_real)c->n;
    for (int64_t i = 0; i < c->per; i++)
        c->acc[i] += g[i] / n;
}

/* Occlusion windows over the spatial dims of a (1, C, H, W) or (1, H, W, C)
 * input: window w x w, all channels, rolled circularly by (oy, ox). */
typedef struct occ_ctx {
    const lrp_real *x, *fill;
    int64_t per;
    int nhwc, C, H, W;
    int wh, ww, sh, sw; /* window and stride per spatial dim */
    int nx;
    int invert;
} occ_ctx;

static int in_window(const occ_ctx *c, int k, int y, int x)
{
    int oy = (k / c->nx) * c->sh, ox = (k % c->nx) * c->sw;
    int dy = ((y - oy) % c->H + c->H) % c->H, dx = ((x - ox) % c->W + c->W) % c->W;
    return dy < c->wh && dx < c->ww;
}

static void occ_fill(void *ctx, int k, lrp_real *dst)
{
    const occ_ctx *c = ctx;
    for (int64_t i = 0; i < c->per; i++) {
        int y, x;
        if (c->nhwc) {
            y = (int)(i / ((int64_t)c->W * c->C));
            x = (int)((i / c->C) % c->W);
        } else {
            y = (int)((i / c->W) % c->H);
            x = (int)(i % c->W);
        }
        int keep = in_window(c, k, y, x) != c->invert;
        dst[i] = keep ? c->x[i] : (c->fill ? c->fill[i] : 0.0f);
    }
}

static lrp_status occlusion(lrp_model *m, const lrp_attributor_options *o, const lrp_tensor *x, int64_t target,
                            lrp_real *acc, lrp_error *err)
{
    const lrp_model_info *in = &m->info;
    occ_ctx c = {0};
    c.x = lrp_reals(x);
    c.per = x->numel;
    if (x->ndim == 4) {
        c.nhwc = in->layout == LRP_LAYOUT_NHWC;
        c.C = (int)(c.nhwc ? x->dims[3] : x->dims[1]);
        c.H = (int)(c.nhwc ? x->dims[1] : x->dims[2]);
        c.W = (int)(c.nhwc ? x->dims[2] : x->dims[3]);
    } else if (x->ndim == 2) { /* flat vector: one row */
        c.C = 1;
        c.H = 1;
        c.W = (int)x->dims[1];
    } else {
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "occlusion needs an image input (N,C,H,W) or a vector");
    }
    if (c.H < 1 || c.W < 1 || c.C < 1) /* no windows to slide (and strides of 0) */
        return lrp_fail(err, LRP_ERR_SHAPE, "occlusion needs an input with pixels; this one is %s",
                        lrp_shape_str(x->ndim, x->dims, (char[128]){0}, 128));
    int side = c.H > 1 && c.H < c.W ? c.H : c.W;
    int win = o->window > 0 ? o->window : (side / 8 > 4 ? side / 8 : 4);
    int stride = o->stride > 0 ? o->stride : win;
    /* zennit: an int window or stride becomes min(value, size) per dim */
    c.wh = win < c.H ? win : c.H;
    c.ww = win < c.W ? win : c.W;
    c.sh = stride < c.H ? stride : c.H;
    c.sw = stride < c.W ? stride : c.W;
    c.invert = o->occlude_window;
    if (o->fill) {
        if (o->fill->numel != c.per)
            return lrp_fail(err, LRP_ERR_SHAPE, "the occlusion fill has %lld values, the input %lld",
                            (long long)o->fill->numel, (long long)c.per);
        c.fill = lrp_reals(o->fill);
    }
    int ny = (c.H + c.sh - 1) / c.sh;
    c.nx = (c.W + c.sw - 1) / c.sw;
    int n = ny * c.nx;
    int chunk = chunk_size(m, n, o->max_batch);
    for (int k0 = 0; k0 < n;) {
        int k = n - k0 < chunk ? n - k0 : chunk;
        lrp_tensor *b = batch_of(x, k, err), *logits = NULL;
        if (!b)
            return err ? err->status : LRP_ERR_NOMEM;
        for (int i = 0; i < k; i++)
            occ_fill(&c, k0 + i, lrp_reals(b) + (int64_t)i * c.per);
        lrp_status st = lrp_model_run(m, b, &logits, err);
        lrp_tensor_free(b);
        if (st == LRP_ERR_SHAPE && k > 1) {
            chunk = 1;
            lrp_error_clear(err);
            continue;
        }
        if (st != LRP_OK)
            return st;
        int64_t C = logits->dims[1];
        if (target >= C) {
            lrp_tensor_free(logits);
            return lrp_fail(err, LRP_ERR_ARG, "target class %lld is out of range", (long long)target);
        }
        for (int i = 0; i < k; i++) {
            /* the score is the target logit: the output times the one-hot,
             * summed (as zennit's feed_forward.py and the reference compute it) */
            lrp_real score = lrp_reals(logits)[(int64_t)i * C + target];
            for (int64_t q = 0; q < c.per; q++) {
                int y, xx;
                if (c.nhwc) {
                    y = (int)(q / ((int64_t)c.W * c.C));
                    xx = (int)((q / c.C) % c.W);
                } else {
                    y = (int)((q / c.W) % c.H);
                    xx = (int)(q % c.W);
                }
                if (in_window(&c, k0 + i, y, xx))
                    acc[q] += score;
            }
        }
        lrp_tensor_free(logits);
        k0 += k;
        if (o->progress)
            o->progress(o->progress_ctx, k0, n);
    }
    return LRP_OK;
}

static lrp_status ig_check(const lrp_attributor_options *o, int64_t per, lrp_error *err)
{
    if (o->steps < 1)
        return lrp_fail(err, LRP_ERR_ARG, "integrated gradients needs at least one step");
    if (o->baseline && o->baseline->numel != per)
        return lrp_fail(err, LRP_ERR_SHAPE, "the baseline has %lld values, the input %lld",
                        (long long)o->baseline->numel, (long long)per);
    return LRP_OK;
}

/* SmoothGrad's noise: noise_level times the input's range (a constant of the
 * input, as zennit's .item() makes it). */
static lrp_real sg_std(const lrp_attributor_options *o, const lrp_tensor *x)
{
    lrp_real mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < x->numel; i++) {
        lrp_real v = lrp_reals(x)[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    return o->noise_level * (mx - mn);
}

lrp_status lrp_attributor_copies(const lrp_attributor_options *o, const lrp_tensor *x, lrp_tensor **copies,
                                 lrp_real *alpha, lrp_error *err)
{
    *copies = NULL;
    const int64_t per = x->numel;
    bool ig = o->kind == LRP_ATTRIBUTOR_INTEGRATED_GRADIENTS;
    if (!ig && o->kind != LRP_ATTRIBUTOR_SMOOTHGRAD)
        return lrp_fail(err, LRP_ERR_ARG, "only integrated gradients and smoothgrad run copies of the input");
    if (ig && ig_check(o, per, err) != LRP_OK)
        return err ? err->status : LRP_ERR_ARG;
    if (!ig && o->samples < 1)
        return lrp_fail(err, LRP_ERR_ARG, "smoothgrad needs at least one sample");
    int n = ig ? o->steps : o->samples;
    lrp_tensor *c = batch_of(x, n, err);
    if (!c)
        return err ? err->status : LRP_ERR_NOMEM;
    path_ctx pc = {lrp_reals(x), o->baseline ? lrp_reals(o->baseline) : NULL, per, n, NULL};
    lrp_rng rng;
    lrp_rng_seed(&rng, o->seed);
    noise_ctx nc = {lrp_reals(x), per, n, ig ? 0.0f : sg_std(o, x), &rng, NULL};
    for (int k = 0; k < n; k++) {
        if (ig)
            ig_fill(&pc, k, lrp_reals(c) + (int64_t)k * per);
        else
            sg_fill(&nc, k, lrp_reals(c) + (int64_t)k * per);
        alpha[k] = ig ? (lrp_real)((double)(k + 1) / (double)n) : 1.0f;
    }
    *copies = c;
    return LRP_OK;
}

/* One sample (batch of one). */
static lrp_status attribute_one(lrp_explainer *e, lrp_model *m, const lrp_attributor_options *o, const lrp_tensor *x,
                                int64_t target, lrp_seed seed, lrp_real *acc, lrp_error *err)
{
    int64_t per = x->numel;
    path_ctx pc = {lrp_reals(x), NULL, per, 1, acc};
    switch (o->kind) {
    case LRP_ATTRIBUTOR_GRADIENT:
    case LRP_ATTRIBUTOR_INPUT_X_GRADIENT: break; /* handled in lrp_attribute */
    case LRP_ATTRIBUTOR_INTEGRATED_GRADIENTS: {
        lrp_status st = ig_check(o, per, err);
        if (st != LRP_OK)
            return st;
        pc.base = o->baseline ? lrp_reals(o->baseline) : NULL;
        pc.n = o->steps;
        st = run_copies(e, m, x, o->steps, target, seed, o->max_batch, ig_fill, mean_take, &pc, o, err);
        for (int64_t i = 0; st == LRP_OK && i < per; i++)
            acc[i] *= lrp_reals(x)[i] - (pc.base ? pc.base[i] : 0.0f);
        return st;
    }
    case LRP_ATTRIBUTOR_SMOOTHGRAD: {
        if (o->samples < 1)
            return lrp_fail(err, LRP_ERR_ARG, "smoothgrad needs at least one sample");
        lrp_rng rng;
        lrp_rng_seed(&rng, o->seed);
        noise_ctx nc = {lrp_reals(x), per, o->samples, sg_std(o, x), &rng, acc};
        return run_copies(e, m, x, o->samples, target, seed, o->max_batch, sg_fill, sg_take, &nc, o, err);
    }
    case LRP_ATTRIBUTOR_OCCLUSION: return occlusion(m, o, x, target, acc, err);
    case LRP_ATTRIBUTOR_GRAD_CAM:
    case LRP_ATTRIBUTOR_GRAD_CAM_PP: break; /* handled in lrp_attribute */
    case LRP_ATTRIBUTOR_RANDOM: {
        lrp_rng rng;
        lrp_rng_seed(&rng, o->seed);
        for (int64_t i = 0; i < per; i++)
            acc[i] = (lrp_real)lrp_rng_uniform(&rng);
        return LRP_OK;
    }
    }
    return lrp_fail(err, LRP_ERR_ARG, "unknown attributor");
}

/* Every pass of the model was finite, but the combination may not be (a sum
 * that overflows, an input times an infinite gradient): an error too. */
static lrp_status check_finite(const lrp_attributor_options *o, lrp_tensor **relevance, lrp_tensor **logits,
                               lrp_error *err)
{
    int64_t at = lrp_find_nonfinite(*relevance);
    if (at < 0)
        return LRP_OK;
    lrp_status st =
        lrp_fail(err, LRP_ERR_NUMERIC, "the %s attribution is not finite: %s at element %lld",
                 lrp_attributor_name(o->kind), lrp_nonfinite_name(lrp_reals(*relevance)[at]), (long long)at);
    lrp_tensor_free(*relevance);
    *relevance = NULL;
    if (logits) {
        lrp_tensor_free(*logits);
        *logits = NULL;
    }
    return st;
}

static lrp_status attribute(lrp_explainer *e, const lrp_attributor_options *o, const lrp_tensor *input,
                            const int64_t *targets, lrp_seed seed, lrp_tensor **relevance, lrp_tensor **logits_out,
                            int64_t *targets_out, lrp_error *err)
{
    *relevance = NULL;
    if (logits_out)
        *logits_out = NULL;
    lrp_attributor_options def;
    if (!o) {
        lrp_attributor_options_default(&def);
        o = &def;
    }
    if (o->kind == LRP_ATTRIBUTOR_GRADIENT || o->kind == LRP_ATTRIBUTOR_INPUT_X_GRADIENT) {
        /* one pass: the explanation's own forward gives the logits and targets */
        lrp_status st = lrp_explain(e, input, targets, seed, relevance, logits_out, targets_out, err);
        if (st == LRP_OK && o->kind == LRP_ATTRIBUTOR_INPUT_X_GRADIENT) {
            for (int64_t i = 0; i < input->numel; i++)
                lrp_reals(*relevance)[i] *= lrp_reals(input)[i];
            st = check_finite(o, relevance, logits_out, err);
        }
        return st;
    }
    if (o->kind == LRP_ATTRIBUTOR_GRAD_CAM || o->kind == LRP_ATTRIBUTOR_GRAD_CAM_PP)
        return lrp_gradcam_attribute(e, o, input, targets, relevance, logits_out, targets_out, err);
    lrp_model *m = lrp_explainer_model(e);
    lrp_tensor *x = NULL, *logits = NULL, *rel = NULL, *one = NULL;
    lrp_status st = lrp_model_conform_input(m, input, &x, err);
    if (st != LRP_OK)
        return st;
    /* the clean forward pass: logits and targets */
    if ((st = lrp_model_run(m, x, &logits, err)) != LRP_OK)
        goto done;
    const int64_t N = x->dims[0], C = logits->dims[1], per = N ? x->numel / N : 0;
    if (!(rel = lrp_tensor_like(x, err))) {
        st = err ? err->status : LRP_ERR_NOMEM;
        goto done;
    }
    int64_t dims[LRP_MAX_DIMS];
    memcpy(dims, x->dims, sizeof dims);
    dims[0] = 1;
    if (!(one = lrp_tensor_new(LRP_REAL_DT, x->ndim, dims, err))) {
        st = err ? err->status : LRP_ERR_NOMEM;
        goto done;
    }
    for (int64_t b = 0; b < N; b++) {
        int64_t t = 0;
        if ((st = lrp_target_class(lrp_reals(logits) + b * C, C, targets ? targets[b] : -1, &t, err)) != LRP_OK)
            goto done;
        if (targets_out)
            targets_out[b] = t;
        memcpy(one->data, lrp_reals(x) + b * per, sizeof(lrp_real) * (size_t)per);
        if ((st = attribute_one(e, m, o, one, t, seed, lrp_reals(rel) + b * per, err)) != LRP_OK)
            goto done;
    }
    rel->ndim = input->ndim;
    memcpy(rel->dims, input->dims, sizeof rel->dims);
    *relevance = rel;
    rel = NULL;
    if ((st = check_finite(o, relevance, NULL, err)) != LRP_OK)
        goto done;
    if (logits_out) {
        *logits_out = logits;
        logits = NULL;
    }
done:
    lrp_tensor_free(x);
    lrp_tensor_free(logits);
    lrp_tensor_free(rel);
    lrp_tensor_free(one);
    return st;
}

lrp_status lrp_attribute(lrp_explainer *e, const lrp_attributor_options *o, const lrp_tensor *input,
                         const int64_t *targets, lrp_seed seed, lrp_tensor **relevance, lrp_tensor **logits_out,
                         int64_t *targets_out, lrp_error *err)
{
    lrp_exec saved;
    lrp_explainer_exec_enter(e, &saved); /* the explainer's choices hold inside, for lrp_model_run too */
    lrp_status st = attribute(e, o, input, targets, seed, relevance, logits_out, targets_out, err);
    lrp_exec_leave(&saved);
    return st;
}
