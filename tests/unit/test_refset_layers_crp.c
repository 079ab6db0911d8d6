/* Relevance inside the network against ../shared/refset-layers (sections 1
 * and 2 of its README.md): every `relevance-at`, `crp` and `concepts` case,
 * scored as the README says (||X - G|| / ||G|| <= the case's tolerance),
 * with lrp_explainer_set_inside's records and conditions. Without
 * ../shared, the tiny-cnn cases copied into testdata/refset-layers run.
 *
 * Also (issue 14, "Done when" 2): the conditional heatmaps of all channels
 * of a layer that no shortcut bypasses sum to the unconditioned heatmap;
 * the relevance recorded at every node sums to what the --check hook
 * reports there; a batch of per-sample conditions (lrp concepts) equals
 * the conditions run one by one.
 *
 * LRP_REFSET_VERBOSE: a line for every case; LRP_REFSET_ONLY=TEXT: only
 * the cases whose golden's name contains TEXT. */
#include "testutil.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RV(t) ((lrp_real *)(t)->data)

/* ------------------------------------------------------ a small JSON reader */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval jval;
struct jval {
    jtype t;
    double num;
    char *str;   /* J_STR */
    int n;       /* J_ARR, J_OBJ */
    char **keys; /* J_OBJ */
    jval *items;
};

static const char *jskip(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

static const char *jparse(const char *p, jval *v);

static const char *jstring(const char *p, char **out)
{
    size_t cap = 64, n = 0;
    char *s = malloc(cap);
    p++; /* the quote */
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            c = *p++;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
            if (c == 'u') { /* only ASCII is expected in the cases */
                c = (char)strtol((char[5]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
                p += 4;
            }
        }
        if (n + 2 > cap)
            s = realloc(s, cap *= 2);
        s[n++] = c;
    }
    s[n] = '\0';
    *out = s;
    return *p ? p + 1 : p;
}

static const char *jlist(const char *p, jval *v, bool obj)
{
    v->t = obj ? J_OBJ : J_ARR;
    p = jskip(p + 1);
    int cap = 0;
    while (*p && *p != (obj ? '}' : ']')) {
        if (v->n == cap) {
            cap = cap ? 2 * cap : 8;
            v->items = realloc(v->items, sizeof *v->items * (size_t)cap);
            if (obj)
                v->keys = realloc(v->keys, sizeof *v->keys * (size_t)cap);
        }
        if (obj) {
            p = jstring(p, &v->keys[v->n]);
            p = jskip(p);
            p = jskip(p + 1); /* ':' */
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        p = jskip(jparse(p, &v->items[v->n]));
        v->n++;
        if (*p == ',')
            p = jskip(p + 1);
    }
    return *p ? p + 1 : p;
}

static const char *jparse(const char *p, jval *v)
{
    p = jskip(p);
    memset(v, 0, sizeof *v);
    if (*p == '{' || *p == '[')
        return jlist(p, v, *p == '{');
    if (*p == '"') {
        v->t = J_STR;
        return jstring(p, &v->str);
    }
    if (!strncmp(p, "null", 4))
        return p + 4;
    if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
        v->t = J_BOOL;
        v->num = *p == 't';
        return p + (*p == 't' ? 4 : 5);
    }
    char *end;
    v->t = J_NUM;
    v->num = strtod(p, &end);
    return end;
}

static void jfree(jval *v)
{
    for (int i = 0; i < v->n; i++) {
        jfree(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

static const jval *jget(const jval *o, const char *key)
{
    for (int i = 0; o && o->t == J_OBJ && i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return &o->items[i];
    return NULL;
}

static const char *jstr(const jval *o, const char *key)
{
    const jval *v = jget(o, key);
    return v && v->t == J_STR ? v->str : NULL;
}

static double jnum(const jval *o, const char *key, double dflt)
{
    const jval *v = jget(o, key);
    return v && (v->t == J_NUM || v->t == J_BOOL) ? v->num : dflt;
}

/* --------------------------------------------------------------- the cases */

static const double imagenet_mean[3] = {0.485, 0.456, 0.406}, imagenet_std[3] = {0.229, 0.224, 0.225};

/* The set's directory: ../shared/refset-layers, else the copy in testdata. */
static const char *set_dir(bool *shared)
{
    static char dir[700];
    const char *sh = tu_shared_dir();
    *shared = false;
    if (sh) {
        snprintf(dir, sizeof dir, "%s/refset-layers/cases.json", sh);
        FILE *f = fopen(dir, "r");
        if (f) {
            fclose(f);
            snprintf(dir, sizeof dir, "%s/refset-layers", sh);
            *shared = true;
            return dir;
        }
    }
    snprintf(dir, sizeof dir, "%s", tu_testdata("refset-layers"));
    return dir;
}

/* A model file of the set; the testdata copy takes tiny-cnn from testdata/refset/models. */
static const char *model_path(const char *dir, const char *rel)
{
    const char *p = tu_path(dir, rel);
    FILE *f = fopen(p, "r");
    if (f) {
        fclose(f);
        return p;
    }
    return tu_testdata(tu_path("refset", rel));
}

typedef struct loaded {
    char path[1200];
    lrp_model *m;
} loaded;

static lrp_model *load(loaded *l, const char *path)
{
    if (l->m && !strcmp(l->path, path))
        return l->m;
    lrp_model_free(l->m);
    lrp_error err;
    lrp_load_options lo;
    lrp_load_options_default(&lo);
    snprintf(l->path, sizeof l->path, "%s", path);
    if (!(l->m = lrp_model_load(path, &lo, &err)))
        fail_msg("%s: %s", path, err.message);
    return l->m;
}

static lrp_explainer *explainer(lrp_model *m, const char *method)
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
    lrp_error err;
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    if (!e)
        fail_msg("%s: %s", method, err.message);
    return e;
}

/* The conditions of a case ({node: [channels]} in order), into c (max 8). */
static int case_conditions(const jval *cs, lrp_condition *c, int64_t ch[8][64])
{
    const jval *o = jget(cs, "condition");
    int n = 0;
    for (int i = 0; o && o->t == J_OBJ && i < o->n && n < 8; i++, n++) {
        const jval *a = &o->items[i];
        c[n] = (lrp_condition){o->keys[i], a->n < 64 ? a->n : 64, ch[n], -1};
        for (int k = 0; k < c[n].n_channels; k++)
            ch[n][k] = (int64_t)a->items[k].num;
    }
    return n;
}

static lrp_tensor *read_npy(const char *dir, const char *rel)
{
    lrp_tensor *t = NULL;
    lrp_error err;
    if (!rel || lrp_npy_read(tu_path(dir, rel), &t, &err) != LRP_OK)
        fail_msg("%s: %s", rel ? rel : "(none)", rel ? err.message : "no golden");
    return t;
}

static double rel_l2_to(const lrp_tensor *x, const lrp_tensor *g)
{
    if (!x || x->numel != g->numel)
        return INFINITY;
    return tu_rel_l2(x->data, g->data, (size_t)g->numel);
}

/* The channel sum of (1, C, H, W): (1, H, W). */
static lrp_tensor *channel_sum(const lrp_tensor *r)
{
    int64_t C = r->dims[1], HW = r->numel / (r->dims[0] * C);
    int64_t dims[3] = {r->dims[0], r->ndim == 4 ? r->dims[2] : HW, r->ndim == 4 ? r->dims[3] : 1};
    lrp_tensor *h = lrp_tensor_new(LRP_REAL_DT, 3, dims, NULL);
    for (int64_t b = 0; b < r->dims[0]; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t q = 0; q < HW; q++)
                RV(h)[b * HW + q] += RV(r)[(b * C + c) * HW + q];
    return h;
}

/* r_c = sum over positions of R[0, c]; shares r_c / (sum |r_c| + 1e-10). */
static void concept_vectors(const lrp_tensor *R, lrp_tensor **share, lrp_tensor **raw)
{
    int64_t C = R->dims[1], inner = R->numel / (R->dims[0] * C);
    *share = lrp_tensor_new(LRP_REAL_DT, 1, &C, NULL);
    *raw = lrp_tensor_new(LRP_REAL_DT, 1, &C, NULL);
    double total = 0;
    double *r = calloc((size_t)C, sizeof *r);
    for (int64_t c = 0; c < C; c++) {
        for (int64_t q = 0; q < inner; q++)
            r[c] += RV(R)[c * inner + q];
        total += fabs(r[c]);
    }
    for (int64_t c = 0; c < C; c++) {
        RV(*raw)[c] = (lrp_real)r[c];
        RV(*share)[c] = (lrp_real)(r[c] / (total + 1e-10));
    }
    free(r);
}

/* Runs one case; returns its rel.L2 (the worst of its arrays) and says why in why. */
static double run_case(loaded *l, const char *dir, const jval *cs, char *why, size_t wsize)
{
    const char *kind = jstr(cs, "kind"), *method = jstr(cs, "method");
    lrp_model *m = load(l, model_path(dir, jstr(cs, "model")));
    lrp_tensor *x = read_npy(dir, jstr(cs, "input"));
    lrp_explainer *e = explainer(m, method);
    lrp_inside_options io;
    lrp_inside_options_default(&io);
    lrp_condition cond[8];
    int64_t ch[8][64];
    const char *node = jstr(cs, "node");
    io.n_conditions = case_conditions(cs, cond, ch);
    io.conditions = cond;
    io.exclude_parallel = jnum(cs, "exclude_parallel", 1) != 0;
    if (node) {
        io.n_records = 1;
        io.records = &node;
    }
    lrp_error err;
    if (lrp_explainer_set_inside(e, &io, &err) != LRP_OK)
        fail_msg("%s", err.message);
    int64_t t = (int64_t)jnum(cs, "target", -1);
    lrp_seed seed = !strcmp(jstr(cs, "seed"), "logit") ? LRP_SEED_LOGIT : LRP_SEED_ONE;
    lrp_tensor *rel = NULL, *logits = NULL;
    if (lrp_explain(e, x, &t, seed, &rel, &logits, NULL, &err) != LRP_OK)
        fail_msg("%s", err.message);
    double worst = 0;
    if (!strcmp(kind, "relevance-at")) {
        lrp_tensor *g = read_npy(dir, jstr(cs, "golden"));
        const lrp_tensor *R = lrp_explainer_recorded(e, 0);
        const jval *shape = jget(cs, "shape");
        bool same = R && shape && shape->n == R->ndim;
        for (int k = 0; same && k < shape->n; k++)
            same = (int64_t)shape->items[k].num == R->dims[k];
        worst = same ? rel_l2_to(R, g) : INFINITY;
        snprintf(why, wsize, "%s", same ? "" : "shape differs");
        lrp_tensor_free(g);
    } else if (!strcmp(kind, "crp")) {
        lrp_tensor *g = read_npy(dir, jstr(cs, "heatmap")), *h = channel_sum(rel);
        worst = rel_l2_to(h, g);
        if (jstr(cs, "relevance")) {
            lrp_tensor *gr = read_npy(dir, jstr(cs, "relevance"));
            worst = fmax(worst, rel_l2_to(rel, gr));
            lrp_tensor_free(gr);
        }
        lrp_tensor_free(g);
        lrp_tensor_free(h);
    } else {
        lrp_tensor *g = read_npy(dir, jstr(cs, "golden")), *graw = read_npy(dir, jstr(cs, "golden_raw"));
        lrp_tensor *share, *raw;
        concept_vectors(lrp_explainer_recorded(e, 0), &share, &raw);
        worst = fmax(rel_l2_to(share, g), rel_l2_to(raw, graw));
        /* the top channel, as crp ranks them */
        int64_t top = 0;
        for (int64_t c = 1; c < share->numel; c++)
            if (RV(share)[c] > RV(share)[top])
                top = c;
        const jval *gt = jget(cs, "top");
        if (gt && gt->n && (int64_t)gt->items[0].num != top) {
            snprintf(why, wsize, "top channel %lld, golden %lld", (long long)top, (long long)gt->items[0].num);
            worst = INFINITY;
        }
        lrp_tensor_free(g);
        lrp_tensor_free(graw);
        lrp_tensor_free(share);
        lrp_tensor_free(raw);
    }
    lrp_tensor_free(rel);
    lrp_tensor_free(logits);
    lrp_tensor_free(x);
    lrp_explainer_free(e);
    return worst;
}

static void test_refset_layers(void **state)
{
    (void)state;
    bool shared;
    const char *dir = set_dir(&shared);
    size_t len;
    char *text = (char *)tu_read_file(tu_path(dir, "cases.json"), &len);
    if (!text)
        TU_SKIP("no refset-layers cases at %s", dir);
    jval all;
    jparse(text, &all);
    free(text);
    const char *only = getenv("LRP_REFSET_ONLY");
    bool verbose = getenv("LRP_REFSET_VERBOSE") != NULL;
    static const char *const kinds[3] = {"relevance-at", "crp", "concepts"};
    int ran[3] = {0}, passed[3] = {0};
    double worst_ratio = 0, worst_l2 = 0, worst_tol = 0;
    char worst_id[400] = "";
    loaded l = {"", NULL};
    lrp_set_threads(0);
    for (int i = 0; i < all.n; i++) {
        const jval *cs = &all.items[i];
        const char *kind = jstr(cs, "kind");
        int k;
        for (k = 0; k < 3 && strcmp(kind, kinds[k]); k++)
            ;
        const char *id = jstr(cs, k == 1 ? "heatmap" : "golden");
        if (k == 3 || (only && !strstr(id, only)))
            continue;
        char why[200] = "";
        double tol = jnum(cs, "tolerance", 1e-4);
        double r = run_case(&l, dir, cs, why, sizeof why);
        bool ok = r <= tol;
        ran[k]++;
        passed[k] += ok;
        if (!(r / tol <= worst_ratio)) {
            worst_ratio = r / tol;
            worst_l2 = r;
            worst_tol = tol;
            snprintf(worst_id, sizeof worst_id, "%s", id);
        }
        if (verbose || !ok)
            print_message("%s %-110s rel.L2 %.3g (tolerance %.3g)%s%s\n", ok ? "ok  " : "FAIL", id, r, tol,
                          why[0] ? ": " : "", why);
    }
    lrp_model_free(l.m);
    jfree(&all);
    print_message("refset-layers (%s): relevance-at %d/%d, crp %d/%d, concepts %d/%d; worst %s: rel.L2 %.3g, "
                  "tolerance %.3g (%.3g of it)\n",
                  shared ? "../shared" : "testdata copy", passed[0], ran[0], passed[1], ran[1], passed[2], ran[2],
                  worst_id, worst_l2, worst_tol, worst_ratio);
    assert_int_equal(passed[0], ran[0]);
    assert_int_equal(passed[1], ran[1]);
    assert_int_equal(passed[2], ran[2]);
    assert_true(ran[0] + ran[1] + ran[2] > 0);
}

/* ------------------------------------------------------ sums and batches */

#define TINY_CNN "refset/models/tiny-cnn.onnx"
#define CHELSEA "refset-layers/inputs/chelsea-32.npy"

static lrp_tensor *explain_with(lrp_explainer *e, const lrp_tensor *x, int64_t target, const lrp_inside_options *io)
{
    lrp_error err;
    if (lrp_explainer_set_inside(e, io, &err) != LRP_OK)
        fail_msg("%s", err.message);
    int64_t n = x->dims[0];
    int64_t *t = malloc(sizeof *t * (size_t)n);
    for (int64_t b = 0; b < n; b++)
        t[b] = target;
    lrp_tensor *rel = NULL, *logits = NULL;
    if (lrp_explain(e, x, t, LRP_SEED_LOGIT, &rel, &logits, NULL, &err) != LRP_OK)
        fail_msg("%s", err.message);
    free(t);
    lrp_tensor_free(logits);
    return rel;
}

/* The heatmaps conditioned on each channel of /4/Conv of tiny-cnn (no
 * shortcut around it) sum to the unconditioned one, and so do the channel
 * sums of the relevance at the layer (the concept relevances). */
static void test_channels_sum(void **state)
{
    (void)state;
    lrp_error err;
    lrp_model *m = lrp_model_load(tu_testdata(TINY_CNN), NULL, &err);
    assert_non_null(m);
    lrp_tensor *x = NULL;
    assert_int_equal(lrp_npy_read(tu_testdata(CHELSEA), &x, &err), LRP_OK);
    lrp_explainer *e = explainer(m, "epsilon-plus-flat");
    const char *layer = "/4/Conv";
    lrp_inside_options io;
    lrp_inside_options_default(&io);
    io.n_records = 1;
    io.records = &layer;
    lrp_tensor *plain = explain_with(e, x, 3, &io);
    lrp_tensor *R = lrp_tensor_clone(lrp_explainer_recorded(e, 0), &err);
    int64_t C = R->dims[1];
    lrp_tensor *sum = lrp_tensor_new(LRP_REAL_DT, plain->ndim, plain->dims, &err);
    double layer_total = 0, input_total = 0;
    for (int64_t q = 0; q < R->numel; q++)
        layer_total += RV(R)[q];
    for (int64_t c = 0; c < C; c++) {
        lrp_condition cond = {layer, 1, &c, -1};
        lrp_inside_options ic;
        lrp_inside_options_default(&ic);
        ic.n_conditions = 1;
        ic.conditions = &cond;
        lrp_tensor *rc = explain_with(e, x, 3, &ic);
        for (int64_t q = 0; q < rc->numel; q++)
            RV(sum)[q] += RV(rc)[q];
        lrp_tensor_free(rc);
    }
    for (int64_t q = 0; q < plain->numel; q++)
        input_total += RV(plain)[q];
    double d = tu_rel_l2(sum->data, plain->data, (size_t)plain->numel);
    print_message("tiny-cnn %s: %lld conditional heatmaps sum to the unconditioned one within rel.L2 %.3g "
                  "(relevance at the layer %.6g, at the input %.6g)\n",
                  layer, (long long)C, d, layer_total, input_total);
    assert_true(d <= 1e-5);
    lrp_tensor_free(sum);
    lrp_tensor_free(R);
    lrp_tensor_free(plain);
    lrp_tensor_free(x);
    lrp_explainer_free(e);
    lrp_model_free(m);
}

/* What the --check hook prints as R(output) of every node is the sum of the
 * relevance recorded there. */
typedef struct check_sums {
    int n;
    char names[64][64];
    double r_out[64];
} check_sums;

static void on_check(void *ctx, const char *node, const char *op, const char *rule, int64_t batch, const double *r_out,
                     const double *r_in, const double *cut)
{
    check_sums *c = ctx;
    if (c->n < 64) {
        snprintf(c->names[c->n], sizeof c->names[c->n], "%s", node);
        c->r_out[c->n++] = r_out[0];
    }
}

static void test_check_sums(void **state)
{
    (void)state;
    lrp_error err;
    lrp_model *m = lrp_model_load(tu_testdata(TINY_CNN), NULL, &err);
    assert_non_null(m);
    lrp_tensor *x = NULL;
    assert_int_equal(lrp_npy_read(tu_testdata(CHELSEA), &x, &err), LRP_OK);
    lrp_explainer *e = explainer(m, "epsilon-gamma-box");
    check_sums cs = {0};
    lrp_explainer_set_check(e, on_check, &cs);
    const char *nodes[3] = {"/0/Conv", "/4/Conv", "/8/Flatten"};
    lrp_inside_options io;
    lrp_inside_options_default(&io);
    io.n_records = 3;
    io.records = nodes;
    lrp_tensor *rel = explain_with(e, x, 3, &io);
    int matched = 0;
    for (int k = 0; k < 3; k++) {
        const lrp_tensor *R = lrp_explainer_recorded(e, k);
        double s = 0;
        for (int64_t q = 0; q < R->numel; q++)
            s += RV(R)[q];
        for (int i = 0; i < cs.n; i++)
            if (!strcmp(cs.names[i], nodes[k])) {
                print_message("%s: recorded relevance sums to %.9g, --check says %.9g\n", nodes[k], s, cs.r_out[i]);
                assert_true(fabs(s - cs.r_out[i]) <= 1e-6 * fmax(1e-3, fabs(s)));
                matched++;
            }
    }
    assert_int_equal(matched, 3);
    lrp_tensor_free(rel);
    lrp_tensor_free(x);
    lrp_explainer_free(e);
    lrp_model_free(m);
}

/* A batch of per-sample conditions (what lrp concepts runs) equals each
 * condition run alone, with an upper condition on every sample. */
static void test_batched_conditions(void **state)
{
    (void)state;
    lrp_error err;
    lrp_model *m = lrp_model_load(tu_testdata(TINY_CNN), NULL, &err);
    assert_non_null(m);
    lrp_tensor *x1 = NULL;
    assert_int_equal(lrp_npy_read(tu_testdata(CHELSEA), &x1, &err), LRP_OK);
    const int K = 3;
    int64_t dims[4] = {K, x1->dims[1], x1->dims[2], x1->dims[3]};
    lrp_tensor *xk = lrp_tensor_new(LRP_REAL_DT, 4, dims, &err);
    for (int b = 0; b < K; b++)
        memcpy(RV(xk) + b * x1->numel, x1->data, sizeof(lrp_real) * (size_t)x1->numel);
    lrp_explainer *e = explainer(m, "epsilon-plus-flat");
    int64_t upper_ch[2] = {10, 6}, ch[3] = {0, 1, 5};
    lrp_condition conds[4] = {{"/4/Conv", 2, upper_ch, -1}};
    for (int b = 0; b < K; b++)
        conds[1 + b] = (lrp_condition){"/0/Conv", 1, &ch[b], b};
    lrp_inside_options io;
    lrp_inside_options_default(&io);
    io.n_conditions = 1 + K;
    io.conditions = conds;
    lrp_tensor *batch = explain_with(e, xk, 3, &io);
    for (int b = 0; b < K; b++) {
        lrp_condition one[2] = {conds[0], {"/0/Conv", 1, &ch[b], -1}};
        io.n_conditions = 2;
        io.conditions = one;
        lrp_tensor *r = explain_with(e, x1, 3, &io);
        double d = tu_rel_l2(RV(batch) + b * r->numel, r->data, (size_t)r->numel);
        assert_true(d <= 1e-6);
        lrp_tensor_free(r);
    }
    /* errors: an unknown node, a channel out of range */
    lrp_condition bad = {"/nope/Conv", 1, ch, -1};
    io.n_conditions = 1;
    io.conditions = &bad;
    assert_int_equal(lrp_explainer_set_inside(e, &io, &err), LRP_ERR_ARG);
    int64_t big = 999;
    bad = (lrp_condition){"/4/Conv", 1, &big, -1};
    assert_int_equal(lrp_explainer_set_inside(e, &io, &err), LRP_ERR_ARG);
    print_message("out of range: %s\n", err.message);
    lrp_tensor_free(batch);
    lrp_tensor_free(xk);
    lrp_tensor_free(x1);
    lrp_explainer_free(e);
    lrp_model_free(m);
}

/* lrp_explain_channels (the sweep below the layer for a batch of
 * conditions) equals lrp_explain with each condition alone: tiny-cnn, and
 * with ../shared tiny-resnet, whose layer has a shortcut around it, with
 * and without exclude_parallel, with a condition above. */
static void channels_case(const char *model, const char *input, const char *method, const char *layer,
                          const lrp_condition *upper, int exclude_parallel, int64_t target)
{
    lrp_error err;
    lrp_model *m = lrp_model_load(model, NULL, &err);
    if (!m)
        fail_msg("%s: %s", model, err.message);
    lrp_tensor *x = NULL;
    assert_int_equal(lrp_npy_read(input, &x, &err), LRP_OK);
    lrp_explainer *e = explainer(m, method);
    lrp_inside_options io;
    lrp_inside_options_default(&io);
    io.exclude_parallel = exclude_parallel;
    io.n_conditions = upper ? 1 : 0;
    io.conditions = upper;
    io.n_records = 1;
    io.records = &layer;
    if (lrp_explainer_set_inside(e, &io, &err) != LRP_OK)
        fail_msg("%s", err.message);
    int64_t ch[4], used = -1;
    lrp_tensor *R = NULL, *rel = NULL, *logits = NULL;
    if (lrp_explain_channels(e, x, target, LRP_SEED_LOGIT, layer, 4, ch, 1, &R, &rel, &logits, &used, &err) != LRP_OK)
        fail_msg("%s", err.message);
    assert_int_equal(rel->dims[0], 4);
    assert_int_equal(used, target);
    double worst = 0;
    for (int b = 0; b < 4; b++) {
        lrp_condition cs[2] = {{layer, 1, &ch[b], -1}};
        if (upper) {
            cs[0] = *upper;
            cs[1] = (lrp_condition){layer, 1, &ch[b], -1};
        }
        lrp_inside_options one;
        lrp_inside_options_default(&one);
        one.exclude_parallel = exclude_parallel;
        one.n_conditions = upper ? 2 : 1;
        one.conditions = cs;
        one.n_records = 1;
        one.records = &layer;
        lrp_tensor *r1 = explain_with(e, x, target, &one);
        if (b == 0) /* the layer's relevance of the first call: before the mask at it */
            assert_true(tu_rel_l2(R->data, lrp_explainer_recorded(e, 0)->data, (size_t)R->numel) <= 1e-7);
        worst = fmax(worst, tu_rel_l2(RV(rel) + b * r1->numel, r1->data, (size_t)r1->numel));
        lrp_tensor_free(r1);
    }
    print_message("%s %s%s%s: channels %lld %lld %lld %lld in one call, rel.L2 %.3g to one by one\n", layer,
                  exclude_parallel ? "" : "with parallel", upper ? " given " : "", upper ? upper->node : "",
                  (long long)ch[0], (long long)ch[1], (long long)ch[2], (long long)ch[3], worst);
    assert_true(worst <= 1e-6);
    lrp_tensor_free(R);
    lrp_tensor_free(rel);
    lrp_tensor_free(logits);
    lrp_tensor_free(x);
    lrp_explainer_free(e);
    lrp_model_free(m);
}

static void test_explain_channels(void **state)
{
    (void)state;
    int64_t c10 = 10, c156 = 156;
    lrp_condition up = {"/4/Conv", 1, &c10, -1};
    channels_case(tu_testdata(TINY_CNN), tu_testdata(CHELSEA), "epsilon-plus-flat", "/4/Conv", NULL, 1, 3);
    channels_case(tu_testdata(TINY_CNN), tu_testdata(CHELSEA), "epsilon-gamma-box", "/0/Conv", &up, 1, 3);
    bool shared;
    const char *dir = set_dir(&shared);
    if (!shared)
        return;
    const char *tr = tu_path(dir, "models/tiny-resnet.onnx"), *x64 = tu_path(dir, "inputs/chelsea-64.npy");
    char trp[1200], xp[1200];
    snprintf(trp, sizeof trp, "%s", tr);
    snprintf(xp, sizeof xp, "%s", x64);
    lrp_condition up2 = {"/layer3/layer3.0/conv2/Conv", 1, &c156, -1};
    channels_case(trp, xp, "epsilon-plus-flat", "/layer3/layer3.0/conv2/Conv", NULL, 1, 7);
    channels_case(trp, xp, "epsilon-plus-flat", "/layer3/layer3.0/conv2/Conv", NULL, 0, 7);
    channels_case(trp, xp, "epsilon-plus-flat", "/layer2/layer2.0/relu_1/Relu", &up2, 1, 7);
    channels_case(trp, xp, "epsilon-plus-flat", "/layer2/layer2.0/relu_1/Relu", &up2, 0, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refset_layers),    cmocka_unit_test(test_channels_sum),
        cmocka_unit_test(test_check_sums),       cmocka_unit_test(test_batched_conditions),
        cmocka_unit_test(test_explain_channels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
