/* Localisation metrics (lrp_metrics.h) against their definitions on small
 * maps with ties, and the right-for-the-right-reasons gradient against the
 * golden gradients of refset-layers (../shared, else the testdata subset). */
#include "testutil.h"

#include "lrp_image.h"
#include "lrp_metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_ties(void **state)
{
    (void)state;
    /* positions:           0  1  2  3  4  5 */
    const lrp_real a[6] = {1, 3, 3, 2, -1, 0};
    const unsigned char s[6] = {0, 0, 1, 1, 0, 1};
    /* the maximum 3 is at 1 and 2; 2 is inside: ties count */
    assert_true(lrp_pointing_game(a, s, 6) == 1.0);
    const unsigned char s2[6] = {1, 0, 0, 1, 1, 1};
    assert_true(lrp_pointing_game(a, s2, 6) == 0.0);
    /* mass: (3 + 2 + 0) / 8 */
    assert_true(fabs(lrp_relevance_mass_accuracy(a, s, 6) - 5.0 / 8.0) < 1e-12);
    /* rank: K = 3, stable argsort(-a) = 1, 2, 3, 0, 5, 4: positions 2 and 3 inside */
    assert_true(fabs(lrp_relevance_rank_accuracy(a, s, 6) - 2.0 / 3.0) < 1e-12);
    /* top-2 of argsort(a) = 4, 5, 0, 3, 1, 2: the last two are 1 and 2, one inside */
    assert_true(fabs(lrp_top_k_intersection(a, s, 6, 2) - 0.5) < 1e-12);
    /* k beyond the size: over k, as Quantus */
    assert_true(fabs(lrp_top_k_intersection(a, s, 6, 10) - 0.3) < 1e-12);
    /* attribution localisation: mu > 1 is undefined */
    const lrp_real b[3] = {2, -1, 0};
    const unsigned char sb[3] = {1, 0, 0};
    assert_true(isnan(lrp_attribution_localisation(b, sb, 3)));
    assert_true(fabs(lrp_attribution_localisation(a, s, 6) - 5.0 / (8.0 + 1e-9)) < 1e-12);
    /* AUC: the fraction of (inside, outside) pairs ordered right, ties one half */
    double good = 0;
    int pairs = 0;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            if (s[i] && !s[j]) {
                good += a[i] > a[j] ? 1.0 : a[i] == a[j] ? 0.5 : 0.0;
                pairs++;
            }
    assert_true(fabs(lrp_roc_auc(a, s, 6) - good / pairs) < 1e-12);
    /* undefined cases */
    const unsigned char none[6] = {0};
    assert_true(isnan(lrp_relevance_rank_accuracy(a, none, 6)));
    assert_true(isnan(lrp_roc_auc(a, none, 6)));
    /* |a| */
    lrp_localisation loc;
    assert_int_equal(lrp_localisation_metrics(a, s2, 6, 1, 1, &loc, NULL), LRP_OK);
    assert_true(fabs(loc.relevance_mass_accuracy - 4.0 / 10.0) < 1e-12);
    assert_int_equal(loc.mask_pixels, 4);
}

/* The value of "key": "..." or "key": number inside [p, end). */
static bool field(const char *p, const char *end, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *k = strstr(p, pat);
    if (!k || k >= end)
        return false;
    k += strlen(pat);
    while (*k == ' ')
        k++;
    size_t n = 0;
    if (*k == '"') {
        for (k++; *k && *k != '"' && n + 1 < size; k++)
            out[n++] = *k;
    } else {
        for (; *k && *k != ',' && *k != '}' && *k != '\n' && n + 1 < size; k++)
            out[n++] = *k;
    }
    out[n] = '\0';
    return true;
}

static void test_rrr_gradient(void **state)
{
    (void)state;
    const char *shared = tu_shared_dir();
    const char *dir = shared ? tu_path(shared, "refset-layers") : NULL;
    char djson[1024];
    size_t len = 0;
    unsigned char *text = NULL;
    if (dir) {
        snprintf(djson, sizeof djson, "%s", dir);
        text = tu_read_file(tu_path(djson, "cases.json"), &len);
    }
    if (!text) {
        print_message("SKIP ../shared/refset-layers is absent: the testdata subset\n");
        snprintf(djson, sizeof djson, "%s", tu_testdata("refset-layers"));
        text = tu_read_file(tu_path(djson, "cases.json"), &len);
    }
    assert_non_null(text);
    int n = 0;
    double worst = 0;
    for (const char *p = (const char *)text; (p = strstr(p, "\"kind\": \"rrr\"")) != NULL; p++) {
        const char *end = strchr(p, '}');
        char model[256], input[256], mask[256], grad[256], tol[64], pen[64];
        if (!field(p, end, "gradient", grad, sizeof grad))
            continue; /* no stored gradient (S > 64) */
        assert_true(field(p, end, "model", model, sizeof model) && field(p, end, "input", input, sizeof input) &&
                    field(p, end, "mask", mask, sizeof mask) && field(p, end, "tolerance", tol, sizeof tol) &&
                    field(p, end, "penalty", pen, sizeof pen));
        char path[1280];
        snprintf(path, sizeof path, "%s/%s", djson, model);
        lrp_error err = {0};
        lrp_model *m = lrp_model_load(path, NULL, &err);
        if (!m)
            fail_msg("%s", err.message);
        lrp_tensor *x = NULL, *g = NULL, *gold = NULL;
        snprintf(path, sizeof path, "%s/%s", djson, input);
        assert_int_equal(lrp_npy_read(path, &x, &err), LRP_OK);
        snprintf(path, sizeof path, "%s/%s", djson, grad);
        assert_int_equal(lrp_npy_read(path, &gold, &err), LRP_OK);
        unsigned char *s = NULL;
        snprintf(path, sizeof path, "%s/%s", djson, mask);
        int H = (int)x->dims[x->ndim - 2], W = (int)x->dims[x->ndim - 1];
        assert_int_equal(lrp_mask_load(path, W, H, &s, &err), LRP_OK);
        double p1, p2;
        if (lrp_rrr_penalty(m, x, s, &p1, &p2, &g, &err) != LRP_OK)
            fail_msg("%s", err.message);
        assert_int_equal(g->numel, gold->numel);
        double e = tu_rel_l2(g->data, gold->data, (size_t)g->numel), t = atof(tol);
        if (t < 1e-4)
            t = 1e-4;
        print_message("rrr %s %s: gradient rel L2 %.3g (tolerance %.3g), penalty %.7g (golden %s)\n", model, input, e,
                      t, p1, pen);
        assert_true(e <= t);
        assert_true(fabs(p1 - atof(pen)) <= 1e-4 * fabs(atof(pen)));
        worst = e > worst ? e : worst;
        n++;
        free(s);
        lrp_tensor_free(x);
        lrp_tensor_free(g);
        lrp_tensor_free(gold);
        lrp_model_free(m);
    }
    print_message("refset-layers rrr gradients: %d passed, worst rel L2 %.3g\n", n, worst);
    assert_true(n > 0);
    free(text);
}

static void test_mask_size(void **state)
{
    (void)state;
    unsigned char *s = NULL;
    lrp_error err = {0};
    const char *png = tu_testdata("refset-layers/metrics/mask-blob2-32.png");
    assert_int_equal(lrp_mask_load(png, 32, 32, &s, &err), LRP_OK);
    int inside = 0;
    for (int i = 0; i < 1024; i++)
        inside += s[i];
    assert_int_equal(inside, 388); /* the README's count */
    free(s);
    assert_int_equal(lrp_mask_load(png, 64, 64, &s, &err), LRP_ERR_SHAPE);
    assert_null(s);
    assert_non_null(strstr(err.message, "32x32"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_mask_size),
        cmocka_unit_test(test_rrr_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
