/* lrp eval --mask: localisation metrics of an attribution against masks and
 * the right-for-the-right-reasons penalty, per input and summarised, with
 * --fail-below as a CI gate. */
#include "cli/attribution.h"
#include "cli/common.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/progress.h"
#include "lrp.h"
#include "lrp_image.h"
#include "lrp_metrics.h"
#include "lrp_render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { M_POINTING, M_MASS, M_RANK, M_LOCALISATION, M_TOPK, M_AUC, M_RRR, M_RRR_COMPLEMENT, N_METRICS };

static const char *const metric_names[N_METRICS] = {"pointing_game",
                                                    "relevance_mass_accuracy",
                                                    "relevance_rank_accuracy",
                                                    "attribution_localisation",
                                                    "top_k_intersection",
                                                    "auc",
                                                    "rrr_penalty",
                                                    "rrr_penalty_complement"};

/* The metrics --fail-below takes: those where more is better. */
#define N_GATED M_RRR

typedef struct gate {
    int metric;
    double value;
} gate;

typedef struct mask_run {
    const cli_args *a;
    attribution_config ac;
    cli_method cm;
    const char *method;
    gate *gates;
    int n_gates;
    double *v; /* N_METRICS per item */
    int64_t *tgt;
    bool *ok;
    int n_ok, failed, internal;
    progress prog;
} mask_run;

static int parse_gates(mask_run *r)
{
    const cli_list *l = &r->a->fail_below;
    if (!l->n)
        return EXIT_OK;
    if (!(r->gates = calloc((size_t)l->n, sizeof *r->gates))) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    for (int i = 0; i < l->n; i++) {
        const char *s = l->v[i], *eq = strchr(s, '=');
        int m = -1;
        for (int k = 0; eq && k < N_GATED; k++)
            if (strlen(metric_names[k]) == (size_t)(eq - s) && !strncmp(s, metric_names[k], (size_t)(eq - s)))
                m = k;
        if (m < 0) {
            char list[512];
            size_t used = 0;
            for (int k = 0; k < N_GATED; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", metric_names[k]);
            cli_error("--fail-below %s: %s metric (choose from %s)", s,
                      eq ? "unknown" : "expected METRIC=VALUE with a", list);
            return EXIT_USAGE;
        }
        char *end;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || !isfinite(v)) {
            cli_error("--fail-below %s: expected a number after '='", s);
            return EXIT_USAGE;
        }
        r->gates[r->n_gates++] = (gate){m, v};
    }
    return EXIT_OK;
}

lrp_status cli_spread_map(lrp_tensor **rel, const lrp_tensor *x, bool nhwc, lrp_error *err)
{
    const lrp_tensor *r = *rel;
    if (r->numel == x->numel || x->ndim != 4)
        return LRP_OK;
    int64_t C = nhwc ? x->dims[3] : x->dims[1], H = nhwc ? x->dims[1] : x->dims[2], W = nhwc ? x->dims[2] : x->dims[3];
    if (x->dims[0] != 1 || r->numel != H * W)
        return LRP_OK; /* not one map at the input's size: left to the caller's shape check */
    lrp_tensor *t = lrp_tensor_new(r->dtype, x->ndim, x->dims, err);
    if (!t)
        return err ? err->status : LRP_ERR_NOMEM;
    const lrp_real *m = r->data;
    lrp_real *d = t->data;
    for (int64_t c = 0; c < C; c++)
        for (int64_t p = 0; p < H * W; p++)
            d[nhwc ? p * C + c : c * H * W + p] = m[p];
    lrp_tensor_free(*rel);
    *rel = t;
    return LRP_OK;
}

/* The map (H, W) of an item: computed by the method, or read from --attribution. */
static lrp_status item_map(mask_run *r, const cli_item *it, const lrp_tensor *x, int i, lrp_tensor **map,
                           lrp_error *err)
{
    const cli_args *a = r->a;
    lrp_tensor *rel = NULL, *logits = NULL;
    lrp_status st;
    int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : -1;
    if (a->mask_no_model && !a->mask_attribution) {
        if ((st = lrp_npy_read(it->path, &rel, err)) != LRP_OK)
            return st;
        r->tgt[i] = target;
    } else if (a->mask_attribution) {
        char path[4096];
        cli_fields f = {it, r->method, target, false, 0, NULL};
        if ((st = cli_template_expand(a->mask_attribution, &f, path, sizeof path, err)) != LRP_OK)
            return st;
        if ((st = lrp_npy_read(path, &rel, err)) != LRP_OK)
            return st;
        r->tgt[i] = target;
    } else {
        st = attribution_run(r->cm.attr, x, target, a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE, &rel, &logits,
                             &r->tgt[i], NULL, err);
        if (st != LRP_OK)
            return st;
    }
    /* one sample: (H, W), (1, H, W), (1, C, H, W) or (1, H, W, C) for NHWC models */
    if (rel->ndim < 2 || rel->ndim > 4 || (rel->ndim > 2 && rel->dims[0] != 1))
        st = lrp_fail(err, LRP_ERR_SHAPE, "the attribution is %s; expected one map (H, W), (1, H, W) or (1, C, H, W)",
                      lrp_shape_str(rel->ndim, rel->dims, (char[128]){0}, 128));
    else
        st = lrp_heatmap_channel_sum(rel, r->cm.model && lrp_model_get_info(r->cm.model)->layout == LRP_LAYOUT_NHWC,
                                     map, err);
    lrp_tensor_free(rel);
    lrp_tensor_free(logits);
    return st;
}

static lrp_status eval_item(mask_run *r, const cli_item *it, int i, lrp_error *err)
{
    const cli_args *a = r->a;
    const lrp_model_info *info = r->cm.model ? lrp_model_get_info(r->cm.model) : NULL;
    lrp_tensor *x = NULL, *map = NULL;
    unsigned char *mask = NULL;
    double *v = r->v + (size_t)i * N_METRICS;
    lrp_status st = !info ? (it->error ? lrp_fail(err, LRP_ERR_ARG, "%s", it->error) : LRP_OK)
                          : cli_eval_input(&r->cm, it, &x, err);
    if (st == LRP_OK)
        st = item_map(r, it, x, i, &map, err);
    char mpath[4096];
    cli_fields f = {it, r->method, r->tgt[i], false, 0, NULL};
    if (st == LRP_OK)
        st = cli_template_expand(a->mask, &f, mpath, sizeof mpath, err);
    int H = map ? (int)map->dims[1] : 0, W = map ? (int)map->dims[2] : 0;
    if (st == LRP_OK)
        st = lrp_mask_load(mpath, W, H, &mask, err);
    lrp_localisation loc;
    if (st == LRP_OK)
        st = lrp_localisation_metrics(map->data, mask, (int64_t)H * W, a->mask_top_k, a->mask_abs, &loc, err);
    if (st == LRP_OK) {
        v[M_POINTING] = loc.pointing_game;
        v[M_MASS] = loc.relevance_mass_accuracy;
        v[M_RANK] = loc.relevance_rank_accuracy;
        v[M_LOCALISATION] = loc.attribution_localisation;
        v[M_TOPK] = loc.top_k_intersection;
        v[M_AUC] = loc.auc;
        v[M_RRR] = v[M_RRR_COMPLEMENT] = NAN;
    }
    if (st == LRP_OK && info) {
        /* the RRR penalty needs the mask at the input's size */
        int nhwc = info->layout == LRP_LAYOUT_NHWC, nd = x->ndim;
        int64_t ih = nd >= 3 ? x->dims[nd - (nhwc ? 3 : 2)] : 0, iw = nd >= 3 ? x->dims[nd - (nhwc ? 2 : 1)] : 0;
        if (ih != H || iw != W)
            st = lrp_fail(err, LRP_ERR_SHAPE,
                          "%s: the mask is %dx%d, the input %lldx%lld (the RRR penalty needs both "
                          "the same size)",
                          mpath, W, H, (long long)iw, (long long)ih);
        else
            st = lrp_rrr_penalty(r->cm.model, x, mask, &v[M_RRR], &v[M_RRR_COMPLEMENT], NULL, err);
    }
    if (st != LRP_OK && !strstr(err->message, it->path))
        lrp_error_prefix(err, "%s", it->path);
    free(mask);
    lrp_tensor_free(map);
    lrp_tensor_free(x);
    return st;
}

static void print_row(const mask_run *r, const char *label, const char *target, const double *v)
{
    printf("%s,%s,%s", label, r->method, target);
    for (int k = 0; k < N_METRICS; k++)
        if (isnan(v[k]))
            printf(",");
        else
            printf(",%.9g", v[k]);
    printf("\n");
}

static void report_ok(mask_run *r, const cli_item *it, int i)
{
    const double *v = r->v + (size_t)i * N_METRICS;
    r->ok[i] = true;
    r->n_ok++;
    if (r->a->json) {
        json j;
        json_begin(&j, stdout);
        json_str(&j, "input", it->path);
        json_int(&j, "index", it->index);
        json_str(&j, "status", "ok");
        json_str(&j, "method", r->method);
        if (r->tgt[i] >= 0)
            json_int(&j, "target", r->tgt[i]);
        else
            json_null(&j, "target");
        for (int k = 0; k < N_METRICS; k++)
            json_num(&j, metric_names[k], v[k]);
        json_end(&j);
    } else if (!r->a->quiet) {
        progress_clear(&r->prog);
        char target[32] = "";
        if (r->tgt[i] >= 0)
            snprintf(target, sizeof target, "%lld", (long long)r->tgt[i]);
        print_row(r, it->path, target, v);
    }
}

/* The means over the scored inputs (attribution localisation: over those where it is defined). */
static void summarise(const mask_run *r, int n, double *mean, int *count)
{
    for (int k = 0; k < N_METRICS; k++) {
        double s = 0;
        int c = 0;
        for (int i = 0; i < n; i++)
            if (r->ok[i] && !isnan(r->v[(size_t)i * N_METRICS + k])) {
                s += r->v[(size_t)i * N_METRICS + k];
                c++;
            }
        mean[k] = c ? s / c : NAN;
        count[k] = c;
    }
}

static void print_summary(const mask_run *r, const cli_items *items)
{
    double mean[N_METRICS];
    int count[N_METRICS];
    summarise(r, items->n, mean, count);
    if (r->a->json) {
        json j;
        json_begin(&j, stdout);
        json_str(&j, "summary", r->method);
        json_int(&j, "images", r->n_ok);
        json_int(&j, "top_k", r->a->mask_top_k);
        json_bool(&j, "abs", r->a->mask_abs);
        for (int k = 0; k < N_METRICS; k++)
            json_num(&j, metric_names[k], mean[k]);
        json_int(&j, "attribution_localisation_defined", count[M_LOCALISATION]);
        json_end(&j);
    } else if (!r->a->quiet && r->n_ok) {
        print_row(r, "mean", "", mean);
    }
}

/* --fail-below: the inputs below a threshold, in one line; returns whether any. */
static bool check_gates(const mask_run *r, const cli_items *items)
{
    char line[4096];
    size_t used = 0;
    int n_bad = 0;
    line[0] = '\0';
    for (int i = 0; i < items->n; i++) {
        if (!r->ok[i])
            continue;
        const double *v = r->v + (size_t)i * N_METRICS;
        bool bad = false;
        for (int g = 0; g < r->n_gates; g++) {
            double x = v[r->gates[g].metric];
            if (!(x >= r->gates[g].value)) { /* NaN (undefined) fails too */
                if (!bad && used < sizeof line)
                    used += (size_t)snprintf(line + used, sizeof line - used, "%s%s (", n_bad ? ", " : "",
                                             items->v[i].path);
                else if (used < sizeof line)
                    used += (size_t)snprintf(line + used, sizeof line - used, ", ");
                if (used < sizeof line)
                    used += (size_t)snprintf(line + used, sizeof line - used, isnan(x) ? "%s null" : "%s %.4g < %g",
                                             metric_names[r->gates[g].metric], x, r->gates[g].value);
                if (isnan(x) && used < sizeof line)
                    used += (size_t)snprintf(line + used, sizeof line - used, " < %g", r->gates[g].value);
                bad = true;
            }
        }
        if (bad) {
            if (used < sizeof line)
                used += (size_t)snprintf(line + used, sizeof line - used, ")");
            n_bad++;
        }
    }
    if (n_bad)
        cli_error("--fail-below: %d of %d input%s failed: %s", n_bad, r->n_ok, r->n_ok == 1 ? "" : "s", line);
    return n_bad > 0;
}

int cmd_eval_mask(cli_args *a)
{
    int rc = a->mask_no_model ? cli_need_args(a, a->list ? 0 : 1, -1, "ATTRIBUTION.npy...")
                              : cli_need_args(a, a->list ? 1 : 2, -1, "MODEL INPUT...");
    if (rc)
        return rc;
    mask_run r = {.a = a};
    if (cli_template_check("mask", a->mask) < 0 ||
        (a->mask_attribution && cli_template_check("attribution", a->mask_attribution) < 0))
        return EXIT_USAGE;
    if ((rc = parse_gates(&r)) != EXIT_OK || (rc = attribution_config_from_args(a, &r.ac)) != EXIT_OK) {
        free(r.gates);
        return rc;
    }
    cli_items items = {0};
    if ((rc = cli_gather_items(a, a->mask_no_model ? 0 : 1, NULL, &items)) == EXIT_OK &&
        (a->mask_no_model || (rc = cli_method_open(a, &r.ac, &r.cm)) == EXIT_OK)) {
        r.method = a->mask_attribution || a->mask_no_model ? "attribution-file"
                                                           : attribution_method_name(&r.ac, r.cm.eo.composite);
        size_t n = (size_t)(items.n ? items.n : 1);
        if (!(r.v = calloc(n * N_METRICS, sizeof(double))) || !(r.tgt = calloc(n, sizeof(int64_t))) ||
            !(r.ok = calloc(n, sizeof(bool)))) {
            cli_error("out of memory");
            rc = EXIT_INTERNAL;
        }
    }
    if (rc == EXIT_OK) {
        if (!a->json && !a->quiet) {
            printf("# lrp eval: localisation against masks (%s, top-k k = %lld), right-for-the-right-reasons "
                   "penalty\ninput,method,target",
                   a->mask_abs ? "|attribution|" : "attribution as given", (long long)a->mask_top_k);
            for (int k = 0; k < N_METRICS; k++)
                printf(",%s", metric_names[k]);
            printf("\n");
        }
        progress_start(&r.prog, items.n, a->quiet || a->json);
        for (int i = 0; i < items.n; i++) {
            cli_item *it = &items.v[i];
            progress_update(&r.prog, i, it->path);
            lrp_error err = {0};
            r.tgt[i] = -1;
            lrp_status st = eval_item(&r, it, i, &err);
            if (st == LRP_OK)
                report_ok(&r, it, i);
            else
                cli_item_failed(r.a, &r.prog, it, st, &err, &r.failed, &r.internal);
        }
        progress_done(&r.prog);
        print_summary(&r, &items);
        fflush(stdout);
        bool gate_failed = check_gates(&r, &items);
        rc = r.internal ? EXIT_INTERNAL : r.failed ? EXIT_INPUT : gate_failed ? EXIT_DIFFER : EXIT_OK;
    }
    free(r.gates);
    free(r.v);
    free(r.tgt);
    free(r.ok);
    cli_method_close(&r.cm);
    cli_items_free(&items);
    return rc;
}
