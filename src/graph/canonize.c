/* Canonizer passes: rewrite the graph into the form zennit's rules expect
 * (zennit-reference.md §3), without changing what the model computes:
 *  - drop Identity and Dropout;
 *  - strip a final Softmax/LogSoftmax so that the logits are explained;
 *  - fold BatchNormalization into the Conv/ConvTranspose/Gemm/MatMul feeding it
 *    (zennit 1.0's MergeBatchNorm: the BN becomes an exact identity);
 *  - fuse a MatMul (or a bias-less Gemm/Conv) followed by the Add of a constant
 *    bias into one layer with a bias, so that the bias enters z.
 * The residual Sum is a rule-assignment matter (see composites.c), as are the
 * Muls recognised here (lrp_mul_kind_of), noted for `lrp inspect` but left as
 * they are: squeeze-excitation gates and the x * Sigmoid(x) products of SiLU
 * and HardSwish. */
#include "graph/canonize.h"

#include "ops/op.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_live_type(const lrp_node *n, const char *type) { return !n->removed && !strcmp(n->op_type, type); }

/* The only live node consuming value v, or -1 when v has other consumers or is
 * a graph output. */
static int sole_consumer(const lrp_graph *g, int v)
{
    if (g->values[v].is_output || g->values[v].n_consumers != 1)
        return -1;
    return g->values[v].a_consumer;
}

/* Sets input idx of node n to value v, growing the input list if needed. */
static lrp_status set_input(lrp_node *n, int idx, int v)
{
    if (idx >= n->n_inputs) {
        int *in = realloc(n->inputs, sizeof(int) * (size_t)(idx + 1));
        if (!in)
            return LRP_ERR_NOMEM;
        for (int k = n->n_inputs; k <= idx; k++)
            in[k] = -1;
        n->inputs = in;
        n->n_inputs = idx + 1;
    }
    n->inputs[idx] = v;
    return LRP_OK;
}

/* A constant value holding t (takes ownership). */
static int new_constant(lrp_graph *g, const char *base, lrp_tensor *t)
{
    int v = lrp_graph_new_value(g, base);
    if (v < 0) {
        lrp_tensor_free(t);
        return -1;
    }
    g->values[v].constant = t;
    g->values[v].dtype = t->dtype;
    g->values[v].ndim = t->ndim;
    memcpy(g->values[v].dims, t->dims, sizeof t->dims);
    g->values[v].shape_known = true;
    return v;
}

/* A writable copy of the constant of value v. */
static lrp_tensor *constant_copy(const lrp_graph *g, int v, lrp_error *err)
{
    return lrp_tensor_clone(g->values[v].constant, err);
}

/* Maps removed outputs onto their replacements in one sweep over the graph. */
static void apply_aliases(lrp_graph *g, int *alias)
{
    for (int v = 0; v < g->n_values; v++) {
        int r = alias[v];
        if (r < 0)
            continue;
        int hops = 0;
        while (alias[r] >= 0 && hops++ < g->n_values)
            r = alias[r];
        alias[v] = r;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        lrp_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0 && alias[n->inputs[k]] >= 0)
                n->inputs[k] = alias[n->inputs[k]];
    }
    for (int k = 0; k < g->n_outputs; k++) {
        int v = g->outputs[k];
        if (alias[v] >= 0) {
            g->values[v].is_output = false;
            g->outputs[k] = alias[v];
            g->values[alias[v]].is_output = true;
        }
    }
}

static int drop_identities(lrp_graph *g, int *alias)
{
    int dropped = 0;
    for (int k = 0; k < g->n_order; k++) {
        lrp_node *n = &g->nodes[g->order[k]];
        if (!is_live_type(n, "Identity") && !is_live_type(n, "Dropout"))
            continue;
        if (n->n_inputs < 1 || n->inputs[0] < 0 || n->outputs[0] < 0)
            continue;
        bool mask_used = false;
        for (int o = 1; o < n->n_outputs; o++)
            if (n->outputs[o] >= 0 && g->values[n->outputs[o]].n_consumers > 0)
                mask_used = true;
        if (mask_used)
            continue;
        int out = n->outputs[0], in = n->inputs[0];
        if (g->values[out].is_output && (g->values[in].is_input || g->values[in].constant))
            continue; /* keep a graph that maps its input straight to its output */
        alias[out] = in;
        n->removed = true;
        dropped++;
    }
    return dropped;
}

static int strip_softmax(lrp_graph *g, int *alias)
{
    int stripped = 0;
    for (int k = 0; k < g->n_outputs; k++) {
        int v = g->outputs[k];
        int p = g->values[v].producer;
        if (p < 0)
            continue;
        lrp_node *n = &g->nodes[p];
        if ((!is_live_type(n, "Softmax") && !is_live_type(n, "LogSoftmax")) || g->values[v].n_consumers != 1)
            continue;
        int in = n->inputs[0];
        if (g->values[in].is_input || g->values[in].constant)
            continue;
        alias[v] = in;
        n->removed = true;
        char lb[64];
        lrp_graph_note(g, "stripped the final %s %s: the logits '%s' are explained", n->op_type,
                       lrp_node_label(g, n, lb, sizeof lb), g->values[in].name);
        stripped++;
    }
    return stripped;
}

/* Replaces a dense MatMul(x, W) node by Gemm(x, W) with transB = 0, in place
 * (same inputs/outputs), so that it can carry a bias. */
static lrp_status matmul_to_gemm(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_op *gemm = lrp_op_find("Gemm");
    if (!gemm)
        return lrp_fail(err, LRP_ERR_INTERNAL, "Gemm is not registered");
    if (n->op->destroy && n->state)
        n->op->destroy(n->state);
    n->state = NULL;
    char *t = malloc(5);
    if (!t)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    memcpy(t, "Gemm", 5);
    free(n->op_type);
    n->op_type = t;
    n->op = gemm;
    if (lrp_node_set_int(n, "transB", 0) != LRP_OK)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    return gemm->init ? gemm->init(g, n, err) : LRP_OK;
}

/* MatMul with a constant 2-D weight on a 2-D input can become a Gemm. */
static bool is_dense_matmul(const lrp_graph *g, const lrp_node *n)
{
    if (!is_live_type(n, "MatMul"))
        return false;
    const lrp_value *x = lrp_node_in(g, n, 0), *w = lrp_node_in(g, n, 1);
    return x && w && w->constant && w->constant->ndim == 2 && x->shape_known && x->ndim == 2;
}

/* Number of output channels of linear node n and the dim of W indexing them. */
static int64_t out_channels(const lrp_graph *g, const lrp_node *n, int *dim)
{
    *dim = n->op->linear->out_channel_dim(n);
    if (*dim < 0)
        return -1;
    const lrp_tensor *W = lrp_node_in(g, n, n->op->linear->weight_input)->constant;
    if (*dim >= W->ndim)
        return -1;
    if (!strcmp(n->op_type, "ConvTranspose"))
        return W->dims[1] * lrp_attr_int(n, "group", 1);
    return W->dims[*dim];
}

/* Multiplies W's slices along dim by scale (double arithmetic, rounded once). */
static void scale_weight(lrp_tensor *W, int dim, const double *scale)
{
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < dim; i++)
        outer *= W->dims[i];
    for (int i = dim + 1; i < W->ndim; i++)
        inner *= W->dims[i];
    int64_t C = W->dims[dim];
    float *w = lrp_f32(W);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < C; c++) {
            float *p = w + (o * C + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                p[i] = (float)((double)p[i] * scale[c]);
        }
}

static lrp_status fold_batchnorms(lrp_graph *g, int *alias, int *count, lrp_error *err)
{
    char lb[64], lb2[64];
    for (int k = 0; k < g->n_order; k++) {
        lrp_node *bn = &g->nodes[g->order[k]];
        if (!is_live_type(bn, "BatchNormalization") || bn->n_inputs < 5)
            continue;
        bool consts = true;
        for (int i = 1; i < 5; i++)
            consts = consts && lrp_node_in(g, bn, i) && lrp_node_in(g, bn, i)->constant;
        for (int o = 1; o < bn->n_outputs; o++)
            if (bn->outputs[o] >= 0 && g->values[bn->outputs[o]].n_consumers > 0)
                consts = false;
        int x = bn->inputs[0];
        int p = g->values[x].producer;
        if (!consts || p < 0 || sole_consumer(g, x) != (int)(bn - g->nodes))
            continue;
        lrp_node *lin = &g->nodes[p];
        if (lin->removed)
            continue;
        if (is_dense_matmul(g, lin)) {
            lrp_status st = matmul_to_gemm(g, lin, err);
            if (st != LRP_OK)
                return st;
        }
        lrp_group grp = lrp_node_group(g, lin);
        if ((grp != LRP_GROUP_CONV && grp != LRP_GROUP_CONVT && grp != LRP_GROUP_DENSE) || !lin->op->linear)
            continue;
        int dim;
        int64_t C = out_channels(g, lin, &dim);
        const lrp_tensor *gam = lrp_node_in(g, bn, 1)->constant, *bet = lrp_node_in(g, bn, 2)->constant,
                         *mu = lrp_node_in(g, bn, 3)->constant, *var = lrp_node_in(g, bn, 4)->constant;
        if (C <= 0 || gam->numel != C || bet->numel != C || mu->numel != C || var->numel != C ||
            gam->dtype != LRP_FLOAT32)
            continue;
        const lrp_value *bnx = &g->values[x];
        if (bnx->ndim < 2 || bnx->dims[1] != C)
            continue;
        double eps = lrp_attr_float(bn, "epsilon", 1e-5f);
        double *scale = malloc(sizeof(double) * (size_t)C);
        if (!scale)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        for (int64_t c = 0; c < C; c++)
            scale[c] = (double)lrp_f32(gam)[c] / sqrt((double)lrp_f32(var)[c] + eps);
        const lrp_linear *L = lin->op->linear;
        lrp_tensor *W = constant_copy(g, lin->inputs[L->weight_input], err);
        int64_t bdim = C;
        lrp_tensor *b = lrp_tensor_new(LRP_FLOAT32, 1, &bdim, err);
        if (!W || !b) {
            free(scale);
            lrp_tensor_free(W);
            lrp_tensor_free(b);
            return err ? err->status : LRP_ERR_NOMEM;
        }
        const lrp_value *ob = L->bias_input < lin->n_inputs ? lrp_node_in(g, lin, L->bias_input) : NULL;
        const float *old_b = ob && ob->constant && ob->constant->numel == C ? lrp_f32(ob->constant) : NULL;
        scale_weight(W, dim, scale);
        for (int64_t c = 0; c < C; c++)
            lrp_f32(b)[c] = (float)(((old_b ? (double)old_b[c] : 0.0) - (double)lrp_f32(mu)[c]) * scale[c] +
                                    (double)lrp_f32(bet)[c]);
        free(scale);
        int wv = new_constant(g, g->values[lin->inputs[L->weight_input]].name, W);
        int bv = new_constant(g, "bias", b);
        if (wv < 0 || bv < 0)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        lin->inputs[L->weight_input] = wv;
        if (set_input(lin, L->bias_input, bv) != LRP_OK)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        alias[bn->outputs[0]] = x;
        bn->removed = true;
        lrp_graph_note(g, "folded BatchNormalization %s into %s %s", lrp_node_label(g, bn, lb, sizeof lb),
                       lin->op_type, lrp_node_label(g, lin, lb2, sizeof lb2));
        (*count)++;
    }
    return LRP_OK;
}

/* Add(y, c) with constant c shaped as a per-channel bias of the layer that
 * produces y. */
static lrp_status fuse_bias_adds(lrp_graph *g, int *alias, int *count, lrp_error *err)
{
    char lb[64], lb2[64];
    for (int k = 0; k < g->n_order; k++) {
        lrp_node *add = &g->nodes[g->order[k]];
        if (!is_live_type(add, "Add") || add->n_inputs != 2)
            continue;
        int ci = lrp_node_in(g, add, 1)->constant ? 1 : lrp_node_in(g, add, 0)->constant ? 0 : -1;
        if (ci < 0)
            continue;
        int y = add->inputs[1 - ci];
        if (g->values[y].constant)
            continue;
        int p = g->values[y].producer;
        if (p < 0 || sole_consumer(g, y) != (int)(add - g->nodes))
            continue;
        lrp_node *lin = &g->nodes[p];
        if (lin->removed)
            continue;
        bool was_matmul = is_dense_matmul(g, lin);
        lrp_group grp = was_matmul ? LRP_GROUP_DENSE : lrp_node_group(g, lin);
        if (grp != LRP_GROUP_CONV && grp != LRP_GROUP_CONVT && grp != LRP_GROUP_DENSE)
            continue;
        const lrp_tensor *c = lrp_node_in(g, add, ci)->constant;
        const lrp_value *yv = &g->values[y];
        if (c->dtype != LRP_FLOAT32 || yv->ndim < 2)
            continue;
        int64_t C = yv->dims[1];
        /* c must broadcast as (C) for dense outputs, or (C,1,..,1) / (1,C,1,..,1) for conv */
        if (c->numel != C)
            continue;
        bool ok;
        if (grp == LRP_GROUP_DENSE) {
            ok = yv->ndim == 2 && c->ndim >= 1 && c->dims[c->ndim - 1] == C;
        } else {
            int sp = yv->ndim - 2;
            ok = c->ndim == sp + 1 || c->ndim == sp + 2;
            if (ok) {
                int off = c->ndim - (sp + 1);
                ok = c->dims[off] == C;
                for (int i = 0; i < off; i++)
                    ok = ok && c->dims[i] == 1;
            }
        }
        if (!ok)
            continue;
        /* the output shape of the Add must equal y's (no broadcasting beyond it) */
        const lrp_value *av = lrp_node_out(g, add, 0);
        if (!av || !lrp_dims_equal(av->ndim, av->dims, yv->ndim, yv->dims))
            continue;
        if (was_matmul) {
            lrp_status st = matmul_to_gemm(g, lin, err);
            if (st != LRP_OK)
                return st;
        }
        const lrp_linear *L = lin->op->linear;
        if (!L)
            continue;
        const lrp_value *ob = L->bias_input < lin->n_inputs ? lrp_node_in(g, lin, L->bias_input) : NULL;
        int64_t bdim = C;
        lrp_tensor *b = lrp_tensor_new(LRP_FLOAT32, 1, &bdim, err);
        if (!b)
            return err ? err->status : LRP_ERR_NOMEM;
        for (int64_t i = 0; i < C; i++)
            lrp_f32(b)[i] = (ob && ob->constant ? lrp_f32(ob->constant)[i] : 0.0f) + lrp_f32(c)[i];
        int bv = new_constant(g, "bias", b);
        if (bv < 0 || set_input(lin, L->bias_input, bv) != LRP_OK)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        alias[add->outputs[0]] = y;
        add->removed = true;
        lrp_graph_note(g, "fused the bias Add %s into %s %s", lrp_node_label(g, add, lb, sizeof lb),
                       was_matmul ? "MatMul (now Gemm)" : lin->op_type, lrp_node_label(g, lin, lb2, sizeof lb2));
        (*count)++;
    }
    return LRP_OK;
}

/* Runs one pass with a fresh alias table, then re-sorts the graph. */
static lrp_status finish_pass(lrp_graph *g, int *alias, lrp_error *err)
{
    apply_aliases(g, alias);
    for (int v = 0; v < g->n_values; v++)
        alias[v] = -1;
    return lrp_graph_sort(g, err);
}

/* The node producing value v if it is live and of one of the sigmoid types, else NULL. */
static const lrp_node *sigmoid_producer(const lrp_graph *g, int v)
{
    int p = v >= 0 ? g->values[v].producer : -1;
    if (p < 0)
        return NULL;
    const lrp_node *n = &g->nodes[p];
    return is_live_type(n, "Sigmoid") || is_live_type(n, "HardSigmoid") ? n : NULL;
}

/* The Mul is x * s(x) with s a Sigmoid or HardSigmoid: the index of x, else -1. */
static int activation_product(const lrp_graph *g, const lrp_node *n)
{
    if (!is_live_type(n, "Mul") || n->n_inputs != 2 || n->inputs[0] < 0 || n->inputs[1] < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        const lrp_node *s = sigmoid_producer(g, n->inputs[1 - i]);
        if (s && s->n_inputs >= 1 && s->inputs[0] == n->inputs[i])
            return i;
    }
    return -1;
}

/* Whether value v is computed from GlobalAveragePool(x) by a chain of layers
 * with constant weights (at least one) and activations. */
static bool squeezes(const lrp_graph *g, int v, int x)
{
    int layers = 0;
    for (int depth = 0; depth < 16 && v >= 0; depth++) {
        int p = g->values[v].producer;
        if (p < 0)
            return false;
        const lrp_node *n = &g->nodes[p];
        if (n->removed || n->n_inputs < 1)
            return false;
        if (!strcmp(n->op_type, "GlobalAveragePool"))
            return layers > 0 && n->inputs[0] == x;
        int a = activation_product(g, n);
        if (a >= 0) {
            v = n->inputs[a];
            continue;
        }
        lrp_group grp = lrp_node_group(g, n);
        if (!strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "Gemm"))
            layers++;
        else if (grp != LRP_GROUP_ACTIVATION && grp != LRP_GROUP_RELU)
            return false;
        v = n->inputs[0];
    }
    return false;
}

lrp_mul_kind lrp_mul_kind_of(const lrp_graph *g, const lrp_node *n, int *signal)
{
    *signal = activation_product(g, n);
    if (*signal >= 0)
        return LRP_MUL_ACTIVATION;
    if (!is_live_type(n, "Mul") || n->n_inputs != 2 || n->inputs[0] < 0 || n->inputs[1] < 0)
        return LRP_MUL_PLAIN;
    for (int i = 0; i < 2; i++) {
        const lrp_node *s = sigmoid_producer(g, n->inputs[1 - i]);
        if (s && s->n_inputs >= 1 && squeezes(g, s->inputs[0], n->inputs[i])) {
            *signal = i;
            return LRP_MUL_GATE;
        }
    }
    return LRP_MUL_PLAIN;
}

/* Notes the squeeze-excitation gates and activation products for `lrp inspect`. */
static void note_products(lrp_graph *g)
{
    int acts = 0;
    for (int k = 0; k < g->n_order; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        int x;
        lrp_mul_kind kind = lrp_mul_kind_of(g, n, &x);
        if (kind == LRP_MUL_GATE) {
            char buf[96];
            lrp_graph_note(g, "squeeze-excitation gate %s: signal %s (input %d)",
                           lrp_node_label(g, n, buf, sizeof buf), g->values[n->inputs[x]].name, x);
        }
        acts += kind == LRP_MUL_ACTIVATION;
    }
    if (acts)
        lrp_graph_note(g, "%d Mul%s of x and Sigmoid/HardSigmoid(x) taken as activations (SiLU, HardSwish)", acts,
                       acts == 1 ? "" : "s");
}

lrp_status lrp_canonize(lrp_graph *g, unsigned passes, lrp_error *err)
{
    /* room for values created by the passes: at most two per node */
    size_t cap = (size_t)g->n_values + 2 * (size_t)g->n_nodes + 16;
    int *alias = malloc(sizeof(int) * cap);
    if (!alias)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (size_t v = 0; v < cap; v++)
        alias[v] = -1;
    lrp_status st = LRP_OK;
    if (passes & LRP_CANON_DROP_IDENTITY) {
        int n = drop_identities(g, alias);
        if (n)
            lrp_graph_note(g, "dropped %d Identity/Dropout node%s", n, n == 1 ? "" : "s");
        st = finish_pass(g, alias, err);
    }
    if (st == LRP_OK && (passes & LRP_CANON_STRIP_SOFTMAX)) {
        strip_softmax(g, alias);
        st = finish_pass(g, alias, err);
    }
    if (st == LRP_OK && (passes & LRP_CANON_FUSE_BIAS)) {
        int n = 0;
        st = fuse_bias_adds(g, alias, &n, err);
        if (st == LRP_OK)
            st = finish_pass(g, alias, err);
    }
    if (st == LRP_OK && (passes & LRP_CANON_FOLD_BN)) {
        int n = 0;
        st = fold_batchnorms(g, alias, &n, err);
        if (st == LRP_OK)
            st = finish_pass(g, alias, err);
    }
    free(alias);
    if (st == LRP_OK)
        note_products(g);
    if (st != LRP_OK)
        lrp_error_prefix(err, "canonizing %s", g->path);
    return st;
}
