/* Gelu (opset 20): y = x * Phi(x), Phi the standard normal distribution
 * function (approximate = "none"), or with approximate = "tanh"
 * y = x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))). Computed in
 * double and rounded once; Phi(x) as erfc(-x / sqrt(2)) / 2, which keeps its
 * precision for negative x. */
#include "ops/kernels/eltwise_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GELU_SQRT1_2 0.70710678118654752440     /* 1 / sqrt(2) */
#define GELU_INV_SQRT2PI 0.39894228040143267794 /* 1 / sqrt(2 pi) */
#define GELU_SQRT2_PI 0.79788456080286535588    /* sqrt(2 / pi) */
#define GELU_C 0.044715

typedef struct {
    int tanh_approx;
} gelu_state;

static lrp_status gelu_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    gelu_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    const char *a = lrp_attr_string(n, "approximate", "none");
    if (!strcmp(a, "tanh"))
        s->tanh_approx = 1;
    else if (strcmp(a, "none") != 0)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "approximate is \"%s\": expected \"none\" or \"tanh\"", a);
    return LRP_OK;
}

static double gelu_exact(double x) { return 0.5 * x * erfc(-x * GELU_SQRT1_2); }

static double gelu_tanh(double x) { return 0.5 * x * (1.0 + tanh(GELU_SQRT2_PI * (x + GELU_C * x * x * x))); }

/* dy/dx = Phi(x) + x phi(x) */
static double dgelu_exact(double x)
{
    return 0.5 * erfc(-x * GELU_SQRT1_2) + x * GELU_INV_SQRT2PI * exp(-0.5 * x * x);
}

/* dy/dx = (1 + t) / 2 + x / 2 (1 - t^2) sqrt(2 / pi) (1 + 3 c x^2), t = tanh(...) */
static double dgelu_tanh(double x)
{
    const double t = tanh(GELU_SQRT2_PI * (x + GELU_C * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_SQRT2_PI * (1.0 + 3.0 * GELU_C * x * x);
}

/* d2y/dx2 = phi(x) (2 - x^2) */
static double d2gelu_exact(double x) { return GELU_INV_SQRT2PI * exp(-0.5 * x * x) * (2.0 - x * x); }

/* d2y/dx2 = t' + x t''/2 with t' = (1 - t^2) k (1 + 3 c x^2), k = sqrt(2 / pi),
 * t'' = k (-2 t t' (1 + 3 c x^2) + 6 c x (1 - t^2)) */
static double d2gelu_tanh(double x)
{
    const double t = tanh(GELU_SQRT2_PI * (x + GELU_C * x * x * x)), s = 1.0 - t * t, q = 1.0 + 3.0 * GELU_C * x * x,
                 dt = s * GELU_SQRT2_PI * q;
    return dt + 0.5 * x * GELU_SQRT2_PI * (-2.0 * t * dt * q + 6.0 * GELU_C * x * s);
}

static lrp_status gelu_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]);
    lrp_real *y = lrp_reals(out[0]);
    if (((const gelu_state *)n->state)->tanh_approx)
        LRP_MAP(in[0]->numel, y[i] = (lrp_real)gelu_tanh((double)x[i]));
    else
        LRP_MAP(in[0]->numel, y[i] = (lrp_real)gelu_exact((double)x[i]));
    return LRP_OK;
}

static lrp_status gelu_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    const lrp_real *x = lrp_reals(in[0]), *g = lrp_reals(gout);
    lrp_real *gx = lrp_reals(gin[0]);
    if (((const gelu_state *)n->state)->tanh_approx)
        LRP_MAP(gout->numel, gx[i] += (lrp_real)((double)g[i] * dgelu_tanh((double)x[i])));
    else
        LRP_MAP(gout->numel, gx[i] += (lrp_real)((double)g[i] * dgelu_exact((double)x[i])));
    return LRP_OK;
}

/* The curvature term of the second order: GELU's f''. */
static lrp_status gelu_second(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                              const lrp_tensor *g, const lrp_tensor *u, lrp_tensor *gx, lrp_error *err)
{
    const lrp_real *x = lrp_reals(in[0]), *gg = lrp_reals(g), *uu = lrp_reals(u);
    lrp_real *d = lrp_reals(gx);
    if (((const gelu_state *)n->state)->tanh_approx)
        LRP_MAP(g->numel, d[i] += (lrp_real)((double)gg[i] * uu[i] * d2gelu_tanh((double)x[i])));
    else
        LRP_MAP(g->numel, d[i] += (lrp_real)((double)gg[i] * uu[i] * d2gelu_exact((double)x[i])));
    return LRP_OK;
}

const lrp_op lrp_op_gelu = {
    .overwrites = 1,
    .inplace = 1,
    .type = "Gelu",
    .min_inputs = 1,
    .max_inputs = 1,
    .init = gelu_init,
    .destroy = free,
    .infer = lrp_infer_same_float,
    .forward = gelu_forward,
    .backward = gelu_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = lrp_group_activation,
    .second = gelu_second,
};
