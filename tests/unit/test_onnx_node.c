/* ONNX operator conformance: the node tests of ONNX's backend test suite
 * (Debian's libonnx-testdata: node/, pytorch-converted/, pytorch-operator/)
 * for the operators lrp implements. Each test directory holds model.onnx and
 * test_data_set_N/{input,output}_K.pb; we infer shapes from the inputs, run
 * the forward engine and compare every output as ONNX's own runner does
 * (rtol 1e-3, atol 1e-5; integers exactly).
 *
 * Integer graph inputs (and float inputs that give a shape, such as Range's)
 * become constants before shape inference: lrp's graph inputs are images, and
 * in the models it runs such values are initializers or folded shape
 * arithmetic. Everything else runs through the forward engine. */
#include "testutil.h"

#include "engine/forward.h"
#include "graph/graph.h"
#include "onnx/onnx_load.h"
#include "ops/op.h"
#include "graph/shape_infer.h"
#include "base/tensor.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------- selection */

/* Test directories of node/ selected by op: a name is selected when it
 * equals an entry or starts with the entry followed by '_'. */
static const char *const node_select[] = {"test_abs",
                                          "test_add",
                                          "test_averagepool",
                                          "test_basic_conv_with_padding",
                                          "test_basic_conv_without_padding",
                                          "test_batchnorm",
                                          "test_cast",
                                          "test_ceil",
                                          "test_clip",
                                          "test_concat",
                                          "test_constant_pad",
                                          "test_constantofshape",
                                          "test_conv",
                                          "test_convtranspose",
                                          "test_div",
                                          "test_dropout",
                                          "test_edge_pad",
                                          "test_einsum",
                                          "test_elu",
                                          "test_equal",
                                          "test_erf",
                                          "test_exp",
                                          "test_expand",
                                          "test_flatten",
                                          "test_floor",
                                          "test_gather",
                                          "test_gemm",
                                          "test_globalaveragepool",
                                          "test_globalmaxpool",
                                          "test_hardsigmoid",
                                          "test_hardswish",
                                          "test_identity",
                                          "test_layer_normalization",
                                          "test_leakyrelu",
                                          "test_logsoftmax",
                                          "test_matmul",
                                          "test_max",
                                          "test_maxpool",
                                          "test_mean",
                                          "test_min",
                                          "test_mod",
                                          "test_mul",
                                          "test_neg",
                                          "test_not",
                                          "test_pow",
                                          "test_prelu",
                                          "test_range",
                                          "test_reciprocal",
                                          "test_reduce_max",
                                          "test_reduce_mean",
                                          "test_reduce_sum",
                                          "test_reflect_pad",
                                          "test_relu",
                                          "test_reshape",
                                          "test_resize",
                                          "test_scatternd",
                                          "test_selu",
                                          "test_shape",
                                          "test_size",
                                          "test_sigmoid",
                                          "test_slice",
                                          "test_softmax",
                                          "test_softplus",
                                          "test_softsign",
                                          "test_split",
                                          "test_sqrt",
                                          "test_squeeze",
                                          "test_sub",
                                          "test_sum",
                                          "test_tanh",
                                          "test_tile",
                                          "test_transpose",
                                          "test_unsqueeze",
                                          "test_upsample",
                                          "test_where",
                                          NULL};
/* The *_expanded variants of these cases (the same computation written with
 * other operators as an ONNX function body) are selected with them. */

/* Selected by the rule above but belonging to other operators. */
static const char *const node_exclude[] = {"test_gather_elements",   /* GatherElements */
                                           "test_reduce_sum_square", /* ReduceSumSquare */
                                           /* optional and sequence values rather than tensors: outside what an image
     * classifier's graph holds (their .pb files are not TensorProtos) */
                                           "test_identity_opt", "test_identity_sequence", NULL};

/* pytorch-converted/ and pytorch-operator/ are taken whole: each directory
 * either passes or is listed below as unsupported. */

/* Variants we deliberately do not support. Each must fail cleanly with
 * LRP_ERR_UNSUPPORTED (asserted): a listed test that passes, or fails with
 * another status, counts as a failure. */
static const char *const unsupported[] = {
    /* 3-D spatial data: lrp handles 1-D and 2-D images */
    "test_averagepool_3d_default", "test_maxpool_3d_default", "test_convtranspose_3d", "test_AvgPool3d",
    "test_AvgPool3d_stride", "test_AvgPool3d_stride1_pad0_gpu_input", "test_Conv3d", "test_Conv3d_dilated",
    "test_Conv3d_dilated_strided", "test_Conv3d_groups", "test_Conv3d_no_bias", "test_Conv3d_stride",
    "test_Conv3d_stride_padding", "test_MaxPool3d", "test_MaxPool3d_stride", "test_MaxPool3d_stride_padding",
    /* training-mode BatchNormalization and Dropout (batch statistics, random masks) */
    "test_batchnorm_epsilon_training_mode", "test_batchnorm_example_training_mode", "test_training_dropout",
    "test_training_dropout_default", "test_training_dropout_default_mask", "test_training_dropout_mask",
    "test_training_dropout_zero_ratio", "test_training_dropout_zero_ratio_mask",
    /* 8-, 16-bit and unsigned integer arithmetic: lrp computes integers as int64 and cannot wrap like uint8 */
    "test_add_uint8", "test_sub_uint8", "test_mul_uint8", "test_div_uint8", "test_pow_types_float32_uint32",
    "test_pow_types_float32_uint64", "test_maxpool_2d_uint8",
    /* string and bfloat16 tensors */
    "test_cast_FLOAT_to_STRING", "test_cast_STRING_to_FLOAT", "test_cast_BFLOAT16_to_FLOAT",
    "test_cast_FLOAT_to_BFLOAT16",
    /* Resize: nearest-neighbour only (no linear or cubic interpolation, no tf_crop_and_resize) */
    "test_resize_downsample_scales_cubic", "test_resize_downsample_scales_cubic_A_n0p5_exclude_outside",
    "test_resize_downsample_scales_cubic_align_corners", "test_resize_downsample_scales_linear",
    "test_resize_downsample_scales_linear_align_corners", "test_resize_downsample_sizes_cubic",
    "test_resize_downsample_sizes_linear_pytorch_half_pixel", "test_resize_tf_crop_and_resize",
    "test_resize_upsample_scales_cubic", "test_resize_upsample_scales_cubic_A_n0p5_exclude_outside",
    "test_resize_upsample_scales_cubic_align_corners", "test_resize_upsample_scales_cubic_asymmetric",
    "test_resize_upsample_scales_linear", "test_resize_upsample_scales_linear_align_corners",
    "test_resize_upsample_sizes_cubic",
    /* operators lrp does not implement (pytorch-operator/ is taken whole; Range's function body is a Loop) */
    "test_range_float_type_positive_delta_expanded", "test_range_int32_type_negative_delta_expanded", /* Loop */
    "test_operator_symbolic_override", /* InstanceNormalization */
    /* Einsum with an ellipsis and a repeated label (a diagonal) */
    "test_einsum_batch_diagonal",
    /* uint64: values past 2^63 do not fit lrp's int64 */
    "test_mod_uint64", NULL};

static bool in_list(const char *const *list, const char *name)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], name))
            return true;
    return false;
}

static bool matches_prefix(const char *const *list, const char *name)
{
    for (int i = 0; list[i]; i++) {
        size_t n = strlen(list[i]);
        if (!strncmp(name, list[i], n) && (name[n] == '\0' || name[n] == '_'))
            return true;
    }
    return false;
}

static bool node_selected(const char *name)
{
    return matches_prefix(node_select, name) && !matches_prefix(node_exclude, name);
}

/* ------------------------------------------------------------ one test */

/* Inputs that give shapes: they become constants (op type, input index). */
static bool shape_slot(const lrp_graph *g, int v)
{
    static const struct {
        const char *op;
        int slot;
    } slots[] = {{"Range", 0}, {"Range", 1}, {"Range", 2}, {"Resize", 1}, {"Resize", 2}, {"Upsample", 1}};
    for (int k = 0; k < g->n_order; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        for (int i = 0; i < n->n_inputs; i++) {
            if (n->inputs[i] != v)
                continue;
            for (size_t s = 0; s < sizeof slots / sizeof *slots; s++)
                if (!strcmp(n->op_type, slots[s].op) && slots[s].slot == i)
                    return true;
        }
    }
    return false;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Compares a result with the expected tensor; message into why. */
static bool same_tensor(const lrp_tensor *got, const lrp_tensor *want, char *why, size_t size)
{
    char s1[160], s2[160];
    if (!got) {
        snprintf(why, size, "no result");
        return false;
    }
    if (!lrp_dims_equal(got->ndim, got->dims, want->ndim, want->dims)) {
        snprintf(why, size, "shape %s, expected %s", lrp_shape_str(got->ndim, got->dims, s1, sizeof s1),
                 lrp_shape_str(want->ndim, want->dims, s2, sizeof s2));
        return false;
    }
    if (got->dtype != want->dtype) {
        snprintf(why, size, "type %s, expected %s", got->dtype == LRP_INT64 ? "int64" : "float",
                 want->dtype == LRP_INT64 ? "int64" : "float");
        return false;
    }
    for (int64_t i = 0; i < got->numel; i++) {
        if (got->dtype == LRP_INT64) {
            if (lrp_i64(got)[i] != lrp_i64(want)[i]) {
                snprintf(why, size, "element %lld is %lld, expected %lld", (long long)i, (long long)lrp_i64(got)[i],
                         (long long)lrp_i64(want)[i]);
                return false;
            }
            continue;
        }
        double a = lrp_reals(got)[i], b = lrp_reals(want)[i];
        if (isnan(a) && isnan(b))
            continue;
        if (isinf(b) && a == b)
            continue;
        if (!(fabs(a - b) <= 1e-5 + 1e-3 * fabs(b))) {
            snprintf(why, size, "element %lld is %.8g, expected %.8g", (long long)i, a, b);
            return false;
        }
    }
    return true;
}

/* Runs one data set of one test directory. Returns LRP_OK when every output
 * matches (why empty); an lrp status (why = its message) when lrp refused
 * the case; LRP_ERR_INTERNAL with why set on a mismatch. */
static lrp_status run_data_set(const char *dir, const char *set, char *why, size_t size)
{
    char sdir[4096 + 1024];
    snprintf(sdir, sizeof sdir, "%s/%s", dir, set);
    lrp_error err = {0};
    lrp_graph *g = NULL;
    lrp_tensor *inputs[64] = {0}, *expect[64] = {0};
    lrp_tensor **vals = NULL;
    int n_in = 0, n_out = 0;
    why[0] = '\0';
    lrp_status st = lrp_onnx_load(tu_path(dir, "model.onnx"), &g, &err);
    if (st == LRP_OK)
        st = lrp_graph_init_ops(g, &err);
    /* the data set's files */
    for (; st == LRP_OK && n_in < 64; n_in++) {
        char name[64];
        snprintf(name, sizeof name, "input_%d.pb", n_in);
        const char *p = tu_path(sdir, name);
        if (!is_file(p))
            break;
        st = lrp_onnx_read_tensor_file(p, &inputs[n_in], &err);
    }
    for (; st == LRP_OK && n_out < 64; n_out++) {
        char name[64];
        snprintf(name, sizeof name, "output_%d.pb", n_out);
        const char *p = tu_path(sdir, name);
        if (!is_file(p))
            break;
        st = lrp_onnx_read_tensor_file(p, &expect[n_out], &err);
    }
    if (st == LRP_OK && (n_in != g->n_inputs || n_out != g->n_outputs)) {
        snprintf(err.message, sizeof err.message, "%d input and %d output files for %d inputs and %d outputs", n_in,
                 n_out, g->n_inputs, g->n_outputs);
        st = LRP_ERR_INTERNAL;
    }
    /* integer and shape-giving inputs become constants */
    int ndims[64];
    int64_t dims[64][LRP_MAX_DIMS];
    const lrp_tensor *rt[64];
    int n_rt = 0;
    if (st == LRP_OK) {
        int kept = 0;
        for (int i = 0; i < n_in; i++) {
            int v = g->inputs[i];
            if (inputs[i]->dtype == LRP_INT64 || shape_slot(g, v)) {
                g->values[v].constant = inputs[i];
                g->values[v].is_input = false;
                inputs[i] = NULL;
            } else {
                g->inputs[kept++] = v;
                ndims[n_rt] = inputs[i]->ndim;
                memcpy(dims[n_rt], inputs[i]->dims, sizeof dims[n_rt]);
                rt[n_rt++] = inputs[i];
            }
        }
        g->n_inputs = kept;
        st = lrp_graph_infer(g, ndims, (const int64_t(*)[LRP_MAX_DIMS])dims, &err);
    }
    if (st == LRP_OK) {
        vals = calloc((size_t)g->n_values, sizeof *vals);
        st = lrp_forward(g, rt, NULL, vals, &err);
    }
    if (st == LRP_OK) {
        for (int k = 0; k < n_out; k++) {
            const lrp_tensor *got = lrp_value_tensor(g, vals, g->outputs[k]);
            char w[256];
            if (!same_tensor(got, expect[k], w, sizeof w)) {
                snprintf(why, size, "output %d ('%s'): %s", k, g->values[g->outputs[k]].name, w);
                st = LRP_ERR_INTERNAL;
                break;
            }
        }
    } else {
        snprintf(why, size, "%s: %s", lrp_status_name(st), err.message);
    }
    if (vals) {
        lrp_vals_clear(g, vals);
        free(vals);
    }
    for (int i = 0; i < 64; i++) {
        lrp_tensor_free(inputs[i]);
        lrp_tensor_free(expect[i]);
    }
    lrp_graph_free(g);
    if (st != LRP_OK && !why[0])
        snprintf(why, size, "%s", err.message);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of the entries of dir starting with prefix; count in *n. */
static char **list_dir(const char *dir, const char *prefix, int *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, sizeof *names * (size_t)cap);
            assert_non_null(names);
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*n)
        qsort(names, (size_t)*n, sizeof *names, cmp_str);
    return names;
}

static void free_list(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

typedef struct {
    int ran, passed, unsupported, failed;
} tally;

static void run_test_dir(const char *root, const char *name, tally *t)
{
    char dir[4096 + 512]; /* tu_path's buffers rotate */
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    int nsets;
    char **sets = list_dir(dir, "test_data_set_", &nsets);
    bool listed = in_list(unsupported, name);
    char why[1024] = "";
    lrp_status st = LRP_OK;
    for (int s = 0; s < nsets && st == LRP_OK; s++)
        st = run_data_set(dir, sets[s], why, sizeof why);
    free_list(sets, nsets);
    if (nsets == 0)
        return;
    t->ran++;
    if (listed) {
        if (st == LRP_ERR_UNSUPPORTED) {
            t->unsupported++;
        } else {
            t->failed++;
            print_message("FAIL %s: listed as unsupported but %s%s\n", name,
                          st == LRP_OK ? "passed" : "failed otherwise: ", st == LRP_OK ? "" : why);
        }
        return;
    }
    if (st == LRP_OK) {
        t->passed++;
    } else {
        t->failed++;
        print_message("FAIL %s: %s\n", name, why);
    }
}

/* The data directory: $LRP_ONNX_TESTDATA, Debian's package, else the copy
 * in ../shared. */
static const char *data_root(void)
{
    static char buf[4096];
    const char *env = getenv("LRP_ONNX_TESTDATA");
    if (env && *env)
        return is_dir(env) ? env : NULL;
    if (is_dir("/usr/share/libonnx-testdata/data/node"))
        return "/usr/share/libonnx-testdata/data";
    const char *shared = tu_shared_dir();
    const char *cands[] = {shared ? tu_path(shared, "refdata/onnx-node-tests") : NULL,
                           "../shared/refdata/onnx-node-tests", "../../shared/refdata/onnx-node-tests"};
    for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
        if (cands[i] && is_dir(tu_path(cands[i], "node"))) {
            snprintf(buf, sizeof buf, "%s", cands[i]);
            return buf;
        }
    return NULL;
}

static void test_onnx_node_suite(void **state)
{
    (void)state;
    const char *root = data_root();
    if (!root)
        TU_SKIP("no ONNX node test data (install libonnx-testdata, or provide ../shared/refdata/onnx-node-tests)");
    tally t = {0};
    const char *only = getenv("LRP_NODE_TEST"); /* run one directory, for debugging */
    static const char *const subdirs[] = {"node", "pytorch-converted", "pytorch-operator"};
    for (size_t k = 0; k < sizeof subdirs / sizeof *subdirs; k++) {
        char sub[4096 + 64];
        snprintf(sub, sizeof sub, "%s/%s", root, subdirs[k]);
        int n;
        char **names = list_dir(sub, "test_", &n);
        for (int i = 0; i < n; i++) {
            if (only && strcmp(only, names[i]) != 0)
                continue;
            if (k == 0 && !node_selected(names[i]))
                continue;
            run_test_dir(sub, names[i], &t);
        }
        free_list(names, n);
    }
    print_message("onnx node tests: %d ran, %d passed, %d unsupported (listed), %d failed\n", t.ran, t.passed,
                  t.unsupported, t.failed);
    assert_int_equal(t.failed, 0);
    assert_true(t.ran > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onnx_node_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
