/* Shape inference and constant folding. */
#include "graph/shape_infer.h"

#include "ops/op.h"

#include <stdlib.h>
#include <string.h>

bool lrp_node_is_static(const lrp_graph *g, const lrp_node *n)
{
    bool any = false;
    for (int k = 0; k < n->n_outputs; k++) {
        int v = n->outputs[k];
        if (v < 0)
            continue;
        if (!g->values[v].constant)
            return false;
        any = true;
    }
    return any;
}

static void set_from_tensor(lrp_value *v)
{
    v->dtype = v->constant->dtype;
    v->ndim = v->constant->ndim;
    memcpy(v->dims, v->constant->dims, sizeof v->dims);
    v->shape_known = true;
}

/* Runs a node whose inputs are all constant and keeps its outputs. */
static lrp_status fold(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_tensor *in[64];
    lrp_tensor *out[16] = {0};
    if (n->n_inputs > 64 || n->n_outputs > 16)
        return LRP_OK; /* not worth folding */
    for (int i = 0; i < 64; i++)
        in[i] = i < n->n_inputs && n->inputs[i] >= 0 ? g->values[n->inputs[i]].constant : NULL;
    lrp_status st = LRP_OK;
    for (int k = 0; k < n->n_outputs && st == LRP_OK; k++) {
        lrp_value *v = lrp_node_out(g, n, k);
        if (v && !(out[k] = lrp_tensor_new(v->dtype, v->ndim, v->dims, err)))
            st = err ? err->status : LRP_ERR_NOMEM;
    }
    if (st == LRP_OK)
        st = n->op->forward(n, in, out, err);
    for (int k = 0; k < n->n_outputs; k++) {
        lrp_value *v = lrp_node_out(g, n, k);
        if (st == LRP_OK && v) {
            v->constant = out[k];
            v->folded = true;
        } else {
            lrp_tensor_free(out[k]);
        }
    }
    return st;
}

lrp_status lrp_graph_infer(lrp_graph *g, const int *ndims, const int64_t (*dims)[LRP_MAX_DIMS], lrp_error *err)
{
    char lb[64];
    for (int v = 0; v < g->n_values; v++) {
        lrp_value *val = &g->values[v];
        if (val->folded) {
            lrp_tensor_free(val->constant);
            val->constant = NULL;
            val->folded = false;
        }
        val->shape_known = false;
        if (val->constant)
            set_from_tensor(val);
    }
    for (int i = 0; i < g->n_inputs; i++) {
        lrp_value *val = &g->values[g->inputs[i]];
        val->dtype = LRP_REAL_DT;
        val->ndim = ndims[i];
        memcpy(val->dims, dims[i], sizeof val->dims);
        val->shape_known = true;
    }
    for (int k = 0; k < g->n_order; k++) {
        lrp_node *n = &g->nodes[g->order[k]];
        bool all_const = true;
        for (int i = 0; i < n->n_inputs; i++) {
            lrp_value *v = lrp_node_in(g, n, i);
            if (!v)
                continue;
            if (!v->shape_known)
                return lrp_fail(err, LRP_ERR_INTERNAL, "%s: node %s reads '%s' before its shape is known", g->path,
                                lrp_node_label(g, n, lb, sizeof lb), v->name);
            if (!v->constant)
                all_const = false;
        }
        lrp_status st = n->op->infer(g, n, err);
        if (st == LRP_OK) {
            for (int o = 0; o < n->n_outputs; o++) {
                lrp_value *v = lrp_node_out(g, n, o);
                if (v && !v->shape_known && !v->constant) {
                    /* an output beyond those the op produces: a malformed node */
                    st = o > 0 ? lrp_node_fail(err, n, LRP_ERR_FORMAT,
                                               "has %d outputs; %s does not produce output "
                                               "#%d '%s'",
                                               n->n_outputs, n->op_type, o, v->name)
                               : lrp_node_fail(err, n, LRP_ERR_INTERNAL, "output '%s' got no shape", v->name);
                    break;
                }
                if (v && v->shape_known && lrp_numel_checked(v->ndim, v->dims) < 0) {
                    char sb[160];
                    st = lrp_node_fail(err, n, LRP_ERR_LIMIT, "output '%s' of shape %s is too large", v->name,
                                       lrp_shape_str(v->ndim, v->dims, sb, sizeof sb));
                    break;
                }
            }
        }
        if (st == LRP_OK && all_const && n->n_inputs > 0 && !lrp_node_is_static(g, n))
            st = fold(g, n, err);
        if (st != LRP_OK) {
            lrp_error_prefix(err, "%s", g->path);
            return st;
        }
    }
    return LRP_OK;
}
