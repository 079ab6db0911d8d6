/* The second-order conformance set: its cases, one case run and scored, the finite-difference check
 * (order2_common.h). */
#include "order2_common.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ cases */

/* The text after "KEY": within [p, end), or NULL. */
static const char *value_of(const char *p, const char *end, const char *key)
{
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    size_t n = strlen(pat);
    for (const char *q = p; q + n <= end; q++)
        if (!memcmp(q, pat, n)) {
            q += n;
            while (q < end && (*q == ' ' || *q == '\n'))
                q++;
            return q;
        }
    return NULL;
}

/* A string value into out ("" when absent or null). */
static void string_of(const char *p, const char *end, const char *key, char *out, size_t size)
{
    out[0] = '\0';
    const char *v = value_of(p, end, key);
    if (!v || *v != '"')
        return;
    const char *close = memchr(v + 1, '"', (size_t)(end - v - 1));
    size_t len = close ? (size_t)(close - v - 1) : 0;
    if (len >= size)
        len = size - 1;
    memcpy(out, v + 1, len);
    out[len] = '\0';
}

static double number_of(const char *p, const char *end, const char *key, double dflt)
{
    const char *v = value_of(p, end, key);
    if (!v || !strncmp(v, "null", 4))
        return dflt;
    return strtod(v, NULL);
}

int o2_read_cases(const char *dir, o2_case **out)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/cases.json", dir);
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    if (!text)
        return -1;
    const char *end = text + len;
    int n = 0, cap = 0;
    o2_case *cases = NULL;
    for (const char *p = strstr(text, "\"kind\""); p;) {
        const char *next = strstr(p + 6, "\"kind\"");
        const char *oe = next ? next : end;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            cases = realloc(cases, sizeof *cases * (size_t)cap);
        }
        o2_case *c = &cases[n++];
        memset(c, 0, sizeof *c);
        string_of(p, oe, "model", c->model, sizeof c->model);
        string_of(p, oe, "input", c->input, sizeof c->input);
        string_of(p, oe, "method", c->method, sizeof c->method);
        string_of(p, oe, "seed", c->seed, sizeof c->seed);
        string_of(p, oe, "cotangent", c->cotangent, sizeof c->cotangent);
        string_of(p, oe, "cotangent_target", c->target_map, sizeof c->target_map);
        string_of(p, oe, "mode", c->mode, sizeof c->mode);
        string_of(p, oe, "golden", c->golden, sizeof c->golden);
        string_of(p, oe, "relevance", c->relevance, sizeof c->relevance);
        c->target = (int64_t)number_of(p, oe, "target", -1);
        c->tolerance = number_of(p, oe, "tolerance", 1e-4);
        c->rel_tolerance = fmax(1e-4, 5 * number_of(p, oe, "relevance_f32_vs_f64_rel_l2", 0));
        const char *ill = value_of(p, oe, "ill_conditioned");
        c->ill_conditioned = ill && !strncmp(ill, "true", 4);
        p = next;
    }
    free(text);
    *out = cases;
    return n;
}

/* ------------------------------------------------------------- one case */

static char model_path[1200];
static lrp_model *model;
static int model_canonize = -1;
int o2_canonize = 1;

void o2_close(void)
{
    lrp_model_free(model);
    model = NULL;
    model_path[0] = '\0';
}

static lrp_model *open_model(const char *path, char *why, size_t size)
{
    if (model && !strcmp(path, model_path) && model_canonize == o2_canonize)
        return model;
    o2_close();
    lrp_error err = {0};
    lrp_load_options lo;
    lrp_load_options_default(&lo);
    lo.canonize = o2_canonize;
    model_canonize = o2_canonize;
    if (!(model = lrp_model_load(path, &lo, &err))) {
        snprintf(why, size, "%s", err.message);
        return NULL;
    }
    snprintf(model_path, sizeof model_path, "%s", path);
    return model;
}

static const double imagenet_mean[3] = {0.485, 0.456, 0.406}, imagenet_std[3] = {0.229, 0.224, 0.225};

/* The explainer of a method with the set's parameters (zennit's defaults; ZBox bounds of ImageNet's
 * normalisation), on the canonized model. */
static lrp_explainer *explainer_for(lrp_model *m, const char *method, char *why, size_t size)
{
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    eo.composite = method;
    lrp_real low[3], high[3];
    for (int k = 0; k < 3; k++) {
        low[k] = (lrp_real)((0.0 - imagenet_mean[k]) / imagenet_std[k]);
        high[k] = (lrp_real)((1.0 - imagenet_mean[k]) / imagenet_std[k]);
    }
    eo.n_bounds = 3;
    eo.low = low;
    eo.high = high;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    if (!e)
        snprintf(why, size, "%s", err.message);
    return e;
}

static double rel_l2(const lrp_tensor *a, const lrp_tensor *b)
{
    if (!a || !b || a->numel != b->numel)
        return INFINITY;
    return tu_rel_l2(a->data, b->data, (size_t)a->numel);
}

static lrp_tensor *read_npy(const char *dir, const char *rel, char *why, size_t size)
{
    lrp_error err = {0};
    lrp_tensor *t = NULL;
    if (lrp_npy_read(tu_path(dir, rel), &t, &err) != LRP_OK)
        snprintf(why, size, "%s", err.message);
    return t;
}

void o2_run_case(const char *dir, const o2_case *c, o2_result *r)
{
    memset(r, 0, sizeof *r);
    r->rel_l2 = r->rel_l2_rel = INFINITY;
    lrp_tensor *x = NULL, *gold = NULL, *gold_rel = NULL, *T = NULL, *rel = NULL, *G = NULL;
    lrp_explainer *e = NULL;
    lrp_model *m = open_model(tu_path(dir, c->model), r->why, sizeof r->why);
    if (!m || !(x = read_npy(dir, c->input, r->why, sizeof r->why)) ||
        !(gold = read_npy(dir, c->golden, r->why, sizeof r->why)) ||
        !(gold_rel = read_npy(dir, c->relevance, r->why, sizeof r->why)) ||
        (c->target_map[0] && !(T = read_npy(dir, c->target_map, r->why, sizeof r->why))) ||
        !(e = explainer_for(m, c->method, r->why, sizeof r->why)))
        goto done;
    lrp_relevance_grad_options o = {
        .cotangent = LRP_COTANGENT_ONES, .target = T, .zennit = !strcmp(c->mode, "zennit")};
    if (!strcmp(c->cotangent, "self"))
        o.cotangent = LRP_COTANGENT_SELF;
    else if (!strcmp(c->cotangent, "target"))
        o.cotangent = LRP_COTANGENT_TARGET;
    int64_t t = c->target;
    lrp_error err = {0};
    lrp_seed seed = !strcmp(c->seed, "logit") ? LRP_SEED_LOGIT : LRP_SEED_ONE;
    if (lrp_explain_relevance_grad(e, x, &t, seed, &o, &rel, &G, NULL, NULL, &err) != LRP_OK) {
        snprintf(r->why, sizeof r->why, "%s", err.message);
        goto done;
    }
    r->rel_l2 = rel_l2(G, gold);
    r->rel_l2_rel = rel_l2(rel, gold_rel);
done:
    lrp_explainer_free(e);
    lrp_tensor_free(x);
    lrp_tensor_free(gold);
    lrp_tensor_free(gold_rel);
    lrp_tensor_free(T);
    lrp_tensor_free(rel);
    lrp_tensor_free(G);
}

/* ------------------------------------------------------ finite differences */

/* sum R(x), in double. */
static int relevance_sum(lrp_explainer *e, const lrp_tensor *x, int64_t target, lrp_seed seed, double *s, char *why,
                         size_t size)
{
    lrp_tensor *rel = NULL;
    lrp_error err = {0};
    int64_t t = target;
    if (lrp_explain(e, x, &t, seed, &rel, NULL, NULL, &err) != LRP_OK) {
        snprintf(why, size, "%s", err.message);
        return -1;
    }
    double acc = 0;
    for (int64_t i = 0; i < rel->numel; i++)
        acc += ((const lrp_real *)rel->data)[i];
    lrp_tensor_free(rel);
    *s = acc;
    return 0;
}

double o2_fd_check(const char *model_file, const char *input, const char *method, int64_t target, int seed_logit,
                   int full, int n_dirs, double h, char *why, size_t why_size)
{
    double result = INFINITY;
    lrp_tensor *x = NULL, *xp = NULL, *G = NULL, *v = NULL;
    lrp_explainer *e = NULL;
    lrp_error err = {0};
    lrp_model *m = open_model(model_file, why, why_size);
    lrp_seed seed = seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE;
    if (!m || lrp_npy_read(input, &x, &err) != LRP_OK || !(e = explainer_for(m, method, why, why_size))) {
        if (err.status != LRP_OK)
            snprintf(why, why_size, "%s", err.message);
        goto done;
    }
    lrp_relevance_grad_options o = {.cotangent = LRP_COTANGENT_ONES};
    int64_t t = target;
    if (lrp_explain_relevance_grad(e, x, &t, seed, &o, NULL, &G, NULL, NULL, &err) != LRP_OK ||
        !(xp = lrp_tensor_clone(x, &err)) || !(v = lrp_tensor_clone(x, &err))) {
        snprintf(why, why_size, "%s", err.message);
        goto done;
    }
    int64_t n = x->numel, dirs = full ? n : n_dirs;
    const lrp_real *x0 = x->data, *g = G->data;
    lrp_real *xq = xp->data, *vv = v->data;
    lrp_rng rng;
    lrp_rng_seed(&rng, 13);
    double num = 0, den = 0;
    for (int64_t d = 0; d < dirs; d++) {
        for (int64_t i = 0; i < n; i++)
            vv[i] = full ? (lrp_real)(i == d) : (lrp_real)lrp_rng_normal(&rng);
        double sp, sm, gv = 0;
        for (int64_t i = 0; i < n; i++) {
            xq[i] = x0[i] + (lrp_real)h * vv[i];
            gv += (double)g[i] * vv[i];
        }
        if (relevance_sum(e, xp, target, seed, &sp, why, why_size))
            goto done;
        for (int64_t i = 0; i < n; i++)
            xq[i] = x0[i] - (lrp_real)h * vv[i];
        if (relevance_sum(e, xp, target, seed, &sm, why, why_size))
            goto done;
        double fd = (sp - sm) / (2 * h);
        num += (fd - gv) * (fd - gv);
        den += gv * gv;
    }
    result = den > 0 ? sqrt(num / den) : sqrt(num);
done:
    lrp_explainer_free(e);
    lrp_tensor_free(x);
    lrp_tensor_free(xp);
    lrp_tensor_free(G);
    lrp_tensor_free(v);
    return result;
}
