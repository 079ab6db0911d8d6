/* Every LRP rule against an independent formula, and conservation.
 *
 * As zennit's own rule tests do, each layer is written as a matrix: y = A x + b.
 * A is built here straight from the definition of the layer (loops over
 * output positions and kernel taps, with strides, padding, dilation and
 * groups), not from lrp's kernels. The rules are then evaluated in float64 in
 * matrix form (zennit-reference.md §1) and compared with what lrp's engine
 * gives on a one-layer graph for the same output relevance. */
#include "testutil.h"

#include "lrp/explain.h"
#include "lrp/rules/rule.h"
#include "graph_builder.h"
#include "engine/model.h"
#include "graph/canonize.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct layer {
    const char *name;
    int n_in, n_out; /* sizes of x and y (batch of one) */
    double *A, *b;   /* n_out x n_in, n_out */
    double *S;       /* the structure: A with every weight set to 1 (Flat) */
    double *A2;      /* the weights squared (WSquare) */
    lrp_model *model;
    int64_t xdims[4];
    int xnd;
} layer;

static double *zeros(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

static lrp_real frand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (lrp_real)((double)(*s >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

/* Conv (groups, stride, pad, dilation) on (1,C,H,W): the matrix from the definition. */
static void conv_matrix(layer *L, int C, int H, int Wd, int M, int kh, int kw, int s, int p, int d, int G,
                        const lrp_real *W, const lrp_real *b, int OH, int OW, bool transpose_roles)
{
    (void)transpose_roles;
    int Cg = C / G, Mg = M / G;
    L->n_in = C * H * Wd;
    L->n_out = M * OH * OW;
    L->A = zeros((size_t)L->n_in * L->n_out);
    L->S = zeros((size_t)L->n_in * L->n_out);
    L->A2 = zeros((size_t)L->n_in * L->n_out);
    L->b = zeros((size_t)L->n_out);
    for (int m = 0; m < M; m++) {
        int g = m / Mg;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int o = (m * OH + oy) * OW + ox;
                L->b[o] = b ? b[m] : 0.0;
                for (int c = 0; c < Cg; c++)
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) {
                            int iy = oy * s - p + i * d, ix = ox * s - p + j * d;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= Wd)
                                continue;
                            int in = ((g * Cg + c) * H + iy) * Wd + ix;
                            double w = W[((m * Cg + c) * kh + i) * kw + j];
                            L->A[(size_t)o * L->n_in + in] += w;
                            L->A2[(size_t)o * L->n_in + in] += w * w;
                            L->S[(size_t)o * L->n_in + in] += 1.0;
                        }
            }
    }
}

static lrp_model *finish_model(lrp_graph *g, int xv)
{
    lrp_error err = {0};
    if (gb_prepare(g, &err) != LRP_OK)
        fail_msg("%s", err.message);
    (void)xv;
    lrp_load_options o;
    lrp_load_options_default(&o);
    o.canonize = 0;
    lrp_model *m = lrp_model_from_graph(g, &o, &err);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

/* A Conv layer with random weights (and bias). */
static layer make_conv(const char *name, int C, int H, int Wd, int M, int k, int s, int p, int d, int G, bool bias,
                       uint64_t seed)
{
    layer L;
    memset(&L, 0, sizeof L);
    L.name = name;
    int Cg = C / G, OH = (H + 2 * p - d * (k - 1) - 1) / s + 1, OW = (Wd + 2 * p - d * (k - 1) - 1) / s + 1;
    lrp_real *W = malloc(sizeof(lrp_real) * (size_t)(M * Cg * k * k)), *b = malloc(sizeof(lrp_real) * (size_t)M);
    for (int i = 0; i < M * Cg * k * k; i++)
        W[i] = frand(&seed);
    for (int i = 0; i < M; i++)
        b[i] = 0.3f * frand(&seed);
    conv_matrix(&L, C, H, Wd, M, k, k, s, p, d, G, W, bias ? b : NULL, OH, OW, false);
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 4, GB_DIMS(1, C, H, Wd));
    int w = gb_const_f(g, "W", 4, GB_DIMS(M, Cg, k, k), W);
    int in[3] = {x, w, bias ? gb_const_f(g, "b", 1, GB_DIMS(M), b) : -1};
    int n = gb_node(g, "Conv", bias ? 3 : 2, in, 1);
    gb_attr_ints(g, n, "strides", 2, GB_DIMS(s, s));
    gb_attr_ints(g, n, "pads", 4, GB_DIMS(p, p, p, p));
    gb_attr_ints(g, n, "dilations", 2, GB_DIMS(d, d));
    gb_attr_i(g, n, "group", G);
    L.model = finish_model(g, x);
    L.xnd = 4;
    memcpy(L.xdims, GB_DIMS(1, C, H, Wd), sizeof(int64_t) * 4);
    free(W);
    free(b);
    return L;
}

/* A dense layer: Gemm with transB (W is M x K) or MatMul (W is K x M, no bias). */
static layer make_dense(const char *name, int K, int M, bool matmul, bool bias, uint64_t seed)
{
    layer L;
    memset(&L, 0, sizeof L);
    L.name = name;
    L.n_in = K;
    L.n_out = M;
    L.A = zeros((size_t)K * M);
    L.S = zeros((size_t)K * M);
    L.A2 = zeros((size_t)K * M);
    L.b = zeros((size_t)M);
    lrp_real *W = malloc(sizeof(lrp_real) * (size_t)(K * M)), *b = malloc(sizeof(lrp_real) * (size_t)M);
    for (int i = 0; i < K * M; i++)
        W[i] = frand(&seed);
    for (int i = 0; i < M; i++)
        b[i] = 0.3f * frand(&seed);
    for (int o = 0; o < M; o++) {
        if (bias && !matmul)
            L.b[o] = b[o];
        for (int i = 0; i < K; i++) {
            double w = matmul ? W[i * M + o] : W[o * K + i];
            L.A[(size_t)o * K + i] = w;
            L.A2[(size_t)o * K + i] = w * w;
            L.S[(size_t)o * K + i] = 1.0;
        }
    }
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 2, GB_DIMS(1, K));
    if (matmul) {
        int w = gb_const_f(g, "W", 2, GB_DIMS(K, M), W);
        gb_node(g, "MatMul", 2, (int[]){x, w}, 1);
    } else {
        int w = gb_const_f(g, "W", 2, GB_DIMS(M, K), W);
        int in[3] = {x, w, bias ? gb_const_f(g, "b", 1, GB_DIMS(M), b) : -1};
        int n = gb_node(g, "Gemm", bias ? 3 : 2, in, 1);
        gb_attr_i(g, n, "transB", 1);
    }
    L.model = finish_model(g, x);
    L.xnd = 2;
    L.xdims[0] = 1;
    L.xdims[1] = K;
    free(W);
    free(b);
    return L;
}

static void free_layer(layer *L)
{
    free(L->A);
    free(L->b);
    free(L->S);
    free(L->A2);
    lrp_model_free(L->model);
}

/* ---------------------------------------------------------- the formulas */

static double stab(double z, double e) { return z + (z >= 0 ? e : -e); }

typedef struct ref_rule {
    lrp_rule_kind kind;
    double eps, alpha, beta, gamma;
    bool zero_bias;
    double low, high;
} ref_rule;

/* y = M v (+ c) for a modified matrix; mod: 0 A, 1 A+, 2 A-, 3 A+gA+, 4 A+gA-, 5 S, 6 A2 */
static double mod_w(const layer *L, int mod, size_t k, double gamma)
{
    double a = mod == 5 ? L->S[k] : mod == 6 ? L->A2[k] : L->A[k];
    switch (mod) {
    case 1: return a > 0 ? a : 0;
    case 2: return a < 0 ? a : 0;
    case 3: return a + gamma * (a > 0 ? a : 0);
    case 4: return a + gamma * (a < 0 ? a : 0);
    default: return a;
    }
}

static double mod_b(double b, int mod, double gamma)
{
    switch (mod) {
    case 1: return b > 0 ? b : 0;
    case 2: return b < 0 ? b : 0;
    case 3: return b + gamma * (b > 0 ? b : 0);
    case 4: return b + gamma * (b < 0 ? b : 0);
    case 6: return b * b;
    default: return b;
    }
}

static void matvec(const layer *L, int mod, const double *v, double gamma, bool with_b, int bmod, double *out)
{
    for (int o = 0; o < L->n_out; o++) {
        double s = with_b ? mod_b(L->b[o], bmod, gamma) : 0.0;
        for (int i = 0; i < L->n_in; i++)
            s += mod_w(L, mod, (size_t)o * L->n_in + i, gamma) * v[i];
        out[o] = s;
    }
}

static void matvec_t(const layer *L, int mod, const double *g, double gamma, double *out)
{
    for (int i = 0; i < L->n_in; i++) {
        double s = 0;
        for (int o = 0; o < L->n_out; o++)
            s += mod_w(L, mod, (size_t)o * L->n_in + i, gamma) * g[o];
        out[i] = s;
    }
}

static void reference(const layer *L, const ref_rule *r, const double *x, const double *R, double *out)
{
    int ni = L->n_in, no = L->n_out;
    bool b = !r->zero_bias;
    double *xp = zeros((size_t)ni), *xn = zeros((size_t)ni), *z1 = zeros((size_t)no), *z2 = zeros((size_t)no),
           *g1 = zeros((size_t)no), *g2 = zeros((size_t)no), *t1 = zeros((size_t)ni), *t2 = zeros((size_t)ni),
           *t3 = zeros((size_t)ni), *t4 = zeros((size_t)ni), *ones = zeros((size_t)ni), *lo = zeros((size_t)ni),
           *hi = zeros((size_t)ni);
    for (int i = 0; i < ni; i++) {
        xp[i] = x[i] > 0 ? x[i] : 0;
        xn[i] = x[i] < 0 ? x[i] : 0;
        ones[i] = 1;
        lo[i] = r->low;
        hi[i] = r->high;
    }
    switch (r->kind) {
    case LRP_RULE_EPSILON:
        matvec(L, 0, x, 0, b, 0, z1);
        for (int o = 0; o < no; o++)
            g1[o] = R[o] / stab(z1[o], r->eps);
        matvec_t(L, 0, g1, 0, t1);
        for (int i = 0; i < ni; i++)
            out[i] = x[i] * t1[i];
        break;
    case LRP_RULE_ZPLUS:
    case LRP_RULE_ALPHABETA: {
        double al = r->kind == LRP_RULE_ZPLUS ? 1 : r->alpha, be = r->kind == LRP_RULE_ZPLUS ? 0 : r->beta;
        matvec(L, 1, xp, 0, b, 1, z1); /* W+ x+ + b+ */
        matvec(L, 2, xn, 0, false, 0, g2);
        for (int o = 0; o < no; o++)
            z1[o] += g2[o];            /* + W- x- */
        matvec(L, 2, xp, 0, b, 2, z2); /* W- x+ + b- */
        matvec(L, 1, xn, 0, false, 0, g2);
        for (int o = 0; o < no; o++)
            z2[o] += g2[o]; /* + W+ x- */
        for (int o = 0; o < no; o++) {
            g1[o] = R[o] / stab(z1[o], r->eps);
            g2[o] = R[o] / stab(z2[o], r->eps);
        }
        matvec_t(L, 1, g1, 0, t1);
        matvec_t(L, 2, g1, 0, t2);
        matvec_t(L, 2, g2, 0, t3);
        matvec_t(L, 1, g2, 0, t4);
        for (int i = 0; i < ni; i++)
            out[i] = al * (xp[i] * t1[i] + xn[i] * t2[i]) - be * (xp[i] * t3[i] + xn[i] * t4[i]);
        break;
    }
    case LRP_RULE_GAMMA: {
        double gm = r->gamma, *z = zeros((size_t)no), *o1 = zeros((size_t)no);
        matvec(L, 0, x, 0, true, 0, z); /* the mask uses the original output, bias included */
        matvec(L, 3, xp, gm, b, 3, z1);
        matvec(L, 4, xn, gm, false, 0, o1);
        for (int o = 0; o < no; o++)
            z1[o] += o1[o];
        matvec(L, 4, xp, gm, b, 4, z2);
        matvec(L, 3, xn, gm, false, 0, o1);
        for (int o = 0; o < no; o++)
            z2[o] += o1[o];
        for (int o = 0; o < no; o++) {
            g1[o] = (z[o] > 0 ? R[o] : 0) / stab(z1[o], r->eps);
            g2[o] = (z[o] < 0 ? R[o] : 0) / stab(z2[o], r->eps);
        }
        matvec_t(L, 3, g1, gm, t1);
        matvec_t(L, 4, g1, gm, t2);
        matvec_t(L, 4, g2, gm, t3);
        matvec_t(L, 3, g2, gm, t4);
        for (int i = 0; i < ni; i++)
            out[i] = ((xp[i] * t1[i] + xn[i] * t2[i]) + xp[i] * t3[i]) + xn[i] * t4[i];
        free(z);
        free(o1);
        break;
    }
    case LRP_RULE_ZBOX: {
        double *o1 = zeros((size_t)no);
        matvec(L, 0, x, 0, b, 0, z1);
        matvec(L, 1, lo, 0, b, 1, z2);
        matvec(L, 2, hi, 0, b, 2, o1);
        for (int o = 0; o < no; o++)
            g1[o] = R[o] / stab(z1[o] - (z2[o] + o1[o]), r->eps);
        matvec_t(L, 0, g1, 0, t1);
        matvec_t(L, 1, g1, 0, t2);
        matvec_t(L, 2, g1, 0, t3);
        for (int i = 0; i < ni; i++)
            out[i] = x[i] * t1[i] - (lo[i] * t2[i] + hi[i] * t3[i]);
        free(o1);
        break;
    }
    case LRP_RULE_FLAT:
        matvec(L, 5, ones, 0, false, 0, z1);
        for (int o = 0; o < no; o++)
            g1[o] = R[o] / stab(z1[o], r->eps);
        matvec_t(L, 5, g1, 0, out);
        break;
    case LRP_RULE_WSQUARE:
        matvec(L, 6, ones, 0, b, 6, z1);
        for (int o = 0; o < no; o++)
            g1[o] = R[o] / stab(z1[o], r->eps);
        matvec_t(L, 6, g1, 0, out);
        break;
    case LRP_RULE_GRADIENT: matvec_t(L, 0, R, 0, out); break;
    default: fail_msg("no reference for this rule");
    }
    free(xp);
    free(xn);
    free(z1);
    free(z2);
    free(g1);
    free(g2);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
    free(ones);
    free(lo);
    free(hi);
}

/* ---------------------------------------------------------- lrp's answer */

typedef struct seed_ctx {
    const double *R;
    int n;
} seed_ctx;

static lrp_status seed_given(void *ctx, const lrp_tensor *logits, lrp_tensor *seed, lrp_error *err)
{
    const seed_ctx *s = ctx;
    (void)err;
    assert_int_equal(logits->numel, s->n);
    for (int i = 0; i < s->n; i++)
        ((lrp_real *)seed->data)[i] = (lrp_real)s->R[i];
    return LRP_OK;
}

static void lrp_answer(const layer *L, const char *rule, bool zero_bias, const double *x, const double *R, double *out)
{
    char spec[160];
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    eo.composite = "gradient";
    const lrp_model_info *info = lrp_model_get_info(L->model);
    (void)info;
    const lrp_graph *g = L->model->g;
    const char *type = g->nodes[g->order[g->n_order - 1]].op_type;
    snprintf(spec, sizeof spec, "%s=%s", type, rule);
    const char *ov[1] = {spec};
    eo.n_overrides = 1;
    eo.overrides = ov;
    eo.zero_bias = zero_bias;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(L->model, &eo, &err);
    if (!e)
        fail_msg("%s: %s", spec, err.message);
    lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, L->xnd, L->xdims, &err), *rel = NULL;
    for (int i = 0; i < L->n_in; i++)
        ((lrp_real *)xt->data)[i] = (lrp_real)x[i];
    seed_ctx sc = {R, L->n_out};
    if (lrp_explain_seeded(e, xt, seed_given, &sc, &rel, NULL, &err) != LRP_OK)
        fail_msg("%s: %s", spec, err.message);
    for (int i = 0; i < L->n_in; i++)
        out[i] = ((lrp_real *)rel->data)[i];
    lrp_tensor_free(xt);
    lrp_tensor_free(rel);
    lrp_explainer_free(e);
}

static double rel_err(const double *a, const double *b, int n)
{
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

typedef struct rule_case {
    const char *spec; /* for --rule */
    ref_rule ref;
} rule_case;

static const rule_case rule_cases[] = {
    {"epsilon:epsilon=1e-6", {LRP_RULE_EPSILON, 1e-6, 0, 0, 0, false, 0, 0}},
    {"epsilon:epsilon=1", {LRP_RULE_EPSILON, 1.0, 0, 0, 0, false, 0, 0}},
    {"zplus", {LRP_RULE_ZPLUS, 1e-6, 0, 0, 0, false, 0, 0}},
    {"alpha-beta:alpha=2,beta=1", {LRP_RULE_ALPHABETA, 1e-6, 2, 1, 0, false, 0, 0}},
    {"alpha-beta:alpha=1,beta=0", {LRP_RULE_ALPHABETA, 1e-6, 1, 0, 0, false, 0, 0}},
    {"gamma:gamma=0.25", {LRP_RULE_GAMMA, 1e-6, 0, 0, 0.25, false, 0, 0}},
    {"gamma:gamma=0.5", {LRP_RULE_GAMMA, 1e-6, 0, 0, 0.5, false, 0, 0}},
    {"zbox:low=-3,high=3", {LRP_RULE_ZBOX, 1e-6, 0, 0, 0, false, -3, 3}},
    {"flat", {LRP_RULE_FLAT, 1e-6, 0, 0, 0, false, 0, 0}},
    {"wsquare", {LRP_RULE_WSQUARE, 1e-6, 0, 0, 0, false, 0, 0}},
    {"gradient", {LRP_RULE_GRADIENT, 0, 0, 0, 0, false, 0, 0}},
};

static void check_layer(layer *L, uint64_t seed)
{
    double *x = zeros((size_t)L->n_in), *R = zeros((size_t)L->n_out), *want = zeros((size_t)L->n_in),
           *got = zeros((size_t)L->n_in);
    for (int i = 0; i < L->n_in; i++)
        x[i] = (lrp_real)frand(&seed) * 2.0f; /* float values, so both sides see the same input */
    for (int nb = 0; nb < 2; nb++) {
        /* R = the layer's output (without the bias when it is zeroed), as
         * zennit's rule tests take it: R / z is then well conditioned, so the
         * float32 rounding of a z near 0 is not amplified */
        matvec(L, 0, x, 0, !nb, 0, R);
        for (int o = 0; o < L->n_out; o++)
            R[o] = (lrp_real)R[o];
        for (size_t k = 0; k < sizeof rule_cases / sizeof *rule_cases; k++) {
            ref_rule rr = rule_cases[k].ref;
            rr.zero_bias = nb;
            reference(L, &rr, x, R, want);
            lrp_answer(L, rule_cases[k].spec, nb, x, R, got);
            double e = rel_err(got, want, L->n_in);
            if (e > 2e-5)
                print_message("%-28s %-28s bias %-3s rel. error %.3g\n", L->name, rule_cases[k].spec,
                              nb ? "off" : "on", e);
            assert_true(e <= 2e-5);
        }
    }
    free(x);
    free(R);
    free(want);
    free(got);
}

static void test_dense_rules(void **state)
{
    (void)state;
    layer a = make_dense("gemm 16->15 bias", 16, 15, false, true, 1);
    check_layer(&a, 11);
    free_layer(&a);
    layer b = make_dense("gemm 16->15 no bias", 16, 15, false, false, 2);
    check_layer(&b, 12);
    free_layer(&b);
    layer c = make_dense("matmul 16->15", 16, 15, true, false, 3);
    check_layer(&c, 13);
    free_layer(&c);
}

static void test_conv_rules(void **state)
{
    (void)state;
    struct {
        const char *name;
        int C, H, W, M, k, s, p, d, G;
        bool bias;
    } cs[] = {
        {"conv 3->4 k3", 3, 6, 6, 4, 3, 1, 0, 1, 1, true},
        {"conv 3->4 k3 pad1", 3, 6, 6, 4, 3, 1, 1, 1, 1, true},
        {"conv 3->2 k2 stride2 no bias", 3, 7, 7, 2, 2, 2, 0, 1, 1, false},
        {"conv 4->6 k3 stride2 pad1 groups2", 4, 7, 7, 6, 3, 2, 1, 1, 2, true},
        {"conv 3->3 depthwise pad1", 3, 6, 6, 3, 3, 1, 1, 1, 3, true},
        {"conv 2->3 k3 dilation2 pad2", 2, 8, 8, 3, 3, 1, 2, 2, 1, true},
        {"conv 1->1 k1", 1, 5, 5, 1, 1, 1, 0, 1, 1, true},
    };
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        layer L = make_conv(cs[i].name, cs[i].C, cs[i].H, cs[i].W, cs[i].M, cs[i].k, cs[i].s, cs[i].p, cs[i].d,
                            cs[i].G, cs[i].bias, 100 + i);
        check_layer(&L, 200 + i);
        free_layer(&L);
    }
}

/* Conservation: with the bias zeroed, the relevance sum is kept (up to the
 * stabilizer) by Epsilon, ZPlus, AlphaBeta(2,1), Gamma and Norm; ZBox keeps it
 * even with a bias. */
static void test_conservation(void **state)
{
    (void)state;
    layer L = make_conv("conv for conservation", 3, 8, 8, 5, 3, 1, 1, 1, 1, true, 7);
    uint64_t s = 9;
    double *x = zeros((size_t)L.n_in), *R = zeros((size_t)L.n_out), *got = zeros((size_t)L.n_in);
    for (int i = 0; i < L.n_in; i++)
        x[i] = (lrp_real)fabs(frand(&s)) + 0.1f; /* positive inputs, as after a ReLU */
    /* R: positive, and proportional to the output, so that the z-rules' ratios stay sane */
    for (int o = 0; o < L.n_out; o++)
        R[o] = 0.1 + fabs(frand(&s));
    double total = 0;
    for (int o = 0; o < L.n_out; o++)
        total += R[o];
    const char *kept_without_bias[] = {"epsilon", "zplus", "alpha-beta:alpha=2,beta=1", "gamma", "flat"};
    for (size_t k = 0; k < 5; k++) {
        lrp_answer(&L, kept_without_bias[k], true, x, R, got);
        double sum = 0;
        for (int i = 0; i < L.n_in; i++)
            sum += got[i];
        print_message("conservation %-26s no bias: %.7f of %.7f\n", kept_without_bias[k], sum, total);
        assert_true(fabs(sum - total) < 1e-4 * total);
    }
    /* with a bias, epsilon leaks (the bias absorbs relevance) */
    lrp_answer(&L, "epsilon", false, x, R, got);
    double sum = 0;
    for (int i = 0; i < L.n_in; i++)
        sum += got[i];
    assert_true(fabs(sum - total) > 1e-3 * total);
    /* ZBox conserves even with the bias (bounds around the inputs) */
    lrp_answer(&L, "zbox:low=-1,high=2", false, x, R, got);
    sum = 0;
    for (int i = 0; i < L.n_in; i++)
        sum += got[i];
    print_message("conservation %-26s with bias: %.7f of %.7f\n", "zbox", sum, total);
    assert_true(fabs(sum - total) < 1e-4 * total);
    free(x);
    free(R);
    free(got);
    free_layer(&L);
}

/* Norm on a residual sum and on average pooling: x * J^T(R / s(z)), which
 * conserves. Built as x -> (AveragePool, x + x2) graphs. */
/* The softmax rule against its formula, R_x = x * (R - s * sum(R)) over the
 * axis, computed here in double from the definition of softmax: along the
 * last axis (contiguous groups) and along axis 1 (strided groups); a node
 * that is not a Softmax refuses it. */
static void test_softmax_rule(void **state)
{
    (void)state;
    const int64_t D0 = 2, D1 = 3, D2 = 5;
    for (int pass = 0; pass < 2; pass++) {
        int64_t axis = pass == 0 ? 2 : 1;
        lrp_graph *g = gb_new(13);
        int x = gb_input(g, "x", 3, GB_DIMS(D0, D1, D2));
        int sm = gb_node(g, "Softmax", 1, (int[]){x}, 1);
        gb_attr_i(g, sm, "axis", axis);
        lrp_model *m = finish_model(g, x);
        lrp_explain_options eo;
        lrp_explain_options_default(&eo);
        eo.composite = "gradient";
        const char *ov[1] = {"Softmax=softmax"};
        eo.n_overrides = 1;
        eo.overrides = ov;
        lrp_error err = {0};
        lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
        assert_non_null(e);
        lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 3, GB_DIMS(D0, D1, D2), &err), *rel = NULL;
        uint64_t seed = 11 + (uint64_t)pass;
        lrp_real *xv = xt->data;
        for (int64_t i = 0; i < xt->numel; i++)
            xv[i] = 3.0f * frand(&seed);
        double R[30];
        for (int i = 0; i < 30; i++)
            R[i] = frand(&seed);
        seed_ctx sc = {R, 30};
        assert_int_equal(lrp_explain_seeded(e, xt, seed_given, &sc, &rel, NULL, &err), LRP_OK);
        int64_t L = axis == 2 ? D2 : D1, inner = axis == 2 ? 1 : D2;
        for (int64_t i = 0; i < xt->numel; i++) {
            /* the group of i: its first element and stride */
            int64_t l = (i / inner) % L, first = i - l * inner;
            double mx = -INFINITY, den = 0, sumR = 0;
            for (int64_t k = 0; k < L; k++)
                mx = fmax(mx, xv[first + k * inner]);
            for (int64_t k = 0; k < L; k++) {
                den += exp(xv[first + k * inner] - mx);
                sumR += R[first + k * inner];
            }
            double s_i = exp(xv[i] - mx) / den, want = xv[i] * (R[i] - s_i * sumR);
            assert_float_equal(((lrp_real *)rel->data)[i], want, 1e-5 * (1 + fabs(want)));
        }
        lrp_tensor_free(xt);
        lrp_tensor_free(rel);
        lrp_explainer_free(e);
        lrp_model_free(m);
    }
    /* on another op: refused, naming the node */
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 2, GB_DIMS(1, 4));
    gb_node(g, "Sigmoid", 1, (int[]){x}, 1);
    lrp_model *m = finish_model(g, x);
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    const char *ov[1] = {"Sigmoid=softmax"};
    eo.n_overrides = 1;
    eo.overrides = ov;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    if (e) {
        lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 2, GB_DIMS(1, 4), &err), *rel = NULL;
        memset(xt->data, 0, sizeof(lrp_real) * 4);
        assert_int_not_equal(lrp_explain(e, xt, NULL, LRP_SEED_ONE, &rel, NULL, NULL, &err), LRP_OK);
        lrp_tensor_free(xt);
        lrp_tensor_free(rel);
    }
    assert_non_null(strstr(err.message, "rule softmax needs a Softmax node"));
    lrp_explainer_free(e);
    lrp_model_free(m);
}

/* CP attention in the composites, against the formula computed here in
 * double: on x -> S = MatMul(x, x^T), A = Softmax(S), y = MatMul(A, x), the
 * score MatMul passes nothing (so neither does the Softmax) and the value
 * MatMul gives x the epsilon rule with A a constant weight,
 * R_x = x * A^T (R / s(A x)) (epsilon-plus, its epsilon), or ZPlus,
 * x+ * A^T (R / s(A x+)) (excitation-backprop, its stabilizer); the
 * attention-value rule refuses a MatMul without a Softmax input. */
static void test_attention_rules(void **state)
{
    (void)state;
    const int64_t B = 2, T = 3, D = 4;
    for (int pass = 0; pass < 2; pass++) {
        lrp_graph *g = gb_new(13);
        int x = gb_input(g, "x", 3, GB_DIMS(B, T, D));
        int tr = gb_node(g, "Transpose", 1, (int[]){x}, 1);
        gb_attr_ints(g, tr, "perm", 3, GB_DIMS(0, 2, 1));
        int sc = gb_node(g, "MatMul", 2, (int[]){x, gb_out(g, tr, 0)}, 1);
        int sm = gb_node(g, "Softmax", 1, (int[]){gb_out(g, sc, 0)}, 1);
        gb_attr_i(g, sm, "axis", -1);
        gb_node(g, "MatMul", 2, (int[]){gb_out(g, sm, 0), x}, 1);
        lrp_model *m = finish_model(g, x);
        lrp_explain_options eo;
        lrp_explain_options_default(&eo);
        eo.composite = pass == 0 ? "epsilon-plus" : "excitation-backprop";
        eo.epsilon = 0.05f;
        eo.stabilizer = 0.02f;
        double eps = pass == 0 ? 0.05 : 0.02;
        lrp_error err = {0};
        lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
        assert_non_null(e);
        lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 3, GB_DIMS(B, T, D), &err), *rel = NULL;
        uint64_t seed = 31 + (uint64_t)pass;
        lrp_real *xv = xt->data;
        for (int64_t i = 0; i < xt->numel; i++)
            xv[i] = 1.5f * frand(&seed);
        double R[24];
        for (int i = 0; i < 24; i++)
            R[i] = frand(&seed);
        seed_ctx sctx = {R, 24};
        assert_int_equal(lrp_explain_seeded(e, xt, seed_given, &sctx, &rel, NULL, &err), LRP_OK);
        for (int64_t b = 0; b < B; b++) {
            const lrp_real *xb = xv + b * T * D;
            double A[3][3], v[3][4], q[3][4];
            for (int i = 0; i < T; i++) {
                double mx = -INFINITY, den = 0;
                for (int j = 0; j < T; j++) {
                    A[i][j] = 0;
                    for (int k = 0; k < D; k++)
                        A[i][j] += (double)xb[i * D + k] * xb[j * D + k];
                    mx = fmax(mx, A[i][j]);
                }
                for (int j = 0; j < T; j++)
                    den += exp(A[i][j] - mx);
                for (int j = 0; j < T; j++)
                    A[i][j] = exp(A[i][j] - mx) / den;
            }
            for (int j = 0; j < T; j++)
                for (int k = 0; k < D; k++)
                    v[j][k] = pass == 0 || xb[j * D + k] > 0 ? xb[j * D + k] : 0.0;
            for (int i = 0; i < T; i++)
                for (int k = 0; k < D; k++) {
                    double z = 0;
                    for (int j = 0; j < T; j++)
                        z += A[i][j] * v[j][k];
                    q[i][k] = R[(b * T + i) * D + k] / stab(z, eps);
                }
            for (int j = 0; j < T; j++)
                for (int k = 0; k < D; k++) {
                    double want = 0;
                    for (int i = 0; i < T; i++)
                        want += A[i][j] * q[i][k];
                    want *= v[j][k];
                    assert_float_equal(((lrp_real *)rel->data)[(b * T + j) * D + k], want, 1e-4 * (1 + fabs(want)));
                }
        }
        lrp_tensor_free(xt);
        lrp_tensor_free(rel);
        lrp_explainer_free(e);
        lrp_model_free(m);
    }
    /* on a MatMul without a Softmax input: refused */
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 2, GB_DIMS(2, 2));
    gb_node(g, "MatMul", 2, (int[]){x, x}, 1);
    lrp_model *m = finish_model(g, x);
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    const char *ov[1] = {"MatMul=attention-value"};
    eo.n_overrides = 1;
    eo.overrides = ov;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    if (e) {
        lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 2, GB_DIMS(2, 2), &err), *rel = NULL;
        memset(xt->data, 0, sizeof(lrp_real) * 4);
        assert_int_not_equal(lrp_explain(e, xt, NULL, LRP_SEED_ONE, &rel, NULL, NULL, &err), LRP_OK);
        lrp_tensor_free(xt);
        lrp_tensor_free(rel);
    }
    assert_non_null(strstr(err.message, "rule attention-value needs a MatMul of a Softmax output"));
    lrp_explainer_free(e);
    lrp_model_free(m);
}

/* The bilinear rule on y = MatMul(x, x^T), against its formula in double:
 * x gets x * (g x) as the left operand and, through the Transpose,
 * x * (g^T x) as the right one, g = R / (2 y + eps) (unsigned eps). */
static void test_bilinear_rule(void **state)
{
    (void)state;
    const int64_t T = 3, D = 4;
    const double eps = 0.01;
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 2, GB_DIMS(T, D));
    int tr = gb_node(g, "Transpose", 1, (int[]){x}, 1);
    gb_attr_ints(g, tr, "perm", 2, GB_DIMS(1, 0));
    gb_node(g, "MatMul", 2, (int[]){x, gb_out(g, tr, 0)}, 1);
    lrp_model *m = finish_model(g, x);
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    eo.composite = "gradient";
    const char *ov[1] = {"MatMul=bilinear:epsilon=0.01"};
    eo.n_overrides = 1;
    eo.overrides = ov;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    assert_non_null(e);
    lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 2, GB_DIMS(T, D), &err), *rel = NULL;
    uint64_t seed = 41;
    lrp_real *xv = xt->data;
    for (int64_t i = 0; i < xt->numel; i++)
        xv[i] = 1.5f * frand(&seed);
    double R[9], q[3][3];
    for (int i = 0; i < 9; i++)
        R[i] = frand(&seed);
    seed_ctx sctx = {R, 9};
    assert_int_equal(lrp_explain_seeded(e, xt, seed_given, &sctx, &rel, NULL, &err), LRP_OK);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            double z = 0;
            for (int k = 0; k < D; k++)
                z += (double)xv[i * D + k] * xv[j * D + k];
            q[i][j] = R[i * T + j] / (2 * z + eps);
        }
    for (int t = 0; t < T; t++)
        for (int k = 0; k < D; k++) {
            double want = 0;
            for (int j = 0; j < T; j++)
                want += (q[t][j] + q[j][t]) * xv[j * D + k];
            want *= xv[t * D + k];
            assert_float_equal(((lrp_real *)rel->data)[t * D + k], want, 1e-4 * (1 + fabs(want)));
        }
    lrp_tensor_free(xt);
    lrp_tensor_free(rel);
    lrp_explainer_free(e);
    lrp_model_free(m);
}

/* The layernorm rule against the epsilon rule on the explicit sigma-frozen
 * Jacobian: y_j = w_j (x_j - mean x) / sigma + b_j has J_ji = w_j (d_ij - 1/L)
 * / sigma, so R_i = sum_j x_i J_ji R_j / s(y_j), computed here in double, for
 * a rule override and as the epsilon-plus composite's rule (its epsilon); a
 * node that is not a LayerNormalization refuses it. */
static void test_layernorm_rule(void **state)
{
    (void)state;
    const int64_t D0 = 2, D1 = 3, L = 6;
    lrp_real w[6], b[6];
    uint64_t s = 21;
    for (int k = 0; k < L; k++) {
        w[k] = 0.6f + 0.8f * fabsf(frand(&s));
        b[k] = 0.3f * frand(&s);
    }
    for (int pass = 0; pass < 2; pass++) {
        const double eps = pass == 0 ? 0.01 : 0.25, eps_ln = 1e-3;
        lrp_graph *g = gb_new(17);
        int x = gb_input(g, "x", 3, GB_DIMS(D0, D1, L));
        int wv = gb_const_f(g, "w", 1, GB_DIMS(L), w), bv = gb_const_f(g, "b", 1, GB_DIMS(L), b);
        int ln = gb_node(g, "LayerNormalization", 3, (int[]){x, wv, bv}, 1);
        gb_attr_f(g, ln, "epsilon", (lrp_real)eps_ln);
        lrp_model *m = finish_model(g, x);
        lrp_explain_options eo;
        lrp_explain_options_default(&eo);
        const char *ov[1] = {"LayerNormalization=layernorm:epsilon=0.01"};
        if (pass == 0) {
            eo.composite = "gradient";
            eo.n_overrides = 1;
            eo.overrides = ov;
        } else {
            eo.composite = "epsilon-plus";
            eo.epsilon = (lrp_real)eps;
        }
        lrp_error err = {0};
        lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
        assert_non_null(e);
        lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 3, GB_DIMS(D0, D1, L), &err), *rel = NULL;
        lrp_real *xv = xt->data;
        for (int64_t i = 0; i < xt->numel; i++)
            xv[i] = 2.0f * frand(&s);
        double R[36];
        for (int i = 0; i < 36; i++)
            R[i] = frand(&s);
        seed_ctx sc = {R, 36};
        assert_int_equal(lrp_explain_seeded(e, xt, seed_given, &sc, &rel, NULL, &err), LRP_OK);
        for (int64_t o = 0; o < D0 * D1; o++) {
            const lrp_real *xg = xv + o * L;
            double mean = 0, var = 0, y[6];
            for (int k = 0; k < L; k++)
                mean += xg[k] / (double)L;
            for (int k = 0; k < L; k++)
                var += (xg[k] - mean) * (xg[k] - mean) / (double)L;
            double sigma = sqrt(var + eps_ln);
            for (int j = 0; j < L; j++)
                y[j] = w[j] * (xg[j] - mean) / sigma + b[j];
            for (int i = 0; i < L; i++) {
                double want = 0;
                for (int j = 0; j < L; j++)
                    want += xg[i] * w[j] * ((i == j) - 1.0 / (double)L) / sigma * R[o * L + j] / stab(y[j], eps);
                assert_float_equal(((lrp_real *)rel->data)[o * L + i], want, 1e-5 * (1 + fabs(want)));
            }
        }
        lrp_tensor_free(xt);
        lrp_tensor_free(rel);
        lrp_explainer_free(e);
        lrp_model_free(m);
    }
    /* on another op: refused, naming the node */
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 2, GB_DIMS(1, 4));
    gb_node(g, "Sigmoid", 1, (int[]){x}, 1);
    lrp_model *m = finish_model(g, x);
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    const char *ov[1] = {"Sigmoid=layernorm"};
    eo.n_overrides = 1;
    eo.overrides = ov;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    if (e) {
        lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 2, GB_DIMS(1, 4), &err), *rel = NULL;
        memset(xt->data, 0, sizeof(lrp_real) * 4);
        assert_int_not_equal(lrp_explain(e, xt, NULL, LRP_SEED_ONE, &rel, NULL, NULL, &err), LRP_OK);
        lrp_tensor_free(xt);
        lrp_tensor_free(rel);
    }
    assert_non_null(strstr(err.message, "rule layernorm needs a LayerNormalization node"));
    lrp_explainer_free(e);
    lrp_model_free(m);
}

static void test_norm_rule(void **state)
{
    (void)state;
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 4, GB_DIMS(1, 2, 6, 6));
    int pool = gb_node(g, "AveragePool", 1, (int[]){x}, 1);
    gb_attr_ints(g, pool, "kernel_shape", 2, GB_DIMS(2, 2));
    gb_attr_ints(g, pool, "strides", 2, GB_DIMS(2, 2));
    int relu = gb_node(g, "Relu", 1, (int[]){x}, 1);
    int pool2 = gb_node(g, "AveragePool", 1, (int[]){gb_out(g, relu, 0)}, 1);
    gb_attr_ints(g, pool2, "kernel_shape", 2, GB_DIMS(2, 2));
    gb_attr_ints(g, pool2, "strides", 2, GB_DIMS(2, 2));
    gb_node(g, "Add", 2, (int[]){gb_out(g, pool, 0), gb_out(g, pool2, 0)}, 1);
    lrp_model *m = finish_model(g, x);
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    eo.composite = "epsilon-plus"; /* AvgPool -> Norm, Sum -> Norm (canonizers are off here: set below) */
    m->residual_sum = true;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    assert_non_null(e);
    lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 2, 6, 6), &err), *rel = NULL;
    uint64_t s = 5;
    for (int64_t i = 0; i < xt->numel; i++)
        ((lrp_real *)xt->data)[i] = frand(&s) + 0.5f;
    double R[18];
    for (int i = 0; i < 18; i++)
        R[i] = 0.2 + fabs(frand(&s));
    seed_ctx sc = {R, 18};
    assert_int_equal(lrp_explain_seeded(e, xt, seed_given, &sc, &rel, NULL, &err), LRP_OK);
    /* independent: z_a = pool(x), z_b = pool(relu(x)), z = z_a + z_b;
     * R_a = z_a R / s(z), R_b = z_b R / s(z); each pools back x * (R_./s(z_.)) / 4 */
    const lrp_real *xv = xt->data;
    for (int c = 0; c < 2; c++)
        for (int y = 0; y < 6; y++)
            for (int xx = 0; xx < 6; xx++) {
                int o = (c * 3 + y / 2) * 3 + xx / 2;
                double za = 0, zb = 0;
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        double v = xv[(c * 6 + y / 2 * 2 + i) * 6 + xx / 2 * 2 + j];
                        za += v / 4;
                        zb += (v > 0 ? v : 0) / 4;
                    }
                double z = za + zb;
                double ra = za * R[o] / stab(z, 1e-6), rb = zb * R[o] / stab(z, 1e-6);
                double v = xv[(c * 6 + y) * 6 + xx];
                /* Norm on each pool: v/4 * R_./s(z_.); the ReLU passes */
                double want = v / 4 * ra / stab(za, 1e-6) + (v > 0 ? v : 0) / 4 * rb / stab(zb, 1e-6);
                assert_float_equal(((lrp_real *)rel->data)[(c * 6 + y) * 6 + xx], want, 1e-5 * (1 + fabs(want)));
            }
    double sum = 0, total = 0;
    for (int64_t i = 0; i < rel->numel; i++)
        sum += ((lrp_real *)rel->data)[i];
    for (int i = 0; i < 18; i++)
        total += R[i];
    assert_true(fabs(sum - total) < 1e-4 * total);
    lrp_tensor_free(xt);
    lrp_tensor_free(rel);
    lrp_explainer_free(e);
    lrp_model_free(m);
}

/* A squeeze-excitation block y = x * sigmoid(W2 relu(W1 GAP(x) + b1) + b2)
 * on (1,2,3,3), with the x input of the Mul first (swap 0) or second. */
static lrp_model *se_model(const lrp_real *W1, const lrp_real *b1, const lrp_real *W2, const lrp_real *b2, bool swap)
{
    lrp_graph *g = gb_new(13);
    int x = gb_input(g, "x", 4, GB_DIMS(1, 2, 3, 3));
    int gap = gb_node(g, "GlobalAveragePool", 1, (int[]){x}, 1);
    int c1 = gb_node(g, "Conv", 3,
                     (int[]){gb_out(g, gap, 0), gb_const_f(g, "W1", 4, GB_DIMS(1, 2, 1, 1), W1),
                             gb_const_f(g, "b1", 1, GB_DIMS(1), b1)},
                     1);
    int relu = gb_node(g, "Relu", 1, (int[]){gb_out(g, c1, 0)}, 1);
    int c2 = gb_node(g, "Conv", 3,
                     (int[]){gb_out(g, relu, 0), gb_const_f(g, "W2", 4, GB_DIMS(2, 1, 1, 1), W2),
                             gb_const_f(g, "b2", 1, GB_DIMS(2), b2)},
                     1);
    int sig = gb_node(g, "Sigmoid", 1, (int[]){gb_out(g, c2, 0)}, 1);
    int gate = gb_out(g, sig, 0);
    gb_node(g, "Mul", 2, swap ? (int[]){gate, x} : (int[]){x, gate}, 1);
    return finish_model(g, x);
}

/* The relevance of x under a composite (and overrides) for the output relevance R. */
static lrp_tensor *explain_with(lrp_model *m, const char *composite, bool uniform, const char *override,
                                const lrp_real *x, int nx, const double *R, int nr)
{
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    eo.composite = composite;
    eo.gate_uniform = uniform;
    const char *ov[1] = {override};
    eo.n_overrides = override ? 1 : 0;
    eo.overrides = ov;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(m, &eo, &err);
    if (!e)
        fail_msg("%s", err.message);
    lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 2, 3, 3), &err), *rel = NULL;
    assert_int_equal(xt->numel, nx);
    memcpy(xt->data, x, sizeof(lrp_real) * (size_t)nx);
    seed_ctx sc = {R, nr};
    if (lrp_explain_seeded(e, xt, seed_given, &sc, &rel, NULL, &err) != LRP_OK)
        fail_msg("%s", err.message);
    lrp_tensor_free(xt);
    lrp_explainer_free(e);
    return rel;
}

/* The gate rule: signal R_x = R; uniform R_x = R/2 plus what the gate's
 * relevance, sum over H, W of R/2, sends back through the squeeze (here by
 * the gradient: composite "gradient" with Mul=gate overrides, checked against
 * the chain rule in double). The composites give squeeze-excitation Muls the
 * gate rule, and x * Sigmoid(x) is an activation (Pass) in them. */
static void test_gate_rule(void **state)
{
    (void)state;
    const lrp_real W1[2] = {0.8f, -0.5f}, b1[1] = {0.3f}, W2[2] = {1.2f, -0.7f}, b2[2] = {0.1f, 0.2f};
    lrp_real x[18];
    double R[18];
    uint64_t s = 21;
    for (int i = 0; i < 18; i++) {
        x[i] = frand(&s) + 0.4f;
        R[i] = frand(&s);
    }
    /* the forward pass and the squeeze's Jacobian dgate_k/dm_c in double */
    double m[2] = {0, 0}, Rg[2] = {0, 0};
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 9; i++) {
            m[c] += x[c * 9 + i] / 9.0;
            Rg[c] += R[c * 9 + i] / 2.0;
        }
    double h = W1[0] * m[0] + W1[1] * m[1] + b1[0], dh = h > 0 ? 1.0 : 0.0;
    double back[2] = {0, 0}; /* sum_k Rg_k dgate_k/dm_c */
    for (int k = 0; k < 2; k++) {
        double z = W2[k] * (h > 0 ? h : 0) + b2[k], sg = 1.0 / (1.0 + exp(-z));
        for (int c = 0; c < 2; c++)
            back[c] += Rg[k] * sg * (1 - sg) * W2[k] * dh * W1[c];
    }
    for (int swap = 0; swap < 2; swap++) {
        lrp_model *mod = se_model(W1, b1, W2, b2, swap);
        int signal = -1;
        const lrp_graph *g = mod->g;
        for (int k = 0; k < g->n_order; k++)
            if (!strcmp(g->nodes[g->order[k]].op_type, "Mul"))
                assert_int_equal(lrp_mul_kind_of(g, &g->nodes[g->order[k]], &signal), LRP_MUL_GATE);
        assert_int_equal(signal, swap ? 1 : 0);
        for (int uniform = 0; uniform < 2; uniform++) {
            lrp_tensor *rel =
                explain_with(mod, "gradient", false, uniform ? "Mul=gate:uniform=1" : "Mul=gate", x, 18, R, 18);
            for (int i = 0; i < 18; i++) {
                double want = uniform ? R[i] / 2 + back[i / 9] / 9.0 : R[i];
                assert_float_equal(((lrp_real *)rel->data)[i], want, 1e-5 * (1 + fabs(want)));
            }
            lrp_tensor_free(rel);
        }
        /* epsilon-plus: signal by default; --gate uniform sends half through the squeeze */
        lrp_tensor *rel = explain_with(mod, "epsilon-plus", false, NULL, x, 18, R, 18);
        for (int i = 0; i < 18; i++)
            assert_float_equal(((lrp_real *)rel->data)[i], R[i], 1e-6 * (1 + fabs(R[i])));
        lrp_tensor_free(rel);
        rel = explain_with(mod, "epsilon-plus", true, NULL, x, 18, R, 18);
        double diff = 0;
        for (int i = 0; i < 18; i++)
            diff += fabs(((lrp_real *)rel->data)[i] - R[i] / 2);
        assert_true(diff > 1e-3);
        lrp_tensor_free(rel);
        lrp_model_free(mod);
    }
    /* x * Sigmoid(x): an activation product, passed in epsilon-plus, the gradient in excitation-backprop */
    lrp_graph *g = gb_new(13);
    int xv = gb_input(g, "x", 4, GB_DIMS(1, 2, 3, 3));
    int sig = gb_node(g, "Sigmoid", 1, (int[]){xv}, 1);
    gb_node(g, "Mul", 2, (int[]){gb_out(g, sig, 0), xv}, 1);
    lrp_model *mod = finish_model(g, xv);
    int signal = -1;
    for (int k = 0; k < mod->g->n_order; k++) {
        const lrp_node *n = &mod->g->nodes[mod->g->order[k]];
        if (!strcmp(n->op_type, "Mul"))
            assert_int_equal(lrp_mul_kind_of(mod->g, n, &signal), LRP_MUL_ACTIVATION);
    }
    assert_int_equal(signal, 1);
    for (int ex = 0; ex < 2; ex++) {
        lrp_tensor *rel = explain_with(mod, ex ? "excitation-backprop" : "epsilon-plus", true, NULL, x, 18, R, 18);
        for (int i = 0; i < 18; i++) {
            double sg = 1.0 / (1.0 + exp(-(double)x[i])), want = ex ? R[i] * (sg + x[i] * sg * (1 - sg)) : R[i];
            assert_float_equal(((lrp_real *)rel->data)[i], want, 1e-5 * (1 + fabs(want)));
        }
        lrp_tensor_free(rel);
    }
    lrp_model_free(mod);
    /* a plain product: refused, naming the rule */
    g = gb_new(13);
    xv = gb_input(g, "x", 4, GB_DIMS(1, 2, 3, 3));
    int relu = gb_node(g, "Relu", 1, (int[]){xv}, 1);
    gb_node(g, "Mul", 2, (int[]){gb_out(g, relu, 0), xv}, 1);
    mod = finish_model(g, xv);
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    const char *ov[1] = {"Mul=gate"};
    eo.n_overrides = 1;
    eo.overrides = ov;
    lrp_error err = {0};
    lrp_explainer *e = lrp_explainer_new(mod, &eo, &err);
    if (e) {
        lrp_tensor *xt = lrp_tensor_new(LRP_REAL_DT, 4, GB_DIMS(1, 2, 3, 3), &err), *rel = NULL;
        memset(xt->data, 0, sizeof(lrp_real) * 18);
        assert_int_not_equal(lrp_explain(e, xt, NULL, LRP_SEED_ONE, &rel, NULL, NULL, &err), LRP_OK);
        lrp_tensor_free(xt);
        lrp_tensor_free(rel);
    }
    assert_non_null(strstr(err.message, "rule gate needs"));
    lrp_explainer_free(e);
    lrp_model_free(mod);
}

/* ------------------------------------------------------------ the rule table */

#define FOR_PARAMS(d, p)                                                                                              \
    for (const lrp_rule_param *p = (d)->params; p < (d)->params + LRP_RULE_MAX_PARAMS && p->key; p++)

/* One row per kind, in lrp_rule_at's order, names unique. */
static void test_rule_table(void **state)
{
    (void)state;
    int seen[LRP_RULE_COUNT] = {0};
    for (int i = 0; i < LRP_RULE_COUNT; i++) {
        const lrp_rule_def *d = lrp_rule_def_at(i);
        assert_non_null(d);
        assert_true(d->kind >= 0 && d->kind < LRP_RULE_COUNT);
        seen[d->kind]++;
        assert_ptr_equal(lrp_rule_def_of(d->kind), d);
        assert_string_equal(lrp_rule_at(i), d->name);
        assert_string_equal(lrp_rule_name(d->kind), d->name);
        assert_non_null(d->apply);
        assert_non_null(lrp_rule_summary(i));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(lrp_rule_at(j), d->name);
    }
    for (int k = 0; k < LRP_RULE_COUNT; k++)
        assert_int_equal(seen[k], 1);
    assert_null(lrp_rule_def_at(LRP_RULE_COUNT));
    assert_null(lrp_rule_at(LRP_RULE_COUNT));
    assert_null(lrp_rule_summary(LRP_RULE_COUNT));
    char buf[256];
    assert_null(lrp_rule_synopsis(LRP_RULE_COUNT, buf, sizeof buf));
    for (int i = 0; i < LRP_RULE_COUNT; i++)
        assert_non_null(lrp_rule_synopsis(i, buf, sizeof buf));
    for (int i = 0; i < LRP_RULE_COUNT; i++)
        if (lrp_rule_def_at(i)->kind == LRP_RULE_GAMMA)
            assert_string_equal(lrp_rule_synopsis(i, buf, sizeof buf), "gamma:gamma=0.25,stabilizer=1e-06,bias=1");
}

/* The table's defaults are the library's (lrp_explain_options_default). */
static void test_rule_defaults(void **state)
{
    (void)state;
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    int checked = 0;
    for (int i = 0; i < LRP_RULE_COUNT; i++) {
        const lrp_rule_def *d = lrp_rule_def_at(i);
        FOR_PARAMS(d, p)
        {
            lrp_real want = !strcmp(p->key, "epsilon")       ? eo.epsilon
                            : !strcmp(p->key, "stabilizer")  ? eo.stabilizer
                            : !strcmp(p->key, "gamma")       ? eo.gamma
                            : !strcmp(p->key, "beta_smooth") ? eo.beta_smooth
                            : !strcmp(p->key, "alpha")       ? eo.alpha
                            : !strcmp(p->key, "beta")        ? eo.beta
                            : !strcmp(p->key, "bias")        ? (lrp_real)!eo.zero_bias
                                                             : p->def;
            if (p->def != want)
                print_message("%s: %s defaults to %g, the library to %g\n", d->name, p->key, p->def, want);
            assert_true(p->def == want);
            checked++;
        }
        lrp_rule r;
        lrp_rule_defaults(&r, d->kind);
        assert_int_equal(r.kind, d->kind);
        lrp_rule_clear(&r);
    }
    assert_true(checked >= 10);
}

/* A value per parameter: floats 3.5, 2.5, ... down the rule's list (so that
 * alpha - beta = 1), flags not their default, bounds per channel. */
static void param_value(const lrp_rule_param *p, int k, char *buf, size_t size)
{
    if (p->type == LRP_PARAM_FLOAT)
        snprintf(buf, size, "%g", 3.5 - k);
    else if (p->type == LRP_PARAM_FLAG)
        snprintf(buf, size, "%d", p->def == 0.0f);
    else
        snprintf(buf, size, "%s", !strcmp(p->key, "low") ? "-1.5/-0.5/0.25" : "2/3/4");
}

static void assert_rules_equal(const lrp_rule *a, const lrp_rule *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_true(a->eps == b->eps && a->alpha == b->alpha && a->beta == b->beta && a->gamma == b->gamma &&
                a->beta_smooth == b->beta_smooth);
    assert_int_equal(a->zero_bias, b->zero_bias);
    assert_int_equal(a->inplace, b->inplace);
    assert_int_equal(a->n_bounds, b->n_bounds);
    for (int i = 0; i < a->n_bounds; i++)
        assert_true(a->low[i] == b->low[i] && a->high[i] == b->high[i]);
}

/* The description back into a spec: "gamma(gamma=2, bias=0)" -> "gamma:gamma=2,bias=0",
 * a bare word (a flag as describe shows it, "inplace") -> word=1. */
static void describe_to_spec(const char *desc, char *spec, size_t size)
{
    size_t o = 0;
    const char *p = desc;
    while (*p && *p != '(' && o + 1 < size)
        spec[o++] = *p++;
    if (*p == '(') {
        spec[o++] = ':';
        p++;
        while (*p && *p != ')') {
            size_t len = strcspn(p, ",)");
            bool kv = memchr(p, '=', len) != NULL;
            o += (size_t)snprintf(spec + o, size - o, "%.*s%s", (int)len, p, kv ? "" : "=1");
            p += len;
            if (*p == ',') {
                spec[o++] = ',';
                p += 2; /* ", " */
            }
        }
    }
    spec[o] = '\0';
}

/* Every declared parameter of every rule lands in its field, by key and by
 * alias, and the description parses back to the same rule. */
static void test_rule_params(void **state)
{
    (void)state;
    lrp_error err = {0};
    for (int i = 0; i < LRP_RULE_COUNT; i++) {
        const lrp_rule_def *d = lrp_rule_def_at(i);
        char spec[512], val[64], desc[256], spec2[512];
        size_t o = (size_t)snprintf(spec, sizeof spec, "%s", d->name);
        int k = 0;
        FOR_PARAMS(d, p)
        {
            param_value(p, k++, val, sizeof val);
            o += (size_t)snprintf(spec + o, sizeof spec - o, "%s%s=%s", k == 1 ? ":" : ",", p->key, val);
        }
        lrp_rule r, r2;
        lrp_rule_defaults(&r, d->kind);
        if (lrp_rule_parse(spec, &r, &err) != LRP_OK)
            fail_msg("%s: %s", spec, err.message);
        k = 0;
        FOR_PARAMS(d, p)
        {
            param_value(p, k++, val, sizeof val);
            if (p->type == LRP_PARAM_FLOAT) {
                assert_true(*(const lrp_real *)((const char *)&r + p->offset) == strtod(val, NULL));
            } else if (p->type == LRP_PARAM_FLAG) {
                bool v = *(const bool *)((const char *)&r + p->offset);
                assert_int_equal(v, p->negated ? val[0] == '0' : val[0] != '0');
            } else {
                const lrp_real *v = *(lrp_real *const *)((const char *)&r + p->offset);
                assert_int_equal(r.n_bounds, 3);
                assert_true(v[0] == strtod(val, NULL) && v[2] == (!strcmp(p->key, "low") ? 0.25f : 4.0f));
            }
            /* the alias sets the same field */
            if (p->alias && p->type == LRP_PARAM_FLOAT) {
                char one[128];
                snprintf(one, sizeof one, "%s:%s=0.125", d->name, p->alias);
                lrp_rule_defaults(&r2, d->kind);
                assert_int_equal(lrp_rule_parse(one, &r2, &err), LRP_OK);
                assert_true(*(const lrp_real *)((const char *)&r2 + p->offset) == 0.125f);
            }
        }
        lrp_rule_describe(&r, desc, sizeof desc);
        FOR_PARAMS(d, p)
        assert_non_null(strstr(desc, p->type == LRP_PARAM_FLAG ? p->shown : p->key));
        describe_to_spec(desc, spec2, sizeof spec2);
        lrp_rule_defaults(&r2, d->kind);
        if (lrp_rule_parse(spec2, &r2, &err) != LRP_OK)
            fail_msg("%s (from '%s'): %s", spec2, desc, err.message);
        assert_rules_equal(&r, &r2);
        char desc2[256];
        assert_string_equal(lrp_rule_describe(&r2, desc2, sizeof desc2), desc);
        /* a key the rule does not declare is refused */
        snprintf(spec, sizeof spec, "%s:delta=1", d->name);
        assert_int_equal(lrp_rule_parse(spec, &r2, &err), LRP_ERR_ARG);
        lrp_rule_clear(&r);
        lrp_rule_clear(&r2);
    }
}

/* The rules section of the man page (the --rule entry), with the roff
 * escapes taken out, or NULL. */
static char *man_rules_section(void)
{
    FILE *f = fopen("man/lrp.1", "r");
    if (!f)
        return NULL;
    char line[1024], *out = calloc(1, 65536);
    size_t o = 0;
    bool in = false;
    while (out && fgets(line, sizeof line, f)) {
        if (in && !strncmp(line, ".TP", 3))
            break;
        if (!in && strstr(line, "\\-\\-rule \" \\fIKEY"))
            in = true;
        for (const char *p = line; in && *p && o + 2 < 65536; p++) {
            if (p[0] == '\\' && p[1] == 'f' && p[2]) /* \fB, \fI, \fR */
                p += 2;
            else if (p[0] == '\\' && p[1] == '-')
                out[o++] = '-', p++;
            else
                out[o++] = *p;
        }
    }
    fclose(f);
    return out;
}

/* Whether word occurs in text as a whole word (letters, digits, _ and -). */
static bool has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        bool before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-');
        bool after = isalnum((unsigned char)p[n]) || p[n] == '_' || (p[n] == '-' && isalpha((unsigned char)p[n + 1]));
        if (!before && !after)
            return true;
    }
    return false;
}

/* man/lrp.1 documents every rule (and its other names) and every parameter of
 * the table. */
static void test_man_page_rules(void **state)
{
    (void)state;
    char *man = man_rules_section();
    if (!man)
        fail_msg("cannot read man/lrp.1 (run from the repository root)");
    assert_true(strlen(man) > 100);
    for (int i = 0; i < LRP_RULE_COUNT; i++) {
        const lrp_rule_def *d = lrp_rule_def_at(i);
        if (!has_word(man, d->name))
            fail_msg("man/lrp.1 (--rule) does not list rule %s", d->name);
        for (int k = 0; k < LRP_RULE_MAX_ALIASES && d->aliases[k]; k++)
            if (!has_word(man, d->aliases[k]))
                fail_msg("man/lrp.1 (--rule) does not list %s, another name of rule %s", d->aliases[k], d->name);
        FOR_PARAMS(d, p)
        if (!has_word(man, p->key))
            fail_msg("man/lrp.1 (--rule) does not list parameter %s of rule %s", p->key, d->name);
    }
    free(man);
}

/* Which rules make discrete decisions where: the ops flagged piecewise are
 * the ones whose gradient jumps. */
static void test_rule_decides(void **state)
{
    (void)state;
    static const char *const piecewise[] = {"MaxPool",     "GlobalMaxPool", "ReduceMax", "Max",       "Min",
                                            "Mod",         "Relu",          "Clip",      "LeakyRelu", "PRelu",
                                            "HardSigmoid", "HardSwish",     "Elu",       "Selu",      "Abs"};
    int n_piecewise = 0;
    for (int i = 0; i < lrp_op_count(); i++)
        n_piecewise += lrp_op_at(i)->piecewise != 0;
    assert_int_equal(n_piecewise, (int)(sizeof piecewise / sizeof *piecewise));
    lrp_rule grad = {.kind = LRP_RULE_GRADIENT}, guided = {.kind = LRP_RULE_GUIDED}, eps = {.kind = LRP_RULE_EPSILON},
             gamma = {.kind = LRP_RULE_GAMMA};
    for (size_t i = 0; i < sizeof piecewise / sizeof *piecewise; i++) {
        lrp_node n = {.op = lrp_op_find(piecewise[i])};
        assert_non_null(n.op);
        assert_true(lrp_rule_decides(&n, &grad) && lrp_rule_decides(&n, &guided) && !lrp_rule_decides(&n, &eps));
    }
    lrp_node conv = {.op = lrp_op_find("Conv")};
    assert_true(!lrp_rule_decides(&conv, &grad) && lrp_rule_decides(&conv, &gamma));
    assert_true(lrp_rule_divides(&conv, &eps) && lrp_rule_divides(&conv, &gamma) && !lrp_rule_divides(&conv, &grad));
}

int main(void)
{
    lrp_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_rules),    cmocka_unit_test(test_conv_rules),
        cmocka_unit_test(test_conservation),   cmocka_unit_test(test_norm_rule),
        cmocka_unit_test(test_layernorm_rule), cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_rule_defaults),  cmocka_unit_test(test_rule_params),
        cmocka_unit_test(test_man_page_rules), cmocka_unit_test(test_rule_decides),
        cmocka_unit_test(test_softmax_rule),   cmocka_unit_test(test_attention_rules),
        cmocka_unit_test(test_bilinear_rule),  cmocka_unit_test(test_gate_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
