/* Canonizer passes: rewrite the graph into the form zennit's rules expect
 * (zennit-reference.md §3), without changing what the model computes:
 *  - drop Identity and Dropout;
 *  - strip a final Softmax/LogSoftmax so that the logits are explained;
 *  - fold BatchNormalization into the Conv/ConvTranspose/Gemm/MatMul feeding it
 *    (zennit 1.0's MergeBatchNorm: the BN becomes an exact identity);
 *  - fuse a MatMul (or a bias-less Gemm/Conv) followed by the Add of a constant
 *    bias into one layer with a bias, so that the bias enters z (a token-wise
 *    MatMul on 3-D/4-D inputs keeps its type and takes the bias as a third
 *    input);
 *  - fold ConvNeXt's LayerScale (Transpose, Mul by a per-channel constant)
 *    into the token-wise MatMul before it;
 *  - fuse PyTorch's exported GELU (Div, Erf, Add, Mul, Mul) into a Gelu node
 *    and its LayerNorm before opset 17 (ReduceMean, Sub, Pow, ReduceMean,
 *    Add, Sqrt, Div, Mul, Add) into a LayerNormalization node.
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

/* Whether node n alone reads value v, and once (the consumer counts of the last sort; the folds only ever take
 * readers away from a weight), so that a fold may change v's constant in place. */
static bool read_only_by(const lrp_graph *g, int v, const lrp_node *n)
{
    if (sole_consumer(g, v) != (int)(n - g->nodes))
        return false;
    int reads = 0;
    for (int k = 0; k < n->n_inputs; k++)
        reads += n->inputs[k] == v;
    return reads == 1;
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

/* MatMul with a constant 2-D weight on an input of rank 3 or more (a
 * token-wise or pixel-wise Linear): it stays a MatMul and takes a bias as a
 * third input, added over the last dim. */
static bool is_token_matmul(const lrp_graph *g, const lrp_node *n)
{
    if (!is_live_type(n, "MatMul") || n->n_inputs != 2)
        return false;
    const lrp_value *x = lrp_node_in(g, n, 0), *w = lrp_node_in(g, n, 1);
    return x && w && w->constant && w->constant->ndim == 2 && x->shape_known && x->ndim >= 3;
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
    lrp_real *w = lrp_reals(W);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < C; c++) {
            lrp_real *p = w + (o * C + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                p[i] = (lrp_real)((double)p[i] * scale[c]);
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
            gam->dtype != LRP_REAL_DT)
            continue;
        const lrp_value *bnx = &g->values[x];
        if (bnx->ndim < 2 || bnx->dims[1] != C)
            continue;
        double eps = lrp_attr_float(bn, "epsilon", 1e-5f);
        double *scale = malloc(sizeof(double) * (size_t)C);
        if (!scale)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        for (int64_t c = 0; c < C; c++)
            scale[c] = (double)lrp_reals(gam)[c] / sqrt((double)lrp_reals(var)[c] + eps);
        const lrp_linear *L = lin->op->linear;
        /* the weight scaled in place where this layer alone reads it (no copy of ResNet-50's 100 MB) */
        int wv = lin->inputs[L->weight_input];
        bool in_place = read_only_by(g, wv, lin);
        lrp_tensor *W = in_place ? g->values[wv].constant : constant_copy(g, wv, err);
        int64_t bdim = C;
        lrp_tensor *b = lrp_tensor_new(LRP_REAL_DT, 1, &bdim, err);
        if (!W || !b) {
            free(scale);
            if (!in_place)
                lrp_tensor_free(W);
            lrp_tensor_free(b);
            return err ? err->status : LRP_ERR_NOMEM;
        }
        const lrp_value *ob = L->bias_input < lin->n_inputs ? lrp_node_in(g, lin, L->bias_input) : NULL;
        const lrp_real *old_b = ob && ob->constant && ob->constant->numel == C ? lrp_reals(ob->constant) : NULL;
        scale_weight(W, dim, scale);
        for (int64_t c = 0; c < C; c++)
            lrp_reals(b)[c] = (lrp_real)(((old_b ? (double)old_b[c] : 0.0) - (double)lrp_reals(mu)[c]) * scale[c] +
                                         (double)lrp_reals(bet)[c]);
        free(scale);
        if (!in_place)
            wv = new_constant(g, g->values[wv].name, W);
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
        bool was_matmul = is_dense_matmul(g, lin), token_wise = is_token_matmul(g, lin);
        lrp_group grp = was_matmul ? LRP_GROUP_DENSE : lrp_node_group(g, lin);
        if (grp != LRP_GROUP_CONV && grp != LRP_GROUP_CONVT && grp != LRP_GROUP_DENSE)
            continue;
        const lrp_tensor *c = lrp_node_in(g, add, ci)->constant;
        const lrp_value *yv = &g->values[y];
        if (c->dtype != LRP_REAL_DT || yv->ndim < 2)
            continue;
        int64_t C = yv->dims[token_wise ? yv->ndim - 1 : 1];
        /* c must broadcast as (C) for dense outputs, or (C,1,..,1) / (1,C,1,..,1) for conv */
        if (c->numel != C)
            continue;
        bool ok;
        if (grp == LRP_GROUP_DENSE) {
            ok = (yv->ndim == 2 || token_wise) && c->ndim >= 1 && c->dims[c->ndim - 1] == C;
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
        lrp_tensor *b = lrp_tensor_new(LRP_REAL_DT, 1, &bdim, err);
        if (!b)
            return err ? err->status : LRP_ERR_NOMEM;
        for (int64_t i = 0; i < C; i++)
            lrp_reals(b)[i] = (ob && ob->constant ? lrp_reals(ob->constant)[i] : 0.0f) + lrp_reals(c)[i];
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

/* The index of the only entry of c that is not 1 in a shape right-aligned
 * with rank r, or -1 (several, or none). */
static int single_axis(const lrp_tensor *c, int r)
{
    int axis = -1;
    if (c->ndim > r)
        return -1;
    for (int i = 0; i < c->ndim; i++)
        if (c->dims[i] != 1) {
            if (axis >= 0)
                return -1;
            axis = r - c->ndim + i;
        }
    return axis;
}

/* ConvNeXt's LayerScale: a token-wise MatMul layer (with its bias fused),
 * a Transpose, and a Mul by a constant gamma with one value per channel of
 * the layer: gamma folds into the layer, W' = W diag(gamma), b' = gamma b,
 * and the Mul goes. */
static lrp_status fold_layer_scales(lrp_graph *g, int *alias, int *count, lrp_error *err)
{
    char lb[64], lb2[64];
    for (int k = 0; k < g->n_order; k++) {
        lrp_node *mul = &g->nodes[g->order[k]];
        if (!is_live_type(mul, "Mul") || mul->n_inputs != 2)
            continue;
        int ci = lrp_node_in(g, mul, 1)->constant ? 1 : lrp_node_in(g, mul, 0)->constant ? 0 : -1;
        if (ci < 0 || lrp_node_in(g, mul, 1 - ci)->constant)
            continue;
        int t = mul->inputs[1 - ci];
        int tp = g->values[t].producer;
        if (tp < 0 || sole_consumer(g, t) != (int)(mul - g->nodes) || !is_live_type(&g->nodes[tp], "Transpose"))
            continue;
        lrp_node *tr = &g->nodes[tp];
        int y = tr->inputs[0];
        int lp = g->values[y].producer;
        if (lp < 0 || sole_consumer(g, y) != tp || !is_live_type(&g->nodes[lp], "MatMul"))
            continue;
        lrp_node *lin = &g->nodes[lp];
        const lrp_value *yv = &g->values[y], *tv = &g->values[t], *mv = lrp_node_out(g, mul, 0);
        const lrp_tensor *gam = lrp_node_in(g, mul, ci)->constant;
        if (lrp_node_group(g, lin) != LRP_GROUP_DENSE || !yv->shape_known || yv->ndim < 2 || !mv ||
            !lrp_dims_equal(mv->ndim, mv->dims, tv->ndim, tv->dims) || gam->dtype != LRP_REAL_DT)
            continue;
        int64_t C = yv->dims[yv->ndim - 1];
        const int64_t *perm = NULL;
        int nperm = lrp_attr_ints(tr, "perm", &perm);
        int axis = single_axis(gam, tv->ndim);
        if (gam->numel != C || axis < 0 || !perm || nperm != yv->ndim || perm[axis] != yv->ndim - 1)
            continue;
        const lrp_value *ob = lin->n_inputs > 2 ? lrp_node_in(g, lin, 2) : NULL;
        lrp_tensor *W = constant_copy(g, lin->inputs[1], err);
        lrp_tensor *b = ob && ob->constant ? constant_copy(g, lin->inputs[2], err) : NULL;
        double *scale = malloc(sizeof(double) * (size_t)C);
        if (!W || (ob && ob->constant && !b) || !scale) {
            lrp_tensor_free(W);
            lrp_tensor_free(b);
            free(scale);
            return err && err->status ? err->status : lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        }
        for (int64_t c = 0; c < C; c++)
            scale[c] = lrp_reals(gam)[c];
        scale_weight(W, 1, scale);
        for (int64_t c = 0; b && c < C; c++)
            lrp_reals(b)[c] = (lrp_real)((double)lrp_reals(b)[c] * scale[c]);
        free(scale);
        int wv = new_constant(g, g->values[lin->inputs[1]].name, W);
        int bv = b ? new_constant(g, "bias", b) : -2;
        if (wv < 0 || bv == -1)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        lin->inputs[1] = wv;
        if (b)
            lin->inputs[2] = bv;
        alias[mul->outputs[0]] = t;
        mul->removed = true;
        lrp_graph_note(g, "folded the LayerScale Mul %s into %s %s", lrp_node_label(g, mul, lb, sizeof lb),
                       lin->op_type, lrp_node_label(g, lin, lb2, sizeof lb2));
        (*count)++;
    }
    return LRP_OK;
}

/* The float value of a one-element float constant input i of n, or NAN. */
static double scalar_in(const lrp_graph *g, const lrp_node *n, int i)
{
    const lrp_value *v = i < n->n_inputs ? lrp_node_in(g, n, i) : NULL;
    if (!v || !v->constant || v->constant->dtype != LRP_REAL_DT || v->constant->numel != 1)
        return NAN;
    return lrp_reals(v->constant)[0];
}

/* The node consuming value v alone, if it is a live node of the type with two inputs. */
static lrp_node *sole_of_type(lrp_graph *g, int v, const char *type)
{
    int c = sole_consumer(g, v);
    if (c < 0 || !is_live_type(&g->nodes[c], type) || g->nodes[c].n_inputs != 2)
        return NULL;
    return &g->nodes[c];
}

/* The other input of a two-input node than value v (-1 when both are v). */
static int other_input(const lrp_node *n, int v) { return n->inputs[0] == v ? n->inputs[1] : n->inputs[0]; }

/* PyTorch's exported GELU, Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5),
 * becomes one Gelu node (zennit's activation), in place of the last Mul. */
static lrp_status fuse_gelus(lrp_graph *g, int *count, lrp_error *err)
{
    char lb[64];
    const lrp_op *gelu = lrp_op_find("Gelu");
    for (int k = 0; k < g->n_order && gelu; k++) {
        lrp_node *erf = &g->nodes[g->order[k]];
        if (!is_live_type(erf, "Erf") || erf->n_inputs != 1 || erf->inputs[0] < 0)
            continue;
        int d = erf->inputs[0], dp = g->values[d].producer;
        if (dp < 0 || sole_consumer(g, d) != (int)(erf - g->nodes) || !is_live_type(&g->nodes[dp], "Div"))
            continue;
        lrp_node *div = &g->nodes[dp];
        int x = div->inputs[0];
        if (div->n_inputs != 2 || g->values[x].constant || fabs(scalar_in(g, div, 1) - sqrt(2.0)) > 1e-6)
            continue;
        lrp_node *add = sole_of_type(g, erf->outputs[0], "Add");
        if (!add || fabs(scalar_in(g, add, add->inputs[0] == erf->outputs[0] ? 1 : 0) - 1.0) != 0.0)
            continue;
        lrp_node *m1 = sole_of_type(g, add->outputs[0], "Mul");
        if (!m1 || other_input(m1, add->outputs[0]) != x)
            continue;
        lrp_node *m2 = sole_of_type(g, m1->outputs[0], "Mul");
        if (!m2 || scalar_in(g, m2, m2->inputs[0] == m1->outputs[0] ? 1 : 0) != 0.5)
            continue;
        const lrp_value *xv = &g->values[x], *yv = lrp_node_out(g, m2, 0);
        if (!xv->shape_known || !yv || !lrp_dims_equal(xv->ndim, xv->dims, yv->ndim, yv->dims))
            continue;
        if (m2->op->destroy && m2->state)
            m2->op->destroy(m2->state);
        m2->state = NULL;
        char *t = malloc(5);
        if (!t)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        memcpy(t, "Gelu", 5);
        free(m2->op_type);
        m2->op_type = t;
        m2->op = gelu;
        m2->inputs[0] = x;
        m2->n_inputs = 1;
        lrp_status st = gelu->init ? gelu->init(g, m2, err) : LRP_OK;
        if (st != LRP_OK)
            return st;
        div->removed = erf->removed = add->removed = m1->removed = true;
        lrp_graph_note(g, "fused the Erf GELU pattern into Gelu %s", lrp_node_label(g, m2, lb, sizeof lb));
        (*count)++;
    }
    return LRP_OK;
}

/* The node consuming value v alone, if it is a live node of the type. */
static lrp_node *sole_node(lrp_graph *g, int v, const char *type)
{
    int c = sole_consumer(g, v);
    return c >= 0 && is_live_type(&g->nodes[c], type) ? &g->nodes[c] : NULL;
}

/* A ReduceMean of value x over its last axis alone, keeping dims (axes as an attribute). */
static bool mean_last_axis(const lrp_graph *g, const lrp_node *n, int x)
{
    const int64_t *axes;
    int na = lrp_attr_ints(n, "axes", &axes), r = g->values[x].ndim;
    return n->n_inputs == 1 && n->inputs[0] == x && na == 1 && (axes[0] == -1 || axes[0] == r - 1) &&
           lrp_attr_int(n, "keepdims", 1) == 1;
}

/* A constant input i of n with one value per element of the last axis (length L). */
static bool per_last_axis(const lrp_graph *g, const lrp_node *n, int i, int64_t L)
{
    const lrp_value *v = lrp_node_in(g, n, i);
    return v && v->constant && v->constant->dtype == LRP_REAL_DT && v->constant->numel == L &&
           v->constant->ndim >= 1 && v->constant->dims[v->constant->ndim - 1] == L;
}

/* The nodes of one exported LayerNorm, the pattern of fuse_layernorms. */
typedef struct ln_pattern {
    lrp_node *mean, *sub, *pow, *var, *add_eps, *sqrt, *div, *mul, *add_b;
    double eps;
} ln_pattern;

/* Whether ReduceMean node m starts the pattern; fills p. */
static bool match_layernorm(lrp_graph *g, lrp_node *m, ln_pattern *p)
{
    int x = m->n_inputs == 1 ? m->inputs[0] : -1;
    if (x < 0 || g->values[x].constant || !g->values[x].shape_known || g->values[x].ndim < 1 ||
        !mean_last_axis(g, m, x))
        return false;
    int64_t L = g->values[x].dims[g->values[x].ndim - 1];
    p->mean = m;
    p->sub = sole_node(g, m->outputs[0], "Sub");
    if (!p->sub || p->sub->n_inputs != 2 || p->sub->inputs[0] != x || p->sub->inputs[1] != m->outputs[0])
        return false;
    int d = p->sub->outputs[0];
    if (g->values[d].is_output || g->values[d].n_consumers != 2)
        return false;
    p->pow = p->div = NULL;
    for (int k = 0; k < g->n_order; k++) {
        lrp_node *n = &g->nodes[g->order[k]];
        if (!n->removed && n->n_inputs == 2 && n->inputs[0] == d)
            *(is_live_type(n, "Pow") ? &p->pow : is_live_type(n, "Div") ? &p->div : &p->mul) = n;
    }
    if (!p->pow || !p->div || scalar_in(g, p->pow, 1) != 2.0)
        return false;
    p->var = sole_node(g, p->pow->outputs[0], "ReduceMean");
    if (!p->var || !mean_last_axis(g, p->var, p->pow->outputs[0]))
        return false;
    p->add_eps = sole_node(g, p->var->outputs[0], "Add");
    if (!p->add_eps || p->add_eps->n_inputs != 2)
        return false;
    p->eps = scalar_in(g, p->add_eps, p->add_eps->inputs[0] == p->var->outputs[0] ? 1 : 0);
    if (!(p->eps >= 0.0))
        return false;
    p->sqrt = sole_node(g, p->add_eps->outputs[0], "Sqrt");
    if (!p->sqrt || sole_consumer(g, p->sqrt->outputs[0]) != (int)(p->div - g->nodes) ||
        p->div->inputs[1] != p->sqrt->outputs[0])
        return false;
    p->mul = sole_node(g, p->div->outputs[0], "Mul");
    if (!p->mul || p->mul->n_inputs != 2 || p->mul->inputs[0] != p->div->outputs[0] || !per_last_axis(g, p->mul, 1, L))
        return false;
    p->add_b = sole_node(g, p->mul->outputs[0], "Add");
    if (!p->add_b || p->add_b->n_inputs != 2 || p->add_b->inputs[0] != p->mul->outputs[0] ||
        !per_last_axis(g, p->add_b, 1, L))
        return false;
    const lrp_value *yv = lrp_node_out(g, p->add_b, 0);
    return yv && lrp_dims_equal(yv->ndim, yv->dims, g->values[x].ndim, g->values[x].dims);
}

/* PyTorch's LayerNorm as exported before opset 17, Add(Mul(Div(x - mean x,
 * Sqrt(ReduceMean((x - mean x)^2) + eps)), w), b) over the last axis,
 * becomes one LayerNormalization node (axis -1), in place of the last Add. */
static lrp_status fuse_layernorms(lrp_graph *g, int *count, lrp_error *err)
{
    char lb[64];
    const lrp_op *lnop = lrp_op_find("LayerNormalization");
    for (int k = 0; k < g->n_order && lnop; k++) {
        lrp_node *m = &g->nodes[g->order[k]];
        ln_pattern p;
        if (!is_live_type(m, "ReduceMean") || !match_layernorm(g, m, &p))
            continue;
        lrp_node *n = p.add_b;
        int x = m->inputs[0], w = p.mul->inputs[1], b = n->inputs[1];
        if (n->op->destroy && n->state)
            n->op->destroy(n->state);
        n->state = NULL;
        char *t = malloc(sizeof "LayerNormalization");
        int *in = realloc(n->inputs, sizeof(int) * 3);
        if (!t || !in) {
            free(t);
            if (in)
                n->inputs = in;
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        }
        memcpy(t, "LayerNormalization", sizeof "LayerNormalization");
        free(n->op_type);
        n->op_type = t;
        n->op = lnop;
        n->inputs = in;
        n->inputs[0] = x;
        n->inputs[1] = w;
        n->inputs[2] = b;
        n->n_inputs = 3;
        if (lrp_node_set_int(n, "axis", -1) != LRP_OK || lrp_node_set_float(n, "epsilon", (lrp_real)p.eps) != LRP_OK)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        lrp_status st = lnop->init ? lnop->init(g, n, err) : LRP_OK;
        if (st != LRP_OK)
            return st;
        p.mean->removed = p.sub->removed = p.pow->removed = p.var->removed = true;
        p.add_eps->removed = p.sqrt->removed = p.div->removed = p.mul->removed = true;
        lrp_graph_note(g, "fused the LayerNorm pattern into LayerNormalization %s",
                       lrp_node_label(g, n, lb, sizeof lb));
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

/* Whether value v is an activation: neither a constant nor folded. */
static bool is_activation(const lrp_graph *g, int v) { return v >= 0 && !g->values[v].constant; }

/* Whether value v reaches a Softmax through a chain of single consumers that
 * reshape it, scale it or add a constant to it (Swin's bias and mask). */
static bool reaches_softmax(const lrp_graph *g, int v)
{
    static const char *const through[] = {"Reshape", "Transpose", "Mul", "Div", "Add", "Sub"};
    for (int depth = 0; depth < 8; depth++) {
        int c = sole_consumer(g, v);
        if (c < 0)
            return false;
        const lrp_node *n = &g->nodes[c];
        if (is_live_type(n, "Softmax"))
            return true;
        bool ok = false;
        for (size_t i = 0; i < sizeof through / sizeof *through && !ok; i++)
            ok = is_live_type(n, through[i]);
        if (!ok || n->n_outputs < 1 || n->outputs[0] < 0)
            return false;
        /* the other operand of a binary op must be a constant */
        for (int i = 0; i < n->n_inputs && strcmp(n->op_type, "Reshape") && strcmp(n->op_type, "Transpose"); i++)
            if (n->inputs[i] != v && is_activation(g, n->inputs[i]))
                return false;
        v = n->outputs[0];
    }
    return false;
}

lrp_matmul_kind lrp_matmul_kind_of(const lrp_graph *g, const lrp_node *n, int *weights)
{
    *weights = -1;
    /* an Einsum of two activations is MaxViT's attention product */
    if ((!is_live_type(n, "MatMul") && !is_live_type(n, "Einsum")) || n->n_inputs != 2 ||
        !is_activation(g, n->inputs[0]) || !is_activation(g, n->inputs[1]) || n->n_outputs < 1 || n->outputs[0] < 0)
        return LRP_MATMUL_PLAIN;
    for (int i = 0; i < 2; i++) {
        int p = g->values[n->inputs[i]].producer;
        if (p >= 0 && is_live_type(&g->nodes[p], "Softmax")) {
            *weights = i;
            return LRP_MATMUL_VALUE;
        }
    }
    return reaches_softmax(g, n->outputs[0]) ? LRP_MATMUL_SCORE : LRP_MATMUL_PLAIN;
}

/* Whether an op only moves or scales values (what lies between a projection
 * and its attention MatMul). */
static bool routes(const lrp_node *n)
{
    static const char *const types[] = {"Reshape",   "Transpose", "Slice", "Gather",   "Split",  "Squeeze",
                                        "Unsqueeze", "Mul",       "Div",   "Identity", "Dropout"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (is_live_type(n, types[i]))
            return true;
    return false;
}

/* Whether value v reaches an attention MatMul through routing ops, depth-limited. */
static bool feeds_attention(const lrp_graph *g, int v, int depth)
{
    int cons[16];
    int nc = lrp_graph_consumers(g, v, cons, 16);
    for (int i = 0; i < nc && i < 16; i++) {
        const lrp_node *c = &g->nodes[cons[i]];
        int a;
        if (lrp_matmul_kind_of(g, c, &a) != LRP_MATMUL_PLAIN)
            return true;
        if (depth > 0 && routes(c))
            for (int o = 0; o < c->n_outputs; o++)
                if (c->outputs[o] >= 0 && feeds_attention(g, c->outputs[o], depth - 1))
                    return true;
    }
    return false;
}

bool lrp_attention_projection(const lrp_graph *g, const lrp_node *n)
{
    if (n->n_outputs < 1 || n->outputs[0] < 0 || n->n_inputs < 1 || n->inputs[0] < 0)
        return false;
    if (feeds_attention(g, n->outputs[0], 6))
        return true;
    int v = n->inputs[0];
    for (int depth = 0; depth < 6 && v >= 0; depth++) {
        int p = g->values[v].producer;
        if (p < 0)
            return false;
        const lrp_node *q = &g->nodes[p];
        int a;
        if (lrp_matmul_kind_of(g, q, &a) == LRP_MATMUL_VALUE)
            return true;
        if (!is_live_type(q, "Reshape") && !is_live_type(q, "Transpose"))
            return false;
        v = q->inputs[0];
    }
    return false;
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
    int scores = 0, values = 0;
    for (int k = 0; k < g->n_order; k++) {
        int a;
        lrp_matmul_kind kind = lrp_matmul_kind_of(g, &g->nodes[g->order[k]], &a);
        scores += kind == LRP_MATMUL_SCORE;
        values += kind == LRP_MATMUL_VALUE;
    }
    if (scores || values)
        lrp_graph_note(g, "attention: %d score MatMul%s (Q, K^T) and %d value MatMul%s (Softmax output, V)", scores,
                       scores == 1 ? "" : "s", values, values == 1 ? "" : "s");
}

/* LRP_CANON_ZERO_BIASES: zeroes the constant bias inputs of the layers (and a
 * BatchNormalization's shift: B and the mean); the number zeroed. */
static int zero_biases(lrp_graph *g)
{
    int n = 0;
    for (int k = 0; k < g->n_order; k++) {
        const lrp_node *nd = &g->nodes[g->order[k]];
        int first = 2, last = 2;
        if (!strcmp(nd->op_type, "BatchNormalization"))
            last = 3;
        else if (strcmp(nd->op_type, "Conv") && strcmp(nd->op_type, "ConvTranspose") && strcmp(nd->op_type, "Gemm") &&
                 strcmp(nd->op_type, "MatMul") && strcmp(nd->op_type, "LayerNormalization"))
            continue;
        for (int i = first; i <= last && i < nd->n_inputs; i++) {
            lrp_tensor *c = nd->inputs[i] >= 0 ? g->values[nd->inputs[i]].constant : NULL;
            if (!c || c->dtype != LRP_REAL_DT || !c->numel)
                continue;
            memset(c->data, 0, (size_t)c->numel * lrp_elem_size(c));
            n += i == first;
        }
    }
    return n;
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
    if (st == LRP_OK && (passes & LRP_CANON_FUSE_BIAS)) {
        int n = 0;
        st = fold_layer_scales(g, alias, &n, err);
        if (st == LRP_OK)
            st = finish_pass(g, alias, err);
    }
    if (st == LRP_OK && (passes & LRP_CANON_GELU)) {
        int n = 0;
        st = fuse_layernorms(g, &n, err);
        if (st == LRP_OK)
            st = finish_pass(g, alias, err);
    }
    if (st == LRP_OK && (passes & LRP_CANON_GELU)) {
        int n = 0;
        st = fuse_gelus(g, &n, err);
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
    if (st == LRP_OK && (passes & LRP_CANON_ZERO_BIASES)) {
        int n = zero_biases(g);
        lrp_graph_note(g, "set the biases of %d layer%s to zero (--zero-biases)", n, n == 1 ? "" : "s");
    }
    if (st == LRP_OK)
        note_products(g);
    if (st != LRP_OK)
        lrp_error_prefix(err, "canonizing %s", g->path);
    return st;
}
