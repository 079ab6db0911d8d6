/* Writes a few tiny ONNX models into the directory given (the ONNX harness's
 * seeds besides testdata's models, which are large for a fuzzer): a small CNN
 * with BatchNormalization, an MLP with a symbolic batch, a residual block,
 * shape and slicing ops, and padding/resizing/transposed convolution. */
#include "onnx.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 16

typedef struct model {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto op;
    Onnx__OperatorSetIdProto *ops[1];
    Onnx__NodeProto *nodes[MAXN];
    Onnx__TensorProto *inits[MAXN];
    Onnx__ValueInfoProto *in[1], *out[1];
} model;

static void *mem(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        exit(1);
    return p; /* a one-shot program: never freed */
}

static char *str(const char *s) { return strcpy(mem(strlen(s) + 1), s); }

static Onnx__ValueInfoProto *vinfo(const char *name, int nd, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = mem(sizeof *v);
    Onnx__TypeProto *t = mem(sizeof *t);
    Onnx__TypeProto__Tensor *tt = mem(sizeof *tt);
    Onnx__TensorShapeProto *sh = mem(sizeof *sh);
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)nd;
    sh->dim = mem(sizeof *sh->dim * (size_t)nd);
    for (int i = 0; i < nd; i++) {
        Onnx__TensorShapeProto__Dimension *d = mem(sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = str("N");
        }
        sh->dim[i] = d;
    }
    tt->has_elem_type = 1;
    tt->elem_type = 1;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = str(name);
    v->type = t;
    return v;
}

static void begin(model *b, int nd, const int64_t *dims)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->m);
    onnx__graph_proto__init(&b->g);
    onnx__operator_set_id_proto__init(&b->op);
    b->op.domain = str("");
    b->op.has_version = 1;
    b->op.version = 13;
    b->ops[0] = &b->op;
    b->m.n_opset_import = 1;
    b->m.opset_import = b->ops;
    b->m.has_ir_version = 1;
    b->m.ir_version = 7;
    b->m.producer_name = str("lrp-fuzz-seeds");
    b->m.graph = &b->g;
    b->g.name = str("seed");
    b->g.node = b->nodes;
    b->g.initializer = b->inits;
    b->g.input = b->in;
    b->g.output = b->out;
    b->in[0] = vinfo("x", nd, dims);
    b->g.n_input = 1;
}

/* A float initializer with small deterministic values (nd dims, -1 ends). */
static void init_f(model *b, const char *name, int nd, const int64_t *dims)
{
    Onnx__TensorProto *t = mem(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = str(name);
    t->has_data_type = 1;
    t->data_type = 1;
    t->n_dims = (size_t)nd;
    t->dims = mem(sizeof(int64_t) * (size_t)nd);
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)(t->dims[i] = dims[i]);
    t->n_float_data = n;
    t->float_data = mem(sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        t->float_data[i] = (float)((int)((i * 7 + strlen(name)) % 11) - 5) / 8.0f + (name[0] == 'v' ? 2.0f : 0.0f);
    b->inits[b->g.n_initializer++] = t;
}

static void init_i(model *b, const char *name, int n, const int64_t *v)
{
    Onnx__TensorProto *t = mem(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = str(name);
    t->has_data_type = 1;
    t->data_type = 7;
    t->n_dims = 1;
    t->dims = mem(sizeof(int64_t));
    t->dims[0] = n;
    t->n_int64_data = (size_t)n;
    t->int64_data = mem(sizeof(int64_t) * (size_t)n);
    memcpy(t->int64_data, v, sizeof(int64_t) * (size_t)n);
    b->inits[b->g.n_initializer++] = t;
}

/* A node: ins and outs are space-separated names ("-" for an empty one). */
static Onnx__NodeProto *node(model *b, const char *op, const char *ins, const char *outs)
{
    Onnx__NodeProto *n = mem(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = str(op);
    char name[64];
    snprintf(name, sizeof name, "%s_%zu", op, b->g.n_node);
    n->name = str(name);
    for (int pass = 0; pass < 2; pass++) {
        char *list = str(pass ? outs : ins);
        char **v = mem(sizeof(char *) * 8);
        size_t k = 0;
        for (char *s = strtok(list, " "); s && k < 8; s = strtok(NULL, " "))
            v[k++] = strcmp(s, "-") ? s : str("");
        if (pass) {
            n->n_output = k;
            n->output = v;
        } else {
            n->n_input = k;
            n->input = v;
        }
    }
    b->nodes[b->g.n_node++] = n;
    return n;
}

static void attr_i(Onnx__NodeProto *n, const char *name, int cnt, const int64_t *v)
{
    Onnx__AttributeProto *a = mem(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = str(name);
    a->has_type = 1;
    if (cnt < 0) {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = v[0];
    } else {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        a->n_ints = (size_t)cnt;
        a->ints = mem(sizeof(int64_t) * (size_t)cnt);
        memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
    }
    n->attribute = realloc(n->attribute, sizeof *n->attribute * (n->n_attribute + 1));
    if (!n->attribute)
        exit(1);
    n->attribute[n->n_attribute++] = a;
}

static void attr_s(Onnx__NodeProto *n, const char *name, const char *s)
{
    Onnx__AttributeProto *a = mem(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = str(name);
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = 1;
    a->s.len = strlen(s);
    a->s.data = (uint8_t *)str(s);
    n->attribute = realloc(n->attribute, sizeof *n->attribute * (n->n_attribute + 1));
    if (!n->attribute)
        exit(1);
    n->attribute[n->n_attribute++] = a;
}

static int finish(model *b, const char *dir, const char *file, const char *out, int nd, const int64_t *dims)
{
    b->out[0] = vinfo(out, nd, dims);
    b->g.n_output = 1;
    size_t len = onnx__model_proto__get_packed_size(&b->m);
    uint8_t *buf = mem(len);
    onnx__model_proto__pack(&b->m, buf);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

#define D(...)                                                                                                        \
    (const int64_t[]) { __VA_ARGS__ }

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: onnx_seeds DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int rc = 0;
    model b;

    begin(&b, 4, D(1, 1, 6, 6));
    init_f(&b, "w1", 4, D(2, 1, 3, 3));
    init_f(&b, "b1", 1, D(2));
    init_f(&b, "scale", 1, D(2));
    init_f(&b, "shift", 1, D(2));
    init_f(&b, "mean", 1, D(2));
    init_f(&b, "var", 1, D(2));
    init_f(&b, "w2", 2, D(4, 18));
    init_f(&b, "b2", 1, D(4));
    attr_i(node(&b, "Conv", "x w1 b1", "c"), "pads", 4, D(1, 1, 1, 1));
    node(&b, "BatchNormalization", "c scale shift mean var", "bn");
    node(&b, "Relu", "bn", "r");
    Onnx__NodeProto *p = node(&b, "MaxPool", "r", "p");
    attr_i(p, "kernel_shape", 2, D(2, 2));
    attr_i(p, "strides", 2, D(2, 2));
    node(&b, "Flatten", "p", "f");
    attr_i(node(&b, "Gemm", "f w2 b2", "y0"), "transB", -1, D(1));
    node(&b, "Softmax", "y0", "y");
    rc |= finish(&b, dir, "cnn.onnx", "y", 2, D(1, 4));

    begin(&b, 2, D(-1, 8));
    init_f(&b, "w1", 2, D(8, 5));
    init_f(&b, "b1", 1, D(5));
    init_f(&b, "w2", 2, D(5, 3));
    init_f(&b, "b2", 1, D(3));
    node(&b, "MatMul", "x w1", "m1");
    node(&b, "Add", "m1 b1", "a1");
    node(&b, "Sigmoid", "a1", "s1");
    node(&b, "MatMul", "s1 w2", "m2");
    node(&b, "Add", "m2 b2", "a2");
    node(&b, "LogSoftmax", "a2", "y");
    rc |= finish(&b, dir, "mlp.onnx", "y", 2, D(-1, 3));

    begin(&b, 4, D(1, 2, 4, 4));
    init_f(&b, "w1", 4, D(2, 2, 1, 1));
    init_f(&b, "w2", 2, D(3, 2));
    init_i(&b, "shape", 2, D(1, -1));
    node(&b, "Conv", "x w1", "c");
    node(&b, "Relu", "c", "r");
    node(&b, "Add", "x r", "s");
    node(&b, "GlobalAveragePool", "s", "g");
    node(&b, "Reshape", "g shape", "f");
    attr_i(node(&b, "Gemm", "f w2", "y"), "transB", -1, D(1));
    rc |= finish(&b, dir, "residual.onnx", "y", 2, D(1, 3));

    begin(&b, 4, D(1, 3, 4, 4));
    init_i(&b, "shape", 2, D(1, 48));
    init_i(&b, "starts", 1, D(2));
    init_i(&b, "ends", 1, D(90));
    init_i(&b, "axes", 1, D(1));
    init_f(&b, "k", 2, D(1, 88));
    init_f(&b, "lo", 0, D(0));
    init_f(&b, "vhi", 0, D(0));
    attr_i(node(&b, "Transpose", "x", "t"), "perm", 4, D(0, 2, 3, 1));
    node(&b, "Reshape", "t shape", "r");
    attr_i(node(&b, "Concat", "r r", "c"), "axis", -1, D(1));
    node(&b, "Slice", "c starts ends axes", "s");
    node(&b, "Mul", "s k", "m");
    node(&b, "Tanh", "m", "h");
    node(&b, "Clip", "h lo vhi", "y");
    rc |= finish(&b, dir, "shapes.onnx", "y", 2, D(1, 88));

    begin(&b, 4, D(1, 1, 4, 4));
    init_i(&b, "pads", 8, D(0, 0, 1, 1, 0, 0, 1, 1));
    init_f(&b, "scales", 1, D(4));
    b.inits[b.g.n_initializer - 1]->float_data[0] = 1;
    b.inits[b.g.n_initializer - 1]->float_data[1] = 1;
    b.inits[b.g.n_initializer - 1]->float_data[2] = 2;
    b.inits[b.g.n_initializer - 1]->float_data[3] = 2;
    init_f(&b, "w", 4, D(1, 2, 2, 2));
    node(&b, "Pad", "x pads", "p");
    attr_s(node(&b, "Resize", "p - scales", "r"), "mode", "nearest");
    attr_i(node(&b, "ConvTranspose", "r w", "ct"), "strides", 2, D(2, 2));
    node(&b, "LeakyRelu", "ct", "l");
    node(&b, "GlobalMaxPool", "l", "g");
    node(&b, "Flatten", "g", "y");
    rc |= finish(&b, dir, "resize.onnx", "y", 2, D(1, 2));
    return rc;
}
