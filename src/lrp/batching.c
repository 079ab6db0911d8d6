/* How much memory each sample of a batch adds to an explanation, for callers
 * that choose how many inputs to explain per pass (lrp explain --batch). */
#include "base/error.h"
#include "lrp/explain.h"
#include "engine/model.h"
#include "base/tensor.h"

#include <stdlib.h>

double lrp_explainer_sample_bytes(lrp_explainer *e, const lrp_tensor *input, lrp_error *err)
{
    lrp_model *m = lrp_explainer_model(e);
    lrp_tensor *x = NULL;
    lrp_status st = lrp_model_conform_input(m, input, &x, err);
    if (st == LRP_OK)
        st = lrp_model_prepare(m, x->ndim, x->dims, err);
    int64_t N = x && x->ndim > 0 && x->dims[0] > 0 ? x->dims[0] : 1;
    lrp_tensor_free(x);
    if (st != LRP_OK)
        return -1;
    /* every activation of a sample, once as its forward value and once as its
     * relevance (an upper bound: the sweeps free most of them early) */
    const lrp_graph *g = m->g;
    double values = 0;
    for (int v = 0; v < g->n_values; v++) {
        const lrp_value *val = &g->values[v];
        if (val->constant || !val->shape_known)
            continue;
        double n = 1;
        for (int i = 0; i < val->ndim; i++)
            n *= (double)val->dims[i];
        values += n / (double)N;
    }
    return values * (double)sizeof(lrp_real) * 2.0;
}

lrp_status lrp_model_prepare_for(lrp_model *m, int ndim, const int64_t *dims, lrp_error *err)
{
    return lrp_model_prepare(m, ndim, dims, err);
}
