/* Same-shape inference, copies, constant integer inputs, axes. */
#include "ops/kernels/eltwise_kernels.h"

#include "ops/kernels/bcast_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

lrp_status lrp_infer_same(lrp_graph *g, lrp_node *n, bool allow_int, lrp_error *err)
{
    const lrp_value *x = lrp_node_in(g, n, 0);
    if (x->dtype != LRP_REAL_DT && !(allow_int && x->dtype == LRP_INT64))
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported (the input is int64)");
    lrp_set_output(g, n, 0, x->dtype, x->ndim, x->dims);
    return LRP_OK;
}

static size_t elem_bytes(const lrp_tensor *t) { return lrp_elem_size(t); }

lrp_status lrp_copy_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    if (in[0]->numel != out[0]->numel || in[0]->dtype != out[0]->dtype)
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "copy between tensors of different sizes");
    if (in[0]->numel)
        memcpy(out[0]->data, in[0]->data, (size_t)in[0]->numel * elem_bytes(in[0]));
    return LRP_OK;
}

void lrp_add_to(lrp_real *dst, const lrp_real *src, int64_t n)
{
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (n > LRP_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dst[i] += src[i];
}

lrp_status lrp_copy_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                             const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    if (gin[0]->numel != gout->numel || gin[0]->dtype != LRP_REAL_DT || gout->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "gradient of the wrong size");
    lrp_add_to(lrp_reals(gin[0]), lrp_reals(gout), gout->numel);
    return LRP_OK;
}

bool lrp_value_narrow_int(const lrp_value *v)
{
    switch (v ? v->decl_elem_type : 0) {
    case 2:  /* uint8 */
    case 3:  /* int8 */
    case 4:  /* uint16 */
    case 5:  /* int16 */
    case 12: /* uint32 */
    case 13: /* uint64 */ return true;
    default: return false;
    }
}

lrp_status lrp_refuse_narrow_ints(const lrp_graph *g, const lrp_node *n, lrp_error *err)
{
    for (int i = -1; i < n->n_inputs; i++) {
        const lrp_value *v = i < 0 ? lrp_node_out(g, n, 0) : lrp_node_in(g, n, i);
        if (lrp_value_narrow_int(v))
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                                 "'%s' is declared with an 8-, 16-bit or unsigned integer type, whose wraparound "
                                 "arithmetic is not supported (integers are computed as int64)",
                                 v->name);
    }
    return LRP_OK;
}

lrp_status lrp_const_ints(const lrp_graph *g, const lrp_node *n, int i, const char *what, const int64_t **vals,
                          int *count, lrp_error *err)
{
    const lrp_value *v = lrp_node_in(g, n, i);
    *vals = NULL;
    *count = 0;
    if (!v)
        return LRP_OK;
    if (!v->constant)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                             "%s ('%s') must be constant: it is computed at run time from non-constant data", what,
                             v->name);
    const lrp_tensor *t = v->constant;
    if (t->dtype != LRP_INT64)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "%s ('%s') must be an integer tensor", what, v->name);
    if (t->ndim > 1)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "%s ('%s') must be 1-D, not of rank %d", what, v->name, t->ndim);
    if (t->numel > LRP_MAX_DIMS * 64)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "%s ('%s') has %lld entries", what, v->name, (long long)t->numel);
    *vals = lrp_i64(t);
    *count = (int)t->numel;
    return LRP_OK;
}

lrp_status lrp_norm_axes(const lrp_node *n, const int64_t *axes, int count, int r, bool sort, int *out, lrp_error *err)
{
    if (count > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "%d axes for a tensor of rank %d", count, r);
    for (int i = 0; i < count; i++) {
        int a = lrp_axis(axes[i], r);
        if (a < 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)axes[i],
                                 r);
        for (int j = 0; j < i; j++)
            if (out[j] == a)
                return lrp_node_fail(err, n, LRP_ERR_FORMAT, "axis %lld is repeated", (long long)axes[i]);
        out[i] = a;
    }
    if (sort)
        for (int i = 1; i < count; i++)
            for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
                int t = out[j];
                out[j] = out[j - 1];
                out[j - 1] = t;
            }
    return LRP_OK;
}

lrp_real lrp_scalar_f(const lrp_tensor *t)
{
    if (!t || t->numel < 1)
        return 0.0f;
    return t->dtype == LRP_INT64 ? (lrp_real)lrp_i64(t)[0] : lrp_reals(t)[0];
}

lrp_group lrp_group_activation(const lrp_graph *g, const lrp_node *n) { return LRP_GROUP_ACTIVATION; }

lrp_status lrp_infer_same_float(lrp_graph *g, lrp_node *n, lrp_error *err) { return lrp_infer_same(g, n, false, err); }

lrp_status lrp_infer_same_any(lrp_graph *g, lrp_node *n, lrp_error *err) { return lrp_infer_same(g, n, true, err); }

lrp_status lrp_act_params_init(lrp_node *n, const char *a, lrp_real da, const char *b, lrp_real db, lrp_error *err)
{
    lrp_act_params *p = calloc(1, sizeof *p);
    if (!p)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    n->state = p;
    p->alpha = lrp_attr_float(n, a, da);
    p->beta = b ? lrp_attr_float(n, b, db) : 0.0f;
    if (!isfinite(p->alpha) || !isfinite(p->beta))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "attribute %s%s%s is not finite", a, b ? " or " : "", b ? b : "");
    return LRP_OK;
}

/* ------------------------------------------------------------ masked gradients
 * The gradient of ReLU and Clip adds g where the mask holds and leaves gx as it
 * is elsewhere: a select of gx + g or gx (never gx + 0, which would turn -0
 * into +0), in vectors (GCC does not if-convert a float add, which might
 * trap), so the same bits as the branch. */
#define MASK_CHUNK 16384
#ifdef LRP_REAL_DOUBLE
typedef int64_t mask_int;
#else
typedef int32_t mask_int;
#endif
typedef lrp_real mvec __attribute__((vector_size(16)));
typedef lrp_real umvec __attribute__((vector_size(16), aligned(sizeof(lrp_real)), may_alias));
typedef mask_int mivec __attribute__((vector_size(16)));
#define MV_N ((int64_t)(16 / sizeof(lrp_real)))

static inline mvec mask_select(mivec m, mvec a, mvec b) { return (mvec)(((mivec)a & m) | ((mivec)b & ~m)); }

static void add_where_inside_range(lrp_real *gx, const lrp_real *g, const lrp_real *x, lrp_real lo, lrp_real hi,
                                   int64_t n)
{
    const mvec lov = lo - (mvec){0}, hiv = hi - (mvec){0};
    int64_t i = 0;
    for (; i + MV_N <= n; i += MV_N) {
        mvec v = *(const umvec *)(gx + i), s = v + *(const umvec *)(g + i), xv = *(const umvec *)(x + i);
        *(umvec *)(gx + i) = mask_select((xv > lov) & (xv < hiv), s, v);
    }
    for (; i < n; i++)
        if (x[i] > lo && x[i] < hi)
            gx[i] += g[i];
}

void lrp_add_where_inside(lrp_real *gx, const lrp_real *g, const lrp_real *x, lrp_real lo, lrp_real hi, int64_t n)
{
    const int64_t chunks = (n + MASK_CHUNK - 1) / MASK_CHUNK;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (n > LRP_PAR_MIN)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t i0 = c * MASK_CHUNK, m = n - i0 < MASK_CHUNK ? n - i0 : MASK_CHUNK;
        add_where_inside_range(gx + i0, g + i0, x + i0, lo, hi, m);
    }
}

static void add_where_positive_range(lrp_real *gx, const lrp_real *g, const lrp_real *y, int64_t n)
{
    int64_t i = 0;
    for (; i + MV_N <= n; i += MV_N) {
        mvec v = *(const umvec *)(gx + i), s = v + *(const umvec *)(g + i), yv = *(const umvec *)(y + i);
        *(umvec *)(gx + i) = mask_select(yv > (mvec){0}, s, v);
    }
    for (; i < n; i++)
        if (y[i] > 0.0f)
            gx[i] += g[i];
}

void lrp_add_where_positive(lrp_real *gx, const lrp_real *g, const lrp_real *y, int64_t n)
{
    const int64_t chunks = (n + MASK_CHUNK - 1) / MASK_CHUNK;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (n > LRP_PAR_MIN)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t i0 = c * MASK_CHUNK, m = n - i0 < MASK_CHUNK ? n - i0 : MASK_CHUNK;
        add_where_positive_range(gx + i0, g + i0, y + i0, m);
    }
}

static void clip_range(lrp_real *y, const lrp_real *x, lrp_real lo, lrp_real hi, int64_t n)
{
    const mvec lov = lo - (mvec){0}, hiv = hi - (mvec){0};
    int64_t i = 0;
    for (; i + MV_N <= n; i += MV_N) {
        mvec xv = *(const umvec *)(x + i);
        mvec v = mask_select(xv < lov, lov, xv);
        *(umvec *)(y + i) = mask_select(v > hiv, hiv, v);
    }
    for (; i < n; i++) {
        lrp_real v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}

void lrp_clip_values(lrp_real *y, const lrp_real *x, lrp_real lo, lrp_real hi, int64_t n)
{
    const int64_t chunks = (n + MASK_CHUNK - 1) / MASK_CHUNK;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (n > LRP_PAR_MIN)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t i0 = c * MASK_CHUNK, m = n - i0 < MASK_CHUNK ? n - i0 : MASK_CHUNK;
        clip_range(y + i0, x + i0, lo, hi, m);
    }
}
