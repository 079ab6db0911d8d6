/* Cast to a float type (lrp_real: float32, or float64 in the --double build,
 * whatever the target, except that float16 rounds to half precision) or an integer/bool type (held as int64: float -> int
 * truncates toward zero, saturating at the int64 range; narrower types wrap
 * to their width; bool is x != 0). Strings and bfloat16 are refused. */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int to;
} cast_state;

static lrp_status cast_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    cast_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    const lrp_attr *a = lrp_node_attr(n, "to");
    if (!a)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the 'to' attribute is missing");
    if (a->type == LRP_ATTR_STRING) /* opset 1 named the type */
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "a type name in 'to' (opset 1) is not supported");
    switch (a->i) {
    case LRP_DT_FLOAT:
    case LRP_DT_FLOAT16:
    case LRP_DT_DOUBLE:
    case LRP_DT_UINT8:
    case LRP_DT_INT8:
    case LRP_DT_UINT16:
    case LRP_DT_INT16:
    case LRP_DT_INT32:
    case LRP_DT_INT64:
    case LRP_DT_BOOL:
    case LRP_DT_UINT32:
    case LRP_DT_UINT64: s->to = (int)a->i; return LRP_OK;
    case LRP_DT_STRING: return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "casts to strings are not supported");
    case LRP_DT_BFLOAT16: return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "casts to bfloat16 are not supported");
    default:
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "casts to type %lld are not supported", (long long)a->i);
    }
}

static bool to_float(int to) { return to == LRP_DT_FLOAT || to == LRP_DT_FLOAT16 || to == LRP_DT_DOUBLE; }

static lrp_status cast_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const cast_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    /* bfloat16 data reaches us only as its raw 16-bit pattern */
    if (x->decl_elem_type == LRP_DT_BFLOAT16)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "bfloat16 input '%s' is not supported", x->name);
    lrp_set_output(g, n, 0, to_float(s->to) ? LRP_REAL_DT : LRP_INT64, x->ndim, x->dims);
    return LRP_OK;
}

/* x rounded to the nearest half-precision value (ties to even). */
static lrp_real round_half(lrp_real x)
{
    if (!isfinite(x) || x == 0.0f)
        return x;
    int e;
    lrp_frexp(x, &e);                         /* |x| in [2^(e-1), 2^e) */
    int q = (e - 1 < -14 ? -14 : e - 1) - 10; /* the spacing of halfs near x */
    lrp_real r = lrp_ldexp(lrp_nearbyint(lrp_ldexp(x, -q)), q);
    return lrp_fabs(r) > 65504.0f ? lrp_copysign(INFINITY, x) : r;
}

static int64_t float_to_i64(lrp_real v)
{
    if (v != v)
        return 0;
    if (v >= 9.2233720368547758e18f)
        return INT64_MAX;
    if (v <= -9.2233720368547758e18f)
        return INT64_MIN;
    return (int64_t)v;
}

static int64_t wrap(int to, int64_t v)
{
    switch (to) {
    case LRP_DT_UINT8: return (uint8_t)v;
    case LRP_DT_INT8: return (int8_t)(uint8_t)v;
    case LRP_DT_UINT16: return (uint16_t)v;
    case LRP_DT_INT16: return (int16_t)(uint16_t)v;
    case LRP_DT_INT32: return (int32_t)(uint32_t)v;
    case LRP_DT_UINT32: return (uint32_t)v;
    case LRP_DT_BOOL: return v != 0;
    default: return v;
    }
}

static lrp_status cast_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const cast_state *s = n->state;
    const int to = s->to;
    const lrp_tensor *x = in[0];
    if (to_float(to)) {
        lrp_real *y = lrp_reals(out[0]);
        if (x->dtype == LRP_INT64) {
            const int64_t *xi = lrp_i64(x);
            LRP_MAP(x->numel, y[i] = (lrp_real)xi[i]);
        } else {
            const lrp_real *xf = lrp_reals(x);
            LRP_MAP(x->numel, y[i] = xf[i]);
        }
        if (to == LRP_DT_FLOAT16)
            LRP_MAP(x->numel, y[i] = round_half(y[i]));
        return LRP_OK;
    }
    int64_t *y = lrp_i64(out[0]);
    if (x->dtype == LRP_INT64) {
        const int64_t *xi = lrp_i64(x);
        LRP_MAP(x->numel, y[i] = wrap(to, xi[i]));
    } else {
        const lrp_real *xf = lrp_reals(x);
        if (to == LRP_DT_BOOL)
            LRP_MAP(x->numel, y[i] = xf[i] != 0.0f);
        else
            LRP_MAP(x->numel, y[i] = wrap(to, float_to_i64(xf[i])));
    }
    return LRP_OK;
}

/* Float to float: the identity (rounding has no useful gradient). */
static lrp_status cast_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const cast_state *s = n->state;
    if (!gin[0])
        return LRP_OK;
    if (!to_float(s->to) || gin[0]->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "no gradient through a cast to an integer type");
    return lrp_copy_backward(n, in, out, gout, gin, err);
}

const lrp_op lrp_op_cast = {
    .type = "Cast",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = cast_init,
    .destroy = free,
    .infer = cast_infer,
    .forward = cast_forward,
    .backward = cast_backward,
    .keep = 0,
};
