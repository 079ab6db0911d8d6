/* Backward engine: the reverse sweep. Every node that relevance reaches gets
 * it at its first output and sends it to its inputs through the plan's
 * per-node work (an LRP rule or the op's gradient); relevance from several
 * consumers of a value is summed (zennit-reference.md §0). */
#include "engine/backward.h"

#include "engine/forward.h"
#include "graph/shape_infer.h"
#include "ops/op.h"
#include "base/tensor.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INPUTS 256

static void free_value(lrp_tensor **t, int v)
{
    lrp_tensor_free(t[v]);
    t[v] = NULL;
}

/* Relevance may only arrive at a node's first output. */
static lrp_status only_first_output(const lrp_node *n, lrp_tensor *const *rel, lrp_error *err)
{
    for (int o = 1; o < n->n_outputs; o++)
        if (n->outputs[o] >= 0 && rel[n->outputs[o]])
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                                 "relevance reaches its output #%d; only first outputs can carry relevance", o);
    return LRP_OK;
}

/* A pass node whose one activation input has no relevance yet: the
 * relevance moves over as it is (reshaped). False when it cannot. */
static bool move_through(const lrp_graph *g, const lrp_node *n, lrp_tensor **vals, lrp_tensor **rel, bool free_out)
{
    int ov = n->outputs[0], a = -1, nact = 0;
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] >= 0 && !g->values[n->inputs[i]].constant) {
            a = n->inputs[i];
            nact++;
        }
    if (nact != 1 || rel[a] || rel[ov]->numel != lrp_numel_checked(g->values[a].ndim, g->values[a].dims))
        return false;
    rel[a] = rel[ov];
    rel[a]->ndim = g->values[a].ndim;
    memcpy(rel[a]->dims, g->values[a].dims, sizeof rel[a]->dims);
    rel[ov] = NULL;
    if (free_out)
        free_value(vals, ov);
    return true;
}

/* The node's inputs and where it sends relevance: the accumulators at its
 * inputs (created on first use; an input read twice gets one), or with
 * separate, a fresh buffer per input in tmp. */
static lrp_status gather_inputs(const lrp_graph *g, const lrp_node *n, lrp_tensor *const *vals, lrp_tensor **rel,
                                bool separate, const lrp_tensor **in, lrp_tensor **gin, lrp_tensor **tmp,
                                lrp_error *err)
{
    for (int i = 0; i < n->n_inputs; i++) {
        int v = n->inputs[i];
        in[i] = lrp_value_tensor(g, vals, v);
        if (v < 0 || g->values[v].constant)
            continue;
        lrp_tensor **slot = separate ? &tmp[i] : &rel[v];
        if (!*slot && !(*slot = lrp_tensor_new(LRP_REAL_DT, g->values[v].ndim, g->values[v].dims, err)))
            return err ? err->status : LRP_ERR_NOMEM;
        gin[i] = *slot;
    }
    return LRP_OK;
}

/* Adds what the node sent (separate buffers) to the relevance at its inputs. */
static void merge_sent(const lrp_node *n, lrp_tensor **rel, lrp_tensor **tmp)
{
    for (int i = 0; i < n->n_inputs; i++) {
        int v = n->inputs[i];
        if (!tmp[i])
            continue;
        if (!rel[v]) {
            rel[v] = tmp[i];
            tmp[i] = NULL;
            continue;
        }
        lrp_real *a = lrp_reals(rel[v]);
        const lrp_real *t = lrp_reals(tmp[i]);
        for (int64_t q = 0; q < rel[v]->numel; q++)
            a[q] += t[q];
    }
}

/* One node: its work, the observer, and the relevance at its inputs. */
static lrp_status step(const lrp_graph *g, int ni, lrp_tensor **vals, lrp_tensor **rel, const lrp_backward *b,
                       int64_t batch, lrp_error *err)
{
    const lrp_node *n = &g->nodes[ni];
    const lrp_tensor *in[MAX_INPUTS];
    lrp_tensor *gin[MAX_INPUTS] = {0}, *tmp[MAX_INPUTS] = {0};
    lrp_status st = gather_inputs(g, n, vals, rel, b->separate, in, gin, tmp, err);
    if (st == LRP_OK) {
        int ov = n->outputs[0];
        const lrp_backward_step s = {g, n, ni, in, vals[ov], rel[ov], gin, batch};
        if ((st = b->apply(b->ctx, &s, err)) == LRP_OK && b->observe)
            st = b->observe(b->observe_ctx, &s, err);
        if (st == LRP_OK && b->separate)
            merge_sent(n, rel, tmp);
        if (st != LRP_OK)
            lrp_error_prefix(err, "%s", g->path);
    }
    for (int i = 0; i < n->n_inputs; i++)
        lrp_tensor_free(tmp[i]);
    return st;
}

lrp_status lrp_backward_run(const lrp_graph *g, lrp_tensor **vals, lrp_tensor **rel, const lrp_backward *b,
                            int64_t batch, lrp_error *err)
{
    for (int k = b->ranged ? b->from : g->n_order - 1; k >= (b->ranged ? b->to : 0); k--) {
        int ni = g->order[k];
        const lrp_node *n = &g->nodes[ni];
        if (lrp_node_is_static(g, n))
            continue;
        lrp_status st = only_first_output(n, rel, err);
        if (st != LRP_OK)
            return st;
        int ov = n->outputs[0];
        if (b->arrive && b->arrive_at && b->arrive_at[ni] &&
            (st = b->arrive(b->arrive_ctx, ni, rel, batch, err)) != LRP_OK)
            return st;
        if (ov < 0 || !rel[ov]) { /* no relevance here: its forward output is done with */
            if (ov >= 0 && !b->keep)
                free_value(vals, ov);
            continue;
        }
        if (n->n_inputs > MAX_INPUTS)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs");
        if (b->pass && b->pass[ni] && !b->separate && (!b->keep || b->moved) &&
            move_through(g, n, vals, rel, !b->keep)) {
            if (b->keep)
                b->moved[ni] = 1;
            continue;
        }
        if ((st = step(g, ni, vals, rel, b, batch, err)) != LRP_OK)
            return st;
        if (b->keep)
            continue;
        free_value(rel, ov);
        free_value(vals, ov);
    }
    return LRP_OK;
}
