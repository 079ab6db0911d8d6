/* Mod: the remainder of a / b elementwise, numpy broadcasting, float or integer. fmod = 0 takes the sign of the
 * divisor (Python's %, for floats numpy's mod), fmod = 1 the sign of the dividend (C's fmod and %). The remainder
 * never exceeds its operands, so integers of any width are computed in int64 (uint64 excepted: its values past
 * 2^63 do not fit). The gradient (floats only, as PyTorch's fmod and remainder) is 1 with respect to a and -q with
 * respect to b, q = (a - y) / b the quotient the remainder took (trunc(a / b) for fmod = 1, floor for 0); it jumps
 * where a / b crosses an integer. */
#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int fmod;
} mod_state;

static lrp_status mod_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    mod_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    int64_t f = lrp_attr_int(n, "fmod", 0);
    if (f != 0 && f != 1)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "fmod is %lld, expected 0 or 1", (long long)f);
    s->fmod = (int)f;
    return LRP_OK;
}

static lrp_status mod_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *a = lrp_node_in(g, n, 0), *b = lrp_node_in(g, n, 1);
    char s1[160], s2[160];
    if (a->dtype != b->dtype)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "inputs of different types (%s and %s)",
                             a->dtype == LRP_INT64 ? "integer" : "float", b->dtype == LRP_INT64 ? "integer" : "float");
    for (int i = -1; i < 2; i++) {
        const lrp_value *v = i < 0 ? lrp_node_out(g, n, 0) : lrp_node_in(g, n, i);
        if (v && v->decl_elem_type == 13) /* uint64 */
            return lrp_node_fail(
                err, n, LRP_ERR_UNSUPPORTED,
                "'%s' is declared uint64, whose values past 2^63 lrp cannot hold (integers are int64)", v->name);
    }
    int64_t out[LRP_MAX_DIMS];
    int no = lrp_broadcast_shape(a->ndim, a->dims, b->ndim, b->dims, out);
    if (no < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "shapes %s and %s do not broadcast",
                             lrp_shape_str(a->ndim, a->dims, s1, sizeof s1),
                             lrp_shape_str(b->ndim, b->dims, s2, sizeof s2));
    lrp_set_output(g, n, 0, a->dtype, no, out);
    return LRP_OK;
}

static int mod_bcast(const lrp_tensor *y, const lrp_tensor *a, const lrp_tensor *b, lrp_bcast *bc)
{
    int nds[2] = {a->ndim, b->ndim};
    const int64_t *ds[2] = {a->dims, b->dims};
    return lrp_bcast_init(bc, y->ndim, y->dims, 2, nds, ds);
}

static inline lrp_real mod_f32(lrp_real x, lrp_real z, int fm)
{
    lrp_real r = lrp_fmod(x, z);
    if (!fm && r != 0.0f && (r < 0.0f) != (z < 0.0f))
        r += z;
    return r;
}

static inline int64_t mod_i64(int64_t x, int64_t z, int fm)
{
    if (z == -1)
        return 0; /* INT64_MIN % -1 overflows in C */
    int64_t r = x % z;
    if (!fm && r != 0 && (r < 0) != (z < 0))
        r += z;
    return r;
}

static lrp_status mod_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const mod_state *s = n->state;
    lrp_bcast bc;
    if (mod_bcast(out[0], in[0], in[1], &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the inputs do not broadcast to the output");
    const int64_t sa = lrp_bcast_inner(&bc, 1), sb = lrp_bcast_inner(&bc, 2), len = bc.len;
    const int fm = s->fmod;
    if (in[0]->dtype == LRP_INT64) {
        const int64_t *b = lrp_i64(in[1]);
        for (int64_t i = 0; i < in[1]->numel; i++)
            if (out[0]->numel && b[i] == 0)
                return lrp_node_fail(err, n, LRP_ERR_ARG, "integer division by zero");
    }
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (bc.rows * len > LRP_PAR_MIN)
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t off[LRP_BC_MAX] = {0};
        lrp_bcast_row(&bc, r, off);
        if (in[0]->dtype == LRP_INT64) {
            const int64_t *a = lrp_i64(in[0]) + off[1], *b = lrp_i64(in[1]) + off[2];
            int64_t *y = lrp_i64(out[0]) + off[0];
            for (int64_t i = 0; i < len; i++)
                y[i] = mod_i64(a[i * sa], b[i * sb], fm);
        } else {
            const lrp_real *a = lrp_reals(in[0]) + off[1], *b = lrp_reals(in[1]) + off[2];
            lrp_real *y = lrp_reals(out[0]) + off[0];
            for (int64_t i = 0; i < len; i++)
                y[i] = mod_f32(a[i * sa], b[i * sb], fm);
        }
    }
    return LRP_OK;
}

/* ga += g and gb += -q g, each summed over the dims its operand is broadcast along. */
static lrp_status mod_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0] && !gin[1])
        return LRP_OK;
    if (!in[0] || !in[1])
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks an input it needs");
    if (in[0]->dtype != LRP_REAL_DT || in[1]->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "no gradient through integer inputs");
    const mod_state *s = n->state;
    lrp_bcast bc;
    if (mod_bcast(gout, in[0], in[1], &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the inputs do not broadcast to the output gradient");
    const lrp_real *g = lrp_reals(gout);
    if (gin[0])
        lrp_bcast_reduce(&bc, 1, g, 1.0f, lrp_reals(gin[0]));
    if (!gin[1])
        return LRP_OK;
    lrp_tensor *t = lrp_tensor_like(gout, err);
    if (!t)
        return LRP_ERR_NOMEM;
    const int64_t sa = lrp_bcast_inner(&bc, 1), sb = lrp_bcast_inner(&bc, 2), len = bc.len;
    const int fm = s->fmod;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (bc.rows * len > LRP_PAR_MIN)
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t off[LRP_BC_MAX] = {0};
        lrp_bcast_row(&bc, r, off);
        const lrp_real *a = lrp_reals(in[0]) + off[1], *b = lrp_reals(in[1]) + off[2];
        lrp_real *tr = lrp_reals(t) + off[0];
        for (int64_t i = 0; i < len; i++) {
            lrp_real x = a[i * sa], z = b[i * sb];
            lrp_real q = lrp_round((x - mod_f32(x, z, fm)) / z);
            tr[i] = z != 0.0f ? -q * g[off[0] + i] : 0.0f;
        }
    }
    lrp_bcast_reduce(&bc, 2, lrp_reals(t), 1.0f, lrp_reals(gin[1]));
    lrp_tensor_free(t);
    return LRP_OK;
}

const lrp_op lrp_op_mod = {
    .type = "Mod",
    .min_inputs = 2,
    .max_inputs = 2,
    .init = mod_init,
    .destroy = free,
    .infer = mod_infer,
    .forward = mod_forward,
    .backward = mod_backward,
    .keep = LRP_KEEP_INPUTS,
    .piecewise = 1,
};
