/* Relevance inside the network: what arrives at named nodes (zennit's
 * "intermediate relevance", the .grad of a module output) and the channel
 * masks of Concept Relevance Propagation (zennit-crp's CondAttribution,
 * with its exclude_parallel), applied by the backward sweep's arrive hook
 * when a node's output relevance is complete, before the node's rule. */
#include "lrp/inside.h"

#include "base/tensor.h"

#include <stdlib.h>
#include <string.h>

typedef struct inside_cond {
    int node;
    int n_ch;
    int64_t *ch;
    int64_t sample;
    char *name;
} inside_cond;

struct lrp_inside {
    int input; /* the model input's value */
    int n_records;
    char **record_names;
    int *record_node; /* node index; -1: the model input */
    lrp_tensor **recorded;
    int n_conds;
    inside_cond *conds;
    bool exclude_parallel;
    const lrp_graph *g; /* of the sweep under way */
    int n_nodes;
    unsigned char *at;   /* per node: a record or a condition there */
    unsigned char *keep; /* scratch: per channel */
    bool *cond_b;        /* scratch: per sample, conditioned at the node */
    int64_t cap_keep, cap_b;
};

void lrp_inside_options_default(lrp_inside_options *o)
{
    memset(o, 0, sizeof *o);
    o->exclude_parallel = 1;
}

/* The live node that produces value v as its first output, following
 * nodes the canonizers removed (a folded BatchNorm, an Identity) to the
 * value they passed on; -1 for the model input, -2 when none. */
static int value_node(const lrp_graph *g, int input, int v)
{
    for (int hops = 0; v >= 0 && hops < g->n_nodes + 1; hops++) {
        if (v == input)
            return -1;
        int p = -1;
        for (int i = 0; i < g->n_nodes && p < 0; i++)
            for (int o = 0; o < g->nodes[i].n_outputs; o++)
                if (g->nodes[i].outputs[o] == v && (!g->nodes[i].removed || o == 0)) {
                    p = i;
                    break;
                }
        if (p < 0)
            return -2;
        const lrp_node *n = &g->nodes[p];
        if (!n->removed)
            return n->outputs[0] == v ? p : -2;
        v = n->n_inputs > 0 ? n->inputs[0] : -1;
    }
    return -2;
}

int lrp_inside_resolve(const lrp_graph *g, int input, const char *name, lrp_error *err)
{
    char lb[64];
    for (int i = 0; i < g->n_nodes; i++) {
        const lrp_node *n = &g->nodes[i];
        if (strcmp(n->name && n->name[0] ? n->name : lrp_node_label(g, n, lb, sizeof lb), name))
            continue;
        if (!n->removed)
            return i;
        int r = n->n_inputs > 0 ? value_node(g, input, n->inputs[0]) : -2;
        if (r >= -1)
            return r;
    }
    int v = lrp_graph_find_value(g, name);
    int r = v >= 0 ? value_node(g, input, v) : -2;
    if (r >= -1)
        return r;
    if (v >= 0 && g->values[v].constant)
        lrp_fail(err, LRP_ERR_ARG, "%s: '%s' is a constant, which no relevance reaches", g->path, name);
    else if (v >= 0)
        lrp_fail(err, LRP_ERR_ARG,
                 "%s: value '%s' is not the first output of a node; only first outputs carry relevance", g->path,
                 name);
    else
        lrp_fail(err, LRP_ERR_ARG,
                 "%s: no node or value named '%s' (lrp inspect MODEL --composite NAME lists the nodes)", g->path,
                 name);
    return -2;
}

void lrp_inside_free(lrp_inside *in)
{
    if (!in)
        return;
    for (int i = 0; i < in->n_records; i++) {
        free(in->record_names[i]);
        lrp_tensor_free(in->recorded[i]);
    }
    for (int i = 0; i < in->n_conds; i++) {
        free(in->conds[i].ch);
        free(in->conds[i].name);
    }
    free(in->record_names);
    free(in->record_node);
    free(in->recorded);
    free(in->conds);
    free(in->at);
    free(in->keep);
    free(in->cond_b);
    free(in);
}

lrp_inside *lrp_inside_new(const lrp_graph *g, int input, const lrp_inside_options *o, lrp_error *err)
{
    lrp_inside *in = calloc(1, sizeof *in);
    int nr = o->n_records > 0 ? o->n_records : 0, nc = o->n_conditions > 0 ? o->n_conditions : 0;
    if (!in || !(in->record_names = calloc((size_t)nr + 1, sizeof(char *))) ||
        !(in->record_node = calloc((size_t)nr + 1, sizeof(int))) ||
        !(in->recorded = calloc((size_t)nr + 1, sizeof(lrp_tensor *))) ||
        !(in->conds = calloc((size_t)nc + 1, sizeof *in->conds))) {
        lrp_inside_free(in);
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    in->input = input;
    in->exclude_parallel = o->exclude_parallel != 0;
    for (int i = 0; i < nr; i++) {
        in->n_records = i + 1;
        if (!o->records[i] || (in->record_node[i] = lrp_inside_resolve(g, input, o->records[i], err)) < -1)
            goto fail;
        if (!(in->record_names[i] = strdup(o->records[i])))
            goto oom;
    }
    for (int i = 0; i < nc; i++) {
        const lrp_condition *c = &o->conditions[i];
        inside_cond *d = &in->conds[i];
        in->n_conds = i + 1;
        if (!c->node || (d->node = lrp_inside_resolve(g, input, c->node, err)) < -1)
            goto fail;
        if (d->node == -1) {
            lrp_fail(err, LRP_ERR_ARG, "%s: a condition at the model input '%s' conditions nothing", g->path, c->node);
            goto fail;
        }
        if (c->n_channels <= 0 || !c->channels) {
            lrp_fail(err, LRP_ERR_ARG, "%s: the condition at %s lists no channels", g->path, c->node);
            goto fail;
        }
        if (!(d->name = strdup(c->node)) || !(d->ch = malloc(sizeof(int64_t) * (size_t)c->n_channels)))
            goto oom;
        memcpy(d->ch, c->channels, sizeof(int64_t) * (size_t)c->n_channels);
        d->n_ch = c->n_channels;
        d->sample = c->sample < 0 ? -1 : c->sample;
    }
    return in;
oom:
    lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
fail:
    lrp_inside_free(in);
    return NULL;
}

lrp_status lrp_inside_begin(lrp_inside *in, const lrp_graph *g, int64_t N, lrp_error *err)
{
    in->g = g;
    for (int i = 0; i < in->n_records; i++) {
        lrp_tensor_free(in->recorded[i]);
        in->recorded[i] = NULL;
    }
    if (in->n_nodes != g->n_nodes) {
        free(in->at);
        if (!(in->at = calloc((size_t)g->n_nodes + 1, 1)))
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        in->n_nodes = g->n_nodes;
    }
    memset(in->at, 0, (size_t)g->n_nodes);
    for (int i = 0; i < in->n_records; i++)
        if (in->record_node[i] >= 0)
            in->at[in->record_node[i]] = 1;
    int64_t maxc = 1;
    for (int i = 0; i < in->n_conds; i++) {
        const inside_cond *c = &in->conds[i];
        const lrp_node *n = &g->nodes[c->node];
        const lrp_value *v = &g->values[n->outputs[0]];
        char lb[64];
        if (v->ndim < 2)
            return lrp_fail(err, LRP_ERR_ARG, "%s: the output of %s has no channel dimension %s", g->path, c->name,
                            lrp_shape_str(v->ndim, v->dims, lb, sizeof lb));
        for (int k = 0; k < c->n_ch; k++)
            if (c->ch[k] < 0 || c->ch[k] >= v->dims[1])
                return lrp_fail(err, LRP_ERR_ARG,
                                "%s: channel %lld is out of range: the output of %s has %lld channels", g->path,
                                (long long)c->ch[k], c->name, (long long)v->dims[1]);
        if (N > 0 && c->sample >= N)
            return lrp_fail(err, LRP_ERR_ARG, "%s: the condition at %s is for sample %lld of a batch of %lld", g->path,
                            c->name, (long long)c->sample, (long long)N);
        maxc = v->dims[1] > maxc ? v->dims[1] : maxc;
        in->at[c->node] = 1;
    }
    if (maxc > in->cap_keep) {
        free(in->keep);
        if (!(in->keep = malloc((size_t)maxc)))
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        in->cap_keep = maxc;
    }
    if (N > 0 && N + 1 > in->cap_b) {
        free(in->cond_b);
        if (!(in->cond_b = malloc(sizeof(bool) * (size_t)(N + 1))))
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        in->cap_b = N + 1;
    }
    return LRP_OK;
}

const unsigned char *lrp_inside_nodes(const lrp_inside *in) { return in->at; }

/* A copy of R shaped like value v (zeros when R is NULL). */
static lrp_tensor *record_of(const lrp_graph *g, int v, const lrp_tensor *R, lrp_error *err)
{
    const lrp_value *val = &g->values[v];
    lrp_tensor *t = R ? lrp_tensor_clone(R, err) : lrp_tensor_new(LRP_REAL_DT, val->ndim, val->dims, err);
    if (t && R && R->numel == t->numel && val->shape_known) {
        t->ndim = val->ndim;
        memcpy(t->dims, val->dims, sizeof t->dims);
    }
    return t;
}

/* Masks sample b of R (N, C, ...) to the channels of the node's conditions
 * for it; returns whether the sample has one there. */
static bool mask_sample(lrp_inside *in, int node, lrp_tensor *R, int64_t C, int64_t N, int64_t b)
{
    memset(in->keep, 0, (size_t)C);
    bool any = false;
    for (int i = 0; i < in->n_conds; i++) {
        const inside_cond *c = &in->conds[i];
        if (c->node != node || (c->sample >= 0 && c->sample != b))
            continue;
        any = true;
        for (int k = 0; k < c->n_ch; k++)
            in->keep[c->ch[k]] = 1;
    }
    if (!any || !R)
        return any;
    int64_t per = R->numel / N, inner = per / C;
    lrp_real *p = lrp_reals(R) + b * per;
    for (int64_t c = 0; c < C; c++)
        if (!in->keep[c])
            memset(p + c * inner, 0, sizeof(lrp_real) * (size_t)inner);
    return true;
}

/* exclude_parallel: drops the relevance pending anywhere but at value ov
 * for the samples conditioned at this node. */
static void drop_parallel(const lrp_inside *in, const lrp_graph *g, lrp_tensor **rel, int ov, int64_t N)
{
    bool all = true;
    for (int64_t b = 0; b < N; b++)
        all = all && in->cond_b[b];
    for (int v = 0; v < g->n_values; v++) {
        if (v == ov || !rel[v])
            continue;
        if (all) {
            lrp_tensor_free(rel[v]);
            rel[v] = NULL;
            continue;
        }
        int64_t per = rel[v]->numel / N;
        for (int64_t b = 0; b < N; b++)
            if (in->cond_b[b])
                memset(lrp_reals(rel[v]) + b * per, 0, sizeof(lrp_real) * (size_t)per);
    }
}

lrp_status lrp_inside_arrive(void *ctx, int node, lrp_tensor **rel, int64_t batch, lrp_error *err)
{
    lrp_inside *in = ctx;
    const lrp_graph *g = in->g;
    int ov = g->nodes[node].outputs[0];
    if (ov < 0)
        return LRP_OK;
    for (int i = 0; i < in->n_records; i++)
        if (in->record_node[i] == node && !(in->recorded[i] = record_of(g, ov, rel[ov], err)))
            return err ? err->status : LRP_ERR_NOMEM;
    bool any = false;
    int64_t N = batch > 0 ? batch : 1, C = g->values[ov].ndim >= 2 ? g->values[ov].dims[1] : 0;
    for (int i = 0; i < in->n_conds && !any; i++)
        any = in->conds[i].node == node;
    if (!any || C <= 0)
        return LRP_OK;
    for (int64_t b = 0; b < N; b++)
        in->cond_b[b] = mask_sample(in, node, rel[ov], C, N, b);
    if (in->exclude_parallel)
        drop_parallel(in, g, rel, ov, N);
    return LRP_OK;
}

lrp_status lrp_inside_end(lrp_inside *in, const lrp_graph *g, lrp_tensor *const *rel, int64_t N, lrp_error *err)
{
    (void)N;
    for (int i = 0; i < in->n_records; i++) {
        if (in->recorded[i])
            continue;
        int v = in->record_node[i] >= 0 ? g->nodes[in->record_node[i]].outputs[0] : in->input;
        if (!(in->recorded[i] = record_of(g, v, in->record_node[i] < 0 ? rel[v] : NULL, err)))
            return err ? err->status : LRP_ERR_NOMEM;
    }
    in->g = NULL;
    return LRP_OK;
}

const lrp_tensor *lrp_inside_recorded(const lrp_inside *in, int i)
{
    return in && i >= 0 && i < in->n_records ? in->recorded[i] : NULL;
}

/* The position of node ni in g->order; -1 if not there. */
static int order_pos(const lrp_graph *g, int ni)
{
    for (int k = 0; k < g->n_order; k++)
        if (g->order[k] == ni)
            return k;
    return -1;
}

lrp_inside *lrp_inside_concepts(const lrp_inside *in, const lrp_graph *g, int input, int node, int n,
                                const int64_t *channels, lrp_error *err)
{
    int pos = order_pos(g, node), nc = 0;
    for (int i = 0; in && i < in->n_conds; i++)
        nc += order_pos(g, in->conds[i].node) < pos;
    lrp_inside *out = calloc(1, sizeof *out);
    if (!out || !(out->record_names = calloc(1, sizeof(char *))) || !(out->record_node = calloc(1, sizeof(int))) ||
        !(out->recorded = calloc(1, sizeof(lrp_tensor *))) ||
        !(out->conds = calloc((size_t)(nc + n + 1), sizeof *out->conds))) {
        lrp_inside_free(out);
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    out->input = input;
    out->exclude_parallel = in ? in->exclude_parallel : true;
    for (int i = 0; in && i < in->n_conds; i++) {
        const inside_cond *c = &in->conds[i];
        if (order_pos(g, c->node) >= pos)
            continue;
        inside_cond *d = &out->conds[out->n_conds++];
        *d = (inside_cond){c->node, c->n_ch, malloc(sizeof(int64_t) * (size_t)c->n_ch), c->sample, strdup(c->name)};
        if (!d->ch || !d->name) {
            lrp_inside_free(out);
            lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
            return NULL;
        }
        memcpy(d->ch, c->ch, sizeof(int64_t) * (size_t)c->n_ch);
    }
    for (int b = 0; b < n; b++) {
        inside_cond *d = &out->conds[out->n_conds++];
        *d = (inside_cond){node, 1, malloc(sizeof(int64_t)), b,
                           strdup(g->nodes[node].name ? g->nodes[node].name : "?")};
        if (!d->ch || !d->name) {
            lrp_inside_free(out);
            lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
            return NULL;
        }
        d->ch[0] = channels[b];
    }
    return out;
}
