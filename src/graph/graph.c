/* Graph construction, lookup and topological sorting. */
#include "graph/graph.h"
#include "base/error.h"
#include "ops/op.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dupstr(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

lrp_graph *lrp_graph_new(const char *path)
{
    lrp_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->path = dupstr(path);
    if (!g->path) {
        free(g);
        return NULL;
    }
    return g;
}

static void free_attr(lrp_attr *a)
{
    free(a->name);
    free(a->s);
    lrp_tensor_free(a->t);
    free(a->floats);
    free(a->ints);
}

void lrp_graph_free(lrp_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_nodes; i++) {
        lrp_node *n = &g->nodes[i];
        if (n->op && n->op->destroy && n->state)
            n->op->destroy(n->state);
        free(n->name);
        free(n->op_type);
        free(n->domain);
        free(n->inputs);
        free(n->outputs);
        for (int a = 0; a < n->n_attrs; a++)
            free_attr(&n->attrs[a]);
        free(n->attrs);
    }
    for (int i = 0; i < g->n_values; i++) {
        free(g->values[i].name);
        for (int d = 0; d < LRP_MAX_DIMS; d++)
            free(g->values[i].decl_names[d]);
        lrp_tensor_free(g->values[i].constant);
    }
    for (int i = 0; i < g->n_notes; i++)
        free(g->notes[i]);
    free(g->notes);
    free(g->nodes);
    free(g->values);
    free(g->hash);
    free(g->order);
    free(g->inputs);
    free(g->outputs);
    free(g->path);
    free(g->producer_name);
    free(g->producer_version);
    for (int i = 0; i < g->n_meta; i++) {
        free(g->meta_keys[i]);
        free(g->meta_values[i]);
    }
    free(g->meta_keys);
    free(g->meta_values);
    free(g);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int lrp_graph_find_value(const lrp_graph *g, const char *name)
{
    if (!g->hash_cap)
        return -1;
    size_t mask = (size_t)g->hash_cap - 1;
    for (size_t k = name_hash(name) & mask;; k = (k + 1) & mask) {
        int i = g->hash[k];
        if (i < 0)
            return -1;
        if (strcmp(g->values[i].name, name) == 0)
            return i;
    }
}

static void hash_insert(lrp_graph *g, int idx)
{
    size_t mask = (size_t)g->hash_cap - 1;
    size_t k = name_hash(g->values[idx].name) & mask;
    while (g->hash[k] >= 0)
        k = (k + 1) & mask;
    g->hash[k] = idx;
}

/* Keeps the table at most half full. */
static int hash_reserve(lrp_graph *g, int n_values)
{
    if ((size_t)n_values * 2 < (size_t)g->hash_cap)
        return 0;
    int cap = g->hash_cap ? g->hash_cap * 2 : 256;
    while ((size_t)n_values * 2 >= (size_t)cap)
        cap *= 2;
    int *h = malloc(sizeof(int) * (size_t)cap);
    if (!h)
        return -1;
    for (int i = 0; i < cap; i++)
        h[i] = -1;
    free(g->hash);
    g->hash = h;
    g->hash_cap = cap;
    for (int i = 0; i < g->n_values; i++)
        hash_insert(g, i);
    return 0;
}

/* An array of *cap items of the given size made twice as long (64 items at
 * first); NULL, the array unchanged, when out of memory. */
static void *grow(void *items, int *cap, size_t size)
{
    int n = *cap ? *cap * 2 : 64;
    void *p = realloc(items, (size_t)n * size);
    if (p)
        *cap = n;
    return p;
}

static int append_value(lrp_graph *g, const char *name)
{
    if (hash_reserve(g, g->n_values + 1) != 0)
        return -1;
    if (g->n_values == g->cap_values) {
        lrp_value *v = grow(g->values, &g->cap_values, sizeof *v);
        if (!v)
            return -1;
        g->values = v;
    }
    lrp_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = dupstr(name);
    if (!v->name)
        return -1;
    v->producer = -1;
    v->a_consumer = -1;
    v->decl_ndim = -1;
    hash_insert(g, g->n_values);
    return g->n_values++;
}

int lrp_graph_value(lrp_graph *g, const char *name)
{
    int i = lrp_graph_find_value(g, name);
    return i >= 0 ? i : append_value(g, name);
}

int lrp_graph_new_value(lrp_graph *g, const char *base)
{
    char buf[256];
    for (int k = 0;; k++) {
        snprintf(buf, sizeof buf, "%s%s%d", base, k ? "_" : "_lrp", k);
        if (lrp_graph_find_value(g, buf) < 0)
            return append_value(g, buf);
    }
}

int lrp_graph_add_node(lrp_graph *g, const char *name, const char *op_type, int n_in, const int *in, int n_out,
                       const int *out)
{
    if (g->n_nodes == g->cap_nodes) {
        lrp_node *nn = grow(g->nodes, &g->cap_nodes, sizeof *nn);
        if (!nn)
            return -1;
        g->nodes = nn;
    }
    lrp_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = dupstr(name);
    n->op_type = dupstr(op_type);
    n->domain = dupstr("");
    n->inputs = malloc(sizeof(int) * (size_t)(n_in ? n_in : 1));
    n->outputs = malloc(sizeof(int) * (size_t)(n_out ? n_out : 1));
    if (!n->name || !n->op_type || !n->domain || !n->inputs || !n->outputs) {
        free(n->name);
        free(n->op_type);
        free(n->domain);
        free(n->inputs);
        free(n->outputs);
        return -1;
    }
    n->n_inputs = n_in;
    n->n_outputs = n_out;
    if (n_in)
        memcpy(n->inputs, in, sizeof(int) * (size_t)n_in);
    if (n_out)
        memcpy(n->outputs, out, sizeof(int) * (size_t)n_out);
    return g->n_nodes++;
}

void *lrp_node_state_new(lrp_node *n, size_t size, lrp_error *err)
{
    void *s = calloc(1, size);
    if (!s)
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    n->state = s;
    return s;
}

const char *lrp_node_label(const lrp_graph *g, const lrp_node *n, char *buf, size_t size)
{
    if (n->name && n->name[0])
        return n->name;
    snprintf(buf, size, "#%d (%s)", (int)(n - g->nodes), n->op_type);
    return buf;
}

static void heap_push(int *h, int *n, int x)
{
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > x) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static int heap_pop(int *h, int *n)
{
    int top = h[0], x = h[--*n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= x)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}

/* Every value's producer, from scratch; a value produced twice is an error. */
static lrp_status link_producers(lrp_graph *g, lrp_error *err)
{
    char lb[64];
    for (int v = 0; v < g->n_values; v++) {
        g->values[v].producer = -1;
        g->values[v].n_consumers = 0;
        g->values[v].a_consumer = -1;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        lrp_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0)
                continue;
            if (g->values[v].producer >= 0 || (g->values[v].constant && !g->values[v].folded) || g->values[v].is_input)
                return lrp_fail(err, LRP_ERR_FORMAT, "%s: tensor '%s' is produced twice (again by node %s)", g->path,
                                g->values[v].name, lrp_node_label(g, n, lb, sizeof lb));
            g->values[v].producer = i;
        }
    }
    return LRP_OK;
}

/* Consumer lists (CSR: the consumers of value v are list[start[v]] to
 * list[start[v + 1] - 1]) so that the sort is linear in the graph size;
 * pending[i] counts the inputs of node i that a node produces. */
typedef struct consumer_lists {
    int *start, *list;
} consumer_lists;

static lrp_status build_consumers(lrp_graph *g, int *pending, consumer_lists *c, lrp_error *err)
{
    char lb[64];
    int nv = g->n_values, nn = g->n_nodes;
    c->start = calloc((size_t)nv + 1, sizeof(int));
    if (!c->start)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    int total = 0;
    for (int i = 0; i < nn; i++) {
        lrp_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            if (v < 0)
                continue;
            lrp_value *val = &g->values[v];
            val->n_consumers++;
            val->a_consumer = i;
            c->start[v + 1]++;
            total++;
            if (val->producer >= 0)
                pending[i]++;
            else if (!val->constant && !val->is_input)
                return lrp_fail(err, LRP_ERR_FORMAT, "%s: node %s reads tensor '%s', which nothing produces", g->path,
                                lrp_node_label(g, n, lb, sizeof lb), val->name);
        }
    }
    for (int v = 0; v < nv; v++)
        c->start[v + 1] += c->start[v];
    c->list = malloc(sizeof(int) * (size_t)(total ? total : 1));
    int *fill = calloc((size_t)nv + 1, sizeof(int));
    if (!c->list || !fill) {
        free(fill);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < nn; i++) {
        lrp_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            if (v >= 0)
                c->list[c->start[v] + fill[v]++] = i;
        }
    }
    free(fill);
    return LRP_OK;
}

/* Kahn's algorithm with a min-heap of ready nodes, so that the order follows
 * the file wherever the data flow allows; returns how many nodes it placed. */
static int kahn_order(const lrp_graph *g, int *pending, const consumer_lists *c, int *queue, int *order)
{
    int heap_n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].removed && pending[i] == 0)
            heap_push(queue, &heap_n, i);
    int count = 0;
    while (heap_n > 0) {
        int i = heap_pop(queue, &heap_n);
        order[count++] = i;
        const lrp_node *n = &g->nodes[i];
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0)
                continue;
            for (int k = c->start[v]; k < c->start[v + 1]; k++)
                if (--pending[c->list[k]] == 0)
                    heap_push(queue, &heap_n, c->list[k]);
        }
    }
    return count;
}

/* After the sort: every live node placed, every graph output produced. */
static lrp_status check_sorted(lrp_graph *g, const int *pending, int count, lrp_error *err)
{
    char lb[64];
    int nn = g->n_nodes, live = 0;
    for (int i = 0; i < nn; i++)
        live += !g->nodes[i].removed;
    if (count != live) {
        for (int i = 0; i < nn; i++)
            if (!g->nodes[i].removed && pending[i] > 0)
                return lrp_fail(err, LRP_ERR_FORMAT, "%s: the graph has a cycle through node %s", g->path,
                                lrp_node_label(g, &g->nodes[i], lb, sizeof lb));
        return lrp_fail(err, LRP_ERR_FORMAT, "%s: the graph has a cycle", g->path);
    }
    for (int k = 0; k < g->n_outputs; k++) {
        lrp_value *val = &g->values[g->outputs[k]];
        val->n_consumers++;
        if (val->producer < 0 && !val->constant && !val->is_input)
            return lrp_fail(err, LRP_ERR_FORMAT, "%s: graph output '%s' is not produced by any node", g->path,
                            val->name);
    }
    return LRP_OK;
}

lrp_status lrp_graph_sort(lrp_graph *g, lrp_error *err)
{
    int nn = g->n_nodes;
    int *pending = calloc((size_t)(nn ? nn : 1), sizeof(int));
    int *queue = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    int *order = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    consumer_lists c = {NULL, NULL};
    lrp_status st = LRP_OK;
    if (!pending || !queue || !order)
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    if (st == LRP_OK)
        st = link_producers(g, err);
    if (st == LRP_OK)
        st = build_consumers(g, pending, &c, err);
    int count = 0;
    if (st == LRP_OK) {
        count = kahn_order(g, pending, &c, queue, order);
        st = check_sorted(g, pending, count, err);
    }
    if (st == LRP_OK) {
        free(g->order);
        g->order = order;
        order = NULL;
        g->n_order = count;
    }
    free(pending);
    free(queue);
    free(order);
    free(c.start);
    free(c.list);
    return st;
}

void lrp_graph_replace_uses(lrp_graph *g, int from, int to)
{
    for (int i = 0; i < g->n_nodes; i++) {
        lrp_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == from)
                n->inputs[k] = to;
    }
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == from) {
            g->outputs[k] = to;
            g->values[to].is_output = true;
            g->values[from].is_output = false;
        }
}

int lrp_graph_consumers(const lrp_graph *g, int v, int *out, int max)
{
    int c = 0;
    for (int k = 0; k < g->n_order; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        for (int i = 0; i < n->n_inputs; i++)
            if (n->inputs[i] == v) {
                if (c < max)
                    out[c] = g->order[k];
                c++;
                break;
            }
    }
    return c;
}

void lrp_graph_note(lrp_graph *g, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **nn = realloc(g->notes, sizeof(char *) * (size_t)(g->n_notes + 1));
    if (!nn)
        return;
    g->notes = nn;
    g->notes[g->n_notes] = dupstr(buf);
    if (g->notes[g->n_notes])
        g->n_notes++;
}

const lrp_attr *lrp_node_attr(const lrp_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t lrp_attr_int(const lrp_node *n, const char *name, int64_t dflt)
{
    const lrp_attr *a = lrp_node_attr(n, name);
    return a && a->type == LRP_ATTR_INT ? a->i : dflt;
}

/* An ONNX FLOAT attribute holds the float32 nearest to the value the exporter meant (PyTorch's hardsigmoid slope
 * 1/6, an epsilon of 1e-5). The float64 build reads it as the simplest number that rounds to it: a fraction p/q
 * with q <= 12 (integers first), else the shortest decimal; the float32 build takes it as it is. */
lrp_real lrp_attr_real(float f)
{
#ifdef LRP_REAL_DOUBLE
    if (!isfinite(f))
        return f;
    for (int q = 1; q <= 12; q++) {
        double p = nearbyint((double)f * q);
        if (fabs(p) < 1e6 && (float)(p / q) == f)
            return p / q;
    }
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if (strtof(buf, NULL) == f)
            return strtod(buf, NULL);
    }
#endif
    return f;
}

lrp_real lrp_attr_float(const lrp_node *n, const char *name, lrp_real dflt)
{
    const lrp_attr *a = lrp_node_attr(n, name);
    return a && a->type == LRP_ATTR_FLOAT ? a->f : lrp_attr_real((float)dflt);
}

const char *lrp_attr_string(const lrp_node *n, const char *name, const char *dflt)
{
    const lrp_attr *a = lrp_node_attr(n, name);
    return a && a->type == LRP_ATTR_STRING && a->s ? a->s : dflt;
}

int lrp_attr_ints(const lrp_node *n, const char *name, const int64_t **v)
{
    const lrp_attr *a = lrp_node_attr(n, name);
    if (!a || a->type != LRP_ATTR_INTS) {
        *v = NULL;
        return -1;
    }
    *v = a->ints;
    return a->n;
}

/* The attribute called name of n, emptied (added when absent), or NULL when out of memory. */
static lrp_attr *attr_slot(lrp_node *n, const char *name, int type)
{
    lrp_attr *a = NULL;
    for (int i = 0; i < n->n_attrs && !a; i++)
        if (!strcmp(n->attrs[i].name, name)) {
            a = &n->attrs[i];
            free_attr(a);
        }
    if (!a) {
        lrp_attr *as = realloc(n->attrs, sizeof *as * (size_t)(n->n_attrs + 1));
        if (!as)
            return NULL;
        n->attrs = as;
        a = &as[n->n_attrs++];
    }
    memset(a, 0, sizeof *a);
    a->name = dupstr(name);
    a->type = type;
    return a->name ? a : NULL;
}

lrp_status lrp_node_set_int(lrp_node *n, const char *name, int64_t value)
{
    lrp_attr *a = attr_slot(n, name, LRP_ATTR_INT);
    if (!a)
        return LRP_ERR_NOMEM;
    a->i = value;
    return LRP_OK;
}

lrp_status lrp_node_set_float(lrp_node *n, const char *name, lrp_real value)
{
    lrp_attr *a = attr_slot(n, name, LRP_ATTR_FLOAT);
    if (!a)
        return LRP_ERR_NOMEM;
    a->f = value;
    return LRP_OK;
}
