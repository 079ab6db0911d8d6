/* Operator gradients, linear-layer adjoints, zennit groups and bad inputs.
 *
 * Each gradient case builds a one-node graph, fills its runtime inputs with
 * random values (away from kinks and ties where the op has them), and
 * compares the node's backward (the vector-Jacobian product for a random
 * upstream gradient) with central finite differences of its forward,
 * summed in double. Backward must accumulate: the gradients start at 0.25.
 * It only gets the tensors its `keep` asks for (and constants). */
#include "testutil.h"

#include "engine/forward.h"
#include "graph_builder.h"
#include "graph/shape_infer.h"
#include "ops/op.h"
#include "base/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- random */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15ull + 1; }

static double urand(void) /* [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

typedef enum {
    IN_SMOOTH,   /* uniform in [-1, 1] */
    IN_DISTINCT, /* distinct values on a grid of 0.05, offset per input: no ties, no value at 0, 0.5, 1, 3 ... */
    IN_POSITIVE, /* uniform in [0.5, 2] */
} in_kind;

static void fill(lrp_tensor *t, in_kind kind, int which)
{
    lrp_real *v = lrp_reals(t);
    const int64_t n = t->numel;
    if (kind == IN_DISTINCT) {
        for (int64_t i = 0; i < n; i++)
            v[i] = (lrp_real)(((double)i - (double)n / 2) * 0.05 + 0.025 + 0.01 * which);
        for (int64_t i = n - 1; i > 0; i--) { /* shuffle */
            int64_t j = (int64_t)(urand() * (double)(i + 1));
            lrp_real tmp = v[i];
            v[i] = v[j];
            v[j] = tmp;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++)
        v[i] = kind == IN_POSITIVE ? (lrp_real)(0.5 + 1.5 * urand()) : (lrp_real)(2.0 * urand() - 1.0);
}

static lrp_tensor *new_like_value(const lrp_value *v)
{
    lrp_tensor *t = lrp_tensor_new(v->dtype, v->ndim, v->dims, NULL);
    assert_non_null(t);
    return t;
}

static void zero(lrp_tensor *t)
{
    if (t && t->numel)
        memset(t->data, 0, (size_t)t->numel * (t->dtype == LRP_INT64 ? 8 : 4));
}

/* ------------------------------------------------------- gradient check */

typedef struct {
    lrp_graph *g;
    lrp_node *n;
    const lrp_tensor *in[16];
    lrp_tensor *rt[16]; /* runtime inputs (not constant) */
    lrp_tensor *out[16];
} one_node;

static void prepare(one_node *c, lrp_graph *g, int node, in_kind kind)
{
    lrp_error err = {0};
    memset(c, 0, sizeof *c);
    if (gb_prepare(g, &err) != LRP_OK)
        fail_msg("graph preparation failed: %s", err.message);
    c->g = g;
    c->n = &g->nodes[node];
    assert_true(c->n->n_inputs <= 16 && c->n->n_outputs <= 16);
    for (int i = 0, which = 0; i < c->n->n_inputs; i++) {
        const lrp_value *v = lrp_node_in(g, c->n, i);
        if (!v)
            continue;
        if (v->constant) {
            c->in[i] = v->constant;
            continue;
        }
        c->rt[i] = new_like_value(v);
        fill(c->rt[i], kind, which++);
        c->in[i] = c->rt[i];
    }
    for (int k = 0; k < c->n->n_outputs; k++) {
        const lrp_value *v = lrp_node_out(g, c->n, k);
        if (v)
            c->out[k] = new_like_value(v);
    }
}

static void release(one_node *c)
{
    for (int i = 0; i < 16; i++) {
        lrp_tensor_free(c->rt[i]);
        lrp_tensor_free(c->out[i]);
    }
    lrp_graph_free(c->g);
}

static void forward(one_node *c)
{
    lrp_error err = {0};
    for (int k = 0; k < c->n->n_outputs; k++)
        zero(c->out[k]);
    if (c->n->op->forward(c->n, c->in, c->out, &err) != LRP_OK)
        fail_msg("forward failed: %s", err.message);
}

/* <g, y> in double */
static double dot_out(const one_node *c, const lrp_tensor *g)
{
    double s = 0;
    for (int64_t i = 0; i < g->numel; i++)
        s += (double)lrp_reals(g)[i] * (double)lrp_reals(c->out[0])[i];
    return s;
}

/* Compares backward with central differences of step h for every runtime
 * input element. */
static void check_node(lrp_graph *g, int node, in_kind kind, double h, double tol)
{
    one_node c;
    prepare(&c, g, node, kind);
    const lrp_op *op = c.n->op;
    assert_non_null(op->backward);
    forward(&c);
    lrp_tensor *gout = lrp_tensor_like(c.out[0], NULL);
    assert_non_null(gout);
    fill(gout, IN_SMOOTH, 0);
    lrp_tensor *gin[16] = {0};
    const lrp_tensor *in_b[16] = {0};
    for (int i = 0; i < c.n->n_inputs; i++) {
        if (c.rt[i]) {
            gin[i] = lrp_tensor_like(c.rt[i], NULL);
            for (int64_t j = 0; j < gin[i]->numel; j++)
                lrp_reals(gin[i])[j] = 0.25f; /* backward accumulates */
        }
        in_b[i] = (!c.rt[i] || (op->keep & LRP_KEEP_INPUTS)) ? c.in[i] : NULL;
    }
    const lrp_tensor *out_b = (op->keep & LRP_KEEP_OUTPUT) ? c.out[0] : NULL;
    lrp_error err = {0};
    if (op->backward(c.n, in_b, out_b, gout, gin, &err) != LRP_OK)
        fail_msg("%s backward failed: %s", op->type, err.message);
    for (int i = 0; i < c.n->n_inputs; i++) {
        if (!c.rt[i])
            continue;
        double worst = 0, scale = 1e-2;
        int64_t worst_j = -1;
        double *fd = malloc(sizeof(double) * (size_t)(c.rt[i]->numel + 1));
        assert_non_null(fd);
        for (int64_t j = 0; j < c.rt[i]->numel; j++) {
            lrp_real *x = lrp_reals(c.rt[i]) + j, x0 = *x;
            lrp_real xp = (lrp_real)(x0 + h), xm = (lrp_real)(x0 - h);
            *x = xp;
            forward(&c);
            double fp = dot_out(&c, gout);
            *x = xm;
            forward(&c);
            double fm = dot_out(&c, gout);
            *x = x0;
            fd[j] = (fp - fm) / ((double)xp - (double)xm);
            if (fabs(fd[j]) > scale)
                scale = fabs(fd[j]);
        }
        for (int64_t j = 0; j < c.rt[i]->numel; j++) {
            double a = (double)lrp_reals(gin[i])[j] - 0.25, d = fabs(a - fd[j]);
            if (d > worst) {
                worst = d;
                worst_j = j;
            }
        }
        if (getenv("LRP_GRAD_VERBOSE"))
            print_message("%-18s input %d: worst error %.2e of scale %.2e (ratio %.2e)\n", op->type, i, worst, scale,
                          worst / scale);
        if (worst > tol * scale)
            fail_msg("%s: gradient of input %d, element %lld: backward %.7g, finite differences %.7g (scale %.3g)",
                     op->type, i, (long long)worst_j, (double)lrp_reals(gin[i])[worst_j] - 0.25, fd[worst_j], scale);
        free(fd);
    }
    for (int i = 0; i < 16; i++)
        lrp_tensor_free(gin[i]);
    lrp_tensor_free(gout);
    release(&c);
}

/* An op's lrp_op.second (gx += ∂⟨u, Jᵀg⟩/∂x, the curvature term of the second
 * order; elementwise g ⊙ u ⊙ f''(x)) against central differences of
 * ⟨u, backward(g)⟩ at x ± h e_j; and its lrp_op.jvp (J u), where it has
 * one, against central differences of the forward along u. Only input 0 is
 * a runtime input. */
static void check_second(lrp_graph *g, int node, in_kind kind, double h, double tol)
{
    one_node c;
    prepare(&c, g, node, kind);
    const lrp_op *op = c.n->op;
    assert_non_null(op->second);
    for (int i = 1; i < c.n->n_inputs; i++)
        assert_null(c.rt[i]);
    lrp_tensor *x = c.rt[0], *gout = lrp_tensor_like(x, NULL), *u = lrp_tensor_like(x, NULL),
               *gx = lrp_tensor_like(x, NULL), *tmp = lrp_tensor_like(x, NULL);
    assert_true(gout && u && gx && tmp);
    fill(gout, IN_SMOOTH, 1);
    fill(u, IN_SMOOTH, 2);
    for (int64_t j = 0; j < gx->numel; j++)
        lrp_reals(gx)[j] = 0.25f; /* second accumulates */
    forward(&c);
    lrp_error err = {0};
    if (op->second(c.n, c.in, c.out[0], gout, u, gx, &err) != LRP_OK)
        fail_msg("%s second failed: %s", op->type, err.message);
    double worst = 0, scale = 1e-2;
    int64_t worst_j = -1;
    double *fd = malloc(sizeof(double) * (size_t)(x->numel + 1));
    assert_non_null(fd);
    for (int64_t j = 0; j < x->numel; j++) {
        lrp_real *xj = lrp_reals(x) + j, x0 = *xj, xs[2] = {(lrp_real)(x0 + h), (lrp_real)(x0 - h)};
        double b[2];
        for (int s = 0; s < 2; s++) {
            *xj = xs[s];
            forward(&c);
            zero(tmp);
            lrp_tensor *gin[16] = {tmp};
            if (op->backward(c.n, c.in, c.out[0], gout, gin, &err) != LRP_OK)
                fail_msg("%s backward failed: %s", op->type, err.message);
            b[s] = 0;
            for (int64_t k = 0; k < x->numel; k++)
                b[s] += (double)lrp_reals(u)[k] * lrp_reals(tmp)[k];
        }
        *xj = x0;
        fd[j] = (b[0] - b[1]) / ((double)xs[0] - (double)xs[1]);
        if (fabs(fd[j]) > scale)
            scale = fabs(fd[j]);
    }
    for (int64_t j = 0; j < x->numel; j++) {
        double d = fabs((double)lrp_reals(gx)[j] - 0.25 - fd[j]);
        if (d > worst) {
            worst = d;
            worst_j = j;
        }
    }
    if (worst > tol * scale)
        fail_msg("%s: second order at element %lld: %.7g, finite differences of backward %.7g (scale %.3g)", op->type,
                 (long long)worst_j, (double)lrp_reals(gx)[worst_j] - 0.25, fd[worst_j], scale);
    free(fd);
    if (op->jvp) {
        lrp_tensor *jv = lrp_tensor_like(c.out[0], NULL), *yp = lrp_tensor_like(c.out[0], NULL);
        assert_true(jv && yp);
        forward(&c);
        if (op->jvp(c.n, c.in, c.out[0], u, jv, &err) != LRP_OK)
            fail_msg("%s jvp failed: %s", op->type, err.message);
        lrp_real *xv = lrp_reals(x);
        lrp_real *x0 = malloc(sizeof(lrp_real) * (size_t)x->numel);
        assert_non_null(x0);
        memcpy(x0, xv, sizeof(lrp_real) * (size_t)x->numel);
        for (int64_t k = 0; k < x->numel; k++)
            xv[k] = (lrp_real)(x0[k] + h * lrp_reals(u)[k]);
        forward(&c);
        memcpy(lrp_reals(yp), lrp_reals(c.out[0]), sizeof(lrp_real) * (size_t)yp->numel);
        for (int64_t k = 0; k < x->numel; k++)
            xv[k] = (lrp_real)(x0[k] - h * lrp_reals(u)[k]);
        forward(&c);
        double jworst = 0, jscale = 1e-2;
        for (int64_t k = 0; k < jv->numel; k++) {
            const double f = ((double)lrp_reals(yp)[k] - lrp_reals(c.out[0])[k]) / (2 * h);
            jscale = fabs(f) > jscale ? fabs(f) : jscale;
            jworst = fabs(f - lrp_reals(jv)[k]) > jworst ? fabs(f - lrp_reals(jv)[k]) : jworst;
        }
        memcpy(xv, x0, sizeof(lrp_real) * (size_t)x->numel);
        if (jworst > tol * jscale)
            fail_msg("%s: jvp off by %.3g (scale %.3g)", op->type, jworst, jscale);
        free(x0);
        lrp_tensor_free(jv);
        lrp_tensor_free(yp);
    }
    lrp_tensor_free(gout);
    lrp_tensor_free(u);
    lrp_tensor_free(gx);
    lrp_tensor_free(tmp);
    release(&c);
}

/* Defaults: piecewise-linear ops get distinct inputs and a small step
 * (finite differences are exact there); smooth ops a larger one. */
static void check_piecewise(lrp_graph *g, int node) { check_node(g, node, IN_DISTINCT, 1e-3, 1e-3); }
static void check_smooth(lrp_graph *g, int node) { check_node(g, node, IN_SMOOTH, 1e-2, 1e-3); }
static void check_positive(lrp_graph *g, int node) { check_node(g, node, IN_POSITIVE, 1e-3, 1e-3); }

/* One node with one runtime input x of shape dims. */
static int unary_graph(lrp_graph **gp, int64_t opset, const char *op, int nd, const int64_t *dims)
{
    lrp_graph *g = gb_new(opset);
    int x = gb_input(g, "x", nd, dims);
    *gp = g;
    return gb_node(g, op, 1, (int[]){x}, 1);
}

/* --------------------------------------------------------- elementwise */

/* Gelu against values of x Phi(x) and of its tanh form computed elsewhere
 * (Python's math.erf and math.tanh): ONNX's node tests of Debian's
 * libonnx-testdata predate Gelu (opset 20). */
static void check_gelu_values(void)
{
    static const lrp_real x[] = {-3.0f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 2.0f};
    static const double want[2][7] = {
        {-0.00404969409, -0.158655254, -0.154268769, 0, 0.345731231, 0.841344746, 1.95449974}, /* none */
        {-0.00363739208, -0.158808009, -0.15428599, 0, 0.34571401, 0.841191991, 1.95459769},   /* tanh */
    };
    for (int k = 0; k < 2; k++) {
        lrp_graph *g;
        int n = unary_graph(&g, 20, "Gelu", 1, GB_DIMS(7));
        if (k)
            gb_attr_s(g, n, "approximate", "tanh");
        one_node c;
        prepare(&c, g, n, IN_SMOOTH);
        memcpy(lrp_reals(c.rt[0]), x, sizeof x);
        forward(&c);
        for (int i = 0; i < 7; i++)
            if (fabs((double)lrp_reals(c.out[0])[i] - want[k][i]) > 1e-7 * (1.0 + fabs(want[k][i])))
                fail_msg("Gelu (%s) at %g: %.9g, expected %.9g", k ? "tanh" : "none", (double)x[i],
                         (double)lrp_reals(c.out[0])[i], want[k][i]);
        release(&c);
    }
}

static void test_second_derivatives(void **state)
{
    (void)state;
    rng_seed(7);
    static const char *const smooth[] = {"Sigmoid", "Tanh", "Softplus", "Erf", "Exp"};
    lrp_graph *g;
    int n;
    for (size_t k = 0; k < sizeof smooth / sizeof *smooth; k++) {
        n = unary_graph(&g, 13, smooth[k], 2, GB_DIMS(4, 9));
        check_second(g, n, IN_SMOOTH, 1e-2, 1e-3);
    }
    /* f' has a kink at 0: distinct inputs (none within 0.025 of it) and a small step */
    static const char *const kinked[] = {"Elu", "Selu", "Softsign"};
    for (size_t k = 0; k < sizeof kinked / sizeof *kinked; k++) {
        n = unary_graph(&g, 13, kinked[k], 2, GB_DIMS(4, 9));
        check_second(g, n, IN_DISTINCT, 1e-3, 1e-3);
    }
    static const char *const positive[] = {"Sqrt", "Log", "Reciprocal"};
    for (size_t k = 0; k < 3; k++) {
        n = unary_graph(&g, 13, positive[k], 2, GB_DIMS(3, 5));
        check_second(g, n, IN_POSITIVE, 1e-3, 1e-3);
    }
    for (int k = 0; k < 2; k++) {
        n = unary_graph(&g, 20, "Gelu", 2, GB_DIMS(4, 9));
        gb_attr_s(g, n, "approximate", k ? "tanh" : "none");
        check_second(g, n, IN_SMOOTH, 1e-2, 1e-3);
    }
    n = unary_graph(&g, 13, "Elu", 2, GB_DIMS(5, 6));
    gb_attr_f(g, n, "alpha", 0.7f);
    check_second(g, n, IN_DISTINCT, 1e-3, 1e-3);
    /* HardSwish: 1/3 between the kinks at -3 and 3 (distinct inputs stay off them) */
    n = unary_graph(&g, 14, "HardSwish", 2, GB_DIMS(8, 9));
    check_second(g, n, IN_DISTINCT, 1e-3, 1e-3);
    /* Softmax (a symmetric Jacobian) along each axis */
    for (int ax = 0; ax < 2; ax++) {
        n = unary_graph(&g, 13, "Softmax", 2, GB_DIMS(3, 5));
        gb_attr_i(g, n, "axis", ax);
        check_second(g, n, IN_SMOOTH, 1e-3, 1e-3);
    }
    /* LayerNormalization with a constant Scale (its own jvp: J is not symmetric) */
    {
        g = gb_new(17);
        int x = gb_input(g, "x", 2, GB_DIMS(3, 6));
        const lrp_real sv[6] = {0.5f, -1.25f, 2.0f, 0.75f, 1.5f, -0.3f}, bv[6] = {0.1f, 0, -0.2f, 0.3f, 0, 0.05f};
        int sc = gb_const_f(g, "scale", 1, GB_DIMS(6), sv), b = gb_const_f(g, "b", 1, GB_DIMS(6), bv);
        n = gb_node(g, "LayerNormalization", 3, (int[]){x, sc, b}, 1);
        check_second(g, n, IN_SMOOTH, 1e-3, 1e-3);
    }
    /* Pow with a constant exponent */
    for (int k = 0; k < 2; k++) {
        g = gb_new(13);
        int x = gb_input(g, "x", 2, GB_DIMS(3, 4));
        const lrp_real p = k ? 2.0f : -1.5f;
        int e = gb_const_f(g, "p", 0, NULL, &p);
        n = gb_node(g, "Pow", 2, (int[]){x, e}, 1);
        check_second(g, n, IN_POSITIVE, 1e-3, 1e-3);
    }
}

static void test_activation_grads(void **state)
{
    (void)state;
    rng_seed(1);
    static const char *const piecewise[] = {"Relu", "LeakyRelu", "HardSigmoid", "HardSwish", "Abs", "Neg", "Identity"};
    static const char *const smooth[] = {"Sigmoid",  "Tanh", "Elu", "Selu", "Softplus",
                                         "Softsign", "Erf",  "Exp", "Gelu"};
    lrp_graph *g;
    for (size_t k = 0; k < sizeof piecewise / sizeof *piecewise; k++) {
        int n = unary_graph(&g, 13, piecewise[k], 3, GB_DIMS(2, 3, 7));
        check_piecewise(g, n);
    }
    for (size_t k = 0; k < sizeof smooth / sizeof *smooth; k++) {
        int n = unary_graph(&g, 13, smooth[k], 2, GB_DIMS(4, 9));
        check_smooth(g, n);
    }
    static const char *const positive[] = {"Sqrt", "Log"};
    for (size_t k = 0; k < 2; k++) {
        int n = unary_graph(&g, 13, positive[k], 2, GB_DIMS(3, 5));
        check_positive(g, n);
    }
    /* attributes */
    int n = unary_graph(&g, 13, "LeakyRelu", 2, GB_DIMS(5, 6));
    gb_attr_f(g, n, "alpha", 0.3f);
    check_piecewise(g, n);
    n = unary_graph(&g, 13, "Elu", 2, GB_DIMS(5, 6));
    gb_attr_f(g, n, "alpha", 0.7f);
    check_smooth(g, n);
    n = unary_graph(&g, 13, "HardSigmoid", 2, GB_DIMS(8, 9));
    gb_attr_f(g, n, "alpha", 0.6f);
    gb_attr_f(g, n, "beta", 0.3f);
    check_piecewise(g, n);
    n = unary_graph(&g, 20, "Gelu", 2, GB_DIMS(4, 9));
    gb_attr_s(g, n, "approximate", "tanh");
    check_smooth(g, n);
    n = unary_graph(&g, 20, "Gelu", 2, GB_DIMS(5, 6));
    gb_attr_s(g, n, "approximate", "none");
    check_smooth(g, n);
    /* Dropout (identity) with its mask output, and Cast float -> float */
    g = gb_new(13);
    int x = gb_input(g, "x", 2, GB_DIMS(3, 4));
    n = gb_node(g, "Dropout", 1, (int[]){x}, 2);
    check_piecewise(g, n);
    n = unary_graph(&g, 13, "Cast", 2, GB_DIMS(3, 4));
    gb_attr_i(g, n, "to", 1);
    check_piecewise(g, n);
    check_gelu_values();
}

/* Relu's mask is x > 0 and Clip's is strict: at the kinks the gradient is 0. */
static void test_kink_masks(void **state)
{
    (void)state;
    lrp_error err = {0};
    /* Relu at 0 */
    lrp_graph *g;
    int n = unary_graph(&g, 13, "Relu", 1, GB_DIMS(3));
    assert_int_equal(gb_prepare(g, &err), LRP_OK);
    lrp_tensor *x = lrp_tensor_from_floats((const lrp_real[]){-1.0f, 0.0f, 2.0f}, 1, GB_DIMS(3), NULL);
    lrp_tensor *y = lrp_tensor_like(x, NULL), *gx = lrp_tensor_like(x, NULL);
    lrp_tensor *go = lrp_tensor_from_floats((const lrp_real[]){1, 1, 1}, 1, GB_DIMS(3), NULL);
    const lrp_node *nd = &g->nodes[n];
    assert_int_equal(nd->op->forward(nd, (const lrp_tensor *[]){x}, (lrp_tensor *[]){y}, &err), LRP_OK);
    assert_int_equal(nd->op->backward(nd, (const lrp_tensor *[]){x}, y, go, (lrp_tensor *[]){gx}, &err), LRP_OK);
    assert_true(lrp_reals(gx)[0] == 0.0f && lrp_reals(gx)[1] == 0.0f && lrp_reals(gx)[2] == 1.0f);
    assert_int_equal(lrp_node_group(g, nd), LRP_GROUP_RELU);
    lrp_graph_free(g);
    /* Clip (ReLU6 as exported by PyTorch): 0 at both bounds */
    g = gb_new(13);
    int xi = gb_input(g, "x", 1, GB_DIMS(3));
    int lo = gb_const_f(g, "lo", 0, NULL, (const lrp_real[]){0.0f});
    int hi = gb_const_f(g, "hi", 0, NULL, (const lrp_real[]){6.0f});
    n = gb_node(g, "Clip", 3, (int[]){xi, lo, hi}, 1);
    assert_int_equal(gb_prepare(g, &err), LRP_OK);
    nd = &g->nodes[n];
    lrp_reals(x)[0] = 0.0f, lrp_reals(x)[1] = 3.0f, lrp_reals(x)[2] = 6.0f;
    zero(gx);
    const lrp_tensor *cin[3] = {x, g->values[lo].constant, g->values[hi].constant};
    assert_int_equal(nd->op->forward(nd, cin, (lrp_tensor *[]){y}, &err), LRP_OK);
    lrp_tensor *cg[3] = {gx, NULL, NULL};
    assert_int_equal(nd->op->backward(nd, cin, y, go, cg, &err), LRP_OK);
    assert_true(lrp_reals(gx)[0] == 0.0f && lrp_reals(gx)[1] == 1.0f && lrp_reals(gx)[2] == 0.0f);
    assert_int_equal(lrp_node_group(g, nd), LRP_GROUP_ACTIVATION);
    lrp_graph_free(g);
    lrp_tensor_free(x);
    lrp_tensor_free(y);
    lrp_tensor_free(gx);
    lrp_tensor_free(go);
}

static void test_clip_prelu_grads(void **state)
{
    (void)state;
    rng_seed(2);
    lrp_graph *g;
    /* opset 6: attributes */
    int n = unary_graph(&g, 6, "Clip", 2, GB_DIMS(6, 7));
    gb_attr_f(g, n, "min", -0.5f);
    gb_attr_f(g, n, "max", 0.5f);
    check_piecewise(g, n);
    /* opset 13: constant inputs, max only */
    g = gb_new(13);
    int x = gb_input(g, "x", 2, GB_DIMS(6, 7));
    int hi = gb_const_f(g, "hi", 0, NULL, (const lrp_real[]){0.5f});
    n = gb_node(g, "Clip", 3, (int[]){x, -1, hi}, 1);
    check_piecewise(g, n);
    /* PRelu: slope (C, 1, 1) broadcast, both gradients */
    g = gb_new(13);
    x = gb_input(g, "x", 4, GB_DIMS(2, 3, 2, 4));
    int s = gb_input(g, "slope", 3, GB_DIMS(3, 1, 1));
    n = gb_node(g, "PRelu", 2, (int[]){x, s}, 1);
    check_piecewise(g, n);
    /* opset 6: a 1-D slope of C values is per channel */
    g = gb_new(6);
    x = gb_input(g, "x", 4, GB_DIMS(2, 3, 2, 3));
    s = gb_const_f(g, "slope", 1, GB_DIMS(3), (const lrp_real[]){0.1f, 0.2f, 0.3f});
    n = gb_node(g, "PRelu", 2, (int[]){x, s}, 1);
    check_piecewise(g, n);
}

/* -------------------------------------------------------------- binary */

static void binary_case(const char *op, int64_t opset, int na, const int64_t *da, int nb, const int64_t *db,
                        in_kind kind)
{
    lrp_graph *g = gb_new(opset);
    int a = gb_input(g, "a", na, da), b = gb_input(g, "b", nb, db);
    int n = gb_node(g, op, 2, (int[]){a, b}, 1);
    check_node(g, n, kind, kind == IN_SMOOTH ? 1e-2 : 1e-3, 1e-3);
}

static void test_binary_grads(void **state)
{
    (void)state;
    rng_seed(3);
    static const char *const ops[] = {"Add", "Sub", "Mul"};
    for (int k = 0; k < 3; k++) {
        binary_case(ops[k], 13, 3, GB_DIMS(2, 3, 4), 3, GB_DIMS(2, 3, 4), IN_SMOOTH);
        binary_case(ops[k], 13, 3, GB_DIMS(2, 3, 4), 1, GB_DIMS(4), IN_SMOOTH);
        binary_case(ops[k], 13, 3, GB_DIMS(2, 3, 4), 2, GB_DIMS(3, 1), IN_SMOOTH);
        binary_case(ops[k], 13, 2, GB_DIMS(3, 1), 3, GB_DIMS(2, 1, 5), IN_SMOOTH);
        binary_case(ops[k], 13, 0, NULL, 2, GB_DIMS(3, 4), IN_SMOOTH);
    }
    /* Div and Pow away from 0 */
    binary_case("Div", 13, 3, GB_DIMS(2, 3, 4), 2, GB_DIMS(3, 1), IN_POSITIVE);
    binary_case("Div", 13, 1, GB_DIMS(4), 3, GB_DIMS(2, 3, 4), IN_POSITIVE);
    binary_case("Pow", 13, 2, GB_DIMS(3, 4), 1, GB_DIMS(4), IN_POSITIVE);
    binary_case("Pow", 13, 2, GB_DIMS(3, 4), 0, NULL, IN_POSITIVE);
    /* legacy broadcasting (opset < 7): B aligned at axis 1 */
    lrp_graph *g = gb_new(6);
    int a = gb_input(g, "a", 4, GB_DIMS(2, 3, 2, 2)), b = gb_input(g, "b", 1, GB_DIMS(3));
    int n = gb_node(g, "Mul", 2, (int[]){a, b}, 1);
    gb_attr_i(g, n, "broadcast", 1);
    gb_attr_i(g, n, "axis", 1);
    check_smooth(g, n);
    /* variadic */
    static const char *const var[] = {"Sum", "Mean", "Max", "Min"};
    for (int k = 0; k < 4; k++) {
        g = gb_new(13);
        int x0 = gb_input(g, "x0", 3, GB_DIMS(2, 3, 4)), x1 = gb_input(g, "x1", 1, GB_DIMS(4));
        int x2 = gb_input(g, "x2", 2, GB_DIMS(3, 1));
        n = gb_node(g, var[k], 3, (int[]){x0, x1, x2}, 1);
        check_piecewise(g, n);
    }
    /* Where with a constant condition */
    g = gb_new(13);
    int c = gb_const_i(g, "c", 2, GB_DIMS(2, 3), (const int64_t[]){1, 0, 1, 0, 0, 1});
    int x = gb_input(g, "x", 2, GB_DIMS(2, 3)), y = gb_input(g, "y", 1, GB_DIMS(3));
    n = gb_node(g, "Where", 3, (int[]){c, x, y}, 1);
    check_smooth(g, n);
}

/* Max of two inputs shares the gradient at ties, as torch.maximum. */
static void test_max_ties(void **state)
{
    (void)state;
    lrp_error err = {0};
    lrp_graph *g = gb_new(13);
    int a = gb_input(g, "a", 1, GB_DIMS(3)), b = gb_input(g, "b", 1, GB_DIMS(3));
    int n = gb_node(g, "Max", 2, (int[]){a, b}, 1);
    assert_int_equal(gb_prepare(g, &err), LRP_OK);
    const lrp_node *nd = &g->nodes[n];
    lrp_tensor *x0 = lrp_tensor_from_floats((const lrp_real[]){1, 2, 3}, 1, GB_DIMS(3), NULL);
    lrp_tensor *x1 = lrp_tensor_from_floats((const lrp_real[]){2, 2, 1}, 1, GB_DIMS(3), NULL);
    lrp_tensor *y = lrp_tensor_like(x0, NULL), *g0 = lrp_tensor_like(x0, NULL), *g1 = lrp_tensor_like(x0, NULL);
    lrp_tensor *go = lrp_tensor_from_floats((const lrp_real[]){1, 1, 1}, 1, GB_DIMS(3), NULL);
    const lrp_tensor *in[2] = {x0, x1};
    assert_int_equal(nd->op->forward(nd, in, (lrp_tensor *[]){y}, &err), LRP_OK);
    assert_int_equal(nd->op->backward(nd, in, y, go, (lrp_tensor *[]){g0, g1}, &err), LRP_OK);
    const lrp_real e0[3] = {0, 0.5f, 1}, e1[3] = {1, 0.5f, 0};
    for (int i = 0; i < 3; i++) {
        assert_float_equal(lrp_reals(g0)[i], e0[i], 0);
        assert_float_equal(lrp_reals(g1)[i], e1[i], 0);
    }
    lrp_tensor_free(x0);
    lrp_tensor_free(x1);
    lrp_tensor_free(y);
    lrp_tensor_free(g0);
    lrp_tensor_free(g1);
    lrp_tensor_free(go);
    lrp_graph_free(g);
}

/* ------------------------------------------------------- dense layers */

static void gemm_case(int ta, int tb, lrp_real alpha, lrp_real beta, int nc, const int64_t *dc)
{
    const int64_t M = 3, K = 4, N = 5;
    lrp_graph *g = gb_new(13);
    int a = gb_input(g, "A", 2, ta ? GB_DIMS(K, M) : GB_DIMS(M, K));
    int b = gb_input(g, "B", 2, tb ? GB_DIMS(N, K) : GB_DIMS(K, N));
    int c = nc >= 0 ? gb_input(g, "C", nc, dc) : -1;
    int n = gb_node(g, "Gemm", nc >= 0 ? 3 : 2, (int[]){a, b, c}, 1);
    gb_attr_i(g, n, "transA", ta);
    gb_attr_i(g, n, "transB", tb);
    gb_attr_f(g, n, "alpha", alpha);
    gb_attr_f(g, n, "beta", beta);
    check_smooth(g, n);
}

static void test_gemm_matmul_grads(void **state)
{
    (void)state;
    rng_seed(4);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            gemm_case(ta, tb, 1.0f, 1.0f, 1, GB_DIMS(5));
    gemm_case(0, 1, 0.5f, 2.0f, 2, GB_DIMS(3, 5));
    gemm_case(1, 0, 1.5f, -1.0f, 2, GB_DIMS(3, 1));
    gemm_case(0, 0, 1.0f, 1.0f, 0, NULL);
    gemm_case(0, 0, 1.0f, 1.0f, 2, GB_DIMS(1, 5));
    gemm_case(1, 1, 2.0f, 1.0f, -1, NULL);
    /* MatMul */
    static const struct {
        int na, nb;
        int64_t da[4], db[4];
    } mm[] = {{2, 2, {3, 4}, {4, 5}},       {3, 2, {2, 3, 4}, {4, 5}},   {4, 3, {2, 1, 3, 4}, {5, 4, 2}},
              {1, 2, {4}, {4, 5}},          {3, 1, {2, 3, 4}, {4}},      {1, 3, {4}, {2, 4, 3}},
              {3, 3, {1, 3, 4}, {2, 4, 5}}, {2, 4, {3, 4}, {2, 1, 4, 2}}};
    for (size_t k = 0; k < sizeof mm / sizeof *mm; k++) {
        lrp_graph *g = gb_new(13);
        int a = gb_input(g, "A", mm[k].na, mm[k].da), b = gb_input(g, "B", mm[k].nb, mm[k].db);
        int n = gb_node(g, "MatMul", 2, (int[]){a, b}, 1);
        check_smooth(g, n);
    }
}

/* A Mod node of two runtime inputs with the given fmod. */
static lrp_graph *binary_graph_mod(int fm, int na, const int64_t *da, int nb, const int64_t *db)
{
    lrp_graph *g = gb_new(13);
    int a = gb_input(g, "a", na, da), b = gb_input(g, "b", nb, db);
    int n = gb_node(g, "Mod", 2, (int[]){a, b}, 1);
    gb_attr_i(g, n, "fmod", fm);
    return g;
}

/* Einsum: the batched products of attention, transposed operands and outputs (copied into the product's
 * layout), a label summed out of one operand, one-operand permutations and sums, the implicit form. */
static void test_einsum_grads(void **state)
{
    (void)state;
    rng_seed(13);
    static const struct {
        const char *eq;
        int na, nb; /* nb 0: one operand */
        int64_t da[4], db[4];
    } es[] = {{"bhid,bhjd->bhij", 4, 4, {2, 2, 3, 4}, {2, 2, 5, 4}},
              {"bhij,bhjd->bhid", 4, 4, {2, 2, 3, 5}, {2, 2, 5, 4}},
              {"bij,bjk->bik", 3, 3, {2, 3, 4}, {2, 4, 5}},
              {"ij,jk->ik", 2, 2, {3, 4}, {4, 5}},
              {"ji,jk->ik", 2, 2, {4, 3}, {4, 5}},
              {"ij,kj->ik", 2, 2, {3, 4}, {5, 4}},
              {"ba,cb->ac", 2, 2, {4, 3}, {5, 4}},
              {"ik,kj->ji", 2, 2, {3, 4}, {4, 5}},
              {"abc,cd->dba", 3, 2, {2, 3, 4}, {4, 3}},
              {"ijk,jl->il", 3, 2, {3, 4, 2}, {4, 5}},
              {"bik,bjl->bij", 3, 3, {2, 3, 2}, {2, 4, 3}},
              {"ij,kj", 2, 2, {3, 4}, {5, 4}},
              {"i,i", 1, 1, {5}, {5}},
              {"ij->ji", 2, 0, {3, 4}, {0}},
              {"ij->i", 2, 0, {3, 4}, {0}},
              {"ijk->", 3, 0, {2, 3, 4}, {0}},
              {"abc->cab", 3, 0, {2, 3, 4}, {0}}};
    for (size_t k = 0; k < sizeof es / sizeof *es; k++) {
        lrp_graph *g = gb_new(12);
        int a = gb_input(g, "A", es[k].na, es[k].da), n;
        if (es[k].nb) {
            int b = gb_input(g, "B", es[k].nb, es[k].db);
            n = gb_node(g, "Einsum", 2, (int[]){a, b}, 1);
        } else {
            n = gb_node(g, "Einsum", 1, (int[]){a}, 1);
        }
        gb_attr_s(g, n, "equation", es[k].eq);
        check_smooth(g, n);
    }
}

/* Mod on floats: 1 with respect to a, -trunc(a / b) (fmod = 1) or -floor(a / b) (fmod = 0) with respect to b. */
static void test_mod_grads(void **state)
{
    (void)state;
    rng_seed(14);
    for (int fm = 0; fm < 2; fm++) {
        lrp_graph *g = binary_graph_mod(fm, 2, GB_DIMS(3, 4), 2, GB_DIMS(3, 4));
        check_node(g, g->n_nodes - 1, IN_POSITIVE, 1e-3, 1e-3);
        g = binary_graph_mod(fm, 3, GB_DIMS(2, 3, 4), 1, GB_DIMS(4));
        check_node(g, g->n_nodes - 1, IN_POSITIVE, 1e-3, 1e-3);
    }
    /* mixed signs: the quotient of each convention */
    lrp_error err = {0};
    for (int fm = 0; fm < 2; fm++) {
        lrp_graph *g = binary_graph_mod(fm, 1, GB_DIMS(4), 1, GB_DIMS(4));
        assert_int_equal(gb_prepare(g, &err), LRP_OK);
        const lrp_node *nd = &g->nodes[g->n_nodes - 1];
        lrp_tensor *a = lrp_tensor_from_floats((const lrp_real[]){5.5f, -5.5f, 5.5f, -5.5f}, 1, GB_DIMS(4), NULL);
        lrp_tensor *b = lrp_tensor_from_floats((const lrp_real[]){2.0f, 2.0f, -2.0f, -2.0f}, 1, GB_DIMS(4), NULL);
        lrp_tensor *go = lrp_tensor_from_floats((const lrp_real[]){1, 1, 1, 1}, 1, GB_DIMS(4), NULL);
        lrp_tensor *y = lrp_tensor_like(a, NULL), *ga = lrp_tensor_like(a, NULL), *gb = lrp_tensor_like(a, NULL);
        const lrp_tensor *in[2] = {a, b};
        assert_int_equal(nd->op->forward(nd, in, (lrp_tensor *[]){y}, &err), LRP_OK);
        assert_int_equal(nd->op->backward(nd, in, y, go, (lrp_tensor *[]){ga, gb}, &err), LRP_OK);
        const lrp_real want_y[2][4] = {{1.5f, 0.5f, -0.5f, -1.5f}, {1.5f, -1.5f, 1.5f, -1.5f}};
        const lrp_real want_gb[2][4] = {{-2.0f, 3.0f, 3.0f, -2.0f}, {-2.0f, 2.0f, 2.0f, -2.0f}};
        for (int i = 0; i < 4; i++) {
            assert_true(lrp_reals(y)[i] == want_y[fm][i]);
            assert_true(lrp_reals(ga)[i] == 1.0f);
            assert_true(lrp_reals(gb)[i] == want_gb[fm][i]);
        }
        lrp_tensor_free(a);
        lrp_tensor_free(b);
        lrp_tensor_free(go);
        lrp_tensor_free(y);
        lrp_tensor_free(ga);
        lrp_tensor_free(gb);
        lrp_graph_free(g);
    }
}

/* ScatterND with constant indices (a repeated one: without reduction the last write wins), with and without add. */
static void test_scatternd_grads(void **state)
{
    (void)state;
    rng_seed(15);
    static const char *const red[] = {"none", "add"};
    for (int r = 0; r < 2; r++) {
        lrp_graph *g = gb_new(16);
        int x = gb_input(g, "x", 3, GB_DIMS(4, 3, 2));
        int idx = gb_const_i(g, "idx", 2, GB_DIMS(3, 1), (const int64_t[]){2, -1, 2});
        int u = gb_input(g, "u", 3, GB_DIMS(3, 3, 2));
        int n = gb_node(g, "ScatterND", 3, (int[]){x, idx, u}, 1);
        gb_attr_s(g, n, "reduction", red[r]);
        check_piecewise(g, n);
        g = gb_new(16);
        x = gb_input(g, "x", 2, GB_DIMS(3, 4));
        idx = gb_const_i(g, "idx", 2, GB_DIMS(2, 2), (const int64_t[]){0, 1, 2, 3});
        u = gb_input(g, "u", 1, GB_DIMS(2));
        n = gb_node(g, "ScatterND", 3, (int[]){x, idx, u}, 1);
        gb_attr_s(g, n, "reduction", red[r]);
        check_piecewise(g, n);
    }
}

/* ------------------------------------------------------ convolutions */

static lrp_real *random_floats(int64_t n)
{
    lrp_real *v = malloc(sizeof(lrp_real) * (size_t)n);
    assert_non_null(v);
    for (int64_t i = 0; i < n; i++)
        v[i] = (lrp_real)(2.0 * urand() - 1.0);
    return v;
}

typedef struct {
    int nsp;
    int64_t N, C, M, H, W, k0, k1, group;
    int64_t strides[2], dil[2], pads[4], outpad[2];
    const char *auto_pad;
    int bias;
} conv_spec;

/* Conv or ConvTranspose with a constant weight (and bias). */
static int conv_graph(lrp_graph **gp, const char *op, const conv_spec *s)
{
    lrp_graph *g = gb_new(13);
    int convt = !strcmp(op, "ConvTranspose");
    int64_t xd[4] = {s->N, s->C, s->H, s->W};
    if (s->nsp == 1)
        xd[2] = s->W;
    int x = gb_input(g, "x", 2 + s->nsp, xd);
    int64_t wd[4] = {convt ? s->C : s->M, convt ? s->M / s->group : s->C / s->group, s->k0, s->k1};
    if (s->nsp == 1)
        wd[2] = s->k1;
    int64_t wn = wd[0] * wd[1] * (s->nsp == 2 ? s->k0 * s->k1 : s->k1);
    lrp_real *wv = random_floats(wn), *bv = random_floats(s->M);
    int w = gb_const_f(g, "w", 2 + s->nsp, wd, wv);
    int b = s->bias ? gb_const_f(g, "b", 1, GB_DIMS(s->M), bv) : -1;
    free(wv);
    free(bv);
    int n = gb_node(g, op, s->bias ? 3 : 2, (int[]){x, w, b}, 1);
    gb_attr_i(g, n, "group", s->group);
    gb_attr_ints(g, n, "strides", s->nsp, s->strides);
    gb_attr_ints(g, n, "dilations", s->nsp, s->dil);
    if (s->auto_pad)
        gb_attr_s(g, n, "auto_pad", s->auto_pad);
    else
        gb_attr_ints(g, n, "pads", 2 * s->nsp, s->nsp == 2 ? s->pads : (const int64_t[]){s->pads[1], s->pads[3]});
    if (convt && (s->outpad[0] || s->outpad[1]))
        gb_attr_ints(g, n, "output_padding", s->nsp, s->nsp == 2 ? s->outpad : &s->outpad[1]);
    *gp = g;
    return n;
}

static const conv_spec conv_specs[] = {
    {2, 2, 3, 4, 5, 6, 3, 3, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}, {0, 0}, NULL, 1},
    {2, 1, 4, 6, 7, 6, 3, 2, 2, {2, 1}, {1, 2}, {1, 0, 2, 1}, {1, 0}, NULL, 1},
    {2, 1, 4, 4, 6, 5, 3, 3, 4, {2, 2}, {1, 1}, {1, 1, 1, 1}, {1, 1}, NULL, 0},
    {2, 1, 2, 3, 5, 5, 2, 2, 1, {2, 2}, {2, 2}, {0, 0, 0, 0}, {0, 0}, "SAME_UPPER", 1},
    {1, 2, 2, 3, 1, 9, 1, 3, 1, {1, 3}, {1, 2}, {0, 1, 0, 2}, {0, 1}, NULL, 1},
};

static void test_conv_grads(void **state)
{
    (void)state;
    rng_seed(5);
    for (size_t k = 0; k < sizeof conv_specs / sizeof *conv_specs; k++) {
        lrp_graph *g;
        int n = conv_graph(&g, "Conv", &conv_specs[k]);
        check_smooth(g, n);
        n = conv_graph(&g, "ConvTranspose", &conv_specs[k]);
        check_smooth(g, n);
    }
}

/* ------------------------------------------------------------ pooling */

static int pool_graph(lrp_graph **gp, const char *op, int nsp, const int64_t *xd, const int64_t *k, const int64_t *s,
                      const int64_t *pads, const int64_t *dil, int ceil, int cip)
{
    lrp_graph *g = gb_new(19);
    int x = gb_input(g, "x", 2 + nsp, xd);
    int n = gb_node(g, op, 1, (int[]){x}, 1);
    gb_attr_ints(g, n, "kernel_shape", nsp, k);
    gb_attr_ints(g, n, "strides", nsp, s);
    if (pads)
        gb_attr_ints(g, n, "pads", 2 * nsp, pads);
    if (dil)
        gb_attr_ints(g, n, "dilations", nsp, dil);
    gb_attr_i(g, n, "ceil_mode", ceil);
    if (cip >= 0)
        gb_attr_i(g, n, "count_include_pad", cip);
    *gp = g;
    return n;
}

static void test_pool_grads(void **state)
{
    (void)state;
    rng_seed(6);
    lrp_graph *g;
    int n;
    static const char *const ops[] = {"MaxPool", "AveragePool"};
    for (int k = 0; k < 2; k++) {
        int avg = k == 1;
        n = pool_graph(&g, ops[k], 2, GB_DIMS(2, 2, 6, 7), GB_DIMS(2, 2), GB_DIMS(2, 2), NULL, NULL, 0, -1);
        check_piecewise(g, n);
        n = pool_graph(&g, ops[k], 2, GB_DIMS(1, 2, 7, 7), GB_DIMS(3, 3), GB_DIMS(2, 2), GB_DIMS(1, 1, 1, 1), NULL, 1,
                       avg ? 0 : -1);
        check_piecewise(g, n);
        n = pool_graph(&g, ops[k], 2, GB_DIMS(1, 2, 7, 8), GB_DIMS(3, 2), GB_DIMS(2, 3), GB_DIMS(1, 0, 1, 1),
                       GB_DIMS(2, 1), 1, avg ? 1 : -1);
        check_piecewise(g, n);
        n = pool_graph(&g, ops[k], 1, GB_DIMS(2, 3, 10), GB_DIMS(3), GB_DIMS(2), GB_DIMS(1, 2), NULL, 1, avg);
        check_piecewise(g, n);
    }
    n = unary_graph(&g, 13, "GlobalAveragePool", 4, GB_DIMS(2, 3, 4, 5));
    check_piecewise(g, n);
    n = unary_graph(&g, 13, "GlobalMaxPool", 4, GB_DIMS(2, 3, 4, 5));
    check_piecewise(g, n);
}

/* MaxPool sends the gradient to the first maximum of each window, in
 * row-major window order (PyTorch's choice at ties). */
static void test_maxpool_ties(void **state)
{
    (void)state;
    lrp_error err = {0};
    lrp_graph *g;
    int n = pool_graph(&g, "MaxPool", 2, GB_DIMS(1, 1, 3, 3), GB_DIMS(2, 2), GB_DIMS(1, 1), NULL, NULL, 0, -1);
    assert_int_equal(gb_prepare(g, &err), LRP_OK);
    const lrp_node *nd = &g->nodes[n];
    /* all equal: each window's top-left wins; then a window with two maxima */
    lrp_tensor *x =
        lrp_tensor_from_floats((const lrp_real[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, 4, GB_DIMS(1, 1, 3, 3), NULL);
    lrp_tensor *y = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 1, 2, 2), NULL);
    lrp_tensor *go = lrp_tensor_from_floats((const lrp_real[]){1, 2, 3, 4}, 4, GB_DIMS(1, 1, 2, 2), NULL);
    lrp_tensor *gx = lrp_tensor_like(x, NULL);
    assert_int_equal(nd->op->forward(nd, (const lrp_tensor *[]){x}, (lrp_tensor *[]){y}, &err), LRP_OK);
    assert_int_equal(nd->op->backward(nd, (const lrp_tensor *[]){x}, y, go, (lrp_tensor *[]){gx}, &err), LRP_OK);
    const lrp_real e1[9] = {1, 2, 0, 3, 4, 0, 0, 0, 0};
    for (int i = 0; i < 9; i++)
        assert_float_equal(lrp_reals(gx)[i], e1[i], 0);
    /* windows [[0, 2], [2, 0]]: the 2 at (0, 1) comes before the one at (1, 0) */
    const lrp_real xv[9] = {0, 2, 0, 2, 0, 0, 0, 0, 0};
    memcpy(x->data, xv, sizeof xv);
    zero(gx);
    assert_int_equal(nd->op->backward(nd, (const lrp_tensor *[]){x}, y, go, (lrp_tensor *[]){gx}, &err), LRP_OK);
    /* window (0,0): 2 at (0,1); (0,1): 2 at (0,1); (1,0): 2 at (1,0); (1,1): all 0 -> (1,1) */
    const lrp_real e2[9] = {0, 3, 0, 3, 4, 0, 0, 0, 0};
    for (int i = 0; i < 9; i++)
        assert_float_equal(lrp_reals(gx)[i], e2[i], 0);
    assert_int_equal(lrp_node_group(g, nd), LRP_GROUP_MAXPOOL);
    lrp_graph_free(g);
    lrp_tensor_free(y);
    lrp_tensor_free(go);
    lrp_tensor_free(gx);
    /* GlobalMaxPool: the first of two maxima */
    n = unary_graph(&g, 13, "GlobalMaxPool", 4, GB_DIMS(1, 1, 2, 2));
    assert_int_equal(gb_prepare(g, &err), LRP_OK);
    nd = &g->nodes[n];
    const lrp_real xg[4] = {3, 5, 5, 1};
    lrp_tensor_free(x);
    x = lrp_tensor_from_floats(xg, 4, GB_DIMS(1, 1, 2, 2), NULL);
    y = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 1, 1, 1), NULL);
    go = lrp_tensor_from_floats((const lrp_real[]){2}, 4, GB_DIMS(1, 1, 1, 1), NULL);
    gx = lrp_tensor_like(x, NULL);
    assert_int_equal(nd->op->forward(nd, (const lrp_tensor *[]){x}, (lrp_tensor *[]){y}, &err), LRP_OK);
    assert_int_equal(nd->op->backward(nd, (const lrp_tensor *[]){x}, y, go, (lrp_tensor *[]){gx}, &err), LRP_OK);
    assert_float_equal(lrp_reals(y)[0], 5, 0);
    assert_true(lrp_reals(gx)[0] == 0 && lrp_reals(gx)[1] == 2 && lrp_reals(gx)[2] == 0 && lrp_reals(gx)[3] == 0);
    lrp_graph_free(g);
    lrp_tensor_free(x);
    lrp_tensor_free(y);
    lrp_tensor_free(go);
    lrp_tensor_free(gx);
}

/* AveragePool's divisor: with count_include_pad = 0 windows clipped by the
 * border divide by their valid count; ceil_mode windows past the end too. */
static void test_avgpool_divisors(void **state)
{
    (void)state;
    lrp_error err = {0};
    lrp_graph *g;
    /* 1-D: x = 1..5, kernel 2, stride 2, pads (1, 0), ceil_mode: windows [pad,1] [2,3] [4,5] */
    for (int cip = 0; cip < 2; cip++) {
        int n =
            pool_graph(&g, "AveragePool", 1, GB_DIMS(1, 1, 5), GB_DIMS(2), GB_DIMS(2), GB_DIMS(1, 0), NULL, 1, cip);
        assert_int_equal(gb_prepare(g, &err), LRP_OK);
        const lrp_node *nd = &g->nodes[n];
        const lrp_value *yv = lrp_node_out(g, nd, 0);
        assert_int_equal(yv->dims[2], 3);
        lrp_tensor *x = lrp_tensor_from_floats((const lrp_real[]){1, 2, 3, 4, 5}, 3, GB_DIMS(1, 1, 5), NULL);
        lrp_tensor *y = lrp_tensor_new(LRP_REAL_DT, 3, GB_DIMS(1, 1, 3), NULL);
        assert_int_equal(nd->op->forward(nd, (const lrp_tensor *[]){x}, (lrp_tensor *[]){y}, &err), LRP_OK);
        assert_float_equal(lrp_reals(y)[0], cip ? 0.5f : 1.0f, 1e-6);
        assert_float_equal(lrp_reals(y)[1], 2.5f, 1e-6);
        assert_float_equal(lrp_reals(y)[2], 4.5f, 1e-6);
        lrp_tensor_free(x);
        lrp_tensor_free(y);
        lrp_graph_free(g);
    }
    /* ceil_mode window running past the end: x = 1..5, kernel 2, stride 2: [1,2] [3,4] [5] */
    for (int cip = 0; cip < 2; cip++) {
        int n = pool_graph(&g, "AveragePool", 1, GB_DIMS(1, 1, 5), GB_DIMS(2), GB_DIMS(2), NULL, NULL, 1, cip);
        assert_int_equal(gb_prepare(g, &err), LRP_OK);
        const lrp_node *nd = &g->nodes[n];
        lrp_tensor *x = lrp_tensor_from_floats((const lrp_real[]){1, 2, 3, 4, 5}, 3, GB_DIMS(1, 1, 5), NULL);
        lrp_tensor *y = lrp_tensor_new(LRP_REAL_DT, 3, GB_DIMS(1, 1, 3), NULL);
        assert_int_equal(nd->op->forward(nd, (const lrp_tensor *[]){x}, (lrp_tensor *[]){y}, &err), LRP_OK);
        assert_float_equal(lrp_reals(y)[2], 5.0f, 1e-6); /* divided by the clipped size either way */
        lrp_tensor_free(x);
        lrp_tensor_free(y);
        lrp_graph_free(g);
    }
}

/* ----------------------------------------------- normalisation, softmax */

static void test_norm_softmax_grads(void **state)
{
    (void)state;
    rng_seed(7);
    lrp_graph *g = gb_new(15);
    int x = gb_input(g, "x", 4, GB_DIMS(2, 3, 2, 2));
    int sc = gb_const_f(g, "s", 1, GB_DIMS(3), (const lrp_real[]){0.5f, -1.0f, 2.0f});
    int bi = gb_const_f(g, "b", 1, GB_DIMS(3), (const lrp_real[]){0.1f, 0.2f, 0.3f});
    int mu = gb_const_f(g, "m", 1, GB_DIMS(3), (const lrp_real[]){0.0f, 0.5f, -0.5f});
    int va = gb_const_f(g, "v", 1, GB_DIMS(3), (const lrp_real[]){1.0f, 0.25f, 4.0f});
    int n = gb_node(g, "BatchNormalization", 5, (int[]){x, sc, bi, mu, va}, 1);
    check_smooth(g, n);
    static const char *const ops[] = {"Softmax", "LogSoftmax"};
    for (int k = 0; k < 2; k++) {
        n = unary_graph(&g, 11, ops[k], 3, GB_DIMS(2, 3, 4)); /* coerced to 2-D at axis 1 */
        check_smooth(g, n);
        n = unary_graph(&g, 13, ops[k], 3, GB_DIMS(2, 3, 4));
        gb_attr_i(g, n, "axis", 1);
        check_smooth(g, n);
        n = unary_graph(&g, 13, ops[k], 2, GB_DIMS(3, 5));
        check_smooth(g, n);
    }
    /* LayerNormalization: constant Scale and B over the last axis, with the
     * Mean and InvStdDev outputs */
    g = gb_new(17);
    x = gb_input(g, "x", 3, GB_DIMS(2, 3, 4));
    sc = gb_const_f(g, "s", 1, GB_DIMS(4), (const lrp_real[]){0.5f, -1.0f, 2.0f, 1.5f});
    bi = gb_const_f(g, "b", 1, GB_DIMS(4), (const lrp_real[]){0.1f, 0.2f, 0.3f, -0.4f});
    n = gb_node(g, "LayerNormalization", 3, (int[]){x, sc, bi}, 3);
    check_smooth(g, n);
    /* runtime Scale and B (their gradients too) over dims 1.. */
    g = gb_new(17);
    x = gb_input(g, "x", 3, GB_DIMS(2, 3, 4));
    sc = gb_input(g, "s", 2, GB_DIMS(3, 4));
    bi = gb_input(g, "b", 2, GB_DIMS(3, 4));
    n = gb_node(g, "LayerNormalization", 3, (int[]){x, sc, bi}, 1);
    gb_attr_i(g, n, "axis", 1);
    gb_attr_f(g, n, "epsilon", 1e-3f);
    check_smooth(g, n);
    /* a runtime Scale broadcast over dim 1, no B; a group of a whole tensor */
    g = gb_new(17);
    x = gb_input(g, "x", 3, GB_DIMS(3, 2, 5));
    sc = gb_input(g, "s", 2, GB_DIMS(1, 5));
    n = gb_node(g, "LayerNormalization", 2, (int[]){x, sc}, 1);
    gb_attr_i(g, n, "axis", -2);
    check_smooth(g, n);
    g = gb_new(17);
    x = gb_input(g, "x", 2, GB_DIMS(3, 4));
    sc = gb_input(g, "s", 0, NULL);
    n = gb_node(g, "LayerNormalization", 2, (int[]){x, sc}, 1);
    gb_attr_i(g, n, "axis", 0);
    check_smooth(g, n);
}

/* ---------------------------------------------------------- shape ops */

static void test_shape_op_grads(void **state)
{
    (void)state;
    rng_seed(8);
    lrp_graph *g;
    int n, x;
    /* Reshape with 0 and -1 */
    g = gb_new(14);
    x = gb_input(g, "x", 3, GB_DIMS(2, 3, 4));
    int sh = gb_const_i(g, "shape", 1, GB_DIMS(2), (const int64_t[]){0, -1});
    n = gb_node(g, "Reshape", 2, (int[]){x, sh}, 1);
    check_piecewise(g, n);
    n = unary_graph(&g, 13, "Flatten", 4, GB_DIMS(2, 3, 2, 2));
    gb_attr_i(g, n, "axis", 2);
    check_piecewise(g, n);
    n = unary_graph(&g, 13, "Transpose", 4, GB_DIMS(2, 3, 4, 2));
    gb_attr_ints(g, n, "perm", 4, GB_DIMS(0, 2, 3, 1));
    check_piecewise(g, n);
    n = unary_graph(&g, 11, "Squeeze", 4, GB_DIMS(2, 1, 3, 1));
    gb_attr_ints(g, n, "axes", 1, GB_DIMS(-1));
    check_piecewise(g, n);
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(2, 3));
    int ax = gb_const_i(g, "axes", 1, GB_DIMS(2), (const int64_t[]){0, 3});
    n = gb_node(g, "Unsqueeze", 2, (int[]){x, ax}, 1);
    check_piecewise(g, n);
    /* Concat of three, one constant */
    g = gb_new(13);
    int c0 = gb_input(g, "c0", 3, GB_DIMS(2, 1, 3)), c1 = gb_input(g, "c1", 3, GB_DIMS(2, 2, 3));
    int c2 = gb_const_f(g, "c2", 3, GB_DIMS(2, 1, 3), (const lrp_real[]){1, 2, 3, 4, 5, 6});
    n = gb_node(g, "Concat", 3, (int[]){c0, c2, c1}, 1);
    gb_attr_i(g, n, "axis", -2);
    check_piecewise(g, n);
    /* Slice with negative steps and clamped ends */
    g = gb_new(13);
    x = gb_input(g, "x", 3, GB_DIMS(4, 5, 6));
    int st = gb_const_i(g, "st", 1, GB_DIMS(2), (const int64_t[]){-1, 1});
    int en = gb_const_i(g, "en", 1, GB_DIMS(2), (const int64_t[]){INT64_MIN, 100});
    int sa = gb_const_i(g, "sa", 1, GB_DIMS(2), (const int64_t[]){2, 0});
    int sp = gb_const_i(g, "sp", 1, GB_DIMS(2), (const int64_t[]){-2, 2});
    n = gb_node(g, "Slice", 5, (int[]){x, st, en, sa, sp}, 1);
    check_piecewise(g, n);
    /* Pad: constant, reflect, edge, with a crop */
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
    for (int k = 0; k < 4; k++) {
        g = gb_new(13);
        x = gb_input(g, "x", 4, GB_DIMS(1, 2, 4, 5));
        int p = gb_const_i(g, "p", 1, GB_DIMS(8), (const int64_t[]){0, 0, 2, -1, 0, 0, 3, 2});
        n = gb_node(g, "Pad", 2, (int[]){x, p}, 1);
        gb_attr_s(g, n, "mode", modes[k]);
        check_piecewise(g, n);
    }
    /* Gather with repeated and negative indices */
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(4, 3));
    int idx = gb_const_i(g, "idx", 2, GB_DIMS(2, 2), (const int64_t[]){0, -1, 3, 0});
    n = gb_node(g, "Gather", 2, (int[]){x, idx}, 1);
    gb_attr_i(g, n, "axis", 0);
    check_piecewise(g, n);
    /* Expand, Tile, Split (first output), Resize nearest */
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(3, 1));
    int es = gb_const_i(g, "es", 1, GB_DIMS(3), (const int64_t[]){2, 1, 4});
    n = gb_node(g, "Expand", 2, (int[]){x, es}, 1);
    check_piecewise(g, n);
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(2, 3));
    int rp = gb_const_i(g, "rp", 1, GB_DIMS(2), (const int64_t[]){2, 3});
    n = gb_node(g, "Tile", 2, (int[]){x, rp}, 1);
    check_piecewise(g, n);
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(2, 5));
    int spl = gb_const_i(g, "spl", 1, GB_DIMS(2), (const int64_t[]){2, 3});
    n = gb_node(g, "Split", 2, (int[]){x, spl}, 2);
    gb_attr_i(g, n, "axis", 1);
    check_piecewise(g, n);
    g = gb_new(13);
    x = gb_input(g, "x", 4, GB_DIMS(1, 2, 3, 2));
    int scl = gb_const_f(g, "scl", 1, GB_DIMS(4), (const lrp_real[]){1, 1, 1.5f, 2});
    n = gb_node(g, "Resize", 3, (int[]){x, -1, scl}, 1);
    gb_attr_s(g, n, "mode", "nearest");
    check_piecewise(g, n);
}

static void test_reduce_grads(void **state)
{
    (void)state;
    rng_seed(9);
    static const char *const ops[] = {"ReduceMean", "ReduceSum", "ReduceMax"};
    for (int k = 0; k < 3; k++)
        for (int keep = 0; keep < 2; keep++) {
            lrp_graph *g;
            int n = unary_graph(&g, 11, ops[k], 4, GB_DIMS(2, 3, 2, 4));
            gb_attr_ints(g, n, "axes", 2, GB_DIMS(1, -1));
            gb_attr_i(g, n, "keepdims", keep);
            check_piecewise(g, n);
            n = unary_graph(&g, 11, ops[k], 3, GB_DIMS(2, 3, 4)); /* all axes */
            gb_attr_i(g, n, "keepdims", keep);
            check_piecewise(g, n);
        }
    /* opset 18: axes input */
    lrp_graph *g = gb_new(18);
    int x = gb_input(g, "x", 4, GB_DIMS(2, 3, 4, 5));
    int ax = gb_const_i(g, "axes", 1, GB_DIMS(2), (const int64_t[]){2, 3});
    int n = gb_node(g, "ReduceMean", 2, (int[]){x, ax}, 1);
    check_piecewise(g, n);
}

/* ------------------------------------------------- linear layer adjoints */

static double dot(const lrp_real *a, const lrp_real *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

/* <apply(x; W, 0), g> == <x, apply_t(g; W)>, apply with the node's own
 * parameters reproduces its forward, and apply_t accumulates. */
static void check_adjoint(lrp_graph *g, int node)
{
    one_node c;
    prepare(&c, g, node, IN_SMOOTH);
    const lrp_linear *lin = c.n->op->linear;
    assert_non_null(lin);
    lrp_error err = {0};
    /* forward == apply with the node's weight and bias */
    forward(&c);
    lrp_tensor *y = lrp_tensor_like(c.out[0], NULL);
    const lrp_tensor *W0 = c.in[lin->weight_input];
    const lrp_tensor *b0 = lin->bias_input < c.n->n_inputs ? c.in[lin->bias_input] : NULL;
    assert_int_equal(lin->apply(c.n, c.in[0], lrp_reals(W0), b0 ? lrp_reals(b0) : NULL, y, &err), LRP_OK);
    assert_true(tu_max_abs_diff(lrp_reals(y), lrp_reals(c.out[0]), (size_t)y->numel) < 1e-5);
    /* adjointness with another weight */
    lrp_real *W = random_floats(W0->numel);
    for (int64_t i = 0; i < y->numel; i++)
        lrp_reals(y)[i] = 123.0f; /* apply overwrites */
    assert_int_equal(lin->apply(c.n, c.in[0], W, NULL, y, &err), LRP_OK);
    lrp_tensor *gy = lrp_tensor_like(y, NULL), *gx = lrp_tensor_like(c.in[0], NULL);
    fill(gy, IN_SMOOTH, 0);
    for (int64_t i = 0; i < gx->numel; i++)
        lrp_reals(gx)[i] = 0.5f;
    assert_int_equal(lin->apply_t(c.n, gy, W, gx, &err), LRP_OK);
    for (int64_t i = 0; i < gx->numel; i++)
        lrp_reals(gx)[i] -= 0.5f;
    double l = dot(lrp_reals(y), lrp_reals(gy), y->numel), r = dot(lrp_reals(c.in[0]), lrp_reals(gx), gx->numel);
    if (fabs(l - r) > 1e-4 * (1 + fabs(l)))
        fail_msg("%s: <A x, g> = %.9g but <x, A^T g> = %.9g", c.n->op->type, l, r);
    free(W);
    lrp_tensor_free(y);
    lrp_tensor_free(gy);
    lrp_tensor_free(gx);
    release(&c);
}

static void test_linear_adjoints(void **state)
{
    (void)state;
    rng_seed(10);
    for (size_t k = 0; k < sizeof conv_specs / sizeof *conv_specs; k++) {
        lrp_graph *g;
        int n = conv_graph(&g, "Conv", &conv_specs[k]);
        check_adjoint(g, n);
        n = conv_graph(&g, "ConvTranspose", &conv_specs[k]);
        check_adjoint(g, n);
    }
    for (int tb = 0; tb < 2; tb++) {
        lrp_graph *g = gb_new(13);
        int x = gb_input(g, "x", 2, GB_DIMS(3, 4));
        lrp_real *wv = random_floats(20);
        int w = gb_const_f(g, "w", 2, tb ? GB_DIMS(5, 4) : GB_DIMS(4, 5), wv);
        int b = gb_const_f(g, "b", 1, GB_DIMS(5), wv);
        free(wv);
        int n = gb_node(g, "Gemm", 3, (int[]){x, w, b}, 1);
        gb_attr_i(g, n, "transB", tb);
        check_adjoint(g, n);
    }
    static const int64_t xs[3][3] = {{3, 4}, {2, 3, 4}, {4}};
    static const int nds[3] = {2, 3, 1};
    for (int k = 0; k < 3; k++) {
        lrp_graph *g = gb_new(13);
        int x = gb_input(g, "x", nds[k], xs[k]);
        lrp_real *wv = random_floats(20);
        int w = gb_const_f(g, "w", 2, GB_DIMS(4, 5), wv);
        free(wv);
        int n = gb_node(g, "MatMul", 2, (int[]){x, w}, 1);
        check_adjoint(g, n);
    }
}

/* ------------------------------------------------------------- groups */

static lrp_group group_of(lrp_graph *g, int node)
{
    lrp_error err = {0};
    if (gb_prepare(g, &err) != LRP_OK)
        fail_msg("graph preparation failed: %s", err.message);
    lrp_group r = lrp_node_group(g, &g->nodes[node]);
    lrp_graph_free(g);
    return r;
}

static lrp_group gemm_group_case(int ta, lrp_real alpha, lrp_real beta, int const_b, int nc, const int64_t *dc,
                                 int const_c)
{
    lrp_graph *g = gb_new(13);
    const lrp_real z[64] = {0};
    int a = gb_input(g, "a", 2, ta ? GB_DIMS(4, 3) : GB_DIMS(3, 4));
    int b = const_b ? gb_const_f(g, "b", 2, GB_DIMS(4, 5), z) : gb_input(g, "b", 2, GB_DIMS(4, 5));
    int c = nc < 0 ? -1 : (const_c ? gb_const_f(g, "c", nc, dc, z) : gb_input(g, "c", nc, dc));
    int n = gb_node(g, "Gemm", nc < 0 ? 2 : 3, (int[]){a, b, c}, 1);
    gb_attr_i(g, n, "transA", ta);
    gb_attr_f(g, n, "alpha", alpha);
    gb_attr_f(g, n, "beta", beta);
    return group_of(g, n);
}

static void test_groups(void **state)
{
    (void)state;
    const lrp_real z[64] = {0};
    /* Gemm */
    assert_int_equal(gemm_group_case(0, 1, 1, 1, -1, NULL, 0), LRP_GROUP_DENSE);
    assert_int_equal(gemm_group_case(0, 1, 1, 1, 1, GB_DIMS(5), 1), LRP_GROUP_DENSE);
    assert_int_equal(gemm_group_case(0, 1, 1, 1, 2, GB_DIMS(1, 5), 1), LRP_GROUP_DENSE);
    assert_int_equal(gemm_group_case(0, 1, 1, 1, 2, GB_DIMS(3, 5), 1), LRP_GROUP_OTHER);
    assert_int_equal(gemm_group_case(0, 1, 1, 1, 0, NULL, 1), LRP_GROUP_OTHER);
    assert_int_equal(gemm_group_case(0, 1, 1, 1, 1, GB_DIMS(5), 0), LRP_GROUP_OTHER);
    assert_int_equal(gemm_group_case(1, 1, 1, 1, 1, GB_DIMS(5), 1), LRP_GROUP_OTHER);
    assert_int_equal(gemm_group_case(0, 2, 1, 1, 1, GB_DIMS(5), 1), LRP_GROUP_OTHER);
    assert_int_equal(gemm_group_case(0, 1, 0.5f, 1, 1, GB_DIMS(5), 1), LRP_GROUP_OTHER);
    assert_int_equal(gemm_group_case(0, 1, 1, 0, 1, GB_DIMS(5), 1), LRP_GROUP_OTHER);
    /* MatMul: a constant matrix as B */
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 3, GB_DIMS(2, 3, 4)), w = gb_const_f(g, "w", 2, GB_DIMS(4, 5), z);
    assert_int_equal(group_of(g, gb_node(g, "MatMul", 2, (int[]){x, w}, 1)), LRP_GROUP_DENSE);
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(3, 4));
    w = gb_input(g, "w", 2, GB_DIMS(4, 5));
    assert_int_equal(group_of(g, gb_node(g, "MatMul", 2, (int[]){x, w}, 1)), LRP_GROUP_OTHER);
    /* Add and Sum: same-shaped activations */
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(3, 4));
    int y = gb_input(g, "y", 2, GB_DIMS(3, 4));
    assert_int_equal(group_of(g, gb_node(g, "Add", 2, (int[]){x, y}, 1)), LRP_GROUP_SUM);
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(3, 4));
    y = gb_input(g, "y", 1, GB_DIMS(4));
    assert_int_equal(group_of(g, gb_node(g, "Add", 2, (int[]){x, y}, 1)), LRP_GROUP_OTHER);
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(3, 4));
    y = gb_const_f(g, "y", 2, GB_DIMS(3, 4), z);
    assert_int_equal(group_of(g, gb_node(g, "Add", 2, (int[]){x, y}, 1)), LRP_GROUP_OTHER);
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(3, 4));
    y = gb_input(g, "y", 2, GB_DIMS(3, 4));
    int t = gb_input(g, "t", 2, GB_DIMS(3, 4));
    assert_int_equal(group_of(g, gb_node(g, "Sum", 3, (int[]){x, y, t}, 1)), LRP_GROUP_SUM);
    g = gb_new(13);
    x = gb_input(g, "x", 2, GB_DIMS(3, 4));
    assert_int_equal(group_of(g, gb_node(g, "Sum", 1, (int[]){x}, 1)), LRP_GROUP_OTHER);
    /* ReduceMean over {2, 3} of a 4-D input, keepdims either way */
    for (int keep = 0; keep < 2; keep++) {
        g = gb_new(13);
        x = gb_input(g, "x", 4, GB_DIMS(1, 3, 4, 4));
        int n = gb_node(g, "ReduceMean", 1, (int[]){x}, 1);
        gb_attr_ints(g, n, "axes", 2, GB_DIMS(-1, 2));
        gb_attr_i(g, n, "keepdims", keep);
        assert_int_equal(group_of(g, n), LRP_GROUP_AVGPOOL);
    }
    g = gb_new(13);
    x = gb_input(g, "x", 4, GB_DIMS(1, 3, 4, 4));
    int n = gb_node(g, "ReduceMean", 1, (int[]){x}, 1);
    gb_attr_ints(g, n, "axes", 1, GB_DIMS(3));
    assert_int_equal(group_of(g, n), LRP_GROUP_OTHER);
    /* the rest */
    static const struct {
        const char *op;
        lrp_group grp;
    } un[] = {{"Relu", LRP_GROUP_RELU},
              {"LeakyRelu", LRP_GROUP_ACTIVATION},
              {"Sigmoid", LRP_GROUP_ACTIVATION},
              {"Tanh", LRP_GROUP_ACTIVATION},
              {"Elu", LRP_GROUP_ACTIVATION},
              {"Selu", LRP_GROUP_ACTIVATION},
              {"Softplus", LRP_GROUP_ACTIVATION},
              {"Softsign", LRP_GROUP_ACTIVATION},
              {"HardSigmoid", LRP_GROUP_ACTIVATION},
              {"HardSwish", LRP_GROUP_ACTIVATION},
              {"Gelu", LRP_GROUP_ACTIVATION},
              {"Clip", LRP_GROUP_ACTIVATION},
              {"GlobalAveragePool", LRP_GROUP_AVGPOOL},
              {"GlobalMaxPool", LRP_GROUP_MAXPOOL},
              {"Softmax", LRP_GROUP_OTHER},
              {"Identity", LRP_GROUP_OTHER},
              {"Exp", LRP_GROUP_OTHER}};
    for (size_t k = 0; k < sizeof un / sizeof *un; k++) {
        n = unary_graph(&g, 13, un[k].op, 4, GB_DIMS(1, 2, 3, 3));
        if (group_of(g, n) != un[k].grp)
            fail_msg("%s is not in group %s", un[k].op, lrp_group_name(un[k].grp));
    }
    g = gb_new(17);
    x = gb_input(g, "x", 3, GB_DIMS(1, 5, 4));
    w = gb_const_f(g, "w", 1, GB_DIMS(4), z);
    assert_int_equal(group_of(g, gb_node(g, "LayerNormalization", 2, (int[]){x, w}, 1)), LRP_GROUP_LAYERNORM);
    /* ConvTranspose: constant weight and bias */
    lrp_graph *gc;
    n = conv_graph(&gc, "ConvTranspose", &conv_specs[0]);
    assert_int_equal(group_of(gc, n), LRP_GROUP_CONVT);
    g = gb_new(13);
    x = gb_input(g, "x", 4, GB_DIMS(1, 2, 3, 3));
    w = gb_input(g, "w", 4, GB_DIMS(2, 2, 2, 2));
    assert_int_equal(group_of(g, gb_node(g, "ConvTranspose", 2, (int[]){x, w}, 1)), LRP_GROUP_OTHER);
    /* out_channel_dim */
    const lrp_op *ct = lrp_op_find("ConvTranspose"), *gm = lrp_op_find("Gemm"), *mm = lrp_op_find("MatMul");
    assert_int_equal(ct->linear->weight_input, 1);
    assert_int_equal(mm->linear->bias_input, 2);
    n = conv_graph(&gc, "ConvTranspose", &conv_specs[2]); /* group 4 */
    assert_int_equal(gb_prepare(gc, &(lrp_error){0}), LRP_OK);
    assert_int_equal(ct->linear->out_channel_dim(&gc->nodes[n]), -1);
    lrp_graph_free(gc);
    n = conv_graph(&gc, "ConvTranspose", &conv_specs[0]);
    assert_int_equal(gb_prepare(gc, &(lrp_error){0}), LRP_OK);
    assert_int_equal(ct->linear->out_channel_dim(&gc->nodes[n]), 1);
    lrp_graph_free(gc);
    for (int tb = 0; tb < 2; tb++) {
        g = gb_new(13);
        x = gb_input(g, "x", 2, GB_DIMS(3, 4));
        w = gb_const_f(g, "w", 2, tb ? GB_DIMS(5, 4) : GB_DIMS(4, 5), z);
        n = gb_node(g, "Gemm", 2, (int[]){x, w}, 1);
        gb_attr_i(g, n, "transB", tb);
        assert_int_equal(gb_prepare(g, &(lrp_error){0}), LRP_OK);
        assert_int_equal(gm->linear->out_channel_dim(&g->nodes[n]), tb ? 0 : 1);
        lrp_graph_free(g);
    }
}

/* ---------------------------------------------------------- bad inputs */

typedef struct {
    lrp_graph *g;
    int node;
} built;

static void expect_fail(lrp_graph *g, lrp_status want, const char *what)
{
    lrp_error err = {0};
    lrp_status st = gb_prepare(g, &err);
    if (st != want)
        fail_msg("%s: expected status %s, got %s (%s)", what, lrp_status_name(want), lrp_status_name(st), err.message);
    assert_true(err.message[0] != '\0');
    lrp_graph_free(g);
}

static lrp_graph *binary_graph(const char *op, int64_t opset, int na, const int64_t *da, int nb, const int64_t *db,
                               int *node)
{
    lrp_graph *g = gb_new(opset);
    int a = gb_input(g, "a", na, da), b = gb_input(g, "b", nb, db);
    *node = gb_node(g, op, 2, (int[]){a, b}, 1);
    return g;
}

/* a node reading x (shape dims) and one constant int64 vector */
static lrp_graph *with_ints(const char *op, int64_t opset, int nd, const int64_t *dims, int nv, const int64_t *v,
                            int *node)
{
    lrp_graph *g = gb_new(opset);
    int x = gb_input(g, "x", nd, dims);
    int c = gb_const_i(g, "c", 1, GB_DIMS(nv), v);
    *node = gb_node(g, op, 2, (int[]){x, c}, 1);
    return g;
}

static void test_bad_inputs(void **state)
{
    (void)state;
    const lrp_real z[64] = {0};
    int n;
    lrp_graph *g;
    /* shapes that do not fit */
    expect_fail(binary_graph("Add", 13, 2, GB_DIMS(2, 3), 1, GB_DIMS(4), &n), LRP_ERR_SHAPE, "Add (2,3)+(4)");
    expect_fail(binary_graph("MatMul", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(4, 5), &n), LRP_ERR_SHAPE, "MatMul");
    expect_fail(binary_graph("MatMul", 13, 3, GB_DIMS(2, 3, 4), 3, GB_DIMS(3, 4, 5), &n), LRP_ERR_SHAPE,
                "MatMul batch");
    expect_fail(binary_graph("Gemm", 13, 3, GB_DIMS(2, 3, 4), 2, GB_DIMS(4, 5), &n), LRP_ERR_SHAPE, "Gemm 3-D");
    expect_fail(binary_graph("Gemm", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(4, 5), &n), LRP_ERR_SHAPE, "Gemm K");
    g = gb_new(13);
    int a = gb_input(g, "a", 2, GB_DIMS(2, 3)), b = gb_input(g, "b", 2, GB_DIMS(3, 4));
    int c = gb_input(g, "c", 1, GB_DIMS(3));
    gb_node(g, "Gemm", 3, (int[]){a, b, c}, 1);
    expect_fail(g, LRP_ERR_SHAPE, "Gemm C");
    expect_fail(binary_graph("PRelu", 13, 2, GB_DIMS(2, 3), 1, GB_DIMS(4), &n), LRP_ERR_SHAPE, "PRelu slope");
    /* Reshape targets */
    expect_fail(with_ints("Reshape", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(-1, -1), &n), LRP_ERR_SHAPE, "two -1");
    expect_fail(with_ints("Reshape", 13, 2, GB_DIMS(2, 3), 1, GB_DIMS(7), &n), LRP_ERR_SHAPE, "7 from 6");
    expect_fail(with_ints("Reshape", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(-1, 4), &n), LRP_ERR_SHAPE, "-1 not integral");
    expect_fail(with_ints("Reshape", 13, 2, GB_DIMS(2, 3), 3, GB_DIMS(1, 1, 0), &n), LRP_ERR_SHAPE, "0 past rank");
    expect_fail(with_ints("Reshape", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(-3, -2), &n), LRP_ERR_SHAPE, "negative dims");
    expect_fail(with_ints("Reshape", 13, 2, GB_DIMS(2, 3), 3, GB_DIMS((int64_t)1 << 40, (int64_t)1 << 40, 6), &n),
                LRP_ERR_LIMIT, "absurd target");
    expect_fail(with_ints("Reshape", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(INT64_MAX, -1), &n), LRP_ERR_LIMIT,
                "INT64_MAX target");
    g = gb_new(13);
    a = gb_input(g, "a", 2, GB_DIMS(2, 3));
    b = gb_input(g, "b", 1, GB_DIMS(2));
    gb_node(g, "Reshape", 2, (int[]){a, b}, 1);
    expect_fail(g, LRP_ERR_UNSUPPORTED, "non-constant shape");
    /* axes out of range */
    n = unary_graph(&g, 13, "Softmax", 2, GB_DIMS(2, 3));
    gb_attr_i(g, n, "axis", 2);
    expect_fail(g, LRP_ERR_SHAPE, "Softmax axis");
    g = binary_graph("LayerNormalization", 17, 2, GB_DIMS(2, 3), 1, GB_DIMS(2), &n);
    expect_fail(g, LRP_ERR_SHAPE, "LayerNormalization Scale");
    g = binary_graph("LayerNormalization", 17, 2, GB_DIMS(2, 3), 1, GB_DIMS(3), &n);
    gb_attr_i(g, n, "axis", 2);
    expect_fail(g, LRP_ERR_SHAPE, "LayerNormalization axis");
    g = gb_new(17);
    a = gb_input(g, "a", 2, GB_DIMS(2, 3));
    b = gb_input(g, "b", 1, GB_DIMS(3));
    n = gb_node(g, "LayerNormalization", 2, (int[]){a, b}, 2);
    gb_attr_i(g, n, "stash_type", 11);
    expect_fail(g, LRP_ERR_UNSUPPORTED, "LayerNormalization Mean in double");
    n = unary_graph(&g, 20, "Gelu", 2, GB_DIMS(2, 3));
    gb_attr_s(g, n, "approximate", "erf");
    expect_fail(g, LRP_ERR_FORMAT, "Gelu approximate");
    n = unary_graph(&g, 13, "Flatten", 2, GB_DIMS(2, 3));
    gb_attr_i(g, n, "axis", 3);
    expect_fail(g, LRP_ERR_SHAPE, "Flatten axis");
    n = unary_graph(&g, 13, "Concat", 2, GB_DIMS(2, 3));
    gb_attr_i(g, n, "axis", -3);
    expect_fail(g, LRP_ERR_SHAPE, "Concat axis");
    expect_fail(binary_graph("Concat", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(3, 3), &n), LRP_ERR_FORMAT,
                "Concat without axis");
    g = binary_graph("Concat", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(3, 3), &n);
    gb_attr_i(g, n, "axis", 1);
    expect_fail(g, LRP_ERR_SHAPE, "Concat mismatch");
    n = unary_graph(&g, 13, "Transpose", 2, GB_DIMS(2, 3));
    gb_attr_ints(g, n, "perm", 2, GB_DIMS(0, 0));
    expect_fail(g, LRP_ERR_FORMAT, "Transpose perm");
    n = unary_graph(&g, 13, "Transpose", 2, GB_DIMS(2, 3));
    gb_attr_ints(g, n, "perm", 3, GB_DIMS(0, 2, 1));
    expect_fail(g, LRP_ERR_SHAPE, "Transpose perm rank");
    expect_fail(with_ints("Squeeze", 13, 2, GB_DIMS(2, 3), 1, GB_DIMS(0), &n), LRP_ERR_SHAPE, "Squeeze non-1");
    expect_fail(with_ints("Squeeze", 13, 2, GB_DIMS(1, 3), 1, GB_DIMS(2), &n), LRP_ERR_SHAPE, "Squeeze axis");
    expect_fail(with_ints("Unsqueeze", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(1, 1), &n), LRP_ERR_FORMAT,
                "Unsqueeze repeated");
    expect_fail(with_ints("Unsqueeze", 13, 2, GB_DIMS(2, 3), 1, GB_DIMS(5), &n), LRP_ERR_SHAPE, "Unsqueeze axis");
    expect_fail(with_ints("Unsqueeze", 13, 2, GB_DIMS(2, 3), 7, GB_DIMS(0, 1, 2, 3, 4, 5, 6), &n), LRP_ERR_LIMIT,
                "Unsqueeze rank");
    n = unary_graph(&g, 11, "ReduceMean", 2, GB_DIMS(2, 3));
    gb_attr_ints(g, n, "axes", 1, GB_DIMS(-3));
    expect_fail(g, LRP_ERR_SHAPE, "ReduceMean axis");
    expect_fail(with_ints("Gather", 13, 2, GB_DIMS(2, 3), 1, GB_DIMS(2), &n), LRP_ERR_SHAPE, "Gather index");
    g = with_ints("Gather", 13, 2, GB_DIMS(2, 3), 1, GB_DIMS(0), &n);
    gb_attr_i(g, n, "axis", 2);
    expect_fail(g, LRP_ERR_SHAPE, "Gather axis");
    g = with_ints("Split", 13, 2, GB_DIMS(2, 5), 2, GB_DIMS(2, 2), &n);
    gb_attr_i(g, n, "axis", 1);
    expect_fail(g, LRP_ERR_FORMAT, "Split sizes for outputs");
    g = gb_new(13);
    a = gb_input(g, "a", 2, GB_DIMS(2, 5));
    n = gb_node(g, "Split", 1, (int[]){a}, 2);
    gb_attr_i(g, n, "axis", 1);
    expect_fail(g, LRP_ERR_SHAPE, "Split uneven");
    /* sizes */
    expect_fail(with_ints("Expand", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(4, 3), &n), LRP_ERR_SHAPE, "Expand");
    expect_fail(with_ints("Expand", 13, 2, GB_DIMS(1, 1), 3, GB_DIMS(1 << 20, 1 << 20, 1 << 20), &n), LRP_ERR_LIMIT,
                "Expand huge");
    expect_fail(with_ints("Tile", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(1 << 30, 1 << 30), &n), LRP_ERR_LIMIT, "Tile huge");
    expect_fail(with_ints("Tile", 13, 2, GB_DIMS(2, 3), 1, GB_DIMS(2), &n), LRP_ERR_SHAPE, "Tile rank");
    expect_fail(with_ints("Pad", 13, 2, GB_DIMS(2, 3), 4, GB_DIMS(0, -3, 0, -1), &n), LRP_ERR_SHAPE, "Pad crop");
    expect_fail(with_ints("Pad", 13, 2, GB_DIMS(2, 3), 2, GB_DIMS(1, 1), &n), LRP_ERR_SHAPE, "Pad count");
    g = gb_new(13);
    int s = gb_const_i(g, "s", 1, GB_DIMS(2), (const int64_t[]){-1, 3});
    gb_node(g, "ConstantOfShape", 1, (int[]){s}, 1);
    expect_fail(g, LRP_ERR_SHAPE, "ConstantOfShape negative");
    g = gb_new(13);
    s = gb_const_i(g, "s", 1, GB_DIMS(3), (const int64_t[]){1 << 20, 1 << 20, 1 << 20});
    gb_node(g, "ConstantOfShape", 1, (int[]){s}, 1);
    expect_fail(g, LRP_ERR_LIMIT, "ConstantOfShape huge");
    g = gb_new(13);
    int r0 = gb_const_f(g, "r0", 0, NULL, (const lrp_real[]){0}),
        r1 = gb_const_f(g, "r1", 0, NULL, (const lrp_real[]){1e30f});
    int r2 = gb_const_f(g, "r2", 0, NULL, (const lrp_real[]){1});
    gb_node(g, "Range", 3, (int[]){r0, r1, r2}, 1);
    expect_fail(g, LRP_ERR_LIMIT, "Range huge");
    g = gb_new(13);
    r0 = gb_const_i(g, "r0", 0, NULL, (const int64_t[]){0});
    r1 = gb_const_i(g, "r1", 0, NULL, (const int64_t[]){5});
    r2 = gb_const_i(g, "r2", 0, NULL, (const int64_t[]){0});
    gb_node(g, "Range", 3, (int[]){r0, r1, r2}, 1);
    expect_fail(g, LRP_ERR_FORMAT, "Range delta 0");
    g = gb_new(13);
    a = gb_input(g, "x", 2, GB_DIMS(4, 5));
    int st = gb_const_i(g, "st", 1, GB_DIMS(1), (const int64_t[]){0});
    int en = gb_const_i(g, "en", 1, GB_DIMS(1), (const int64_t[]){3});
    int ax = gb_const_i(g, "ax", 1, GB_DIMS(1), (const int64_t[]){1});
    int sp = gb_const_i(g, "sp", 1, GB_DIMS(1), (const int64_t[]){0});
    gb_node(g, "Slice", 5, (int[]){a, st, en, ax, sp}, 1);
    expect_fail(g, LRP_ERR_FORMAT, "Slice step 0");
    /* layers */
    n = unary_graph(&g, 13, "MaxPool", 2, GB_DIMS(2, 3));
    gb_attr_ints(g, n, "kernel_shape", 1, GB_DIMS(2));
    expect_fail(g, LRP_ERR_SHAPE, "MaxPool rank");
    n = unary_graph(&g, 13, "MaxPool", 5, GB_DIMS(1, 1, 4, 4, 4));
    gb_attr_ints(g, n, "kernel_shape", 3, GB_DIMS(2, 2, 2));
    expect_fail(g, LRP_ERR_UNSUPPORTED, "MaxPool 3-D");
    n = unary_graph(&g, 13, "AveragePool", 4, GB_DIMS(1, 1, 4, 4));
    gb_attr_ints(g, n, "kernel_shape", 2, GB_DIMS(5, 5));
    expect_fail(g, LRP_ERR_SHAPE, "AveragePool kernel larger than input");
    n = unary_graph(&g, 13, "AveragePool", 4, GB_DIMS(1, 1, 4, 4));
    expect_fail(g, LRP_ERR_FORMAT, "AveragePool without kernel_shape");
    g = gb_new(13);
    a = gb_input(g, "x", 4, GB_DIMS(1, 3, 4, 4));
    int p4 = gb_const_f(g, "p4", 1, GB_DIMS(4), z), p3 = gb_const_f(g, "p3", 1, GB_DIMS(3), z);
    gb_node(g, "BatchNormalization", 5, (int[]){a, p3, p3, p4, p3}, 1);
    expect_fail(g, LRP_ERR_SHAPE, "BatchNormalization mean of 4");
    g = gb_new(15);
    a = gb_input(g, "x", 4, GB_DIMS(1, 3, 4, 4));
    p3 = gb_const_f(g, "p3", 1, GB_DIMS(3), z);
    n = gb_node(g, "BatchNormalization", 5, (int[]){a, p3, p3, p3, p3}, 3);
    gb_attr_i(g, n, "training_mode", 1);
    expect_fail(g, LRP_ERR_UNSUPPORTED, "BatchNormalization training");
    g = gb_new(13);
    a = gb_input(g, "x", 4, GB_DIMS(1, 3, 4, 4));
    int w = gb_const_f(g, "w", 4, GB_DIMS(2, 2, 2, 2), z);
    gb_node(g, "ConvTranspose", 2, (int[]){a, w}, 1);
    expect_fail(g, LRP_ERR_SHAPE, "ConvTranspose weight rows");
    g = gb_new(13);
    a = gb_input(g, "x", 4, GB_DIMS(1, 2, 4, 4));
    w = gb_const_f(g, "w", 4, GB_DIMS(2, 2, 3, 3), z);
    n = gb_node(g, "ConvTranspose", 2, (int[]){a, w}, 1);
    gb_attr_ints(g, n, "pads", 4, GB_DIMS(4, 4, 4, 4));
    expect_fail(g, LRP_ERR_SHAPE, "ConvTranspose pads eat the output");
    g = gb_new(13);
    a = gb_input(g, "x", 3, GB_DIMS(1, 2, 4));
    w = gb_const_f(g, "w", 4, GB_DIMS(2, 2, 3, 3), z);
    gb_node(g, "ConvTranspose", 2, (int[]){a, w}, 1);
    expect_fail(g, LRP_ERR_UNSUPPORTED, "ConvTranspose rank mismatch");
    n = unary_graph(&g, 13, "Cast", 2, GB_DIMS(2, 3));
    gb_attr_i(g, n, "to", 8);
    expect_fail(g, LRP_ERR_UNSUPPORTED, "Cast to string");
    g = gb_new(13);
    a = gb_input(g, "x", 4, GB_DIMS(1, 1, 2, 2));
    int scl = gb_const_f(g, "scl", 1, GB_DIMS(4), (const lrp_real[]){1, 1, 2, 2});
    n = gb_node(g, "Resize", 3, (int[]){a, -1, scl}, 1);
    gb_attr_s(g, n, "mode", "linear");
    expect_fail(g, LRP_ERR_UNSUPPORTED, "Resize linear");
    g = gb_new(13);
    a = gb_input(g, "x", 2, GB_DIMS(2, 3));
    int lo = gb_const_f(g, "lo", 1, GB_DIMS(2), z);
    gb_node(g, "Clip", 2, (int[]){a, lo}, 1);
    expect_fail(g, LRP_ERR_SHAPE, "Clip bound not scalar");
    n = unary_graph(&g, 13, "Pad", 2, GB_DIMS(2, 3));
    expect_fail(g, LRP_ERR_FORMAT, "Pad without pads");
    /* integer arithmetic on declared narrow types */
    g = gb_new(13);
    a = gb_const_i(g, "a", 1, GB_DIMS(2), (const int64_t[]){200, 100});
    b = gb_input(g, "b", 1, GB_DIMS(2));
    g->values[a].decl_elem_type = 2; /* uint8 */
    gb_node(g, "Mul", 2, (int[]){a, a}, 1);
    expect_fail(g, LRP_ERR_UNSUPPORTED, "uint8 Mul");
    (void)b;
    /* Einsum: ellipses, traces and diagonals are refused; labels must agree with the shapes */
    static const struct {
        const char *eq;
        lrp_status st;
    } ein[] = {{"...ij,...jk->...ik", LRP_ERR_UNSUPPORTED},
               {"ii,ij->ij", LRP_ERR_UNSUPPORTED},
               {"ij,jk->ikk", LRP_ERR_FORMAT},
               {"ij,jk->iz", LRP_ERR_FORMAT},
               {"ij,ki->jk", LRP_ERR_SHAPE},
               {"ijk,jk->ik", LRP_ERR_SHAPE},
               {"ij->i", LRP_ERR_FORMAT}};
    for (size_t k = 0; k < sizeof ein / sizeof *ein; k++) {
        g = binary_graph("Einsum", 12, 2, GB_DIMS(3, 3), 2, GB_DIMS(3, 4), &n);
        gb_attr_s(g, n, "equation", ein[k].eq);
        expect_fail(g, ein[k].st, ein[k].eq);
    }
    /* training-mode Dropout: the identity with a constant ratio of 0 (F.dropout(p=0.0)), refused otherwise */
    for (int k = 0; k < 2; k++) {
        g = gb_new(13);
        int x = gb_input(g, "x", 2, GB_DIMS(2, 3));
        int ratio = gb_const_f(g, "ratio", 0, NULL, (const lrp_real[]){k ? 0.5f : 0.0f});
        int tm = gb_const_i(g, "training_mode", 0, NULL, (const int64_t[]){1});
        n = gb_node(g, "Dropout", 3, (int[]){x, ratio, tm}, 2);
        if (k)
            expect_fail(g, LRP_ERR_UNSUPPORTED, "training-mode Dropout with ratio 0.5");
        else
            check_piecewise(g, n);
    }
}

/* Errors found only when running: an integer division by zero, an index out
 * of range in non-constant indices. */
static void test_runtime_errors(void **state)
{
    (void)state;
    lrp_error err = {0};
    lrp_graph *g = gb_new(13);
    int a = gb_const_i(g, "a", 1, GB_DIMS(2), (const int64_t[]){4, 5});
    int b = gb_const_i(g, "b", 1, GB_DIMS(2), (const int64_t[]){2, 0});
    gb_node(g, "Div", 2, (int[]){a, b}, 1);
    /* all-constant nodes are folded while shapes are inferred */
    lrp_status st = gb_prepare(g, &err);
    assert_int_equal(st, LRP_ERR_ARG);
    assert_non_null(strstr(err.message, "division by zero"));
    lrp_graph_free(g);
    g = gb_new(13);
    int x = gb_input(g, "x", 1, GB_DIMS(3));
    int idx = gb_const_i(g, "idx", 1, GB_DIMS(1), (const int64_t[]){0}); /* checked when constant */
    int n = gb_node(g, "Gather", 2, (int[]){x, idx}, 1);
    assert_int_equal(gb_prepare(g, &err), LRP_OK);
    lrp_tensor *xv = lrp_tensor_new(LRP_REAL_DT, 1, GB_DIMS(3), NULL);
    lrp_tensor *iv = lrp_tensor_new(LRP_INT64, 1, GB_DIMS(1), NULL);
    lrp_tensor *y = lrp_tensor_new(LRP_REAL_DT, 1, GB_DIMS(1), NULL);
    lrp_i64(iv)[0] = 3;
    const lrp_node *nd = &g->nodes[n];
    assert_int_equal(nd->op->forward(nd, (const lrp_tensor *[]){xv, iv}, (lrp_tensor *[]){y}, &err), LRP_ERR_ARG);
    lrp_i64(iv)[0] = -3;
    assert_int_equal(nd->op->forward(nd, (const lrp_tensor *[]){xv, iv}, (lrp_tensor *[]){y}, &err), LRP_OK);
    lrp_tensor_free(xv);
    lrp_tensor_free(iv);
    lrp_tensor_free(y);
    lrp_graph_free(g);
}

/* ------------------------------------------------------ constant folding */

/* The shape arithmetic of older PyTorch exports folds into constants while
 * shapes are inferred, and again for another input shape:
 * x.view(x.size(0), -1) = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])). */
static void test_shape_folding(void **state)
{
    (void)state;
    lrp_error err = {0};
    lrp_graph *g = gb_new(9);
    int x = gb_input(g, "x", 4, GB_DIMS(1, 3, 4, 4));
    int shp = gb_node(g, "Shape", 1, (int[]){x}, 1);
    int zero_i = gb_const_i(g, "zero", 0, NULL, (const int64_t[]){0});
    int gat = gb_node(g, "Gather", 2, (int[]){gb_out(g, shp, 0), zero_i}, 1);
    int uns = gb_node(g, "Unsqueeze", 1, (int[]){gb_out(g, gat, 0)}, 1);
    gb_attr_ints(g, uns, "axes", 1, GB_DIMS(0));
    int minus1 = gb_const_i(g, "minus1", 1, GB_DIMS(1), (const int64_t[]){-1});
    int cat = gb_node(g, "Concat", 2, (int[]){gb_out(g, uns, 0), minus1}, 1);
    gb_attr_i(g, cat, "axis", 0);
    int rsh = gb_node(g, "Reshape", 2, (int[]){x, gb_out(g, cat, 0)}, 1);
    assert_int_equal(gb_prepare(g, &err), LRP_OK);
    const lrp_value *target = &g->values[gb_out(g, cat, 0)], *y = &g->values[gb_out(g, rsh, 0)];
    assert_non_null(target->constant);
    assert_true(target->folded);
    assert_true(lrp_node_is_static(g, &g->nodes[shp]) && lrp_node_is_static(g, &g->nodes[cat]));
    assert_false(lrp_node_is_static(g, &g->nodes[rsh]));
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->dims[0], 1);
    assert_int_equal(y->dims[1], 48);
    /* another batch size: refolded */
    int nd[1] = {4};
    int64_t dims[1][LRP_MAX_DIMS] = {{2, 3, 4, 4}};
    assert_int_equal(lrp_graph_infer(g, nd, (const int64_t(*)[LRP_MAX_DIMS])dims, &err), LRP_OK);
    assert_int_equal(lrp_i64(target->constant)[0], 2);
    assert_int_equal(y->dims[0], 2);
    assert_int_equal(y->dims[1], 48);
    /* the forward engine runs only the Reshape */
    lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 4, dims[0], NULL);
    for (int64_t i = 0; i < xt->numel; i++)
        lrp_reals(xt)[i] = (lrp_real)i;
    lrp_tensor **vals = calloc((size_t)g->n_values, sizeof *vals);
    assert_int_equal(lrp_forward(g, (const lrp_tensor *const[]){xt}, NULL, vals, &err), LRP_OK);
    const lrp_tensor *yt = lrp_value_tensor(g, vals, gb_out(g, rsh, 0));
    assert_non_null(yt);
    assert_int_equal(yt->dims[1], 48);
    assert_memory_equal(yt->data, xt->data, sizeof(lrp_real) * (size_t)xt->numel);
    lrp_vals_clear(g, vals);
    free(vals);
    lrp_tensor_free(xt);
    lrp_graph_free(g);
}

/* ------------------------------------------------------ thread counts */

/* Forward and backward give bit-identical results with 1 and 3 threads. */
static void run_threads(lrp_graph *g, int node, lrp_real **fwd, lrp_real **bwd, int64_t *nf, int64_t *nb)
{
    one_node c;
    rng_seed(11);
    prepare(&c, g, node, IN_DISTINCT);
    forward(&c);
    *nf = c.out[0]->numel;
    *fwd = malloc(sizeof(lrp_real) * (size_t)*nf);
    memcpy(*fwd, c.out[0]->data, sizeof(lrp_real) * (size_t)*nf);
    lrp_tensor *gout = lrp_tensor_like(c.out[0], NULL);
    fill(gout, IN_SMOOTH, 0);
    lrp_tensor *gin[16] = {0};
    for (int i = 0; i < c.n->n_inputs; i++)
        if (c.rt[i])
            gin[i] = lrp_tensor_like(c.rt[i], NULL);
    lrp_error err = {0};
    assert_int_equal(c.n->op->backward(c.n, c.in, c.out[0], gout, gin, &err), LRP_OK);
    *nb = gin[0]->numel;
    *bwd = malloc(sizeof(lrp_real) * (size_t)*nb);
    memcpy(*bwd, gin[0]->data, sizeof(lrp_real) * (size_t)*nb);
    for (int i = 0; i < 16; i++)
        lrp_tensor_free(gin[i]);
    lrp_tensor_free(gout);
    release(&c);
}

typedef int (*graph_maker)(lrp_graph **g);

static int mk_maxpool(lrp_graph **g)
{
    return pool_graph(g, "MaxPool", 2, GB_DIMS(2, 8, 64, 64), GB_DIMS(3, 3), GB_DIMS(2, 2), GB_DIMS(1, 1, 1, 1), NULL,
                      0, -1);
}
static int mk_avgpool(lrp_graph **g)
{
    return pool_graph(g, "AveragePool", 2, GB_DIMS(2, 8, 64, 64), GB_DIMS(3, 3), GB_DIMS(1, 1), GB_DIMS(1, 1, 1, 1),
                      NULL, 0, 0);
}
static int mk_add(lrp_graph **g)
{
    *g = gb_new(13);
    int a = gb_input(*g, "a", 4, GB_DIMS(2, 16, 64, 64)), b = gb_input(*g, "b", 4, GB_DIMS(1, 16, 1, 64));
    return gb_node(*g, "Add", 2, (int[]){a, b}, 1);
}
static int mk_softmax(lrp_graph **g)
{
    int n = unary_graph(g, 13, "Softmax", 3, GB_DIMS(64, 100, 40));
    gb_attr_i(*g, n, "axis", 1);
    return n;
}
static int mk_reduce(lrp_graph **g)
{
    int n = unary_graph(g, 13, "ReduceMean", 4, GB_DIMS(4, 32, 32, 32));
    gb_attr_ints(*g, n, "axes", 2, GB_DIMS(2, 3));
    return n;
}
static int mk_transpose(lrp_graph **g)
{
    int n = unary_graph(g, 13, "Transpose", 4, GB_DIMS(4, 32, 32, 32));
    gb_attr_ints(*g, n, "perm", 4, GB_DIMS(0, 2, 3, 1));
    return n;
}
static int mk_gap(lrp_graph **g) { return unary_graph(g, 13, "GlobalAveragePool", 4, GB_DIMS(4, 64, 32, 32)); }
static int mk_sigmoid(lrp_graph **g) { return unary_graph(g, 13, "Sigmoid", 2, GB_DIMS(512, 512)); }
static int mk_layernorm(lrp_graph **g)
{
    *g = gb_new(17);
    int x = gb_input(*g, "x", 3, GB_DIMS(64, 33, 64)), s = gb_input(*g, "s", 1, GB_DIMS(64));
    int b = gb_input(*g, "b", 1, GB_DIMS(64));
    return gb_node(*g, "LayerNormalization", 3, (int[]){x, s, b}, 1);
}
static int mk_einsum(lrp_graph **g)
{
    *g = gb_new(12);
    int a = gb_input(*g, "A", 3, GB_DIMS(16, 128, 16)), b = gb_input(*g, "B", 3, GB_DIMS(16, 16, 64));
    int n = gb_node(*g, "Einsum", 2, (int[]){a, b}, 1);
    gb_attr_s(*g, n, "equation", "bik,bkj->ibj"); /* the output copied from the product's layout */
    return n;
}

static void test_thread_independence(void **state)
{
    (void)state;
    graph_maker makers[] = {mk_maxpool,   mk_avgpool, mk_add,     mk_softmax,   mk_reduce,
                            mk_transpose, mk_gap,     mk_sigmoid, mk_layernorm, mk_einsum};
    int saved = lrp_num_threads;
    for (size_t k = 0; k < sizeof makers / sizeof *makers; k++) {
        lrp_real *f[2], *b[2];
        int64_t nf, nb;
        for (int t = 0; t < 2; t++) {
            lrp_graph *g;
            int n = makers[k](&g);
            lrp_num_threads = t ? 3 : 1;
            run_threads(g, n, &f[t], &b[t], &nf, &nb);
        }
        assert_memory_equal(f[0], f[1], sizeof(lrp_real) * (size_t)nf);
        assert_memory_equal(b[0], b[1], sizeof(lrp_real) * (size_t)nb);
        for (int t = 0; t < 2; t++) {
            free(f[t]);
            free(b[t]);
        }
    }
    lrp_num_threads = saved;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activation_grads),
        cmocka_unit_test(test_second_derivatives),
        cmocka_unit_test(test_kink_masks),
        cmocka_unit_test(test_clip_prelu_grads),
        cmocka_unit_test(test_binary_grads),
        cmocka_unit_test(test_max_ties),
        cmocka_unit_test(test_gemm_matmul_grads),
        cmocka_unit_test(test_einsum_grads),
        cmocka_unit_test(test_mod_grads),
        cmocka_unit_test(test_scatternd_grads),
        cmocka_unit_test(test_conv_grads),
        cmocka_unit_test(test_pool_grads),
        cmocka_unit_test(test_maxpool_ties),
        cmocka_unit_test(test_avgpool_divisors),
        cmocka_unit_test(test_norm_softmax_grads),
        cmocka_unit_test(test_shape_op_grads),
        cmocka_unit_test(test_reduce_grads),
        cmocka_unit_test(test_linear_adjoints),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_shape_folding),
        cmocka_unit_test(test_thread_independence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
