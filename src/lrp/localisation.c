/* Localisation metrics (Quantus 0.6.0's, as ../shared/refset-layers/README.md
 * §4 defines them) and the right-for-the-right-reasons penalty. Sums in
 * double over the float values as given. */
#include "lrp_metrics.h"

#include "base/error.h"
#include "base/tensor.h"
#include "engine/model.h"
#include "lrp/explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double lrp_pointing_game(const lrp_real *a, const unsigned char *s, int64_t n)
{
    if (n < 1)
        return NAN;
    lrp_real mx = a[0];
    for (int64_t i = 1; i < n; i++)
        mx = a[i] > mx ? a[i] : mx;
    for (int64_t i = 0; i < n; i++)
        if (a[i] == mx && s[i])
            return 1.0;
    return 0.0;
}

double lrp_relevance_mass_accuracy(const lrp_real *a, const unsigned char *s, int64_t n)
{
    double in = 0, all = 0;
    for (int64_t i = 0; i < n; i++) {
        all += a[i];
        if (s[i])
            in += a[i];
    }
    return all != 0 ? in / all : NAN;
}

double lrp_attribution_localisation(const lrp_real *a, const unsigned char *s, int64_t n)
{
    double in = 0, all = 0;
    for (int64_t i = 0; i < n; i++) {
        all += a[i];
        if (s[i])
            in += a[i];
    }
    double mu = in / (all + 1e-9);
    return mu > 1 || isnan(mu) ? NAN : mu;
}

typedef struct ranked {
    lrp_real v;
    int64_t i;
} ranked;

/* Descending value, ties by ascending position: a stable argsort(-a). */
static int by_desc(const void *pa, const void *pb)
{
    const ranked *x = pa, *y = pb;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Ascending value, ties by ascending position: a stable argsort(a). */
static int by_asc(const void *pa, const void *pb)
{
    const ranked *x = pa, *y = pb;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static ranked *sorted(const lrp_real *a, int64_t n, int (*cmp)(const void *, const void *))
{
    ranked *r = malloc(sizeof *r * (size_t)(n > 0 ? n : 1));
    if (!r)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        r[i].v = a[i];
        r[i].i = i;
    }
    qsort(r, (size_t)n, sizeof *r, cmp);
    return r;
}

double lrp_relevance_rank_accuracy(const lrp_real *a, const unsigned char *s, int64_t n)
{
    int64_t K = 0;
    for (int64_t i = 0; i < n; i++)
        K += s[i] != 0;
    if (K == 0)
        return NAN;
    ranked *r = sorted(a, n, by_desc);
    if (!r)
        return NAN;
    int64_t hit = 0;
    for (int64_t j = 0; j < K; j++)
        hit += s[r[j].i] != 0;
    free(r);
    return (double)hit / (double)K;
}

double lrp_top_k_intersection(const lrp_real *a, const unsigned char *s, int64_t n, int64_t k)
{
    if (k < 1)
        return NAN;
    ranked *r = sorted(a, n, by_asc);
    if (!r)
        return NAN;
    int64_t hit = 0;
    for (int64_t j = n - 1; j >= 0 && j >= n - k; j--)
        hit += s[r[j].i] != 0;
    free(r);
    return (double)hit / (double)k;
}

double lrp_roc_auc(const lrp_real *a, const unsigned char *s, int64_t n)
{
    int64_t P = 0;
    for (int64_t i = 0; i < n; i++)
        P += s[i] != 0;
    int64_t Nn = n - P;
    if (P == 0 || Nn == 0)
        return NAN;
    ranked *r = sorted(a, n, by_asc);
    if (!r)
        return NAN;
    /* Mann-Whitney: the sum of the positives' mid-ranks (ties share their mean rank) */
    double rank_sum = 0;
    for (int64_t j = 0; j < n;) {
        int64_t e = j;
        while (e + 1 < n && r[e + 1].v == r[j].v)
            e++;
        double mid = 0.5 * (double)(j + e) + 1.0;
        for (int64_t q = j; q <= e; q++)
            if (s[r[q].i])
                rank_sum += mid;
        j = e + 1;
    }
    free(r);
    return (rank_sum - 0.5 * (double)P * (double)(P + 1)) / ((double)P * (double)Nn);
}

lrp_status lrp_localisation_metrics(const lrp_real *a, const unsigned char *s, int64_t n, int64_t k, int use_abs,
                                    lrp_localisation *out, lrp_error *err)
{
    memset(out, 0, sizeof *out);
    if (n < 1)
        return lrp_fail(err, LRP_ERR_ARG, "localisation metrics need a map with pixels");
    lrp_real *abs_a = NULL;
    if (use_abs) {
        if (!(abs_a = malloc(sizeof(lrp_real) * (size_t)n)))
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < n; i++)
            abs_a[i] = a[i] < 0 ? -a[i] : a[i];
        a = abs_a;
    }
    out->pixels = n;
    out->k = k;
    for (int64_t i = 0; i < n; i++)
        out->mask_pixels += s[i] != 0;
    out->pointing_game = lrp_pointing_game(a, s, n);
    out->relevance_mass_accuracy = lrp_relevance_mass_accuracy(a, s, n);
    out->relevance_rank_accuracy = lrp_relevance_rank_accuracy(a, s, n);
    out->attribution_localisation = lrp_attribution_localisation(a, s, n);
    out->top_k_intersection = lrp_top_k_intersection(a, s, n, k);
    out->auc = lrp_roc_auc(a, s, n);
    free(abs_a);
    return LRP_OK;
}

/* The seed 1 - K p at the logits: the gradient of sum_k log softmax_k. */
static lrp_status seed_rrr(void *ctx, const lrp_tensor *logits, lrp_tensor *seed, lrp_error *err)
{
    (void)ctx;
    (void)err;
    int64_t N = logits->dims[0], C = logits->dims[1];
    for (int64_t b = 0; b < N; b++) {
        const lrp_real *l = (const lrp_real *)logits->data + b * C;
        double mx = -INFINITY, z = 0;
        for (int64_t c = 0; c < C; c++)
            mx = l[c] > mx ? l[c] : mx;
        for (int64_t c = 0; c < C; c++)
            z += exp((double)l[c] - mx);
        for (int64_t c = 0; c < C; c++)
            lrp_reals(seed)[b * C + c] = (lrp_real)(1.0 - (double)C * exp((double)l[c] - mx) / z);
    }
    return LRP_OK;
}

lrp_status lrp_rrr_penalty(lrp_model *m, const lrp_tensor *input, const unsigned char *mask, double *penalty,
                           double *complement, lrp_tensor **gradient, lrp_error *err)
{
    if (gradient)
        *gradient = NULL;
    *penalty = *complement = NAN;
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    eo.composite = "gradient";
    eo.threads = m->opts.threads;
    eo.openblas = m->opts.openblas;
    lrp_explainer *e = lrp_explainer_new(m, &eo, err);
    if (!e)
        return err ? err->status : LRP_ERR_INTERNAL;
    lrp_tensor *g = NULL;
    lrp_status st = lrp_explain_seeded(e, input, seed_rrr, NULL, &g, NULL, err);
    lrp_explainer_free(e);
    if (st != LRP_OK)
        return st;
    int nd = g->ndim;
    bool nhwc = m->info.layout == LRP_LAYOUT_NHWC;
    if (nd < 3 || (nd == 4 && g->dims[0] != 1)) {
        lrp_tensor_free(g);
        return lrp_fail(err, LRP_ERR_SHAPE, "the RRR penalty needs one image input (1, C, H, W)");
    }
    /* (C, H, W) or (1, C, H, W); NHWC: (H, W, C) */
    int64_t C = nhwc ? g->dims[nd - 1] : g->dims[nd - 3], H = nhwc ? g->dims[nd - 3] : g->dims[nd - 2],
            W = nhwc ? g->dims[nd - 2] : g->dims[nd - 1];
    double p = 0, q = 0;
    const lrp_real *gv = lrp_reals(g);
    for (int64_t c = 0; c < C; c++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                double v = gv[nhwc ? (y * W + x) * C + c : (c * H + y) * W + x];
                if (mask[y * W + x])
                    p += v * v;
                else
                    q += v * v;
            }
    *penalty = p;
    *complement = q;
    if (gradient)
        *gradient = g;
    else
        lrp_tensor_free(g);
    return LRP_OK;
}
