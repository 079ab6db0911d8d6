/* lrp explain: relevance for every input, written as heatmaps and .npy files. */
#include "cli/attribution.h"
#include "cli/common.h"
#include "lrp.h"
#include "cli/heatmap_out.h"
#include "cli/inside.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/outputs.h"
#include "cli/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct check_ctx {
    double seed;
} check_ctx;

static void on_check(void *ctx, const char *node, const char *op, const char *rule, int64_t batch, const double *r_out,
                     const double *r_in, const double *cut)
{
    check_ctx *c = ctx;
    (void)batch;
    if (c->seed == 0) /* the first node reached holds the whole output relevance */
        c->seed = r_out[0];
    printf("  %-34s %-18s %-34s %13.6g %13.6g %13.6g %9.5f\n", node, op, rule, r_out[0], r_in[0], cut[0],
           c->seed != 0 ? cut[0] / c->seed : NAN);
}

/* Progress inside one item (the copies of an attributor). */
struct sub_progress {
    progress *p;
    int index;
    const char *name;
};

static void on_sub_progress(void *ctx, int done, int total)
{
    const struct sub_progress *sp = ctx;
    progress_sub(sp->p, sp->index, done, total, sp->name);
}

typedef struct item_result {
    char heat_path[4200];
    char rel_path[4200];
    int64_t predicted, target;
    lrp_real logit, target_logit;
    double rel_sum;
    double seconds;
} item_result;

static lrp_status write_npy(const char *path, void *ctx, lrp_error *err) { return lrp_npy_write(path, ctx, err); }

static void print_json(const cli_item *it, const char *status, const char *error, const item_result *r,
                       const char *method, char **labels, int n_labels)
{
    json j;
    json_begin(&j, stdout);
    json_str(&j, "input", it->path);
    json_int(&j, "index", it->index);
    json_str(&j, "status", status);
    if (error)
        json_str(&j, "error", error);
    json_str(&j, "method", method);
    if (r && !strcmp(status, "ok")) {
        json_obj(&j, "outputs");
        json_str(&j, "heatmap", r->heat_path[0] ? r->heat_path : NULL);
        json_str(&j, "relevance", r->rel_path[0] ? r->rel_path : NULL);
        json_obj_end(&j);
        json_int(&j, "predicted", r->predicted);
        json_num(&j, "logit", r->logit);
        if (labels)
            json_str(&j, "label", r->predicted < n_labels ? labels[r->predicted] : NULL);
        json_int(&j, "target", r->target);
        json_num(&j, "target_logit", r->target_logit);
        json_num(&j, "relevance_sum", r->rel_sum);
        json_num(&j, "seconds", r->seconds);
    } else if (r && !strcmp(status, "skipped")) {
        json_obj(&j, "outputs");
        json_str(&j, "heatmap", r->heat_path[0] ? r->heat_path : NULL);
        json_str(&j, "relevance", r->rel_path[0] ? r->rel_path : NULL);
        json_obj_end(&j);
    }
    json_end(&j);
}

/* The target a fresh run explains, found before the explanation when a
 * {target} output name needs it for --skip-existing: the predicted class of
 * the model's forward pass. -1 when it cannot be told for sure (an error, or
 * two classes within float rounding of each other, which the explanation's
 * own forward pass might order the other way): then the item runs. */
static int64_t predicted_target(lrp_model *m, const lrp_tensor *x)
{
    lrp_error err = {0};
    lrp_tensor *logits = NULL;
    int64_t t = -1;
    if (lrp_model_run(m, x, &logits, &err) == LRP_OK && logits->ndim == 2 && logits->dims[0] == 1 &&
        logits->dims[1] > 0) {
        const lrp_real *l = logits->data;
        int64_t C = logits->dims[1], best = 0;
        for (int64_t c = 1; c < C; c++)
            if (l[c] > l[best])
                best = c;
        double top = l[best], second = -INFINITY;
        for (int64_t c = 0; c < C; c++)
            if (c != best && l[c] > second)
                second = l[c];
        double scale = fabs(top) > 1.0 ? fabs(top) : 1.0;
        if (isfinite(top) && !(top - second <= 1e-4 * scale))
            t = best;
    }
    lrp_tensor_free(logits);
    return t;
}

/* The output names of an item, and whether they all exist already. */
static bool outputs_exist(const cli_args *a, const cli_fields *f, item_result *res, lrp_error *err)
{
    bool all = true;
    if (a->out)
        all = cli_template_expand(a->out, f, res->heat_path, sizeof res->heat_path, err) == LRP_OK &&
              cli_file_exists(res->heat_path);
    if (all && a->relevance_out)
        all = cli_template_expand(a->relevance_out, f, res->rel_path, sizeof res->rel_path, err) == LRP_OK &&
              cli_file_exists(res->rel_path);
    return all;
}

/* Claims the outputs of an item whose names were not known before the run
 * (a {target} without a known target). Returns false, with the message in
 * err, when one is refused. */
static bool claim_late(cli_guard *g, const cli_args *a, const cli_item *it, const item_result *res, lrp_error *err)
{
    char msg[1024];
    if (a->out && !a->heat.grid && res->heat_path[0] && cli_template_has_target(a->out) &&
        cli_guard_output_msg(g, "-o", res->heat_path, it->path, msg, sizeof msg) != EXIT_OK) {
        lrp_fail(err, LRP_ERR_ARG, "%s", msg);
        return false;
    }
    if (a->relevance_out && res->rel_path[0] && cli_template_has_target(a->relevance_out) &&
        cli_guard_output_msg(g, "--relevance-out", res->rel_path, it->path, msg, sizeof msg) != EXIT_OK) {
        lrp_fail(err, LRP_ERR_ARG, "%s", msg);
        return false;
    }
    return true;
}

/* Records the files the run reads and claims every output it writes whose
 * name is known before the run ({target} unknown: CLI_WILD, claimed again
 * once known). Returns an exit code (refusals printed). */
static int claim_outputs(cli_guard *g, const cli_args *a, const cli_items *items, const char *method)
{
    int rc = cli_guard_input(g, a->pos[0]);
    if (rc == EXIT_OK && a->list && strcmp(a->list, "-"))
        rc = cli_guard_input(g, a->list);
    if (rc == EXIT_OK && a->labels)
        rc = cli_guard_input(g, a->labels);
    if (rc == EXIT_OK && a->baseline && strcmp(a->baseline, "zero"))
        rc = cli_guard_input(g, a->baseline);
    if (rc == EXIT_OK && a->fill && strcmp(a->fill, "zero") && strcmp(a->fill, "mean"))
        rc = cli_guard_input(g, a->fill);
    for (int i = 0; i < items->n && rc == EXIT_OK; i++)
        rc = cli_guard_input(g, items->v[i].path);
    if (rc == EXIT_OK && a->heat.grid)
        rc = cli_guard_output(g, "-o", a->out, NULL);
    char path[4200];
    lrp_error err = {0};
    for (int i = 0; i < items->n && rc == EXIT_OK; i++) {
        const cli_item *it = &items->v[i];
        int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : CLI_TARGET_WILD;
        cli_fields f = {it, method, target, false};
        for (int k = 0; k < 2 && rc == EXIT_OK; k++) {
            const char *tmpl = k == 0 ? (a->heat.grid ? NULL : a->out) : a->relevance_out;
            if (!tmpl)
                continue;
            if (cli_template_expand(tmpl, &f, path, sizeof path, &err) != LRP_OK) {
                cli_error("%s: %s", it->path, err.message);
                rc = EXIT_USAGE;
            } else {
                rc = cli_guard_output(g, k == 0 ? "-o" : "--relevance-out", path, it->path);
            }
        }
    }
    if (rc == EXIT_OK && cli_guard_stdout_outputs(g) > 1) {
        cli_error("standard output can take one file, and this run would write %d there (-o -, --relevance-out -)",
                  cli_guard_stdout_outputs(g));
        rc = EXIT_USAGE;
    }
    return rc;
}

/* The checks of the output options, before anything is read. Returns an exit
 * code (refusals printed). */
static int check_output_options(const cli_args *a, int *heat_fields, int *rel_fields, bool *heat_stdout,
                                bool *rel_stdout)
{
    *heat_fields = a->out ? cli_template_check("-o", a->out) : 0;
    *rel_fields = a->relevance_out ? cli_template_check("--relevance-out", a->relevance_out) : 0;
    if (*heat_fields < 0 || *rel_fields < 0)
        return EXIT_USAGE;
    if (a->heat.grid && !a->out) {
        cli_error("--grid needs -o FILE.png");
        return EXIT_USAGE;
    }
    if (a->heat.grid && *heat_fields) {
        cli_error("--grid writes one montage: -o must be a plain file name, not a template");
        return EXIT_USAGE;
    }
    /* standard output takes one file and then nothing else */
    *heat_stdout = a->out && cli_output_fd(a->out) == 1;
    *rel_stdout = a->relevance_out && cli_output_fd(a->relevance_out) == 1;
    if ((*heat_stdout || *rel_stdout) && (a->json || a->check)) {
        cli_error("%s %s writes the %s to standard output, which then cannot take %s as well",
                  *heat_stdout ? "-o" : "--relevance-out", *heat_stdout ? a->out : a->relevance_out,
                  *heat_stdout ? "heatmap" : "relevance", a->json ? "--json" : "--check");
        return EXIT_USAGE;
    }
    if (*heat_stdout && *rel_stdout) {
        cli_error("-o %s and --relevance-out %s: standard output can take only one of them", a->out, a->relevance_out);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* The checks that depend on the number of inputs. */
static int check_item_count(const cli_args *a, int n, int heat_fields, int rel_fields, bool heat_stdout,
                            bool rel_stdout)
{
    if (n > 1 && !a->heat.grid && heat_stdout) {
        cli_error("-o %s: standard output takes one heatmap and this run has %d inputs (--grid makes one montage)",
                  a->out, n);
        return EXIT_USAGE;
    }
    if (n > 1 && rel_stdout) {
        cli_error("--relevance-out %s: standard output takes one relevance and this run has %d inputs",
                  a->relevance_out, n);
        return EXIT_USAGE;
    }
    if (n > 1 && !a->heat.grid && a->out && !heat_fields) {
        cli_error("-o %s: with several inputs, use a template such as 'out/{stem}.png' (or --grid)", a->out);
        return EXIT_USAGE;
    }
    if (n > 1 && !a->heat.grid && a->relevance_out && !rel_fields) {
        cli_error("--relevance-out %s: with several inputs, use a template such as 'out/{stem}.npy'",
                  a->relevance_out);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* One explain run, over all its inputs. */
typedef struct explain_run {
    const cli_args *a;
    FILE *txt; /* the result lines */
    char **labels;
    int n_labels;
    cli_guard *guard;
    attribution_config ac;
    cli_method cm;
    cli_heat heat;
    bool heat_ready;
    progress prog;
    check_ctx cc;
    struct sub_progress sp;
    const char *method;
    bool need_view, warned_view;
    int failed_input, failed_output, internal, refused;
    cli_inside inside; /* --relevance-at, --condition */
} explain_run;

/* One input on its way through the run. */
typedef struct explain_item {
    cli_item *it;
    item_result res;
    cli_fields f;
    bool needs_target; /* a {target} in an output name, and no target given */
    bool skip, out_fail, refused;
    lrp_tensor *x, *rel, *logits;
    lrp_image view, orig;
    lrp_raster *img;
} explain_item;

static void explain_item_free(explain_item *e)
{
    lrp_tensor_free(e->x);
    lrp_tensor_free(e->rel);
    lrp_tensor_free(e->logits);
    lrp_image_free(&e->view);
    lrp_image_free(&e->orig);
    lrp_raster_free(e->img);
}

/* Reads the input (and with --skip-existing and a {target} to find, tells
 * whether its outputs exist under the predicted class). */
static lrp_status load_item(explain_run *r, explain_item *e, bool skipping, lrp_error *err)
{
    const lrp_model_info *info = lrp_model_get_info(r->cm.model);
    const char *path = e->it->path;
    lrp_status st = LRP_OK;
    if (e->it->error)
        st = lrp_fail(err, LRP_ERR_ARG, "%s", e->it->error);
    if (st == LRP_OK)
        st = cli_load_input(path, &r->cm.pp, info, &e->x, r->need_view ? &e->view : NULL,
                            r->need_view ? &e->orig : NULL, err);
    if (st == LRP_OK && e->x->ndim >= 1 && info->input_ndim > 0 && e->x->ndim == info->input_ndim &&
        e->x->dims[0] != 1)
        st = lrp_fail(err, LRP_ERR_SHAPE, "%s: holds a batch of %lld; explain takes one input per file", path,
                      (long long)e->x->dims[0]);
    if (st == LRP_OK && skipping && e->needs_target) {
        cli_fields pf = e->f;
        if ((pf.target = predicted_target(r->cm.model, e->x)) >= 0 && outputs_exist(r->a, &pf, &e->res, err)) {
            e->skip = true;
            if (!claim_late(r->guard, r->a, e->it, &e->res, err)) {
                e->skip = false;
                e->refused = true;
                st = LRP_ERR_ARG;
            }
        }
        if (!e->skip && !e->refused) {
            e->res.heat_path[0] = e->res.rel_path[0] = '\0';
            err->status = LRP_OK;
            err->message[0] = '\0';
        }
    }
    return st;
}

static lrp_status run_item(explain_run *r, explain_item *e, lrp_error *err)
{
    const cli_args *a = r->a;
    r->cc.seed = 0;
    if (a->check && !a->quiet) {
        printf("check %s: relevance sums after each node (sample 0)\n", e->it->path);
        printf("  %-34s %-18s %-34s %13s %13s %13s %9s\n", "node", "op", "rule", "R(output)", "R(inputs)", "cut",
               "cut/seed");
    }
    lrp_status st = attribution_run(r->cm.attr, e->x, e->f.target, a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE,
                                    &e->rel, &e->logits, &e->res.target, NULL, err);
    if (st != LRP_OK)
        lrp_error_prefix(err, "%s", e->it->path);
    return st;
}

/* The figures of a finished explanation. */
static void item_figures(explain_item *e)
{
    item_result *res = &e->res;
    const lrp_real *l = e->logits->data;
    int64_t C = e->logits->dims[1];
    res->predicted = 0;
    for (int64_t c = 1; c < C; c++)
        if (l[c] > l[res->predicted])
            res->predicted = c;
    res->logit = l[res->predicted];
    res->target_logit = l[res->target];
    double s = 0;
    for (int64_t q = 0; q < e->rel->numel; q++)
        s += ((const lrp_real *)e->rel->data)[q];
    res->rel_sum = s;
}

/* The heatmap of an item: rendered, then written (or kept for --grid). */
static lrp_status write_heatmap(explain_run *r, explain_item *e, lrp_error *err)
{
    const cli_args *a = r->a;
    bool view = r->need_view && e->view.rgb;
    lrp_status st = cli_heat_render(&r->heat, e->rel, view ? &e->view : NULL, e->orig.rgb ? &e->orig : NULL, &r->cm.pp,
                                    &e->img, err);
    if (st == LRP_OK && a->heat.grid)
        st = cli_heat_add_tile(&r->heat, e->img, err);
    if (st != LRP_OK) /* e.g. an empty relevance: name the input */
        lrp_error_prefix(err, "%s", e->it->path);
    else if (!a->heat.grid && (st = cli_heat_write(&r->heat, e->res.heat_path, e->img, err)) != LRP_OK)
        e->out_fail = true;
    return st;
}

/* The outputs of an explained item, under their final names. */
static lrp_status write_item(explain_run *r, explain_item *e, lrp_error *err)
{
    const cli_args *a = r->a;
    item_result *res = &e->res;
    lrp_status st = LRP_OK;
    item_figures(e);
    e->f.target = res->target;
    /* the names, checked again when {target} was not known before */
    if (a->relevance_out)
        st = cli_template_expand(a->relevance_out, &e->f, res->rel_path, sizeof res->rel_path, err);
    if (st == LRP_OK && a->out && !a->heat.grid)
        st = cli_template_expand(a->out, &e->f, res->heat_path, sizeof res->heat_path, err);
    if (st == LRP_OK && e->needs_target && !claim_late(r->guard, a, e->it, res, err)) {
        st = LRP_ERR_ARG;
        e->refused = true;
    }
    if (st == LRP_OK && a->relevance_out && (st = cli_write_output(res->rel_path, write_npy, e->rel, err)) != LRP_OK)
        e->out_fail = true;
    if (st == LRP_OK && a->out && r->need_view && !e->view.rgb && !r->warned_view) {
        progress_clear(&r->prog);
        cli_error("note: %s is a tensor, not an image: --overlay and --size input apply to image inputs only, "
                  "its heatmap is plain",
                  e->it->path);
        r->warned_view = true;
    }
    if (st == LRP_OK && a->out)
        st = write_heatmap(r, e, err);
    return st;
}

static void report_item(explain_run *r, const explain_item *e, lrp_status st, const lrp_error *err)
{
    const cli_args *a = r->a;
    const item_result *res = &e->res;
    FILE *txt = r->txt;
    if (st != LRP_OK) {
        progress_clear(&r->prog);
        cli_error("%s", err->message);
        if (e->refused)
            r->refused++;
        else if (e->out_fail)
            r->failed_output++;
        else if (cli_item_exit(st) == EXIT_INTERNAL)
            r->internal++;
        else
            r->failed_input++;
        if (a->json)
            print_json(e->it, "error", err->message, NULL, r->method, r->labels, r->n_labels);
    } else if (a->json) {
        print_json(e->it, "ok", NULL, res, r->method, r->labels, r->n_labels);
    } else if (!a->quiet) {
        progress_clear(&r->prog);
        fprintf(txt, "%s: predicted %lld", e->it->path, (long long)res->predicted);
        if (r->labels && res->predicted < r->n_labels)
            fprintf(txt, " (%s)", r->labels[res->predicted]);
        fprintf(txt, " logit %.4f, target %lld, relevance sum %.6g", res->logit, (long long)res->target, res->rel_sum);
        if (res->heat_path[0])
            fprintf(txt, " -> %s", res->heat_path);
        if (res->rel_path[0])
            fprintf(txt, "%s%s", res->heat_path[0] ? ", " : " -> ", res->rel_path);
        fputc('\n', txt);
        fflush(txt);
    }
}

/* Explains item i: skipped (--skip-existing), explained and written, or failed. */
static void explain_one(explain_run *r, cli_item *it)
{
    const cli_args *a = r->a;
    explain_item e = {.it = it};
    int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : -1;
    e.f = (cli_fields){it, r->method, target, false};
    lrp_error err = {0};
    /* --skip-existing: when every output exists under the name a fresh run
     * gives it; a {target} without a known target is found first (load_item) */
    bool skipping = a->skip_existing && (a->out || a->relevance_out) && !a->heat.grid;
    e.needs_target = target < 0 && ((a->out && cli_template_has_target(a->out)) ||
                                    (a->relevance_out && cli_template_has_target(a->relevance_out)));
    if (skipping && !e.needs_target && outputs_exist(a, &e.f, &e.res, &err))
        e.skip = true;
    if (!e.skip) {
        e.res.heat_path[0] = e.res.rel_path[0] = '\0';
        err.status = LRP_OK;
        err.message[0] = '\0';
    }
    double t0 = now_s();
    lrp_status st = e.skip ? LRP_OK : load_item(r, &e, skipping, &err);
    if (e.skip) {
        if (a->json)
            print_json(it, "skipped", NULL, &e.res, r->method, r->labels, r->n_labels);
        explain_item_free(&e);
        return;
    }
    if (st == LRP_OK)
        st = run_item(r, &e, &err);
    if (st == LRP_OK)
        st = write_item(r, &e, &err);
    if (st == LRP_OK && r->inside.n_records && (st = cli_inside_write(&r->inside, r->cm.ex, 0, &e.f, &err)) != LRP_OK)
        e.out_fail = true;
    e.res.seconds = now_s() - t0;
    report_item(r, &e, st, &err);
    explain_item_free(&e);
}

/* The model, the method and the heatmaps, once every output is claimed. */
static int explain_open(explain_run *r)
{
    const cli_args *a = r->a;
    int rc = cli_method_open(a, &r->ac, &r->cm);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = cli_heat_setup(&a->heat, attribution_is_signed(&r->ac, r->cm.eo.composite), &r->heat)) != EXIT_OK)
        return rc;
    r->heat_ready = true;
    r->heat.channels_last = lrp_model_get_info(r->cm.model)->layout == LRP_LAYOUT_NHWC;
    r->method = attribution_method_name(&r->ac, r->cm.eo.composite);
    r->sp = (struct sub_progress){&r->prog, 0, NULL};
    attribution_set_progress(r->cm.attr, on_sub_progress, &r->sp);
    if (a->check)
        lrp_explainer_set_check(r->cm.ex, on_check, &r->cc);
    if (r->inside.n_records || r->inside.n_conditions) { /* --relevance-at, --condition */
        lrp_inside_options io;
        lrp_error err = {0};
        cli_inside_options(&r->inside, a, &io);
        if (lrp_explainer_set_inside(r->cm.ex, &io, &err) != LRP_OK) {
            cli_error("%s", err.message);
            return err.status == LRP_ERR_ARG ? EXIT_USAGE : EXIT_INTERNAL;
        }
    }
    r->need_view = a->heat.overlay || (a->heat.size && !strcmp(a->heat.size, "input"));
    return EXIT_OK;
}

static int explain_items(explain_run *r, cli_items *items)
{
    const cli_args *a = r->a;
    progress_start(&r->prog, items->n, a->quiet);
    progress_set_steps(&r->prog, items->n == 1);
    for (int i = 0; i < items->n; i++) {
        progress_update(&r->prog, i, items->v[i].path);
        r->sp.index = i;
        r->sp.name = items->v[i].path;
        explain_one(r, &items->v[i]);
    }
    progress_done(&r->prog);
    if (a->heat.grid && r->heat.n_tiles > 0) {
        lrp_error err = {0};
        if (cli_heat_write_grid(&r->heat, a->out, &err) != LRP_OK) {
            cli_error("%s", err.message);
            r->failed_output++;
        } else if (!a->quiet && !a->json) {
            fprintf(r->txt, "grid of %d heatmaps -> %s\n", r->heat.n_tiles, a->out);
        }
    }
    int failed = r->failed_input + r->failed_output + r->refused;
    if (failed && items->n > 1 && !a->quiet)
        cli_error("%d of %d inputs failed", failed + r->internal, items->n);
    return r->internal        ? EXIT_INTERNAL
           : r->refused       ? EXIT_USAGE
           : r->failed_input  ? EXIT_INPUT
           : r->failed_output ? EXIT_OUTPUT
                              : EXIT_OK;
}

int cmd_explain(cli_args *a)
{
    /* first: a signal that arrives while the run is set up must stop it too
     * (a background job of a script inherits SIGINT ignored) */
    cli_install_signal_cleanup();
    int rc = cli_need_args(a, a->list ? 1 : 2, -1, "MODEL INPUT...");
    if (rc)
        return rc;
    int heat_fields, rel_fields;
    bool heat_stdout, rel_stdout;
    if ((rc = check_output_options(a, &heat_fields, &rel_fields, &heat_stdout, &rel_stdout)) != EXIT_OK)
        return rc;
    explain_run r = {.a = a, .txt = heat_stdout || rel_stdout ? stderr : stdout};
    if ((rc = attribution_config_from_args(a, &r.ac)) != EXIT_OK)
        return rc;
    /* {method}, known before the model is loaded (as cli_method_open will set it) */
    char method_buf[160];
    snprintf(method_buf, sizeof method_buf, "%s",
             attribution_method_name(&r.ac, a->has_composite || r.ac.o.kind == LRP_ATTRIBUTOR_GRADIENT
                                                ? a->explain.composite
                                                : "gradient"));
    if (a->labels && !(r.labels = cli_read_labels(a->labels, &r.n_labels)))
        return EXIT_USAGE;
    cli_items items = {0};
    if ((rc = cli_inside_parse(a, &r.inside)) != EXIT_OK)
        goto done;
    if ((r.inside.n_records || r.inside.n_conditions) && r.ac.o.kind != LRP_ATTRIBUTOR_GRADIENT) {
        cli_error("--relevance-at and --condition apply to the composite alone, not to --attributor %s", r.ac.name);
        rc = EXIT_USAGE;
        goto done;
    }
    if (!(r.guard = cli_guard_new())) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    cli_own_outputs own = {0, {NULL, NULL}, method_buf, a->has_target ? a->target : -1};
    if (a->out && !heat_stdout)
        own.tmpl[own.n++] = a->out;
    if (a->relevance_out && !rel_stdout)
        own.tmpl[own.n++] = a->relevance_out;
    if ((rc = cli_gather_items(a, 1, &own, &items)) != EXIT_OK ||
        (rc = check_item_count(a, items.n, heat_fields, rel_fields, heat_stdout, rel_stdout)) != EXIT_OK ||
        (rc = cli_inside_check_count(&r.inside, items.n)) != EXIT_OK)
        goto done;
    /* every output is checked before anything is written */
    if ((rc = claim_outputs(r.guard, a, &items, method_buf)) != EXIT_OK)
        goto done;
    cli_guard_set_running(r.guard);
    if ((rc = explain_open(&r)) == EXIT_OK)
        rc = explain_items(&r, &items);
done:
    cli_guard_free(r.guard);
    if (r.heat_ready)
        cli_heat_free(&r.heat);
    cli_method_close(&r.cm);
    cli_items_free(&items);
    cli_free_labels(r.labels, r.n_labels);
    cli_inside_free(&r.inside);
    return rc;
}
