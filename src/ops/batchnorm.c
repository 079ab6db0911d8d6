/* BatchNormalization in inference mode: y = (x - mean) / sqrt(var + eps) *
 * scale + bias per channel (dim 1), or per activation (opset < 9 with
 * spatial = 0: parameters of shape (C, D1, ...)). Training mode (batch
 * statistics, the running-statistics outputs) is refused. */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    lrp_real eps;
    int per_activation; /* spatial = 0 */
} bn_state;

static lrp_status bn_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    bn_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    s->eps = lrp_attr_float(n, "epsilon", 1e-5f);
    if (!(s->eps >= 0.0f) || !isfinite(s->eps))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "epsilon must be a non-negative number");
    if (n->n_inputs != 5)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "BatchNormalization takes 5 inputs (X, scale, B, mean, var)");
    if (lrp_attr_int(n, "training_mode", 0) != 0)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "training mode (batch statistics) is not supported");
    int outs = 0;
    for (int k = 1; k < n->n_outputs; k++)
        outs += n->outputs[k] >= 0;
    if (outs)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                             "the training-mode outputs (running or saved mean and variance) are not supported");
    if (g->opset < 9 && lrp_attr_int(n, "spatial", 1) == 0)
        s->per_activation = 1;
    return LRP_OK;
}

static lrp_status bn_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const bn_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    char sb[160];
    if (x->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    if (x->ndim < 2)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "input of rank %d: expected (N, C, ...)", x->ndim);
    int64_t per = x->dims[1];
    if (s->per_activation)
        for (int d = 2; d < x->ndim; d++)
            per *= x->dims[d];
    static const char *const names[] = {"", "scale", "B", "mean", "var"};
    for (int i = 1; i < 5; i++) {
        const lrp_value *p = lrp_node_in(g, n, i);
        if (!p)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "input %s is missing", names[i]);
        if (p->dtype != LRP_REAL_DT)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "input %s is not a float tensor", names[i]);
        int64_t cnt = lrp_numel_checked(p->ndim, p->dims);
        if (cnt != per)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "%s has shape %s; expected %lld values for input %s", names[i],
                                 lrp_shape_str(p->ndim, p->dims, sb, sizeof sb), (long long)per,
                                 lrp_shape_str(x->ndim, x->dims, (char[160]){0}, 160));
    }
    lrp_set_output(g, n, 0, LRP_REAL_DT, x->ndim, x->dims);
    return LRP_OK;
}

/* Per-parameter factor a = scale / sqrt(var + eps) and shift b = bias - mean a. */
static int factors(const lrp_node *n, const lrp_tensor *const *in, int64_t cnt, lrp_real *a, lrp_real *b)
{
    const bn_state *s = n->state;
    for (int i = 1; i < 5; i++)
        if (!in[i] || in[i]->numel != cnt)
            return -1;
    const lrp_real *sc = lrp_reals(in[1]), *bi = lrp_reals(in[2]), *mu = lrp_reals(in[3]), *var = lrp_reals(in[4]);
    for (int64_t c = 0; c < cnt; c++) {
        double f = (double)sc[c] / sqrt((double)var[c] + (double)s->eps);
        a[c] = (lrp_real)f;
        if (b)
            b[c] = (lrp_real)((double)bi[c] - (double)mu[c] * f);
    }
    return 0;
}

/* x viewed as (N, cnt, S): the parameter index is the middle one. */
static void view(const lrp_node *n, const lrp_tensor *x, int64_t *N, int64_t *cnt, int64_t *S)
{
    const bn_state *s = n->state;
    *N = x->dims[0];
    *cnt = x->dims[1];
    *S = 1;
    for (int d = 2; d < x->ndim; d++)
        *S *= x->dims[d];
    if (s->per_activation) {
        *cnt *= *S;
        *S = 1;
    }
}

static lrp_status bn_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    int64_t N, C, S;
    view(n, in[0], &N, &C, &S);
    lrp_real *a = malloc(sizeof(lrp_real) * (size_t)(2 * C + 1));
    if (!a)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    lrp_real *b = a + C;
    if (factors(n, in, C, a, b) != 0) {
        free(a);
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "parameters do not match the input");
    }
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    LRP_MAP(N * C, {
        const lrp_real f = a[i % C], t = b[i % C];
        const lrp_real *xr = x + i * S;
        lrp_real *yr = y + i * S;
        for (int64_t k = 0; k < S; k++)
            yr[k] = xr[k] * f + t;
    });
    free(a);
    return LRP_OK;
}

static lrp_status bn_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                              const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    for (int i = 1; i < 5; i++)
        if (gin[i])
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "gradients with respect to non-constant parameters");
    if (!gin[0])
        return LRP_OK;
    int64_t N, C, S;
    view(n, gin[0], &N, &C, &S);
    lrp_real *a = malloc(sizeof(lrp_real) * (size_t)(C + 1));
    if (!a)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    if (factors(n, in, C, a, NULL) != 0) {
        free(a);
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks the parameters");
    }
    const lrp_real *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    LRP_MAP(N * C, {
        const lrp_real f = a[i % C];
        for (int64_t k = 0; k < S; k++)
            gx[i * S + k] += g[i * S + k] * f;
    });
    free(a);
    return LRP_OK;
}

static lrp_group bn_group(const lrp_graph *g, const lrp_node *n) { return LRP_GROUP_BATCHNORM; }

const lrp_op lrp_op_batchnormalization = {
    .overwrites = 1,
    .inplace = 1,
    .type = "BatchNormalization",
    .min_inputs = 5,
    .max_inputs = 5,
    .init = bn_init,
    .destroy = free,
    .infer = bn_infer,
    .forward = bn_forward,
    .backward = bn_backward,
    .keep = 0,
    .group = bn_group,
};
