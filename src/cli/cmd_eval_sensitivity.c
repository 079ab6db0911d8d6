/* lrp eval --sensitivity: how much an explanation moves when the input moves a
 * little. Quantus' MaxSensitivity (Yeh et al. 2019) with its defaults: for N
 * copies x' = x + d of the input, d uniform in [-R, R] on every value of the
 * model input, the largest ||A(x') - A(x)||_F / ||A(x)||_F, A being the
 * attribution of the target class of x (the full relevance, every channel, as
 * given; no normalisation, no absolute value). The plain gradient's
 * sensitivity over the same copies, and its norm at x, are reported beside it,
 * so that a user sees how robust the method is compared with the gradient. */
#include "cli/attribution.h"
#include "cli/common.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/progress.h"
#include "lrp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct sens_run {
    const cli_args *a;
    attribution_config ac;
    cli_method cm;
    lrp_explainer *grad; /* the plain gradient, on the same model */
    const char *method;
    double sums[3]; /* of the finite values: method, gradient, gradient norm */
    int counts[3];
    int n_ok, failed, internal;
    progress prog;
} sens_run;

typedef struct sens_result {
    int64_t target;
    double method, gradient, grad_norm;
} sens_result;

static double l2(const lrp_tensor *t)
{
    const lrp_real *v = t->data;
    double s = 0;
    for (int64_t i = 0; i < t->numel; i++)
        s += (double)v[i] * (double)v[i];
    return sqrt(s);
}

/* ||a - b|| / ||a||, NaN when a is zero and so is the difference (Quantus' nanmax then skips it). */
static double ratio(const lrp_tensor *a, const lrp_tensor *b, double norm_a)
{
    const lrp_real *u = a->data, *v = b->data;
    double s = 0;
    for (int64_t i = 0; i < a->numel; i++) {
        double d = (double)u[i] - (double)v[i];
        s += d * d;
    }
    return sqrt(s) / norm_a;
}

static double nanmax(double m, double v) { return isnan(v) ? m : (isnan(m) || v > m ? v : m); }

/* The input's copies are seeded by --seed and the item's position, so that a
 * run over many inputs gives each input the same noise as a run over it alone
 * would, at any thread count. */
static lrp_status sens_item(sens_run *r, const cli_item *it, int i, sens_result *res, lrp_error *err)
{
    const cli_args *a = r->a;
    const lrp_seed seed = a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE;
    lrp_tensor *x = NULL, *xp = NULL, *rel = NULL, *logits = NULL, *g = NULL, *relp = NULL, *gp = NULL;
    int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : -1;
    lrp_status st = cli_eval_input(&r->cm, it, &x, err);
    if (st == LRP_OK)
        st = attribution_run(r->cm.attr, x, target, seed, &rel, &logits, &res->target, NULL, err);
    if (st == LRP_OK)
        st = lrp_explain(r->grad, x, &res->target, LRP_SEED_ONE, &g, NULL, NULL, err);
    if (st == LRP_OK && !(xp = lrp_tensor_new(x->dtype, x->ndim, x->dims, err)))
        st = err->status;
    double norm_r = 0, norm_g = 0;
    res->method = res->gradient = NAN;
    if (st == LRP_OK) {
        norm_r = l2(rel);
        norm_g = l2(g);
        res->grad_norm = norm_g;
    }
    lrp_rng rng;
    lrp_rng_seed(&rng, a->attr.seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(it->index + 1)));
    const double R = a->radius;
    for (int s = 0; s < a->perturbations && st == LRP_OK; s++) {
        const lrp_real *xv = x->data;
        lrp_real *pv = xp->data;
        for (int64_t q = 0; q < x->numel; q++)
            pv[q] = (lrp_real)((double)xv[q] + R * (2.0 * lrp_rng_uniform(&rng) - 1.0));
        st = attribution_run(r->cm.attr, xp, res->target, seed, &relp, NULL, NULL, NULL, err);
        if (st == LRP_OK)
            st = lrp_explain(r->grad, xp, &res->target, LRP_SEED_ONE, &gp, NULL, NULL, err);
        if (st == LRP_OK) {
            res->method = nanmax(res->method, ratio(rel, relp, norm_r));
            res->gradient = nanmax(res->gradient, ratio(g, gp, norm_g));
        }
        lrp_tensor_free(relp);
        lrp_tensor_free(gp);
        relp = gp = NULL;
        progress_sub(&r->prog, i, s + 1, a->perturbations, it->path);
    }
    if (st != LRP_OK && !strstr(err->message, it->path))
        lrp_error_prefix(err, "%s", it->path); /* name the input, as explain does */
    lrp_tensor_free(x);
    lrp_tensor_free(xp);
    lrp_tensor_free(rel);
    lrp_tensor_free(logits);
    lrp_tensor_free(g);
    return st;
}

static void report_ok(sens_run *r, const cli_item *it, const sens_result *res)
{
    const double v[3] = {res->method, res->gradient, res->grad_norm};
    for (int k = 0; k < 3; k++)
        if (isfinite(v[k])) {
            r->sums[k] += v[k];
            r->counts[k]++;
        }
    r->n_ok++;
    if (r->a->json) {
        json j;
        json_begin(&j, stdout);
        json_str(&j, "input", it->path);
        json_int(&j, "index", it->index);
        json_str(&j, "status", "ok");
        json_str(&j, "method", r->method);
        json_int(&j, "target", res->target);
        json_num(&j, "max_sensitivity", res->method);
        json_num(&j, "gradient_max_sensitivity", res->gradient);
        json_num(&j, "gradient_norm", res->grad_norm);
        json_end(&j);
    } else if (!r->a->quiet) {
        progress_clear(&r->prog);
        printf("%s,%s,%lld,%.7g,%.7g,%.7g\n", it->path, r->method, (long long)res->target, res->method, res->gradient,
               res->grad_norm);
    }
}

static double mean_of(const sens_run *r, int k) { return r->counts[k] ? r->sums[k] / r->counts[k] : NAN; }

static void print_summary(const sens_run *r)
{
    if (r->a->json) {
        json j;
        json_begin(&j, stdout);
        json_str(&j, "summary", r->method);
        json_int(&j, "images", r->n_ok);
        json_num(&j, "max_sensitivity", mean_of(r, 0));
        json_num(&j, "gradient_max_sensitivity", mean_of(r, 1));
        json_num(&j, "gradient_norm", mean_of(r, 2));
        json_end(&j);
    } else if (!r->a->quiet && r->n_ok) {
        printf("mean,%s,,%.7g,%.7g,%.7g\n", r->method, mean_of(r, 0), mean_of(r, 1), mean_of(r, 2));
    }
}

static int sens_open(sens_run *r, const cli_items *items)
{
    int rc = cli_method_open(r->a, &r->ac, &r->cm);
    if (rc != EXIT_OK)
        return rc;
    lrp_explain_options go = r->cm.eo;
    go.composite = "gradient";
    lrp_error err = {0};
    if (!(r->grad = lrp_explainer_new(r->cm.model, &go, &err))) {
        cli_error("%s", err.message);
        return EXIT_MODEL;
    }
    r->method = attribution_method_name(&r->ac, r->cm.eo.composite);
    if (!r->a->json && !r->a->quiet) {
        printf("# lrp eval --sensitivity: max over %d inputs + uniform noise in [-%g, %g] of ||A(x') - A(x)|| / "
               "||A(x)|| (Quantus' MaxSensitivity; seeded by --seed)\n",
               r->a->perturbations, r->a->radius, r->a->radius);
        printf("input,method,target,max_sensitivity,gradient_max_sensitivity,gradient_norm\n");
    }
    progress_start(&r->prog, items->n, r->a->quiet || r->a->json);
    progress_set_steps(&r->prog, true);
    return EXIT_OK;
}

int cmd_eval_sensitivity(cli_args *a)
{
    sens_run r = {.a = a};
    int rc = attribution_config_from_args(a, &r.ac);
    if (rc != EXIT_OK)
        return rc;
    cli_items items = {0};
    if ((rc = cli_gather_items(a, 1, NULL, &items)) == EXIT_OK && (rc = sens_open(&r, &items)) == EXIT_OK) {
        for (int i = 0; i < items.n; i++) {
            cli_item *it = &items.v[i];
            progress_update(&r.prog, i, it->path);
            lrp_error err = {0};
            sens_result res = {.target = -1};
            lrp_status st = sens_item(&r, it, i, &res, &err);
            if (st == LRP_OK)
                report_ok(&r, it, &res);
            else
                cli_item_failed(r.a, &r.prog, it, st, &err, &r.failed, &r.internal);
        }
        progress_done(&r.prog);
        print_summary(&r);
        rc = r.internal ? EXIT_INTERNAL : r.failed ? EXIT_INPUT : EXIT_OK;
    }
    lrp_explainer_free(r.grad);
    cli_method_close(&r.cm);
    cli_items_free(&items);
    return rc;
}
