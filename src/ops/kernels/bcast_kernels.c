/* Broadcast iteration and the binary elementwise kernels. */
#include "ops/kernels/bcast_kernels.h"

#include "ops/kernels/eltwise_kernels.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int lrp_bcast_init(lrp_bcast *bc, int nd0, const int64_t *d0, int nin, const int *nds, const int64_t *const *ds)
{
    memset(bc, 0, sizeof *bc);
    if (nin + 1 > LRP_BC_MAX || nd0 < 0 || nd0 > LRP_MAX_DIMS)
        return -1;
    bc->nops = nin + 1;
    int64_t st[LRP_BC_MAX][LRP_MAX_DIMS];
    for (int k = 0; k <= nin; k++) {
        int nk = k ? nds[k - 1] : nd0;
        const int64_t *dk = k ? ds[k - 1] : d0;
        if (nk > nd0 || nk < 0)
            return -1;
        int64_t s = 1;
        for (int d = nd0 - 1; d >= 0; d--) {
            int j = d - (nd0 - nk);
            int64_t dim = j >= 0 ? dk[j] : 1;
            if (dim != d0[d] && dim != 1)
                return -1;
            st[k][d] = dim == 1 ? 0 : s;
            s *= dim;
        }
    }
    /* drop the dims of size 1, then merge dims that are contiguous for every operand */
    int nd = 0;
    for (int d = 0; d < nd0; d++) {
        if (d0[d] == 1)
            continue;
        bool merge = nd > 0;
        for (int k = 0; k <= nin && merge; k++)
            if (bc->st[k][nd - 1] != st[k][d] * d0[d])
                merge = false;
        if (merge) {
            bc->dims[nd - 1] *= d0[d];
            for (int k = 0; k <= nin; k++)
                bc->st[k][nd - 1] = st[k][d];
        } else {
            bc->dims[nd] = d0[d];
            for (int k = 0; k <= nin; k++)
                bc->st[k][nd] = st[k][d];
            nd++;
        }
    }
    if (nd == 0) {
        nd = 1;
        bc->dims[0] = 1;
        for (int k = 0; k <= nin; k++)
            bc->st[k][0] = 0;
    }
    bc->nd = nd;
    bc->len = bc->dims[nd - 1];
    bc->rows = 1;
    for (int d = 0; d < nd - 1; d++)
        bc->rows *= bc->dims[d];
    return 0;
}

bool lrp_bcast_full(const lrp_bcast *bc, int k)
{
    for (int d = 0; d < bc->nd; d++)
        if (bc->st[k][d] == 0 && bc->dims[d] != 1)
            return false;
    return true;
}

void lrp_bcast_reduce(const lrp_bcast *bc, int k, const lrp_real *g, lrp_real scale, lrp_real *gk)
{
    const int64_t sk = lrp_bcast_inner(bc, k), len = bc->len;
    const bool par = lrp_bcast_full(bc, k) && bc->rows * len > LRP_PAR_MIN;
    if (sk == 0) {
        /* each row sums into one element */
        for (int64_t r = 0; r < bc->rows; r++) {
            int64_t off[LRP_BC_MAX] = {0};
            lrp_bcast_row(bc, r, off);
            const lrp_real *gr = g + off[0];
            double s = 0;
            for (int64_t i = 0; i < len; i++)
                s += gr[i];
            gk[off[k]] += scale * (lrp_real)s;
        }
        return;
    }
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (par)
    for (int64_t r = 0; r < bc->rows; r++) {
        int64_t off[LRP_BC_MAX] = {0};
        lrp_bcast_row(bc, r, off);
        const lrp_real *gr = g + off[0];
        lrp_real *dst = gk + off[k];
        for (int64_t i = 0; i < len; i++)
            dst[i] += scale * gr[i];
    }
}

/* The inner loop of a binary op for one row, with operand strides sa, sb. */
#define BIN_ROW(T, EXPR)                                                                                              \
    do {                                                                                                              \
        if (sa && sb)                                                                                                 \
            for (int64_t i = 0; i < len; i++) {                                                                       \
                T x = ar[i], z = br[i];                                                                               \
                yr[i] = (EXPR);                                                                                       \
            }                                                                                                         \
        else if (sa)                                                                                                  \
            for (int64_t i = 0; i < len; i++) {                                                                       \
                T x = ar[i], z = br[0];                                                                               \
                yr[i] = (EXPR);                                                                                       \
            }                                                                                                         \
        else if (sb)                                                                                                  \
            for (int64_t i = 0; i < len; i++) {                                                                       \
                T x = ar[0], z = br[i];                                                                               \
                yr[i] = (EXPR);                                                                                       \
            }                                                                                                         \
        else                                                                                                          \
            for (int64_t i = 0; i < len; i++) {                                                                       \
                T x = ar[0], z = br[0];                                                                               \
                yr[i] = (EXPR);                                                                                       \
            }                                                                                                         \
    } while (0)

static inline lrp_real fmin_nan(lrp_real a, lrp_real b) { return (a != a || b != b) ? NAN : (a < b ? a : b); }
static inline lrp_real fmax_nan(lrp_real a, lrp_real b) { return (a != a || b != b) ? NAN : (a > b ? a : b); }

void lrp_binary_f32(const lrp_bcast *bc, lrp_binop op, const lrp_real *a, const lrp_real *b, void *y)
{
    const int64_t sa = lrp_bcast_inner(bc, 1), sb = lrp_bcast_inner(bc, 2), len = bc->len;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (bc->rows * len > LRP_PAR_MIN)
    for (int64_t r = 0; r < bc->rows; r++) {
        int64_t off[LRP_BC_MAX] = {0};
        lrp_bcast_row(bc, r, off);
        const lrp_real *ar = a + off[1], *br = b + off[2];
        if (op == LRP_BIN_EQUAL || op == LRP_BIN_LESS || op == LRP_BIN_GREATER) {
            int64_t *yr = (int64_t *)y + off[0];
            if (op == LRP_BIN_EQUAL)
                BIN_ROW(lrp_real, x == z);
            else if (op == LRP_BIN_LESS)
                BIN_ROW(lrp_real, x < z);
            else
                BIN_ROW(lrp_real, x > z);
            continue;
        }
        lrp_real *yr = (lrp_real *)y + off[0];
        switch (op) {
        case LRP_BIN_ADD: BIN_ROW(lrp_real, x + z); break;
        case LRP_BIN_SUB: BIN_ROW(lrp_real, x - z); break;
        case LRP_BIN_MUL: BIN_ROW(lrp_real, x * z); break;
        case LRP_BIN_DIV: BIN_ROW(lrp_real, x / z); break;
        case LRP_BIN_POW: BIN_ROW(lrp_real, lrp_pow(x, z)); break;
        case LRP_BIN_MIN: BIN_ROW(lrp_real, fmin_nan(x, z)); break;
        case LRP_BIN_MAX: BIN_ROW(lrp_real, fmax_nan(x, z)); break;
        default: break;
        }
    }
}

static inline int64_t wadd(int64_t x, int64_t z) { return (int64_t)((uint64_t)x + (uint64_t)z); }
static inline int64_t wsub(int64_t x, int64_t z) { return (int64_t)((uint64_t)x - (uint64_t)z); }
static inline int64_t wmul(int64_t x, int64_t z) { return (int64_t)((uint64_t)x * (uint64_t)z); }
static inline int64_t idiv(int64_t x, int64_t z) { return (z == -1) ? wsub(0, x) : x / z; }

static int64_t ipow(int64_t x, int64_t e)
{
    if (e < 0)
        return x == 1 ? 1 : (x == -1 ? ((e & 1) ? -1 : 1) : 0);
    int64_t r = 1;
    while (e) {
        if (e & 1)
            r = wmul(r, x);
        x = wmul(x, x);
        e >>= 1;
    }
    return r;
}

int lrp_binary_i64(const lrp_bcast *bc, lrp_binop op, const int64_t *a, const int64_t *b, int64_t *y)
{
    const int64_t sa = lrp_bcast_inner(bc, 1), sb = lrp_bcast_inner(bc, 2), len = bc->len;
    int zero_div = 0;
    if (op == LRP_BIN_DIV) { /* check divisors first: no undefined behaviour */
        for (int64_t r = 0; r < bc->rows && !zero_div; r++) {
            int64_t off[LRP_BC_MAX] = {0};
            lrp_bcast_row(bc, r, off);
            for (int64_t i = 0; i < (sb ? len : 1); i++)
                if (b[off[2] + i] == 0)
                    zero_div = 1;
        }
        if (zero_div && bc->rows * bc->len > 0)
            return -1;
    }
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (bc->rows * len > LRP_PAR_MIN)
    for (int64_t r = 0; r < bc->rows; r++) {
        int64_t off[LRP_BC_MAX] = {0};
        lrp_bcast_row(bc, r, off);
        const int64_t *ar = a + off[1], *br = b + off[2];
        int64_t *yr = y + off[0];
        switch (op) {
        case LRP_BIN_ADD: BIN_ROW(int64_t, wadd(x, z)); break;
        case LRP_BIN_SUB: BIN_ROW(int64_t, wsub(x, z)); break;
        case LRP_BIN_MUL: BIN_ROW(int64_t, wmul(x, z)); break;
        case LRP_BIN_DIV: BIN_ROW(int64_t, idiv(x, z)); break;
        case LRP_BIN_POW: BIN_ROW(int64_t, ipow(x, z)); break;
        case LRP_BIN_MIN: BIN_ROW(int64_t, x < z ? x : z); break;
        case LRP_BIN_MAX: BIN_ROW(int64_t, x > z ? x : z); break;
        case LRP_BIN_EQUAL: BIN_ROW(int64_t, x == z); break;
        case LRP_BIN_LESS: BIN_ROW(int64_t, x < z); break;
        case LRP_BIN_GREATER: BIN_ROW(int64_t, x > z); break;
        }
    }
    return 0;
}

lrp_status lrp_binary_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    lrp_binary_state *s = calloc(1, sizeof *s);
    if (!s)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    n->state = s;
    if (g->opset < 7 && lrp_attr_int(n, "broadcast", 0) != 0 && lrp_node_attr(n, "axis")) {
        s->legacy_axis = 1;
        s->axis = lrp_attr_int(n, "axis", 0);
    }
    return LRP_OK;
}

/* B's shape as it broadcasts: aligned at the legacy axis, or as is. */
static int legacy_shape(const lrp_node *n, int na, int nb, const int64_t *b, int64_t *out)
{
    const lrp_binary_state *s = n->state;
    if (!s || !s->legacy_axis) {
        memcpy(out, b, sizeof(int64_t) * (size_t)nb);
        return nb;
    }
    int axis = lrp_axis(s->axis, na);
    if (axis < 0 || axis + nb > na)
        return -1;
    for (int d = 0; d < na; d++)
        out[d] = (d >= axis && d < axis + nb) ? b[d - axis] : 1;
    return na;
}

lrp_status lrp_binary_infer(lrp_graph *g, lrp_node *n, bool allow_int, lrp_dtype out_dt, lrp_error *err)
{
    const lrp_value *a = lrp_node_in(g, n, 0), *b = lrp_node_in(g, n, 1);
    char s1[160], s2[160];
    if (a->dtype != b->dtype)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "inputs of different types (%s and %s)",
                             a->dtype == LRP_INT64 ? "integer" : "float", b->dtype == LRP_INT64 ? "integer" : "float");
    if (a->dtype == LRP_INT64 && !allow_int)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "integer inputs are not supported");
    int64_t bd[LRP_MAX_DIMS], out[LRP_MAX_DIMS];
    int nb = legacy_shape(n, a->ndim, b->ndim, b->dims, bd);
    int no = nb < 0 ? -1 : lrp_broadcast_shape(a->ndim, a->dims, nb, bd, out);
    if (no < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "shapes %s and %s do not broadcast",
                             lrp_shape_str(a->ndim, a->dims, s1, sizeof s1),
                             lrp_shape_str(b->ndim, b->dims, s2, sizeof s2));
    lrp_set_output(g, n, 0, out_dt ? out_dt : a->dtype, no, out);
    return LRP_OK;
}

int lrp_binary_bcast(const lrp_node *n, const lrp_tensor *y, const lrp_tensor *a, const lrp_tensor *b, lrp_bcast *bc)
{
    int64_t bd[LRP_MAX_DIMS];
    int nb = legacy_shape(n, a->ndim, b->ndim, b->dims, bd);
    if (nb < 0)
        return -1;
    int nds[2] = {a->ndim, nb};
    const int64_t *ds[2] = {a->dims, bd};
    return lrp_bcast_init(bc, y->ndim, y->dims, 2, nds, ds);
}

lrp_status lrp_binary_forward(const lrp_node *n, lrp_binop op, const lrp_tensor *const *in, lrp_tensor *const *out,
                              lrp_error *err)
{
    lrp_bcast bc;
    if (lrp_binary_bcast(n, out[0], in[0], in[1], &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the inputs do not broadcast to the output");
    if (in[0]->dtype == LRP_REAL_DT) {
        lrp_binary_f32(&bc, op, lrp_reals(in[0]), lrp_reals(in[1]), out[0]->data);
        return LRP_OK;
    }
    if (lrp_binary_i64(&bc, op, lrp_i64(in[0]), lrp_i64(in[1]), lrp_i64(out[0])) != 0)
        return lrp_node_fail(err, n, LRP_ERR_ARG, "integer division by zero");
    return LRP_OK;
}

static inline lrp_real grad_term(lrp_binop op, int k, lrp_real g, const lrp_real *a, const lrp_real *b, int64_t ia,
                                 int64_t ib)
{
    switch (op) {
    case LRP_BIN_ADD: return g;
    case LRP_BIN_SUB: return k == 1 ? g : -g;
    case LRP_BIN_MUL: return k == 1 ? g * b[ib] : g * a[ia];
    case LRP_BIN_DIV: return k == 1 ? g / b[ib] : -g * a[ia] / (b[ib] * b[ib]);
    case LRP_BIN_POW: {
        lrp_real x = a[ia], e = b[ib];
        if (k == 1)
            return e == 0.0f ? 0.0f : g * e * lrp_pow(x, e - 1.0f);
        /* d/de x^e = x^e log x; PyTorch takes 0 where x == 0 and e >= 0 */
        if (x == 0.0f && e >= 0.0f)
            return 0.0f;
        return g * lrp_pow(x, e) * lrp_log(x);
    }
    default: return 0.0f;
    }
}

void lrp_binary_grad(const lrp_bcast *bc, lrp_binop op, int k, const lrp_real *g, const lrp_real *a, const lrp_real *b,
                     lrp_real *gk)
{
    if (op == LRP_BIN_ADD || op == LRP_BIN_SUB) {
        lrp_bcast_reduce(bc, k, g, (op == LRP_BIN_SUB && k == 2) ? -1.0f : 1.0f, gk);
        return;
    }
    const int64_t sa = lrp_bcast_inner(bc, 1), sb = lrp_bcast_inner(bc, 2), sk = k == 1 ? sa : sb;
    const int64_t len = bc->len;
    if (sk == 0) {
        for (int64_t r = 0; r < bc->rows; r++) {
            int64_t off[LRP_BC_MAX] = {0};
            lrp_bcast_row(bc, r, off);
            double s = 0;
            for (int64_t i = 0; i < len; i++)
                s += grad_term(op, k, g[off[0] + i], a, b, off[1] + i * sa, off[2] + i * sb);
            gk[off[k]] += (lrp_real)s;
        }
        return;
    }
    const bool par = lrp_bcast_full(bc, k) && bc->rows * len > LRP_PAR_MIN;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (par)
    for (int64_t r = 0; r < bc->rows; r++) {
        int64_t off[LRP_BC_MAX] = {0};
        lrp_bcast_row(bc, r, off);
        lrp_real *dst = gk + off[k];
        for (int64_t i = 0; i < len; i++)
            dst[i] += grad_term(op, k, g[off[0] + i], a, b, off[1] + i * sa, off[2] + i * sb);
    }
}

lrp_status lrp_arith_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    if (lrp_node_in(g, n, 0)->dtype == LRP_INT64 || lrp_node_in(g, n, 1)->dtype == LRP_INT64) {
        lrp_status st = lrp_refuse_narrow_ints(g, n, err);
        if (st != LRP_OK)
            return st;
    }
    return lrp_binary_infer(g, n, true, 0, err);
}

lrp_status lrp_binary_backward(const lrp_node *n, lrp_binop op, const lrp_tensor *const *in, const lrp_tensor *gout,
                               lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0] && !gin[1])
        return LRP_OK;
    const lrp_tensor *a = in[0] ? in[0] : gin[0], *b = in[1] ? in[1] : gin[1];
    if (!a || !b || (op != LRP_BIN_ADD && op != LRP_BIN_SUB && (!in[0] || !in[1])))
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks an input it needs");
    if (a->dtype != LRP_REAL_DT || b->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "no gradient through integer inputs");
    lrp_bcast bc;
    if (lrp_binary_bcast(n, gout, a, b, &bc) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "the inputs do not broadcast to the output gradient");
    const lrp_real *ad = in[0] ? lrp_reals(in[0]) : NULL, *bd = in[1] ? lrp_reals(in[1]) : NULL;
    for (int k = 0; k < 2; k++)
        if (gin[k])
            lrp_binary_grad(&bc, op, k + 1, lrp_reals(gout), ad, bd, lrp_reals(gin[k]));
    return LRP_OK;
}

lrp_status lrp_variadic_infer(lrp_graph *g, lrp_node *n, bool allow_int, lrp_error *err)
{
    const lrp_value *x0 = lrp_node_in(g, n, 0);
    char s1[160], s2[160];
    if (!x0)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "input 0 is missing");
    if (x0->dtype == LRP_INT64 && !allow_int)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "integer inputs are not supported");
    int64_t out[LRP_MAX_DIMS];
    int no = x0->ndim;
    memcpy(out, x0->dims, sizeof(int64_t) * (size_t)no);
    for (int i = 1; i < n->n_inputs; i++) {
        const lrp_value *x = lrp_node_in(g, n, i);
        if (!x)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "input %d is missing", i);
        if (x->dtype != x0->dtype)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "inputs of different types");
        int64_t tmp[LRP_MAX_DIMS];
        int nt = lrp_broadcast_shape(no, out, x->ndim, x->dims, tmp);
        if (nt < 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "input %d of shape %s does not broadcast with %s", i,
                                 lrp_shape_str(x->ndim, x->dims, s1, sizeof s1),
                                 lrp_shape_str(no, out, s2, sizeof s2));
        no = nt;
        memcpy(out, tmp, sizeof(int64_t) * (size_t)no);
    }
    lrp_set_output(g, n, 0, x0->dtype, no, out);
    return LRP_OK;
}

static int bcast_one(const lrp_tensor *y, const lrp_tensor *x, lrp_bcast *bc)
{
    int nd = x->ndim;
    const int64_t *d = x->dims;
    return lrp_bcast_init(bc, y->ndim, y->dims, 1, &nd, &d);
}

lrp_status lrp_variadic_forward(const lrp_node *n, lrp_binop op, lrp_real scale, const lrp_tensor *const *in,
                                lrp_tensor *const *out, lrp_error *err)
{
    lrp_tensor *y = out[0];
    for (int k = 0; k < n->n_inputs; k++) {
        lrp_bcast bc;
        if (bcast_one(y, in[k], &bc) != 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "input %d does not broadcast to the output", k);
        const int64_t sx = lrp_bcast_inner(&bc, 1), len = bc.len;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (y->numel > LRP_PAR_MIN)
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t off[LRP_BC_MAX] = {0};
            lrp_bcast_row(&bc, r, off);
            if (y->dtype == LRP_INT64) {
                int64_t *yr = lrp_i64(y) + off[0];
                const int64_t *xr = lrp_i64(in[k]) + off[1];
                for (int64_t i = 0; i < len; i++) {
                    int64_t v = xr[i * sx];
                    if (k == 0)
                        yr[i] = v;
                    else if (op == LRP_BIN_ADD)
                        yr[i] = (int64_t)((uint64_t)yr[i] + (uint64_t)v);
                    else if (op == LRP_BIN_MAX)
                        yr[i] = v > yr[i] ? v : yr[i];
                    else
                        yr[i] = v < yr[i] ? v : yr[i];
                }
            } else {
                lrp_real *yr = lrp_reals(y) + off[0];
                const lrp_real *xr = lrp_reals(in[k]) + off[1];
                for (int64_t i = 0; i < len; i++) {
                    lrp_real v = xr[i * sx];
                    if (k == 0)
                        yr[i] = v;
                    else if (op == LRP_BIN_ADD)
                        yr[i] += v;
                    else if (v != v)
                        yr[i] = v; /* NaN propagates */
                    else if (op == LRP_BIN_MAX)
                        yr[i] = v > yr[i] ? v : yr[i];
                    else
                        yr[i] = v < yr[i] ? v : yr[i];
                }
            }
        }
    }
    if (scale != 1.0f && y->dtype == LRP_REAL_DT) {
        lrp_real *yd = lrp_reals(y);
        for (int64_t i = 0; i < y->numel; i++)
            yd[i] *= scale;
    }
    return LRP_OK;
}

lrp_status lrp_variadic_backward(const lrp_node *n, lrp_binop op, lrp_real scale, const lrp_tensor *const *in,
                                 const lrp_tensor *out, const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const lrp_real *g = lrp_reals(gout);
    if (op == LRP_BIN_ADD) {
        for (int k = 0; k < n->n_inputs; k++) {
            if (!gin[k])
                continue;
            lrp_bcast bc;
            if (bcast_one(gout, gin[k], &bc) != 0)
                return lrp_node_fail(err, n, LRP_ERR_SHAPE, "input %d does not broadcast to the output", k);
            lrp_bcast_reduce(&bc, 1, g, scale, lrp_reals(gin[k]));
        }
        return LRP_OK;
    }
    if (!out)
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks the output");
    for (int k = 0; k < n->n_inputs; k++)
        if (!in[k])
            return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks input %d", k);
    const lrp_real *y = lrp_reals(out);
    lrp_real *cnt = calloc((size_t)(out->numel ? out->numel : 1), sizeof(lrp_real));
    if (!cnt)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    lrp_status st = LRP_OK;
    for (int pass = 0; pass < 2 && st == LRP_OK; pass++)
        for (int k = 0; k < n->n_inputs; k++) {
            if (pass == 1 && !gin[k])
                continue;
            lrp_bcast bc;
            if (bcast_one(out, in[k], &bc) != 0) {
                st = lrp_node_fail(err, n, LRP_ERR_SHAPE, "input %d does not broadcast to the output", k);
                break;
            }
            const lrp_real *x = lrp_reals(in[k]);
            const int64_t sx = lrp_bcast_inner(&bc, 1);
            for (int64_t r = 0; r < bc.rows; r++) {
                int64_t off[LRP_BC_MAX] = {0};
                lrp_bcast_row(&bc, r, off);
                for (int64_t i = 0; i < bc.len; i++) {
                    int64_t o = off[0] + i, xi = off[1] + i * sx;
                    if (x[xi] != y[o])
                        continue;
                    if (pass == 0)
                        cnt[o] += 1.0f;
                    else
                        lrp_reals(gin[k])[xi] += g[o] / cnt[o];
                }
            }
        }
    free(cnt);
    return st;
}
