/* LayerNormalization (opset 17): each group of the elements at dims axis..r-1
 * (for fixed leading indices) is normalized, y = (x - mean) / sqrt(var + eps)
 * * Scale + B, Scale and B broadcast onto the normalized dims. The optional
 * outputs Mean and InvStdDev (shape dims[:axis] followed by ones) are written
 * as float; with another stash_type they are refused.
 *
 * Mean and variance are computed in double within a group, in a fixed order
 * (two passes), and every output is rounded once; threads share the groups,
 * never a group's sums, so results do not depend on the thread count. The
 * gradient with respect to X is the exact one (the statistics are functions
 * of X); Scale and B get theirs when they are not constant. */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t axis;
    lrp_real eps;
} ln_state;

static lrp_status ln_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    ln_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    s->axis = lrp_attr_int(n, "axis", -1);
    s->eps = lrp_attr_float(n, "epsilon", 1e-5f);
    if (!(s->eps >= 0.0f) || !isfinite(s->eps))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "epsilon must be a non-negative number");
    if (n->n_outputs > 3)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "LayerNormalization has at most 3 outputs (Y, Mean, InvStdDev)");
    const int64_t stash = lrp_attr_int(n, "stash_type", 1);
    if (stash != 1 && stash != 10 && stash != 11 && stash != 16)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "stash_type %lld is not a floating-point type", (long long)stash);
    for (int k = 1; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0 && stash != 1)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                                 "the Mean and InvStdDev outputs with stash_type %lld (only 1, float, is supported)",
                                 (long long)stash);
    return LRP_OK;
}

/* Whether a parameter of shape (np, pd) broadcasts onto the normalized dims
 * (nd, d): right-aligned, each dim 1 or equal, extra leading dims 1. */
static bool param_fits(int np, const int64_t *pd, int nd, const int64_t *d)
{
    for (int k = 0; k < np; k++) {
        const int j = nd - np + k; /* the normalized dim it aligns with, < 0 past the left */
        if (pd[k] != 1 && (j < 0 || pd[k] != d[j]))
            return false;
    }
    return true;
}

/* The element of parameter p (shape (np, pd), fitting (nd, d)) at position
 * pos of a group (row-major over d). */
static int64_t param_index(int np, const int64_t *pd, int nd, const int64_t *d, int64_t pos)
{
    int64_t idx = 0, stride = 1;
    for (int k = np - 1, j = nd - 1; k >= 0 && j >= 0; k--, j--) {
        const int64_t i = pos % d[j];
        pos /= d[j];
        if (pd[k] != 1)
            idx += i * stride;
        stride *= pd[k];
    }
    return idx;
}

static lrp_status ln_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const ln_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    char sb[160], xb[160];
    if (x->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    const int r = x->ndim, axis = lrp_axis(s->axis, r);
    if (axis < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)s->axis, r);
    static const char *const names[] = {"X", "Scale", "B"};
    for (int i = 1; i < 3; i++) {
        const lrp_value *p = lrp_node_in(g, n, i);
        if (!p) {
            if (i == 1)
                return lrp_node_fail(err, n, LRP_ERR_FORMAT, "input Scale is missing");
            continue;
        }
        if (p->dtype != LRP_REAL_DT)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "input %s is not a float tensor", names[i]);
        if (!param_fits(p->ndim, p->dims, r - axis, x->dims + axis))
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "%s of shape %s does not broadcast onto dims %d.. of X %s",
                                 names[i], lrp_shape_str(p->ndim, p->dims, sb, sizeof sb), axis,
                                 lrp_shape_str(x->ndim, x->dims, xb, sizeof xb));
    }
    lrp_set_output(g, n, 0, LRP_REAL_DT, r, x->dims);
    int64_t sd[LRP_MAX_DIMS];
    for (int d = 0; d < r; d++)
        sd[d] = d < axis ? x->dims[d] : 1;
    for (int k = 1; k < 3; k++)
        if (lrp_node_out(g, n, k))
            lrp_set_output(g, n, k, LRP_REAL_DT, r, sd);
    return LRP_OK;
}

/* The tensor as groups: outer groups of L elements each. */
static void view(const lrp_node *n, const lrp_tensor *x, int *axis, int64_t *outer, int64_t *L)
{
    const ln_state *s = n->state;
    *axis = lrp_axis(s->axis, x->ndim);
    *outer = 1, *L = 1;
    for (int d = 0; d < x->ndim; d++)
        *(d < *axis ? outer : L) *= x->dims[d];
}

/* Parameter p (may be NULL: dflt everywhere) as one value per position of a
 * group, in a new array of L doubles; NULL when out of memory or when p does
 * not fit. */
static double *param_expand(const lrp_tensor *p, double dflt, const lrp_tensor *x, int axis, int64_t L)
{
    double *v = malloc(sizeof(double) * (size_t)(L + 1));
    if (!v)
        return NULL;
    const int nd = x->ndim - axis;
    const int64_t *d = x->dims + axis;
    if (p && !param_fits(p->ndim, p->dims, nd, d)) {
        free(v);
        return NULL;
    }
    for (int64_t k = 0; k < L; k++)
        v[k] = !p              ? dflt
               : p->numel == L ? (double)lrp_reals(p)[k]
                               : (double)lrp_reals(p)[param_index(p->ndim, p->dims, nd, d, k)];
    return v;
}

/* Mean and 1 / sqrt(var + eps) of one group, in double, in a fixed order. */
static void group_stats(const lrp_real *x, int64_t L, double eps, double *mean, double *inv)
{
    double s = 0;
    for (int64_t k = 0; k < L; k++)
        s += (double)x[k];
    const double m = L ? s / (double)L : 0.0;
    double v = 0;
    for (int64_t k = 0; k < L; k++) {
        const double c = (double)x[k] - m;
        v += c * c;
    }
    *mean = m;
    *inv = 1.0 / sqrt((L ? v / (double)L : 0.0) + eps);
}

static lrp_status ln_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const ln_state *s = n->state;
    int axis;
    int64_t outer, L;
    view(n, in[0], &axis, &outer, &L);
    double *sc = param_expand(in[1], 1.0, in[0], axis, L);
    double *bi = param_expand(n->n_inputs > 2 ? in[2] : NULL, 0.0, in[0], axis, L);
    if (!sc || !bi) {
        free(sc);
        free(bi);
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "Scale or B does not fit the input (or out of memory)");
    }
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    lrp_real *mo = n->n_outputs > 1 && out[1] ? lrp_reals(out[1]) : NULL;
    lrp_real *io = n->n_outputs > 2 && out[2] ? lrp_reals(out[2]) : NULL;
    const double eps = (double)s->eps;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (in[0]->numel > LRP_PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        const lrp_real *xg = x + o * L;
        lrp_real *yg = y + o * L;
        double m, inv;
        group_stats(xg, L, eps, &m, &inv);
        for (int64_t k = 0; k < L; k++)
            yg[k] = (lrp_real)(((double)xg[k] - m) * inv * sc[k] + bi[k]);
        if (mo)
            mo[o] = (lrp_real)m;
        if (io)
            io[o] = (lrp_real)inv;
    }
    free(sc);
    free(bi);
    return LRP_OK;
}

/* gx += inv * (h - mean(h) - xhat * mean(h * xhat)), h = g * Scale, per group. */
static void grad_x(const lrp_real *x, const lrp_real *g, const double *sc, int64_t outer, int64_t L, double eps,
                   lrp_real *gx)
{
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (outer * L > LRP_PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        const lrp_real *xg = x + o * L, *gg = g + o * L;
        lrp_real *gxg = gx + o * L;
        double m, inv;
        group_stats(xg, L, eps, &m, &inv);
        double sh = 0, shx = 0;
        for (int64_t k = 0; k < L; k++) {
            const double h = (double)gg[k] * sc[k];
            sh += h;
            shx += h * ((double)xg[k] - m) * inv;
        }
        sh /= (double)L;
        shx /= (double)L;
        for (int64_t k = 0; k < L; k++) {
            const double h = (double)gg[k] * sc[k], xh = ((double)xg[k] - m) * inv;
            gxg[k] += (lrp_real)(inv * (h - sh - xh * shx));
        }
    }
}

/* gp += the sums over the groups of w (g * xhat for Scale, g for B), reduced
 * onto the parameter's broadcast shape; d[k] holds the per-position sums. */
static int grad_param(const lrp_tensor *p, const double *d, const lrp_tensor *x, int axis, int64_t L, lrp_real *gp)
{
    const int nd = x->ndim - axis;
    const int64_t *dims = x->dims + axis;
    if (p->numel == L) {
        for (int64_t k = 0; k < L; k++)
            gp[k] += (lrp_real)d[k];
        return 0;
    }
    double *acc = calloc((size_t)p->numel + 1, sizeof(double));
    if (!acc)
        return -1;
    for (int64_t k = 0; k < L; k++)
        acc[param_index(p->ndim, p->dims, nd, dims, k)] += d[k];
    for (int64_t j = 0; j < p->numel; j++)
        gp[j] += (lrp_real)acc[j];
    free(acc);
    return 0;
}

/* The gradients of Scale and B: per position, sums over the groups in order. */
static lrp_status grad_params(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *gout,
                              lrp_tensor *const *gin, int axis, int64_t outer, int64_t L, lrp_error *err)
{
    const ln_state *s = n->state;
    double *st = malloc(sizeof(double) * (size_t)(2 * outer + 2 * L + 1));
    if (!st)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    double *mean = st, *inv = st + outer, *ds = st + 2 * outer, *db = ds + L;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (outer * L > LRP_PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        group_stats(x + o * L, L, (double)s->eps, &mean[o], &inv[o]);
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (outer * L > LRP_PAR_MIN)
    for (int64_t k = 0; k < L; k++) {
        double a = 0, b = 0;
        for (int64_t o = 0; o < outer; o++) {
            const double gv = (double)g[o * L + k];
            a += gv * ((double)x[o * L + k] - mean[o]) * inv[o];
            b += gv;
        }
        ds[k] = a;
        db[k] = b;
    }
    int bad = 0;
    if (gin[1])
        bad |= grad_param(in[1], ds, in[0], axis, L, lrp_reals(gin[1]));
    if (n->n_inputs > 2 && gin[2])
        bad |= grad_param(in[2], db, in[0], axis, L, lrp_reals(gin[2]));
    free(st);
    return bad ? lrp_fail(err, LRP_ERR_NOMEM, "out of memory") : LRP_OK;
}

static lrp_status ln_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                              const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const ln_state *s = n->state;
    int axis;
    int64_t outer, L;
    view(n, in[0], &axis, &outer, &L);
    if (gin[0]) {
        double *sc = param_expand(in[1], 1.0, in[0], axis, L);
        if (!sc)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "Scale does not fit the input (or out of memory)");
        grad_x(lrp_reals(in[0]), lrp_reals(gout), sc, outer, L, (double)s->eps, lrp_reals(gin[0]));
        free(sc);
    }
    if (gin[1] || (n->n_inputs > 2 && gin[2]))
        return grad_params(n, in, gout, gin, axis, outer, L, err);
    return LRP_OK;
}

static lrp_group ln_group(const lrp_graph *g, const lrp_node *n) { return LRP_GROUP_LAYERNORM; }

/* The second order of the gradient (lrp_op.jvp, lrp_op.second), with Scale
 * constant. Per group, with xhat = (x - mean) inv and M z = inv (z - mean(z)
 * - xhat <xhat, z> / L) (the Jacobian of xhat, symmetric): J u = Scale ⊙ M u,
 * and with a = Scale ⊙ g, P = <a, xhat>, Q = <xhat, u> and phi = <a, M u>,
 * the gradient of phi in x is -phi inv xhat / L - (inv / L) M (Q a + P u). */
static lrp_status ln_second_run(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *g,
                                const lrp_tensor *u, lrp_tensor *y, lrp_tensor *gx, lrp_error *err)
{
    const ln_state *s = n->state;
    int axis;
    int64_t outer, L;
    view(n, in[0], &axis, &outer, &L);
    double *sc = param_expand(in[1], 1.0, in[0], axis, L);
    if (!sc)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "Scale does not fit the input (or out of memory)");
    const lrp_real *x = lrp_reals(in[0]), *uu = lrp_reals(u), *gg = g ? lrp_reals(g) : NULL;
    lrp_real *yy = y ? lrp_reals(y) : NULL, *d = gx ? lrp_reals(gx) : NULL;
    const double eps = (double)s->eps;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (outer * L > LRP_PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        const lrp_real *xg = x + o * L, *ug = uu + o * L;
        double m, inv;
        group_stats(xg, L, eps, &m, &inv);
        double su = 0, Q = 0;
        for (int64_t k = 0; k < L; k++) {
            su += (double)ug[k];
            Q += ((double)xg[k] - m) * inv * ug[k];
        }
        const double mu = su / (double)L;
        if (yy)
            for (int64_t k = 0; k < L; k++) {
                const double xh = ((double)xg[k] - m) * inv;
                yy[o * L + k] += (lrp_real)(sc[k] * inv * ((double)ug[k] - mu - xh * Q / (double)L));
            }
        if (!d)
            continue;
        const lrp_real *ggr = gg + o * L;
        double P = 0, A1 = 0, sz = 0, xz = 0;
        for (int64_t k = 0; k < L; k++) {
            const double xh = ((double)xg[k] - m) * inv, a = sc[k] * ggr[k];
            P += a * xh;
            A1 += a * ((double)ug[k] - mu);
        }
        const double phi = (A1 - P * Q / (double)L) * inv;
        for (int64_t k = 0; k < L; k++) {
            const double xh = ((double)xg[k] - m) * inv, z = Q * sc[k] * ggr[k] + P * ug[k];
            sz += z;
            xz += xh * z;
        }
        const double mz = sz / (double)L;
        for (int64_t k = 0; k < L; k++) {
            const double xh = ((double)xg[k] - m) * inv, z = Q * sc[k] * ggr[k] + P * ug[k],
                         Mz = inv * (z - mz - xh * xz / (double)L);
            d[o * L + k] += (lrp_real)(-phi * inv * xh / (double)L - inv / (double)L * Mz);
        }
    }
    free(sc);
    return LRP_OK;
}

static lrp_status ln_jvp(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out, const lrp_tensor *u,
                         lrp_tensor *y, lrp_error *err)
{
    return ln_second_run(n, in, NULL, u, y, NULL, err);
}

static lrp_status ln_second(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out, const lrp_tensor *g,
                            const lrp_tensor *u, lrp_tensor *gx, lrp_error *err)
{
    return ln_second_run(n, in, g, u, NULL, gx, err);
}

const lrp_op lrp_op_layernormalization = {
    .overwrites = 1,
    .type = "LayerNormalization",
    .min_inputs = 2,
    .max_inputs = 3,
    .init = ln_init,
    .destroy = free,
    .infer = ln_infer,
    .forward = ln_forward,
    .backward = ln_backward,
    .jvp = ln_jvp,
    .second = ln_second,
    .keep = LRP_KEEP_INPUTS,
    .group = ln_group,
};
