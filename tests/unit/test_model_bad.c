/* Bad model files and bad .npy files: every one must give an lrp_error with
 * the right status and a one-line message that names the file and the
 * problem -- never a crash, a hang or a leak.
 *
 * The malformed-but-parseable models are built here with protobuf-c from the
 * ONNX schema (onnx.pb-c.h), so each one breaks exactly one rule. Raw-byte
 * cases: empty, random bytes, random byte flips and every 97th-byte cut of
 * testdata/models/mnist-8/model.onnx. Uses only the public API. */
#include "testutil.h"

#include "onnx.pb-c.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ arena */

/* Everything a built model points to is allocated here and freed at once. */
static void **arena;
static int n_arena, cap_arena;

static void *A(size_t size)
{
    void *p = calloc(1, size ? size : 1);
    assert_non_null(p);
    if (n_arena == cap_arena) {
        cap_arena = cap_arena ? 2 * cap_arena : 256;
        arena = realloc(arena, sizeof *arena * (size_t)cap_arena);
        assert_non_null(arena);
    }
    arena[n_arena++] = p;
    return p;
}

static char *S(const char *s)
{
    char *p = A(strlen(s) + 1);
    memcpy(p, s, strlen(s));
    return p;
}

static void arena_free(void)
{
    while (n_arena > 0)
        free(arena[--n_arena]);
    free(arena);
    arena = NULL;
    cap_arena = 0;
}

/* ------------------------------------------------------- temp files */

static char temp_paths[64][512];
static int n_temp;

/* A temporary file with these bytes; removed by temp_cleanup. */
static const char *temp_bytes(const void *data, size_t len, const char *suffix)
{
    const char *p = tu_temp_file(data, len, suffix);
    assert_non_null(p);
    assert_true(n_temp < 64);
    snprintf(temp_paths[n_temp], sizeof temp_paths[0], "%s", p);
    return temp_paths[n_temp++];
}

static void temp_cleanup(void)
{
    for (int i = 0; i < n_temp; i++)
        unlink(temp_paths[i]);
    n_temp = 0;
}

/* A fresh temporary directory (static buffer per call slot). */
static const char *temp_dir(void)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    const char *tmp = getenv("TMPDIR");
    snprintf(b, sizeof bufs[0], "%s/lrp-bad-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(b));
    return b;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* --------------------------------------------------- model builder */

enum { MAXN = 32 };

typedef struct mb {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto *nodes[MAXN];
    Onnx__TensorProto *inits[MAXN];
    Onnx__ValueInfoProto *inputs[MAXN], *outputs[MAXN];
} mb;

static void mb_init(mb *b, int64_t opset)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.domain = S("");
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.has_ir_version = 1;
    b->model.ir_version = 7;
    b->model.producer_name = S("lrp-test");
    b->model.graph = &b->graph;
    b->graph.name = S("g");
    b->graph.node = b->nodes;
    b->graph.initializer = b->inits;
    b->graph.input = b->inputs;
    b->graph.output = b->outputs;
}

/* A float tensor type; negative dims become a symbolic "N". */
static Onnx__ValueInfoProto *value_info(const char *name, int elem_type, int nd, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = A(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = S(name);
    Onnx__TypeProto *t = A(sizeof *t);
    onnx__type_proto__init(t);
    Onnx__TypeProto__Tensor *tt = A(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem_type;
    Onnx__TensorShapeProto *sh = A(sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)nd;
    sh->dim = A(sizeof(void *) * (size_t)(nd ? nd : 1));
    for (int i = 0; i < nd; i++) {
        Onnx__TensorShapeProto__Dimension *d = A(sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = S("N");
        }
        sh->dim[i] = d;
    }
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->type = t;
    return v;
}

static void mb_input(mb *b, const char *name, int nd, const int64_t *dims)
{
    b->inputs[b->graph.n_input++] = value_info(name, 1, nd, dims);
}

static void mb_output(mb *b, const char *name, int nd, const int64_t *dims)
{
    b->outputs[b->graph.n_output++] = value_info(name, 1, nd, dims);
}

/* A tensor of data_type dt. data: n floats (float_data, or raw_data when
 * raw), or NULL for no data at all. */
static Onnx__TensorProto *tensor(const char *name, int dt, int nd, const int64_t *dims, const lrp_real *data, size_t n,
                                 bool raw)
{
    Onnx__TensorProto *t = A(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = S(name);
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = (size_t)nd;
    t->dims = A(sizeof(int64_t) * (size_t)(nd ? nd : 1));
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)nd);
    if (data && raw) {
        t->has_raw_data = 1;
        t->raw_data.len = n * sizeof(lrp_real);
        t->raw_data.data = A(n * sizeof(lrp_real));
        memcpy(t->raw_data.data, data, n * sizeof(lrp_real));
    } else if (data) {
        t->n_float_data = n;
        t->float_data = A(sizeof(lrp_real) * (n ? n : 1));
        memcpy(t->float_data, data, sizeof(lrp_real) * n);
    }
    return t;
}

static Onnx__TensorProto *tensor_i64(const char *name, int n, const int64_t *v)
{
    Onnx__TensorProto *t = A(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = S(name);
    t->has_data_type = 1;
    t->data_type = 7;
    t->n_dims = 1;
    t->dims = A(sizeof(int64_t));
    t->dims[0] = n;
    t->n_int64_data = (size_t)n;
    t->int64_data = A(sizeof(int64_t) * (size_t)(n ? n : 1));
    memcpy(t->int64_data, v, sizeof(int64_t) * (size_t)n);
    return t;
}

static void mb_init_tensor(mb *b, Onnx__TensorProto *t) { b->inits[b->graph.n_initializer++] = t; }

/* Splits "a,b,,c" into strings ("" for an empty entry). */
static size_t split(const char *list, char ***out)
{
    size_t n = *list ? 1 : 0;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    char **v = A(sizeof(char *) * (n ? n : 1));
    const char *p = list;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        v[i] = A(len + 1);
        memcpy(v[i], p, len);
        p = e ? e + 1 : p + len;
    }
    *out = v;
    return n;
}

static Onnx__NodeProto *mb_node(mb *b, const char *op, const char *name, const char *ins, const char *outs)
{
    Onnx__NodeProto *n = A(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = S(op);
    if (name)
        n->name = S(name);
    n->n_input = split(ins, &n->input);
    n->n_output = split(outs, &n->output);
    n->attribute = A(sizeof(void *) * 16);
    b->nodes[b->graph.n_node++] = n;
    return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = A(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = S(name);
    a->has_type = 1;
    a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static void attr_tensor(Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
    attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
}

static void attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static void attr_ints(Onnx__NodeProto *n, const char *name, int cnt, const int64_t *v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)cnt;
    a->ints = A(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
}

static void attr_string(Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)S(v);
}

/* Serializes the model into a temporary .onnx file (or into path). */
static const char *mb_write(mb *b, const char *path)
{
    size_t len = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    assert_int_equal(onnx__model_proto__pack(&b->model, buf), len);
    const char *p;
    if (path) {
        write_file(path, buf, len);
        p = path;
    } else {
        p = temp_bytes(buf, len, ".onnx");
    }
    free(buf);
    return p;
}

/* The good model every case departs from: X (1,4) -> MatMul W (4,3) -> Relu
 * -> Y (1,3). */
static const int64_t X_DIMS[2] = {1, 4}, W_DIMS[2] = {4, 3}, Y_DIMS[2] = {1, 3};
static const lrp_real W_VALS[12] = {1, -2, 3, 0.5f, 0, -1, -1, 1, 2, 0.25f, 4, -3};

static void base_model(mb *b)
{
    mb_init(b, 13);
    mb_input(b, "X", 2, X_DIMS);
    mb_output(b, "Y", 2, Y_DIMS);
    mb_init_tensor(b, tensor("W", 1, 2, W_DIMS, W_VALS, 12, true));
    mb_node(b, "MatMul", "mm", "X,W", "H");
    mb_node(b, "Relu", "act", "H", "Y");
}

/* ------------------------------------------------------ expectations */

static void check_message(const lrp_error *err, const char *path)
{
    size_t n = strlen(err->message);
    if (n == 0 || strchr(err->message, '\n') || strchr(err->message, '\r') || (path && !strstr(err->message, path)))
        fail_msg("message should be one non-empty line naming %s: '%s'", path ? path : "(nothing)", err->message);
}

static void check_words(const lrp_error *err, const char *const *words)
{
    for (int i = 0; words && words[i]; i++)
        if (!strstr(err->message, words[i]))
            fail_msg("message should mention '%s': '%s'", words[i], err->message);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Loading path must fail with status want and a message naming the file and
 * every word. */
static void expect_load_fail(const char *path, lrp_status want, const char *const *words)
{
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(path, NULL, &err);
    if (m) {
        lrp_model_free(m);
        fail_msg("%s: loaded, wanted %s", path, lrp_status_name(want));
    }
    if (err.status != want)
        fail_msg("%s: status %s, wanted %s: %s", path, lrp_status_name(err.status), lrp_status_name(want),
                 err.message);
    check_message(&err, path);
    check_words(&err, words);
}

static lrp_model *load_ok(const char *path)
{
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(path, NULL, &err);
    if (!m)
        fail_msg("%s should load: %s", path, err.message);
    return m;
}

/* A tensor filled with values. */
static lrp_tensor *ftensor(int nd, const int64_t *dims, const lrp_real *v)
{
    lrp_error err = {0};
    lrp_tensor *t = lrp_tensor_new(LRP_REAL_DT, nd, dims, &err);
    assert_non_null(t);
    if (v)
        memcpy(t->data, v, sizeof(lrp_real) * (size_t)t->numel);
    return t;
}

/* Runs whatever loaded from hostile bytes on a zero input; either outcome is
 * fine as long as an error is reported properly. */
static void try_run(lrp_model *m)
{
    const lrp_model_info *in = lrp_model_get_info(m);
    if (in->input_ndim <= 0 || in->input_ndim > LRP_MAX_DIMS)
        return;
    int64_t dims[LRP_MAX_DIMS], numel = 1;
    for (int i = 0; i < in->input_ndim; i++) {
        dims[i] = in->input_dims[i] < 0 ? 1 : in->input_dims[i];
        numel *= dims[i] ? dims[i] : 1;
        if (numel > (1 << 22))
            return;
    }
    lrp_error err = {0};
    lrp_tensor *x = lrp_tensor_new(LRP_REAL_DT, in->input_ndim, dims, &err);
    if (!x)
        return;
    lrp_tensor *y = NULL;
    lrp_status st = lrp_model_run(m, x, &y, &err);
    if (st != LRP_OK) {
        assert_null(y);
        assert_int_equal(err.status, st);
        check_message(&err, NULL);
    } else {
        assert_non_null(y);
        assert_int_equal(y->ndim, 2);
    }
    lrp_tensor_free(y);
    lrp_tensor_free(x);
}

static int hostile_loaded, hostile_refused;

/* Loads hostile bytes: must fail with a proper error (never NOMEM/INTERNAL
 * for a small file) or load; what loads is run. */
static void load_hostile(const uint8_t *data, size_t len, const char *what)
{
    const char *path = temp_bytes(data, len, ".onnx");
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(path, NULL, &err);
    if (m)
        hostile_loaded++;
    else
        hostile_refused++;
    if (m) {
        try_run(m);
        lrp_model_free(m);
    } else {
        if (err.status == LRP_OK || err.status == LRP_ERR_NOMEM || err.status == LRP_ERR_INTERNAL ||
            err.status == LRP_ERR_IO || err.status == LRP_ERR_ARG)
            fail_msg("%s: status %s: %s", what, lrp_status_name(err.status), err.message);
        check_message(&err, path);
    }
    temp_cleanup();
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* ------------------------------------------------------- raw bytes */

static void test_missing_file(void **state)
{
    (void)state;
    expect_load_fail("/nonexistent-dir/no-model.onnx", LRP_ERR_IO, WORDS("No such file"));
    /* a directory is not a model */
    const char *d = temp_dir();
    expect_load_fail(d, LRP_ERR_IO, NULL);
    rmdir(d);
}

static void test_empty_file(void **state)
{
    (void)state;
    const char *p = temp_bytes("", 0, ".onnx");
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("empty"));
    temp_cleanup();
}

static void test_random_bytes(void **state)
{
    (void)state;
    uint8_t buf[4096];
    hostile_loaded = hostile_refused = 0;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        uint64_t s = seed * 0x9E3779B97F4A7C15ull;
        size_t len = 1 + rng_next(&s) % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(rng_next(&s) >> 24);
        char what[64];
        snprintf(what, sizeof what, "random bytes, seed %llu", (unsigned long long)seed);
        load_hostile(buf, len, what);
    }
    print_message("random bytes: %d refused, %d loaded\n", hostile_refused, hostile_loaded);
    assert_int_equal(hostile_refused + hostile_loaded, 300);
    /* A text file and a PNG are not models either. */
    const char *txt = "This is not an ONNX model.\n";
    const char *p = temp_bytes(txt, strlen(txt), ".onnx");
    expect_load_fail(p, LRP_ERR_FORMAT, NULL);
    temp_cleanup();
    expect_load_fail(tu_testdata("models/cifar10-resnet20/horse5.png"), LRP_ERR_FORMAT, NULL);
}

static void test_truncated_model(void **state)
{
    (void)state;
    size_t len;
    unsigned char *model = tu_read_file(tu_testdata("models/mnist-8/model.onnx"), &len);
    assert_non_null(model);
    assert_int_equal(len, 26454);
    int failed = 0, loaded = 0;
    for (size_t cut = 0; cut < len; cut += 97) {
        char what[64];
        snprintf(what, sizeof what, "mnist-8 cut at %zu", cut);
        const char *path = temp_bytes(model, cut, ".onnx");
        lrp_error err = {0};
        lrp_model *m = lrp_model_load(path, NULL, &err);
        if (m) {
            loaded++;
            try_run(m);
            lrp_model_free(m);
        } else {
            failed++;
            if (err.status != LRP_ERR_FORMAT && err.status != LRP_ERR_SHAPE && err.status != LRP_ERR_UNSUPPORTED)
                fail_msg("%s: status %s: %s", what, lrp_status_name(err.status), err.message);
            check_message(&err, path);
        }
        temp_cleanup();
    }
    print_message("mnist-8 cut at %d lengths: %d refused, %d loaded\n", failed + loaded, failed, loaded);
    /* the weights are the last ~60% of the file: most cuts must be refused */
    assert_true(failed > 200);
    free(model);
}

static void test_flipped_bytes(void **state)
{
    (void)state;
    size_t len;
    unsigned char *model = tu_read_file(tu_testdata("models/mnist-8/model.onnx"), &len);
    assert_non_null(model);
    unsigned char *copy = malloc(len);
    assert_non_null(copy);
    hostile_loaded = hostile_refused = 0;
    /* LRP_FUZZ_SEEDS=N runs more (for a longer hunt) */
    const char *env = getenv("LRP_FUZZ_SEEDS");
    uint64_t seeds = env && atoi(env) > 0 ? (uint64_t)atoi(env) : 400;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        uint64_t s = seed * 0xD1B54A32D192ED03ull;
        memcpy(copy, model, len);
        int flips = 1 + (int)(rng_next(&s) % 8);
        /* flip bytes in the structural part (the first 2 KiB holds the graph
         * header and the node list; the weights follow) */
        for (int k = 0; k < flips; k++) {
            size_t at = rng_next(&s) % (len < 2048 ? len : 2048);
            if (rng_next(&s) & 1)
                at = rng_next(&s) % len;
            copy[at] ^= (uint8_t)(1u << (rng_next(&s) % 8));
        }
        char what[64];
        snprintf(what, sizeof what, "mnist-8 with %d flipped bits, seed %llu", flips, (unsigned long long)seed);
        load_hostile(copy, len, what);
    }
    print_message("mnist-8 with flipped bits: %d refused, %d loaded\n", hostile_refused, hostile_loaded);
    free(copy);
    free(model);
}

/* ------------------------------------------------ structural errors */

static void test_base_model_loads(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    const char *p = mb_write(&b, NULL);
    lrp_model *m = load_ok(p);
    const lrp_real x[4] = {1, 2, 3, 4};
    lrp_tensor *in = ftensor(2, X_DIMS, x), *y = NULL;
    lrp_error err = {0};
    assert_int_equal(lrp_model_run(m, in, &y, &err), LRP_OK);
    /* relu(x W): column j = sum_i x_i W_ij */
    for (int j = 0; j < 3; j++) {
        double s = 0;
        for (int i = 0; i < 4; i++)
            s += x[i] * W_VALS[i * 3 + j];
        assert_float_equal(((lrp_real *)y->data)[j], s > 0 ? s : 0, 1e-5);
    }
    lrp_tensor_free(y);
    lrp_tensor_free(in);
    lrp_model_free(m);
    temp_cleanup();
    arena_free();
}

static void test_missing_tensor(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    b.nodes[1]->input[0] = S("nowhere");
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("act", "nowhere"));
    temp_cleanup();
    arena_free();
}

static void test_cycle(void **state)
{
    (void)state;
    mb b;
    /* H = MatMul(X, W) + B2, B2 = Relu(H): a loop of two nodes */
    mb_init(&b, 13);
    mb_input(&b, "X", 2, X_DIMS);
    mb_output(&b, "Y", 2, Y_DIMS);
    mb_init_tensor(&b, tensor("W", 1, 2, W_DIMS, W_VALS, 12, true));
    mb_node(&b, "MatMul", "mm", "X,W", "H0");
    mb_node(&b, "Add", "loop_add", "H0,B2", "H");
    mb_node(&b, "Relu", "loop_relu", "H", "B2");
    mb_node(&b, "Identity", "out", "H", "Y");
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("cycle", "loop_"));
    temp_cleanup();
    arena_free();

    /* a node that reads its own output */
    base_model(&b);
    b.nodes[1]->input[0] = S("Y");
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("cycle", "act"));
    temp_cleanup();
    arena_free();
}

static void test_negative_dimension(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    b.inits[0]->dims[0] = -4;
    b.inits[0]->has_raw_data = 0;
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("'W'", "negative"));
    temp_cleanup();
    arena_free();
}

static void test_huge_initializer(void **state)
{
    (void)state;
    static const int64_t huge[2] = {1000000, 1000000}; /* 10^12 elements */
    mb b;
    /* without data, with 12 floats, and with 48 raw bytes: refused on the
     * shape, before anything is allocated (a 4 TB calloc would be NOMEM) */
    for (int variant = 0; variant < 3; variant++) {
        base_model(&b);
        b.inits[0] = tensor("W", 1, 2, huge, variant ? W_VALS : NULL, 12, variant == 2);
        const char *p = mb_write(&b, NULL);
        expect_load_fail(p, LRP_ERR_LIMIT, WORDS("'W'", "1000000", "too large"));
        temp_cleanup();
        arena_free();
    }
    /* the same as a Constant node's value */
    base_model(&b);
    b.graph.n_initializer = 0;
    Onnx__NodeProto *c = mb_node(&b, "Constant", "const_w", "", "W");
    attr_tensor(c, "value", tensor("wv", 1, 2, huge, NULL, 0, false));
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_LIMIT, WORDS("too large"));
    temp_cleanup();
    arena_free();
    /* rank 9 */
    static const int64_t r9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    base_model(&b);
    b.inits[0] = tensor("W", 1, 9, r9, W_VALS, 1, true);
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_LIMIT, WORDS("'W'", "rank 9"));
    temp_cleanup();
    arena_free();
}

static void test_raw_data_short(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    b.inits[0]->raw_data.len = 40; /* 10 floats for a (4, 3) shape */
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("'W'", "40 bytes", "48", "(4, 3)"));
    temp_cleanup();
    arena_free();
    /* and one byte too many */
    base_model(&b);
    b.inits[0] = tensor("W", 1, 2, W_DIMS, W_VALS, 12, true);
    b.inits[0]->raw_data.len = 49;
    b.inits[0]->raw_data.data = A(49);
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("'W'", "49"));
    temp_cleanup();
    arena_free();
}

static void test_float_data_mismatch(void **state)
{
    (void)state;
    mb b;
    lrp_real v13[13] = {0};
    memcpy(v13, W_VALS, sizeof W_VALS);
    for (int n = 11; n <= 13; n += 2) {
        base_model(&b);
        b.inits[0] = tensor("W", 1, 2, W_DIMS, v13, (size_t)n, false);
        const char *p = mb_write(&b, NULL);
        char have[32];
        snprintf(have, sizeof have, "%d values", n);
        expect_load_fail(p, LRP_ERR_FORMAT, WORDS("'W'", have, "12"));
        temp_cleanup();
        arena_free();
    }
    /* the same tensor given as float_data loads and computes like raw_data */
    base_model(&b);
    b.inits[0] = tensor("W", 1, 2, W_DIMS, W_VALS, 12, false);
    const char *p = mb_write(&b, NULL);
    lrp_model_free(load_ok(p));
    temp_cleanup();
    arena_free();
}

static void test_unsupported_dtype(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    b.inits[0]->data_type = 8; /* string */
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_UNSUPPORTED, WORDS("'W'", "string"));
    temp_cleanup();
    arena_free();
    /* an int64 graph input */
    base_model(&b);
    b.inputs[0]->type->tensor_type->elem_type = 7;
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_UNSUPPORTED, WORDS("'X'", "int64"));
    temp_cleanup();
    arena_free();
}

static void test_unsupported_op(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    b.nodes[1]->op_type = S("FrobnicateV2");
    b.nodes[1]->name = S("mystery_node");
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_UNSUPPORTED, WORDS("FrobnicateV2", "mystery_node", "opset 13"));

    /* allow_unsupported: loads, describe lists it, run refuses it */
    lrp_load_options o;
    lrp_load_options_default(&o);
    o.allow_unsupported = 1;
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(p, &o, &err);
    assert_non_null(m);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    assert_non_null(f);
    assert_int_equal(lrp_model_describe(m, f, &err), LRP_OK);
    fclose(f);
    if (!strstr(text, "unsupported FrobnicateV2"))
        fail_msg("describe should list the unsupported op:\n%s", text);
    free(text);
    lrp_tensor *x = ftensor(2, X_DIMS, NULL), *y = NULL;
    assert_int_equal(lrp_model_run(m, x, &y, &err), LRP_ERR_UNSUPPORTED);
    assert_null(y);
    check_message(&err, p);
    check_words(&err, WORDS("FrobnicateV2", "mystery_node"));
    lrp_tensor_free(x);
    lrp_model_free(m);
    temp_cleanup();
    arena_free();

    /* an unnamed node is still identified by its type */
    base_model(&b);
    b.nodes[1]->op_type = S("FrobnicateV2");
    b.nodes[1]->name = NULL;
    b.opset.version = 11;
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_UNSUPPORTED, WORDS("FrobnicateV2", "opset 11"));
    temp_cleanup();
    arena_free();
}

static void test_foreign_domain(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    b.nodes[1]->domain = S("com.example.custom");
    const char *p = mb_write(&b, NULL);
    /* a Relu, but not ONNX's */
    expect_load_fail(p, LRP_ERR_UNSUPPORTED, WORDS("Relu", "act", "com.example.custom"));
    temp_cleanup();
    arena_free();
    /* a Constant in another domain is not ONNX's Constant either */
    base_model(&b);
    b.graph.n_initializer = 0;
    Onnx__NodeProto *c = mb_node(&b, "Constant", "foreign_const", "", "W");
    c->domain = S("ai.onnx.ml");
    attr_tensor(c, "value", tensor("wv", 1, 2, W_DIMS, W_VALS, 12, true));
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_UNSUPPORTED, WORDS("Constant", "ai.onnx.ml"));
    temp_cleanup();
    arena_free();
}

/* The base model with W in external data. */
static void external_model(mb *b, const char *location, const char *offset, const char *length)
{
    base_model(b);
    Onnx__TensorProto *t = b->inits[0];
    t->has_raw_data = 0;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    const char *keys[3] = {"location", "offset", "length"}, *vals[3] = {location, offset, length};
    t->external_data = A(sizeof(void *) * 3);
    for (int i = 0; i < 3; i++) {
        if (!vals[i])
            continue;
        Onnx__StringStringEntryProto *e = A(sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = S(keys[i]);
        e->value = S(vals[i]);
        t->external_data[t->n_external_data++] = e;
    }
}

static void test_external_data_outside(void **state)
{
    (void)state;
    const char *top = temp_dir();
    char sub[600], model[700], outside[700];
    snprintf(sub, sizeof sub, "%s/sub", top);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(model, sizeof model, "%s/model.onnx", sub);
    /* the weights exist, but outside the model's directory */
    snprintf(outside, sizeof outside, "%s/w.bin", top);
    write_file(outside, W_VALS, sizeof W_VALS);
    const char *bad[] = {"../w.bin", outside, "x/../../w.bin", "./../w.bin"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mb b;
        external_model(&b, bad[i], NULL, NULL);
        mb_write(&b, model);
        expect_load_fail(model, LRP_ERR_UNSUPPORTED, WORDS("'W'", bad[i], "outside"));
        arena_free();
    }
    /* a symbolic link beside the model that points outside it, to a file
     * and through a linked directory */
    char link[700], dlink[700];
    snprintf(link, sizeof link, "%s/link.bin", sub);
    assert_int_equal(symlink(outside, link), 0);
    snprintf(dlink, sizeof dlink, "%s/up", sub);
    assert_int_equal(symlink("..", dlink), 0);
    const char *linked[] = {"link.bin", "up/w.bin"};
    for (size_t i = 0; i < sizeof linked / sizeof *linked; i++) {
        mb b;
        external_model(&b, linked[i], NULL, NULL);
        mb_write(&b, model);
        expect_load_fail(model, LRP_ERR_UNSUPPORTED, WORDS("'W'", linked[i], "outside"));
        arena_free();
    }
    unlink(link);
    unlink(dlink);
    unlink(model);
    unlink(outside);
    rmdir(sub);
    rmdir(top);
}

static void test_external_data_beside(void **state)
{
    (void)state;
    const char *dir = temp_dir();
    char model[600], wfile[600], wfile2[600];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    snprintf(wfile, sizeof wfile, "%s/weights.bin", dir);
    snprintf(wfile2, sizeof wfile2, "%s/packed.bin", dir);
    write_file(wfile, W_VALS, sizeof W_VALS);
    /* packed.bin: 8 junk bytes, then the weights at offset 8, then more junk */
    uint8_t packed[8 + sizeof W_VALS + 5];
    memset(packed, 0x7f, sizeof packed);
    memcpy(packed + 8, W_VALS, sizeof W_VALS);
    write_file(wfile2, packed, sizeof packed);
    /* a link beside the model to a file beside the model is fine */
    char wlink[600];
    snprintf(wlink, sizeof wlink, "%s/alias.bin", dir);
    assert_int_equal(symlink("weights.bin", wlink), 0);
    static const lrp_real x[4] = {0.5f, -1, 2, 1};
    lrp_real want[3];
    for (int j = 0; j < 3; j++) {
        double s = 0;
        for (int i = 0; i < 4; i++)
            s += x[i] * W_VALS[i * 3 + j];
        want[j] = s > 0 ? (lrp_real)s : 0;
    }
    struct {
        const char *loc, *off, *len;
    } good[] = {{"weights.bin", NULL, NULL},
                {"packed.bin", "8", "48"},
                {"./weights.bin", "0", NULL},
                {"alias.bin", NULL, NULL}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        mb b;
        external_model(&b, good[i].loc, good[i].off, good[i].len);
        mb_write(&b, model);
        lrp_model *m = load_ok(model);
        lrp_tensor *in = ftensor(2, X_DIMS, x), *y = NULL;
        lrp_error err = {0};
        assert_int_equal(lrp_model_run(m, in, &y, &err), LRP_OK);
        for (int j = 0; j < 3; j++)
            assert_float_equal(((lrp_real *)y->data)[j], want[j], 1e-5);
        lrp_tensor_free(y);
        lrp_tensor_free(in);
        lrp_model_free(m);
        arena_free();
    }
    /* missing file, short file, wrong length, bad offset, no location */
    struct {
        const char *loc, *off, *len;
        lrp_status st;
        const char *word;
    } bad[] = {
        {"absent.bin", NULL, NULL, LRP_ERR_IO, "absent.bin"},
        {"packed.bin", "20", NULL, LRP_ERR_FORMAT, "shorter"},
        {"weights.bin", NULL, "40", LRP_ERR_FORMAT, "length 40"},
        {"weights.bin", "-4", NULL, LRP_ERR_FORMAT, "offset"},
        {"weights.bin", "12abc", NULL, LRP_ERR_FORMAT, "12abc"},
        {NULL, "0", NULL, LRP_ERR_FORMAT, "location"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mb b;
        external_model(&b, bad[i].loc, bad[i].off, bad[i].len);
        mb_write(&b, model);
        expect_load_fail(model, bad[i].st, WORDS("'W'", bad[i].word));
        arena_free();
    }
    unlink(model);
    unlink(wfile);
    unlink(wfile2);
    unlink(wlink);
    rmdir(dir);
}

static void test_two_inputs(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "A", 2, X_DIMS);
    mb_input(&b, "B", 2, X_DIMS);
    mb_output(&b, "Y", 2, X_DIMS);
    mb_node(&b, "Add", "sum", "A,B", "Y");
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_UNSUPPORTED, WORDS("2 inputs"));
    temp_cleanup();
    arena_free();
    /* an initializer also listed as a graph input (IR < 4 style) is not a
     * second input */
    base_model(&b);
    mb_input(&b, "W", 2, W_DIMS);
    p = mb_write(&b, NULL);
    lrp_model *m = load_ok(p);
    assert_string_equal(lrp_model_get_info(m)->input_name, "X");
    lrp_model_free(m);
    temp_cleanup();
    arena_free();
    /* no input at all */
    base_model(&b);
    b.graph.n_input = 0;
    mb_init_tensor(&b, tensor("X", 1, 2, X_DIMS, W_VALS, 4, true));
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_UNSUPPORTED, WORDS("0 inputs"));
    temp_cleanup();
    arena_free();
}

static void test_output_not_produced(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    b.outputs[0]->name = S("Ghost");
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("'Ghost'", "not produced"));
    temp_cleanup();
    arena_free();
    /* no output at all */
    base_model(&b);
    b.graph.n_output = 0;
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("no outputs"));
    temp_cleanup();
    arena_free();
    /* a node with more outputs than its operator produces (a bit flip in
     * mnist-8 turned a node name into a second output) */
    base_model(&b);
    b.nodes[1]->n_output = split("Y,Extra", &b.nodes[1]->output);
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("act", "Relu", "'Extra'"));
    temp_cleanup();
    arena_free();
    /* a tensor produced twice */
    base_model(&b);
    mb_node(&b, "Relu", "again", "H", "Y");
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("'Y'", "twice", "again"));
    temp_cleanup();
    arena_free();
}

static void test_duplicate_initializer(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    mb_init_tensor(&b, tensor("W", 1, 2, W_DIMS, W_VALS, 12, true));
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("'W'", "twice"));
    temp_cleanup();
    arena_free();
    /* an initializer that a Constant node redefines */
    base_model(&b);
    Onnx__NodeProto *c = mb_node(&b, "Constant", "const_w", "", "W");
    attr_tensor(c, "value", tensor("wv", 1, 2, W_DIMS, W_VALS, 12, true));
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("'W'", "twice"));
    temp_cleanup();
    arena_free();
}

/* X (1,4) -> MatMul -> H (1,3) -> Reshape(shape) -> Y */
static const char *reshape_model(mb *b, int n, const int64_t *shape)
{
    base_model(b);
    b->nodes[1]->op_type = S("Reshape");
    b->nodes[1]->name = S("squash");
    b->nodes[1]->n_input = split("H,S", &b->nodes[1]->input);
    mb_init_tensor(b, tensor_i64("S", n, shape));
    return mb_write(b, NULL);
}

static void test_reshape_absurd(void **state)
{
    (void)state;
    mb b;
    /* 10^15 elements from 3 */
    static const int64_t big[3] = {1000000, 1000000, 1000};
    const char *p = reshape_model(&b, 3, big);
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(p, NULL, &err);
    assert_null(m);
    if (err.status != LRP_ERR_LIMIT && err.status != LRP_ERR_SHAPE)
        fail_msg("status %s: %s", lrp_status_name(err.status), err.message);
    check_message(&err, p);
    check_words(&err, WORDS("squash", "1000000"));
    temp_cleanup();
    arena_free();
    /* a product that wraps around to 3 in 64 bits: (2^64 + 3) / 3 * 3 ...
     * 3 * 6148914691236517206 = 2^64 + 2 (mod 2^64 = 2); use 2^62+1 and 4
     * with a 4-element input instead: (2^62 + 1) * 4 = 2^64 + 4 = 4 */
    static const int64_t wrap[2] = {((int64_t)1 << 62) + 1, 4};
    base_model(&b);
    b.nodes[1]->op_type = S("Reshape");
    b.nodes[1]->name = S("wrap");
    b.nodes[1]->n_input = split("X,S", &b.nodes[1]->input);
    b.graph.n_node = 1;
    b.nodes[0] = b.nodes[1];
    b.graph.n_initializer = 0;
    mb_init_tensor(&b, tensor_i64("S", 2, wrap));
    p = mb_write(&b, NULL);
    m = lrp_model_load(p, NULL, &err);
    if (m) {
        lrp_model_free(m);
        fail_msg("a reshape of 4 elements to (2^62+1, 4) loaded");
    }
    if (err.status != LRP_ERR_LIMIT && err.status != LRP_ERR_SHAPE)
        fail_msg("status %s: %s", lrp_status_name(err.status), err.message);
    check_message(&err, p);
    check_words(&err, WORDS("wrap"));
    temp_cleanup();
    arena_free();
    /* two -1, a -7, and a count that does not divide */
    static const int64_t two_minus[2] = {-1, -1}, neg[2] = {-7, 3}, odd[2] = {2, -1}, many[2] = {7, 1};
    const int64_t *shapes[4] = {two_minus, neg, odd, many};
    const char *words[4] = {"-1", "negative", "(1, 3)", "7"};
    for (int i = 0; i < 4; i++) {
        p = reshape_model(&b, 2, shapes[i]);
        expect_load_fail(p, LRP_ERR_SHAPE, WORDS("squash", words[i]));
        temp_cleanup();
        arena_free();
    }
}

static void test_shapes_do_not_fit(void **state)
{
    (void)state;
    /* W (5,3) against X (1,4): refused at load, naming the node */
    static const int64_t w53[2] = {5, 3};
    static const lrp_real w[15] = {0};
    mb b;
    base_model(&b);
    b.inits[0] = tensor("W", 1, 2, w53, w, 15, true);
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_SHAPE, WORDS("mm"));
    temp_cleanup();
    arena_free();
    /* a node without its required input */
    base_model(&b);
    b.nodes[0]->n_input = 1;
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("mm", "MatMul"));
    temp_cleanup();
    arena_free();
    /* a Conv whose kernel does not match the weights */
    static const int64_t xin[4] = {1, 1, 5, 5}, wk[4] = {2, 1, 3, 3}, yo[4] = {1, 2, 3, 3};
    static const lrp_real k[18] = {0};
    mb_init(&b, 13);
    mb_input(&b, "X", 4, xin);
    mb_output(&b, "Y", 4, yo);
    mb_init_tensor(&b, tensor("K", 1, 4, wk, k, 18, true));
    Onnx__NodeProto *c = mb_node(&b, "Conv", "conv_bad", "X,K", "Y");
    Onnx__AttributeProto *a = attr(c, "kernel_shape", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = 2;
    a->ints = A(2 * sizeof(int64_t));
    a->ints[0] = a->ints[1] = 5;
    p = mb_write(&b, NULL);
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(p, NULL, &err);
    if (m) {
        lrp_model_free(m);
        fail_msg("a Conv with kernel_shape (5,5) and (3,3) weights loaded");
    }
    if (err.status != LRP_ERR_SHAPE && err.status != LRP_ERR_FORMAT)
        fail_msg("status %s: %s", lrp_status_name(err.status), err.message);
    check_message(&err, p);
    check_words(&err, WORDS("conv_bad"));
    temp_cleanup();
    arena_free();
    /* Gemm with a bad transB value type still loads? transB = 7 is not 0/1:
     * ONNX says it is a bool-like int; whatever lrp does, it must not crash */
    base_model(&b);
    b.nodes[0]->op_type = S("Gemm");
    attr_int(b.nodes[0], "transB", 7);
    p = mb_write(&b, NULL);
    m = lrp_model_load(p, NULL, &err);
    if (m) {
        try_run(m);
        lrp_model_free(m);
    } else {
        check_message(&err, p);
    }
    temp_cleanup();
    arena_free();
}

static void test_wrong_input_shape(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    const char *p = mb_write(&b, NULL);
    lrp_model *m = load_ok(p);
    struct {
        int nd;
        int64_t dims[3];
        const char *shown;
    } bad[] = {{2, {1, 5}, "(1, 5)"}, {1, {5}, "(5,)"}, {3, {1, 1, 4}, "(1, 1, 4)"}, {2, {4, 1}, "(4, 1)"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lrp_tensor *x = ftensor(bad[i].nd, bad[i].dims, NULL), *y = NULL;
        lrp_error err = {0};
        assert_int_equal(lrp_model_run(m, x, &y, &err), LRP_ERR_SHAPE);
        assert_null(y);
        check_message(&err, NULL);
        check_words(&err, WORDS(bad[i].shown, "(1, 4)", "X"));
        lrp_tensor_free(x);
    }
    /* an int64 tensor is refused as an argument */
    lrp_error err = {0};
    lrp_tensor *xi = lrp_tensor_new(LRP_INT64, 2, X_DIMS, &err), *y = NULL;
    assert_non_null(xi);
    assert_int_not_equal(lrp_model_run(m, xi, &y, &err), LRP_OK);
    assert_null(y);
    check_message(&err, NULL);
    lrp_tensor_free(xi);
    /* the model still runs after the refusals, and a batch of 3 works */
    static const int64_t b3[2] = {3, 4};
    lrp_real xs[12];
    for (int i = 0; i < 12; i++)
        xs[i] = (lrp_real)(i % 5) - 1.5f;
    lrp_tensor *x3 = ftensor(2, b3, xs);
    assert_int_equal(lrp_model_run(m, x3, &y, &err), LRP_OK);
    assert_int_equal(y->dims[0], 3);
    assert_int_equal(y->dims[1], 3);
    for (int n = 0; n < 3; n++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int i = 0; i < 4; i++)
                s += xs[n * 4 + i] * W_VALS[i * 3 + j];
            assert_float_equal(((lrp_real *)y->data)[n * 3 + j], s > 0 ? s : 0, 1e-5);
        }
    lrp_tensor_free(y);
    lrp_tensor_free(x3);
    lrp_model_free(m);
    temp_cleanup();
    arena_free();
}

static void test_graph_without_nodes(void **state)
{
    (void)state;
    mb b;
    base_model(&b);
    b.graph.n_node = 0;
    b.graph.n_output = 0;
    const char *p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("no graph"));
    temp_cleanup();
    arena_free();
    /* a model message without a graph */
    base_model(&b);
    b.model.graph = NULL;
    p = mb_write(&b, NULL);
    expect_load_fail(p, LRP_ERR_FORMAT, WORDS("no graph"));
    temp_cleanup();
    arena_free();
}

/* Layers with hostile attributes: X (1,2,6,6) -> OP -> Y. Each must be
 * refused with a format, shape, limit or unsupported error (at load or at
 * run time), never crash, divide by zero or run away. */
typedef struct attr_case {
    const char *what, *op, *attr;
    int kind; /* 0 ints, 1 int, 2 string */
    int n;
    int64_t v[6];
    const char *str;
} attr_case;

static void test_hostile_attributes(void **state)
{
    (void)state;
    static const int64_t xd[4] = {1, 2, 6, 6}, wd[4] = {3, 2, 3, 3}, wtd[4] = {2, 3, 3, 3};
    static lrp_real w[54];
    for (int i = 0; i < 54; i++)
        w[i] = (lrp_real)((i * 7) % 11) / 11.0f - 0.4f;
    static const attr_case cases[] = {
        {"Conv strides 0", "Conv", "strides", 0, 2, {0, 0}, NULL},
        {"Conv strides -1", "Conv", "strides", 0, 2, {-1, 1}, NULL},
        {"Conv dilations 0", "Conv", "dilations", 0, 2, {0, 1}, NULL},
        {"Conv dilations huge", "Conv", "dilations", 0, 2, {(int64_t)1 << 40, 1}, NULL},
        {"Conv negative pads", "Conv", "pads", 0, 4, {-2, 0, 0, 0}, NULL},
        {"Conv pads that eat the input", "Conv", "pads", 0, 4, {-5, -5, -5, -5}, NULL},
        {"Conv huge pads", "Conv", "pads", 0, 4, {(int64_t)1 << 40, 0, 0, 0}, NULL},
        {"Conv pads of rank 3", "Conv", "pads", 0, 6, {1, 1, 1, 1, 1, 1}, NULL},
        {"Conv group 0", "Conv", "group", 1, 1, {0}, NULL},
        {"Conv group -2", "Conv", "group", 1, 1, {-2}, NULL},
        {"Conv group 4 of 2 channels", "Conv", "group", 1, 1, {4}, NULL},
        {"Conv kernel_shape against the weights", "Conv", "kernel_shape", 0, 2, {5, 5}, NULL},
        {"Conv kernel_shape of rank 3", "Conv", "kernel_shape", 0, 3, {3, 3, 3}, NULL},
        {"Conv auto_pad BOGUS", "Conv", "auto_pad", 2, 0, {0}, "BOGUS"},
        {"ConvTranspose strides 0", "ConvTranspose", "strides", 0, 2, {0, 0}, NULL},
        {"ConvTranspose output_padding huge", "ConvTranspose", "output_padding", 0, 2, {(int64_t)1 << 40, 0}, NULL},
        {"ConvTranspose output_shape huge", "ConvTranspose", "output_shape", 0, 2, {(int64_t)1 << 40, 6}, NULL},
        {"MaxPool kernel 0", "MaxPool", "kernel_shape", 0, 2, {0, 0}, NULL},
        {"MaxPool kernel -3", "MaxPool", "kernel_shape", 0, 2, {-3, 2}, NULL},
        {"MaxPool kernel 7 on 6", "MaxPool", "kernel_shape", 0, 2, {7, 7}, NULL},
        {"MaxPool kernel huge", "MaxPool", "kernel_shape", 0, 2, {(int64_t)1 << 40, 2}, NULL},
        {"AveragePool kernel 0", "AveragePool", "kernel_shape", 0, 2, {0, 0}, NULL},
        {"AveragePool kernel of rank 1", "AveragePool", "kernel_shape", 0, 1, {2}, NULL},
        {"Flatten axis 9", "Flatten", "axis", 1, 1, {9}, NULL},
        {"Flatten axis -9", "Flatten", "axis", 1, 1, {-9}, NULL},
        {"Softmax axis 5", "Softmax", "axis", 1, 1, {5}, NULL}, /* opset < 13 allows axis = rank */
        {"LogSoftmax axis -5", "LogSoftmax", "axis", 1, 1, {-5}, NULL},
        {"Transpose perm repeated", "Transpose", "perm", 0, 4, {0, 1, 1, 2}, NULL},
        {"Transpose perm out of range", "Transpose", "perm", 0, 4, {0, 1, 2, 9}, NULL},
        {"Transpose perm negative", "Transpose", "perm", 0, 4, {0, 1, 2, -1}, NULL},
        {"Transpose perm short", "Transpose", "perm", 0, 2, {1, 0}, NULL},
        {"ReduceMean axes 9", "ReduceMean", "axes", 0, 1, {9}, NULL},
        {"ReduceSum axes repeated", "ReduceMax", "axes", 0, 2, {1, 1}, NULL},
        {"Squeeze a dim of 6", "Squeeze", "axes", 0, 1, {2}, NULL},
        {"Unsqueeze axes 12", "Unsqueeze", "axes", 0, 1, {12}, NULL},
        {"Concat axis 4", "Concat", "axis", 1, 1, {4}, NULL},
        {"Split into 4 along 2", "Split", "axis", 1, 1, {1}, NULL},
        {"Gather axis 7", "Gather", "axis", 1, 1, {7}, NULL},
        {"Cast to string", "Cast", "to", 1, 1, {8}, NULL},
        {"Cast to 999", "Cast", "to", 1, 1, {999}, NULL},
    };
    int refused = 0, ran = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const attr_case *k = &cases[c];
        mb b;
        mb_init(&b, 11); /* Squeeze/Unsqueeze/Reduce axes are attributes before opset 13 */
        mb_input(&b, "X", 4, xd);
        b.outputs[b.graph.n_output++] = value_info("Y", 1, 0, NULL);
        Onnx__NodeProto *n;
        if (!strcmp(k->op, "Conv")) {
            mb_init_tensor(&b, tensor("W", 1, 4, wd, w, 54, true));
            n = mb_node(&b, k->op, "layer", "X,W", "Y");
        } else if (!strcmp(k->op, "ConvTranspose")) {
            mb_init_tensor(&b, tensor("W", 1, 4, wtd, w, 54, true));
            n = mb_node(&b, k->op, "layer", "X,W", "Y");
        } else if (!strcmp(k->op, "Concat")) {
            n = mb_node(&b, k->op, "layer", "X,X", "Y");
        } else if (!strcmp(k->op, "Split")) {
            n = mb_node(&b, k->op, "layer", "X", "Y,Y1,Y2,Y3");
        } else if (!strcmp(k->op, "Gather")) {
            static const int64_t one = 1;
            mb_init_tensor(&b, tensor_i64("I", 1, &one));
            n = mb_node(&b, k->op, "layer", "X,I", "Y");
        } else {
            n = mb_node(&b, k->op, "layer", "X", "Y");
        }
        if (!strcmp(k->op, "MaxPool") || !strcmp(k->op, "AveragePool")) {
            if (strcmp(k->attr, "kernel_shape")) {
                static const int64_t k2[2] = {2, 2};
                attr_ints(n, "kernel_shape", 2, k2);
            }
        }
        if (k->kind == 0)
            attr_ints(n, k->attr, k->n, k->v);
        else if (k->kind == 1)
            attr_int(n, k->attr, k->v[0]);
        else
            attr_string(n, k->attr, k->str);
        const char *p = mb_write(&b, NULL);
        lrp_error err = {0};
        lrp_model *m = lrp_model_load(p, NULL, &err);
        lrp_status st = err.status;
        if (m) {
            /* loaded: running must fail cleanly, or give finite numbers */
            lrp_tensor *x = ftensor(4, xd, NULL), *y = NULL;
            for (int i = 0; i < 72; i++)
                ((lrp_real *)x->data)[i] = (lrp_real)(i % 9) - 4.0f;
            st = lrp_model_run(m, x, &y, &err);
            if (st == LRP_OK) {
                ran++;
                print_message("note: %s: accepted, output %lld values\n", k->what, (long long)y->numel);
            } else {
                assert_null(y);
                check_message(&err, NULL);
            }
            lrp_tensor_free(y);
            lrp_tensor_free(x);
            lrp_model_free(m);
        } else {
            check_message(&err, p);
        }
        if (st != LRP_OK) {
            refused++;
            if (st != LRP_ERR_FORMAT && st != LRP_ERR_SHAPE && st != LRP_ERR_LIMIT && st != LRP_ERR_UNSUPPORTED)
                fail_msg("%s: status %s: %s", k->what, lrp_status_name(st), err.message);
            if (!strstr(err.message, "layer"))
                fail_msg("%s: the message should name the node: %s", k->what, err.message);
        }
        temp_cleanup();
        arena_free();
    }
    print_message("hostile attributes: %d refused, %d accepted\n", refused, ran);
    assert_int_equal(ran, 0);
}

/* ---------------------------------------------------------------- npy */

/* Bytes before the data of a version 1.0 .npy with this header dict. */
static size_t npy_data_offset(const char *dict)
{
    size_t total = 10 + strlen(dict) + 1;
    return total + (64 - total % 64) % 64;
}

/* A version 1.0 .npy with this header dict and payload, cut after cut bytes
 * (-1: whole). */
static const char *npy_file(const char *dict, const void *data, size_t len, long cut)
{
    uint8_t buf[1024];
    size_t hl = strlen(dict);
    size_t total = 10 + hl + 1;
    size_t pad = (64 - total % 64) % 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    size_t hlen = hl + pad + 1;
    buf[8] = (uint8_t)(hlen & 0xff);
    buf[9] = (uint8_t)(hlen >> 8);
    memcpy(buf + 10, dict, hl);
    memset(buf + 10 + hl, ' ', pad);
    buf[10 + hl + pad] = '\n';
    size_t n = 10 + hlen;
    assert_true(n + len <= sizeof buf);
    memcpy(buf + n, data, len);
    n += len;
    if (cut >= 0 && (size_t)cut < n)
        n = (size_t)cut;
    return temp_bytes(buf, n, ".npy");
}

static void expect_npy_fail(const char *path, lrp_status want, const char *const *words)
{
    lrp_tensor *t = NULL;
    lrp_error err = {0};
    lrp_status st = lrp_npy_read(path, &t, &err);
    if (st == LRP_OK) {
        lrp_tensor_free(t);
        fail_msg("%s: read, wanted %s", path, lrp_status_name(want));
    }
    assert_null(t);
    if (st != want || err.status != want)
        fail_msg("%s: status %s, wanted %s: %s", path, lrp_status_name(st), lrp_status_name(want), err.message);
    check_message(&err, path);
    check_words(&err, words);
}

static void test_bad_npy(void **state)
{
    (void)state;
    static const lrp_real v[6] = {1, 2, 3, 4, 5, 6};
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    /* the good file first, so that the failures below are the mutations' */
    const char *p = npy_file(ok, v, sizeof v, -1);
    lrp_tensor *t = NULL;
    lrp_error err = {0};
    assert_int_equal(lrp_npy_read(p, &t, &err), LRP_OK);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->dims[0], 2);
    assert_int_equal(t->dims[1], 3);
    assert_memory_equal(t->data, v, sizeof v);
    lrp_tensor_free(t);

    expect_npy_fail("/nonexistent-dir/x.npy", LRP_ERR_IO, WORDS("No such file"));
    /* truncated in the magic, in the header length, in the header */
    expect_npy_fail(npy_file(ok, v, sizeof v, 4), LRP_ERR_FORMAT, NULL);
    expect_npy_fail(npy_file(ok, v, sizeof v, 9), LRP_ERR_FORMAT, NULL);
    expect_npy_fail(npy_file(ok, v, sizeof v, 40), LRP_ERR_FORMAT, WORDS("truncated"));
    /* truncated data: 5 of 6 floats, and half a float */
    long d0 = (long)npy_data_offset(ok);
    assert_int_equal(d0 % 64, 0);
    expect_npy_fail(npy_file(ok, v, sizeof v, d0 + 20), LRP_ERR_FORMAT, WORDS("shorter", "(2, 3)"));
    expect_npy_fail(npy_file(ok, v, sizeof v, d0 + 22), LRP_ERR_FORMAT, WORDS("shorter"));
    expect_npy_fail(npy_file(ok, v, 0, -1), LRP_ERR_FORMAT, WORDS("shorter"));
    /* data beyond the shape */
    lrp_real more[7] = {1, 2, 3, 4, 5, 6, 7};
    expect_npy_fail(npy_file(ok, more, sizeof more, -1), LRP_ERR_FORMAT, WORDS("beyond"));
    expect_npy_fail(npy_file(ok, more, sizeof v + 1, -1), LRP_ERR_FORMAT, WORDS("beyond"));
    /* dtypes */
    expect_npy_fail(npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof v, -1),
                    LRP_ERR_UNSUPPORTED, WORDS("<i4"));
    expect_npy_fail(npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }", v, 6, -1),
                    LRP_ERR_UNSUPPORTED, WORDS("|u1"));
    expect_npy_fail(npy_file("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", v, 6, -1),
                    LRP_ERR_UNSUPPORTED, WORDS("<f2"));
    /* Fortran order */
    expect_npy_fail(npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", v, sizeof v, -1),
                    LRP_ERR_UNSUPPORTED, WORDS("Fortran"));
    /* bad magic, bad version, missing keys, malformed and absurd shapes */
    uint8_t junk[80];
    memset(junk, 'x', sizeof junk);
    expect_npy_fail(temp_bytes(junk, sizeof junk, ".npy"), LRP_ERR_FORMAT, WORDS("magic"));
    expect_npy_fail(temp_bytes("", 0, ".npy"), LRP_ERR_FORMAT, NULL);
    p = npy_file(ok, v, sizeof v, -1);
    {
        size_t len;
        unsigned char *bytes = tu_read_file(p, &len);
        assert_non_null(bytes);
        bytes[6] = 9; /* version 9.0 */
        expect_npy_fail(temp_bytes(bytes, len, ".npy"), LRP_ERR_UNSUPPORTED, WORDS("version"));
        bytes[6] = 1;
        bytes[8] = 0xff; /* header length beyond the file */
        bytes[9] = 0x7f;
        expect_npy_fail(temp_bytes(bytes, len, ".npy"), LRP_ERR_FORMAT, WORDS("truncated"));
        free(bytes);
    }
    expect_npy_fail(npy_file("{'descr': '<f4', 'shape': (2, 3), }", v, sizeof v, -1), LRP_ERR_FORMAT,
                    WORDS("fortran_order"));
    expect_npy_fail(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", v, sizeof v, -1),
                    LRP_ERR_FORMAT, WORDS("shape"));
    expect_npy_fail(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", v, sizeof v, -1),
                    LRP_ERR_FORMAT, WORDS("shape"));
    expect_npy_fail(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", v, sizeof v,
                             -1),
                    LRP_ERR_LIMIT, NULL);
    expect_npy_fail(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", v,
                             sizeof v, -1),
                    LRP_ERR_LIMIT, NULL);
    expect_npy_fail(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,), }", v, sizeof v,
                             -1),
                    LRP_ERR_LIMIT, NULL);
    temp_cleanup();
}

/* The header dict is parsed as the Python literal numpy writes, strictly. */
static void test_npy_header_strict(void **state)
{
    (void)state;
    static const lrp_real v[6] = {1, 2, 3, 4, 5, 6};
    /* accepted: any key order, double quotes, no trailing comma, (n,), () */
    static const char *const good[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3,)}",
        "{'descr':'<f4','fortran_order':False,'shape':(6,)}",
        "{ 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 6 , ) , }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", /* Python 2, version 1.0 */
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        lrp_tensor *t = NULL;
        lrp_error err = {0};
        if (lrp_npy_read(npy_file(good[i], v, sizeof v, -1), &t, &err) != LRP_OK)
            fail_msg("%s: %s", good[i], err.message);
        assert_int_equal(t->numel, 6);
        lrp_tensor_free(t);
    }
    {
        lrp_tensor *t = NULL;
        lrp_error err = {0};
        assert_int_equal(lrp_npy_read(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", v, 4, -1),
                                      &t, &err),
                         LRP_OK);
        assert_int_equal(t->ndim, 0);
        assert_int_equal(t->numel, 1);
        lrp_tensor_free(t);
    }
    /* rejected, each with a format error naming the file */
    static const char *const bad[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }",      /* missing comma */
        "{'descr': '<f4', 'fortran_order': Falsehood, 'shape': (2, 3), }", /* not False */
        "{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }",                   /* an int, not a tuple */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'shape': (6,), }", /* duplicate */
        "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }", /* unknown key */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3),, }",
        "{'descr': <f4, 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }",
        "{descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ",
        "'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lrp_tensor *t = NULL;
        lrp_error err = {0};
        const char *p = npy_file(bad[i], v, sizeof v, -1);
        lrp_status st = lrp_npy_read(p, &t, &err);
        if (st != LRP_ERR_FORMAT) {
            lrp_tensor_free(t);
            fail_msg("accepted or wrong status (%s): %s", lrp_status_name(st), bad[i]);
        }
        check_message(&err, p);
        temp_cleanup();
    }
    temp_cleanup();
}

/* A header declaring 8 GiB in a small file is refused from the file size,
 * before anything is allocated: under a 2 GiB address-space limit this is a
 * format error, not "out of memory". */
static void test_npy_huge_declared(void **state)
{
    (void)state;
    static const lrp_real v[6] = {1, 2, 3, 4, 5, 6};
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max > ((rlim_t)2 << 30))
        lim.rlim_cur = (rlim_t)2 << 30;
    const char *p =
        npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 32768, 32768), }", v, sizeof v, -1);
    assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
    lrp_tensor *t = NULL;
    lrp_error err = {0};
    lrp_status st = lrp_npy_read(p, &t, &err);
    assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
    lrp_tensor_free(t);
    if (st != LRP_ERR_FORMAT)
        fail_msg("status %s, wanted a format error: %s", lrp_status_name(st), err.message);
    check_message(&err, p);
    check_words(&err, WORDS("shorter", "(1, 2, 32768, 32768)"));
    /* float64: the declared size is 8 bytes a value */
    p = npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", v, 12, -1);
    expect_npy_fail(p, LRP_ERR_FORMAT, WORDS("shorter", "(3,)"));
    temp_cleanup();
}

int main(void)
{
    /* a hang is a failure too */
    alarm(600);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_file),         cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_random_bytes),         cmocka_unit_test(test_truncated_model),
        cmocka_unit_test(test_flipped_bytes),        cmocka_unit_test(test_base_model_loads),
        cmocka_unit_test(test_missing_tensor),       cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_negative_dimension),   cmocka_unit_test(test_huge_initializer),
        cmocka_unit_test(test_raw_data_short),       cmocka_unit_test(test_float_data_mismatch),
        cmocka_unit_test(test_unsupported_dtype),    cmocka_unit_test(test_unsupported_op),
        cmocka_unit_test(test_foreign_domain),       cmocka_unit_test(test_external_data_outside),
        cmocka_unit_test(test_external_data_beside), cmocka_unit_test(test_two_inputs),
        cmocka_unit_test(test_output_not_produced),  cmocka_unit_test(test_duplicate_initializer),
        cmocka_unit_test(test_reshape_absurd),       cmocka_unit_test(test_shapes_do_not_fit),
        cmocka_unit_test(test_wrong_input_shape),    cmocka_unit_test(test_graph_without_nodes),
        cmocka_unit_test(test_hostile_attributes),   cmocka_unit_test(test_bad_npy),
        cmocka_unit_test(test_npy_header_strict),    cmocka_unit_test(test_npy_huge_declared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
