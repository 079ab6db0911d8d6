/* No rule: relevance follows the op's gradient (vector-Jacobian product). */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"
#include "ops/kernels/pool_kernels.h"

#include <stdlib.h>
#include <string.h>

static lrp_status gradient_apply(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_node *n = c->n;
    if (!n->op->backward)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "relevance cannot pass this op (it has no gradient)");
    return n->op->backward(n, c->in, c->out, c->R, c->gin, err);
}

/* ------------------------------------------------------------ the adjoint */

/* The adjoint of the gradient R_in = JᵀR with J's masks held (ReLU masks,
 * max-pooling's argmax): uR += J u, and where J depends on the input
 * smoothly its curvature reaches the forward values. Covered: layers (J =
 * W), piecewise-linear activations, max pooling and the affine ops below
 * (nothing reaches the forward values), ops of one activation with an
 * lrp_op.second (smooth activations, Softmax, LayerNormalization),
 * products of two activations (bilinear_adjoint) and their quotient
 * (div_adjoint); any other op is LRP_ERR_UNSUPPORTED. */

static bool type_in(const lrp_node *n, const char *const *types)
{
    for (int i = 0; types[i]; i++)
        if (!strcmp(n->op->type, types[i]))
            return true;
    return false;
}

/* Ops affine in their activation inputs together: J u = f(u) - f(0). */
static const char *const affine_ops[] = {"Flatten",     "Reshape",
                                         "Squeeze",     "Unsqueeze",
                                         "Transpose",   "Pad",
                                         "AveragePool", "GlobalAveragePool",
                                         "Concat",      "Add",
                                         "Sub",         "Sum",
                                         "ReduceMean",  "ReduceSum",
                                         "Slice",       "Expand",
                                         "Tile",        "BatchNormalization",
                                         "Gather",      "Split",
                                         NULL};
/* Ops affine in one activation input (the other a constant): Mul, and Div by a constant. */
static const char *const scale_ops[] = {"Mul", "Div", NULL};
/* Elementwise piecewise-linear activations: J is diagonal, J u = Jᵀu. */
static const char *const diagonal_ops[] = {"Relu", "Clip", "LeakyRelu", "HardSigmoid", NULL};

/* f(u) - f(0) on the node's activation inputs (constants as they are). */
static lrp_status affine_jvp(const lrp_adjoint_call *a, lrp_error *err)
{
    lrp_tensor *y = lrp_adj_linear_new(&a->c, a->u, err);
    if (!y)
        return lrp_rule_oom(err);
    lrp_add_inplace(a->uR, y);
    lrp_tensor_free(y);
    return LRP_OK;
}

/* Max pooling: J u takes u at each window's first maximum (the routing of its gradient). */
static lrp_status maxpool_jvp(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_tensor *x = c->in[0];
    const lrp_pool_state *s = c->n->state;
    lrp_pool_geom pg = s->geom;
    pg.planes = x->dims[0] * x->dims[1];
    int64_t nout = c->R->numel;
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)(nout ? nout : 1));
    lrp_tensor *y = lrp_tensor_like(c->R, err);
    if (!idx || !y) {
        free(idx);
        lrp_tensor_free(y);
        return lrp_rule_oom(err);
    }
    lrp_maxpool_fwd(&pg, lrp_reals(x), lrp_reals(y), idx);
    const int64_t HW = pg.H * pg.W, OHW = pg.OH * pg.OW;
    const lrp_real *u = lrp_reals(a->u[0]);
    lrp_real *ur = lrp_reals(a->uR);
    for (int64_t k = 0; k < nout; k++)
        if (idx[k] >= 0)
            ur[k] += u[(k / OHW) * HW + idx[k]];
    free(idx);
    lrp_tensor_free(y);
    return LRP_OK;
}

/* A product of two activations, y = f(a, b) bilinear (Mul, MatMul): R_a =
 * ∂⟨R, f(a, b)⟩/∂a and R_b likewise, so uR += f(u_a, b) + f(a, u_b), and the
 * curvature terms are the op's own gradients: ā += ∂⟨R, f(a, u_b)⟩/∂a,
 * b̄ += ∂⟨R, f(u_a, b)⟩/∂b. */
static lrp_status bilinear_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_node *n = c->n;
    lrp_tensor *y = lrp_tensor_like(c->R, err), *outs[1] = {y};
    if (!y)
        return lrp_rule_oom(err);
    const lrp_tensor *in1[2] = {a->u[0], c->in[1]}, *in2[2] = {c->in[0], a->u[1]};
    lrp_tensor *g0[2] = {c->gin[0], NULL}, *g1[2] = {NULL, c->gin[1]};
    lrp_status st = n->op->forward(n, in1, outs, err);
    if (st == LRP_OK)
        lrp_add_inplace(a->uR, y);
    if (st == LRP_OK) {
        memset(y->data, 0, sizeof(lrp_real) * (size_t)y->numel);
        st = n->op->forward(n, in2, outs, err);
    }
    if (st == LRP_OK)
        lrp_add_inplace(a->uR, y);
    lrp_tensor_free(y);
    if (st == LRP_OK)
        st = n->op->backward(n, in2, c->out, c->R, g0, err);
    if (st == LRP_OK)
        st = n->op->backward(n, in1, c->out, c->R, g1, err);
    return st;
}

/* y = a / b of two activations (broadcast): R_a = Σ R / b, R_b = −Σ R a / b²
 * (Σ over the broadcast dimensions), so uR += u_a / b − a u_b / b², and
 * ā += Σ −R u_b / b², b̄ += Σ (−R u_a / b² + 2 R a u_b / b³), with a, b, u_a
 * and u_b broadcast to the output's shape. */
static lrp_status div_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_tensor *R = c->R;
    lrp_tensor *t[6] = {NULL}; /* a, b, u_a, u_b at R's shape; the two sums */
    const lrp_tensor *src[4] = {c->in[0], c->in[1], a->u[0], a->u[1]};
    lrp_status st = LRP_OK;
    for (int k = 0; k < 6 && st == LRP_OK; k++)
        if (!(t[k] = lrp_tensor_like(R, err)))
            st = lrp_rule_oom(err);
    for (int k = 0; k < 4 && st == LRP_OK; k++) {
        if (src[k]->numel == R->numel)
            memcpy(t[k]->data, src[k]->data, sizeof(lrp_real) * (size_t)R->numel);
        else
            lrp_bcast_map((lrp_tensor *)src[k], t[k], 1.0f, true);
    }
    if (st == LRP_OK) {
        const lrp_real *r = lrp_reals(R), *A = lrp_reals(t[0]), *B = lrp_reals(t[1]), *UA = lrp_reals(t[2]),
                       *UB = lrp_reals(t[3]);
        lrp_real *ur = lrp_reals(a->uR), *da = lrp_reals(t[4]), *db = lrp_reals(t[5]);
        for (int64_t i = 0; i < R->numel; i++) {
            const lrp_real b2 = B[i] * B[i];
            ur[i] += UA[i] / B[i] - A[i] * UB[i] / b2;
            da[i] = -r[i] * UB[i] / b2;
            db[i] = -r[i] * UA[i] / b2 + 2.0f * r[i] * A[i] * UB[i] / (b2 * B[i]);
        }
        for (int k = 0; k < 2; k++) {
            if (!c->gin[k])
                continue;
            if (c->gin[k]->numel == R->numel)
                lrp_add_inplace(c->gin[k], t[4 + k]);
            else
                lrp_bcast_map(c->gin[k], t[4 + k], 1.0f, false);
        }
    }
    lrp_tensors_free(t, 6);
    return st;
}

static lrp_status gradient_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_call *c = &a->c;
    const lrp_node *n = c->n;
    int act = lrp_activation_input(c), nact = 0;
    for (int i = 0; i < n->n_inputs; i++)
        nact += c->gin[i] != NULL;
    if (n->n_inputs > LRP_RULE_MAX_INPUTS || act < 0)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "no second order for this node");
    if (lrp_rule_on_layer(c) && nact == 1 && act == 0) {
        lrp_tensor *t = lrp_layer_new(c, a->u[0], lrp_reals(lrp_layer_weight(c)), NULL, err);
        if (!t)
            return lrp_rule_oom(err);
        lrp_add_inplace(a->uR, t);
        lrp_tensor_free(t);
        return LRP_OK;
    }
    if (!strcmp(n->op->type, "Identity") || !strcmp(n->op->type, "Dropout")) {
        lrp_add_inplace(a->uR, a->u[act]);
        return LRP_OK;
    }
    if (type_in(n, diagonal_ops) && nact == 1) {
        lrp_tensor *tmp[LRP_RULE_MAX_INPUTS];
        lrp_status st = lrp_grad_into(c, c->in, c->out, a->u[act], tmp, err);
        if (st == LRP_OK)
            lrp_add_inplace(a->uR, tmp[act]);
        lrp_grad_free(n, tmp);
        return st;
    }
    if (!strcmp(n->op->type, "MaxPool") && n->n_outputs == 1 && c->in[0]->ndim == 4 && nact == 1)
        return maxpool_jvp(a, err);
    if (n->n_outputs == 1 &&
        (type_in(n, affine_ops) || (type_in(n, scale_ops) && nact == 1 && (act == 0 || n->op->type[0] == 'M'))))
        return affine_jvp(a, err);
    /* smooth elementwise ops: J is diagonal (J u = Jᵀu), and the curvature
     * R ⊙ u ⊙ f''(x) reaches x̄ */
    if (n->op->second && nact == 1 && act == 0 && c->out && c->in[0]->numel == c->R->numel) {
        lrp_status st = LRP_OK;
        if (n->op->jvp)
            st = n->op->jvp(n, c->in, c->out, a->u[0], a->uR, err);
        else {
            lrp_tensor *tmp[LRP_RULE_MAX_INPUTS];
            st = lrp_grad_into(c, c->in, c->out, a->u[0], tmp, err);
            if (st == LRP_OK)
                lrp_add_inplace(a->uR, tmp[0]);
            lrp_grad_free(n, tmp);
        }
        return st == LRP_OK ? n->op->second(n, c->in, c->out, c->R, a->u[0], c->gin[0], err) : st;
    }
    if ((!strcmp(n->op->type, "Mul") || !strcmp(n->op->type, "MatMul") || !strcmp(n->op->type, "Einsum")) &&
        n->n_inputs == 2 && nact == 2 && n->n_outputs == 1 && c->out)
        return bilinear_adjoint(a, err);
    if (!strcmp(n->op->type, "Div") && n->n_inputs == 2 && nact == 2 && n->n_outputs == 1 && c->in[0] && c->in[1] &&
        c->in[0]->dtype == LRP_REAL_DT && c->in[1]->dtype == LRP_REAL_DT)
        return div_adjoint(a, err);
    return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                         "no second order of the gradient through a %s node (supported: layers, piecewise-linear "
                         "and smooth elementwise activations, products of two activations, max pooling and affine "
                         "ops)",
                         n->op->type);
}

const lrp_rule_def lrp_rule_gradient = {
    .kind = LRP_RULE_GRADIENT,
    .name = "gradient",
    .summary = "no rule: the plain gradient",
    .flags = LRP_RULE_FOLLOWS_GRADIENT | LRP_RULE_KEEP_OP,
    .apply = gradient_apply,
    .adjoint = gradient_adjoint,
};
