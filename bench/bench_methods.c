/* Benchmark server for bench/methods: lrp's side of the table of issue 11
 * (model x method x threads), driven over stdin so that the driver can
 * interleave it with PyTorch/zennit run by run.
 *   bench_methods MODEL
 * Commands, one a line; each answers one line on stdout:
 *   cell METHOD THREADS  a new explainer at that thread count; METHOD is an LRP
 *                        composite, gradient, smoothgrad:N or
 *                        integrated-gradients:N (of the plain gradient).
 *                        Resets the peak memory; answers
 *                        "cell FLOOR_UNITS FORWARD_MACS" (below)
 *   rep                  one repetition: a forward pass, the explanation, a
 *                        forward pass; answers "rep T_FORWARD1 T_EXPLAIN T_FORWARD2" (s)
 *   peak                 "peak MB": the peak resident memory since the cell began
 *                        (model loaded, malloc's free memory trimmed at the reset)
 *   quit
 * The FLOP floor: the fewest multiply-adds the method's rules need on the
 * Conv/Gemm/MatMul layers, in units of the forward pass's multiply-adds on
 * them (their sum is FORWARD_MACS). Per layer, in units of that layer's
 * forward (W: its weight, x its input, z = xW + b the forward output, s the
 * relevance ratio arriving at the layer; a part that is a sum or difference of
 * parts already computed is free, a part that does not depend on the input is
 * computed once per model; "x >= 0": the input comes from a ReLU, ReLU6 or a
 * pooling/reshape of one, else (the image, a residual sum) it may be negative):
 *   epsilon        2  forward, W^T s
 *   flat           1  forward; the transposed of ones-weights is a channel sum
 *                     and a box filter (no multiply-adds of the layer's size)
 *   zplus          3  x >= 0: forward, x W+, W+^T s
 *                  5  else: forward, x+ W+, x- W-, W+^T s, W-^T s
 *   alpha-beta     4  x >= 0: forward, x W+ (z- = z - z+), W+^T s+, W-^T s-
 *                  7  else: forward, x+ W+, x- W- (z- = z - z+), W+^T and W-^T on s+ and on s-
 *   gamma          4  x >= 0: forward, x W+ (both denominators z + g x W+ and
 *                     z + g (z - b - x W+)), W^T (s_p + (1 + g) s_n), W+^T (s_p - s_n)
 *                  6  else: forward, x+ W+, x- W-, W^T s_p, W^T s_n, W+^T (s_p - s_n)
 *                     (the x- terms are differences of the x+ ones)
 *   zbox           3  forward (l W+ and h W- do not depend on x), W^T s, W+^T s (W-^T s by difference)
 *   gradient, any other rule on a linear layer: 2 (forward, the gradient for the input)
 * smoothgrad:N and integrated-gradients:N: N times the gradient's 2. Other ops
 * (pooling, sums, activations, the folded BatchNorms) count 0.
 * Compiled against the library's internal headers (-Isrc) for the graph and
 * the rules; no public API is added for it. */
#include "lrp.h"

#include "engine/model.h"
#include "graph/graph.h"
#include "graph/shape_infer.h"
#include "lrp/explain.h"
#include "lrp/rules/rule.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const lrp_error *err)
{
    fprintf(stderr, "bench_methods: %s\n", err->message);
    exit(3);
}

/* The peak resident memory (VmHWM), reset to the current size by reset. */
static long peak_mb(bool reset)
{
    if (reset) {
        malloc_trim(0);
        FILE *f = fopen("/proc/self/clear_refs", "w");
        if (f) {
            fputs("5", f);
            fclose(f);
        }
        return 0;
    }
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

/* Whether value v has no negative entries by construction: a ReLU's (or a
 * Clip's with a lower bound >= 0) output, or pooled/reshaped from one. */
static bool nonnegative(const lrp_graph *g, int v, int depth)
{
    if (v < 0 || depth > 64 || g->values[v].is_input || g->values[v].producer < 0)
        return false;
    const lrp_node *n = &g->nodes[g->values[v].producer];
    const char *op = n->op_type;
    if (!strcmp(op, "Relu"))
        return true;
    if (!strcmp(op, "Clip")) {
        if (n->n_inputs > 1 && n->inputs[1] >= 0) {
            const lrp_tensor *lo = g->values[n->inputs[1]].constant;
            return lo && lo->numel == 1 && lrp_reals(lo)[0] >= 0;
        }
        const lrp_attr *a = lrp_node_attr(n, "min");
        return a && a->f >= 0;
    }
    static const char *const keep[] = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                                       "Flatten", "Reshape",     "Identity",          "Dropout",
                                       "Squeeze", "Unsqueeze",   "Transpose"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (!strcmp(op, keep[i]))
            return nonnegative(g, n->inputs[0], depth + 1);
    if (!strcmp(op, "Concat")) {
        for (int i = 0; i < n->n_inputs; i++)
            if (!nonnegative(g, n->inputs[i], depth + 1))
                return false;
        return true;
    }
    return false;
}

/* Multiply-adds of a Conv/Gemm/MatMul node's forward pass; 0 for other nodes. */
static double node_macs(const lrp_graph *g, const lrp_node *n)
{
    bool conv = !strcmp(n->op_type, "Conv"), gemm = !strcmp(n->op_type, "Gemm"), mm = !strcmp(n->op_type, "MatMul");
    if ((!conv && !gemm && !mm) || n->n_inputs < 2 || n->outputs[0] < 0)
        return 0;
    const lrp_value *y = &g->values[n->outputs[0]], *x = &g->values[n->inputs[0]], *w = &g->values[n->inputs[1]];
    if (!y->shape_known)
        return 0;
    double out = 1;
    for (int i = 0; i < y->ndim; i++)
        out *= (double)y->dims[i];
    if (conv) {
        const int64_t *wd = w->constant ? w->constant->dims : w->dims;
        int wn = w->constant ? w->constant->ndim : w->ndim;
        double k = 1;
        for (int i = 1; i < wn; i++)
            k *= (double)wd[i];
        return out * k;
    }
    if (!x->shape_known || x->ndim < 1)
        return 0;
    int64_t k = gemm && lrp_attr_int(n, "transA", 0) ? x->dims[0] : x->dims[x->ndim - 1];
    return out * (double)k;
}

/* Floor units of one rule on a layer (see the comment at the top). */
static double rule_units(const char *rule, bool xpos)
{
    if (!strcmp(rule, "epsilon"))
        return 2;
    if (!strcmp(rule, "flat"))
        return 1;
    if (!strcmp(rule, "zplus"))
        return xpos ? 3 : 5;
    if (!strcmp(rule, "alpha-beta"))
        return xpos ? 4 : 7;
    if (!strcmp(rule, "gamma"))
        return xpos ? 4 : 6;
    if (!strcmp(rule, "zbox"))
        return 3;
    return 2;
}

/* The floor of the explainer's rules in forward units; *total: the forward's multiply-adds. */
static double floor_units(lrp_explainer *e, double *total)
{
    lrp_error err = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len); /* assigns the rules */
    if (!f || lrp_explainer_describe(e, f, &err) != LRP_OK)
        die(&err);
    fclose(f);
    free(buf);
    const lrp_graph *g = lrp_explainer_model(e)->g;
    double work = 0, fwd = 0;
    for (int k = 0; k < g->n_order; k++) {
        int ni = g->order[k];
        const lrp_node *n = &g->nodes[ni];
        double macs = node_macs(g, n);
        if (macs <= 0)
            continue;
        const lrp_rule *r = lrp_explainer_rule(e, ni);
        const lrp_rule_def *d = r ? lrp_rule_def_of(r->kind) : NULL;
        fwd += macs;
        work += macs * rule_units(d ? d->name : "gradient", nonnegative(g, n->inputs[0], 0));
    }
    *total = fwd;
    return fwd > 0 ? work / fwd : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_methods MODEL  (commands on stdin; see bench/bench_methods.c)\n");
        return 2;
    }
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* as the lrp command does */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(argv[1], NULL, &err);
    if (!m)
        die(&err);
    const lrp_model_info *in = lrp_model_get_info(m);
    int64_t dims[LRP_MAX_DIMS];
    for (int i = 0; i < in->input_ndim; i++)
        dims[i] = in->input_dims[i] < 0 ? 1 : in->input_dims[i];
    lrp_tensor *x = lrp_tensor_new(LRP_REAL_DT, in->input_ndim, dims, &err);
    if (!x)
        die(&err);
    unsigned s = 12345; /* as bench_explain (and bench/methods for PyTorch) */
    for (int64_t i = 0; i < x->numel; i++) {
        s = s * 1103515245u + 12345u;
        ((lrp_real *)x->data)[i] = ((lrp_real)((s >> 8) & 0xffff) / 65535.0f - 0.45f) / 0.226f;
    }
    lrp_tensor *logits = NULL;
    if (lrp_model_run(m, x, &logits, &err) != LRP_OK) /* shapes known from here on */
        die(&err);
    lrp_tensor_free(logits);
    lrp_explainer *e = NULL;
    lrp_attributor_options ao;
    bool attr = false;
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "", method[128] = "";
        int threads = 0;
        if (sscanf(line, "%31s %127s %d", cmd, method, &threads) < 1)
            continue;
        if (!strcmp(cmd, "quit"))
            break;
        if (!strcmp(cmd, "cell")) {
            lrp_explainer_free(e);
            e = NULL;
            lrp_set_threads(threads > 0 ? threads : 1);
            m->opts.threads = threads > 0 ? threads : 1; /* the model's forward passes too (fixed at loading) */
            lrp_attributor_options_default(&ao);
            attr = false;
            const char *composite = method;
            int n = 0;
            if (sscanf(method, "smoothgrad:%d", &n) == 1) {
                ao.kind = LRP_ATTRIBUTOR_SMOOTHGRAD;
                ao.samples = n;
                attr = true;
            } else if (sscanf(method, "integrated-gradients:%d", &n) == 1) {
                ao.kind = LRP_ATTRIBUTOR_INTEGRATED_GRADIENTS;
                ao.steps = n;
                attr = true;
            }
            if (attr)
                composite = "gradient";
            lrp_explain_options o;
            lrp_explain_options_default(&o);
            o.composite = composite;
            /* ZBox's bounds as bench_explain's */
            static const float low[3] = {-0.485f / 0.229f, -0.456f / 0.224f, -0.406f / 0.225f},
                               high[3] = {0.515f / 0.229f, 0.544f / 0.224f, 0.594f / 0.225f};
            o.n_bounds = 3;
            o.low = low;
            o.high = high;
            e = lrp_explainer_new(m, &o, &err);
            if (!e)
                die(&err);
            double total = 0, u = floor_units(e, &total);
            peak_mb(true);
            printf("cell %.4f %.0f\n", attr ? u * n : u, total);
        } else if (!strcmp(cmd, "rep") && e) {
            lrp_tensor *rel = NULL;
            double t0 = now();
            if (lrp_model_run(m, x, &logits, &err) != LRP_OK)
                die(&err);
            lrp_tensor_free(logits);
            logits = NULL;
            double t1 = now();
            lrp_status st = attr ? lrp_attribute(e, &ao, x, NULL, LRP_SEED_ONE, &rel, NULL, NULL, &err)
                                 : lrp_explain(e, x, NULL, LRP_SEED_ONE, &rel, NULL, NULL, &err);
            if (st != LRP_OK)
                die(&err);
            double t2 = now();
            lrp_tensor_free(rel);
            if (lrp_model_run(m, x, &logits, &err) != LRP_OK)
                die(&err);
            lrp_tensor_free(logits);
            logits = NULL;
            double t3 = now();
            printf("rep %.6f %.6f %.6f\n", t1 - t0, t2 - t1, t3 - t2);
        } else if (!strcmp(cmd, "peak")) {
            printf("peak %ld\n", peak_mb(false));
        } else {
            printf("error unknown command or no cell: %s", line);
        }
        fflush(stdout);
    }
    lrp_explainer_free(e);
    lrp_tensor_free(x);
    lrp_model_free(m);
    return 0;
}
