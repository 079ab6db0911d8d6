/* lrp explain: relevance for every input, written as heatmaps and .npy files. */
#include "cli/attribution.h"
#include "cli/common.h"
#include "lrp.h"
#include "cli/heatmap_out.h"
#include "cli/inside.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/labels.h"
#include "cli/relgrad.h"
#include "cli/outputs.h"
#include "cli/progress.h"
#include "cli/targets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The peak resident memory of the process so far, in bytes (--json's peak_memory). */
static long long peak_memory(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (long long)ru.ru_maxrss * 1024 : -1;
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
    int64_t rank;      /* the target's place by logit, 1 for the largest */
    const char *label; /* the target's class name (--labels), or NULL */
    lrp_real logit, target_logit;
    double rel_sum;
    double seconds;
    char grad_path[4200]; /* --relevance-grad-out */
    bool has_grad;        /* --relevance-grad: G was computed, its norm */
    double grad_norm;
    int batch; /* --batch: the inputs of the engine pass that explained it */
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
        if (labels)
            json_str(&j, "target_label", r->label);
        json_int(&j, "rank", r->rank);
        json_num(&j, "target_logit", r->target_logit);
        json_num(&j, "relevance_sum", r->rel_sum);
        if (r->has_grad) {
            json_num(&j, "relevance_grad_norm", r->grad_norm);
            json_str(&j, "relevance_grad", r->grad_path[0] ? r->grad_path : NULL);
        }
        json_num(&j, "seconds", r->seconds);
        json_int(&j, "batch", r->batch);
        json_int(&j, "peak_memory", peak_memory());
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
static int64_t predicted_target(const lrp_tensor *logits)
{
    int64_t t = -1;
    if (logits && logits->ndim == 2 && logits->dims[0] == 1 && logits->dims[1] > 0) {
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
    return t;
}

/* The place of class t among the classes by logit (1: the largest; ties by
 * class number, as predict orders them). */
static int64_t rank_of(const lrp_tensor *logits, int64_t t)
{
    const lrp_real *l = logits->data;
    int64_t C = logits->dims[1], rank = 1;
    for (int64_t c = 0; c < C; c++)
        if (l[c] > l[t] || (l[c] == l[t] && c < t))
            rank++;
    return rank;
}

/* The targets of one input: explicit classes, the K best (found by a forward
 * pass), or the predicted class. */
typedef struct item_plan {
    int n;               /* outputs (one per target) */
    const int64_t *list; /* n explicit classes, or NULL */
    int64_t first;       /* without list: the class, -1 for the predicted one or --top */
    bool top;
} item_plan;

static int64_t plan_target(const item_plan *p, int k) { return p->list ? p->list[k] : k == 0 ? p->first : -1; }

/* The field values an output name has before the run (wild: {target} not
 * known yet as CLI_WILD, else as -1). */
static cli_fields slot_fields(const cli_item *it, const char *method, const cli_labels *lab, const item_plan *p, int k,
                              bool wild)
{
    int64_t t = plan_target(p, k);
    cli_fields f = {it, method, t >= 0 ? t : wild ? CLI_TARGET_WILD : -1, false, 0, NULL};
    f.rank = p->top ? k + 1 : t < 0 ? 1 : 0;
    if (t >= 0 && lab->n)
        f.label = t < lab->n ? lab->name[t] : "";
    return f;
}

/* Whether a template has a field that only the forward pass tells. */
static bool tmpl_late(const char *tmpl, const item_plan *p)
{
    if (!tmpl)
        return false;
    bool target_known = !p->top && plan_target(p, 0) >= 0;
    bool rank_known = p->top || plan_target(p, 0) < 0;
    return (!target_known && (cli_template_has_target(tmpl) || cli_template_has(tmpl, "{label}"))) ||
           (!rank_known && cli_template_has(tmpl, "{rank}"));
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
static bool claim_late(cli_guard *g, const cli_args *a, const cli_item *it, const item_plan *p, const item_result *res,
                       lrp_error *err)
{
    char msg[1024];
    if (a->out && !a->heat.grid && res->heat_path[0] && tmpl_late(a->out, p) &&
        cli_guard_output_msg(g, "-o", res->heat_path, it->path, msg, sizeof msg) != EXIT_OK) {
        lrp_fail(err, LRP_ERR_ARG, "%s", msg);
        return false;
    }
    if (a->relevance_out && res->rel_path[0] && tmpl_late(a->relevance_out, p) &&
        cli_guard_output_msg(g, "--relevance-out", res->rel_path, it->path, msg, sizeof msg) != EXIT_OK) {
        lrp_fail(err, LRP_ERR_ARG, "%s", msg);
        return false;
    }
    return true;
}

/* The plan of an input: a --list line's (or from-dir's) class, else -t's
 * classes, --top, or the predicted class. */
static item_plan plan_of(const cli_targets *tg, const cli_item *it)
{
    item_plan p = {1, NULL, -1, false};
    if (it->target >= 0)
        p.first = it->target;
    else if (tg->top)
        p = (item_plan){tg->top, NULL, -1, true};
    else if (tg->n == 1)
        p.first = tg->v[0];
    else if (tg->n > 1)
        p = (item_plan){tg->n, tg->v, -1, false};
    return p;
}

/* Records the files the run reads and claims every output it writes whose
 * name is known before the run ({target} unknown: CLI_WILD, claimed again
 * once known). Returns an exit code (refusals printed). */
static int claim_outputs(cli_guard *g, const cli_args *a, const cli_items *items, const char *method,
                         const cli_targets *tg, const cli_labels *lab, const cli_inside *ins)
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
    char path[4200], prev[3][4200];
    static const char *const opt_names[3] = {"-o", "--relevance-out", "--relevance-grad-out"};
    lrp_error err = {0};
    for (int i = 0; i < items->n && rc == EXIT_OK; i++) {
        const cli_item *it = &items->v[i];
        item_plan p = plan_of(tg, it);
        for (int s = 0; s < p.n && rc == EXIT_OK; s++) {
            cli_fields f = slot_fields(it, method, lab, &p, s, true);
            for (int k = 0; k < 3 && rc == EXIT_OK; k++) {
                const char *tmpl = k == 0   ? (a->heat.grid ? NULL : a->out)
                                   : k == 1 ? a->relevance_out
                                            : a->relevance_grad_out;
                if (!tmpl)
                    continue;
                if (cli_template_expand(tmpl, &f, path, sizeof path, &err) != LRP_OK) {
                    cli_error("%s: %s", it->path, err.message);
                    rc = EXIT_USAGE;
                    continue;
                }
                /* the targets of an input that only the run tells: their
                 * pattern once (they are told apart once known) */
                if (s > 0 && (strchr(path, CLI_WILD) || strchr(path, CLI_WILD_LABEL)) && !strcmp(path, prev[k]))
                    continue;
                snprintf(prev[k], sizeof prev[k], "%s", path);
                rc = cli_guard_output(g, opt_names[k], path, it->path);
            }
        }
    }
    /* --relevance-at files (one target per input) */
    for (int i = 0; i < items->n && rc == EXIT_OK; i++) {
        item_plan p = plan_of(tg, &items->v[i]);
        cli_fields f = slot_fields(&items->v[i], method, lab, &p, 0, true);
        for (int k = 0; k < ins->n_records && rc == EXIT_OK; k++) {
            if (cli_template_expand(ins->files[k], &f, path, sizeof path, &err) != LRP_OK) {
                cli_error("%s: %s", items->v[i].path, err.message);
                rc = EXIT_USAGE;
                continue;
            }
            rc = cli_guard_output(g, "--relevance-at", path, items->v[i].path);
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
    cli_labels lab;      /* --labels or the model's lrp.labels (labels, n_labels: its names) */
    char lab_what[4200]; /* how messages name them */
    cli_targets tg;      /* -t, --top */
    int64_t classes;     /* the model's, -1 until known */
    bool no_batch;       /* the model takes no batch of several copies */
    bool stop;           /* a run-wide error found with the first input */
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
    cli_relgrad rg;    /* --relevance-grad */
    cli_inside inside; /* --relevance-at, --condition */
    /* --batch: inputs per round (0: not chosen yet), the workers' explainers and attributions (WORKERS_MAX) */
    int batch, n_workers;
    lrp_explainer *wk_ex[64];
    attribution *wk_attr[64];
} explain_run;

/* One output of an input (one target) on its way through the run. */
typedef struct explain_item {
    cli_item *it;
    item_plan p;
    item_result res;
    cli_fields f;
    bool needs_target; /* an output name has a field only the forward pass tells */
    bool skip, out_fail, refused;
    lrp_tensor *x, *rel, *logits, *grad; /* x: the input's (shared by its targets, owned by the first) */
    lrp_image view, orig;                /* the same */
    lrp_raster *img;
} explain_item;

static void explain_item_free(explain_item *e)
{
    lrp_tensor_free(e->x);
    lrp_tensor_free(e->rel);
    lrp_tensor_free(e->logits);
    lrp_tensor_free(e->grad);
    lrp_image_free(&e->view);
    lrp_image_free(&e->orig);
    lrp_raster_free(e->img);
}

/* Reads the input into e. */
static lrp_status load_item(explain_run *r, explain_item *e, lrp_error *err)
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
    return st;
}

/* The classes by logit, largest first (ties by class number). */
static const lrp_real *sort_logits;
static int by_logit(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (sort_logits[x] != sort_logits[y])
        return sort_logits[x] < sort_logits[y] ? 1 : -1;
    return x < y ? -1 : x > y;
}

/* --top: the K best classes by the model's forward pass (fewer when the
 * model has fewer classes). */
static lrp_status top_targets(const lrp_tensor *logits, item_plan *p, int64_t *tg, lrp_error *err)
{
    int64_t C = logits->dims[1];
    int64_t *order = malloc(sizeof *order * (size_t)(C ? C : 1));
    if (!order)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int64_t c = 0; c < C; c++)
        order[c] = c;
    sort_logits = logits->data;
    qsort(order, (size_t)C, sizeof *order, by_logit);
    if (p->n > C)
        p->n = (int)C;
    for (int k = 0; k < p->n; k++)
        tg[k] = order[k];
    free(order);
    return LRP_OK;
}

/* With --skip-existing and names that only the forward pass tells: the names
 * under the forward pass's classes, and whether they all exist (then they
 * are claimed). The predicted class is taken only when no other class is
 * within float rounding of it. */
static bool skip_late(explain_run *r, explain_item *e, int K, const lrp_tensor *logits, const int64_t *tg,
                      lrp_error *err)
{
    bool all = true;
    for (int k = 0; k < K && all; k++) {
        cli_fields f = e[k].f;
        if (e[k].p.top) {
            f.target = tg[k];
        } else if (tg[k] < 0) {
            f.target = predicted_target(logits);
        } else {
            f.rank = rank_of(logits, tg[k]);
        }
        if (f.target < 0)
            return false;
        if (r->lab.n)
            f.label = f.target < r->lab.n ? r->lab.name[f.target] : "";
        all = outputs_exist(r->a, &f, &e[k].res, err);
    }
    for (int k = 0; k < K && all; k++)
        if (!claim_late(r->guard, r->a, e[k].it, &e[k].p, &e[k].res, err)) {
            e[0].refused = true;
            return false;
        }
    return all;
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
    lrp_seed seed = a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE;
    lrp_status st = r->rg.on ? cli_relgrad_run(&r->rg, r->cm.ex, e->x, e->f.target, seed, &e->rel, &e->logits,
                                               &e->res.target, &e->grad, err)
                             : attribution_run(r->cm.attr, e->x, e->f.target, seed, &e->rel, &e->logits,
                                               &e->res.target, NULL, err);
    if (st != LRP_OK)
        lrp_error_prefix(err, "%s", e->it->path);
    return st;
}

/* At most this many copies of an input go through the engine at once. */
#define TARGETS_PER_PASS 8

/* Sample b of a batch, as a tensor of the shape `like` (one sample). */
static lrp_tensor *sample_of(const lrp_tensor *batch, int64_t b, const lrp_tensor *like, lrp_error *err)
{
    lrp_tensor *t = lrp_tensor_new(LRP_REAL_DT, like->ndim, like->dims, err);
    if (t)
        memcpy(t->data, (const lrp_real *)batch->data + b * t->numel, sizeof(lrp_real) * (size_t)t->numel);
    return t;
}

/* The shape of a batch of n inputs shaped like x (which may lack the batch
 * dim the model has); returns its rank. */
static int batch_dims(const lrp_model_info *info, const lrp_tensor *x, int n, int64_t *dims)
{
    if (info->input_ndim > 0 && x->ndim == info->input_ndim - 1) { /* no batch dim */
        dims[0] = n;
        memcpy(dims + 1, x->dims, sizeof(int64_t) * (size_t)x->ndim);
        return x->ndim + 1;
    }
    memcpy(dims, x->dims, sizeof(int64_t) * LRP_MAX_DIMS);
    dims[0] = n;
    return x->ndim;
}

/* Whether the targets of an input run as batches: one forward pass, one
 * sweep for several targets (lrp_explain_targets), for the attributors
 * that are one sweep of the composite. */
static bool targets_batch(const explain_run *r)
{
    lrp_attributor_kind k = r->ac.o.kind;
    return !r->no_batch && !r->rg.on && (k == LRP_ATTRIBUTOR_GRADIENT || k == LRP_ATTRIBUTOR_INPUT_X_GRADIENT);
}

/* Whether --top's classes come from the explanation's own forward pass (the
 * first batch fills them in) rather than a forward pass before it. */
static bool top_in_pass(const explain_run *r) { return targets_batch(r) && r->classes > 0; }

static double available_memory(void);

/* How many samples like x to run at once: want, but no more than a quarter
 * of the available memory holds at lrp_explainer_sample_bytes each (2 GB
 * taken as available when /proc does not say), at least 1; 0 when the model
 * does not take x. */
static int fit_memory(explain_run *r, const lrp_tensor *x, int want)
{
    lrp_error err = {0};
    double per = lrp_explainer_sample_bytes(r->cm.ex, x, &err), avail = available_memory();
    if (per < 0)
        return 0;
    double n = per > 0 ? (avail > 0 ? avail : 2e9) / 4.0 / per : want; /* 0: the shapes are not known */
    return n >= want ? want : n >= 1 ? (int)n : 1;
}

/* Targets per pass: TARGETS_PER_PASS as memory allows. */
static int targets_per_pass(explain_run *r, const lrp_tensor *x)
{
    int n = fit_memory(r, x, TARGETS_PER_PASS);
    return n > 0 ? n : 1; /* a model that does not take x fails in the pass */
}

/* Targets k0..k0+n-1 of the input e[0].x in one pass; top > 0 (the first
 * pass of --top with its classes still to find): tg[0..top-1] filled in. */
static lrp_status run_batch(explain_run *r, explain_item *e, int k0, int n, int64_t *tg, int top, lrp_error *err)
{
    const lrp_tensor *x = e[0].x;
    lrp_tensor *rel = NULL, *logits = NULL;
    lrp_status st = attribution_run_targets(r->cm.attr, x, n, tg + k0, top,
                                            r->a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE, &rel, &logits, err);
    for (int i = 0; i < n && st == LRP_OK; i++) {
        explain_item *s = &e[k0 + i];
        s->res.target = tg[k0 + i];
        if (!(s->rel = sample_of(rel, i, x, err)) || !(s->logits = lrp_tensor_clone(logits, err)))
            st = err->status;
    }
    lrp_tensor_free(rel);
    lrp_tensor_free(logits);
    return st;
}

/* Every target of an input: the first alone as before, several in batches
 * (one by one for a model that takes no batch). */
static lrp_status run_targets(explain_run *r, explain_item *e, int K, int64_t *tg, lrp_error *err)
{
    bool top = e[0].p.top && tg[0] < 0; /* --top, its classes not found yet */
    if (K == 1 && !top)
        return run_item(r, e, err);
    /* (--relevance-grad runs one target at a time: run_item computes G) */
    bool batched = targets_batch(r);
    int per = batched ? targets_per_pass(r, e[0].x) : 1;
    lrp_status st = LRP_OK;
    for (int k = 0; k < K && st == LRP_OK;) {
        int n = K - k < per ? K - k : per;
        if (batched && (n > 1 || top)) {
            st = run_batch(r, e, k, n, tg, top ? K : 0, err);
            if ((st == LRP_ERR_SHAPE || st == LRP_ERR_UNSUPPORTED) && n > 1) { /* e.g. a Reshape to a batch of one */
                r->no_batch = true;
                per = 1;
                st = LRP_OK;
                lrp_error_clear(err);
                continue;
            }
            if (st != LRP_OK)
                lrp_error_prefix(err, "%s", e[0].it->path);
            top = false;
            k += n;
            continue;
        }
        explain_item *s = &e[k];
        if (k > 0)
            s->x = e[0].x;
        s->f.target = tg[k];
        st = run_item(r, s, err);
        if (k > 0)
            s->x = NULL;
        k++;
    }
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
static lrp_status write_item(explain_run *r, explain_item *e, int k, lrp_error *err)
{
    const cli_args *a = r->a;
    item_result *res = &e->res;
    lrp_status st = LRP_OK;
    if (e->logits->dims[1] <= res->target) /* cannot happen: the explanation checks it */
        return lrp_fail(err, LRP_ERR_INTERNAL, "%s: target %lld beyond the logits", e->it->path,
                        (long long)res->target);
    item_figures(e);
    e->f.target = res->target;
    res->rank = e->p.top ? k + 1 : plan_target(&e->p, k) < 0 ? 1 : rank_of(e->logits, res->target);
    e->f.rank = res->rank;
    res->label = r->lab.n ? (res->target < r->lab.n ? r->lab.name[res->target] : "") : NULL;
    e->f.label = res->label;
    /* the names, checked again when {target} was not known before */
    if (a->relevance_out)
        st = cli_template_expand(a->relevance_out, &e->f, res->rel_path, sizeof res->rel_path, err);
    if (st == LRP_OK && a->out && !a->heat.grid)
        st = cli_template_expand(a->out, &e->f, res->heat_path, sizeof res->heat_path, err);
    if (st == LRP_OK && e->needs_target && !claim_late(r->guard, a, e->it, &e->p, res, err)) {
        st = LRP_ERR_ARG;
        e->refused = true;
    }
    if (st == LRP_OK && a->relevance_out && (st = cli_write_output(res->rel_path, write_npy, e->rel, err)) != LRP_OK)
        e->out_fail = true;
    if (st == LRP_OK && e->grad) { /* --relevance-grad */
        res->has_grad = true;
        res->grad_norm = cli_relgrad_norm(e->grad);
        if (a->relevance_grad_out && ((st = cli_template_expand(a->relevance_grad_out, &e->f, res->grad_path,
                                                                sizeof res->grad_path, err)) != LRP_OK ||
                                      (st = cli_write_output(res->grad_path, write_npy, e->grad, err)) != LRP_OK))
            e->out_fail = true;
    }
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
        fprintf(txt, " logit %.4f, target %lld", res->logit, (long long)res->target);
        if (e->p.n > 1 || e->p.top) /* several targets: which one this is */
            fprintf(txt, "%s%s%s rank %lld", res->label ? " (" : "", res->label ? res->label : "",
                    res->label ? ")" : "", (long long)res->rank);
        fprintf(txt, ", relevance sum %.6g", res->rel_sum);
        if (res->heat_path[0])
            fprintf(txt, " -> %s", res->heat_path);
        if (res->rel_path[0])
            fprintf(txt, "%s%s", res->heat_path[0] ? ", " : " -> ", res->rel_path);
        fputc('\n', txt);
        fflush(txt);
    }
}

/* The first explanation of a model whose number of classes was not known
 * before: the checks of check_classes. */
static bool classes_known(explain_run *r, const lrp_tensor *logits)
{
    if (r->classes >= 0)
        return true;
    r->classes = logits->dims[1];
    progress_clear(&r->prog);
    return (!r->lab.n || cli_labels_check(&r->lab, r->lab_what, r->classes) == EXIT_OK) &&
           cli_targets_check(&r->tg, r->classes) == EXIT_OK;
}

/* One input on its way through the run: its outputs (one per target), what
 * was read, and how far it got. */
typedef struct explain_job {
    cli_item *it;
    explain_item *e;
    int64_t *tg;
    int K, n_alloc;
    bool skip;
    lrp_status st;
    lrp_error err;
    double t0, load_s;
    double seconds; /* explained in a batch: its share of the pass and its own reading; < 0 otherwise */
    int batch;      /* the inputs of the engine pass that explained it (0: one at a time) */
} explain_job;

/* Reads an input and decides whether it runs: skipped (--skip-existing),
 * failed already (j->st), or ready for run_targets. Returns false when out of
 * memory (reported). */
static bool job_begin(explain_run *r, cli_item *it, explain_job *j)
{
    const cli_args *a = r->a;
    item_plan p = plan_of(&r->tg, it);
    if (p.top && r->classes > 0 && p.n > r->classes) /* --top beyond the classes */
        p.n = (int)r->classes;
    int K = p.n, n_alloc = K;
    explain_item *e = calloc((size_t)K, sizeof *e);
    int64_t *tg = calloc((size_t)K, sizeof *tg);
    lrp_tensor *logits0 = NULL;
    if (!e || !tg) {
        free(e);
        free(tg);
        progress_clear(&r->prog);
        cli_error("out of memory");
        r->internal++;
        return false;
    }
    /* --skip-existing: when every output exists under the name a fresh run
     * gives it; a name that needs the forward pass gets it first */
    bool skipping = a->skip_existing && (a->out || a->relevance_out) && !a->heat.grid;
    bool late = (!a->heat.grid && tmpl_late(a->out, &p)) || tmpl_late(a->relevance_out, &p);
    bool skip = skipping && !late;
    lrp_error err = {0};
    for (int k = 0; k < K; k++) {
        tg[k] = plan_target(&p, k);
        e[k] = (explain_item){.it = it, .p = p, .needs_target = late};
        e[k].f = slot_fields(it, r->method, &r->lab, &p, k, false);
        if (skip)
            skip = outputs_exist(a, &e[k].f, &e[k].res, &err);
    }
    if (!skip) {
        for (int k = 0; k < K; k++)
            e[k].res.heat_path[0] = e[k].res.rel_path[0] = '\0';
        lrp_error_clear(&err);
    }
    double t0 = now_s();
    lrp_status st = skip ? LRP_OK : load_item(r, &e[0], &err);
    if (!skip && st == LRP_OK && ((p.top && !top_in_pass(r)) || (skipping && late))) {
        st = lrp_model_run(r->cm.model, e[0].x, &logits0, &err);
        if (st != LRP_OK)
            lrp_error_prefix(&err, "%s", it->path);
        if (st == LRP_OK && p.top && (st = top_targets(logits0, &p, tg, &err)) == LRP_OK)
            for (int k = 0; k < K; k++)
                e[k].p = p;
        K = p.n;
        if (st == LRP_OK && skipping && late) {
            skip = skip_late(r, e, K, logits0, tg, &err);
            if (e[0].refused)
                st = LRP_ERR_ARG;
            else if (!skip) {
                for (int k = 0; k < K; k++)
                    e[k].res.heat_path[0] = e[k].res.rel_path[0] = '\0';
                lrp_error_clear(&err);
            }
        }
    }
    lrp_tensor_free(logits0);
    *j = (explain_job){it, e, tg, K, n_alloc, skip, st, err, t0, now_s() - t0, -1, 0};
    return true;
}

/* An input after its run: skipped, its outputs written, or its error. */
static void job_end(explain_run *r, explain_job *j)
{
    const cli_args *a = r->a;
    explain_item *e = j->e;
    int K = j->K;
    if (j->skip) {
        progress_skipped(&r->prog);
        for (int k = 0; k < K && a->json; k++)
            print_json(j->it, "skipped", NULL, &e[k].res, r->method, r->labels, r->n_labels);
    } else if (j->st == LRP_OK && !classes_known(r, e[0].logits)) {
        r->stop = true; /* printed */
        r->refused++;
    } else if (j->st == LRP_OK) {
        double seconds = j->seconds >= 0 ? j->seconds : (now_s() - j->t0) / K;
        for (int k = 0; k < K; k++) {
            if (k > 0) { /* the input and its views are the first one's */
                e[k].x = e[0].x;
                e[k].view = e[0].view;
                e[k].orig = e[0].orig;
            }
            lrp_error ek = {0};
            lrp_status sk = write_item(r, &e[k], k, &ek);
            if (sk == LRP_OK && r->inside.n_records && /* --relevance-at (one target: sample 0) */
                (sk = cli_inside_write(&r->inside, r->cm.ex, 0, &e[k].f, &ek)) != LRP_OK)
                e[k].out_fail = true;
            e[k].res.seconds = seconds;
            e[k].res.batch = j->batch > 0 ? j->batch : 1;
            report_item(r, &e[k], sk, &ek);
            if (k > 0) {
                e[k].x = NULL;
                e[k].view = e[k].orig = (lrp_image){0};
            }
        }
    } else {
        e[0].res.seconds = now_s() - j->t0;
        report_item(r, &e[0], j->st, &j->err);
    }
    for (int k = 0; k < K; k++)
        explain_item_free(&e[k]);
    for (int k = K; k < j->n_alloc; k++) /* --top beyond the classes */
        explain_item_free(&e[k]);
    free(e);
    free(j->tg);
    j->e = NULL;
    j->tg = NULL;
}

/* Explains one input for each of its targets: skipped (--skip-existing),
 * explained and written, or failed. */
static void explain_one(explain_run *r, cli_item *it)
{
    explain_job j;
    if (!job_begin(r, it, &j))
        return;
    if (!j.skip && j.st == LRP_OK)
        j.st = run_targets(r, j.e, j.K, j.tg, &j.err);
    job_end(r, &j);
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
    r->need_view = cli_heat_needs_image(&a->heat);
    return EXIT_OK;
}

/* Targets and labels ------------------------------------------------------ */

/* The checks of -t, --top and the output names before anything is read:
 * several targets of an input need names that tell them apart. */
static int check_targets(const explain_run *r, bool heat_stdout, bool rel_stdout)
{
    const cli_args *a = r->a;
    bool several = r->tg.top > 1 || r->tg.n > 1;
    if (a->out && cli_template_has(a->out, "{label}") && !r->lab.n) {
        cli_error("-o %s: {label} needs --labels FILE (or the model's metadata lrp.labels)", a->out);
        return EXIT_USAGE;
    }
    if (a->relevance_out && cli_template_has(a->relevance_out, "{label}") && !r->lab.n) {
        cli_error("--relevance-out %s: {label} needs --labels FILE (or the model's metadata lrp.labels)",
                  a->relevance_out);
        return EXIT_USAGE;
    }
    if (!several)
        return EXIT_OK;
    if (a->check) {
        cli_error("--check follows one target: give one -t (or no --top)");
        return EXIT_USAGE;
    }
    for (int k = 0; k < 2; k++) {
        const char *t = k == 0 ? (a->heat.grid ? NULL : a->out) : a->relevance_out;
        bool std = k == 0 ? heat_stdout : rel_stdout;
        if (t && (std ||
                  !(cli_template_has_target(t) || cli_template_has(t, "{rank}") || cli_template_has(t, "{label}")))) {
            cli_error("%s %s: with several targets per input, use a template with {target}, {rank} or {label}, "
                      "such as 'out/{stem}-{target}.png'%s",
                      k == 0 ? "-o" : "--relevance-out", t, k == 0 ? " (or --grid)" : "");
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

/* Once the model is loaded, before the first input: its number of classes
 * against the labels, -t and the --list lines' targets. */
static int check_classes(explain_run *r, cli_items *items)
{
    r->classes = lrp_model_classes(r->cm.model);
    int rc = EXIT_OK;
    if (r->lab.n && (rc = cli_labels_check(&r->lab, r->lab_what, r->classes)) != EXIT_OK)
        return rc;
    if ((rc = cli_targets_check(&r->tg, r->classes)) != EXIT_OK)
        return rc;
    for (int i = 0; i < items->n && r->classes >= 0; i++) {
        cli_item *it = &items->v[i];
        char msg[4400];
        if (it->error || it->target < r->classes)
            continue;
        snprintf(msg, sizeof msg, "%s: target %lld is out of range: the model has %lld classes", it->path,
                 (long long)it->target, (long long)r->classes);
        if (!(it->error = strdup(msg))) {
            cli_error("out of memory");
            return EXIT_INTERNAL;
        }
    }
    return EXIT_OK;
}

/* Batches of inputs (--batch) ----------------------------------------------
 *
 * Inputs with one target each, of the same shape, go through the engine N at
 * a time: every kernel treats the samples of a batch apart (lrp's GEMMs sum
 * every element in the same order at any width), so each input gets the
 * bytes it gets alone. Inputs that fail to read, are skipped, or have several
 * targets take their turn in order; a batch that fails runs again one input
 * at a time, so that each gets its own result or error (and a model that
 * takes no batch, such as a Reshape to a batch of 1, then runs one at a time
 * for the rest of the run). */

/* At most this many inputs wait for a batch (failed and skipped ones too). */
#define QUEUE_MAX 128
/* At most this many workers share a batch. */
#define WORKERS_MAX 64

typedef struct job_queue {
    explain_job v[QUEUE_MAX];
    int n;     /* jobs, in order */
    int ready; /* of them, inputs waiting for the pass (all of one shape) */
} job_queue;

/* Whether the attribution of an input is one engine pass of the explainer
 * over it, and so can share it with other inputs. */
static bool method_batches(const explain_run *r)
{
    lrp_attributor_kind k = r->ac.o.kind;
    return k == LRP_ATTRIBUTOR_GRADIENT || k == LRP_ATTRIBUTOR_INPUT_X_GRADIENT || k == LRP_ATTRIBUTOR_GRAD_CAM ||
           k == LRP_ATTRIBUTOR_GRAD_CAM_PP;
}

/* The available memory (MemAvailable), in bytes; 0 if not known. */
static double available_memory(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    double kb = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024.0;
}

/* The inputs per round when --batch is 0: one per thread (-j, else the
 * CPUs), so that every worker has a pass of its own, but no more than a
 * quarter of the available memory holds at lrp_explainer_sample_bytes each
 * (2 GB taken as available when /proc does not say), and at most
 * BATCH_AUTO_MAX. 0 (not chosen yet) when the model does not take x. */
#define BATCH_AUTO_MAX 8
static int run_threads(const explain_run *r);
static int auto_batch(explain_run *r, const lrp_tensor *x)
{
    /* 0: an input the model does not take: it fails alone, and the next one chooses */
    return fit_memory(r, x, run_threads(r) < BATCH_AUTO_MAX ? run_threads(r) : BATCH_AUTO_MAX);
}

/* Whether the inputs of a run of n go through batches. */
static bool batching(const explain_run *r, int n)
{
    const cli_args *a = r->a;
    return n > 1 && a->batch != 1 && r->batch != 1 && !(a->batch == 0 && a->openblas) && !r->no_batch &&
           method_batches(r) && !r->rg.on && !a->check && !r->inside.n_records && !r->inside.n_conditions &&
           r->classes >= 0;
}

static bool job_ready(const explain_job *j) { return !j->skip && j->st == LRP_OK; }

static bool same_shape(const lrp_tensor *x, const lrp_tensor *y)
{
    return x->ndim == y->ndim && !memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)x->ndim);
}

/* The ready inputs of q in one pass. Returns its status (nothing is kept on
 * an error). */
static lrp_status run_stacked(const explain_run *r, attribution *attr, explain_job **jobs, int n, lrp_error *err)
{
    const lrp_tensor *x = jobs[0]->e[0].x;
    const lrp_model_info *info = lrp_model_get_info(r->cm.model);
    int64_t dims[LRP_MAX_DIMS];
    int nd = batch_dims(info, x, n, dims);
    int64_t *targets = calloc((size_t)n, sizeof *targets), *out = calloc((size_t)n, sizeof *out);
    lrp_tensor *xb = lrp_tensor_new(LRP_REAL_DT, nd, dims, err), *rel = NULL, *logits = NULL;
    lrp_status st = xb && targets && out ? LRP_OK : lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && st == LRP_OK; i++) {
        memcpy((lrp_real *)xb->data + (int64_t)i * x->numel, jobs[i]->e[0].x->data,
               sizeof(lrp_real) * (size_t)x->numel);
        targets[i] = jobs[i]->e[0].f.target;
    }
    if (st == LRP_OK)
        st = attribution_run_many(attr, xb, targets, r->a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE, &rel, &logits,
                                  out, err);
    lrp_tensor_free(xb);
    if (st == LRP_OK && (rel->ndim < 1 || rel->dims[0] != n || logits->dims[0] != n))
        st = lrp_fail(err, LRP_ERR_SHAPE, "the batch of %d came back as %lld", n, (long long)rel->dims[0]);
    /* one sample's shape: the input's for a gradient, grad-cam's map with a batch of one */
    bool cam = r->ac.o.kind == LRP_ATTRIBUTOR_GRAD_CAM || r->ac.o.kind == LRP_ATTRIBUTOR_GRAD_CAM_PP;
    lrp_tensor like = st == LRP_OK && cam ? *rel : *x;
    like.dims[0] = cam ? 1 : like.dims[0];
    int64_t C = logits ? logits->dims[1] : 0;
    lrp_tensor lone = {LRP_REAL_DT, 2, {1, C}, C, NULL};
    for (int i = 0; i < n && st == LRP_OK; i++) {
        explain_item *s = &jobs[i]->e[0];
        s->res.target = out[i];
        if (!(s->rel = sample_of(rel, i, &like, err)) || !(s->logits = sample_of(logits, i, &lone, err)))
            st = err->status;
    }
    for (int i = 0; i < n && st != LRP_OK; i++) { /* none kept */
        explain_item *s = &jobs[i]->e[0];
        lrp_tensor_free(s->rel);
        lrp_tensor_free(s->logits);
        s->rel = s->logits = NULL;
    }
    lrp_tensor_free(rel);
    lrp_tensor_free(logits);
    free(targets);
    free(out);
    return st;
}

/* The batch's workers: each explains its share of the inputs as one pass
 * with its own explainer (the model is shared), on threads of their own, so
 * that every core has a whole pass to run rather than a share of each
 * kernel; the threads (-j) are divided among them. */
typedef struct batch_worker {
    const explain_run *r;
    attribution *attr;
    explain_job **jobs;
    int n;
    lrp_status st; /* of the pass (the jobs keep nothing when it failed) */
    lrp_error err;
} batch_worker;

/* The threads of the run (-j, else the CPUs). */
static int run_threads(const explain_run *r)
{
    long n = r->a->threads > 0 ? r->a->threads : sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Makes the explainers of up to want workers (fewer when memory is short);
 * returns how many there are. */
static int workers_open(explain_run *r, int want)
{
    if (want > WORKERS_MAX)
        want = WORKERS_MAX;
    int T = run_threads(r);
    for (int w = r->n_workers; w < want; w++) {
        lrp_explain_options eo = r->cm.eo;
        eo.threads = T / want > 1 ? T / want : 1;
        lrp_error err = {0};
        lrp_explainer *ex = lrp_explainer_new(r->cm.model, &eo, &err);
        attribution *at = ex ? attribution_new(&r->ac, ex, r->cm.model, &r->cm.pp, &err) : NULL;
        if (!at) {
            lrp_explainer_free(ex);
            break;
        }
        r->wk_ex[w] = ex;
        r->wk_attr[w] = at;
        r->n_workers = w + 1;
    }
    return r->n_workers;
}

static void workers_close(explain_run *r)
{
    for (int w = 0; w < r->n_workers; w++) {
        attribution_free(r->wk_attr[w]);
        lrp_explainer_free(r->wk_ex[w]);
    }
    r->n_workers = 0;
}

static void *worker_main(void *arg)
{
    batch_worker *w = arg;
    w->st = w->n > 1 ? run_stacked(w->r, w->attr, w->jobs, w->n, &w->err)
                     : attribution_run(w->attr, w->jobs[0]->e[0].x, w->jobs[0]->e[0].f.target,
                                       w->r->a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE, &w->jobs[0]->e[0].rel,
                                       &w->jobs[0]->e[0].logits, &w->jobs[0]->e[0].res.target, NULL, &w->err);
    return NULL;
}

/* One round: W workers at once, n inputs each (one shape for all, as the
 * model asks of calls that overlap). Failed passes leave their jobs ready. */
static void run_round(explain_run *r, explain_job **jobs, int W, int n, lrp_status *fail_st)
{
    batch_worker bw[WORKERS_MAX];
    pthread_t tid[WORKERS_MAX];
    bool started[WORKERS_MAX] = {false};
    /* the shapes for this batch, inferred before the threads start */
    const lrp_tensor *x = jobs[0]->e[0].x;
    const lrp_model_info *info = lrp_model_get_info(r->cm.model);
    int64_t dims[LRP_MAX_DIMS];
    int nd = x->ndim;
    memcpy(dims, x->dims, sizeof dims);
    if (info->input_ndim > 0 && x->ndim == info->input_ndim - 1) { /* no batch dim */
        memmove(dims + 1, dims, sizeof(int64_t) * (LRP_MAX_DIMS - 1));
        nd++;
    }
    dims[0] = n;
    lrp_error err = {0};
    lrp_model_prepare_for(r->cm.model, nd, dims, &err); /* an error: the passes say it */
    for (int w = 0; w < W; w++) {
        bw[w] = (batch_worker){r, r->wk_attr[w], jobs + w * n, n, LRP_OK, {0}};
        if (w > 0)
            started[w] = pthread_create(&tid[w], NULL, worker_main, &bw[w]) == 0;
    }
    worker_main(&bw[0]);
    for (int w = 1; w < W; w++) {
        if (started[w])
            pthread_join(tid[w], NULL);
        else /* no thread: in turn, after the others */
            worker_main(&bw[w]);
    }
    for (int w = 0; w < W; w++) {
        for (int i = 0; i < n; i++)
            bw[w].jobs[i]->batch = bw[w].st == LRP_OK ? n : 0;
        if (bw[w].st == LRP_OK)
            continue;
        if (n > 1 && *fail_st == LRP_OK)
            *fail_st = bw[w].st;
        if (n == 1) { /* a pass of one input: its own result */
            bw[w].jobs[0]->st = bw[w].st;
            bw[w].jobs[0]->err = bw[w].err;
            lrp_error_prefix(&bw[w].jobs[0]->err, "%s", bw[w].jobs[0]->it->path);
            bw[w].jobs[0]->batch = 1;
        }
    }
}

/* The n ready inputs: a round of W workers with n / W inputs each, then the
 * rest one input per worker; inputs whose pass failed run again one at a
 * time, so that each gets its own result or error. */
static void run_ready(explain_run *r, explain_job **jobs, int n)
{
    int W = workers_open(r, n < run_threads(r) ? n : run_threads(r));
    if (W < 1) { /* no memory for a worker: one at a time */
        for (int i = 0; i < n; i++)
            jobs[i]->st = run_targets(r, jobs[i]->e, jobs[i]->K, jobs[i]->tg, &jobs[i]->err);
        return;
    }
    double t0 = now_s();
    int per = n / W, done = per * W;
    lrp_status fail_st = LRP_OK, ignored = LRP_OK;
    run_round(r, jobs, W, per, &fail_st);
    for (int i = done; i < n; i += W) /* the rest, one each */
        run_round(r, jobs + i, n - i < W ? n - i : W, 1, &fail_st);
    explain_job *again[QUEUE_MAX];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (jobs[i]->st == LRP_OK && jobs[i]->batch == 0)
            again[m++] = jobs[i];
    for (int i = 0; i < m; i += W)
        run_round(r, again + i, m - i < W ? m - i : W, 1, &ignored);
    bool ok_alone = false;
    for (int i = 0; i < m; i++)
        ok_alone = ok_alone || again[i]->st == LRP_OK;
    if (fail_st == LRP_ERR_SHAPE && ok_alone)
        r->no_batch = true; /* the model takes no batch (a Reshape to a batch of 1) */
    double share = (now_s() - t0) / n;
    for (int i = 0; i < n; i++)
        jobs[i]->seconds = jobs[i]->load_s + share;
}

/* Runs the inputs waiting in q (batched when there are several), then ends
 * every job in order. */
static void queue_flush(explain_run *r, job_queue *q)
{
    explain_job *ready[QUEUE_MAX];
    int n = 0;
    for (int i = 0; i < q->n; i++)
        if (job_ready(&q->v[i]))
            ready[n++] = &q->v[i];
    if (n == 1) /* alone, as without --batch */
        ready[0]->st = run_targets(r, ready[0]->e, ready[0]->K, ready[0]->tg, &ready[0]->err);
    else if (n > 1)
        run_ready(r, ready, n);
    for (int i = 0; i < q->n; i++)
        job_end(r, &q->v[i]);
    q->n = q->ready = 0;
}

/* Reads an input and queues it for a batch, or ends it at once (skipped,
 * failed, or with several targets) when nothing waits before it. */
static void queue_add(explain_run *r, job_queue *q, cli_item *it)
{
    explain_job *j = &q->v[q->n];
    if (!job_begin(r, it, j))
        return;
    bool ready = job_ready(j) && j->K == 1;
    if (ready && r->batch == 0) /* the first batch: its size */
        r->batch = r->a->batch > 0 ? r->a->batch : auto_batch(r, j->e[0].x);
    if (ready && q->ready > 0) {
        const explain_job *first = NULL;
        for (int i = 0; i < q->n && !first; i++)
            first = job_ready(&q->v[i]) ? &q->v[i] : NULL;
        if (!same_shape(first->e[0].x, j->e[0].x)) { /* inputs of another shape: another batch */
            explain_job keep = *j;
            queue_flush(r, q);
            q->v[0] = keep;
            j = &q->v[0];
        }
    }
    if (job_ready(j) && !ready) { /* several targets: a pass of their own, in turn */
        explain_job keep = *j;
        queue_flush(r, q);
        keep.st = run_targets(r, keep.e, keep.K, keep.tg, &keep.err);
        job_end(r, &keep);
        return;
    }
    if (!ready && q->ready == 0) { /* skipped or failed, and nothing waits before it */
        explain_job keep = *j;
        queue_flush(r, q);
        job_end(r, &keep);
        return;
    }
    q->n++;
    q->ready += ready;
    if (q->ready >= r->batch || q->n == QUEUE_MAX)
        queue_flush(r, q);
}

static int explain_items(explain_run *r, cli_items *items)
{
    const cli_args *a = r->a;
    progress_start(&r->prog, items->n, a->quiet);
    progress_set_steps(&r->prog, items->n == 1);
    job_queue q = {0};
    for (int i = 0; i < items->n && !r->stop; i++) {
        progress_update(&r->prog, i, items->v[i].path);
        r->sp.index = i;
        r->sp.name = items->v[i].path;
        if (!batching(r, items->n)) {
            queue_flush(r, &q);
            explain_one(r, &items->v[i]);
        } else {
            queue_add(r, &q, &items->v[i]);
        }
    }
    queue_flush(r, &q);
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
    if ((rc = attribution_config_from_args(a, &r.ac)) != EXIT_OK ||
        (rc = cli_relgrad_open(a, a->attributor, &r.rg)) != EXIT_OK)
        return rc;
    /* {method}, known before the model is loaded (as cli_method_open will set it) */
    char method_buf[160];
    snprintf(method_buf, sizeof method_buf, "%s",
             attribution_method_name(&r.ac, a->has_composite || r.ac.o.kind == LRP_ATTRIBUTOR_GRADIENT
                                                ? a->explain.composite
                                                : "gradient"));
    cli_items items = {0};
    if ((rc = cli_labels_open(a->labels, a->pos[0], &r.lab, r.lab_what, sizeof r.lab_what)) != EXIT_OK)
        goto done;
    r.labels = r.lab.n ? r.lab.name : NULL;
    r.n_labels = r.lab.n;
    if ((rc = cli_targets_parse(a, r.lab.n ? &r.lab : NULL, r.lab_what, &r.tg)) != EXIT_OK ||
        (rc = check_targets(&r, heat_stdout, rel_stdout)) != EXIT_OK)
        goto done;
    if ((rc = cli_inside_parse(a, &r.inside)) != EXIT_OK)
        goto done;
    if ((r.inside.n_records || r.inside.n_conditions) && r.ac.o.kind != LRP_ATTRIBUTOR_GRADIENT) {
        cli_error("--relevance-at and --condition apply to the composite alone, not to --attributor %s", r.ac.name);
        rc = EXIT_USAGE;
        goto done;
    }
    if ((r.inside.n_records || r.inside.n_conditions) && (r.tg.top > 1 || r.tg.n > 1)) {
        cli_error("--relevance-at and --condition follow one target: give one -t (or no --top)");
        rc = EXIT_USAGE;
        goto done;
    }
    if (!(r.guard = cli_guard_new())) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    cli_own_outputs own = {0, {NULL, NULL}, method_buf, r.tg.n == 1 && !r.tg.top ? r.tg.v[0] : -1};
    if (a->out && !heat_stdout)
        own.tmpl[own.n++] = a->out;
    if (a->relevance_out && !rel_stdout)
        own.tmpl[own.n++] = a->relevance_out;
    if ((rc = cli_gather_items(a, 1, &own, &items)) != EXIT_OK ||
        (rc = check_item_count(a, items.n, heat_fields, rel_fields, heat_stdout, rel_stdout)) != EXIT_OK ||
        (rc = cli_inside_check_count(&r.inside, items.n)) != EXIT_OK)
        goto done;
    if (r.tg.from_dir && (rc = cli_targets_from_dir(a, &items, r.lab.n ? &r.lab : NULL, r.lab_what)) != EXIT_OK)
        goto done;
    /* every output is checked before anything is written */
    if ((rc = claim_outputs(r.guard, a, &items, method_buf, &r.tg, &r.lab, &r.inside)) != EXIT_OK)
        goto done;
    cli_guard_set_running(r.guard);
    if ((rc = explain_open(&r)) == EXIT_OK && (rc = check_classes(&r, &items)) == EXIT_OK) {
        if (!a->out && !a->relevance_out && !a->relevance_grad_out && !a->json && !a->check && !a->quiet)
            cli_error("note: no -o or --relevance-out: nothing will be written (-o 'out/{stem}.png' writes heatmaps)");
        rc = explain_items(&r, &items);
    }
done:
    cli_guard_free(r.guard);
    cli_relgrad_close(&r.rg);
    if (r.heat_ready)
        cli_heat_free(&r.heat);
    workers_close(&r);
    cli_method_close(&r.cm);
    cli_items_free(&items);
    cli_labels_free(&r.lab);
    cli_targets_free(&r.tg);
    cli_inside_free(&r.inside);
    return rc;
}
