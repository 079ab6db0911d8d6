/* Small graphs built in code (test-only). */
#include "graph_builder.h"

#include "onnx/onnx_load.h"
#include "graph/shape_infer.h"
#include "base/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "graph_builder: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = xmalloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

lrp_graph *gb_new(int64_t opset)
{
    lrp_graph *g = lrp_graph_new("(test graph)");
    if (!g)
        abort();
    g->opset = opset;
    g->ir_version = 8;
    g->inputs = xmalloc(sizeof(int) * 64);
    g->outputs = xmalloc(sizeof(int) * 64);
    return g;
}

int gb_input(lrp_graph *g, const char *name, int ndim, const int64_t *dims)
{
    int v = lrp_graph_value(g, name);
    if (v < 0 || g->n_inputs >= 64)
        abort();
    lrp_value *val = &g->values[v];
    val->is_input = true;
    val->decl_elem_type = 1;
    val->decl_ndim = ndim;
    for (int i = 0; i < ndim; i++)
        val->decl_dims[i] = dims[i];
    g->inputs[g->n_inputs++] = v;
    return v;
}

int gb_const(lrp_graph *g, const char *name, lrp_tensor *t)
{
    int v = lrp_graph_value(g, name);
    if (v < 0 || !t)
        abort();
    g->values[v].constant = t;
    return v;
}

int gb_const_f(lrp_graph *g, const char *name, int ndim, const int64_t *dims, const lrp_real *v)
{
    lrp_tensor *t = lrp_tensor_new(LRP_REAL_DT, ndim, dims, NULL);
    if (!t)
        abort();
    if (t->numel)
        memcpy(t->data, v, sizeof(lrp_real) * (size_t)t->numel);
    return gb_const(g, name, t);
}

int gb_const_i(lrp_graph *g, const char *name, int ndim, const int64_t *dims, const int64_t *v)
{
    lrp_tensor *t = lrp_tensor_new(LRP_INT64, ndim, dims, NULL);
    if (!t)
        abort();
    if (t->numel)
        memcpy(t->data, v, sizeof(int64_t) * (size_t)t->numel);
    return gb_const(g, name, t);
}

int gb_node(lrp_graph *g, const char *op_type, int n_in, const int *in, int n_out)
{
    int out[16];
    char name[64];
    if (n_out > 16)
        abort();
    for (int k = 0; k < n_out; k++) {
        snprintf(name, sizeof name, "n%d_out%d", g->n_nodes, k);
        out[k] = lrp_graph_value(g, name);
        if (out[k] < 0)
            abort();
    }
    snprintf(name, sizeof name, "node%d", g->n_nodes);
    int idx = lrp_graph_add_node(g, name, op_type, n_in, in, n_out, out);
    if (idx < 0)
        abort();
    return idx;
}

int gb_out(const lrp_graph *g, int node, int k) { return g->nodes[node].outputs[k]; }

static lrp_attr *new_attr(lrp_graph *g, int node, const char *name, int type)
{
    lrp_node *n = &g->nodes[node];
    lrp_attr *a = realloc(n->attrs, sizeof(lrp_attr) * (size_t)(n->n_attrs + 1));
    if (!a)
        abort();
    n->attrs = a;
    lrp_attr *at = &a[n->n_attrs++];
    memset(at, 0, sizeof *at);
    at->name = xstrdup(name);
    at->type = type;
    return at;
}

void gb_attr_i(lrp_graph *g, int node, const char *name, int64_t v) { new_attr(g, node, name, LRP_ATTR_INT)->i = v; }

void gb_attr_f(lrp_graph *g, int node, const char *name, lrp_real v)
{
    new_attr(g, node, name, LRP_ATTR_FLOAT)->f = v;
}

void gb_attr_s(lrp_graph *g, int node, const char *name, const char *v)
{
    new_attr(g, node, name, LRP_ATTR_STRING)->s = xstrdup(v);
}

void gb_attr_ints(lrp_graph *g, int node, const char *name, int n, const int64_t *v)
{
    lrp_attr *a = new_attr(g, node, name, LRP_ATTR_INTS);
    a->n = n;
    a->ints = xmalloc(sizeof(int64_t) * (size_t)n);
    if (n)
        memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

void gb_attr_floats(lrp_graph *g, int node, const char *name, int n, const lrp_real *v)
{
    lrp_attr *a = new_attr(g, node, name, LRP_ATTR_FLOATS);
    a->n = n;
    a->floats = xmalloc(sizeof(lrp_real) * (size_t)n);
    if (n)
        memcpy(a->floats, v, sizeof(lrp_real) * (size_t)n);
}

void gb_attr_t(lrp_graph *g, int node, const char *name, lrp_tensor *t)
{
    new_attr(g, node, name, LRP_ATTR_TENSOR)->t = t;
}

lrp_status gb_prepare(lrp_graph *g, lrp_error *err)
{
    if (g->n_nodes > 0 && g->n_outputs == 0) {
        const lrp_node *last = &g->nodes[g->n_nodes - 1];
        for (int k = 0; k < last->n_outputs && g->n_outputs < 64; k++) {
            int v = last->outputs[k];
            if (v < 0)
                continue;
            g->values[v].is_output = true;
            g->outputs[g->n_outputs++] = v;
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        lrp_node *n = &g->nodes[i];
        n->op = lrp_op_find(n->op_type);
    }
    lrp_status st = lrp_graph_sort(g, err);
    if (st == LRP_OK)
        st = lrp_graph_init_ops(g, err);
    if (st != LRP_OK)
        return st;
    int nd[64];
    int64_t dims[64][LRP_MAX_DIMS];
    for (int i = 0; i < g->n_inputs; i++) {
        const lrp_value *v = &g->values[g->inputs[i]];
        nd[i] = v->decl_ndim;
        memcpy(dims[i], v->decl_dims, sizeof dims[i]);
    }
    return lrp_graph_infer(g, nd, (const int64_t(*)[LRP_MAX_DIMS])dims, err);
}
