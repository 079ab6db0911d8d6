/* Pow: y = a ^ b with broadcasting; the result has the base's type (float
 * or int64), the exponent may be float or int64 (opset 12). Integer powers
 * of integers are exact (wrapping); an integer base with a float exponent
 * truncates the float result. */
#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>
#include <stdlib.h>

static lrp_status pow_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *a = lrp_node_in(g, n, 0), *b = lrp_node_in(g, n, 1);
    char s1[160], s2[160];
    lrp_status st = lrp_refuse_narrow_ints(g, n, err);
    if (st != LRP_OK)
        return st;
    int64_t out[LRP_MAX_DIMS];
    int no = lrp_broadcast_shape(a->ndim, a->dims, b->ndim, b->dims, out);
    if (no < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "shapes %s and %s do not broadcast",
                             lrp_shape_str(a->ndim, a->dims, s1, sizeof s1),
                             lrp_shape_str(b->ndim, b->dims, s2, sizeof s2));
    lrp_set_output(g, n, 0, a->dtype, no, out);
    return LRP_OK;
}

static inline double value(const lrp_tensor *t, int64_t i)
{
    return t->dtype == LRP_INT64 ? (double)lrp_i64(t)[i] : (double)lrp_reals(t)[i];
}

static int64_t ipow(int64_t x, int64_t e)
{
    if (e < 0)
        return x == 1 ? 1 : (x == -1 ? ((e & 1) ? -1 : 1) : 0);
    uint64_t r = 1, b = (uint64_t)x;
    while (e) {
        if (e & 1)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

static int64_t to_i64(double v)
{
    if (v != v)
        return 0;
    if (v >= 9.2233720368547758e18)
        return INT64_MAX;
    if (v <= -9.2233720368547758e18)
        return INT64_MIN;
    return (int64_t)v;
}

static lrp_status pow_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_tensor *a = in[0], *b = in[1];
    lrp_tensor *y = out[0];
    lrp_bcast bc;
    int nds[2] = {a->ndim, b->ndim};
    const int64_t *ds[2] = {a->dims, b->dims};
    if (lrp_bcast_init(&bc, y->ndim, y->dims, 2, nds, ds) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the inputs do not broadcast to the output");
    if (a->dtype == LRP_REAL_DT && b->dtype == LRP_REAL_DT) {
        lrp_binary_f32(&bc, LRP_BIN_POW, lrp_reals(a), lrp_reals(b), y->data);
        return LRP_OK;
    }
    const int64_t sa = lrp_bcast_inner(&bc, 1), sb = lrp_bcast_inner(&bc, 2);
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t off[LRP_BC_MAX];
        lrp_bcast_row(&bc, r, off);
        for (int64_t i = 0; i < bc.len; i++) {
            const int64_t ia = off[1] + i * sa, ib = off[2] + i * sb, o = off[0] + i;
            if (a->dtype == LRP_REAL_DT)
                lrp_reals(y)[o] = lrp_pow(lrp_reals(a)[ia], (lrp_real)value(b, ib));
            else if (b->dtype == LRP_INT64)
                lrp_i64(y)[o] = ipow(lrp_i64(a)[ia], lrp_i64(b)[ib]);
            else
                lrp_i64(y)[o] = to_i64(pow((double)lrp_i64(a)[ia], value(b, ib)));
        }
    }
    return LRP_OK;
}

/* Float base: ga += g b a^(b-1), gb += g a^b log a (an integer exponent is
 * used as float). */
static lrp_status pow_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0] && !gin[1])
        return LRP_OK;
    if (!in[0] || !in[1])
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks an input");
    if (in[0]->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "no gradient through an integer power");
    const lrp_tensor *b = in[1];
    lrp_real *bf = NULL;
    if (b->dtype == LRP_INT64) {
        bf = malloc(sizeof(lrp_real) * (size_t)(b->numel ? b->numel : 1));
        if (!bf)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < b->numel; i++)
            bf[i] = (lrp_real)lrp_i64(b)[i];
    }
    lrp_bcast bc;
    int nds[2] = {in[0]->ndim, b->ndim};
    const int64_t *ds[2] = {in[0]->dims, b->dims};
    lrp_status st = LRP_OK;
    if (lrp_bcast_init(&bc, gout->ndim, gout->dims, 2, nds, ds) != 0)
        st = lrp_node_fail(err, n, LRP_ERR_SHAPE, "the inputs do not broadcast to the output");
    for (int k = 0; k < 2 && st == LRP_OK; k++)
        if (gin[k])
            lrp_binary_grad(&bc, LRP_BIN_POW, k + 1, lrp_reals(gout), lrp_reals(in[0]), bf ? bf : lrp_reals(b),
                            lrp_reals(gin[k]));
    free(bf);
    return st;
}

/* The curvature term of the second order: f'' = p (p - 1) x^(p-2) for a constant scalar exponent p. */
static lrp_status pow_second(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                             const lrp_tensor *g, const lrp_tensor *u, lrp_tensor *gx, lrp_error *err)
{
    const lrp_tensor *b = in[1];
    if (!b || b->numel != 1 || in[0]->dtype != LRP_REAL_DT || in[0]->numel != g->numel)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "the second order of Pow needs one constant exponent");
    const lrp_real p = b->dtype == LRP_INT64 ? (lrp_real)lrp_i64(b)[0] : lrp_reals(b)[0];
    const lrp_real *x = lrp_reals(in[0]), *gg = lrp_reals(g), *uu = lrp_reals(u);
    lrp_real *d = lrp_reals(gx);
    for (int64_t i = 0; i < g->numel; i++)
        d[i] += gg[i] * uu[i] * p * (p - 1.0f) * (lrp_real)pow((double)x[i], (double)(p - 2.0f));
    return LRP_OK;
}

const lrp_op lrp_op_pow = {
    .type = "Pow",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = pow_infer,
    .forward = pow_forward,
    .backward = pow_backward,
    .keep = LRP_KEEP_INPUTS,
    .second = pow_second,
};
