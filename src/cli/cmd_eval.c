/* lrp eval: region perturbation curves and AOPC for an attribution method. */
#include "cli/attribution.h"
#include "cli/common.h"
#include "lrp.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const order_names[2] = {"morf", "lerf"};

/* One eval run: the method, the perturbation and the scores of every item. */
typedef struct eval_run {
    const cli_args *a;
    attribution_config ac;
    cli_method cm;
    lrp_perturb_options po;
    int orders[2], n_orders;
    bool have[2]; /* by lrp_perturb_order */
    const char *method;
    lrp_real *curve; /* (steps + 1) per order */
    double *aopc;    /* 2 per item, by order */
    int64_t *tgt;
    bool *ok;
    double sums[2];
    int n_ok, failed, internal;
    progress prog;
} eval_run;

static lrp_real *curve_of(const eval_run *r, int oi) { return r->curve + (size_t)oi * (size_t)(r->po.steps + 1); }

/* The curves and AOPCs of item i, both orders before anything is reported,
 * so that an item is reported as ok or as an error, never as a half-written ok. */
static lrp_status eval_item(eval_run *r, const cli_item *it, int i, int *Ks, lrp_error *err)
{
    const cli_args *a = r->a;
    const lrp_model_info *info = lrp_model_get_info(r->cm.model);
    lrp_tensor *x = NULL, *rel = NULL, *logits = NULL;
    int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : -1;
    lrp_status st = cli_eval_input(&r->cm, it, &x, err);
    if (st == LRP_OK)
        st = attribution_run(r->cm.attr, x, target, a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE, &rel, &logits,
                             &r->tgt[i], NULL, err);
    if (st == LRP_OK) /* grad-cam's map: in every channel */
        st = cli_spread_map(&rel, x, info->layout == LRP_LAYOUT_NHWC, err);
    for (int oi = 0; oi < r->n_orders && st == LRP_OK; oi++) {
        r->po.order = (lrp_perturb_order)r->orders[oi];
        st = lrp_region_perturbation(r->cm.model, x, rel, r->tgt[i], &r->po, curve_of(r, oi), &Ks[oi], err);
        if (st == LRP_OK)
            r->aopc[2 * i + r->orders[oi]] = lrp_aopc(curve_of(r, oi), Ks[oi]);
    }
    if (st != LRP_OK && !strstr(err->message, it->path))
        lrp_error_prefix(err, "%s", it->path); /* name the input, as explain does */
    lrp_tensor_free(x);
    lrp_tensor_free(rel);
    lrp_tensor_free(logits);
    return st;
}

static void report_ok(eval_run *r, const cli_item *it, int i, const int *Ks)
{
    const cli_args *a = r->a;
    json j;
    if (a->json) {
        json_begin(&j, stdout);
        json_str(&j, "input", it->path);
        json_int(&j, "index", it->index);
        json_str(&j, "status", "ok");
        json_str(&j, "method", r->method);
        json_int(&j, "target", r->tgt[i]);
    }
    for (int oi = 0; oi < r->n_orders; oi++) {
        const lrp_real *cv = curve_of(r, oi);
        const char *name = order_names[r->orders[oi]];
        if (a->json) {
            json_arr(&j, name);
            for (int k = 0; k <= Ks[oi]; k++)
                json_num(&j, NULL, cv[k]);
            json_arr_end(&j);
            char key[32];
            snprintf(key, sizeof key, "aopc_%s", name);
            json_num(&j, key, r->aopc[2 * i + r->orders[oi]]);
        } else if (!a->quiet) {
            progress_clear(&r->prog);
            for (int k = 0; k <= Ks[oi]; k++)
                printf("%s,%s,%lld,%s,%d,%.7g,%.7g\n", it->path, r->method, (long long)r->tgt[i], name, k, cv[k],
                       cv[0] - cv[k]);
        }
    }
    r->ok[i] = true;
    r->n_ok++;
    for (int oi = 0; oi < r->n_orders; oi++)
        r->sums[r->orders[oi]] += r->aopc[2 * i + r->orders[oi]];
    if (a->json) {
        if (r->n_orders == 2)
            json_num(&j, "abpc", r->aopc[2 * i] - r->aopc[2 * i + 1]);
        json_end(&j);
    }
}

/* One CSV row: label, method, then the two AOPCs (empty when not run) and the ABPC. */
static void print_row(const eval_run *r, const char *label, const char *target, const double *aopc, double abpc)
{
    printf("%s,%s,%s", label, r->method, target);
    for (int o = 0; o < 2; o++) {
        if (r->have[o])
            printf(",%.7g", aopc[o]);
        else
            printf(",");
    }
    printf(r->n_orders == 2 ? ",%.7g\n" : ",\n", abpc);
}

static void print_summary(const eval_run *r, const cli_items *items)
{
    if (r->a->json) {
        json j;
        json_begin(&j, stdout);
        json_str(&j, "summary", r->method);
        json_int(&j, "images", r->n_ok);
        for (int oi = 0; oi < r->n_orders; oi++) {
            char key[32];
            snprintf(key, sizeof key, "aopc_%s", order_names[r->orders[oi]]);
            json_num(&j, key, r->n_ok ? r->sums[r->orders[oi]] / r->n_ok : NAN);
        }
        if (r->n_orders == 2)
            json_num(&j, "abpc", r->n_ok ? (r->sums[0] - r->sums[1]) / r->n_ok : NAN);
        json_end(&j);
        return;
    }
    if (r->a->quiet)
        return;
    printf("\ninput,method,target,aopc_morf,aopc_lerf,abpc\n");
    for (int i = 0; i < items->n; i++) {
        if (!r->ok[i])
            continue;
        char target[32];
        snprintf(target, sizeof target, "%lld", (long long)r->tgt[i]);
        print_row(r, items->v[i].path, target, r->aopc + 2 * i, r->aopc[2 * i] - r->aopc[2 * i + 1]);
    }
    if (r->n_ok) {
        double mean[2] = {r->sums[0] / r->n_ok, r->sums[1] / r->n_ok};
        print_row(r, "mean", "", mean, (r->sums[0] - r->sums[1]) / r->n_ok);
    }
}

/* The method and the run's buffers, once the items are known; prints the CSV
 * header. Returns an exit code. */
static int eval_open(eval_run *r, const cli_items *items)
{
    int rc = cli_method_open(r->a, &r->ac, &r->cm);
    if (rc != EXIT_OK)
        return rc;
    const lrp_perturb_options *po = &r->po;
    if (!(r->curve = malloc(sizeof(lrp_real) * 2 * (size_t)(po->steps + 1)))) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    r->method = attribution_method_name(&r->ac, r->cm.eo.composite);
    if (!r->a->json && !r->a->quiet) {
        const char *baseline = po->baseline == LRP_PERTURB_ZERO   ? "zero"
                               : po->baseline == LRP_PERTURB_MEAN ? "mean"
                                                                  : "uniform";
        printf("# lrp eval: region perturbation, %dx%d regions, up to %d steps, baseline %s%s\n", po->patch, po->patch,
               po->steps, baseline, po->baseline == LRP_PERTURB_UNIFORM ? " (seeded by --seed)" : "");
        printf("input,method,target,order,step,logit,drop\n");
    }
    progress_start(&r->prog, items->n, r->a->quiet || r->a->json);
    size_t n = (size_t)(items->n ? items->n : 1);
    if (!(r->aopc = calloc(n * 2, sizeof(double))) || !(r->tgt = calloc(n, sizeof(int64_t))) ||
        !(r->ok = calloc(n, sizeof(bool)))) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    return EXIT_OK;
}

int cmd_eval(cli_args *a)
{
    if (a->mask) /* localisation against masks (cmd_eval_mask.c) */
        return cmd_eval_mask(a);
    if (a->mask_attribution || a->mask_abs || a->mask_no_model || a->fail_below.n) {
        cli_error("eval: --attribution, --abs, --no-model and --fail-below go with --mask");
        return EXIT_USAGE;
    }
    int rc = cli_need_args(a, a->list ? 1 : 2, -1, "MODEL INPUT...");
    if (rc)
        return rc;
    if (a->sensitivity)
        return cmd_eval_sensitivity(a);
    eval_run r = {.a = a};
    if ((rc = attribution_config_from_args(a, &r.ac)) != EXIT_OK)
        return rc;
    for (int o = 0; o < 2; o++)
        if ((r.have[o] = strcmp(a->order, order_names[1 - o]) != 0))
            r.orders[r.n_orders++] = o;
    r.po = a->perturb;
    r.po.seed = a->attr.seed;
    cli_items items = {0};
    if ((rc = cli_gather_items(a, 1, NULL, &items)) == EXIT_OK && (rc = eval_open(&r, &items)) == EXIT_OK) {
        for (int i = 0; i < items.n; i++) {
            cli_item *it = &items.v[i];
            progress_update(&r.prog, i, it->path);
            lrp_error err = {0};
            int Ks[2] = {0, 0};
            lrp_status st = eval_item(&r, it, i, Ks, &err);
            if (st == LRP_OK)
                report_ok(&r, it, i, Ks);
            else
                cli_item_failed(r.a, &r.prog, it, st, &err, &r.failed, &r.internal);
        }
        progress_done(&r.prog);
        print_summary(&r, &items);
        rc = r.internal ? EXIT_INTERNAL : r.failed ? EXIT_INPUT : EXIT_OK;
    }
    free(r.aopc);
    free(r.tgt);
    free(r.ok);
    free(r.curve);
    cli_method_close(&r.cm);
    cli_items_free(&items);
    return rc;
}
