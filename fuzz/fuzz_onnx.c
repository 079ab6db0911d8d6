/* Fuzzes ONNX model loading: parse (through a scratch file), shape inference,
 * one forward pass and one explanation (the default composite) on a zero
 * input of the declared shape. The run is skipped when the declared shape is
 * symbolic beyond the batch dimension or has more than MAX_INPUT elements, or
 * when shape inference gives the graph's values more than MAX_VALUES elements
 * in all (lrp accepts large models by design; a 400-byte file can ask for a
 * huge Resize), or its products more than MAX_MACS multiply-adds (a weight
 * taken from an activation can be a 118x115 kernel over a 118x115 image), so
 * that a hostile file cannot make one execution slow. */
#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

#include "lrp.h"
#include "engine/model.h"

#define MAX_INPUT 4096
#define MAX_VALUES (1 << 18)
/* multiply-adds of the products (Conv, ConvTranspose, Gemm, MatMul): a
 * small graph can still ask for a huge kernel over its whole input */
#define MAX_MACS (1 << 24)

static int64_t value_numel(const lrp_value *v)
{
    int64_t n = 1;
    for (int i = 0; v->shape_known && i < v->ndim && n <= MAX_MACS; i++)
        n = v->dims[i] > MAX_MACS ? MAX_MACS + 1 : n * (v->dims[i] > 0 ? v->dims[i] : 1);
    return n;
}

/* An upper bound of a node's multiply-adds: each output element sums over
 * at most one row of the second operand (a filter, a weight column). */
static int64_t node_macs(const lrp_graph *g, const lrp_node *n)
{
    static const char *products[] = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
    int is = 0;
    for (int k = 0; k < 4; k++)
        is |= !strcmp(n->op_type, products[k]);
    if (!is || n->n_inputs < 2 || n->inputs[1] < 0 || n->n_outputs < 1 || n->outputs[0] < 0)
        return 0;
    const lrp_value *w = &g->values[n->inputs[1]], *y = &g->values[n->outputs[0]];
    int64_t per = value_numel(w), out = value_numel(y);
    if (w->shape_known && w->ndim > 0 && w->dims[0] > 0 && strcmp(n->op_type, "MatMul"))
        per /= w->dims[0];
    return per > MAX_MACS || out > MAX_MACS ? MAX_MACS + 1 : per * out;
}

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    lrp_set_threads(1);
    devnull = fopen("/dev/null", "w");
    return 0;
}

static void run(lrp_model *m)
{
    const lrp_model_info *info = lrp_model_get_info(m);
    if (info->input_ndim < 1 || info->input_ndim > LRP_MAX_DIMS)
        return;
    int64_t dims[LRP_MAX_DIMS], numel = 1;
    for (int i = 0; i < info->input_ndim; i++) {
        dims[i] = info->input_dims[i] < 0 && i == 0 ? 1 : info->input_dims[i];
        if (dims[i] <= 0 || dims[i] > MAX_INPUT)
            return;
        numel *= dims[i];
        if (numel > MAX_INPUT)
            return;
    }
    lrp_error err = {0};
    if (lrp_model_prepare(m, info->input_ndim, dims, &err) != LRP_OK) {
        fuzz_check_message(err.message);
        return;
    }
    int64_t total = 0;
    for (int v = 0; v < m->g->n_values; v++) {
        const lrp_value *val = &m->g->values[v];
        int64_t n = 1;
        for (int i = 0; val->shape_known && i < val->ndim && n <= MAX_VALUES; i++)
            n = val->dims[i] > MAX_VALUES ? MAX_VALUES + 1 : n * (val->dims[i] > 0 ? val->dims[i] : 1);
        total += n;
        if (total > MAX_VALUES)
            return;
    }
    int64_t macs = 0;
    for (int i = 0; i < m->g->n_nodes; i++) {
        macs += node_macs(m->g, &m->g->nodes[i]);
        if (macs > MAX_MACS)
            return;
    }
    lrp_tensor *x = lrp_tensor_new(LRP_REAL_DT, info->input_ndim, dims, &err);
    if (!x)
        abort();
    lrp_tensor *logits = NULL, *rel = NULL;
    if (lrp_model_run(m, x, &logits, &err) != LRP_OK) {
        fuzz_check_message(err.message);
    } else {
        lrp_tensor_free(logits);
        logits = NULL;
        lrp_explainer *e = lrp_explainer_new(m, NULL, &err);
        if (!e) {
            fuzz_check_message(err.message);
        } else {
            if (lrp_explain(e, x, NULL, LRP_SEED_ONE, &rel, &logits, NULL, &err) != LRP_OK)
                fuzz_check_message(err.message);
            else if (rel->numel != x->numel)
                fuzz_fail("relevance not shaped like the input");
            lrp_tensor_free(rel);
            lrp_tensor_free(logits);
            lrp_explainer_free(e);
        }
    }
    lrp_tensor_free(x);
}

/* lrp_onnx_metadata_peek, which scans the file's top level without loading
 * it: on a model that loads, it reads every key as the loader did (and
 * lrp.labels, present or not); on any file, a failure has its message. */
static void peek_check(const char *path, const lrp_model *m)
{
    const lrp_model_info *info = m ? lrp_model_get_info(m) : NULL;
    int n = info ? info->n_metadata : 0;
    for (int i = -1; i < n; i++) {
        const char *key = i < 0 ? "lrp.labels" : info->metadata_keys[i];
        char *v = NULL;
        lrp_error err = {0};
        if (lrp_onnx_metadata_peek(path, key, &v, &err) != LRP_OK) {
            fuzz_check_message(err.message);
            if (m)
                fuzz_fail("metadata peek fails on a model that loads");
            return;
        }
        const char *want = info ? lrp_model_metadata(info, key) : NULL;
        if (m && (!want != !v || (v && strcmp(v, want))))
            fuzz_fail("metadata peek reads another value than the loader");
        free(v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch(data, size, ".onnx");
    lrp_load_options o;
    lrp_load_options_default(&o);
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(path, &o, &err);
    peek_check(path, m);
    if (!m) {
        fuzz_check_message(err.message);
        /* what `lrp inspect` does with such a model */
        o.allow_unsupported = 1;
        o.canonize = 0;
        if ((m = lrp_model_load(path, &o, &err))) {
            lrp_model_describe(m, devnull, &err);
            lrp_model_free(m);
        }
        return 0;
    }
    run(m);
    lrp_model_free(m);
    return 0;
}
