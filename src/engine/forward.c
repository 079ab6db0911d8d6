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

lrp_status lrp_forward(const lrp_graph *g, const lrp_tensor *const *inputs, const unsigned char *keep, lrp_tensor **vals,
                       lrp_error *err)
{
    return lrp_forward_ex(g, inputs, keep, NULL, vals, err);
}

/* The forward pass; with check_finite, each node's outputs are scanned and
 * the pass stops at the first that holds a NaN or an infinity. */
static lrp_status forward_run(const lrp_graph *g, const lrp_tensor *const *inputs, const unsigned char *keep,
                              const unsigned char *exact, lrp_tensor **vals, bool check_finite, lrp_error *err)
{
    int *remaining = malloc(sizeof(int) * (size_t)(g->n_values ? g->n_values : 1));
    if (!remaining)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int v = 0; v < g->n_values; v++)
        remaining[v] = g->values[v].n_consumers;
    lrp_status st = LRP_OK;
    for (int i = 0; i < g->n_inputs && st == LRP_OK; i++) {
        int v = g->inputs[i];
        if (!(vals[v] = lrp_tensor_clone(inputs[i], err)))
            st = err ? err->status : LRP_ERR_NOMEM;
    }
    const lrp_tensor *in[256];
    lrp_tensor *out[16];
    for (int k = 0; k < g->n_order && st == LRP_OK; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        if (lrp_node_is_static(g, n)) {
            /* folded at load time (e.g. Shape): its inputs are no longer needed by it */
            for (int i = 0; i < n->n_inputs; i++) {
                int v = n->inputs[i];
                if (v >= 0 && !g->values[v].constant && --remaining[v] == 0 && !(keep && keep[v]) &&
                    !g->values[v].is_output) {
                    lrp_tensor_free(vals[v]);
                    vals[v] = NULL;
                }
            }
            continue;
        }
        if (n->n_inputs > 256 || n->n_outputs > 16) {
            st = lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs or outputs");
            break;
        }
        for (int i = 0; i < 256; i++) /* unused slots read as omitted inputs */
            in[i] = i < n->n_inputs ? lrp_value_tensor(g, vals, n->inputs[i]) : NULL;
        /* Input 0 dies here (no later reader, not kept): an elementwise op
         * may write over it, a view op may take it as it is. */
        int v0 = n->n_inputs > 0 ? n->inputs[0] : -1;
        const lrp_value *ov = lrp_node_out(g, n, 0);
        bool reuse = v0 >= 0 && vals[v0] && remaining[v0] == 1 && !(keep && keep[v0]) && !g->values[v0].is_output &&
                     ov && (n->op->inplace || n->op->view) && vals[v0]->dtype == ov->dtype &&
                     vals[v0]->numel == lrp_numel_checked(ov->ndim, ov->dims);
        for (int i = 1; reuse && i < n->n_inputs; i++)
            if (n->inputs[i] == v0)
                reuse = false; /* the same value read twice */
        for (int o = 1; reuse && n->op->view && o < n->n_outputs; o++)
            if (n->outputs[o] >= 0)
                reuse = false; /* forward must still make the other outputs (Dropout's mask) */
        bool moved = false;
        for (int o = 0; o < n->n_outputs && st == LRP_OK; o++) {
            out[o] = NULL;
            const lrp_value *v = lrp_node_out(g, n, o);
            if (!v)
                continue;
            if (o == 0 && reuse) {
                out[0] = vals[v0];
                out[0]->ndim = v->ndim;
                memcpy(out[0]->dims, v->dims, sizeof out[0]->dims);
                vals[v0] = NULL;
                moved = true;
                continue;
            }
            out[o] = n->op->overwrites ? lrp_tensor_new_uninit(v->dtype, v->ndim, v->dims, err)
                                       : lrp_tensor_new(v->dtype, v->ndim, v->dims, err);
            if (!out[o])
                st = err ? err->status : LRP_ERR_NOMEM;
        }
        if (moved) {
            in[0] = out[0]; /* what forward reads and writes */
            remaining[v0]--;
        }
        if (st == LRP_OK && !(moved && n->op->view)) {
            double t0 = lrp_now();
            lrp_exec_ctx.exact = exact && exact[g->order[k]];
            st = n->op->forward(n, in, out, err);
            lrp_exec_ctx.exact = false;
            lrp_profile_add(n->op->type, lrp_now() - t0);
        }
        for (int o = 0; check_finite && st == LRP_OK && o < n->n_outputs; o++) {
            int64_t at = lrp_find_nonfinite(out[o]);
            if (at >= 0) {
                char sh[128];
                lrp_shape_str(out[o]->ndim, out[o]->dims, sh, sizeof sh);
                st = lrp_node_fail(err, n, LRP_ERR_NUMERIC,
                                   "the forward pass goes non-finite here: %s at element %lld of its output%s%.0d %s",
                                   lrp_nonfinite_name(lrp_f32(out[o])[at]), (long long)at, o ? " #" : "", o, sh);
            }
        }
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v >= 0 && st == LRP_OK && (g->values[v].n_consumers > 0 || (keep && keep[v])))
                vals[v] = out[o];
            else
                lrp_tensor_free(out[o]);
        }
        if (st != LRP_OK)
            break;
        for (int i = moved ? 1 : 0; i < n->n_inputs; i++) {
            int v = n->inputs[i];
            if (v < 0 || g->values[v].constant)
                continue;
            if (--remaining[v] == 0 && !(keep && keep[v]) && !g->values[v].is_output) {
                lrp_tensor_free(vals[v]);
                vals[v] = NULL;
            }
        }
    }
    free(remaining);
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

lrp_status lrp_forward_locate_nonfinite(const lrp_graph *g, const lrp_tensor *const *inputs, const unsigned char *exact,
                                        lrp_error *err)
{
    for (int i = 0; i < g->n_inputs; i++) {
        int64_t at = lrp_find_nonfinite(inputs[i]);
        if (at >= 0) {
            char sh[128];
            lrp_shape_str(inputs[i]->ndim, inputs[i]->dims, sh, sizeof sh);
            return lrp_fail(err, LRP_ERR_NUMERIC, "the input holds %s at element %lld of %s",
                            lrp_nonfinite_name(lrp_f32(inputs[i])[at]), (long long)at, sh);
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
