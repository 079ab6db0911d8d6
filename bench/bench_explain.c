/* Benchmark: with the model loaded, the median time of one forward pass and of
 * one explanation, their ratio, and the peak memory of the process.
 *   bench_explain MODEL [COMPOSITE[,COMPOSITE...]] [RUNS] [THREADS]
 * With several composites (comma-separated), the model is loaded once and each
 * composite gets its own line. Every run times a forward pass right before
 * and right after the explanation; the ratio is the median over the runs of
 * the explanation's time over the mean of its two forward passes, so that it
 * compares times taken side by side even when the machine's load changes.
 * A composite written order2:NAME also times the second order (the gradient
 * of the explanation for the cotangent ones, lrp_explain_relevance_grad) right
 * after the explanation, and reports it as a multiple of the explanation. */
#include "lrp.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_explain MODEL [COMPOSITE[,COMPOSITE...]] [RUNS] [THREADS]\n");
        return 2;
    }
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* as the lrp command does */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    const char *composites = argc > 2 ? argv[2] : "epsilon-plus-flat";
    int runs = argc > 3 ? atoi(argv[3]) : 9;
    lrp_set_threads(argc > 4 ? atoi(argv[4]) : 2);
    if (getenv("LRP_FAST_FORWARD") && *getenv("LRP_FAST_FORWARD"))
        lrp_set_exact_forward(0);
    if (getenv("LRP_OPENBLAS") && *getenv("LRP_OPENBLAS"))
        lrp_set_openblas(1);
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(argv[1], NULL, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.message);
        return 3;
    }
    const lrp_model_info *in = lrp_model_get_info(m);
    int64_t dims[LRP_MAX_DIMS];
    for (int i = 0; i < in->input_ndim; i++)
        dims[i] = in->input_dims[i] < 0 ? 1 : in->input_dims[i];
    lrp_tensor *x = lrp_tensor_new(LRP_REAL_DT, in->input_ndim, dims, &err);
    unsigned s = 12345;
    for (int64_t i = 0; i < x->numel; i++) {
        s = s * 1103515245u + 12345u;
        ((lrp_real *)x->data)[i] = ((lrp_real)((s >> 8) & 0xffff) / 65535.0f - 0.45f) / 0.226f;
    }
    double *tf = calloc((size_t)runs, sizeof(double)), *te = calloc((size_t)runs, sizeof(double)),
           *tr = calloc((size_t)runs, sizeof(double)), *t2o = calloc((size_t)runs, sizeof(double)),
           *t2s = calloc((size_t)runs, sizeof(double));
    const char *name = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];
    for (const char *p = composites; *p;) {
        char composite[64];
        size_t len = strcspn(p, ",");
        snprintf(composite, sizeof composite, "%.*s", (int)len, p);
        p += len + (p[len] == ',');
        bool order2 = !strncmp(composite, "order2:", 7);
        if (order2)
            memmove(composite, composite + 7, strlen(composite + 7) + 1);
        lrp_explain_options o;
        lrp_explain_options_default(&o);
        o.composite = composite;
        /* ZBox (epsilon-gamma-box) on the first layer: the range of an image in
         * [0, 1] normalized as torchvision's ImageNet models expect */
        static const float low[3] = {-0.485f / 0.229f, -0.456f / 0.224f, -0.406f / 0.225f},
                           high[3] = {0.515f / 0.229f, 0.544f / 0.224f, 0.594f / 0.225f};
        o.n_bounds = 3;
        o.low = low;
        o.high = high;
        lrp_explainer *e = lrp_explainer_new(m, &o, &err);
        if (!e) {
            fprintf(stderr, "%s\n", err.message);
            return 3;
        }
        for (int r = -1; r < runs; r++) { /* one warm-up */
            lrp_tensor *logits = NULL, *rel = NULL;
            double t0 = now();
            if (lrp_model_run(m, x, &logits, &err) != LRP_OK) {
                fprintf(stderr, "%s\n", err.message);
                return 3;
            }
            double t1 = now();
            if (lrp_explain(e, x, NULL, LRP_SEED_ONE, &rel, NULL, NULL, &err) != LRP_OK) {
                fprintf(stderr, "%s\n", err.message);
                return 3;
            }
            double t2 = now(), texp = t2 - t1;
            if (order2) {
                lrp_tensor *g = NULL;
                if (lrp_explain_relevance_grad(e, x, NULL, LRP_SEED_ONE, NULL, NULL, &g, NULL, NULL, &err) != LRP_OK) {
                    fprintf(stderr, "%s\n", err.message);
                    return 3;
                }
                lrp_tensor_free(g);
                if (r >= 0) {
                    t2s[r] = now() - t2;
                    t2o[r] = t2s[r] / texp;
                }
                t2 = now();
            }
            lrp_tensor_free(logits);
            logits = NULL;
            if (lrp_model_run(m, x, &logits, &err) != LRP_OK) {
                fprintf(stderr, "%s\n", err.message);
                return 3;
            }
            double t3 = now();
            if (r >= 0) {
                tf[r] = 0.5 * ((t1 - t0) + (t3 - t2));
                te[r] = texp;
                tr[r] = te[r] / tf[r];
            }
            lrp_tensor_free(logits);
            lrp_tensor_free(rel);
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double f = median(tf, runs), x_ = median(te, runs), q = median(tr, runs);
        printf("%-16s %-18s forward %.4f s  explain %.4f s  ratio %.2f  peak %ld MB  (median of %d)", name, composite,
               f, x_, q, ru.ru_maxrss / 1024, runs);
        if (order2)
            printf("  second order %.4f s, %.2fx the explanation", median(t2s, runs), median(t2o, runs));
        printf("\n");
        fflush(stdout);
        lrp_explainer_free(e);
    }
    lrp_model_free(m);
    lrp_tensor_free(x);
    free(tf);
    free(te);
    free(tr);
    free(t2o);
    free(t2s);
    return 0;
}
