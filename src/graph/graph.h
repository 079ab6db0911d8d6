/* The in-memory computation graph that the ONNX loader builds and the
 * canonizers, the forward engine and the backward engine work on. */
#ifndef LRP_GRAPH_H
#define LRP_GRAPH_H

#include "lrp.h"

#include <stdbool.h>

struct lrp_op;

/* ONNX TensorProto.DataType codes (initializers, Cast's `to`). */
enum {
    LRP_DT_FLOAT = 1,
    LRP_DT_UINT8 = 2,
    LRP_DT_INT8 = 3,
    LRP_DT_UINT16 = 4,
    LRP_DT_INT16 = 5,
    LRP_DT_INT32 = 6,
    LRP_DT_INT64 = 7,
    LRP_DT_STRING = 8,
    LRP_DT_BOOL = 9,
    LRP_DT_FLOAT16 = 10,
    LRP_DT_DOUBLE = 11,
    LRP_DT_UINT32 = 12,
    LRP_DT_UINT64 = 13,
    LRP_DT_BFLOAT16 = 16
};

/* ONNX AttributeProto.AttributeType codes we keep. */
enum {
    LRP_ATTR_FLOAT = 1,
    LRP_ATTR_INT = 2,
    LRP_ATTR_STRING = 3,
    LRP_ATTR_TENSOR = 4,
    LRP_ATTR_FLOATS = 6,
    LRP_ATTR_INTS = 7,
    LRP_ATTR_STRINGS = 8
};

typedef struct lrp_attr {
    char *name;
    int type;
    lrp_real f;
    int64_t i;
    char *s;
    lrp_tensor *t;
    int n; /* for FLOATS/INTS */
    lrp_real *floats;
    int64_t *ints;
} lrp_attr;

/* A named tensor slot: a graph input, an initializer, or a node output. */
typedef struct lrp_value {
    char *name;
    int producer;         /* node index, or -1 */
    lrp_tensor *constant; /* initializer, Constant output or folded value; NULL otherwise */
    bool folded;          /* constant computed from the input shape: recomputed when it changes */
    bool is_input;        /* graph input that is not an initializer */
    bool is_output;       /* graph output */
    int n_consumers;      /* live nodes reading it (graph outputs count once more) */
    int a_consumer;       /* one live node reading it, or -1 */
    /* Declared type from the model (input/output/value_info); elem_type 0 when unknown. */
    int decl_elem_type;
    int decl_ndim;                   /* -1 when no shape was declared */
    int64_t decl_dims[LRP_MAX_DIMS]; /* -1 for a symbolic or missing dim */
    char *decl_names[LRP_MAX_DIMS];  /* the dim_param of a symbolic dim; NULL if none (owned) */
    /* Inferred for the current input shape. */
    bool shape_known;
    lrp_dtype dtype;
    int ndim;
    int64_t dims[LRP_MAX_DIMS];
} lrp_value;

typedef struct lrp_node {
    char *name;
    char *op_type;
    char *domain;
    int n_inputs;
    int *inputs; /* value indices; -1 for an omitted optional input */
    int n_outputs;
    int *outputs; /* value indices; -1 for an omitted optional output */
    int n_attrs;
    lrp_attr *attrs;
    const struct lrp_op *op;
    void *state;  /* parsed attributes, owned by the op (op->destroy) */
    bool removed; /* taken out of the graph by a canonizer */
} lrp_node;

typedef struct lrp_graph {
    char *path; /* the model file, for messages */
    lrp_value *values;
    int n_values, cap_values;
    int *hash; /* open-addressing index of value names, hash_cap slots (-1 empty) */
    int hash_cap;
    lrp_node *nodes;
    int n_nodes, cap_nodes;
    int *order; /* live nodes in topological order */
    int n_order;
    int *inputs; /* graph inputs that are not initializers */
    int n_inputs;
    int *outputs;
    int n_outputs;
    int64_t opset; /* default-domain opset */
    int64_t ir_version;
    char *producer_name, *producer_version;
    /* the model's metadata_props (key, value), in file order */
    int n_meta;
    char **meta_keys, **meta_values;
    /* what the canonizers did, one line each (for `lrp inspect`) */
    char **notes;
    int n_notes;
} lrp_graph;

lrp_graph *lrp_graph_new(const char *path);
void lrp_graph_free(lrp_graph *g);

/* Index of the value with that name, or -1. */
int lrp_graph_find_value(const lrp_graph *g, const char *name);
/* Index of the value with that name, created if absent; -1 on allocation failure. */
int lrp_graph_value(lrp_graph *g, const char *name);
/* A new value with a unique name derived from base. */
int lrp_graph_new_value(lrp_graph *g, const char *base);
/* Appends a node; returns its index or -1. Inputs/outputs are copied. */
int lrp_graph_add_node(lrp_graph *g, const char *name, const char *op_type, int n_in, const int *in, int n_out,
                       const int *out);
/* A zero-filled state of size bytes for an op's init, stored in n->state (the
 * op's destroy frees it); NULL, with "out of memory" in err, when out of
 * memory. */
void *lrp_node_state_new(lrp_node *n, size_t size, lrp_error *err);

/* Sorts live nodes topologically into g->order and counts consumers. Fails on
 * a cycle, a value read before anything produces it, or two producers. */
lrp_status lrp_graph_sort(lrp_graph *g, lrp_error *err);

/* Replaces every use of value `from` (node inputs, graph outputs) by `to`. */
void lrp_graph_replace_uses(lrp_graph *g, int from, int to);

/* Live nodes that read value v, in topological order; returns the count. */
int lrp_graph_consumers(const lrp_graph *g, int v, int *out, int max);

void lrp_graph_note(lrp_graph *g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Attribute lookup on a node. */
const lrp_attr *lrp_node_attr(const lrp_node *n, const char *name);
int64_t lrp_attr_int(const lrp_node *n, const char *name, int64_t dflt);
/* FLOAT attribute, or dflt (a float32 literal, as an exporter writes it), read as lrp_attr_real reads the file's. */
lrp_real lrp_attr_float(const lrp_node *n, const char *name, lrp_real dflt);
/* The value of a float32 attribute: itself in the float32 build; in the float64 build the simplest number that
 * rounds to it (p/q with q <= 12, else the shortest decimal), as the exporter meant it (1/6, 1e-5). */
lrp_real lrp_attr_real(float f);
const char *lrp_attr_string(const lrp_node *n, const char *name, const char *dflt);
/* INTS attribute: count (or -1 when absent) and pointer. */
int lrp_attr_ints(const lrp_node *n, const char *name, const int64_t **v);

/* Sets (or adds) an INT attribute. */
lrp_status lrp_node_set_int(lrp_node *n, const char *name, int64_t value);
/* Sets (or adds) a FLOAT attribute. */
lrp_status lrp_node_set_float(lrp_node *n, const char *name, lrp_real value);

/* The node's display name: its name, or "#index (OpType)" when it has none. */
const char *lrp_node_label(const lrp_graph *g, const lrp_node *n, char *buf, size_t size);

/* Value of input i of node n (NULL when omitted), and whether it is constant. */
static inline lrp_value *lrp_node_in(const lrp_graph *g, const lrp_node *n, int i)
{
    return (i < n->n_inputs && n->inputs[i] >= 0) ? &g->values[n->inputs[i]] : NULL;
}
static inline lrp_value *lrp_node_out(const lrp_graph *g, const lrp_node *n, int i)
{
    return (i < n->n_outputs && n->outputs[i] >= 0) ? &g->values[n->outputs[i]] : NULL;
}

#endif
