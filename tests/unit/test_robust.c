/* Robustness of the library on degenerate inputs and non-finite results:
 *  - an input with an empty spatial dimension, for a model with a dynamic
 *    height and width, is a shape error for every attributor, lrp_model_run
 *    and region perturbation (occlusion used to divide by a zero stride);
 *  - a NaN or an infinity in the logits (Log of a negative, Div by zero, Exp
 *    overflow) or in the relevance (the gradient of Sqrt at 0) is
 *    LRP_ERR_NUMERIC with a message naming the FIRST node where it appeared,
 *    never LRP_OK with a NaN result. */
#include "testutil.h"

#include "graph_builder.h"
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lrp_model *to_model(lrp_graph *g, int x, int ndim, const int64_t *decl)
{
    lrp_error err = {0};
    if (gb_prepare(g, &err) != LRP_OK)
        fail_msg("%s", err.message);
    g->values[x].decl_ndim = ndim; /* what the model declares: symbolic dims are -1 */
    memcpy(g->values[x].decl_dims, decl, sizeof(int64_t) * (size_t)ndim);
    lrp_load_options o;
    lrp_load_options_default(&o);
    o.canonize = 0;
    lrp_model *m = lrp_model_from_graph(g, &o, &err);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

/* sum over (C, H, W) of x^2, with a dynamic batch, height and width. */
static lrp_model *dynamic_hw_model(void)
{
    lrp_graph *g = gb_new(11);
    int x = gb_input(g, "x", 4, GB_DIMS(1, 3, 4, 4));
    int sq = gb_node(g, "Mul", 2, (int[]){x, x}, 1);
    int sum = gb_node(g, "ReduceSum", 1, (int[]){gb_out(g, sq, 0)}, 1);
    gb_attr_ints(g, sum, "axes", 2, GB_DIMS(2, 3));
    gb_attr_i(g, sum, "keepdims", 0);
    return to_model(g, x, 4, GB_DIMS(-1, 3, -1, -1));
}

static lrp_explainer *explainer(lrp_model *m, const char *composite)
{
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    eo.composite = composite;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    if (!e)
        fail_msg("%s", err.message);
    return e;
}

static void check_one_line(const lrp_error *err, const char *const *words)
{
    if (!err->message[0] || strchr(err->message, '\n'))
        fail_msg("message should be one non-empty line: '%s'", err->message);
    for (int i = 0; words && words[i]; i++)
        if (!strstr(err->message, words[i]))
            fail_msg("message should mention '%s': '%s'", words[i], err->message);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_empty_spatial_input(void **state)
{
    (void)state;
    lrp_model *m = dynamic_hw_model();
    lrp_explainer *e = explainer(m, "gradient");
    lrp_tensor *x = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 3, 0, 0), NULL);
    lrp_tensor *x0w = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 3, 5, 0), NULL);
    assert_non_null(x);
    assert_non_null(x0w);
    for (int kind = LRP_ATTRIBUTOR_GRADIENT; kind <= LRP_ATTRIBUTOR_RANDOM; kind++) {
        for (int w = 0; w < 2; w++) {
            lrp_attributor_options o;
            lrp_attributor_options_default(&o);
            o.kind = (lrp_attributor_kind)kind;
            o.steps = o.samples = 2;
            lrp_tensor *rel = NULL, *logits = NULL;
            lrp_error err = {0};
            lrp_status st = lrp_attribute(e, &o, w ? x0w : x, NULL, LRP_SEED_ONE, &rel, &logits, NULL, &err);
            if (st != LRP_ERR_SHAPE)
                fail_msg("%s on an empty input: %s (%s)", lrp_attributor_name(o.kind), lrp_status_name(st),
                         err.message);
            assert_null(rel);
            assert_null(logits);
            check_one_line(&err, WORDS("empty"));
        }
    }
    lrp_error err = {0};
    lrp_tensor *logits = NULL;
    assert_int_equal(lrp_model_run(m, x, &logits, &err), LRP_ERR_SHAPE);
    assert_null(logits);
    lrp_real curve[4];
    int K = -1;
    lrp_perturb_options po;
    lrp_perturb_options_default(&po);
    po.steps = 3;
    assert_int_equal(lrp_region_perturbation(m, x, x, 0, &po, curve, &K, &err), LRP_ERR_SHAPE);
    /* the same model still works on a real input afterwards */
    lrp_tensor *ok = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 3, 6, 6), NULL);
    for (int64_t i = 0; i < ok->numel; i++)
        lrp_reals(ok)[i] = (lrp_real)(i % 7) - 3.0f;
    lrp_attributor_options o;
    lrp_attributor_options_default(&o);
    o.kind = LRP_ATTRIBUTOR_OCCLUSION;
    lrp_tensor *rel = NULL;
    if (lrp_attribute(e, &o, ok, NULL, LRP_SEED_ONE, &rel, NULL, NULL, &err) != LRP_OK)
        fail_msg("%s", err.message);
    lrp_tensor_free(rel);
    /* steps < 0 is refused rather than giving a curve of -1 steps */
    po.steps = -1;
    assert_int_equal(lrp_region_perturbation(m, ok, ok, 0, &po, curve, &K, &err), LRP_ERR_ARG);
    lrp_tensor_free(ok);
    lrp_tensor_free(x);
    lrp_tensor_free(x0w);
    lrp_explainer_free(e);
    lrp_model_free(m);
}

/* x (1, 4) -> Mul by 1 -> OP [with constant b] -> Mul by 2 -> Neg -> y: OP
 * is the first node that goes non-finite; the two after it carry the NaN or
 * infinity on and must not be blamed. */
static lrp_model *chain_model(const char *op, lrp_real b)
{
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 2, GB_DIMS(1, 4));
    int one = gb_const_f(g, "one", 0, NULL, (lrp_real[]){1.0f});
    int two = gb_const_f(g, "two", 0, NULL, (lrp_real[]){2.0f});
    int bc = gb_const_f(g, "b", 0, NULL, (lrp_real[]){b});
    int a = gb_node(g, "Mul", 2, (int[]){x, one}, 1);
    int n_in = strcmp(op, "Div") ? 1 : 2;
    int o = gb_node(g, op, n_in, (int[]){gb_out(g, a, 0), bc}, 1);
    int c = gb_node(g, "Mul", 2, (int[]){gb_out(g, o, 0), two}, 1);
    gb_node(g, "Neg", 1, (int[]){gb_out(g, c, 0)}, 1);
    return to_model(g, x, 2, GB_DIMS(-1, 4));
}

static void expect_numeric(lrp_status st, const lrp_error *err, const char *const *words)
{
    if (st != LRP_ERR_NUMERIC || err->status != LRP_ERR_NUMERIC)
        fail_msg("status %s, wanted a non-finite result error: %s", lrp_status_name(st), err->message);
    check_one_line(err, words);
}

static void test_nonfinite_forward(void **state)
{
    (void)state;
    static const struct {
        const char *op;
        lrp_real b;
        lrp_real x0;
        const char *what;
    } cases[] = {
        {"Log", 0, -1.0f, "NaN"},  /* Log of a negative */
        {"Log", 0, 0.0f, "-inf"},  /* Log of zero */
        {"Div", 0, 1.0f, "+inf"},  /* Div by zero */
        {"Exp", 0, 200.0f, "+inf"} /* Exp overflow */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        lrp_model *m = chain_model(cases[k].op, cases[k].b);
        lrp_tensor *x = lrp_tensor_from_floats((lrp_real[]){cases[k].x0, 1, 2, 3}, 2, GB_DIMS(1, 4), NULL);
        char label[64];
        snprintf(label, sizeof label, "node1 (%s)", cases[k].op); /* node0 is the Mul, node1 the op */
        lrp_error err = {0};
        lrp_tensor *logits = NULL;
        expect_numeric(lrp_model_run(m, x, &logits, &err), &err, WORDS(label, "forward", cases[k].what));
        assert_null(logits);
        static const char *const composites[] = {"gradient", "epsilon-plus-flat"};
        for (int c = 0; c < 2; c++) {
            lrp_explainer *e = explainer(m, composites[c]);
            lrp_tensor *rel = NULL;
            int64_t t = -1;
            memset(&err, 0, sizeof err);
            expect_numeric(lrp_explain(e, x, NULL, LRP_SEED_ONE, &rel, &logits, &t, &err), &err,
                           WORDS(label, "forward"));
            assert_null(rel);
            assert_null(logits);
            for (int kind = LRP_ATTRIBUTOR_INPUT_X_GRADIENT; kind <= LRP_ATTRIBUTOR_OCCLUSION; kind++) {
                lrp_attributor_options o;
                lrp_attributor_options_default(&o);
                o.kind = (lrp_attributor_kind)kind;
                o.steps = o.samples = 2;
                memset(&err, 0, sizeof err);
                expect_numeric(lrp_attribute(e, &o, x, NULL, LRP_SEED_ONE, &rel, &logits, NULL, &err), &err,
                               WORDS(label));
                assert_null(rel);
                assert_null(logits);
            }
            lrp_explainer_free(e);
        }
        lrp_tensor_free(x);
        lrp_model_free(m);
    }
    /* a NaN in the input itself is named as such, not blamed on a node */
    lrp_model *m = chain_model("Log", 0);
    lrp_tensor *x = lrp_tensor_from_floats((lrp_real[]){1, NAN, 2, 3}, 2, GB_DIMS(1, 4), NULL);
    lrp_error err = {0};
    lrp_tensor *logits = NULL;
    expect_numeric(lrp_model_run(m, x, &logits, &err), &err, WORDS("input", "NaN", "element 1"));
    /* and finite results stay finite and OK */
    lrp_reals(x)[1] = 1.5f;
    assert_int_equal(lrp_model_run(m, x, &logits, &err), LRP_OK);
    lrp_tensor_free(logits);
    lrp_tensor_free(x);
    lrp_model_free(m);
}

/* y = Relu(Sqrt(x)): finite at x = 0, but its gradient there is infinite. */
static void test_nonfinite_backward(void **state)
{
    (void)state;
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 2, GB_DIMS(1, 4));
    int s = gb_node(g, "Sqrt", 1, (int[]){x}, 1);
    gb_node(g, "Relu", 1, (int[]){gb_out(g, s, 0)}, 1);
    lrp_model *m = to_model(g, x, 2, GB_DIMS(-1, 4));
    lrp_tensor *in = lrp_tensor_from_floats((lrp_real[]){0, 1, 4, 9}, 2, GB_DIMS(1, 4), NULL);
    lrp_explainer *e = explainer(m, "gradient");
    lrp_error err = {0};
    lrp_tensor *rel = NULL, *logits = NULL;
    /* the logits are finite */
    assert_int_equal(lrp_model_run(m, in, &logits, &err), LRP_OK);
    lrp_tensor_free(logits);
    logits = NULL;
    int64_t t = 0;
    expect_numeric(lrp_explain(e, in, &t, LRP_SEED_ONE, &rel, &logits, NULL, &err), &err,
                   WORDS("node0 (Sqrt)", "relevance", "NaN", "element 0"));
    assert_null(rel);
    assert_null(logits);
    /* the same through an attributor */
    lrp_attributor_options o;
    lrp_attributor_options_default(&o);
    o.kind = LRP_ATTRIBUTOR_INPUT_X_GRADIENT;
    expect_numeric(lrp_attribute(e, &o, in, &t, LRP_SEED_ONE, &rel, &logits, NULL, &err), &err,
                   WORDS("node0 (Sqrt)", "relevance"));
    /* a finite explanation is still fine */
    lrp_reals(in)[0] = 0.25f;
    t = 3;
    if (lrp_explain(e, in, &t, LRP_SEED_ONE, &rel, NULL, NULL, &err) != LRP_OK)
        fail_msg("%s", err.message);
    assert_true(isfinite(lrp_reals(rel)[3]));
    lrp_tensor_free(rel);
    lrp_tensor_free(in);
    lrp_explainer_free(e);
    lrp_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_spatial_input),
        cmocka_unit_test(test_nonfinite_forward),
        cmocka_unit_test(test_nonfinite_backward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
