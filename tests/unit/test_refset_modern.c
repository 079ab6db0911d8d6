/* Conformance on modern classifiers: every case of ../shared/refset-modern
 * (tiny ViT, Swin, ConvNeXt, EfficientNet, MobileNetV3 and RegNetY, each at
 * opsets 13 and 17), scored as its README.md says: a case passes when
 * ||R - G|| / ||G|| <= its tolerance and the logits are within 1e-5 of the
 * largest absolute golden logit. The heatmaps of every passing case (lrp's
 * relevance rendered as the golden PNGs were, refset_common.c) are compared
 * pixel for pixel, and the golden relevances must render to the golden PNGs.
 *
 * A ratchet: tests/refset-modern-expected.txt lists the cases (rs_case_id)
 * that pass. The test fails when a listed case does not pass and reports the
 * cases that pass without being listed; LRP_REFSET_MODERN_WRITE=1 rewrites
 * the list from a whole run. A model that does not load, a method lrp does
 * not have, an option it lacks (gate=uniform, attnlrp-vit's gammas) make
 * their cases fail with the reason, grouped in the summary.
 *
 * Every case also runs in the float64 build (what `lrp explain --double`
 * runs, see test_refset.c): lrp's float32 error against its own float64
 * result must stay within 5 times the reference's own float32 error, the
 * float64 result must pass the case, and its heatmaps (rounded to float32
 * as the goldens were before they were rendered) must all equal the golden
 * PNGs: 864 of 864, against 814 in float32 (there a value within float32
 * rounding of a palette step lands on either side of it). MobileNetV3's
 * need the float64 build to read the ONNX HardSigmoid slope, the float32
 * nearest 1/6, as the 1/6 the exporter meant (lrp_attr_real).
 *
 * LRP_REFSET_SUBSET=1 (the sanitizer leg): only the cases of the first input
 * and target of every model. LRP_REFSET_ONLY=TEXT: only the cases whose id
 * contains TEXT; LRP_REFSET_VERBOSE: a line for every case. Models load once
 * each: the cases run grouped by model. */
#include "refset_common.h"
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPECTED_FILE "tests/refset-modern-expected.txt"

typedef struct outcome {
    bool ran, pass, expected;
    double rel_l2;
    int heat_n, heat_ok; /* heatmaps of a passing case, and those pixel-exact */
    char id[300], reason[200], group[200];
} outcome;

typedef struct tally {
    char name[120];
    int ran, passed;
    double best, worst;
    char worst_id[300], models[300];
} tally;

static tally *tally_of(tally *t, int *n, int cap, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(t[i].name, name))
            return &t[i];
    if (*n == cap)
        return NULL;
    memset(&t[*n], 0, sizeof t[*n]);
    snprintf(t[*n].name, sizeof t[*n].name, "%s", name);
    return &t[(*n)++];
}

/* most cases first */
static int cmp_count(const void *a, const void *b)
{
    const tally *x = a, *y = b;
    return (x->ran < y->ran) - (x->ran > y->ran);
}

static const char *model_stem(const rs_case *c, char *buf, size_t size)
{
    const char *m = strrchr(c->model, '/');
    m = m ? m + 1 : c->model;
    size_t n = strlen(m);
    snprintf(buf, size, "%.*s", (int)(n > 5 && !strcmp(m + n - 5, ".onnx") ? n - 5 : n), m);
    return buf;
}

/* "epsilon-plus-flat", "epsilon-plus-flat epsilon=0.01", "epsilon-plus gate=uniform" */
static const char *method_label(const rs_case *c, char *buf, size_t size)
{
    snprintf(buf, size, "%.40s%s%.60s%s%.10s", c->method, strcmp(c->params, "-") ? " " : "",
             strcmp(c->params, "-") ? c->params : "", !strcmp(c->gate, "uniform") ? " gate=" : "",
             !strcmp(c->gate, "uniform") ? c->gate : "");
    return buf;
}

/* The part of lrp's message that is the same for every case it stops: "unsupported operator LayerNormalization
 * (opset 17)", "method attnlrp not available"; otherwise the message with its paths and node names (the words with a
 * '/') as "...", after the method: "epsilon-plus: ...: the relevance at the input 'input' is not finite". */
static void reason_group(const char *why, const char *method, char *out, size_t size)
{
    const char *u = strstr(why, "unsupported operator");
    const char *comp = strstr(why, "unknown composite '");
    if (u) {
        snprintf(out, size, "%s", u);
    } else if (comp) {
        comp += strlen("unknown composite '");
        snprintf(out, size, "method %.*s not available", (int)strcspn(comp, "'"), comp);
    } else if (!strncmp(why, "gate=", 5) || !strncmp(why, "parameter ", 10)) {
        snprintf(out, size, "%s", why);
    } else {
        size_t k = (size_t)snprintf(out, size, "%s: ", method);
        for (const char *p = why; *p && k + 4 < size;) {
            size_t word = strcspn(p, " '\"(),:");
            if (memchr(p, '/', word)) {
                k += (size_t)snprintf(out + k, size - k, "...");
            } else {
                memcpy(out + k, p, word);
                k += word;
            }
            p += word;
            if (*p && k + 4 < size)
                out[k++] = *p++;
        }
        out[k < size ? k : size - 1] = '\0';
    }
}

/* qsort has no context pointer: the cases being sorted */
static const rs_case *sort_cases;

/* by model, then in the order of cases.tsv */
static int cmp_index(const void *a, const void *b)
{
    const int i = *(const int *)a, j = *(const int *)b;
    int d = strcmp(sort_cases[i].model, sort_cases[j].model);
    return d ? d : (i > j) - (i < j);
}

static const char *expected_path(void)
{
    static const char *const roots[] = {"", "../", "../../"};
    static char buf[300];
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s", roots[i], EXPECTED_FILE);
        FILE *f = fopen(buf, "r");
        if (f) {
            fclose(f);
            return buf;
        }
    }
    return EXPECTED_FILE;
}

/* The expected list: one id a line, '#' comments; -1 without the file. */
static int read_expected(const char *path, char ***out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[400];
    int n = 0, cap = 0;
    char **v = NULL;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, sizeof *v * (size_t)cap);
        }
        v[n++] = strdup(line);
    }
    fclose(f);
    *out = v;
    return n;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_refset_modern(void **state)
{
    (void)state;
    const char *sh = tu_shared_dir();
    if (!sh)
        TU_SKIP("shared reference directory (../shared or $LRP_SHARED) not found");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/refset-modern", sh);
    rs_case *cases = NULL;
    int n = rs_read_cases(dir, &cases);
    if (n <= 0) {
        free(cases);
        TU_SKIP("no refset-modern cases at %s", dir);
        return;
    }
    rs_read_case_json(dir, cases, n);
    const char *sub = getenv("LRP_REFSET_SUBSET");
    bool subset = sub && *sub && strcmp(sub, "0");
    const char *only = getenv("LRP_REFSET_ONLY");
    const char *wr = getenv("LRP_REFSET_MODERN_WRITE");
    bool write = wr && *wr && strcmp(wr, "0");
    bool verbose = getenv("LRP_REFSET_VERBOSE") != NULL;
    if (write && (subset || only))
        fail_msg("LRP_REFSET_MODERN_WRITE needs a whole run (without LRP_REFSET_SUBSET and LRP_REFSET_ONLY)");
    const char *xpath = expected_path();
    char **expected = NULL;
    int n_expected = read_expected(xpath, &expected);
    if (n_expected < 0 && !write)
        fail_msg("%s is missing (LRP_REFSET_MODERN_WRITE=1 writes it)", xpath);

    outcome *out = calloc((size_t)n, sizeof *out);
    int *order = malloc(sizeof *order * (size_t)n);
    for (int i = 0; i < n; i++) {
        order[i] = i;
        rs_case_id(&cases[i], out[i].id, sizeof out[i].id);
    }
    /* every listed id names a case */
    int unknown = 0;
    for (int k = 0; k < n_expected; k++) {
        int i;
        for (i = 0; i < n && strcmp(out[i].id, expected[k]); i++)
            ;
        if (i < n)
            out[i].expected = true;
        else if (unknown++ < 5)
            print_message("%s: %s is no case of %s\n", xpath, expected[k], dir);
    }
    /* the subset: the first input and target of every model */
    bool *chosen = calloc((size_t)n, sizeof *chosen);
    for (int i = 0; i < n; i++) {
        int f;
        for (f = 0; f < i && strcmp(cases[f].model, cases[i].model); f++)
            ;
        chosen[i] = (!subset || (!strcmp(cases[f].input, cases[i].input) && cases[f].target == cases[i].target)) &&
                    (!only || strstr(out[i].id, only));
    }
    sort_cases = cases;
    qsort(order, (size_t)n, sizeof *order, cmp_index);

    lrp_set_threads(0);
    lrp_set_threads_f64(0);
    double t0 = seconds();
    rs_model ms, ms64;
    memset(&ms, 0, sizeof ms);
    memset(&ms64, 0, sizeof ms64);
    /* the float64 build: cases passing, heatmaps pixel-exact, float32 within 5x the reference's float32 error of it */
    int f64_ran = 0, f64_pass = 0, f64_heat_n = 0, f64_heat_ok = 0, own_n = 0, own_over = 0;
    double own_worst = 0;
    char own_worst_id[300] = "";
    int ran = 0, passed = 0, logits_ok = 0, heat_n = 0, heat_ok = 0, gold_n = 0, gold_ok = 0;
    long heat_px = 0; /* pixels that differ in the heatmaps of the passing cases */
    /* lrp's float32 error over the reference's own (floored at 1e-7, as test_refset.c does), on passing cases */
    int ratio_n = 0, ratio_over = 0;
    double ratio_worst = 0;
    char ratio_worst_id[300] = "";
    for (int k = 0; k < n; k++) {
        int i = order[k];
        const rs_case *c = &cases[i];
        outcome *o = &out[i];
        if (!chosen[i])
            continue;
        o->ran = true;
        ran++;
        char mp[1200];
        snprintf(mp, sizeof mp, "%s/%s", dir, c->model);
        rs_result res;
        memset(&res, 0, sizeof res);
        res.rel_l2 = res.logit_err = INFINITY;
        if (rs_model_open(&ms, mp)) {
            snprintf(o->reason, sizeof o->reason, "does not load: %.150s", ms.why);
            char g[200];
            reason_group(ms.why, c->method, g, sizeof g);
            snprintf(o->group, sizeof o->group, "does not load: %.150s", g);
        } else {
            rs_run_case(&ms, dir, c, &res);
            if (!res.relevance) {
                snprintf(o->reason, sizeof o->reason, "%.190s", res.why);
                reason_group(res.why, c->method, o->group, sizeof o->group);
            }
        }
        o->rel_l2 = res.rel_l2;
        bool rel_ok = res.rel_l2 <= c->tolerance, lg_ok = res.logit_err <= 1e-5;
        logits_ok += lg_ok;
        if (res.relevance && !rel_ok) {
            snprintf(o->reason, sizeof o->reason, "rel.L2 %.3g > tolerance %.3g", res.rel_l2, c->tolerance);
            snprintf(o->group, sizeof o->group, "tolerance exceeded: %s", c->method);
        } else if (res.relevance && !lg_ok) {
            snprintf(o->reason, sizeof o->reason, "logits off by %.3g", res.logit_err);
            snprintf(o->group, sizeof o->group, "logits off");
        }
        o->pass = res.relevance && rel_ok && lg_ok;
        passed += o->pass;
        if (o->pass && isfinite(c->f32err)) {
            double ratio = res.rel_l2 / fmax(c->f32err, 1e-7);
            ratio_n++;
            ratio_over += ratio > 5;
            if (ratio > ratio_worst) {
                ratio_worst = ratio;
                snprintf(ratio_worst_id, sizeof ratio_worst_id, "%s", o->id);
            }
        }
        if (o->pass) {
            rs_result r64;
            if (rs_model_open_f64(&ms64, mp))
                fail_msg("cannot load %s in float64: %s", mp, ms64.why);
            rs_run_case_f64(&ms64, dir, c, &r64);
            f64_ran++;
            bool ok64 = r64.rel_l2 <= c->tolerance && r64.logit_err <= 1e-5;
            f64_pass += ok64;
            double own = rs_rel_l2_32_64(res.relevance, r64.relevance);
            if (isfinite(c->f32err)) {
                own_n++;
                own_over += !(own <= 5 * c->f32err);
                if (!(own / c->f32err <= own_worst)) {
                    own_worst = own / c->f32err;
                    snprintf(own_worst_id, sizeof own_worst_id, "%s", o->id);
                }
            }
            char why64[300];
            int h_ok = 0;
            /* the golden PNGs are the float32-stored goldens rendered: so is lrp's float64 result, rounded */
            lrp_tensor *r64f =
                r64.relevance ? lrp_tensor_new(LRP_FLOAT32, r64.relevance->ndim, r64.relevance->dims, NULL) : NULL;
            for (int64_t e = 0; r64f && e < r64f->numel; e++)
                ((float *)r64f->data)[e] = (float)((const double *)r64.relevance->data)[e];
            for (int h = 0; h < c->n_heatmaps && r64f; h++) {
                long d = rs_heatmap_diff(r64f, c->heatmaps[h].cmap, c->heatmaps[h].symmetric,
                                         tu_path(dir, c->heatmaps[h].png), why64, sizeof why64);
                h_ok += d == 0;
            }
            lrp_tensor_free(r64f);
            f64_heat_n += c->n_heatmaps;
            f64_heat_ok += h_ok;
            if (!ok64 || h_ok < c->n_heatmaps || !(own <= 5 * c->f32err) || verbose)
                print_message("%s %-70s float64: rel.L2 %.3g, heatmaps %d/%d; float32 vs float64 %.3g (x%.2f the "
                              "reference's float32 error) %s\n",
                              ok64 && h_ok == c->n_heatmaps ? "ok  " : "F64 ", o->id, r64.rel_l2, h_ok, c->n_heatmaps,
                              own, own / c->f32err, r64.why);
            rs_result_clear_f64(&r64);
        }
        /* heatmaps: lrp's relevance for a passing case, and once per golden its own relevance */
        bool first_of_golden = true;
        for (int j = 0; j < i && first_of_golden; j++)
            first_of_golden = !(chosen[j] && !strcmp(cases[j].relevance, c->relevance));
        lrp_tensor *gold = NULL;
        lrp_error err;
        if (first_of_golden && c->n_heatmaps && lrp_npy_read(tu_path(dir, c->relevance), &gold, &err) != LRP_OK)
            fail_msg("golden relevance missing: %s", err.message);
        char why[300];
        for (int h = 0; h < c->n_heatmaps; h++) {
            const char *png = tu_path(dir, c->heatmaps[h].png);
            if (gold) {
                gold_n++;
                if (rs_heatmap_matches(gold, c->heatmaps[h].cmap, c->heatmaps[h].symmetric, png, why, sizeof why))
                    gold_ok++;
                else
                    print_message("  golden relevance does not render to %s: %s\n", c->heatmaps[h].png, why);
            }
            if (o->pass) {
                o->heat_n++;
                long d = rs_heatmap_diff(res.relevance, c->heatmaps[h].cmap, c->heatmaps[h].symmetric, png, why,
                                         sizeof why);
                o->heat_ok += d == 0;
                heat_px += d > 0 ? d : 0;
                if (d && verbose)
                    print_message("  heatmap %s: %s\n", c->heatmaps[h].png, why);
            }
        }
        heat_n += o->heat_n;
        heat_ok += o->heat_ok;
        lrp_tensor_free(gold);
        if (verbose || (o->expected && !o->pass))
            print_message("%s %-70s rel.L2 %.3g (tolerance %.3g) logits %.2g heatmaps %d/%d%s%s\n",
                          o->pass       ? "ok  "
                          : o->expected ? "FAIL"
                                        : "no  ",
                          o->id, res.rel_l2, c->tolerance, res.logit_err, o->heat_ok, o->heat_n,
                          res.relevance ? "" : ": ", res.relevance ? "" : o->reason);
        rs_result_clear(&res);
    }
    rs_model_close(&ms);
    rs_model_close_f64(&ms64);
    double elapsed = seconds() - t0;

    /* per method, per model, failure reasons; the ratchet */
    tally by_method[64], by_model[64], groups[128];
    int n_meth = 0, n_mod = 0, n_grp = 0, exp_ran = 0, exp_failed = 0, fresh = 0;
    for (int i = 0; i < n; i++) {
        const outcome *o = &out[i];
        if (!o->ran)
            continue;
        char label[120], stem[120];
        tally *t[2] = {tally_of(by_method, &n_meth, 64, method_label(&cases[i], label, sizeof label)),
                       tally_of(by_model, &n_mod, 64, model_stem(&cases[i], stem, sizeof stem))};
        for (int k = 0; k < 2; k++)
            if (t[k]) {
                t[k]->ran++;
                t[k]->passed += o->pass;
            }
        exp_ran += o->expected;
        exp_failed += o->expected && !o->pass;
        if (o->pass && !o->expected) {
            fresh++;
            print_message("newly passing (not in %s): %s\n", EXPECTED_FILE, o->id);
        }
        if (o->pass)
            continue;
        tally *g = tally_of(groups, &n_grp, 128, o->group);
        if (!g) { /* the last one takes the rest */
            g = &groups[127];
            snprintf(g->name, sizeof g->name, "(other reasons)");
        }
        g->ran++;
        if (isfinite(o->rel_l2) && (g->best == 0 || o->rel_l2 < g->best))
            g->best = o->rel_l2;
        if (isfinite(o->rel_l2) && !(o->rel_l2 <= g->worst)) {
            g->worst = o->rel_l2;
            snprintf(g->worst_id, sizeof g->worst_id, "%s", o->id);
        }
        if (!strstr(g->models, stem) && strlen(g->models) + strlen(stem) + 2 < sizeof g->models)
            snprintf(g->models + strlen(g->models), sizeof g->models - strlen(g->models), "%s%s",
                     g->models[0] ? " " : "", stem);
    }
    print_message("by method:\n");
    for (int k = 0; k < n_meth; k++)
        print_message("  %-48s %3d/%d\n", by_method[k].name, by_method[k].passed, by_method[k].ran);
    print_message("by model:\n");
    for (int k = 0; k < n_mod; k++)
        print_message("  %-48s %3d/%d\n", by_model[k].name, by_model[k].passed, by_model[k].ran);
    qsort(groups, (size_t)n_grp, sizeof *groups, cmp_count);
    print_message("not passing, by reason:\n");
    for (int k = 0; k < n_grp; k++) {
        print_message("  %3d  %s (%s)", groups[k].ran, groups[k].name, groups[k].models);
        if (groups[k].worst > 0)
            print_message("; rel.L2 %.3g to %.3g (%s)", groups[k].best, groups[k].worst, groups[k].worst_id);
        print_message("\n");
    }
    print_message("refset-modern: %d cases, %d passed, %d failed (%d expected, %d of them failed), %d newly passing; "
                  "logits within 1e-5: %d/%d; %.1f s\n",
                  ran, passed, ran - passed, exp_ran, exp_failed, fresh, logits_ok, ran, elapsed);
    print_message("heatmaps: golden relevances render to the golden PNGs %d/%d; lrp's relevance of the passing cases "
                  "renders to them %d/%d (%ld pixels differ in all: float32 rounding moves a value across a palette "
                  "step)\n",
                  gold_ok, gold_n, heat_ok, heat_n, heat_px);
    print_message(
        "float32 error / max(the reference's float32 error, 1e-7) on the passing cases: %d cases, %d above 5; "
        "worst %.2f (%s)\n",
        ratio_n, ratio_over, ratio_worst, ratio_worst_id);

    print_message("float64 (--double) on the passing cases: %d/%d pass, heatmaps pixel-exact %d/%d; float32 within 5x "
                  "the reference's float32 error of lrp's float64: %d/%d, worst x%.2f (%s)\n",
                  f64_pass, f64_ran, f64_heat_ok, f64_heat_n, own_n - own_over, own_n, own_worst, own_worst_id);

    if (write) {
        FILE *f = fopen(xpath, "w");
        if (!f)
            fail_msg("cannot write %s", xpath);
        fprintf(f,
                "# The cases of ../shared/refset-modern that pass (tests/unit/test_refset_modern.c), one id a line.\n"
                "# Rewritten by LRP_REFSET_MODERN_WRITE=1 build/tests/test_refset_modern; review the change.\n");
        for (int i = 0; i < n; i++)
            if (out[i].pass)
                fprintf(f, "%s\n", out[i].id);
        fclose(f);
        print_message("wrote %s: %d cases\n", xpath, passed);
    }
    for (int k = 0; k < n_expected; k++)
        free(expected[k]);
    free(expected);
    free(out);
    free(order);
    free(chosen);
    free(cases);
    assert_int_equal(unknown, 0);
    assert_int_equal(gold_ok, gold_n);
    assert_int_equal(f64_pass, f64_ran);
    assert_int_equal(f64_heat_ok, f64_heat_n);
    assert_true(f64_heat_ok >= heat_ok);
    assert_int_equal(own_over, 0);
    if (!write)
        assert_int_equal(exp_failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_refset_modern)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
