/* lrp attack: Dombrowski et al.'s explanation manipulation (NeurIPS 2019). Adam on the input x' so that its
 * explanation map h(x') = sum_c |R_c(x')|, normalised to sum 1, approaches a target map h_t while the output
 * stays: loss = w_expl MSE(h(x'), h_t) + w_out MSE(softmax(f(x')), softmax(f(x))), with R the composite's
 * relevance seeded by the logit of the original prediction. The gradient of the loss through the explanation is
 * the second order (lrp_explain_relevance_grad, one pass for both terms); after every step x' is clamped to the
 * valid pixel box per channel. */
#include "cli/attribution.h"
#include "cli/common.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/progress.h"
#include "lrp.h"
#include "lrp_render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The loss and its gradients, and the figures of its last evaluation. */
typedef struct attack_loss {
    const lrp_real *ht; /* target map, HW */
    double *p0;         /* softmax of the original output, C */
    int64_t CH, HW, C;
    double w_expl, w_out;
    double *h;                       /* the current map, HW */
    double mse, out_mse, softmax_l1; /* of the last evaluation */
    int64_t top;
    double top_p;
} attack_loss;

/* h = sum_c |R_c| / sum |R| into l->h. */
static void explanation_map(attack_loss *l, const lrp_real *R)
{
    double S = 0;
    for (int64_t i = 0; i < l->HW; i++) {
        double a = 0;
        for (int64_t c = 0; c < l->CH; c++)
            a += fabs((double)R[c * l->HW + i]);
        l->h[i] = a;
        S += a;
    }
    for (int64_t i = 0; i < l->HW; i++)
        l->h[i] = S > 0 ? l->h[i] / S : 0;
}

/* u = dL/dR of w_expl MSE(h, h_t): through h = A / S, A = sum_c |R_c| (sign(0) = 0, as torch's abs). */
static lrp_status expl_cotangent(void *ctx, const lrp_tensor *relevance, lrp_tensor *u, lrp_error *err)
{
    attack_loss *l = ctx;
    const lrp_real *R = relevance->data;
    lrp_real *uu = u->data;
    if (relevance->numel != l->CH * l->HW)
        return lrp_fail(err, LRP_ERR_SHAPE, "attack: the relevance is not shaped like one image");
    explanation_map(l, R);
    double S = 0, mse = 0, gh = 0;
    for (int64_t i = 0; i < l->HW; i++)
        for (int64_t c = 0; c < l->CH; c++)
            S += fabs((double)R[c * l->HW + i]);
    for (int64_t i = 0; i < l->HW; i++) {
        double d = l->h[i] - l->ht[i];
        mse += d * d;
        gh += 2 * d / (double)l->HW * l->h[i];
    }
    l->mse = mse / (double)l->HW;
    for (int64_t i = 0; i < l->HW; i++) {
        double g = 2 * (l->h[i] - l->ht[i]) / (double)l->HW;
        double dA = S > 0 ? l->w_expl * (g - gh) / S : 0;
        for (int64_t c = 0; c < l->CH; c++) {
            lrp_real r = R[c * l->HW + i];
            uu[c * l->HW + i] = (lrp_real)(r > 0 ? dA : r < 0 ? -dA : 0);
        }
    }
    return LRP_OK;
}

static void softmax(const lrp_real *z, int64_t C, double *p)
{
    double m = z[0], s = 0;
    for (int64_t c = 1; c < C; c++)
        m = fmax(m, z[c]);
    for (int64_t c = 0; c < C; c++)
        s += p[c] = exp((double)z[c] - m);
    for (int64_t c = 0; c < C; c++)
        p[c] /= s;
}

/* dL/dlogits of w_out MSE(softmax(f), softmax(f0)). */
static lrp_status out_cotangent(void *ctx, const lrp_tensor *logits, lrp_tensor *lbar, lrp_error *err)
{
    attack_loss *l = ctx;
    double p[4096] = {0};
    if (logits->numel != l->C || l->C > 4096)
        return lrp_fail(err, LRP_ERR_SHAPE, "attack: one sample of at most 4096 classes");
    softmax(logits->data, l->C, p);
    double q[4096], qp = 0, mse = 0, l1 = 0;
    l->top = 0;
    for (int64_t c = 0; c < l->C; c++) {
        double d = p[c] - l->p0[c];
        mse += d * d;
        l1 += fabs(d);
        q[c] = l->w_out * 2 * d / (double)l->C;
        qp += q[c] * p[c];
        if (p[c] > p[l->top])
            l->top = c;
    }
    l->out_mse = mse / (double)l->C;
    l->softmax_l1 = l1;
    l->top_p = p[l->top];
    lrp_real *lb = lbar->data;
    for (int64_t c = 0; c < l->C; c++)
        lb[c] = (lrp_real)(p[c] * (q[c] - qp));
    return LRP_OK;
}

static double pearson(const double *a, const lrp_real *b, int64_t n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double da = a[i] - ma, db = b[i] - mb;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}

/* The map of an explanation (R of one image), as lrp_reals into out (HW). */
static void map_of(attack_loss *l, const lrp_tensor *R, lrp_real *out)
{
    explanation_map(l, R->data);
    for (int64_t i = 0; i < l->HW; i++)
        out[i] = (lrp_real)l->h[i];
}

typedef struct attack_run {
    const cli_args *a;
    attribution_config ac;
    cli_method cm;
    lrp_tensor *x0, *x, *ht, *h0, *grad;
    double *m, *v;
    lrp_real lo[3], hi[3];
    attack_loss l;
    int64_t target;
} attack_run;

static void attack_close(attack_run *r)
{
    lrp_tensor_free(r->x0);
    lrp_tensor_free(r->x);
    lrp_tensor_free(r->ht);
    lrp_tensor_free(r->h0);
    lrp_tensor_free(r->grad);
    free(r->m);
    free(r->v);
    free(r->l.p0);
    free(r->l.h);
    cli_method_close(&r->cm);
}

/* R (logit seed) of an input for target (-1: predicted), the class used and the logits. */
static lrp_status explain(attack_run *r, const lrp_tensor *x, int64_t target, lrp_tensor **R, lrp_tensor **logits,
                          int64_t *used, lrp_error *err)
{
    int64_t t = target;
    return lrp_explain(r->cm.ex, x, &t, LRP_SEED_LOGIT, R, logits, used, err);
}

/* The target map: --target-explanation T.npy (normalised as h), or the map of --target-image under its own
 * prediction. */
static lrp_status target_map(attack_run *r, lrp_error *err)
{
    const cli_args *a = r->a;
    int64_t dims[3] = {1, r->x0->dims[2], r->x0->dims[3]};
    if (!(r->ht = lrp_tensor_new(LRP_REAL_DT, 3, dims, err)))
        return LRP_ERR_NOMEM;
    lrp_tensor *T = NULL, *logits = NULL;
    lrp_status st;
    if (a->target_explanation) {
        if ((st = lrp_npy_read(a->target_explanation, &T, err)) != LRP_OK)
            return st;
        int64_t ch = T->numel / r->l.HW;
        if (T->numel != ch * r->l.HW || (ch != 1 && ch != r->l.CH)) {
            lrp_tensor_free(T);
            return lrp_fail(err, LRP_ERR_SHAPE, "%s: not a map of the input's size", a->target_explanation);
        }
        attack_loss one = r->l;
        one.CH = ch;
        map_of(&one, T, r->ht->data);
    } else {
        lrp_tensor *x2 = NULL;
        int64_t used;
        st = cli_load_input(a->target_image, &r->cm.pp, lrp_model_get_info(r->cm.model), &x2, NULL, NULL, err);
        if (st == LRP_OK && x2->numel != r->x0->numel)
            st = lrp_fail(err, LRP_ERR_SHAPE, "%s: not shaped like the input", a->target_image);
        if (st == LRP_OK)
            st = explain(r, x2, -1, &T, &logits, &used, err);
        if (st == LRP_OK)
            map_of(&r->l, T, r->ht->data);
        lrp_tensor_free(x2);
        if (st != LRP_OK) {
            lrp_tensor_free(T);
            lrp_tensor_free(logits);
            return st;
        }
    }
    lrp_tensor_free(T);
    lrp_tensor_free(logits);
    return LRP_OK;
}

static lrp_status write_image_png(const char *path, const attack_run *r, lrp_error *err)
{
    int64_t H = r->x->dims[2], W = r->x->dims[3];
    lrp_raster *img = lrp_raster_new((int)W, (int)H, 3, err);
    if (!img)
        return LRP_ERR_NOMEM;
    const lrp_real *x = r->x->data;
    const lrp_preprocess *pp = &r->cm.pp;
    double scale = pp->range255 ? 1.0 : 255.0;
    for (int64_t c = 0; c < 3 && c < r->l.CH; c++)
        for (int64_t i = 0; i < H * W; i++) {
            double v = ((double)x[c * H * W + i] * pp->std[c] + pp->mean[c]) * scale;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            img->data[i * 3 + c] = (uint8_t)lrint(v);
        }
    lrp_status st = lrp_png_write_rgb(path, img, err);
    lrp_raster_free(img);
    return st;
}

static lrp_status write_map_png(const char *path, const lrp_tensor *map, lrp_error *err)
{
    lrp_heatmap_opts ho;
    lrp_heatmap_opts_init(&ho);
    ho.norm = LRP_NORM_ABSOLUTE;
    lrp_raster *ind = NULL;
    uint8_t pal[256][3];
    lrp_status st = lrp_heatmap_indices(map, &ho, 0, &ind, err);
    if (st == LRP_OK && (st = lrp_palette_for("hot", 1.0, pal, err)) == LRP_OK)
        st = lrp_png_write_palette(path, ind, pal, err);
    lrp_raster_free(ind);
    return st;
}

/* The outputs under PREFIX: .png (x' as the model sees it, 8 bits), .npy (x', normalised), -map.npy and
 * -heatmap.png (h(x')). */
static lrp_status write_outputs(attack_run *r, const char *prefix, lrp_error *err)
{
    char path[4200];
    int64_t dims[3] = {1, r->x->dims[2], r->x->dims[3]};
    lrp_tensor *map = lrp_tensor_new(LRP_REAL_DT, 3, dims, err);
    if (!map)
        return LRP_ERR_NOMEM;
    for (int64_t i = 0; i < r->l.HW; i++)
        ((lrp_real *)map->data)[i] = (lrp_real)r->l.h[i];
    snprintf(path, sizeof path, "%s.png", prefix);
    lrp_status st = write_image_png(path, r, err);
    snprintf(path, sizeof path, "%s.npy", prefix);
    if (st == LRP_OK)
        st = lrp_npy_write(path, r->x, err);
    snprintf(path, sizeof path, "%s-map.npy", prefix);
    if (st == LRP_OK)
        st = lrp_npy_write(path, map, err);
    snprintf(path, sizeof path, "%s-heatmap.png", prefix);
    if (st == LRP_OK)
        st = write_map_png(path, map, err);
    lrp_tensor_free(map);
    return st;
}

/* One evaluation at r->x: the loss's figures and, unless last, its gradient in r->grad. */
static lrp_status evaluate(attack_run *r, lrp_error *err)
{
    lrp_relevance_grad_options o = {.cotangent = LRP_COTANGENT_FN,
                                    .zennit = r->a->zennit_second_order,
                                    .cotangent_fn = expl_cotangent,
                                    .logit_fn = out_cotangent,
                                    .ctx = &r->l};
    lrp_tensor_free(r->grad);
    r->grad = NULL;
    int64_t t = r->target;
    return lrp_explain_relevance_grad(r->cm.ex, r->x, &t, LRP_SEED_LOGIT, &o, NULL, &r->grad, NULL, NULL, err);
}

static void report_step(attack_run *r, int step, double seconds, FILE *txt)
{
    const cli_args *a = r->a;
    attack_loss *l = &r->l;
    double linf = 0;
    const lrp_real *x = r->x->data, *x0 = r->x0->data;
    double scale = r->cm.pp.range255 ? 1.0 : 255.0;
    for (int64_t c = 0; c < l->CH; c++)
        for (int64_t i = 0; i < l->HW; i++)
            linf =
                fmax(linf, fabs((double)x[c * l->HW + i] - x0[c * l->HW + i]) * r->cm.pp.std[c < 3 ? c : 0] * scale);
    double pcc = pearson(l->h, r->ht->data, l->HW), pcc0 = pearson(l->h, r->h0->data, l->HW);
    double loss = l->w_expl * l->mse + l->w_out * l->out_mse;
    if (a->json) {
        json j;
        json_begin(&j, stdout);
        json_int(&j, "step", step);
        json_num(&j, "loss", loss);
        json_num(&j, "mse", l->mse);
        json_num(&j, "pcc", pcc);
        json_num(&j, "pcc_vs_original", pcc0);
        json_num(&j, "softmax_mse", l->out_mse);
        json_num(&j, "softmax_l1", l->softmax_l1);
        json_int(&j, "top_class", l->top);
        json_num(&j, "top_prob", l->top_p);
        json_num(&j, "linf_pixels", linf);
        json_num(&j, "seconds", seconds);
        json_end(&j);
    } else if (!a->quiet && (step % 50 == 0 || step == a->attack_steps)) {
        fprintf(txt,
                "step %4d  loss %.4g  MSE(h, h_t) %.4g  PCC(h, h_t) %.4f  PCC(h, h(x)) %.4f  softmax L1 %.3g  "
                "top %lld (%.4f)  L-inf %.2f levels  %.3f s/step\n",
                step, loss, l->mse, pcc, pcc0, l->softmax_l1, (long long)l->top, l->top_p, linf, seconds);
    }
}

static int attack_setup(attack_run *r, lrp_error *err)
{
    const cli_args *a = r->a;
    int rc = cli_method_open(a, &r->ac, &r->cm);
    if (rc != EXIT_OK)
        return rc;
    const lrp_model_info *info = lrp_model_get_info(r->cm.model);
    if (cli_load_input(a->pos[1], &r->cm.pp, info, &r->x0, NULL, NULL, err) != LRP_OK)
        return EXIT_INPUT;
    if (r->x0->ndim != 4 || r->x0->dims[0] != 1 || info->layout != LRP_LAYOUT_NCHW) {
        lrp_fail(err, LRP_ERR_SHAPE, "%s: attack takes one NCHW image", a->pos[1]);
        return EXIT_INPUT;
    }
    attack_loss *l = &r->l;
    l->CH = r->x0->dims[1];
    l->HW = r->x0->dims[2] * r->x0->dims[3];
    l->w_expl = a->attack_weight_expl;
    l->w_out = a->attack_weight_out;
    lrp_tensor *R = NULL, *logits = NULL;
    if (!(l->h = calloc((size_t)l->HW, sizeof *l->h)) ||
        explain(r, r->x0, a->has_target ? a->target : -1, &R, &logits, &r->target, err) != LRP_OK) {
        lrp_tensor_free(R);
        return EXIT_INPUT;
    }
    l->C = logits->numel;
    int64_t dims[3] = {1, r->x0->dims[2], r->x0->dims[3]};
    if (!(l->p0 = calloc((size_t)l->C, sizeof *l->p0)) || !(r->h0 = lrp_tensor_new(LRP_REAL_DT, 3, dims, err))) {
        lrp_tensor_free(R);
        lrp_tensor_free(logits);
        return EXIT_INTERNAL;
    }
    softmax(logits->data, l->C, l->p0);
    map_of(l, R, r->h0->data);
    lrp_tensor_free(R);
    lrp_tensor_free(logits);
    if (target_map(r, err) != LRP_OK)
        return EXIT_INPUT;
    l->ht = r->ht->data;
    if (!(r->x = lrp_tensor_clone(r->x0, err)) || !(r->m = calloc((size_t)r->x0->numel, sizeof *r->m)) ||
        !(r->v = calloc((size_t)r->x0->numel, sizeof *r->v)))
        return EXIT_INTERNAL;
    double scale = r->cm.pp.range255 ? 255.0 : 1.0;
    for (int c = 0; c < 3; c++) {
        r->lo[c] = (lrp_real)((0.0 - r->cm.pp.mean[c]) / r->cm.pp.std[c]);
        r->hi[c] = (lrp_real)((scale - r->cm.pp.mean[c]) / r->cm.pp.std[c]);
    }
    return EXIT_OK;
}

/* Adam (torch's: betas 0.9, 0.999, eps 1e-8), then the pixel box. */
static void adam_step(attack_run *r, int t)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8, lr = r->a->attack_lr;
    const lrp_real *g = r->grad->data;
    lrp_real *x = r->x->data;
    double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    for (int64_t i = 0; i < r->x->numel; i++) {
        r->m[i] = b1 * r->m[i] + (1 - b1) * g[i];
        r->v[i] = b2 * r->v[i] + (1 - b2) * (double)g[i] * g[i];
        double denom = sqrt(r->v[i]) / sqrt(bc2) + eps;
        double xv = (double)x[i] - lr / bc1 * r->m[i] / denom;
        int64_t c = (i / r->l.HW) % r->l.CH;
        int cc = c < 3 ? (int)c : 0;
        x[i] = (lrp_real)(xv < r->lo[cc] ? r->lo[cc] : xv > r->hi[cc] ? r->hi[cc] : xv);
    }
}

int cmd_attack(cli_args *a)
{
    int rc = cli_need_args(a, 2, 2, "MODEL IMAGE");
    if (rc)
        return rc;
    if (!a->target_explanation == !a->target_image) {
        cli_error("attack: give --target-explanation T.npy or --target-image IMAGE2 (one of them)");
        return EXIT_USAGE;
    }
    attack_run r = {.a = a};
    lrp_error err = {0};
    if ((rc = attribution_config_from_args(a, &r.ac)) != EXIT_OK)
        return rc;
    if (r.ac.o.kind != LRP_ATTRIBUTOR_GRADIENT) {
        cli_error("attack: the attack differentiates the composite alone (no --attributor)");
        return EXIT_USAGE;
    }
    FILE *txt = a->json ? stderr : stdout;
    if ((rc = attack_setup(&r, &err)) != EXIT_OK) {
        if (err.message[0])
            cli_error("%s", err.message);
        attack_close(&r);
        return rc;
    }
    progress prog;
    progress_start(&prog, a->attack_steps, a->quiet || a->json);
    double t_last = wall_seconds();
    for (int step = 0; step <= a->attack_steps; step++) {
        if (evaluate(&r, &err) != LRP_OK) {
            progress_done(&prog);
            cli_error("attack: step %d: %s", step, err.message);
            attack_close(&r);
            return EXIT_INPUT;
        }
        double now = wall_seconds();
        progress_clear(&prog);
        report_step(&r, step, step ? now - t_last : 0, txt);
        t_last = now;
        if (step == a->attack_steps)
            break;
        adam_step(&r, step + 1);
        progress_update(&prog, step + 1, "attack");
    }
    progress_done(&prog);
    if (a->attack_out && write_outputs(&r, a->attack_out, &err) != LRP_OK) {
        cli_error("%s", err.message);
        rc = EXIT_OUTPUT;
    }
    attack_close(&r);
    return rc;
}
