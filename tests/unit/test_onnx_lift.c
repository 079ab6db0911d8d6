/* The lifted load (src/onnx/onnx_lift.h: the weights read from the file into their tensors, protobuf-c given the
 * rest) against unpacking the whole file (LRP_LOAD_WHOLE=1), which it must equal in everything: the graph, every
 * constant bit for bit, and for a broken file the status and the message. Checked on the shipped models, on a small
 * model cut at every byte and with every byte flipped, and on the layouts the walker leaves to protobuf-c (raw_data
 * twice in one tensor, the graph field twice). */
#include "testutil.h"

#include "base/tensor.h"
#include "graph/graph.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_load.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    lrp_status st;
    char msg[sizeof((lrp_error){0}.message)];
    lrp_graph *g;
} loaded;

static void load(const char *path, bool whole, loaded *r)
{
    if (whole)
        setenv("LRP_LOAD_WHOLE", "1", 1);
    else
        unsetenv("LRP_LOAD_WHOLE");
    lrp_error err = {0};
    r->g = NULL;
    r->st = lrp_onnx_load(path, &r->g, &err);
    snprintf(r->msg, sizeof r->msg, "%s", r->st == LRP_OK ? "" : err.message);
    unsetenv("LRP_LOAD_WHOLE");
}

static void assert_same_tensor(const lrp_tensor *a, const lrp_tensor *b, const char *what)
{
    if (!a || !b) {
        if (a != b)
            fail_msg("%s: a constant on one side only", what);
        return;
    }
    if (a->dtype != b->dtype || a->ndim != b->ndim || a->numel != b->numel)
        fail_msg("%s: constants of different types or shapes", what);
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            fail_msg("%s: dimension %d differs", what, i);
    if (memcmp(a->data, b->data, (size_t)a->numel * lrp_dtype_size(a->dtype)) != 0)
        fail_msg("%s: the constants' bytes differ", what);
}

static void assert_same(const char *path, const loaded *a, const loaded *b)
{
    if (a->st != b->st || strcmp(a->msg, b->msg) != 0)
        fail_msg("%s: lifted load gives %d '%s', whole file %d '%s'", path, a->st, a->msg, b->st, b->msg);
    if (a->st != LRP_OK)
        return;
    const lrp_graph *x = a->g, *y = b->g;
    if (x->n_values != y->n_values || x->n_nodes != y->n_nodes || x->n_inputs != y->n_inputs ||
        x->n_outputs != y->n_outputs || x->opset != y->opset)
        fail_msg("%s: the graphs differ in size", path);
    for (int v = 0; v < x->n_values; v++) {
        if (strcmp(x->values[v].name, y->values[v].name) != 0)
            fail_msg("%s: value %d is '%s' against '%s'", path, v, x->values[v].name, y->values[v].name);
        char what[600];
        snprintf(what, sizeof what, "%s: value '%s'", path, x->values[v].name);
        assert_same_tensor(x->values[v].constant, y->values[v].constant, what);
    }
    for (int i = 0; i < x->n_nodes; i++) {
        const lrp_node *n = &x->nodes[i], *m = &y->nodes[i];
        if (strcmp(n->op_type, m->op_type) != 0 || n->n_inputs != m->n_inputs || n->n_attrs != m->n_attrs)
            fail_msg("%s: node %d differs", path, i);
        for (int k = 0; k < n->n_inputs; k++)
            assert_int_equal(n->inputs[k], m->inputs[k]);
    }
}

static void compare_file(const char *path)
{
    loaded a, b;
    load(path, false, &a);
    load(path, true, &b);
    assert_same(path, &a, &b);
    lrp_graph_free(a.g);
    lrp_graph_free(b.g);
}

static void compare_bytes(const uint8_t *buf, size_t len)
{
    const char *p = tu_temp_file(buf, len, ".onnx");
    assert_non_null(p);
    char path[512];
    snprintf(path, sizeof path, "%s", p);
    compare_file(path);
    unlink(path);
}

static void test_shipped_models(void **state)
{
    (void)state;
    const char *patterns[] = {"testdata/models/*/*.onnx", "testdata/refset/models/*.onnx", "testdata/*/*.onnx",
                              "testdata/refset-modern/models/*.onnx"};
    int n = 0;
    for (size_t k = 0; k < sizeof patterns / sizeof *patterns; k++) {
        glob_t gl;
        if (glob(patterns[k], 0, NULL, &gl) != 0)
            continue;
        for (size_t i = 0; i < gl.gl_pathc; i++, n++)
            compare_file(gl.gl_pathv[i]);
        globfree(&gl);
    }
    if (n < 5)
        fail_msg("expected the shipped models under testdata/, found %d", n);
    int ns = 0;
    const char *sh = tu_shared_dir();
    const char *shared[] = {"refset/models/*.onnx", "refset-modern/models/*.onnx", "refdata/models/*/*.onnx",
                            "refset-layers/models/*.onnx"};
    for (size_t k = 0; sh && k < sizeof shared / sizeof *shared; k++) {
        char pat[600];
        snprintf(pat, sizeof pat, "%s/%s", sh, shared[k]);
        glob_t gl;
        if (glob(pat, 0, NULL, &gl) != 0)
            continue;
        for (size_t i = 0; i < gl.gl_pathc; i++, ns++)
            compare_file(gl.gl_pathv[i]);
        globfree(&gl);
    }
    printf("lifted load equals the whole-file load on %d models of testdata/ and %d of ../shared%s\n", n, ns,
           sh ? "" : " (absent)");
}

/* ------------------------------------------------- a small model, by bytes */

typedef struct {
    uint8_t *p;
    size_t n;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    b->p = realloc(b->p, b->n + n + 1);
    assert_non_null(b->p);
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_varint(bytes *b, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        put(b, &c, 1);
        v >>= 7;
    } while (v);
}

static void put_len(bytes *b, uint32_t field, const bytes *body)
{
    put_varint(b, ((uint64_t)field << 3) | 2);
    put_varint(b, body->n);
    put(b, body->p, body->n);
}

static void packed(bytes *b, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *tmp = malloc(n + 1);
    assert_non_null(tmp);
    assert_int_equal(protobuf_c_message_pack(m, tmp), n);
    put(b, tmp, n);
    free(tmp);
}

static Onnx__ValueInfoProto *value_info(const char *name, Onnx__ValueInfoProto *vi, Onnx__TypeProto *tp,
                                        Onnx__TypeProto__Tensor *tt, Onnx__TensorShapeProto *sh,
                                        Onnx__TensorShapeProto__Dimension *d, Onnx__TensorShapeProto__Dimension **dp)
{
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i < 2; i++) {
        onnx__tensor_shape_proto__dimension__init(&d[i]);
        d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d[i].dim_value = i == 0 ? 1 : 4;
        dp[i] = &d[i];
    }
    sh->n_dim = 2;
    sh->dim = dp;
    tt->has_elem_type = 1;
    tt->elem_type = 1;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = (char *)name;
    vi->type = tp;
    return vi;
}

/* Y = X + B, X and Y (1,4), B four floats as raw_data; raw_twice: B's tensor holds raw_data twice (first four
 * other floats: the last wins); graph_twice: the model holds its graph field twice (protobuf merges them). */
static bytes small_model(bool raw_twice, bool graph_twice)
{
    static const float bvals[4] = {0.5f, -1.25f, 3.0f, 1e-3f}, other[4] = {9, 9, 9, 9};
    static int64_t bdims[1] = {4};
    Onnx__TensorProto t;
    onnx__tensor_proto__init(&t);
    t.name = "B";
    t.has_data_type = 1;
    t.data_type = 1;
    t.n_dims = 1;
    t.dims = bdims;
    t.has_raw_data = 1;
    t.raw_data.len = sizeof bvals;
    t.raw_data.data = (uint8_t *)(raw_twice ? other : bvals);
    bytes tb = {0};
    packed(&tb, &t.base);
    if (raw_twice) {
        bytes raw = {0};
        put(&raw, bvals, sizeof bvals);
        put_len(&tb, 9, &raw);
        free(raw.p);
    }

    Onnx__NodeProto node;
    onnx__node_proto__init(&node);
    char *ins[2] = {"X", "B"}, *outs[1] = {"Y"};
    node.n_input = 2;
    node.input = ins;
    node.n_output = 1;
    node.output = outs;
    node.op_type = "Add";
    node.name = "add";
    Onnx__NodeProto *nodes[1] = {&node};
    Onnx__ValueInfoProto vi[2], *pin[1], *pout[1];
    Onnx__TypeProto tp[2];
    Onnx__TypeProto__Tensor tt[2];
    Onnx__TensorShapeProto sh[2];
    Onnx__TensorShapeProto__Dimension d[2][2], *dp[2][2];
    pin[0] = value_info("X", &vi[0], &tp[0], &tt[0], &sh[0], d[0], dp[0]);
    pout[0] = value_info("Y", &vi[1], &tp[1], &tt[1], &sh[1], d[1], dp[1]);
    Onnx__GraphProto g;
    onnx__graph_proto__init(&g);
    g.name = "g";
    g.n_node = 1;
    g.node = nodes;
    g.n_input = 1;
    g.input = pin;
    g.n_output = 1;
    g.output = pout;
    bytes gb = {0};
    packed(&gb, &g.base);
    put_len(&gb, 5, &tb); /* the initializer, after the rest: field order is free */

    Onnx__OperatorSetIdProto os;
    onnx__operator_set_id_proto__init(&os);
    os.domain = "";
    os.has_version = 1;
    os.version = 13;
    Onnx__OperatorSetIdProto *osp[1] = {&os};
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 7;
    m.n_opset_import = 1;
    m.opset_import = osp;
    m.producer_name = "lrp-test";
    bytes mb = {0};
    packed(&mb, &m.base);
    if (graph_twice) { /* the second one adds a doc string */
        bytes extra = {0};
        put_varint(&extra, (10 << 3) | 2);
        put_varint(&extra, 3);
        put(&extra, "doc", 3);
        put_len(&mb, 7, &gb);
        put_len(&mb, 7, &extra);
        free(extra.p);
    } else {
        put_len(&mb, 7, &gb);
    }
    free(tb.p);
    free(gb.p);
    return mb;
}

static void test_layouts_left_to_protobuf(void **state)
{
    (void)state;
    for (int k = 0; k < 4; k++) {
        bytes b = small_model(k & 1, k & 2);
        compare_bytes(b.p, b.n);
        free(b.p);
    }
    /* and the plain one loads, with B's four floats */
    bytes b = small_model(false, false);
    const char *p = tu_temp_file(b.p, b.n, ".onnx");
    assert_non_null(p);
    char path[512];
    snprintf(path, sizeof path, "%s", p);
    loaded r;
    load(path, false, &r);
    assert_int_equal(r.st, LRP_OK);
    int v = lrp_graph_find_value(r.g, "B");
    assert_true(v >= 0 && r.g->values[v].constant && r.g->values[v].constant->numel == 4);
    assert_true(lrp_reals(r.g->values[v].constant)[1] == -1.25f);
    lrp_graph_free(r.g);
    unlink(path);
    free(b.p);
}

static void test_every_cut_and_flip(void **state)
{
    (void)state;
    bytes b = small_model(false, false);
    uint8_t *tmp = malloc(b.n + 1);
    assert_non_null(tmp);
    for (size_t cut = 0; cut < b.n; cut++)
        compare_bytes(b.p, cut);
    for (size_t i = 0; i < b.n; i++)
        for (int f = 0; f < 3; f++) {
            static const uint8_t masks[3] = {0xff, 0x80, 0x01};
            memcpy(tmp, b.p, b.n);
            tmp[i] ^= masks[f];
            compare_bytes(tmp, b.n);
        }
    printf("%zu cuts and %zu flips of a %zu-byte model: the same graph or the same error\n", b.n, 3 * b.n, b.n);
    free(tmp);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_models),
        cmocka_unit_test(test_layouts_left_to_protobuf),
        cmocka_unit_test(test_every_cut_and_flip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
