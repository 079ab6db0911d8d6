/* Helpers shared by the operator files, and zennit group names. */
#include "ops/op.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *lrp_group_name(lrp_group g)
{
    static const char *names[LRP_GROUP_COUNT] = {"other",
                                                 "convolution",
                                                 "transposed-convolution",
                                                 "linear",
                                                 "activation",
                                                 "relu",
                                                 "average-pooling",
                                                 "max-pooling",
                                                 "batch-norm",
                                                 "sum",
                                                 "layer-norm"};
    return g >= 0 && g < LRP_GROUP_COUNT ? names[g] : "?";
}

lrp_group lrp_node_group(const lrp_graph *g, const lrp_node *n)
{
    return n->op && n->op->group ? n->op->group(g, n) : LRP_GROUP_OTHER;
}

void lrp_set_output(lrp_graph *g, lrp_node *n, int k, lrp_dtype dt, int ndim, const int64_t *dims)
{
    if (k >= n->n_outputs || n->outputs[k] < 0)
        return;
    lrp_value *v = &g->values[n->outputs[k]];
    v->dtype = dt;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        v->dims[i] = dims[i];
    v->shape_known = true;
}

lrp_status lrp_node_fail(lrp_error *err, const lrp_node *n, lrp_status st, const char *fmt, ...)
{
    char msg[LRP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n->name && n->name[0])
        return lrp_fail(err, st, "node %s (%s): %s", n->name, n->op_type, msg);
    return lrp_fail(err, st, "%s node: %s", n->op_type, msg);
}

int lrp_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : a[i - (n - na)];
        int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
        if (da == db || db == 1)
            out[i] = da;
        else if (da == 1)
            out[i] = db;
        else
            return -1;
    }
    return n;
}

int lrp_axis(int64_t axis, int r)
{
    if (axis < -r || axis >= r)
        return -1;
    return (int)(axis < 0 ? axis + r : axis);
}

lrp_status lrp_set_folded(lrp_node *n, lrp_value *v, lrp_tensor *t, lrp_error *err)
{
    if (v->folded)
        lrp_tensor_free(v->constant);
    else if (v->constant) {
        lrp_tensor_free(t);
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "output '%s' is already a constant", v->name);
    }
    v->constant = t;
    v->folded = true; /* recomputed when the input shape changes */
    return LRP_OK;
}
