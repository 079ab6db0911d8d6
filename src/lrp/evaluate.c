/* Region perturbation (Samek et al. 2017, "Evaluating the visualization of
 * what a deep neural network has learned"): faithfulness curves and AOPC. */
#include "base/error.h"
#include "engine/model.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lrp_perturb_options_default(lrp_perturb_options *o)
{
    memset(o, 0, sizeof *o);
    o->patch = 8;
    o->steps = 100;
    o->order = LRP_MORF;
    o->baseline = LRP_PERTURB_UNIFORM;
}

double lrp_aopc(const lrp_real *curve, int n_steps)
{
    double s = 0;
    for (int k = 0; k <= n_steps; k++)
        s += (double)curve[0] - (double)curve[k];
    return s / (double)(n_steps + 1);
}

typedef struct region {
    double score;
    int index;
} region;

static int by_score_desc(const void *a, const void *b)
{
    const region *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->index - y->index;
}

static int by_score_asc(const void *a, const void *b)
{
    const region *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return x->index - y->index;
}

/* Element i of a sample -> (channel, y, x). */
static void locate(int64_t i, bool nhwc, int64_t C, int64_t H, int64_t W, int64_t *c, int64_t *y, int64_t *x)
{
    if (nhwc) {
        *c = i % C;
        *x = (i / C) % W;
        *y = i / (C * W);
    } else {
        *x = i % W;
        *y = (i / W) % H;
        *c = i / (W * H);
    }
}

/* The sample's geometry: channels, rows, columns (a vector is one row of
 * features). */
typedef struct perturb_geom {
    bool nhwc;
    int64_t C, H, W;
} perturb_geom;

static lrp_status perturb_check(const lrp_model *m, const lrp_tensor *x, const lrp_tensor *relevance,
                                const lrp_perturb_options *o, perturb_geom *g, lrp_error *err)
{
    if (x->dims[0] != 1)
        return lrp_fail(err, LRP_ERR_SHAPE, "region perturbation takes one sample at a time");
    if (relevance->numel != x->numel)
        return lrp_fail(err, LRP_ERR_SHAPE, "the relevance has %lld values, the input %lld",
                        (long long)relevance->numel, (long long)x->numel);
    const lrp_model_info *in = &m->info;
    g->nhwc = in->layout == LRP_LAYOUT_NHWC && x->ndim == 4;
    if (x->ndim == 4) {
        g->C = g->nhwc ? x->dims[3] : x->dims[1];
        g->H = g->nhwc ? x->dims[1] : x->dims[2];
        g->W = g->nhwc ? x->dims[2] : x->dims[3];
    } else { /* a vector: one row of features */
        g->C = 1;
        g->H = 1;
        g->W = x->numel;
    }
    if (g->H < 1 || g->W < 1 || g->C < 1)
        return lrp_fail(err, LRP_ERR_SHAPE, "region perturbation needs an input with pixels");
    if (o->steps < 0)
        return lrp_fail(err, LRP_ERR_ARG, "region perturbation needs steps >= 0, not %d", o->steps);
    return LRP_OK;
}

/* The region of every element (rid) and the regions in perturbation order
 * (regs, nreg of them, ph x P pixels each). */
static void rank_regions(const perturb_geom *g, const lrp_real *rv, int64_t numel, int64_t ph, int P, int64_t nx,
                         int64_t nreg, lrp_perturb_order order, region *regs, int64_t *rid)
{
    for (int64_t r = 0; r < nreg; r++)
        regs[r].index = (int)r;
    for (int64_t i = 0; i < numel; i++) {
        int64_t c, yy, xx;
        locate(i, g->nhwc, g->C, g->H, g->W, &c, &yy, &xx);
        rid[i] = (yy / ph) * nx + xx / P;
        regs[rid[i]].score += rv[i];
    }
    qsort(regs, (size_t)nreg, sizeof *regs, order == LRP_LERF ? by_score_asc : by_score_desc);
}

/* What perturbed values become. */
static void fill_baseline(const perturb_geom *g, const lrp_real *xv, int64_t numel, const lrp_perturb_options *o,
                          lrp_real *base)
{
    if (o->baseline == LRP_PERTURB_MEAN) {
        for (int64_t c = 0; c < g->C; c++) {
            double s = 0;
            int64_t cnt = 0;
            for (int64_t i = 0; i < numel; i++) {
                int64_t cc, yy, xx;
                locate(i, g->nhwc, g->C, g->H, g->W, &cc, &yy, &xx);
                if (cc == c) {
                    s += xv[i];
                    cnt++;
                }
            }
            for (int64_t i = 0; i < numel; i++) {
                int64_t cc, yy, xx;
                locate(i, g->nhwc, g->C, g->H, g->W, &cc, &yy, &xx);
                if (cc == c)
                    base[i] = (lrp_real)(s / (double)(cnt ? cnt : 1));
            }
        }
    } else if (o->baseline == LRP_PERTURB_UNIFORM) {
        lrp_real lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < numel; i++) {
            lo = xv[i] < lo ? xv[i] : lo;
            hi = xv[i] > hi ? xv[i] : hi;
        }
        lrp_rng rng;
        lrp_rng_seed(&rng, o->seed);
        for (int64_t i = 0; i < numel; i++)
            base[i] = lo + (lrp_real)lrp_rng_uniform(&rng) * (hi - lo);
    } else {
        memset(base, 0, sizeof(lrp_real) * (size_t)numel);
    }
}

/* curve[k]: the target's logit with k regions perturbed, k = 0..K; copies run
 * in batches. */
static lrp_status perturb_curve(lrp_model *m, const lrp_tensor *x, int64_t target, const lrp_perturb_options *o,
                                const region *regs, const int64_t *rid, const lrp_real *base, int K, lrp_real *curve,
                                lrp_error *err)
{
    lrp_status st = LRP_OK;
    int chunk = o->max_batch > 0 ? o->max_batch : 16;
    int64_t per = x->numel;
    lrp_real *cur = malloc(sizeof(lrp_real) * (size_t)per);
    if (!cur)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    memcpy(cur, x->data, sizeof(lrp_real) * (size_t)per);
    for (int k0 = 0; k0 <= K && st == LRP_OK;) {
        int k = K + 1 - k0 < chunk ? K + 1 - k0 : chunk;
        int64_t dims[LRP_MAX_DIMS];
        memcpy(dims, x->dims, sizeof dims);
        dims[0] = k;
        lrp_tensor *b = lrp_tensor_new(LRP_REAL_DT, x->ndim, dims, err), *logits = NULL;
        if (!b) {
            st = err ? err->status : LRP_ERR_NOMEM;
            break;
        }
        lrp_real *saved = malloc(sizeof(lrp_real) * (size_t)per);
        if (!saved) {
            lrp_tensor_free(b);
            st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(saved, cur, sizeof(lrp_real) * (size_t)per);
        for (int j = 0; j < k; j++) {
            int step = k0 + j;
            if (step > 0) { /* perturb the step-th region in the order */
                for (int64_t i = 0; i < per; i++)
                    if (rid[i] == regs[step - 1].index)
                        cur[i] = base[i];
            }
            memcpy((lrp_real *)b->data + (int64_t)j * per, cur, sizeof(lrp_real) * (size_t)per);
        }
        st = lrp_model_run(m, b, &logits, err);
        lrp_tensor_free(b);
        if (st == LRP_ERR_SHAPE && k > 1) { /* a model fixed to batch 1 */
            memcpy(cur, saved, sizeof(lrp_real) * (size_t)per);
            free(saved);
            chunk = 1;
            lrp_error_clear(err);
            st = LRP_OK;
            continue;
        }
        free(saved);
        if (st == LRP_ERR_NUMERIC)
            lrp_error_prefix(err, "region perturbation (%s, up to %d regions perturbed)",
                             o->order == LRP_LERF ? "lerf" : "morf", k0 + k - 1);
        if (st == LRP_OK) {
            int64_t nc = logits->dims[1];
            if (target < 0 || target >= nc)
                st = lrp_fail(err, LRP_ERR_ARG, "target class %lld is out of range", (long long)target);
            for (int j = 0; j < k && st == LRP_OK; j++)
                curve[k0 + j] = ((lrp_real *)logits->data)[(int64_t)j * nc + target];
        }
        lrp_tensor_free(logits);
        k0 += k;
    }
    free(cur);
    return st;
}

static lrp_status region_perturbation(lrp_model *m, const lrp_tensor *input, const lrp_tensor *relevance,
                                      int64_t target, const lrp_perturb_options *o, lrp_real *curve, int *n_steps,
                                      lrp_error *err)
{
    lrp_perturb_options def;
    if (!o) {
        lrp_perturb_options_default(&def);
        o = &def;
    }
    *n_steps = 0;
    lrp_tensor *x = NULL;
    lrp_status st = lrp_model_conform_input(m, input, &x, err);
    if (st != LRP_OK)
        return st;
    perturb_geom g = {false, 0, 0, 0};
    st = perturb_check(m, x, relevance, o, &g, err);
    if (st != LRP_OK) {
        lrp_tensor_free(x);
        return st;
    }
    int P = o->patch > 0 ? o->patch : 8;
    int64_t ph = g.H == 1 ? 1 : P, ny = (g.H + ph - 1) / ph, nx = (g.W + P - 1) / P, nreg = ny * nx;
    int K = o->steps < nreg ? o->steps : (int)nreg;
    region *regs = calloc((size_t)nreg, sizeof *regs);
    lrp_real *base = malloc(sizeof(lrp_real) * (size_t)x->numel);
    int64_t *rid = malloc(sizeof(int64_t) * (size_t)x->numel);
    if (!regs || !base || !rid) {
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    } else {
        rank_regions(&g, relevance->data, x->numel, ph, P, nx, nreg, o->order, regs, rid);
        fill_baseline(&g, x->data, x->numel, o, base);
        st = perturb_curve(m, x, target, o, regs, rid, base, K, curve, err);
    }
    if (st == LRP_OK)
        *n_steps = K;
    free(regs);
    free(base);
    free(rid);
    lrp_tensor_free(x);
    return st;
}

lrp_status lrp_region_perturbation(lrp_model *m, const lrp_tensor *input, const lrp_tensor *relevance, int64_t target,
                                   const lrp_perturb_options *o, lrp_real *curve, int *n_steps, lrp_error *err)
{
    lrp_exec saved;
    lrp_model_exec_enter(m, &saved);
    lrp_status st = region_perturbation(m, input, relevance, target, o, curve, n_steps, err);
    lrp_exec_leave(&saved);
    return st;
}
