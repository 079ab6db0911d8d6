/* Large graphs load, canonize and explain without quadratic blow-ups: a chain
 * of 30000 residual blocks (BatchNormalization, Add, Relu) and a graph of
 * 20000 Identity nodes (dropped by the canonizer). Not a speed test: an alarm
 * fails the test only if something hangs. */
#include "testutil.h"

#include "graph_builder.h"
#include "engine/model.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_scale: still running after 120 s: something is quadratic\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(1);
}

static lrp_model *model_with(lrp_graph *g, const lrp_load_options *o)
{
    lrp_error err = {0};
    if (gb_prepare(g, &err) != LRP_OK)
        fail_msg("%s", err.message);
    lrp_model *m = lrp_model_from_graph(g, o, &err);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

static lrp_model *as_model(lrp_graph *g, int x)
{
    (void)x;
    return model_with(g, NULL);
}

static void explain_once(lrp_model *m, const char *composite)
{
    lrp_explain_options o;
    lrp_explain_options_default(&o);
    o.composite = composite;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &o, &err);
    if (!e)
        fail_msg("%s", err.message);
    lrp_tensor *x = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 1, 4, 4), &err), *rel = NULL;
    for (int64_t i = 0; i < x->numel; i++)
        ((lrp_real *)x->data)[i] = 0.25f * (lrp_real)(i % 5) - 0.4f;
    if (lrp_explain(e, x, NULL, LRP_SEED_ONE, &rel, NULL, NULL, &err) != LRP_OK)
        fail_msg("%s", err.message);
    assert_int_equal(rel->numel, 16);
    lrp_tensor_free(x);
    lrp_tensor_free(rel);
    lrp_explainer_free(e);
}

static void test_residual_chain(void **state)
{
    (void)state;
    const int blocks = 30000;
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 4, GB_DIMS(1, 1, 4, 4));
    /* each block is relu(x + bn(x)) = relu(0.5 x + 0.2), a contraction:
     * values stay finite over 30000 blocks (a scale of 1.5 grew as 2.5^n,
     * to infinity, which explaining now rightly refuses) */
    int s = gb_const_f(g, "s", 1, GB_DIMS(1), (lrp_real[]){-0.5f}),
        b = gb_const_f(g, "b", 1, GB_DIMS(1), (lrp_real[]){0.1f}),
        mu = gb_const_f(g, "m", 1, GB_DIMS(1), (lrp_real[]){0.2f}),
        var = gb_const_f(g, "v", 1, GB_DIMS(1), (lrp_real[]){1.0f});
    int prev = x;
    for (int i = 0; i < blocks; i++) {
        int bn = gb_node(g, "BatchNormalization", 5, (int[]){prev, s, b, mu, var}, 1);
        int add = gb_node(g, "Add", 2, (int[]){gb_out(g, bn, 0), prev}, 1);
        int relu = gb_node(g, "Relu", 1, (int[]){gb_out(g, add, 0)}, 1);
        prev = gb_out(g, relu, 0);
    }
    lrp_model *m = as_model(g, x);
    explain_once(m, "epsilon-plus-flat");
    explain_once(m, "gradient");
    lrp_model_free(m);
}

static void test_identity_chain(void **state)
{
    (void)state;
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 4, GB_DIMS(1, 1, 4, 4));
    int prev = x;
    for (int i = 0; i < 20000; i++)
        prev = gb_out(g, gb_node(g, "Identity", 1, (int[]){prev}, 1), 0);
    gb_node(g, "Relu", 1, (int[]){prev}, 1);
    lrp_model *m = as_model(g, x);
    explain_once(m, "epsilon-plus");
    assert_true(m->g->n_order < 10); /* the Identities are gone */
    lrp_model_free(m);
}

/* Two convolutions that share one weight, each with a BatchNormalization of its own, and a third with a weight of
 * its own: the folds scale the shared weight in copies and the third in place, and the canonized model computes what
 * the model as written does. */
static lrp_graph *tied_graph(void)
{
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 4, GB_DIMS(1, 1, 4, 4));
    int w = gb_const_f(g, "w", 4, GB_DIMS(2, 1, 3, 3),
                       (lrp_real[]){1, -2, 0.5f, 3, 1, -1, 0.25f, 2, -0.5f, -1, 2, 1, 0.5f, -3, 1, 2, -1, 0.75f});
    int w3 = gb_const_f(g, "w3", 4, GB_DIMS(2, 2, 1, 1), (lrp_real[]){1.5f, -0.5f, 2, 0.25f});
    int y[2];
    for (int k = 0; k < 2; k++) {
        int conv = gb_node(g, "Conv", 2, (int[]){x, w}, 1);
        gb_attr_ints(g, conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
        int s = gb_const_f(g, k ? "s1" : "s0", 1, GB_DIMS(2), (lrp_real[]){k ? 2.0f : 0.5f, k ? -1.5f : 3.0f}),
            b = gb_const_f(g, k ? "b1" : "b0", 1, GB_DIMS(2), (lrp_real[]){0.1f, k ? -0.3f : 0.2f}),
            mu = gb_const_f(g, k ? "m1" : "m0", 1, GB_DIMS(2), (lrp_real[]){k ? 0.5f : -0.25f, 0.125f}),
            var = gb_const_f(g, k ? "v1" : "v0", 1, GB_DIMS(2), (lrp_real[]){k ? 4.0f : 1.0f, 0.5f});
        y[k] = gb_out(g, gb_node(g, "BatchNormalization", 5, (int[]){gb_out(g, conv, 0), s, b, mu, var}, 1), 0);
    }
    int sum = gb_out(g, gb_node(g, "Add", 2, (int[]){y[0], y[1]}, 1), 0);
    int conv3 = gb_node(g, "Conv", 2, (int[]){sum, w3}, 1);
    int s3 = gb_const_f(g, "s3", 1, GB_DIMS(2), (lrp_real[]){-2.0f, 0.75f}),
        b3 = gb_const_f(g, "b3", 1, GB_DIMS(2), (lrp_real[]){0.5f, 0.0f}),
        m3 = gb_const_f(g, "m3", 1, GB_DIMS(2), (lrp_real[]){1.0f, -1.0f}),
        v3 = gb_const_f(g, "v3", 1, GB_DIMS(2), (lrp_real[]){0.25f, 9.0f});
    gb_node(g, "BatchNormalization", 5, (int[]){gb_out(g, conv3, 0), s3, b3, m3, v3}, 1);
    return g;
}

static lrp_tensor *run_tied(int canonize)
{
    lrp_error err = {0};
    lrp_load_options o;
    lrp_load_options_default(&o);
    o.canonize = canonize;
    lrp_model *m = model_with(tied_graph(), &o);
    lrp_tensor *x = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 1, 4, 4), &err), *y = NULL;
    for (int64_t i = 0; i < x->numel; i++)
        ((lrp_real *)x->data)[i] = 0.3f * (lrp_real)(i % 7) - 0.8f;
    if (lrp_model_run(m, x, &y, &err) != LRP_OK)
        fail_msg("%s", err.message);
    if (canonize) {
        int live_bn = 0;
        for (int k = 0; k < m->g->n_order; k++)
            live_bn += !strcmp(m->g->nodes[m->g->order[k]].op_type, "BatchNormalization");
        assert_int_equal(live_bn, 0); /* all three folded */
    }
    lrp_tensor_free(x);
    lrp_model_free(m);
    return y;
}

static void test_fold_shared_weight(void **state)
{
    (void)state;
    lrp_tensor *a = run_tied(1), *b = run_tied(0);
    assert_int_equal(a->numel, b->numel);
    assert_int_equal(a->numel, 32);
    for (int64_t i = 0; i < a->numel; i++) {
        double u = ((lrp_real *)a->data)[i], v = ((lrp_real *)b->data)[i];
        if (fabs(u - v) > 1e-5 * (1 + fabs(v)))
            fail_msg("element %lld: folded %.9g, as written %.9g", (long long)i, u, v);
    }
    lrp_tensor_free(a);
    lrp_tensor_free(b);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_residual_chain),
        cmocka_unit_test(test_identity_chain),
        cmocka_unit_test(test_fold_shared_weight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
