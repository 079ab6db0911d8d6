/* Fuzzes ONNX model loading: parse (through a scratch file), shape inference,
 * one forward pass and one explanation (the default composite) on a zero
 * input of the declared shape. The run is skipped when the declared shape is
 * symbolic beyond the batch dimension or has more than MAX_INPUT elements, or
 * when shape inference gives the graph's values more than MAX_VALUES elements
 * in all (lrp accepts large models by design; a 400-byte file can ask for a
 * huge Resize), so that a hostile file cannot make one execution slow. */
#include "fuzz_util.h"

#include "lrp.h"
#include "model.h"

#define MAX_INPUT 4096
#define MAX_VALUES (1 << 18)

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
    lrp_tensor *x = lrp_tensor_new(LRP_FLOAT32, info->input_ndim, dims, &err);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch(data, size, ".onnx");
    lrp_load_options o;
    lrp_load_options_default(&o);
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(path, &o, &err);
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
