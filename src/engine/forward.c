/* Forward engine. */
#include "engine/forward.h"

#include "ops/op.h"
#include "graph/shape_infer.h"
#include "base/clock.h"
#include "base/exec.h"
#include "base/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void lrp_vals_clear(const lrp_graph *g, lrp_tensor **vals)
{
    for (int v = 0; v < g->n_values; v++) {
        lrp_tensor_free(vals[v]);
        vals[v] = NULL;
    }
}

lrp_status lrp_forward(const lrp_graph *g, const lrp_tensor *const *inputs, const unsigned char *keep,
                       lrp_tensor **vals, lrp_error *err)
{
    return lrp_forward_ex(g, inputs, keep, NULL, vals, err);
}

/* What the pass carries from node to node. */
typedef struct fwd_run {
    const lrp_graph *g;
    const unsigned char *keep; /* per value: kept for the caller (may be NULL) */
    int *remaining;            /* per value: consumers still to run */
    lrp_tensor **vals;
} fwd_run;

static bool dies(const fwd_run *r, int v) { return !(r->keep && r->keep[v]) && !r->g->values[v].is_output; }

/* The node has read its inputs from `from` on: those with no reader left die. */
static void release_inputs(fwd_run *r, const lrp_node *n, int from)
{
    for (int i = from; i < n->n_inputs; i++) {
        int v = n->inputs[i];
        if (v >= 0 && !r->g->values[v].constant && --r->remaining[v] == 0 && dies(r, v)) {
            lrp_tensor_free(r->vals[v]);
            r->vals[v] = NULL;
        }
    }
}

/* Input 0 dies here (no later reader, not kept): an elementwise op may write
 * over it, a view op may take it as it is. */
static bool can_reuse_input0(const fwd_run *r, const lrp_node *n)
{
    const lrp_graph *g = r->g;
    int v0 = n->n_inputs > 0 ? n->inputs[0] : -1;
    const lrp_value *ov = lrp_node_out(g, n, 0);
    const lrp_tensor *t = v0 >= 0 ? r->vals[v0] : NULL;
    bool reuse = t && r->remaining[v0] == 1 && dies(r, v0) && ov && (n->op->inplace || n->op->view) &&
                 t->dtype == ov->dtype && t->numel == lrp_numel_checked(ov->ndim, ov->dims);
    for (int i = 1; reuse && i < n->n_inputs; i++)
        if (n->inputs[i] == v0)
            reuse = false; /* the same value read twice */
    for (int o = 1; reuse && n->op->view && o < n->n_outputs; o++)
        if (n->outputs[o] >= 0)
            reuse = false; /* forward must still make the other outputs (Dropout's mask) */
    return reuse;
}

/* The node's output tensors: new ones, or input 0's buffer moved to output 0. */
static lrp_status make_outputs(fwd_run *r, const lrp_node *n, bool reuse, lrp_tensor **out, lrp_error *err)
{
    for (int o = 0; o < n->n_outputs; o++) {
        const lrp_value *v = lrp_node_out(r->g, n, o);
        if (!v)
            continue;
        if (o == 0 && reuse) {
            out[0] = r->vals[n->inputs[0]];
            out[0]->ndim = v->ndim;
            memcpy(out[0]->dims, v->dims, sizeof out[0]->dims);
            r->vals[n->inputs[0]] = NULL;
            continue;
        }
        out[o] = n->op->overwrites ? lrp_tensor_new_uninit(v->dtype, v->ndim, v->dims, err)
                                   : lrp_tensor_new(v->dtype, v->ndim, v->dims, err);
        if (!out[o])
            return err ? err->status : LRP_ERR_NOMEM;
    }
    return LRP_OK;
}

static lrp_status scan_outputs(const lrp_node *n, lrp_tensor *const *out, lrp_error *err)
{
    for (int o = 0; o < n->n_outputs; o++) {
        int64_t at = lrp_find_nonfinite(out[o]);
        if (at >= 0) {
            char sh[128];
            lrp_shape_str(out[o]->ndim, out[o]->dims, sh, sizeof sh);
            return lrp_node_fail(err, n, LRP_ERR_NUMERIC,
                                 "the forward pass goes non-finite here: %s at element %lld of its output%s%.0d %s",
                                 lrp_nonfinite_name(lrp_reals(out[o])[at]), (long long)at, o ? " #" : "", o, sh);
        }
    }
    return LRP_OK;
}

/* One node: its outputs, its forward (unless a view took its input), the
 * outputs that someone reads kept, the inputs that die freed. */
static lrp_status run_node(fwd_run *r, int ni, bool exact, bool check_finite, lrp_error *err)
{
    const lrp_graph *g = r->g;
    const lrp_node *n = &g->nodes[ni];
    if (n->n_inputs > 256 || n->n_outputs > 16)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs or outputs");
    const lrp_tensor *in[256];
    lrp_tensor *out[16] = {0};
    for (int i = 0; i < 256; i++) /* unused slots read as omitted inputs */
        in[i] = i < n->n_inputs ? lrp_value_tensor(g, r->vals, n->inputs[i]) : NULL;
    const bool moved = can_reuse_input0(r, n);
    lrp_status st = make_outputs(r, n, moved, out, err);
    if (moved) {
        in[0] = out[0]; /* what forward reads and writes */
        r->remaining[n->inputs[0]]--;
    }
    if (st == LRP_OK && !(moved && n->op->view)) {
        double t0 = lrp_now();
        lrp_exec_ctx.exact = exact;
        st = n->op->forward(n, in, out, err);
        lrp_exec_ctx.exact = false;
        lrp_profile_add(n->op->type, lrp_now() - t0);
    }
    if (check_finite && st == LRP_OK)
        st = scan_outputs(n, out, err);
    for (int o = 0; o < n->n_outputs; o++) {
        int v = n->outputs[o];
        if (v >= 0 && st == LRP_OK && (g->values[v].n_consumers > 0 || (r->keep && r->keep[v])))
            r->vals[v] = out[o];
        else
            lrp_tensor_free(out[o]);
    }
    if (st == LRP_OK)
        release_inputs(r, n, moved ? 1 : 0);
    return st;
}

/* The forward pass; with check_finite, each node's outputs are scanned and
 * the pass stops at the first that holds a NaN or an infinity. */
static lrp_status forward_run(const lrp_graph *g, const lrp_tensor *const *inputs, const unsigned char *keep,
                              const unsigned char *exact, lrp_tensor **vals, bool check_finite, lrp_error *err)
{
    fwd_run r = {g, keep, malloc(sizeof(int) * (size_t)(g->n_values ? g->n_values : 1)), vals};
    if (!r.remaining)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int v = 0; v < g->n_values; v++)
        r.remaining[v] = g->values[v].n_consumers;
    lrp_status st = LRP_OK;
    for (int i = 0; i < g->n_inputs && st == LRP_OK; i++) {
        int v = g->inputs[i];
        if (!(vals[v] = lrp_tensor_clone(inputs[i], err)))
            st = err ? err->status : LRP_ERR_NOMEM;
    }
    for (int k = 0; k < g->n_order && st == LRP_OK; k++) {
        int ni = g->order[k];
        if (lrp_node_is_static(g, &g->nodes[ni]))
            release_inputs(&r, &g->nodes[ni], 0); /* folded at load time (e.g. Shape) */
        else
            st = run_node(&r, ni, exact && exact[ni], check_finite, err);
    }
    free(r.remaining);
    if (st != LRP_OK) {
        lrp_error_prefix(err, "%s", g->path);
        lrp_vals_clear(g, vals);
    }
    return st;
}

lrp_status lrp_forward_ex(const lrp_graph *g, const lrp_tensor *const *inputs, const unsigned char *keep,
                          const unsigned char *exact, lrp_tensor **vals, lrp_error *err)
{
    return forward_run(g, inputs, keep, exact, vals, false, err);
}

lrp_status lrp_forward_locate_nonfinite(const lrp_graph *g, const lrp_tensor *const *inputs,
                                        const unsigned char *exact, lrp_error *err)
{
    for (int i = 0; i < g->n_inputs; i++) {
        int64_t at = lrp_find_nonfinite(inputs[i]);
        if (at >= 0) {
            char sh[128];
            lrp_shape_str(inputs[i]->ndim, inputs[i]->dims, sh, sizeof sh);
            return lrp_fail(err, LRP_ERR_NUMERIC, "the input holds %s at element %lld of %s",
                            lrp_nonfinite_name(lrp_reals(inputs[i])[at]), (long long)at, sh);
        }
    }
    lrp_tensor **vals = calloc((size_t)g->n_values + 1, sizeof *vals);
    if (!vals)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    lrp_status st = forward_run(g, inputs, NULL, exact, vals, true, err);
    lrp_vals_clear(g, vals);
    free(vals);
    return st;
}
