/* Attention under CP-LRP (Ali et al. 2022; refset-modern's rules for the
 * zennit composites): the attention weights are constants.
 *   none:            no relevance reaches any input (MatMul(Q, K^T), whose
 *                    operands are constants under CP);
 *   attention-value: on MatMul(A, V) with A a Softmax output (lrp_matmul_kind_of),
 *                    A is a constant weight and V gets the Epsilon rule
 *                    R_V = V ⊙ Aᵀ(R / s_ε(A V)); with positive=1 the ZPlus rule
 *                    of a nonnegative weight, R_V = V⁺ ⊙ Aᵀ(R / s_ε(A V⁺)). */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"
#include "graph/canonize.h"

#include <string.h>

static lrp_status none_apply(const lrp_rule_call *c, lrp_error *err)
{
    (void)c;
    (void)err;
    return LRP_OK;
}

/* R_in = 0 whatever R and x are: nothing to differentiate. */
static lrp_status none_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    (void)a;
    (void)err;
    return LRP_OK;
}

const lrp_rule_def lrp_rule_none = {
    .kind = LRP_RULE_NONE,
    .name = "none",
    .summary = "no relevance reaches the inputs (CP-LRP's attention scores MatMul(Q, K^T))",
    .apply = none_apply,
    .adjoint = none_adjoint,
};

static lrp_status value_check(const lrp_graph *g, const lrp_node *n, const char *label, lrp_error *err)
{
    int a;
    if (lrp_matmul_kind_of(g, n, &a) != LRP_MATMUL_VALUE)
        return lrp_fail(err, LRP_ERR_ARG,
                        "rule attention-value needs a MatMul of a Softmax output and an activation; node %s is not",
                        label);
    return LRP_OK;
}

/* V⁺ as a new tensor. */
static lrp_tensor *positive_part(const lrp_tensor *v, lrp_error *err)
{
    lrp_tensor *p = lrp_tensor_like(v, err);
    if (!p)
        return NULL;
    const lrp_real *s = lrp_reals(v);
    lrp_real *d = lrp_reals(p);
    for (int64_t i = 0; i < v->numel; i++)
        d[i] = s[i] > 0.0f ? s[i] : 0.0f;
    return p;
}

/* R_V += x ⊙ Aᵀ(R / s(z)) with x = V or V⁺ and z = A x. */
static lrp_status value_run(const lrp_rule_call *c, int a, const lrp_tensor *const *in, const lrp_tensor *z,
                            lrp_error *err)
{
    int v = 1 - a;
    lrp_tensor *g = lrp_rule_ratio_new(c, c->R, z, err);
    if (!g)
        return lrp_rule_oom(err);
    lrp_tensor *gin[2] = {NULL, NULL}, *tmp[2];
    gin[v] = c->gin[v];
    lrp_rule_call cv = *c;
    cv.gin = gin;
    lrp_status st = lrp_grad_into(&cv, in, z, g, tmp, err);
    lrp_tensor_free(g);
    if (st == LRP_OK)
        lrp_add_product(c->gin[v], in[v], tmp[v]);
    lrp_grad_free(c->n, tmp);
    return st;
}

static lrp_status value_apply(const lrp_rule_call *c, lrp_error *err)
{
    int a;
    if (lrp_matmul_kind_of(c->g, c->n, &a) != LRP_MATMUL_VALUE)
        return lrp_fail(err, LRP_ERR_INTERNAL, "rule attention-value on a MatMul it does not recognise");
    int v = 1 - a;
    if (!c->gin[v])
        return LRP_OK;
    if (!c->in[0] || !c->in[1] || !c->out)
        return lrp_fail(err, LRP_ERR_INTERNAL, "rule attention-value: the forward values were not kept");
    if (!c->rule->positive)
        return value_run(c, a, c->in, c->out, err);
    const lrp_tensor *in[2];
    lrp_tensor *vp = positive_part(c->in[v], err), *z = vp ? lrp_tensor_like(c->out, err) : NULL;
    lrp_status st = z ? LRP_OK : lrp_rule_oom(err);
    in[a] = c->in[a];
    in[v] = vp;
    lrp_tensor *outs[1] = {z};
    if (st == LRP_OK)
        st = c->n->op->forward(c->n, in, outs, err);
    if (st == LRP_OK)
        st = value_run(c, a, in, z, err);
    lrp_tensor_free(z);
    lrp_tensor_free(vp);
    return st;
}

/* The adjoint: R_V = f ⊙ Aᵀg, g = R / s(z), z = A f with f = V (z the
 * output) or V⁺ (positive=1; its slope [V >= 0], clamp's 1 at 0), and A a
 * forward value too. With p = A (f ⊙ u): uR += p / s(z); z's cotangent
 * z̄ = -p g / s(z) (unless detached) goes to the output's cotangent, or with
 * V⁺ through z = A V⁺ to A and (by the slope) V; V̄ += slope ⊙ u ⊙ Aᵀg (the
 * explicit factor) and, unless detached, Ā += ∂⟨g, A (f ⊙ u)⟩/∂A. */
static lrp_status value_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_node *n = c->n;
    int ai;
    if (lrp_matmul_kind_of(c->g, n, &ai) != LRP_MATMUL_VALUE)
        return lrp_fail(err, LRP_ERR_INTERNAL, "rule attention-value on a MatMul it does not recognise");
    const int v = 1 - ai;
    if (!a->u[v])
        return LRP_OK;
    const bool pos = c->rule->positive;
    lrp_tensor *vp = NULL, *zt = NULL, *zb = NULL, *tmp[2] = {NULL, NULL}, *outs[1];
    lrp_tensor *vu = NULL, *p = lrp_tensor_like(c->R, err);
    lrp_status st = p ? LRP_OK : lrp_rule_oom(err);
    const lrp_tensor *f = c->in[v], *z = c->out, *inf[2], *in[2];
    if (st == LRP_OK && pos) { /* f = V⁺, z = A V⁺ */
        if (!(vp = positive_part(c->in[v], err)) || !(zt = lrp_tensor_like(c->out, err)))
            st = lrp_rule_oom(err);
        inf[ai] = c->in[ai];
        inf[v] = vp;
        outs[0] = zt;
        if (st == LRP_OK)
            st = n->op->forward(n, inf, outs, err);
        f = vp;
        z = zt;
    }
    inf[ai] = c->in[ai];
    inf[v] = f;
    lrp_tensor *g = st == LRP_OK ? lrp_rule_ratio_new(c, c->R, z, err) : NULL;
    if (st == LRP_OK && (!g || (pos && !a->detach && !(zb = lrp_tensor_like(c->R, err)))))
        st = lrp_rule_oom(err);
    if (st == LRP_OK && !(vu = lrp_product_new(f, a->u[v], err)))
        st = lrp_rule_oom(err);
    if (st == LRP_OK) {
        in[ai] = c->in[ai];
        in[v] = vu;
        outs[0] = p;
        st = n->op->forward(n, in, outs, err);
    }
    if (st == LRP_OK) {
        const lrp_real *pp = lrp_reals(p), *zz = lrp_reals(z), *gg = lrp_reals(g);
        lrp_real *ur = lrp_reals(a->uR), *ao = lrp_reals(zb ? zb : a->aout);
        for (int64_t k = 0; k < p->numel; k++) {
            const lrp_real s = lrp_rule_stabilize(c->rule, zz[k]);
            ur[k] += pp[k] / s;
            if (!a->detach)
                ao[k] -= pp[k] * gg[k] / s;
        }
    }
    if (st == LRP_OK && !a->detach && c->gin[ai]) { /* Ā: the gradient of <g, A (f ⊙ u)> */
        lrp_tensor *ga[2] = {NULL, NULL};
        ga[ai] = c->gin[ai];
        st = n->op->backward(n, in, c->out, g, ga, err);
    }
    /* V̄ += slope ⊙ (u ⊙ Aᵀg + Aᵀz̄ with V⁺), Ā += ∂⟨z̄, A V⁺⟩/∂A */
    for (int pass = 0; pass < (zb ? 2 : 1) && st == LRP_OK; pass++) {
        lrp_rule_call cv = *c;
        lrp_tensor *gv[2] = {c->gin[0], c->gin[1]};
        if (!pass)
            gv[ai] = NULL;
        cv.gin = gv;
        st = lrp_grad_into(&cv, inf, z, pass ? zb : g, tmp, err);
        if (st == LRP_OK && pass && tmp[ai])
            lrp_add_inplace(c->gin[ai], tmp[ai]);
        if (st == LRP_OK && c->gin[v] && tmp[v]) {
            const lrp_real *t = lrp_reals(tmp[v]), *u = lrp_reals(a->u[v]), *x = lrp_reals(c->in[v]);
            lrp_real *gx = lrp_reals(c->gin[v]);
            for (int64_t k = 0; k < tmp[v]->numel; k++)
                gx[k] += (pos && !(x[k] >= 0.0f) ? 0.0f : 1.0f) * (pass ? t[k] : u[k] * t[k]);
        }
        lrp_grad_free(n, tmp);
    }
    lrp_tensor_free(vu);
    lrp_tensor_free(p);
    lrp_tensor_free(g);
    lrp_tensor_free(vp);
    lrp_tensor_free(zt);
    lrp_tensor_free(zb);
    return st;
}

const lrp_rule_def lrp_rule_attention_value = {
    .kind = LRP_RULE_ATTENTION_VALUE,
    .name = "attention-value",
    .summary = "on MatMul(A, V) with A a Softmax output: A a constant weight, Epsilon on V (positive=1: ZPlus)",
    .params = {LRP_FLOAT_PARAM("epsilon", "eps", eps, LRP_R(1e-6), "added to each denominator z with the sign of z"),
               LRP_FLAG_PARAM("positive", positive, 0.0f, false, "positive=1",
                              "1 keeps only the positive part of V (ZPlus)"),
               LRP_PARAM_SIGNED},
    .flags = LRP_RULE_DIVIDES,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
    .check = value_check,
    .apply = value_apply,
    .adjoint = value_adjoint,
};

/* The uniform-epsilon rule of AttnLRP (Achtibat et al. 2024) on a MatMul of
 * two activations a b: each operand gets half of each product's share,
 *   R_a = a ⊙ (g bᵀ), R_b = b ⊙ (aᵀ g), g = R / (2 a b + ε)  (unsigned ε). */
static lrp_status bilinear_check(const lrp_graph *g, const lrp_node *n, const char *label, lrp_error *err)
{
    if ((strcmp(n->op_type, "MatMul") != 0 && strcmp(n->op_type, "Einsum") != 0) || n->n_inputs != 2 ||
        n->inputs[0] < 0 || n->inputs[1] < 0 || g->values[n->inputs[0]].constant || g->values[n->inputs[1]].constant)
        return lrp_fail(err, LRP_ERR_ARG, "rule bilinear needs a MatMul or Einsum of two activations; node %s is not",
                        label);
    return LRP_OK;
}

static lrp_status bilinear_apply(const lrp_rule_call *c, lrp_error *err)
{
    if (!c->in[0] || !c->in[1] || !c->out)
        return lrp_fail(err, LRP_ERR_INTERNAL, "rule bilinear: the forward values were not kept");
    lrp_tensor *g = lrp_tensor_like(c->R, err);
    if (!g)
        return lrp_rule_oom(err);
    const lrp_real *r = lrp_reals(c->R), *z = lrp_reals(c->out);
    lrp_real *d = lrp_reals(g), eps = c->rule->eps;
    int64_t n = c->R->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        d[i] = r[i] / (2.0f * z[i] + eps);
    lrp_tensor *tmp[2];
    lrp_status st = lrp_grad_into(c, c->in, c->out, g, tmp, err);
    lrp_tensor_free(g);
    for (int i = 0; i < 2 && st == LRP_OK; i++)
        if (tmp[i])
            lrp_add_product(c->gin[i], c->in[i], tmp[i]);
    lrp_grad_free(c->n, tmp);
    return st;
}

/* The adjoint: with p = f(u_a ⊙ a, b) + f(a, u_b ⊙ b) (the directions of
 * both numerators), uR += p / (2z + ε), the output's cotangent -2 p g /
 * (2z + ε) (unless detached), the explicit factors ā += u_a ⊙ G_a(g, b),
 * b̄ += u_b ⊙ G_b(a, g), and, unless detached, the other operand inside
 * each: ā += G_a(g, u_b ⊙ b), b̄ += G_b(u_a ⊙ a, g) (G the op's gradients). */
static lrp_status bilinear_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_node *n = c->n;
    lrp_tensor *xu[2] = {NULL, NULL}, *p = lrp_tensor_like(c->R, err), *q = lrp_tensor_like(c->R, err),
               *g = lrp_tensor_like(c->R, err), *tmp[2] = {NULL, NULL};
    lrp_status st = p && q && g ? LRP_OK : lrp_rule_oom(err);
    for (int i = 0; i < 2 && st == LRP_OK; i++) {
        if (!a->u[i])
            continue;
        if (!(xu[i] = lrp_product_new(c->in[i], a->u[i], err)))
            st = lrp_rule_oom(err);
    }
    const lrp_tensor *in_a[2] = {xu[0], c->in[1]}, *in_b[2] = {c->in[0], xu[1]};
    if (st == LRP_OK) {
        const lrp_real *r = lrp_reals(c->R), *z = lrp_reals(c->out);
        lrp_real *d = lrp_reals(g), eps = c->rule->eps;
        for (int64_t k = 0; k < c->R->numel; k++)
            d[k] = r[k] / (2.0f * z[k] + eps);
        lrp_tensor *outs[1] = {q};
        if (xu[0] && (st = n->op->forward(n, in_a, outs, err)) == LRP_OK)
            lrp_add_inplace(p, q);
        if (st == LRP_OK && xu[1]) {
            memset(q->data, 0, sizeof(lrp_real) * (size_t)q->numel);
            if ((st = n->op->forward(n, in_b, outs, err)) == LRP_OK)
                lrp_add_inplace(p, q);
        }
    }
    if (st == LRP_OK) {
        const lrp_real *pp = lrp_reals(p), *z = lrp_reals(c->out), *gg = lrp_reals(g), eps = c->rule->eps;
        lrp_real *ur = lrp_reals(a->uR), *ao = lrp_reals(a->aout);
        for (int64_t k = 0; k < p->numel; k++) {
            const lrp_real s = 2.0f * z[k] + eps;
            ur[k] += pp[k] / s;
            if (!a->detach)
                ao[k] -= 2.0f * pp[k] * gg[k] / s;
        }
        st = lrp_grad_into(c, c->in, c->out, g, tmp, err);
    }
    for (int i = 0; i < 2 && st == LRP_OK; i++)
        if (tmp[i] && a->u[i])
            lrp_add_product(c->gin[i], a->u[i], tmp[i]);
    lrp_grad_free(n, tmp);
    if (st == LRP_OK && !a->detach) {
        lrp_tensor *g0[2] = {c->gin[0], NULL}, *g1[2] = {NULL, c->gin[1]};
        if (xu[1] && c->gin[0])
            st = n->op->backward(n, in_b, c->out, g, g0, err);
        if (st == LRP_OK && xu[0] && c->gin[1])
            st = n->op->backward(n, in_a, c->out, g, g1, err);
    }
    lrp_tensor_free(xu[0]);
    lrp_tensor_free(xu[1]);
    lrp_tensor_free(p);
    lrp_tensor_free(q);
    lrp_tensor_free(g);
    return st;
}

const lrp_rule_def lrp_rule_bilinear = {
    .kind = LRP_RULE_BILINEAR,
    .name = "bilinear",
    .summary = "on a MatMul of two activations: each operand half of each product's share (AttnLRP's "
               "uniform-epsilon rule)",
    .params = {LRP_FLOAT_PARAM("epsilon", "eps", eps, LRP_R(1e-6), "added to each denominator 2z")},
    .flags = LRP_RULE_DIVIDES,
    .keep = LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT,
    .check = bilinear_check,
    .apply = bilinear_apply,
    .adjoint = bilinear_adjoint,
};
