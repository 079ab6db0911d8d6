/* Fuzzes --rule overrides ("NODE=RULE", "OPTYPE=RULE:k=v,...") and composite
 * names. Input: one override per line (at most 16); a first line "@NAME"
 * names the composite instead. Each line goes through lrp_rule_parse and
 * lrp_rule_describe, and all of them through lrp_explainer_new on a prepared
 * model (testdata's mnist-8), which assigns and checks the rules. */
#include "fuzz_util.h"

#include "lrp.h"
#include "lrp/rules.h"

#define MAX_RULES 16

static lrp_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    lrp_set_threads(1);
    char path[4096];
    snprintf(path, sizeof path, "%s/models/mnist-8/model.onnx", fuzz_testdata());
    lrp_error err = {0};
    lrp_load_options o;
    lrp_load_options_default(&o);
    model = lrp_model_load(path, &o, &err);
    if (!model) {
        fprintf(stderr, "fuzz_rule: %s\n", err.message);
        exit(2);
    }
    const lrp_model_info *info = lrp_model_get_info(model);
    int64_t dims[LRP_MAX_DIMS];
    for (int i = 0; i < info->input_ndim; i++)
        dims[i] = info->input_dims[i] < 0 ? 1 : info->input_dims[i];
    lrp_tensor *x = lrp_tensor_new(LRP_REAL_DT, info->input_ndim, dims, &err), *logits = NULL;
    if (!x || lrp_model_run(model, x, &logits, &err) != LRP_OK) { /* prepares the shapes */
        fprintf(stderr, "fuzz_rule: %s\n", err.message);
        exit(2);
    }
    lrp_tensor_free(x);
    lrp_tensor_free(logits);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strdup(data, size);
    const char *rules[MAX_RULES];
    int n = 0;
    lrp_explain_options o;
    lrp_explain_options_default(&o);
    static const lrp_real low = -1.0f, high = 1.0f;
    o.n_bounds = 1;
    o.low = &low;
    o.high = &high;
    char *save = NULL;
    for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line == s && line[0] == '@') {
            o.composite = line + 1;
            continue;
        }
        if (n == MAX_RULES)
            break;
        rules[n++] = line;
        const char *eq = strchr(line, '=');
        lrp_rule r = {
            .kind = LRP_RULE_GRADIENT, .eps = 1e-6f, .alpha = 2, .beta = 1, .gamma = 0.25f, .beta_smooth = 10};
        lrp_error err = {0};
        if (lrp_rule_parse(eq ? eq + 1 : line, &r, &err) == LRP_OK) {
            char buf[256];
            lrp_rule_describe(&r, buf, sizeof buf);
        } else {
            fuzz_check_message(err.message);
        }
        lrp_rule_clear(&r);
    }
    o.n_overrides = n;
    o.overrides = rules;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(model, &o, &err);
    if (e)
        lrp_explainer_free(e);
    else
        fuzz_check_message(err.message);
    free(s);
    return 0;
}
