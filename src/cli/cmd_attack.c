/* lrp attack: Dombrowski et al.'s explanation manipulation (NeurIPS 2019):
 * an input x' close to x that keeps the model's output and whose explanation
 * map looks like a target map. h(x) = sum_c |R_c(x)| normalised to sum 1, R
 * the composite's relevance with the logit seed of x's predicted class (the
 * same class at every step); the loss
 *   W_e * MSE(h(x'), h_t) + W_o * MSE(softmax(f(x')), softmax(f(x)))
 * (MSE: the mean over the elements) is minimised by Adam (PyTorch's update,
 * lr 0.0002), its gradient through the explanation by the second order
 * (lrp_explain_relevance_grad with a cotangent function); after each step x'
 * is clamped per channel to the values pixels 0 and 1 (255) take after the
 * normalisation. Defaults are the reference code's (pankessel/
 * adv_explanation_ref): 1500 steps, W_e 1e11, W_o 1e6, and --beta-growth its
 * beta schedule 10 -> 100 for the beta-smooth composite. */
#include "cli/attribution.h"
#include "cli/common.h"
#include "cli/heatmap_out.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/outputs.h"
#include "cli/progress.h"
#include "lrp.h"
#include "lrp_render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The loss and the state of the maps and the outputs. */
typedef struct atk {
    int64_t C, HW, K; /* channels, pixels, classes */
    bool nhwc;        /* channels last */
    const double *ht; /* target map (HW), sum 1 */
    const double *p0; /* softmax of the original output (K) */
    double we, wo;    /* the two weights */
    double *h, *p;    /* the current map and softmax */
    double mse, out_mse, loss;
} atk;

static int64_t at(const atk *s, int64_t c, int64_t q) { return s->nhwc ? q * s->C + c : c * s->HW + q; }

/* h from R; false when R is zero everywhere (no map to normalise). */
static bool map_of(const atk *s, const lrp_real *R, double *h)
{
    double S = 0;
    for (int64_t q = 0; q < s->HW; q++) {
        double a = 0;
        for (int64_t c = 0; c < s->C; c++)
            a += fabs((double)R[at(s, c, q)]);
        h[q] = a;
        S += a;
    }
    if (!(S > 0))
        return false;
    for (int64_t q = 0; q < s->HW; q++)
        h[q] /= S;
    return true;
}

static void softmax(const lrp_real *z, int64_t K, double *p)
{
    double m = z[0], S = 0;
    for (int64_t k = 1; k < K; k++)
        m = z[k] > m ? z[k] : m;
    for (int64_t k = 0; k < K; k++)
        S += (p[k] = exp((double)z[k] - m));
    for (int64_t k = 0; k < K; k++)
        p[k] /= S;
}

/* The explanation term of the loss at R: the map, its MSE to h_t and, with u, dL/dR. */
static lrp_status loss_relevance(atk *s, const lrp_tensor *R, lrp_tensor *u, lrp_error *err)
{
    const lrp_real *r = R->data;
    if (!map_of(s, r, s->h))
        return lrp_fail(err, LRP_ERR_NUMERIC, "the relevance is zero everywhere: no explanation map to move");
    double S = 0;
    for (int64_t q = 0; q < s->HW; q++)
        for (int64_t c = 0; c < s->C; c++)
            S += fabs((double)r[at(s, c, q)]);
    s->mse = 0;
    for (int64_t q = 0; q < s->HW; q++)
        s->mse += (s->h[q] - s->ht[q]) * (s->h[q] - s->ht[q]);
    s->mse /= (double)s->HW;
    if (!u)
        return LRP_OK;
    /* dL/dh_q = g_q; h_q = a_q / S: dL/da_q = (g_q - sum_p g_p h_p) / S; da_q/dR_cq = sign(R_cq) */
    double gh = 0;
    for (int64_t q = 0; q < s->HW; q++)
        gh += 2.0 * s->we * (s->h[q] - s->ht[q]) / (double)s->HW * s->h[q];
    lrp_real *ud = u->data;
    for (int64_t q = 0; q < s->HW; q++) {
        double ga = (2.0 * s->we * (s->h[q] - s->ht[q]) / (double)s->HW - gh) / S;
        for (int64_t c = 0; c < s->C; c++) {
            int64_t i = at(s, c, q);
            ud[i] = (lrp_real)(r[i] > 0 ? ga : r[i] < 0 ? -ga : 0.0);
        }
    }
    return LRP_OK;
}

/* The output term at the logits: the softmax, its MSE to the original's and, with lu, dL/dlogits. */
static lrp_status loss_logits(atk *s, const lrp_tensor *logits, lrp_tensor *lu)
{
    softmax(logits->data, s->K, s->p);
    s->out_mse = 0;
    for (int64_t k = 0; k < s->K; k++)
        s->out_mse += (s->p[k] - s->p0[k]) * (s->p[k] - s->p0[k]);
    s->out_mse /= (double)s->K;
    if (!lu)
        return LRP_OK;
    /* dL/dp_k = w_k; through the softmax: p_k (w_k - sum_j p_j w_j) */
    double pw = 0;
    for (int64_t k = 0; k < s->K; k++)
        pw += s->p[k] * 2.0 * s->wo * (s->p[k] - s->p0[k]) / (double)s->K;
    lrp_real *l = lu->data;
    for (int64_t k = 0; k < s->K; k++)
        l[k] = (lrp_real)(s->p[k] * (2.0 * s->wo * (s->p[k] - s->p0[k]) / (double)s->K - pw));
    return LRP_OK;
}

static lrp_status loss_at(atk *s, const lrp_tensor *R, const lrp_tensor *logits, lrp_error *err)
{
    lrp_status st = loss_relevance(s, R, NULL, err);
    if (st == LRP_OK)
        st = loss_logits(s, logits, NULL);
    s->loss = s->we * s->mse + s->wo * s->out_mse;
    return st;
}

static lrp_status cotangent(void *ctx, const lrp_tensor *R, lrp_tensor *u, lrp_error *err)
{
    return loss_relevance(ctx, R, u, err);
}

static lrp_status logit_cotangent(void *ctx, const lrp_tensor *logits, lrp_tensor *lbar, lrp_error *err)
{
    (void)err;
    return loss_logits(ctx, logits, lbar);
}

static double pcc(const double *a, const double *b, int64_t n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* What one row of the log reports. */
typedef struct atk_row {
    int step;
    double loss, mse, pcc_t, pcc_0, l1, linf, seconds;
    int64_t top;
    double p_top;
} atk_row;

static void print_row(const cli_args *a, const atk_row *w, bool json_all)
{
    if (a->json) {
        json j;
        json_begin(&j, stdout);
        json_int(&j, "step", w->step);
        json_num(&j, "loss", w->loss);
        json_num(&j, "mse", w->mse);
        json_num(&j, "pcc_target", w->pcc_t);
        json_num(&j, "pcc_original", w->pcc_0);
        json_num(&j, "output_change", w->l1);
        json_int(&j, "class", w->top);
        json_num(&j, "probability", w->p_top);
        json_num(&j, "linf_levels", w->linf);
        json_num(&j, "seconds", w->seconds);
        json_end(&j);
    } else if (!a->quiet && !json_all) {
        printf("%d,%.4g,%.4g,%.4f,%.4f,%.3g,%lld,%.4f,%.2f,", w->step, w->loss, w->mse, w->pcc_t, w->pcc_0, w->l1,
               (long long)w->top, w->p_top, w->linf);
        if (isfinite(w->seconds))
            printf("%.3f\n", w->seconds);
        else
            printf("-\n");
    }
}

typedef struct image_ctx {
    const lrp_tensor *x;
    const lrp_preprocess *pp;
    int64_t C, H, W;
    bool nhwc;
} image_ctx;

/* The model's view of x as an 8-bit RGB (or gray) PNG: the normalisation undone, rounded. */
static lrp_status write_image(const char *path, void *ctx, lrp_error *err)
{
    const image_ctx *c = ctx;
    lrp_raster *r = lrp_raster_new((int)c->W, (int)c->H, c->C == 1 ? 1 : 3, err);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    const lrp_real *v = c->x->data;
    const double scale = c->pp->range255 ? 1.0 : 255.0;
    for (int64_t y = 0; y < c->H; y++)
        for (int64_t xx = 0; xx < c->W; xx++)
            for (int64_t ch = 0; ch < c->C && ch < 3; ch++) {
                int64_t q = y * c->W + xx;
                int64_t i = c->nhwc ? q * c->C + ch : ch * c->H * c->W + q;
                double px = ((double)v[i] * c->pp->std[ch] + c->pp->mean[ch]) * scale;
                px = px < 0 ? 0 : px > 255 ? 255 : px;
                int out_ch = c->pp->bgr && c->C == 3 ? 2 - (int)ch : (int)ch;
                r->data[(size_t)q * (size_t)r->channels + (size_t)out_ch] = (uint8_t)lround(px);
            }
    lrp_status st = lrp_png_write_rgb(path, r, err);
    lrp_raster_free(r);
    return st;
}

static lrp_status write_npy(const char *path, void *ctx, lrp_error *err) { return lrp_npy_write(path, ctx, err); }

typedef struct heat_ctx {
    const cli_heat *h;
    const lrp_raster *r;
} heat_ctx;

static lrp_status write_heat(const char *path, void *ctx, lrp_error *err)
{
    const heat_ctx *c = ctx;
    return cli_heat_write(c->h, path, c->r, err);
}

/* The target map: a map (H,W), (1,H,W) or (1,1,H,W), or a relevance shaped like the input; |.| normalised to 1. */
static int target_map_from_file(const char *path, const atk *s, int64_t H, int64_t W, double *ht)
{
    lrp_error err = {0};
    lrp_tensor *t = NULL;
    if (lrp_npy_read(path, &t, &err) != LRP_OK) {
        cli_error("%s", err.message);
        return EXIT_USAGE;
    }
    int rc = EXIT_OK;
    const lrp_real *v = t->data;
    if (t->numel == H * W) {
        for (int64_t q = 0; q < s->HW; q++)
            ht[q] = fabs((double)v[q]);
    } else if (t->numel == s->C * H * W) {
        for (int64_t q = 0; q < s->HW; q++) {
            ht[q] = 0;
            for (int64_t c = 0; c < s->C; c++)
                ht[q] += fabs((double)v[at(s, c, q)]);
        }
    } else {
        cli_error("%s: a target explanation of %lld values; the model's input has %lldx%lld pixels", path,
                  (long long)t->numel, (long long)H, (long long)W);
        rc = EXIT_USAGE;
    }
    double S = 0;
    for (int64_t q = 0; rc == EXIT_OK && q < s->HW; q++)
        S += ht[q];
    if (rc == EXIT_OK && !(S > 0 && isfinite(S))) {
        cli_error("%s: the target explanation is zero or not finite", path);
        rc = EXIT_USAGE;
    }
    for (int64_t q = 0; rc == EXIT_OK && q < s->HW; q++)
        ht[q] /= S;
    lrp_tensor_free(t);
    return rc;
}

typedef struct attack_run {
    cli_args *a;
    attribution_config ac;
    cli_method cm;
    lrp_tensor *x, *xadv, *rel, *logits, *grad, *u, *lu;
    double *ht, *h0, *p0, *m1, *m2, *lo, *hi;
    atk s;
    int64_t target, H, W;
    progress prog;
} attack_run;

static void run_free(attack_run *r)
{
    lrp_tensor *t[] = {r->x, r->xadv, r->rel, r->logits, r->grad, r->u, r->lu};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        lrp_tensor_free(t[i]);
    double *d[] = {r->ht, r->h0, r->p0, r->m1, r->m2, r->lo, r->hi, r->s.h, r->s.p};
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        free(d[i]);
    cli_method_close(&r->cm);
}

static int fail_item(const char *what, const lrp_error *err, lrp_status st)
{
    cli_error("%s%s%s", what ? what : "", what ? ": " : "", err->message);
    return cli_item_exit(st);
}

/* The explainer for this step (--beta-growth rebuilds it with the step's beta). */
static int explainer_for_step(attack_run *r, int step)
{
    if (!r->a->beta_growth)
        return EXIT_OK;
    lrp_explain_options eo = r->cm.eo;
    eo.beta_smooth = (lrp_real)(10.0 * pow(10.0, (double)step / (double)r->a->attack_steps));
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(r->cm.model, &eo, &err);
    if (!e) {
        cli_error("%s", err.message);
        return EXIT_INTERNAL;
    }
    lrp_explainer_free(r->cm.ex);
    r->cm.ex = e;
    return EXIT_OK;
}

static int attack_setup(attack_run *r)
{
    cli_args *a = r->a;
    int rc;
    if ((rc = attribution_config_from_args(a, &r->ac)) != EXIT_OK)
        return rc;
    if ((rc = cli_method_open(a, &r->ac, &r->cm)) != EXIT_OK)
        return rc;
    const lrp_model_info *info = lrp_model_get_info(r->cm.model);
    lrp_error err = {0};
    lrp_status st = cli_load_input(a->pos[1], &r->cm.pp, info, &r->x, NULL, NULL, &err);
    if (st != LRP_OK)
        return fail_item(NULL, &err, st);
    if (r->x->ndim != 4 || r->x->dims[0] != 1) {
        cli_error("%s: attack takes one image input (1, C, H, W)", a->pos[1]);
        return EXIT_INPUT;
    }
    r->s.nhwc = r->cm.pp.nhwc != 0;
    r->s.C = r->x->dims[r->s.nhwc ? 3 : 1];
    r->H = r->x->dims[r->s.nhwc ? 1 : 2];
    r->W = r->x->dims[r->s.nhwc ? 2 : 3];
    r->s.HW = r->H * r->W;
    r->s.we = a->explanation_weight;
    r->s.wo = a->output_weight;
    int64_t t = a->has_target ? a->target : -1;
    st = lrp_explain(r->cm.ex, r->x, &t, LRP_SEED_LOGIT, &r->rel, &r->logits, &r->target, &err);
    if (st != LRP_OK)
        return fail_item(a->pos[1], &err, st);
    r->s.K = r->logits->numel;
    size_t hw = (size_t)r->s.HW, k = (size_t)r->s.K, n = (size_t)r->x->numel;
    if (!(r->ht = calloc(hw, sizeof(double))) || !(r->h0 = calloc(hw, sizeof(double))) ||
        !(r->p0 = calloc(k, sizeof(double))) || !(r->s.h = calloc(hw, sizeof(double))) ||
        !(r->s.p = calloc(k, sizeof(double))) || !(r->m1 = calloc(n, sizeof(double))) ||
        !(r->m2 = calloc(n, sizeof(double))) || !(r->lo = calloc((size_t)r->s.C, sizeof(double))) ||
        !(r->hi = calloc((size_t)r->s.C, sizeof(double)))) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    if (!map_of(&r->s, r->rel->data, r->h0)) {
        cli_error("%s: the relevance of class %lld is zero everywhere: no explanation map to move", a->pos[1],
                  (long long)r->target);
        return EXIT_INPUT;
    }
    softmax(r->logits->data, r->s.K, r->p0);
    r->s.ht = r->ht;
    r->s.p0 = r->p0;
    if (a->target_explanation) {
        if ((rc = target_map_from_file(a->target_explanation, &r->s, r->H, r->W, r->ht)) != EXIT_OK)
            return rc;
    } else {
        lrp_tensor *x2 = NULL, *r2 = NULL;
        st = cli_load_input(a->target_image, &r->cm.pp, info, &x2, NULL, NULL, &err);
        if (st == LRP_OK && x2->numel == r->x->numel)
            st = lrp_explain(r->cm.ex, x2, NULL, LRP_SEED_LOGIT, &r2, NULL, NULL, &err);
        else if (st == LRP_OK)
            st = lrp_fail(&err, LRP_ERR_SHAPE, "%s: not the shape of %s", a->target_image, a->pos[1]);
        bool ok = st == LRP_OK && map_of(&r->s, r2->data, r->ht);
        lrp_tensor_free(x2);
        lrp_tensor_free(r2);
        if (st != LRP_OK)
            return fail_item(a->target_image, &err, st);
        if (!ok) {
            cli_error("%s: its relevance is zero everywhere: no target map", a->target_image);
            return EXIT_INPUT;
        }
    }
    const double scale = r->cm.pp.range255 ? 255.0 : 1.0;
    for (int64_t c = 0; c < r->s.C; c++) {
        int pc = r->s.C == 1 ? 0 : (int)c;
        r->lo[c] = (0.0 - r->cm.pp.mean[pc]) / r->cm.pp.std[pc];
        r->hi[c] = (scale - r->cm.pp.mean[pc]) / r->cm.pp.std[pc];
    }
    if (!(r->xadv = lrp_tensor_clone(r->x, &err)) || !(r->u = lrp_tensor_clone(r->x, &err)) ||
        !(r->lu = lrp_tensor_clone(r->logits, &err))) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    return EXIT_OK;
}

/* Fills the row for x' from the last loss evaluation (s.h, s.p, loss). */
static void fill_row(const attack_run *r, int step, double seconds, atk_row *w)
{
    w->step = step;
    w->loss = r->s.loss;
    w->mse = r->s.mse;
    w->pcc_t = pcc(r->s.h, r->ht, r->s.HW);
    w->pcc_0 = pcc(r->s.h, r->h0, r->s.HW);
    w->l1 = 0;
    w->top = 0;
    for (int64_t k = 0; k < r->s.K; k++) {
        w->l1 += fabs(r->s.p[k] - r->p0[k]);
        if (r->s.p[k] > r->s.p[w->top])
            w->top = k;
    }
    w->p_top = r->s.p[w->top];
    const lrp_real *x0 = r->x->data, *x1 = r->xadv->data;
    double linf = 0;
    const double levels = r->cm.pp.range255 ? 1.0 : 255.0;
    for (int64_t q = 0; q < r->s.HW; q++)
        for (int64_t c = 0; c < r->s.C; c++) {
            int64_t i = at(&r->s, c, q);
            double d = fabs((double)x1[i] - (double)x0[i]) * r->cm.pp.std[r->s.C == 1 ? 0 : c] * levels;
            linf = d > linf ? d : linf;
        }
    w->linf = linf;
    w->seconds = seconds;
}

/* One Adam step (PyTorch's: bias-corrected moments, eps after the square root), then the clamp. */
static void adam_step(attack_run *r, int t)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8, lr = r->a->lr;
    const double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    const lrp_real *g = r->grad->data;
    lrp_real *x = r->xadv->data;
    for (int64_t q = 0; q < r->s.HW; q++)
        for (int64_t c = 0; c < r->s.C; c++) {
            int64_t i = at(&r->s, c, q);
            r->m1[i] = b1 * r->m1[i] + (1.0 - b1) * (double)g[i];
            r->m2[i] = b2 * r->m2[i] + (1.0 - b2) * (double)g[i] * (double)g[i];
            double denom = sqrt(r->m2[i]) / sqrt(bc2) + eps;
            double v = (double)x[i] - lr / bc1 * r->m1[i] / denom;
            v = v < r->lo[c] ? r->lo[c] : v > r->hi[c] ? r->hi[c] : v;
            x[i] = (lrp_real)v;
        }
}

static int attack_loop(attack_run *r)
{
    const cli_args *a = r->a;
    lrp_relevance_grad_options o = {.cotangent = LRP_COTANGENT_FN,
                                    .zennit = a->zennit_second_order,
                                    .cotangent_fn = cotangent,
                                    .logit_fn = logit_cotangent,
                                    .ctx = &r->s};
    if (!a->json && !a->quiet)
        printf("step,loss,mse,pcc_target,pcc_original,output_change,class,probability,linf_levels,seconds\n");
    progress_start(&r->prog, 1, a->quiet || a->json);
    progress_set_steps(&r->prog, true);
    int rc = EXIT_OK;
    for (int step = 0; step <= a->attack_steps && rc == EXIT_OK; step++) {
        double t0 = now();
        lrp_error err = {0};
        lrp_status st;
        lrp_tensor_free(r->rel);
        lrp_tensor_free(r->logits);
        lrp_tensor_free(r->grad);
        r->rel = r->logits = r->grad = NULL;
        if ((rc = explainer_for_step(r, step < a->attack_steps ? step : -1)) != EXIT_OK)
            break;
        if (step < a->attack_steps) {
            st = lrp_explain_relevance_grad(r->cm.ex, r->xadv, &r->target, LRP_SEED_LOGIT, &o, &r->rel, &r->grad,
                                            &r->logits, NULL, &err);
            if (st == LRP_OK) /* the loss of this x' (the functions above saw its R and logits) */
                r->s.loss = r->s.we * r->s.mse + r->s.wo * r->s.out_mse;
        } else { /* the result: its explanation with the composite's own parameters */
            if (a->beta_growth) {
                lrp_explainer *e = lrp_explainer_new(r->cm.model, &r->cm.eo, &err);
                if (e) {
                    lrp_explainer_free(r->cm.ex);
                    r->cm.ex = e;
                }
            }
            st = err.status
                     ? err.status
                     : lrp_explain(r->cm.ex, r->xadv, &r->target, LRP_SEED_LOGIT, &r->rel, &r->logits, NULL, &err);
            if (st == LRP_OK)
                st = loss_at(&r->s, r->rel, r->logits, &err);
        }
        if (st != LRP_OK) {
            progress_clear(&r->prog);
            rc = fail_item(a->pos[1], &err, st);
            break;
        }
        atk_row w;
        fill_row(r, step, step < a->attack_steps ? now() - t0 : NAN, &w);
        if (a->json || step % a->log_every == 0 || step == a->attack_steps) {
            progress_clear(&r->prog);
            print_row(a, &w, false);
        }
        if (step < a->attack_steps)
            adam_step(r, step + 1);
        progress_sub(&r->prog, 0, step + 1, a->attack_steps + 1, a->pos[1]);
    }
    progress_done(&r->prog);
    return rc;
}

static int write_outputs(attack_run *r)
{
    const cli_args *a = r->a;
    lrp_error err = {0};
    image_ctx ic = {r->xadv, &r->cm.pp, r->s.C, r->H, r->W, r->s.nhwc};
    if ((a->out && cli_write_output(a->out, write_image, &ic, &err) != LRP_OK) ||
        (a->tensor_out && cli_write_output(a->tensor_out, write_npy, r->xadv, &err) != LRP_OK) ||
        (a->relevance_out && cli_write_output(a->relevance_out, write_npy, r->rel, &err) != LRP_OK)) {
        cli_error("%s", err.message);
        return EXIT_OUTPUT;
    }
    if (a->heatmap_out) {
        cli_heat h;
        int rc = cli_heat_setup(&a->heat, attribution_is_signed(&r->ac, r->cm.eo.composite), &h);
        if (rc != EXIT_OK)
            return rc;
        h.channels_last = r->s.nhwc;
        lrp_raster *ras = NULL;
        lrp_status st = cli_heat_render(&h, r->rel, NULL, NULL, NULL, &ras, &err);
        heat_ctx hc = {&h, ras};
        if (st == LRP_OK)
            st = cli_write_output(a->heatmap_out, write_heat, &hc, &err);
        lrp_raster_free(ras);
        cli_heat_free(&h);
        if (st != LRP_OK) {
            cli_error("%s", err.message);
            return EXIT_OUTPUT;
        }
    }
    return EXIT_OK;
}

int cmd_attack(cli_args *a)
{
    cli_install_signal_cleanup(); /* no temporary file left behind */
    int rc = cli_need_args(a, 2, 2, "MODEL IMAGE");
    if (rc)
        return rc;
    if (!a->target_explanation == !a->target_image) {
        cli_error("attack: give the map to reach with --target-explanation T.npy or --target-image IMAGE (one)");
        return EXIT_USAGE;
    }
    const char *outs[4][2] = {{"-o", a->out},
                              {"--tensor-out", a->tensor_out},
                              {"--relevance-out", a->relevance_out},
                              {"--heatmap-out", a->heatmap_out}};
    cli_guard *g = cli_guard_new();
    if (!g) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    rc = EXIT_OK;
    const char *ins[3] = {a->pos[0], a->pos[1], a->target_explanation ? a->target_explanation : a->target_image};
    for (int i = 0; i < 3 && rc == EXIT_OK; i++)
        rc = cli_guard_input(g, ins[i]);
    for (int i = 0; i < 4 && rc == EXIT_OK; i++)
        if (outs[i][1])
            rc = cli_guard_output(g, outs[i][0], outs[i][1], NULL);
    cli_guard_free(g);
    if (rc != EXIT_OK)
        return rc;
    if (a->beta_growth && strcmp(a->explain.composite ? a->explain.composite : "", "beta-smooth") != 0) {
        cli_error("attack: --beta-growth schedules the beta of --composite beta-smooth");
        return EXIT_USAGE;
    }
    attack_run r = {.a = a};
    if ((rc = attack_setup(&r)) == EXIT_OK && !a->out && !a->tensor_out && !a->relevance_out && !a->heatmap_out &&
        !a->json && !a->quiet)
        cli_error("attack: note: no output file asked for (-o ADV.png, --tensor-out ADV.npy, --relevance-out, "
                  "--heatmap-out); only the log is printed");
    if (rc == EXIT_OK && (rc = attack_loop(&r)) == EXIT_OK)
        rc = write_outputs(&r);
    run_free(&r);
    return rc;
}
