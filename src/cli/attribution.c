/* Attribution methods for the command line. */
#include "cli/attribution.h"

#include "lrp.h"
#include "cli/common.h"
#include "cli/items.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct attribution {
    attribution_config c;
    lrp_explainer *ex;
    lrp_model *m;
    lrp_attributor_options o;
    lrp_tensor *baseline; /* --baseline FILE.npy */
    lrp_tensor *fill;     /* --fill FILE.npy */
    bool fill_mean;
    bool nhwc;
};

int attribution_config_from_args(const cli_args *a, attribution_config *c)
{
    memset(c, 0, sizeof *c);
    c->name = a->attributor;
    int kind = lrp_attributor_from_name(c->name);
    if (kind < 0) {
        char list[256];
        cli_error("--attributor: unknown '%s' (choose from %s)", c->name,
                  cli_join(list, sizeof list, NULL, cli_attributor_at, ", ", ", "));
        return EXIT_USAGE;
    }
    c->o = a->attr;
    c->o.kind = (lrp_attributor_kind)kind;
    c->baseline = a->command == CMD_EXPLAIN ? a->baseline : NULL;
    c->fill = a->fill;
    return EXIT_OK;
}

bool attribution_is_signed(const attribution_config *c, const char *composite)
{
    if (c->o.kind != LRP_ATTRIBUTOR_GRADIENT || !composite)
        return false;
    for (int i = 0; lrp_composite_at(i); i++)
        if (!strcmp(composite, lrp_composite_at(i)))
            return lrp_composite_at_is_lrp(i);
    return false;
}

const char *attribution_method_name(const attribution_config *c, const char *composite)
{
    static char buf[128];
    /* occlusion and random do not use the composite */
    if (c->o.kind == LRP_ATTRIBUTOR_GRADIENT)
        snprintf(buf, sizeof buf, "%s", composite);
    else if (c->o.kind == LRP_ATTRIBUTOR_OCCLUSION || c->o.kind == LRP_ATTRIBUTOR_RANDOM ||
             !strcmp(composite, "gradient"))
        snprintf(buf, sizeof buf, "%s", c->name);
    else
        snprintf(buf, sizeof buf, "%s+%s", c->name, composite);
    return buf;
}

/* "v" or "a,b,c" for --low/--high; returns the count or -1. */
static int parse_bounds(const char *opt, const char *s, lrp_real *v)
{
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        double d = strtod(t, &end);
        if (end == t || *end || !isfinite(d) || n == 3) {
            n = -1;
            break;
        }
        v[n++] = (lrp_real)d;
    }
    if (n != 1 && n != 3) {
        cli_error("--%s: expected one number or three comma-separated numbers, got '%s'", opt, s);
        return -1;
    }
    return n;
}

bool attribution_uses_rules(const cli_args *a, const attribution_config *c)
{
    if (c->o.kind == LRP_ATTRIBUTOR_GRAD_CAM || c->o.kind == LRP_ATTRIBUTOR_GRAD_CAM_PP)
        return true; /* its --layer names the nodes after the canonizers (a Conv's output after its BatchNorm) */
    return a->has_composite ? strcmp(a->explain.composite, "gradient") != 0 : c->o.kind == LRP_ATTRIBUTOR_GRADIENT;
}

int attribution_explain_options(const cli_args *a, const attribution_config *c, const lrp_preprocess *pp,
                                lrp_explain_options *o, lrp_real *low, lrp_real *high)
{
    *o = a->explain;
    if (!a->has_composite && c->o.kind != LRP_ATTRIBUTOR_GRADIENT)
        o->composite = "gradient"; /* an attributor alone wraps the plain gradient */
    o->n_overrides = a->rules.n;
    o->overrides = a->rules.v;
    int nl = cli_default_bounds(pp, low, high), nh = nl;
    if ((a->low && (nl = parse_bounds("low", a->low, low)) < 0) ||
        (a->high && (nh = parse_bounds("high", a->high, high)) < 0))
        return EXIT_USAGE;
    if (nl != nh) { /* broadcast a single value against three */
        lrp_real *one = nl == 1 ? low : high;
        one[1] = one[2] = one[0];
        nl = 3;
    }
    o->n_bounds = nl;
    o->low = low;
    o->high = high;
    return EXIT_OK;
}

attribution *attribution_new(const attribution_config *c, lrp_explainer *ex, lrp_model *m, const lrp_preprocess *pp,
                             lrp_error *err)
{
    attribution *at = calloc(1, sizeof *at);
    if (!at) {
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    at->c = *c;
    at->ex = ex;
    at->m = m;
    at->nhwc = pp && pp->nhwc;
    at->o = c->o;
    if (c->baseline && strcmp(c->baseline, "zero")) {
        if (lrp_npy_read(c->baseline, &at->baseline, err) != LRP_OK) {
            lrp_error_prefix(err, "--baseline");
            attribution_free(at);
            return NULL;
        }
        at->o.baseline = at->baseline;
    }
    if (c->fill && !strcmp(c->fill, "mean")) {
        at->fill_mean = true;
    } else if (c->fill && strcmp(c->fill, "zero")) {
        if (lrp_npy_read(c->fill, &at->fill, err) != LRP_OK) {
            lrp_error_prefix(err, "--fill");
            attribution_free(at);
            return NULL;
        }
        at->o.fill = at->fill;
    }
    return at;
}

void attribution_free(attribution *at)
{
    if (!at)
        return;
    lrp_tensor_free(at->baseline);
    lrp_tensor_free(at->fill);
    free(at);
}

void attribution_set_progress(attribution *at, void (*fn)(void *, int, int), void *ctx)
{
    at->o.progress = fn;
    at->o.progress_ctx = ctx;
}

/* The per-channel mean of each sample, as a fill tensor shaped like x
 * ((N,C,H,W), (N,H,W,C) with nhwc, or (N,F): one mean per sample). */
static lrp_tensor *channel_mean(const lrp_tensor *x, bool nhwc, lrp_error *err)
{
    lrp_tensor *f = lrp_tensor_clone(x, err);
    if (!f)
        return NULL;
    int64_t N = x->ndim > 0 ? x->dims[0] : 1, per = N ? x->numel / N : 0;
    int64_t C = x->ndim == 4 ? (nhwc ? x->dims[3] : x->dims[1]) : 1;
    int64_t inner = x->ndim == 4 && !nhwc ? x->dims[2] * x->dims[3] : 1; /* NCHW: a channel is contiguous */
    for (int64_t b = 0; b < N; b++) {
        lrp_real *d = (lrp_real *)f->data + b * per;
        for (int64_t c = 0; c < C; c++) {
            double s = 0;
            int64_t cnt = 0;
            for (int64_t i = 0; i < per; i++)
                if ((nhwc ? i % C : (i / inner) % C) == c) {
                    s += d[i];
                    cnt++;
                }
            lrp_real mean = (lrp_real)(s / (double)(cnt ? cnt : 1));
            for (int64_t i = 0; i < per; i++)
                if ((nhwc ? i % C : (i / inner) % C) == c)
                    d[i] = mean;
        }
    }
    return f;
}

lrp_status attribution_run(attribution *at, const lrp_tensor *x, int64_t target, lrp_seed seed, lrp_tensor **rel,
                           lrp_tensor **logits, int64_t *target_out, double *seed_value, lrp_error *err)
{
    int64_t t = target;
    lrp_tensor *fill = NULL;
    if (at->fill_mean) {
        if (!(fill = channel_mean(x, at->nhwc, err)))
            return err ? err->status : LRP_ERR_NOMEM;
        at->o.fill = fill;
    }
    lrp_status st = lrp_attribute(at->ex, &at->o, x, &t, seed, rel, logits, target_out, err);
    if (at->fill_mean)
        at->o.fill = NULL;
    lrp_tensor_free(fill);
    if (st == LRP_OK && seed_value)
        *seed_value = seed == LRP_SEED_LOGIT ? ((const lrp_real *)(*logits)->data)[*target_out] : 1.0;
    return st;
}

lrp_status attribution_run_many(attribution *at, const lrp_tensor *x, const int64_t *targets, lrp_seed seed,
                                lrp_tensor **rel, lrp_tensor **logits, int64_t *targets_out, lrp_error *err)
{
    lrp_tensor *fill = NULL;
    if (at->fill_mean) {
        if (!(fill = channel_mean(x, at->nhwc, err)))
            return err ? err->status : LRP_ERR_NOMEM;
        at->o.fill = fill;
    }
    lrp_status st = lrp_attribute(at->ex, &at->o, x, targets, seed, rel, logits, targets_out, err);
    if (at->fill_mean)
        at->o.fill = NULL;
    lrp_tensor_free(fill);
    return st;
}

lrp_status attribution_run_targets(attribution *at, const lrp_tensor *x, int n, int64_t *targets, int top,
                                   lrp_seed seed, lrp_tensor **rel, lrp_tensor **logits, lrp_error *err)
{
    *rel = NULL;
    if (at->o.kind != LRP_ATTRIBUTOR_GRADIENT && at->o.kind != LRP_ATTRIBUTOR_INPUT_X_GRADIENT)
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s runs copies of its own", lrp_attributor_name(at->o.kind));
    lrp_status st = lrp_explain_targets(at->ex, x, n, targets, top, seed, rel, logits, err);
    if (st == LRP_OK && at->o.kind == LRP_ATTRIBUTOR_INPUT_X_GRADIENT) {
        lrp_real *r = (lrp_real *)(*rel)->data;
        const lrp_real *xs = (const lrp_real *)x->data;
        for (int64_t b = 0; b < n; b++)
            for (int64_t i = 0; i < x->numel; i++)
                r[b * x->numel + i] *= xs[i];
        int64_t at_el = lrp_find_nonfinite(*rel);
        if (at_el >= 0) {
            st = lrp_fail(err, LRP_ERR_NUMERIC, "the %s attribution is not finite: %s at element %lld",
                          lrp_attributor_name(at->o.kind), lrp_nonfinite_name(r[at_el]), (long long)at_el);
            lrp_tensor_free(*rel);
            *rel = NULL;
            if (logits) {
                lrp_tensor_free(*logits);
                *logits = NULL;
            }
        }
    }
    return st;
}

int cli_method_open(const cli_args *a, const attribution_config *c, cli_method *cm)
{
    memset(cm, 0, sizeof *cm);
    int rc;
    /* Canonizers belong to composites (zennit passes them with a composite
     * only): the rule-less gradient runs on the model as exported. */
    if (!(cm->model = cli_load_model(a, !a->no_canonize && attribution_uses_rules(a, c), false, &rc)))
        return rc;
    if ((rc = cli_preprocess_config(a, lrp_model_get_info(cm->model), &cm->pp)) != EXIT_OK)
        return rc;
    if ((rc = attribution_explain_options(a, c, &cm->pp, &cm->eo, cm->low, cm->high)) != EXIT_OK)
        return rc;
    lrp_error err = {0};
    if (!(cm->ex = lrp_explainer_new(cm->model, &cm->eo, &err))) {
        cli_error("%s", err.message);
        return err.status == LRP_ERR_ARG ? EXIT_USAGE : EXIT_MODEL;
    }
    /* what can fail here are the files of --baseline and --fill: bad option values */
    if (!(cm->attr = attribution_new(c, cm->ex, cm->model, &cm->pp, &err))) {
        cli_error("%s", err.message);
        return err.status == LRP_ERR_NOMEM ? EXIT_INTERNAL : EXIT_USAGE;
    }
    if (lrp_attributor_check(cm->ex, &c->o, &err) != LRP_OK) { /* e.g. a grad-cam --layer that is not there */
        cli_error("%s", err.message);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

void cli_method_close(cli_method *cm)
{
    attribution_free(cm->attr);
    lrp_explainer_free(cm->ex);
    lrp_model_free(cm->model);
    memset(cm, 0, sizeof *cm);
}

lrp_status cli_eval_input(const cli_method *cm, const cli_item *it, lrp_tensor **x, lrp_error *err)
{
    *x = NULL;
    const lrp_model_info *info = lrp_model_get_info(cm->model);
    if (it->error)
        return lrp_fail(err, LRP_ERR_ARG, "%s", it->error);
    lrp_status st = cli_load_input(it->path, &cm->pp, info, x, NULL, NULL, err);
    if (st == LRP_OK && (*x)->ndim == info->input_ndim && (*x)->dims[0] != 1)
        st = lrp_fail(err, LRP_ERR_SHAPE, "%s: holds a batch; eval takes one input per file", it->path);
    return st;
}
