/* Conformance with zennit: every case of refset/cases.tsv (../shared/refset
 * when present, else the subset copied into testdata/refset), scored as
 * refset/README.md says: ||R - G|| / ||G|| <= tolerance; logits within 1e-5
 * of the largest absolute logit. Uses only the public API (lrp.h). */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct refcase {
    char model[256], input[256], method[64], params[256], relevance[256], logits[256];
    int64_t target;
    double tolerance;
} refcase;

static const char *refset_dir(void)
{
    static char buf[512];
    const char *sub = getenv("LRP_REFSET_SUBSET");
    const char *sh = sub && *sub && strcmp(sub, "0") ? NULL : tu_shared_dir();
    if (sh) {
        snprintf(buf, sizeof buf, "%s/refset", sh);
        return buf;
    }
    return "testdata/refset";
}

static int read_cases(const char *dir, refcase **out)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/cases.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    int n = 0, cap = 0;
    refcase *v = NULL;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model\t", 6))
            continue;
        refcase c;
        memset(&c, 0, sizeof c);
        long long t;
        if (sscanf(line, "%255[^\t]\t%255[^\t]\t%63[^\t]\t%255[^\t]\t%lld\t%255[^\t]\t%255[^\t]\t%lf", c.model,
                   c.input, c.method, c.params, &t, c.relevance, c.logits, &c.tolerance) != 8)
            continue;
        c.target = t;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, sizeof *v * (size_t)cap);
        }
        v[n++] = c;
    }
    fclose(f);
    *out = v;
    return n;
}

/* "key=value,key=value" lookup; returns dflt if absent. */
static double param(const char *params, const char *key, double dflt)
{
    if (!strcmp(params, "-"))
        return dflt;
    size_t kl = strlen(key);
    for (const char *p = params; p && *p;) {
        if (!strncmp(p, key, kl) && p[kl] == '=')
            return atof(p + kl + 1);
        p = strpbrk(p, ",;");
        if (p)
            p++;
    }
    return dflt;
}

static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};

typedef struct model_slot {
    char path[1200];
    lrp_model *canon, *plain;
} model_slot;

static lrp_model *load(const char *path, int canonize)
{
    lrp_load_options o;
    lrp_load_options_default(&o);
    o.canonize = canonize;
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(path, &o, &err);
    if (!m)
        print_error("cannot load %s: %s\n", path, err.message);
    return m;
}

static double run_case(model_slot *ms, const char *dir, const refcase *c, double *logit_err, char *why,
                       size_t whylen)
{
    char p[1200];
    lrp_error err = {0};
    snprintf(p, sizeof p, "%s/%s", dir, c->input);
    lrp_tensor *x = NULL, *gold = NULL, *gl = NULL, *rel = NULL, *logits = NULL;
    double score = INFINITY;
    *logit_err = INFINITY;
    if (lrp_npy_read(p, &x, &err) != LRP_OK) {
        snprintf(why, whylen, "%s", err.message);
        return score;
    }
    snprintf(p, sizeof p, "%s/%s", dir, c->relevance);
    lrp_npy_read(p, &gold, &err);
    snprintf(p, sizeof p, "%s/%s", dir, c->logits);
    lrp_npy_read(p, &gl, &err);
    if (!gold || !gl) {
        snprintf(why, whylen, "%s", err.message);
        goto done;
    }
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    lrp_attributor_options ao;
    lrp_attributor_options_default(&ao);
    int attr = lrp_attributor_from_name(c->method);
    if (attr >= 0 && attr != LRP_ATTRIBUTOR_GRADIENT) {
        eo.composite = "gradient";
        ao.kind = (lrp_attributor_kind)attr;
    } else {
        eo.composite = c->method;
    }
    eo.epsilon = (float)param(c->params, "epsilon", 1e-6);
    eo.gamma = (float)param(c->params, "gamma", 0.25);
    eo.beta_smooth = (float)param(c->params, "beta_smooth", 10.0);
    ao.steps = (int)param(c->params, "n_iter", 20);
    int S = (int)x->dims[x->ndim - 1];
    int win = S / 8 > 4 ? S / 8 : 4;
    ao.window = (int)param(c->params, "window", win);
    ao.stride = (int)param(c->params, "stride", ao.window);
    float low[3], high[3];
    for (int k = 0; k < 3; k++) {
        low[k] = (float)((0.0 - imagenet_mean[k]) / imagenet_std[k]);
        high[k] = (float)((1.0 - imagenet_mean[k]) / imagenet_std[k]);
    }
    eo.n_bounds = 3;
    eo.low = low;
    eo.high = high;
    /* The beta-smooth goldens follow the documented rule, sigmoid(beta*x)
     * of the ReLU's input, for every model (the in-place-ReLU artefact of
     * an earlier reference is gone): default options, no override. */
    /* zennit applies canonizers with a composite only: the rule-less
     * gradient and the attributors without a composite ran on the model as
     * exported. */
    lrp_model *model = strcmp(eo.composite, "gradient") ? ms->canon : ms->plain;
    lrp_explainer *e = lrp_explainer_new(model, &eo, &err);
    if (!e) {
        snprintf(why, whylen, "%s", err.message);
        goto done;
    }
    int64_t t = c->target, used;
    lrp_status st = lrp_attribute(e, &ao, x, &t, LRP_SEED_ONE, &rel, &logits, &used, &err);
    lrp_explainer_free(e);
    if (st != LRP_OK) {
        snprintf(why, whylen, "%s", err.message);
        goto done;
    }
    if (rel->numel != gold->numel) {
        snprintf(why, whylen, "relevance has %lld values, golden %lld", (long long)rel->numel,
                 (long long)gold->numel);
        goto done;
    }
    score = tu_rel_l2(rel->data, gold->data, (size_t)gold->numel);
    /* logits of the model as exported (no canonizers) */
    lrp_tensor *pl = NULL;
    if (lrp_model_run(ms->plain, x, &pl, &err) == LRP_OK && pl->numel == gl->numel) {
        double mx = 0;
        for (int64_t i = 0; i < gl->numel; i++)
            mx = fmax(mx, fabs(((float *)gl->data)[i]));
        *logit_err = tu_max_abs_diff(pl->data, gl->data, (size_t)gl->numel) / (mx > 0 ? mx : 1);
    }
    lrp_tensor_free(pl);
done:
    lrp_tensor_free(x);
    lrp_tensor_free(gold);
    lrp_tensor_free(gl);
    lrp_tensor_free(rel);
    lrp_tensor_free(logits);
    return score;
}

static void test_refset_cases(void **state)
{
    (void)state;
    const char *dir = refset_dir();
    refcase *cases = NULL;
    int n = read_cases(dir, &cases);
    if (n < 0)
        TU_SKIP("no refset cases at %s", dir);
    const char *only = getenv("LRP_REFSET_ONLY"); /* substring filter, for debugging */
    int verbose = getenv("LRP_REFSET_VERBOSE") != NULL;
    lrp_set_threads(0);
    model_slot ms = {{0}, NULL, NULL};
    int ran = 0, passed = 0, logits_ok = 0;
    char counts[64][80];
    int pass_by[64] = {0}, ran_by[64] = {0}, n_methods = 0;
    for (int i = 0; i < n; i++) {
        const refcase *c = &cases[i];
        char line[1200];
        snprintf(line, sizeof line, "%s %s %s %lld", c->model, c->input, c->method, (long long)c->target);
        if (only && !strstr(line, only))
            continue;
        char mp[1200];
        snprintf(mp, sizeof mp, "%s/%s", dir, c->model);
        if (strcmp(mp, ms.path)) {
            lrp_model_free(ms.canon);
            lrp_model_free(ms.plain);
            snprintf(ms.path, sizeof ms.path, "%s", mp);
            ms.canon = load(mp, 1);
            ms.plain = load(mp, 0);
            assert_non_null(ms.canon);
            assert_non_null(ms.plain);
        }
        char why[600] = "";
        double lerr;
        double s = run_case(&ms, dir, c, &lerr, why, sizeof why);
        bool ok = s <= c->tolerance;
        ran++;
        passed += ok;
        logits_ok += lerr <= 1e-5;
        int mi;
        for (mi = 0; mi < n_methods; mi++)
            if (!strcmp(counts[mi], c->method))
                break;
        if (mi == n_methods && n_methods < 64)
            snprintf(counts[n_methods++], sizeof counts[0], "%s", c->method);
        if (mi < 64) {
            ran_by[mi]++;
            pass_by[mi] += ok;
        }
        if (!ok || verbose || lerr > 1e-5)
            print_message("%s %-60s rel.L2 %.3g (tolerance %.3g) logits %.2g %s\n", ok ? "ok  " : "FAIL", line, s,
                          c->tolerance, lerr, why);
    }
    lrp_model_free(ms.canon);
    lrp_model_free(ms.plain);
    for (int mi = 0; mi < n_methods; mi++)
        print_message("  %-28s %d/%d\n", counts[mi], pass_by[mi], ran_by[mi]);
    print_message("refset (%s): %d cases, %d passed, %d failed; logits within 1e-5: %d/%d\n", dir, ran, passed,
                  ran - passed, logits_ok, ran);
    free(cases);
    assert_int_equal(passed, ran);
    assert_int_equal(logits_ok, ran);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_refset_cases)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
