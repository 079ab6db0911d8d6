/* What the adjoints of the layer rules share: one group of terms
 * coef · f ⊙ Wᵀg over one denominator z (Epsilon, ZPlus, AlphaBeta's halves,
 * Gamma's halves, ZBox), differentiated in R, in the explicit input factors
 * and, unless detached, through z (README of refset-order2: the stabilizer's
 * sign, the masks and the parameters are constants). */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

lrp_tensor *lrp_adj_linear_new(const lrp_rule_call *c, const lrp_tensor *const *dir, lrp_error *err)
{
    const lrp_node *n = c->n;
    const lrp_tensor *in[LRP_RULE_MAX_INPUTS];
    lrp_tensor *zero[LRP_RULE_MAX_INPUTS] = {0}, *y = NULL, *y0 = NULL, *outs[1];
    if (n->n_inputs > LRP_RULE_MAX_INPUTS) {
        lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs");
        return NULL;
    }
    bool constant_real = false;
    for (int i = 0; i < n->n_inputs; i++) {
        constant_real = constant_real || (!c->gin[i] && c->in[i] && c->in[i]->dtype == LRP_REAL_DT);
        in[i] = c->gin[i] ? dir[i] : c->in[i];
    }
    if (!(y = outs[0] = lrp_tensor_like(c->R, err)))
        return NULL;
    lrp_status st = n->op->forward(n, in, outs, err);
    if (st == LRP_OK && constant_real) { /* less f(0, constants) */
        for (int i = 0; i < n->n_inputs && st == LRP_OK; i++)
            if (c->gin[i] && !(in[i] = zero[i] = lrp_tensor_like(dir[i], err)))
                st = lrp_rule_oom(err);
        if (st == LRP_OK && !(y0 = outs[0] = lrp_tensor_like(c->R, err)))
            st = lrp_rule_oom(err);
        if (st == LRP_OK)
            st = n->op->forward(n, in, outs, err);
        if (st == LRP_OK) {
            lrp_real *yy = lrp_reals(y);
            const lrp_real *y00 = lrp_reals(y0);
            for (int64_t k = 0; k < y->numel; k++)
                yy[k] -= y00[k];
        }
    }
    for (int i = 0; i < n->n_inputs; i++)
        lrp_tensor_free(zero[i]);
    lrp_tensor_free(y0);
    if (st != LRP_OK) {
        lrp_tensor_free(y);
        return NULL;
    }
    return y;
}

void lrp_bcast_map(lrp_tensor *small, lrp_tensor *big, lrp_real scale, bool expand)
{
    int nd = big->ndim, off = nd - small->ndim;
    int64_t stride[LRP_MAX_DIMS], s = 1;
    for (int d = nd - 1; d >= 0; d--) {
        int64_t dim = d >= off ? small->dims[d - off] : 1;
        stride[d] = dim == 1 ? 0 : s;
        s *= dim;
    }
    lrp_real *r = lrp_reals(big), *a = lrp_reals(small);
    int64_t idx[LRP_MAX_DIMS] = {0};
    for (int64_t i = 0; i < big->numel; i++) {
        int64_t at = 0;
        for (int d = 0; d < nd; d++)
            at += idx[d] * stride[d];
        if (expand)
            r[i] += scale * a[at];
        else
            a[at] += scale * r[i];
        for (int d = nd - 1; d >= 0 && ++idx[d] == big->dims[d]; d--)
            idx[d] = 0;
    }
}

lrp_tensor *lrp_adj_half_z(const lrp_rule_call *c, const lrp_sign_split *s, const lrp_real *W1, const lrp_real *W2,
                           const lrp_real *b1, lrp_error *err)
{
    lrp_tensor *z = lrp_layer_new(c, s->xpos, W1, b1, err);
    if (z && s->xn) {
        lrp_tensor *t = lrp_layer_new(c, s->xn, W2, NULL, err);
        if (!t) {
            lrp_tensor_free(z);
            return NULL;
        }
        lrp_add_inplace(z, t);
        lrp_tensor_free(t);
    }
    return z;
}

/* The derivative of a term's factor at x: 1, [x >= 0] or [x <= 0]. */
static lrp_real factor_slope(int dep, lrp_real x)
{
    if (dep == LRP_ADJ_XPOS)
        return x >= 0.0f ? 1.0f : 0.0f;
    if (dep == LRP_ADJ_XNEG)
        return x <= 0.0f ? 1.0f : 0.0f;
    return 1.0f;
}

static lrp_real mask_of(const lrp_real *m, int mask_sign, int64_t i)
{
    if (mask_sign > 0)
        return m[i] > 0.0f ? 1.0f : 0.0f;
    if (mask_sign < 0)
        return m[i] < 0.0f ? 1.0f : 0.0f;
    return 1.0f;
}

lrp_status lrp_adj_group(const lrp_adjoint_call *a, const lrp_adj_term *t, int nt, const lrp_tensor *z,
                         const lrp_tensor *mask, int mask_sign, lrp_real scale, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_tensor *x = c->in[0], *u = a->u[0];
    lrp_tensor *abar = c->gin[0];
    lrp_tensor *p = NULL, *fu = NULL, *q = NULL, *g = NULL, *zb = NULL, *t1 = NULL, *t2 = NULL;
    lrp_status st = LRP_OK;
    /* p = Σ_j coef_j f(f_j ⊙ u; W_j, 0): the direction of z (and of R_in's
     * numerators) along u, pulled into the output space */
    if (!(fu = lrp_tensor_like(x, err)))
        goto oom;
    for (int j = 0; j < nt; j++) {
        if (t[j].zero)
            continue;
        const lrp_real *f = lrp_reals(t[j].f), *uu = lrp_reals(u);
        lrp_real *d = lrp_reals(fu);
        const int64_t n = x->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++)
            d[i] = f[i] * uu[i];
        if (!(q = lrp_layer_new(c, fu, t[j].W, NULL, err)))
            goto oom;
        if (!p) {
            p = q;
            lrp_real *pp = lrp_reals(p), cf = t[j].coef;
            const int64_t m = p->numel;
            if (cf != 1.0f)
                for (int64_t i = 0; i < m; i++)
                    pp[i] *= cf;
        } else {
            lrp_real *pp = lrp_reals(p), cf = t[j].coef;
            const lrp_real *qq = lrp_reals(q);
            const int64_t m = p->numel;
            for (int64_t i = 0; i < m; i++)
                pp[i] += cf * qq[i];
            lrp_tensor_free(q);
        }
        q = NULL;
    }
    if (!p && !(p = lrp_tensor_like(c->R, err)))
        goto oom;
    /* g = m R / s(z); uR += scale m p / s(z); z̄ = -scale p g / s(z) */
    if (!(g = lrp_tensor_like(c->R, err)) || (!a->detach && !(zb = lrp_tensor_like(c->R, err))))
        goto oom;
    {
        const lrp_real *r = lrp_reals(c->R), *zz = lrp_reals(z), *pp = lrp_reals(p),
                       *m = mask ? lrp_reals(mask) : NULL;
        lrp_real *gg = lrp_reals(g), *ur = lrp_reals(a->uR), *zbar = zb ? lrp_reals(zb) : NULL;
        const int64_t n = c->R->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            lrp_real s = lrp_rule_stabilize(c->rule, zz[i]), mi = mask_of(m, mask_sign, i);
            gg[i] = mi * r[i] / s;
            ur[i] += scale * mi * pp[i] / s;
            if (zbar)
                zbar[i] = -scale * pp[i] * gg[i] / s;
        }
    }
    /* x̄ += coef_j f_j'(x) ⊙ (scale u ⊙ W_jᵀg + W_jᵀz̄) */
    for (int j = 0; j < nt; j++) {
        /* x⁻ of an x >= 0 has the slope 1 only where x = 0 */
        if (t[j].dep == LRP_ADJ_CONST || (t[j].zero && t[j].dep == LRP_ADJ_XNEG && a->dead_at_zero))
            continue;
        if ((!t[j].wtg && !(t1 = lrp_layer_t_new(c, g, t[j].W, x, err))) ||
            (zb && !(t2 = lrp_layer_t_new(c, zb, t[j].W, x, err))))
            goto oom;
        const lrp_real *xx = lrp_reals(x), *uu = lrp_reals(u), *a1 = lrp_reals(t[j].wtg ? t[j].wtg : t1),
                       *a2 = t2 ? lrp_reals(t2) : NULL;
        lrp_real *ab = lrp_reals(abar), coef = t[j].coef;
        int dep = t[j].dep;
        const int64_t n = x->numel;
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            lrp_real v = scale * uu[i] * a1[i] + (a2 ? a2[i] : 0.0f);
            ab[i] += coef * factor_slope(dep, xx[i]) * v;
        }
        lrp_tensor_free(t1);
        lrp_tensor_free(t2);
        t1 = t2 = NULL;
    }
    goto done;
oom:
    st = lrp_rule_oom(err);
done:
    lrp_tensor_free(p);
    lrp_tensor_free(fu);
    lrp_tensor_free(q);
    lrp_tensor_free(g);
    lrp_tensor_free(zb);
    lrp_tensor_free(t1);
    lrp_tensor_free(t2);
    return st;
}
