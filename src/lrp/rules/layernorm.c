/* LayerNorm (refset-modern's rule for LayerNormalization): sigma frozen and
 * the epsilon rule on the rest. Over each group x of L elements (dims
 * axis..r-1), y = w (x - mean x) / sigma + b with sigma = sqrt(var x + eps_ln)
 * held constant is linear in x, and the epsilon rule on it gives
 * R_x = x ⊙ (g - mean g), g = w R / (sigma s(y)), s the signed stabilizer
 * with the rule's epsilon; the bias b only enters through y. Each group is
 * summed in double, in a fixed order, so results do not depend on the thread
 * count. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

#include <math.h>
#include <string.h>

/* The stabilized denominator in double: y + eps with the sign of y (zero
 * positive), or y + eps when unsign (LXT). */
static double stab(double y, double eps, bool unsign) { return y + (unsign || y >= 0.0 ? eps : -eps); }

/* One group's sums, in double and in a fixed order: mean x, sigma and
 * mean g, g_k = w_k R_k / (sigma s(y_k)) (the_g gives g_k). */
typedef struct ln_sums {
    double mean, sigma, gmean;
} ln_sums;

static double the_g(const ln_sums *t, const lrp_real *y, const lrp_real *r, const lrp_real *w, int64_t nw, int64_t k,
                    double eps, bool unsign)
{
    return (double)w[nw == 1 ? 0 : k] * r[k] / (t->sigma * stab(y[k], eps, unsign));
}

static ln_sums group_sums(const lrp_real *x, const lrp_real *y, const lrp_real *r, const lrp_real *w, int64_t nw,
                          int64_t L, double eps_ln, double eps, bool unsign)
{
    ln_sums t = {0.0, 0.0, 0.0};
    double var = 0.0, gsum = 0.0;
    for (int64_t k = 0; k < L; k++)
        t.mean += x[k];
    t.mean /= (double)L;
    for (int64_t k = 0; k < L; k++)
        var += ((double)x[k] - t.mean) * ((double)x[k] - t.mean);
    t.sigma = sqrt(var / (double)L + eps_ln);
    for (int64_t k = 0; k < L; k++)
        gsum += the_g(&t, y, r, w, nw, k, eps, unsign);
    t.gmean = gsum / (double)L;
    return t;
}

/* One group: gx += x ⊙ (g - mean g). */
static void layernorm_group(const lrp_real *x, const lrp_real *y, const lrp_real *r, const lrp_real *w, int64_t nw,
                            int64_t L, double eps_ln, double eps, bool unsign, lrp_real *gx)
{
    const ln_sums t = group_sums(x, y, r, w, nw, L, eps_ln, eps, unsign);
    for (int64_t k = 0; k < L; k++)
        gx[k] += (lrp_real)((double)x[k] * (the_g(&t, y, r, w, nw, k, eps, unsign) - t.gmean));
}

/* The groups of the node: outer of L elements each; the forward values and
 * the Scale the rule needs (one value or one per element). */
static lrp_status layernorm_groups(const lrp_rule_call *c, int64_t *outer, int64_t *L, lrp_error *err)
{
    const lrp_tensor *x = c->in[0], *w = c->in[1];
    if (!x || !w || !c->out)
        return lrp_node_fail(err, c->n, LRP_ERR_INTERNAL, "the layernorm rule lacks a forward value");
    const int axis = lrp_axis(lrp_attr_int(c->n, "axis", -1), x->ndim);
    if (axis < 0)
        return lrp_node_fail(err, c->n, LRP_ERR_SHAPE, "axis out of range");
    *outer = 1, *L = 1;
    for (int d = 0; d < x->ndim; d++)
        *(d < axis ? outer : L) *= x->dims[d];
    if (w->numel != *L && w->numel != 1)
        return lrp_node_fail(err, c->n, LRP_ERR_UNSUPPORTED,
                             "the layernorm rule needs a Scale of one value or one per normalized element");
    return LRP_OK;
}

static lrp_status layernorm_apply(const lrp_rule_call *c, lrp_error *err)
{
    if (!c->gin[0])
        return LRP_OK;
    int64_t outer, L;
    lrp_status st = layernorm_groups(c, &outer, &L, err);
    if (st != LRP_OK)
        return st;
    const double eps_ln = lrp_attr_float(c->n, "epsilon", 1e-5f), eps = c->rule->eps;
    const lrp_real *xd = lrp_reals(c->in[0]), *yd = lrp_reals(c->out), *rd = lrp_reals(c->R),
                   *wd = lrp_reals(c->in[1]);
    lrp_real *gx = lrp_reals(c->gin[0]);
    const int64_t n = outer * L, nw = c->in[1]->numel;
    LRP_PAR_FOR
    for (int64_t o = 0; o < outer; o++)
        layernorm_group(xd + o * L, yd + o * L, rd + o * L, wd, nw, L, eps_ln, eps, c->rule->unsigned_eps, gx + o * L);
    (void)n;
    return LRP_OK;
}

/* The adjoint of one group (the same sums as layernorm_group): with
 * h = u⊙x − mean(u⊙x), uR += h ⊙ w / (sigma s(y)); x̄ += u ⊙ (g − mean g)
 * (the explicit factor); unless detached, the output's cotangent
 * −h ⊙ g / s(y) (the gradient sweep takes it through the LayerNorm) and
 * sigma's, −Σ h g / sigma, through sigma(x): x̄ += sigmā (x − mean x) /
 * (L sigma). */
static void layernorm_group_adjoint(const lrp_real *x, const lrp_real *y, const lrp_real *r, const lrp_real *w,
                                    int64_t nw, int64_t L, double eps_ln, double eps, bool unsign, const lrp_real *u,
                                    bool detach, lrp_real *ur, lrp_real *ao, lrp_real *gx)
{
    const ln_sums t = group_sums(x, y, r, w, nw, L, eps_ln, eps, unsign);
    double qsum = 0.0, sbar = 0.0;
    for (int64_t k = 0; k < L; k++)
        qsum += (double)u[k] * x[k];
    const double qmean = qsum / (double)L;
    for (int64_t k = 0; k < L; k++) {
        const double s = stab(y[k], eps, unsign), g = the_g(&t, y, r, w, nw, k, eps, unsign),
                     h = (double)u[k] * x[k] - qmean;
        ur[k] += (lrp_real)(h * (double)w[nw == 1 ? 0 : k] / (t.sigma * s));
        if (gx)
            gx[k] += (lrp_real)((double)u[k] * (g - t.gmean));
        if (!detach) {
            ao[k] -= (lrp_real)(h * g / s);
            sbar -= h * g / t.sigma;
        }
    }
    if (gx && !detach)
        for (int64_t k = 0; k < L; k++)
            gx[k] += (lrp_real)(sbar * ((double)x[k] - t.mean) / ((double)L * t.sigma));
}

static lrp_status layernorm_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    if (!a->u[0])
        return LRP_OK;
    int64_t outer, L;
    lrp_status st = layernorm_groups(c, &outer, &L, err);
    if (st != LRP_OK)
        return st;
    const double eps_ln = lrp_attr_float(c->n, "epsilon", 1e-5f), eps = c->rule->eps;
    const lrp_real *xd = lrp_reals(c->in[0]), *yd = lrp_reals(c->out), *rd = lrp_reals(c->R),
                   *wd = lrp_reals(c->in[1]), *ud = lrp_reals(a->u[0]);
    lrp_real *ur = lrp_reals(a->uR), *ao = lrp_reals(a->aout), *gx = c->gin[0] ? lrp_reals(c->gin[0]) : NULL;
    const int64_t n = outer * L, nw = c->in[1]->numel;
    LRP_PAR_FOR
    for (int64_t o = 0; o < outer; o++)
        layernorm_group_adjoint(xd + o * L, yd + o * L, rd + o * L, wd, nw, L, eps_ln, eps, c->rule->unsigned_eps,
                                ud + o * L, a->detach, ur + o * L, ao + o * L, gx ? gx + o * L : NULL);
    (void)n;
    return LRP_OK;
}

static lrp_status layernorm_check(const lrp_graph *g, const lrp_node *n, const char *label, lrp_error *err)
{
    if (strcmp(n->op_type, "LayerNormalization") != 0)
        return lrp_fail(err, LRP_ERR_ARG, "rule layernorm needs a LayerNormalization node; node %s is a %s", label,
                        n->op_type);
    return LRP_OK;
}

const lrp_rule_def lrp_rule_layernorm = {
    .kind = LRP_RULE_LAYERNORM,
    .name = "layernorm",
    .aliases = {"layer-norm"},
    .summary = "epsilon rule on a LayerNormalization with its standard deviation held constant",
    .params = {LRP_FLOAT_PARAM("epsilon", "eps", eps, LRP_R(1e-6), "added to each denominator y with the sign of y"),
               LRP_PARAM_SIGNED},
    .flags = LRP_RULE_DIVIDES,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
    .check = layernorm_check,
    .apply = layernorm_apply,
    .adjoint = layernorm_adjoint,
};
