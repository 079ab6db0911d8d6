/* Conformance of the second order with zennit: every case of refset-order2/cases.json (../shared/refset-order2
 * when present, else the subset copied into testdata/refset-order2), scored as its README says: G = u·dR/dx
 * passes when ||G - golden|| / ||golden|| <= the case's tolerance (max(1e-4, 5x zennit's own float32 error));
 * the first-order relevance of the case by the same rule. Both modes (exact, zennit), both seeds, the three
 * cotangents. The ill-conditioned cases (MobileNetV2, zennit's float32 error above 1e-2) are held to their
 * tolerance in float32 and, as informational, reported against the float64 build.
 *
 * A second test checks that the exact mode is the derivative: lrp's float64 build (liblrp64, as test_refset
 * links it) against central differences of sum R(x), along every input coordinate of tiny-mlp and along 16
 * Gaussian directions on tiny-cnn, away from ReLU kinks (h = 1e-6; the set's own check reaches 1e-8). */
#include "order2_common.h"
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *set_dir(void)
{
    static char buf[512];
    const char *sub = getenv("LRP_REFSET_SUBSET");
    const char *sh = sub && *sub && strcmp(sub, "0") ? NULL : tu_shared_dir();
    if (sh) {
        snprintf(buf, sizeof buf, "%s/refset-order2", sh);
        FILE *f = fopen(tu_path(buf, "cases.json"), "rb");
        if (f) {
            fclose(f);
            return buf;
        }
    }
    snprintf(buf, sizeof buf, "%s", tu_testdata("refset-order2"));
    return buf;
}

/* "tiny-mlp" from "models/tiny-mlp.onnx" */
static void model_stem(const char *path, char *out, size_t size)
{
    const char *b = strrchr(path, '/');
    snprintf(out, size, "%s", b ? b + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot)
        *dot = '\0';
}

static void test_order2_cases(void **state)
{
    (void)state;
    const char *dir = set_dir();
    o2_case *cases = NULL;
    int n = o2_read_cases(dir, &cases);
    if (n < 0)
        TU_SKIP("no refset-order2 cases at %s (../shared is absent and testdata has no subset)", dir);
    const char *only = getenv("LRP_REFSET_ONLY"); /* substring filter, for debugging */
    int verbose = getenv("LRP_REFSET_VERBOSE") != NULL;
    lrp_set_threads(0);
    int ran = 0, passed = 0, rel_passed = 0, ill = 0;
    double worst = 0, worst_err = 0;
    char worst_case[1400] = "";
    /* per model, method and mode */
    char groups[96][400];
    int pass_by[96] = {0}, ran_by[96] = {0}, n_groups = 0;
    for (int i = 0; i < n; i++) {
        const o2_case *c = &cases[i];
        char stem[256], line[1400], group[400];
        model_stem(c->model, stem, sizeof stem);
        snprintf(line, sizeof line, "%s %s %lld %s seed=%s u=%s mode=%s", stem, c->input, (long long)c->target,
                 c->method, c->seed, c->cotangent, c->mode);
        if (only && !strstr(line, only))
            continue;
        o2_result r;
        o2_run_case(dir, c, &r);
        bool ok = r.rel_l2 <= c->tolerance, rel_ok = r.rel_l2_rel <= c->rel_tolerance;
        ran++;
        passed += ok;
        rel_passed += rel_ok;
        if (c->ill_conditioned) {
            o2_result r64;
            o2_run_case_f64(dir, c, &r64);
            print_message("ill-conditioned %s: float32 %.3g (tolerance %.3g), float64 %.3g %s\n", line, r.rel_l2,
                          c->tolerance, r64.rel_l2, r64.why);
            ill++;
        }
        if (r.rel_l2 / c->tolerance > worst || !isfinite(r.rel_l2)) {
            worst = r.rel_l2 / c->tolerance;
            worst_err = r.rel_l2;
            snprintf(worst_case, sizeof worst_case, "%s", line);
        }
        snprintf(group, sizeof group, "%s %s %s", stem, c->method, c->mode);
        int gi;
        for (gi = 0; gi < n_groups; gi++)
            if (!strcmp(groups[gi], group))
                break;
        if (gi == n_groups && n_groups < 96)
            snprintf(groups[n_groups++], sizeof groups[0], "%s", group);
        if (gi < 96) {
            ran_by[gi]++;
            pass_by[gi] += ok;
        }
        if (!ok || !rel_ok || verbose)
            print_message("%s %-90s G rel.L2 %.3g (tolerance %.3g), R rel.L2 %.3g (%.3g) %s\n",
                          ok && rel_ok ? "ok  " : "FAIL", line, r.rel_l2, c->tolerance, r.rel_l2_rel, c->rel_tolerance,
                          r.why);
    }
    o2_close();
    o2_close_f64();
    for (int gi = 0; gi < n_groups; gi++)
        print_message("  %-52s %d/%d\n", groups[gi], pass_by[gi], ran_by[gi]);
    print_message("refset-order2 (%s): %d cases, %d passed, %d failed (%d ill-conditioned); first-order relevance "
                  "%d/%d; worst %.3g of its tolerance (rel.L2 %.3g, %s)\n",
                  dir, ran, passed, ran - passed, ill, rel_passed, ran, worst, worst_err, worst_case);
    free(cases);
    assert_true(ran > 0 || only);
    assert_int_equal(passed, ran);
    assert_int_equal(rel_passed, ran);
}

/* The exact mode is the derivative: float64 against central differences. */
static void test_order2_finite_differences(void **state)
{
    (void)state;
    const char *dir = set_dir();
    static const char *const methods[] = {"epsilon-plus-flat", "epsilon-gamma-box", "epsilon-alpha2-beta1-flat",
                                          "excitation-backprop", "beta-smooth"};
    static const struct {
        const char *model, *input;
        int64_t target;
        int full;
    } runs[] = {{"tiny-mlp.onnx", "chelsea-16.npy", 3, 1}, {"tiny-cnn.onnx", "chelsea-32.npy", 3, 0}};
    char mp[1200], ip[1200], why[600];
    int ran = 0, passed = 0;
    double worst = 0;
    char worst_case[256] = "";
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        snprintf(mp, sizeof mp, "%s/models/%s", dir, runs[k].model);
        FILE *f = fopen(mp, "rb");
        if (!f) /* the subset keeps the models in testdata/refset */
            snprintf(mp, sizeof mp, "%s", tu_testdata(tu_path("refset/models", runs[k].model)));
        else
            fclose(f);
        snprintf(ip, sizeof ip, "%s/inputs/%s", dir, runs[k].input);
        if (!(f = fopen(ip, "rb")))
            TU_SKIP("no %s (../shared is absent and testdata has no subset)", ip);
        fclose(f);
        for (size_t mi = 0; mi < sizeof methods / sizeof *methods; mi++)
            for (int seed_logit = 0; seed_logit < 2; seed_logit++) {
                why[0] = '\0';
                double e = o2_fd_check_f64(mp, ip, methods[mi], runs[k].target, seed_logit, runs[k].full, 16, 1e-6,
                                           why, sizeof why);
                bool ok = e <= 1e-6;
                ran++;
                passed += ok;
                char line[256];
                snprintf(line, sizeof line, "%s %s seed=%s %s", runs[k].model, methods[mi],
                         seed_logit ? "logit" : "one", runs[k].full ? "every coordinate" : "16 directions");
                if (!(e <= worst)) {
                    worst = e;
                    snprintf(worst_case, sizeof worst_case, "%s", line);
                }
                print_message("%s %-70s exact vs central differences (float64, h=1e-6): rel.L2 %.3g %s\n",
                              ok ? "ok  " : "FAIL", line, e, why);
            }
    }
    o2_close_f64();
    print_message("finite differences: %d/%d within 1e-6, worst %.3g (%s)\n", passed, ran, worst, worst_case);
    assert_int_equal(passed, ran);
}

/* The modern classifiers: the CNNs' gates (squeeze-excitation, SiLU,
 * HardSwish; the gate rule's adjoint) under the LRP composites, their smooth
 * activations and products of activations under the plain gradient, and the
 * transformers' rules (LayerNorm, softmax, attention, bilinear, the norm
 * rule on a positional embedding) under attnlrp, cp-lrp and attnlrp-vit: exact against central
 * differences in float64 along 16 directions, on refset-modern's tiny models
 * (tiny-efficientnet is also in testdata). Their many activations put kinks
 * within reach of a step of 1e-7, so each case takes its best step. */
static void test_order2_fd_modern(void **state)
{
    (void)state;
    static const struct {
        const char *model, *methods[9];
        int raw; /* without the canonizers (what explain -c gradient loads) */
    } runs[] = {
        {"tiny-efficientnet-op17.onnx",
         {"epsilon-plus-flat", "epsilon-gamma-box", "epsilon-alpha2-beta1-flat", "cp-lrp", "gradient",
          "excitation-backprop", "guided-backprop", "beta-smooth"},
         0},
        {"tiny-mobilenetv3-op17.onnx",
         {"epsilon-plus-flat", "epsilon-gamma-box", "epsilon-alpha2-beta1-flat", "cp-lrp", "gradient",
          "excitation-backprop"},
         0},
        {"tiny-regnety-op17.onnx",
         {"epsilon-plus-flat", "epsilon-gamma-box", "epsilon-alpha2-beta1-flat", "cp-lrp", "gradient",
          "excitation-backprop"},
         0},
        {"tiny-vit-op17.onnx",
         {"epsilon-plus-flat", "epsilon-gamma-box", "attnlrp", "cp-lrp", "attnlrp-vit", "gradient",
          "excitation-backprop", "guided-backprop", "beta-smooth"},
         0},
        {"tiny-vit-op13.onnx", {"attnlrp", "cp-lrp", "gradient"}, 0},
        {"tiny-swin-op17.onnx", {"attnlrp", "cp-lrp", "attnlrp-vit", "gradient", "excitation-backprop"}, 0},
        {"tiny-convnext-op17.onnx",
         {"epsilon-plus-flat", "epsilon-gamma-box", "attnlrp", "gradient", "excitation-backprop"},
         0},
        {"tiny-convnext-op13.onnx", {"gradient"}, 1},
        {"tiny-vit-op13.onnx", {"gradient"}, 1},
        {"tiny-vit-op17.onnx", {"gradient"}, 1},
        {"tiny-efficientnet-op17.onnx", {"gradient"}, 1},
        /* testdata's reduced MaxViT (Einsum attention, depthwise convolutions, SE gates) */
        {"zoo/maxvit-op17.onnx", {"gradient", "epsilon-plus-flat", "cp-lrp", "attnlrp"}, 0},
    };
    /* LRP_REFSET_SUBSET (the sanitizer legs): testdata's models only */
    const char *sub = getenv("LRP_REFSET_SUBSET");
    const char *sh = sub && *sub && strcmp(sub, "0") ? NULL : tu_shared_dir();
    char base[600], mp[1200], ip[1200], why[600];
    snprintf(base, sizeof base, "%s/refset-modern", sh ? sh : "");
    int ran = 0, passed = 0;
    double worst = 0;
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        const char *model = runs[k].model;
        o2_canonize_f64 = !runs[k].raw;
        snprintf(mp, sizeof mp, "%s/models/%s", base, model);
        snprintf(ip, sizeof ip, "%s/inputs/skimage_chelsea-64.npy", base);
        if (!strncmp(model, "zoo/", 4)) { /* in testdata/zoo, with its input */
            snprintf(mp, sizeof mp, "%s", tu_testdata(model));
            snprintf(ip, sizeof ip, "%s", tu_testdata("zoo/maxvit-input.npy"));
        }
        FILE *f = sh || !strncmp(model, "zoo/", 4) ? fopen(mp, "rb") : NULL;
        if (f)
            fclose(f);
        else {
            snprintf(mp, sizeof mp, "%s", tu_testdata(tu_path("refset-order2/models", model)));
            snprintf(ip, sizeof ip, "%s", tu_testdata("refset-order2/inputs/skimage_chelsea-64.npy"));
            if (!(f = fopen(mp, "rb"))) {
                print_message("skip %s: not in ../shared/refset-modern or testdata\n", model);
                continue;
            }
            fclose(f);
        }
        for (size_t mi = 0; mi < 9 && runs[k].methods[mi]; mi++)
            for (int seed_logit = 0; seed_logit < 2; seed_logit++) {
                /* the best of three steps: at the larger ones some directions cross a kink of the
                 * network (a ReLU, HardSwish or an x⁺/x⁻ clamp of an activation near 0; their error grows
                 * with h), at the smaller ones float64 rounding of sum R takes over; a wrong term is off
                 * by far more at every step */
                double e = INFINITY;
                for (double h = 1e-7; h >= 0.9e-9; h /= 10) {
                    why[0] = '\0';
                    double eh = o2_fd_check_f64(mp, ip, runs[k].methods[mi], 7, seed_logit, 0, 16, h, why, sizeof why);
                    if (eh < e)
                        e = eh;
                    if (e <= 1e-6)
                        break;
                }
                bool ok = e <= 1e-5;
                ran++;
                passed += ok;
                if (!(e <= worst))
                    worst = e;
                print_message("%s %s%s %s seed=%s 16 directions: exact vs central differences (float64, best of "
                              "h=1e-7, 1e-8, 1e-9): rel.L2 %.3g %s\n",
                              ok ? "ok  " : "FAIL", model, runs[k].raw ? " (raw)" : "", runs[k].methods[mi],
                              seed_logit ? "logit" : "one", e, why);
            }
    }
    o2_canonize_f64 = 1;
    o2_close_f64();
    print_message("modern classifiers, finite differences: %d/%d within 1e-5, worst %.3g\n", passed, ran, worst);
    assert_true(ran > 0);
    assert_int_equal(passed, ran);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_order2_cases),
                                       cmocka_unit_test(test_order2_finite_differences),
                                       cmocka_unit_test(test_order2_fd_modern)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
