/* Benchmark: with the model loaded, the median time of one forward pass and of
 * one explanation, their ratio, and the peak memory of the process.
 *   bench_explain MODEL [COMPOSITE] [RUNS] [THREADS] */
#include "lrp.h"

#include <malloc.h>
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
        fprintf(stderr, "usage: bench_explain MODEL [COMPOSITE] [RUNS] [THREADS]\n");
        return 2;
    }
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* as the lrp command does */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    const char *composite = argc > 2 ? argv[2] : "epsilon-plus-flat";
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
    lrp_explain_options o;
    lrp_explain_options_default(&o);
    o.composite = composite;
    lrp_explainer *e = lrp_explainer_new(m, &o, &err);
    if (!e) {
        fprintf(stderr, "%s\n", err.message);
        return 3;
    }
    double *tf = calloc((size_t)runs, sizeof(double)), *te = calloc((size_t)runs, sizeof(double));
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
        double t2 = now();
        if (r >= 0) {
            tf[r] = t1 - t0;
            te[r] = t2 - t1;
        }
        lrp_tensor_free(logits);
        lrp_tensor_free(rel);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double f = median(tf, runs), x_ = median(te, runs);
    const char *name = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];
    printf("%-16s %-18s forward %.4f s  explain %.4f s  ratio %.2f  peak %ld MB  (median of %d)\n", name, composite, f,
           x_, x_ / f, ru.ru_maxrss / 1024, runs);
    lrp_explainer_free(e);
    lrp_model_free(m);
    lrp_tensor_free(x);
    free(tf);
    free(te);
    return 0;
}
