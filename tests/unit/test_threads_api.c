/* The threading contract of lrp.h: one model explained by several
 * explainers from several threads at once gives the same bytes as one
 * thread alone, each call with the execution choices of its own explainer
 * (threads, exact forward), none leaking into another's. Also the first
 * preparation of a model with a symbolic batch, reached by several threads
 * at once, and lrp_model_run beside explanations. */
#include "testutil.h"

#include "graph_builder.h"
#include "engine/model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 4

static lrp_tensor *random_input(int ndim, const int64_t *dims, uint64_t seed)
{
    lrp_tensor *t = lrp_tensor_new(LRP_REAL_DT, ndim, dims, NULL);
    lrp_rng r;
    lrp_rng_seed(&r, seed);
    for (int64_t i = 0; i < t->numel; i++)
        ((lrp_real *)t->data)[i] = (lrp_real)(2.0 * lrp_rng_uniform(&r) - 1.0);
    return t;
}

static lrp_explainer *explainer(lrp_model *m, const char *composite, int threads, int exact_forward)
{
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    eo.composite = composite;
    eo.threads = threads;
    eo.exact_forward = exact_forward;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    if (!e)
        fail_msg("%s", err.message);
    return e;
}

/* One thread's work: ROUNDS explanations (and, with a model, forward
 * passes), each compared with the single-threaded reference. */
typedef struct job {
    lrp_explainer *e;
    lrp_model *run_model; /* also lrp_model_run on it, when not NULL */
    const lrp_tensor *x;
    const lrp_tensor *ref, *ref_logits;
    lrp_tensor *ref_run; /* lrp_model_run's logits alone (no exact plan: they may differ in the last bits) */
    int failures;
    lrp_error err;
} job;

static int same(const lrp_tensor *a, const lrp_tensor *b)
{
    return a && b && a->numel == b->numel && !memcmp(a->data, b->data, sizeof(lrp_real) * (size_t)a->numel);
}

static void *run_job(void *arg)
{
    job *j = arg;
    for (int r = 0; r < ROUNDS; r++) {
        lrp_tensor *rel = NULL, *logits = NULL;
        if (lrp_explain(j->e, j->x, NULL, LRP_SEED_ONE, &rel, &logits, NULL, &j->err) != LRP_OK ||
            !same(rel, j->ref) || !same(logits, j->ref_logits))
            j->failures++;
        lrp_tensor_free(rel);
        lrp_tensor_free(logits);
        if (j->run_model) {
            lrp_tensor *y = NULL;
            if (lrp_model_run(j->run_model, j->x, &y, &j->err) != LRP_OK || !same(y, j->ref_run))
                j->failures++;
            lrp_tensor_free(y);
        }
    }
    return NULL;
}

static void reference(job *j, const lrp_tensor *x)
{
    lrp_tensor *rel = NULL, *logits = NULL;
    lrp_error err = {0};
    if (lrp_explain(j->e, x, NULL, LRP_SEED_ONE, &rel, &logits, NULL, &err) != LRP_OK)
        fail_msg("%s", err.message);
    j->x = x;
    j->ref = rel;
    j->ref_logits = logits;
    if (j->run_model && lrp_model_run(j->run_model, x, &j->ref_run, &err) != LRP_OK)
        fail_msg("%s", err.message);
}

/* Runs the jobs on their own threads at once, then checks them. */
static void run_concurrently(job *jobs, int n)
{
    pthread_t th[8];
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < n; i++) {
        if (jobs[i].failures)
            fail_msg("thread %d: %d of %d rounds differ from one thread alone (%s)", i, jobs[i].failures, ROUNDS,
                     jobs[i].err.message);
        lrp_tensor_free((lrp_tensor *)jobs[i].ref);
        lrp_tensor_free((lrp_tensor *)jobs[i].ref_logits);
        lrp_tensor_free(jobs[i].ref_run);
        lrp_explainer_free(jobs[i].e);
    }
}

static lrp_model *resnet20(void)
{
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(tu_testdata("models/cifar10-resnet20/cifar10-resnet20.onnx"), NULL, &err);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

/* Two explainers of one model, the same composite and input, from two
 * threads: one at 1 thread, one at 2 (results do not depend on it). */
static void test_two_explainers_same_input(void **state)
{
    lrp_model *m = resnet20();
    lrp_tensor *x = random_input(4, (int64_t[]){1, 3, 32, 32}, 7);
    job jobs[2] = {{.e = explainer(m, "epsilon-plus-flat", 1, 1)}, {.e = explainer(m, "epsilon-plus-flat", 2, 1)}};
    reference(&jobs[0], x);
    reference(&jobs[1], x);
    assert_true(same(jobs[0].ref, jobs[1].ref));
    run_concurrently(jobs, 2);
    lrp_tensor_free(x);
    lrp_model_free(m);
}

/* Explainers with different composites and exact-forward choices at once:
 * each gets what it gets alone (the exact plan is the explainer's, not the
 * graph's nor the process's). */
static void test_explainers_with_own_choices(void **state)
{
    lrp_model *m = resnet20();
    lrp_tensor *x = random_input(4, (int64_t[]){1, 3, 32, 32}, 11);
    job jobs[3] = {{.e = explainer(m, "epsilon-plus-flat", 1, 1)},
                   {.e = explainer(m, "epsilon-plus-flat", 1, 0)},
                   {.e = explainer(m, "gradient", 2, 1), .run_model = m}};
    for (int i = 0; i < 3; i++)
        reference(&jobs[i], x);
    run_concurrently(jobs, 3);
    lrp_tensor_free(x);
    lrp_model_free(m);
}

/* A small CNN with a symbolic batch: conv, ReLU, max pooling, dense head. */
static lrp_model *small_cnn(void)
{
    lrp_graph *g = gb_new(11);
    int x = gb_input(g, "x", 4, GB_DIMS(2, 3, 8, 8));
    lrp_real w[4 * 3 * 3 * 3], b[4], wd[5 * 64], bd[5];
    lrp_rng r;
    lrp_rng_seed(&r, 5);
    for (size_t i = 0; i < sizeof w / sizeof *w; i++)
        w[i] = (lrp_real)(lrp_rng_uniform(&r) - 0.5);
    for (size_t i = 0; i < sizeof wd / sizeof *wd; i++)
        wd[i] = (lrp_real)(lrp_rng_uniform(&r) - 0.5);
    for (int i = 0; i < 4; i++)
        b[i] = 0.1f * (lrp_real)i;
    for (int i = 0; i < 5; i++)
        bd[i] = -0.05f * (lrp_real)i;
    int wc = gb_const_f(g, "w", 4, GB_DIMS(4, 3, 3, 3), w), bc = gb_const_f(g, "b", 1, GB_DIMS(4), b);
    int conv = gb_node(g, "Conv", 3, (int[]){x, wc, bc}, 1);
    gb_attr_ints(g, conv, "pads", 4, GB_DIMS(1, 1, 1, 1));
    int relu = gb_node(g, "Relu", 1, (int[]){gb_out(g, conv, 0)}, 1);
    int pool = gb_node(g, "MaxPool", 1, (int[]){gb_out(g, relu, 0)}, 1);
    gb_attr_ints(g, pool, "kernel_shape", 2, GB_DIMS(2, 2));
    gb_attr_ints(g, pool, "strides", 2, GB_DIMS(2, 2));
    int flat = gb_node(g, "Flatten", 1, (int[]){gb_out(g, pool, 0)}, 1);
    int wdc = gb_const_f(g, "wd", 2, GB_DIMS(5, 64), wd), bdc = gb_const_f(g, "bd", 1, GB_DIMS(5), bd);
    int dense = gb_node(g, "Gemm", 3, (int[]){gb_out(g, flat, 0), wdc, bdc}, 1);
    gb_attr_i(g, dense, "transB", 1);
    lrp_error err = {0};
    if (gb_prepare(g, &err) != LRP_OK)
        fail_msg("%s", err.message);
    g->values[x].decl_ndim = 4; /* a symbolic batch: the model is prepared at the first call */
    g->values[x].decl_dims[0] = -1;
    lrp_load_options o;
    lrp_load_options_default(&o);
    lrp_model *m = lrp_model_from_graph(g, &o, &err);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

/* The references come from a model of their own, so that the shared model
 * is first prepared by the threads, all at once. */
static void test_first_preparation_from_threads(void **state)
{
    lrp_model *alone = small_cnn(), *m = small_cnn();
    lrp_tensor *x = random_input(4, (int64_t[]){3, 3, 8, 8}, 13);
    const char *composites[3] = {"epsilon-plus", "epsilon-alpha2-beta1-flat", "gradient"};
    job jobs[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (job){.e = explainer(alone, composites[i], 1, 1), .run_model = i == 2 ? alone : NULL};
        reference(&jobs[i], x);
        lrp_explainer_free(jobs[i].e);
        jobs[i].e = explainer(m, composites[i], 1 + i % 2, 1);
    }
    jobs[2].run_model = m;
    run_concurrently(jobs, 3);
    lrp_tensor_free(x);
    lrp_model_free(m);
    lrp_model_free(alone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_explainers_same_input),
        cmocka_unit_test(test_explainers_with_own_choices),
        cmocka_unit_test(test_first_preparation_from_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
