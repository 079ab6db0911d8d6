/* The ReLU rules (zennit's ReLUDeconvNet, ReLUGuidedBackprop, ReLUBetaSmooth):
 * other backward passes of a ReLU, on nodes with one input shaped like the
 * output. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

#include <math.h>
#include <string.h>

/* DeconvNet: R_in = max(R, 0). */
static lrp_status deconvnet_apply(const lrp_rule_call *c, lrp_error *err)
{
    lrp_real *a = lrp_reals(c->gin[lrp_activation_input(c)]);
    const lrp_real *rr = lrp_reals(c->R);
    for (int64_t k = 0; k < c->R->numel; k++)
        a[k] += rr[k] > 0.0f ? rr[k] : 0.0f;
    return LRP_OK;
}

/* Guided backpropagation: the gradient where R > 0. */
static lrp_status guided_apply(const lrp_rule_call *c, lrp_error *err)
{
    lrp_tensor *tmp[LRP_RULE_MAX_INPUTS];
    if (c->n->n_inputs > LRP_RULE_MAX_INPUTS)
        return lrp_node_fail(err, c->n, LRP_ERR_UNSUPPORTED, "too many inputs");
    lrp_status st = lrp_grad_into(c, c->in, c->out, c->R, tmp, err);
    if (st == LRP_OK) {
        int i = lrp_activation_input(c);
        lrp_real *a = lrp_reals(c->gin[i]);
        const lrp_real *rr = lrp_reals(c->R), *t = lrp_reals(tmp[i]);
        for (int64_t k = 0; k < c->R->numel; k++)
            a[k] += rr[k] > 0.0f ? t[k] : 0.0f * t[k];
    }
    lrp_grad_free(c->n, tmp);
    return st;
}

/* Guided backpropagation runs the op's gradient. */
static lrp_status guided_check(const lrp_graph *g, const lrp_node *n, const char *label, lrp_error *err)
{
    if (!n->op->backward)
        return lrp_fail(err, LRP_ERR_ARG, "node %s (%s) has no gradient", label, n->op_type);
    return LRP_OK;
}

/* Beta-smooth: the gradient of softplus_β, R ⊙ sigmoid(βx). */
static lrp_status beta_smooth_apply(const lrp_rule_call *c, lrp_error *err)
{
    int i = lrp_activation_input(c);
    lrp_real *a = lrp_reals(c->gin[i]);
    const lrp_real *rr = lrp_reals(c->R), *x = lrp_reals(c->in[i]);
    lrp_real b = c->rule->beta_smooth;
    if (c->rule->inplace) /* the stored input was overwritten by relu(x) */
        for (int64_t k = 0; k < c->R->numel; k++)
            a[k] += rr[k] / (1.0f + lrp_exp(-b * (x[k] > 0.0f ? x[k] : 0.0f)));
    else
        for (int64_t k = 0; k < c->R->numel; k++)
            a[k] += rr[k] / (1.0f + lrp_exp(-b * x[k]));
    return LRP_OK;
}

/* The adjoint of beta-smooth: uR += sigmoid(βx) u, x̄ += u R β sigmoid(βx)(1 - sigmoid(βx)). */
static lrp_status beta_smooth_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    if (c->rule->inplace)
        return lrp_node_fail(err, c->n, LRP_ERR_UNSUPPORTED, "beta-smooth with inplace has no second order");
    int i = lrp_activation_input(c);
    lrp_real *ur = lrp_reals(a->uR), *ab = lrp_reals(c->gin[i]);
    const lrp_real *rr = lrp_reals(c->R), *x = lrp_reals(c->in[i]), *u = lrp_reals(a->u[i]);
    lrp_real b = c->rule->beta_smooth;
    for (int64_t k = 0; k < c->R->numel; k++) {
        lrp_real s = 1.0f / (1.0f + lrp_exp(-b * x[k]));
        ur[k] += s * u[k];
        ab[k] += u[k] * rr[k] * b * s * (1.0f - s);
    }
    return LRP_OK;
}

/* The adjoint of DeconvNet: R_in = max(R, 0) is linear in R where R != 0
 * and does not read the forward values: uR += [R > 0] u (relu's derivative,
 * 0 at 0, as torch's). */
static lrp_status deconvnet_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    int i = lrp_activation_input(c);
    lrp_real *ur = lrp_reals(a->uR);
    const lrp_real *rr = lrp_reals(c->R), *u = lrp_reals(a->u[i]);
    for (int64_t k = 0; k < c->R->numel; k++)
        ur[k] += rr[k] > 0.0f ? u[k] : 0.0f;
    return LRP_OK;
}

/* The adjoint of guided backpropagation on a piecewise-linear activation
 * (its derivative d(x) is piecewise constant, so nothing flows to x): R_in
 * = [R > 0] d(x) R, so uR += d(x) [R > 0] u, the op's gradient of the
 * masked u. */
static lrp_status guided_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const char *op = c->n->op_type;
    if (strcmp(op, "Relu") && strcmp(op, "LeakyRelu"))
        return lrp_node_fail(err, c->n, LRP_ERR_UNSUPPORTED,
                             "guided backpropagation has a second order on Relu and LeakyRelu only, not %s", op);
    int i = lrp_activation_input(c);
    lrp_tensor *mu = lrp_tensor_like(c->R, err), *tmp[LRP_RULE_MAX_INPUTS] = {NULL};
    if (!mu)
        return lrp_rule_oom(err);
    const lrp_real *rr = lrp_reals(c->R), *u = lrp_reals(a->u[i]);
    lrp_real *m = lrp_reals(mu);
    for (int64_t k = 0; k < c->R->numel; k++)
        m[k] = rr[k] > 0.0f ? u[k] : 0.0f;
    lrp_status st = lrp_grad_into(c, c->in, c->out, mu, tmp, err);
    if (st == LRP_OK)
        lrp_add_inplace(a->uR, tmp[i]);
    lrp_grad_free(c->n, tmp);
    lrp_tensor_free(mu);
    return st;
}

const lrp_rule_def lrp_rule_deconvnet = {
    .kind = LRP_RULE_DECONVNET,
    .name = "deconvnet",
    .summary = "the positive part of the relevance passes (DeconvNet)",
    .target = LRP_ON_ELEMENTWISE,
    .apply = deconvnet_apply,
    .adjoint = deconvnet_adjoint,
};

const lrp_rule_def lrp_rule_guided = {
    .kind = LRP_RULE_GUIDED,
    .name = "guided-backprop",
    .aliases = {"guided", "guided_backprop"},
    .summary = "the gradient where the relevance is positive (guided backpropagation)",
    .target = LRP_ON_ELEMENTWISE,
    .flags = LRP_RULE_FOLLOWS_GRADIENT | LRP_RULE_KEEP_OP,
    .check = guided_check,
    .apply = guided_apply,
    .adjoint = guided_adjoint,
};

const lrp_rule_def lrp_rule_beta_smooth = {
    .kind = LRP_RULE_BETASMOOTH,
    .name = "beta-smooth",
    .aliases = {"beta_smooth"},
    .summary = "the gradient of a softplus of sharpness beta_smooth in place of the ReLU's",
    .params = {LRP_FLOAT_PARAM("beta_smooth", "beta-smooth", beta_smooth, 10.0f, "sharpness of the softplus"),
               LRP_FLAG_PARAM("inplace", inplace, 0.0f, false, "inplace",
                              "1 reproduces zennit on an in-place ReLU module: sigmoid(beta*relu(x))")},
    .target = LRP_ON_ELEMENTWISE,
    .keep = LRP_KEEP_INPUTS,
    .apply = beta_smooth_apply,
    .adjoint = beta_smooth_adjoint,
};
