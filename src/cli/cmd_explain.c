/* lrp explain: relevance for every input, written as heatmaps and .npy files. */
#include "cli/attribution.h"
#include "cli/common.h"
#include "lrp.h"
#include "cli/heatmap_out.h"
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

/* "v" or "a,b,c" bounds for --low/--high. */
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
    float logit, target_logit;
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
        const float *l = logits->data;
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
    if (a->out && !a->grid && res->heat_path[0] && cli_template_has_target(a->out) &&
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
    if (rc == EXIT_OK && a->grid)
        rc = cli_guard_output(g, "-o", a->out, NULL);
    char path[4200];
    lrp_error err = {0};
    for (int i = 0; i < items->n && rc == EXIT_OK; i++) {
        const cli_item *it = &items->v[i];
        int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : CLI_TARGET_WILD;
        cli_fields f = {it, method, target, false};
        for (int k = 0; k < 2 && rc == EXIT_OK; k++) {
            const char *tmpl = k == 0 ? (a->grid ? NULL : a->out) : a->relevance_out;
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

int cmd_explain(cli_args *a)
{
    /* first: a signal that arrives while the run is set up must stop it too
     * (a background job of a script inherits SIGINT ignored) */
    cli_install_signal_cleanup();
    int rc = cli_need_args(a, a->list ? 1 : 2, -1, "MODEL INPUT...");
    if (rc)
        return rc;
    int heat_fields = a->out ? cli_template_check("-o", a->out) : 0;
    int rel_fields = a->relevance_out ? cli_template_check("--relevance-out", a->relevance_out) : 0;
    if (heat_fields < 0 || rel_fields < 0)
        return EXIT_USAGE;
    if (a->grid && !a->out) {
        cli_error("--grid needs -o FILE.png");
        return EXIT_USAGE;
    }
    if (a->grid && heat_fields) {
        cli_error("--grid writes one montage: -o must be a plain file name, not a template");
        return EXIT_USAGE;
    }
    /* standard output takes one file and then nothing else */
    bool heat_stdout = a->out && cli_output_fd(a->out) == 1;
    bool rel_stdout = a->relevance_out && cli_output_fd(a->relevance_out) == 1;
    if ((heat_stdout || rel_stdout) && (a->json || a->check)) {
        cli_error("%s %s writes the %s to standard output, which then cannot take %s as well",
                  heat_stdout ? "-o" : "--relevance-out", heat_stdout ? a->out : a->relevance_out,
                  heat_stdout ? "heatmap" : "relevance", a->json ? "--json" : "--check");
        return EXIT_USAGE;
    }
    if (heat_stdout && rel_stdout) {
        cli_error("-o %s and --relevance-out %s: standard output can take only one of them", a->out,
                  a->relevance_out);
        return EXIT_USAGE;
    }
    FILE *txt = heat_stdout || rel_stdout ? stderr : stdout; /* the result lines */
    attribution_config ac;
    if ((rc = attribution_config_from_args(a, &ac)) != EXIT_OK)
        return rc;
    /* {method}, known before the model is loaded (as cli_method_open will set it) */
    lrp_explain_options dflt;
    lrp_explain_options_default(&dflt);
    char method_buf[160];
    snprintf(method_buf, sizeof method_buf, "%s",
             attribution_method_name(&ac, a->composite ? a->composite
                                          : strcmp(ac.name, "gradient") ? "gradient"
                                                                        : dflt.composite));
    char **labels = NULL;
    int n_labels = 0;
    if (a->labels && !(labels = cli_read_labels(a->labels, &n_labels)))
        return EXIT_USAGE;
    cli_items items = {0};
    cli_method cm = {0};
    cli_heat heat = {0};
    bool heat_ready = false;
    progress prog = {0};
    lrp_error err = {0};
    cli_guard *guard = cli_guard_new();
    if (!guard) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    cli_own_outputs own = {0, {NULL, NULL}, method_buf, a->has_target ? a->target : -1};
    if (a->out && !heat_stdout)
        own.tmpl[own.n++] = a->out;
    if (a->relevance_out && !rel_stdout)
        own.tmpl[own.n++] = a->relevance_out;
    if ((rc = cli_gather_items(a, 1, &own, &items)) != EXIT_OK)
        goto done;
    if (items.n > 1 && !a->grid && heat_stdout) {
        cli_error("-o %s: standard output takes one heatmap and this run has %d inputs (--grid makes one montage)",
                  a->out, items.n);
        rc = EXIT_USAGE;
        goto done;
    }
    if (items.n > 1 && rel_stdout) {
        cli_error("--relevance-out %s: standard output takes one relevance and this run has %d inputs",
                  a->relevance_out, items.n);
        rc = EXIT_USAGE;
        goto done;
    }
    if (items.n > 1 && !a->grid) {
        if (a->out && !heat_fields) {
            cli_error("-o %s: with several inputs, use a template such as 'out/{stem}.png' (or --grid)", a->out);
            rc = EXIT_USAGE;
            goto done;
        }
        if (a->relevance_out && !rel_fields) {
            cli_error("--relevance-out %s: with several inputs, use a template such as 'out/{stem}.npy'",
                      a->relevance_out);
            rc = EXIT_USAGE;
            goto done;
        }
    }
    /* every output is checked before anything is written */
    if ((rc = claim_outputs(guard, a, &items, method_buf)) != EXIT_OK)
        goto done;
    cli_guard_set_running(guard);
    if ((rc = cli_method_open(a, &ac, &cm)) != EXIT_OK)
        goto done;
    const lrp_model_info *info = lrp_model_get_info(cm.model);
    const lrp_preprocess *pp = &cm.pp;
    if ((rc = cli_heat_setup(a, attribution_is_signed(&ac, cm.eo.composite), &heat)) != EXIT_OK)
        goto done;
    heat_ready = true;
    heat.channels_last = info->layout == LRP_LAYOUT_NHWC;
    const char *method = attribution_method_name(&ac, cm.eo.composite);
    check_ctx cc = {0};
    struct sub_progress sp = {&prog, 0, NULL};
    attribution_set_progress(cm.attr, on_sub_progress, &sp);
    if (a->check)
        lrp_explainer_set_check(cm.ex, on_check, &cc);
    bool need_view = a->overlay || (a->size && !strcmp(a->size, "input"));
    bool warned_view = false;
    progress_start(&prog, items.n, a->quiet);
    progress_set_steps(&prog, items.n == 1);
    int failed_input = 0, failed_output = 0, internal = 0, refused = 0;
    for (int i = 0; i < items.n; i++) {
        cli_item *it = &items.v[i];
        progress_update(&prog, i, it->path);
        sp.index = i;
        sp.name = it->path;
        item_result res;
        memset(&res, 0, sizeof res);
        int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : -1;
        cli_fields f = {it, method, target, false};
        lrp_status st = LRP_OK;
        err.status = LRP_OK;
        err.message[0] = '\0';
        /* --skip-existing: when every output exists under the name a fresh run
         * gives it; a {target} without a known target is found first (below) */
        bool skipping = a->skip_existing && (a->out || a->relevance_out) && !a->grid;
        bool needs_target = target < 0 && ((a->out && cli_template_has_target(a->out)) ||
                                           (a->relevance_out && cli_template_has_target(a->relevance_out)));
        bool skip = false, out_fail = false, is_refused = false;
        if (skipping && !needs_target && outputs_exist(a, &f, &res, &err))
            skip = true;
        if (!skip) {
            res.heat_path[0] = res.rel_path[0] = '\0';
            err.status = LRP_OK;
            err.message[0] = '\0';
        }
        double t0 = now_s();
        lrp_tensor *x = NULL, *rel = NULL, *logits = NULL;
        lrp_image view = {0}, orig = {0};
        lrp_raster *img = NULL;
        if (!skip && it->error)
            st = lrp_fail(&err, LRP_ERR_ARG, "%s", it->error);
        if (!skip && st == LRP_OK)
            st = cli_load_input(it->path, pp, info, &x, need_view ? &view : NULL, need_view ? &orig : NULL, &err);
        if (!skip && st == LRP_OK && x->ndim >= 1 && info->input_ndim > 0 && x->ndim == info->input_ndim &&
            x->dims[0] != 1)
            st = lrp_fail(&err, LRP_ERR_SHAPE, "%s: holds a batch of %lld; explain takes one input per file",
                          it->path, (long long)x->dims[0]);
        if (!skip && st == LRP_OK && skipping && needs_target) {
            cli_fields pf = f;
            if ((pf.target = predicted_target(cm.model, x)) >= 0 && outputs_exist(a, &pf, &res, &err)) {
                skip = true;
                if (!claim_late(guard, a, it, &res, &err)) {
                    skip = false;
                    is_refused = true;
                    st = LRP_ERR_ARG;
                }
            }
            if (!skip && !is_refused) {
                res.heat_path[0] = res.rel_path[0] = '\0';
                err.status = LRP_OK;
                err.message[0] = '\0';
            }
        }
        if (skip) {
            if (a->json)
                print_json(it, "skipped", NULL, &res, method, labels, n_labels);
            lrp_tensor_free(x);
            lrp_image_free(&view);
            lrp_image_free(&orig);
            continue;
        }
        if (st == LRP_OK) {
            cc.seed = 0;
            if (a->check && !a->quiet) {
                printf("check %s: relevance sums after each node (sample 0)\n", it->path);
                printf("  %-34s %-18s %-34s %13s %13s %13s %9s\n", "node", "op", "rule", "R(output)", "R(inputs)",
                       "cut", "cut/seed");
            }
            st = attribution_run(cm.attr, x, target, a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE, &rel, &logits,
                                 &res.target, NULL, &err);
            if (st != LRP_OK)
                lrp_error_prefix(&err, "%s", it->path);
        }
        if (st == LRP_OK) {
            const float *l = logits->data;
            int64_t C = logits->dims[1];
            res.predicted = 0;
            for (int64_t c = 1; c < C; c++)
                if (l[c] > l[res.predicted])
                    res.predicted = c;
            res.logit = l[res.predicted];
            res.target_logit = l[res.target];
            double s = 0;
            for (int64_t q = 0; q < rel->numel; q++)
                s += ((const float *)rel->data)[q];
            res.rel_sum = s;
            f.target = res.target;
            /* the names, checked again when {target} was not known before */
            if (a->relevance_out)
                st = cli_template_expand(a->relevance_out, &f, res.rel_path, sizeof res.rel_path, &err);
            if (st == LRP_OK && a->out && !a->grid)
                st = cli_template_expand(a->out, &f, res.heat_path, sizeof res.heat_path, &err);
            if (st == LRP_OK && needs_target && !claim_late(guard, a, it, &res, &err)) {
                st = LRP_ERR_ARG;
                is_refused = true;
            }
            if (st == LRP_OK && a->relevance_out && (st = cli_write_output(res.rel_path, write_npy, rel, &err)) != LRP_OK)
                out_fail = true;
            if (st == LRP_OK && a->out && need_view && !view.rgb && !warned_view) {
                progress_clear(&prog);
                cli_error("note: %s is a tensor, not an image: --overlay and --size input apply to image inputs only, "
                          "its heatmap is plain",
                          it->path);
                warned_view = true;
            }
            if (st == LRP_OK && a->out) {
                st = cli_heat_render(&heat, rel, need_view && view.rgb ? &view : NULL, orig.rgb ? &orig : NULL, pp,
                                     &img, &err);
                if (st == LRP_OK && a->grid)
                    st = cli_heat_add_tile(&heat, img, &err);
                if (st != LRP_OK) /* e.g. an empty relevance: name the input */
                    lrp_error_prefix(&err, "%s", it->path);
                else if (!a->grid && (st = cli_heat_write(&heat, res.heat_path, img, &err)) != LRP_OK)
                    out_fail = true;
            }
        }
        res.seconds = now_s() - t0;
        if (st != LRP_OK) {
            progress_clear(&prog);
            cli_error("%s", err.message);
            if (is_refused)
                refused++;
            else if (out_fail)
                failed_output++;
            else if (cli_item_exit(st) == EXIT_INTERNAL)
                internal++;
            else
                failed_input++;
            if (a->json)
                print_json(it, "error", err.message, NULL, method, labels, n_labels);
        } else if (a->json) {
            print_json(it, "ok", NULL, &res, method, labels, n_labels);
        } else if (!a->quiet) {
            progress_clear(&prog);
            fprintf(txt, "%s: predicted %lld", it->path, (long long)res.predicted);
            if (labels && res.predicted < n_labels)
                fprintf(txt, " (%s)", labels[res.predicted]);
            fprintf(txt, " logit %.4f, target %lld, relevance sum %.6g", res.logit, (long long)res.target,
                    res.rel_sum);
            if (res.heat_path[0])
                fprintf(txt, " -> %s", res.heat_path);
            if (res.rel_path[0])
                fprintf(txt, "%s%s", res.heat_path[0] ? ", " : " -> ", res.rel_path);
            fputc('\n', txt);
            fflush(txt);
        }
        lrp_tensor_free(x);
        lrp_tensor_free(rel);
        lrp_tensor_free(logits);
        lrp_image_free(&view);
        lrp_image_free(&orig);
        lrp_raster_free(img);
    }
    progress_done(&prog);
    if (a->grid && heat.n_tiles > 0) {
        if (cli_heat_write_grid(&heat, a->out, &err) != LRP_OK) {
            cli_error("%s", err.message);
            failed_output++;
        } else if (!a->quiet && !a->json) {
            fprintf(txt, "grid of %d heatmaps -> %s\n", heat.n_tiles, a->out);
        }
    }
    rc = internal  ? EXIT_INTERNAL
         : refused ? EXIT_USAGE
         : failed_input ? EXIT_INPUT
         : failed_output ? EXIT_OUTPUT
                         : EXIT_OK;
    if ((failed_input || failed_output || refused) && items.n > 1 && !a->quiet)
        cli_error("%d of %d inputs failed", failed_input + failed_output + internal + refused, items.n);
done:
    cli_guard_free(guard);
    if (heat_ready)
        cli_heat_free(&heat);
    cli_method_close(&cm);
    cli_items_free(&items);
    cli_free_labels(labels, n_labels);
    return rc;
}
