/* LRP rule kernels. Every formula and summation order follows zennit 1.0
 * (zennit-reference.md §1, with the line references given there). */
#include "lrp/rules.h"

#include "base/error.h"
#include "base/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ names/parsing */

static const char *const rule_names[LRP_RULE_COUNT] = {
    "gradient", "pass", "norm", "epsilon", "zplus", "alpha-beta", "gamma",
    "zbox",     "flat", "wsquare", "deconvnet", "guided-backprop", "beta-smooth"};

const char *lrp_rule_name(lrp_rule_kind k) { return k >= 0 && k < LRP_RULE_COUNT ? rule_names[k] : "?"; }

const char *lrp_rule_at(int i) { return i >= 0 && i < LRP_RULE_COUNT ? rule_names[i] : NULL; }

void lrp_rule_clear(lrp_rule *r)
{
    free(r->low);
    free(r->high);
    r->low = r->high = NULL;
    r->n_bounds = 0;
}

lrp_status lrp_rule_copy(lrp_rule *dst, const lrp_rule *src, lrp_error *err)
{
    *dst = *src;
    dst->low = dst->high = NULL;
    if (src->n_bounds > 0) {
        dst->low = malloc(sizeof(float) * (size_t)src->n_bounds);
        dst->high = malloc(sizeof(float) * (size_t)src->n_bounds);
        if (!dst->low || !dst->high) {
            lrp_rule_clear(dst);
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        }
        memcpy(dst->low, src->low, sizeof(float) * (size_t)src->n_bounds);
        memcpy(dst->high, src->high, sizeof(float) * (size_t)src->n_bounds);
    }
    return LRP_OK;
}

/* Parses "v" or "v/v/v" into a new array; returns the count or -1. */
static int parse_floats(const char *s, float **out)
{
    int n = 1;
    for (const char *p = s; *p; p++)
        n += *p == '/';
    float *v = malloc(sizeof(float) * (size_t)n);
    if (!v)
        return -1;
    const char *p = s;
    for (int i = 0; i < n; i++) {
        char *end;
        v[i] = strtof(p, &end);
        if (end == p || (*end && *end != '/') || !isfinite(v[i])) {
            free(v);
            return -1;
        }
        p = end + (*end == '/');
    }
    *out = v;
    return n;
}

lrp_status lrp_rule_parse(const char *spec, lrp_rule *r, lrp_error *err)
{
    char name[64];
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len == 0 || len >= sizeof name)
        return lrp_fail(err, LRP_ERR_ARG, "bad rule '%s'", spec);
    memcpy(name, spec, len);
    name[len] = '\0';
    int kind = -1;
    for (int k = 0; k < LRP_RULE_COUNT; k++)
        if (!strcmp(name, rule_names[k]))
            kind = k;
    if (!strcmp(name, "alphabeta") || !strcmp(name, "alpha_beta"))
        kind = LRP_RULE_ALPHABETA;
    if (!strcmp(name, "z-plus") || !strcmp(name, "z+"))
        kind = LRP_RULE_ZPLUS;
    if (!strcmp(name, "guided") || !strcmp(name, "guided_backprop"))
        kind = LRP_RULE_GUIDED;
    if (!strcmp(name, "beta_smooth"))
        kind = LRP_RULE_BETASMOOTH;
    if (kind < 0)
        return lrp_fail(err, LRP_ERR_ARG,
                        "unknown rule '%s' (choose from epsilon, zplus, alpha-beta, gamma, zbox, flat, wsquare, pass, "
                        "norm, gradient, deconvnet, guided-backprop, beta-smooth)",
                        name);
    r->kind = (lrp_rule_kind)kind;
    if (!colon)
        return LRP_OK;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", colon + 1);
    char *save = NULL;
    for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return lrp_fail(err, LRP_ERR_ARG, "rule '%s': parameter '%s' is not key=value", spec, kv);
        *eq = '\0';
        const char *key = kv, *val = eq + 1;
        if (!strcmp(key, "low") || !strcmp(key, "high")) {
            float *v;
            int n = parse_floats(val, &v);
            if (n < 0)
                return lrp_fail(err, LRP_ERR_ARG, "rule '%s': bad %s '%s' (a number or v/v/v per channel)", spec, key,
                                val);
            float **dst = !strcmp(key, "low") ? &r->low : &r->high;
            float **other = !strcmp(key, "low") ? &r->high : &r->low;
            if (*other && r->n_bounds != n) {
                if (r->n_bounds == 1 || n == 1) { /* broadcast the scalar one */
                    int m = n > r->n_bounds ? n : r->n_bounds;
                    float *w = malloc(sizeof(float) * (size_t)m);
                    float *src = n == 1 ? v : *other;
                    if (!w) {
                        free(v);
                        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
                    }
                    if (n == 1) {
                        for (int i = 0; i < m; i++)
                            w[i] = v[0];
                        free(v);
                        v = w;
                    } else {
                        for (int i = 0; i < m; i++)
                            w[i] = src[0];
                        free(*other);
                        *other = w;
                    }
                    n = m;
                } else {
                    free(v);
                    return lrp_fail(err, LRP_ERR_ARG, "rule '%s': low and high have different lengths", spec);
                }
            }
            free(*dst);
            *dst = v;
            r->n_bounds = n;
            if (!*other) { /* not given yet: keep length consistent later */
            }
            continue;
        }
        char *end;
        float f = strtof(val, &end);
        if (end == val || *end || !isfinite(f))
            return lrp_fail(err, LRP_ERR_ARG, "rule '%s': %s needs a number, got '%s'", spec, key, val);
        if (!strcmp(key, "epsilon") || !strcmp(key, "stabilizer") || !strcmp(key, "eps"))
            r->eps = f;
        else if (!strcmp(key, "alpha"))
            r->alpha = f;
        else if (!strcmp(key, "beta"))
            r->beta = f;
        else if (!strcmp(key, "gamma"))
            r->gamma = f;
        else if (!strcmp(key, "beta_smooth") || !strcmp(key, "beta-smooth"))
            r->beta_smooth = f;
        else if (!strcmp(key, "bias"))
            r->zero_bias = f == 0.0f;
        else if (!strcmp(key, "inplace"))
            r->inplace = f != 0.0f;
        else
            return lrp_fail(err, LRP_ERR_ARG, "rule '%s': unknown parameter '%s'", spec, key);
    }
    if ((r->low == NULL) != (r->high == NULL))
        return lrp_fail(err, LRP_ERR_ARG, "rule '%s': give both low and high", spec);
    if (r->kind == LRP_RULE_ALPHABETA && (r->alpha < 0 || r->beta < 0 || r->alpha - r->beta != 1.0f))
        return lrp_fail(err, LRP_ERR_ARG, "rule '%s': alpha-beta needs alpha, beta >= 0 and alpha - beta = 1", spec);
    return LRP_OK;
}

const char *lrp_rule_describe(const lrp_rule *r, char *buf, size_t size)
{
    const char *nb = r->zero_bias ? ", bias=0" : "";
    switch (r->kind) {
    case LRP_RULE_EPSILON: snprintf(buf, size, "epsilon(epsilon=%g%s)", r->eps, nb); break;
    case LRP_RULE_ZPLUS: snprintf(buf, size, "zplus(stabilizer=%g%s)", r->eps, nb); break;
    case LRP_RULE_ALPHABETA:
        snprintf(buf, size, "alpha-beta(alpha=%g, beta=%g, stabilizer=%g%s)", r->alpha, r->beta, r->eps, nb);
        break;
    case LRP_RULE_GAMMA: snprintf(buf, size, "gamma(gamma=%g, stabilizer=%g%s)", r->gamma, r->eps, nb); break;
    case LRP_RULE_ZBOX: {
        char lo[96] = "", hi[96] = "";
        size_t a = 0, b = 0;
        for (int i = 0; i < r->n_bounds && a < sizeof lo && b < sizeof hi; i++) {
            a += (size_t)snprintf(lo + a, sizeof lo - a, "%s%.4g", i ? "/" : "", r->low[i]);
            b += (size_t)snprintf(hi + b, sizeof hi - b, "%s%.4g", i ? "/" : "", r->high[i]);
        }
        snprintf(buf, size, "zbox(low=%s, high=%s, stabilizer=%g%s)", lo, hi, r->eps, nb);
        break;
    }
    case LRP_RULE_FLAT: snprintf(buf, size, "flat(stabilizer=%g)", r->eps); break;
    case LRP_RULE_WSQUARE: snprintf(buf, size, "wsquare(stabilizer=%g%s)", r->eps, nb); break;
    case LRP_RULE_NORM: snprintf(buf, size, "norm(stabilizer=%g)", r->eps); break;
    case LRP_RULE_BETASMOOTH:
        snprintf(buf, size, "beta-smooth(beta_smooth=%g%s)", r->beta_smooth, r->inplace ? ", inplace" : "");
        break;
    default: snprintf(buf, size, "%s", lrp_rule_name(r->kind)); break;
    }
    return buf;
}

/* ------------------------------------------------------------- applicability */

static bool is_linear_group(lrp_group g)
{
    return g == LRP_GROUP_CONV || g == LRP_GROUP_CONVT || g == LRP_GROUP_DENSE;
}

static int n_activation_inputs(const lrp_graph *g, const lrp_node *n)
{
    int c = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const lrp_value *v = lrp_node_in(g, n, i);
        c += v && !v->constant;
    }
    return c;
}

lrp_status lrp_rule_check(const lrp_graph *g, const lrp_node *n, const lrp_rule *r, lrp_error *err)
{
    char lb[64];
    const char *nm = lrp_node_label(g, n, lb, sizeof lb);
    bool linear = n->op->linear && is_linear_group(lrp_node_group(g, n));
    switch (r->kind) {
    case LRP_RULE_ZPLUS: case LRP_RULE_ALPHABETA: case LRP_RULE_GAMMA: case LRP_RULE_ZBOX: case LRP_RULE_WSQUARE:
        if (!linear)
            return lrp_fail(err, LRP_ERR_ARG, "rule %s needs a layer with weights; node %s is a %s",
                            lrp_rule_name(r->kind), nm, n->op_type);
        return LRP_OK;
    case LRP_RULE_PASS: case LRP_RULE_DECONVNET: case LRP_RULE_GUIDED: case LRP_RULE_BETASMOOTH: {
        const lrp_value *x = NULL, *y = lrp_node_out(g, n, 0);
        for (int i = 0; i < n->n_inputs && !x; i++)
            if (lrp_node_in(g, n, i) && !lrp_node_in(g, n, i)->constant)
                x = lrp_node_in(g, n, i);
        if (n_activation_inputs(g, n) != 1 || !y || !x || !lrp_dims_equal(x->ndim, x->dims, y->ndim, y->dims))
            return lrp_fail(err, LRP_ERR_ARG,
                            "rule %s needs a node with one input shaped like its output; node %s (%s) is not",
                            lrp_rule_name(r->kind), nm, n->op_type);
        if (r->kind == LRP_RULE_GUIDED && !n->op->backward)
            return lrp_fail(err, LRP_ERR_ARG, "node %s (%s) has no gradient", nm, n->op_type);
        return LRP_OK;
    }
    default:
        if (!linear && !n->op->backward)
            return lrp_fail(err, LRP_ERR_ARG, "node %s (%s) has no gradient, so rule %s cannot pass it", nm,
                            n->op_type, lrp_rule_name(r->kind));
        return LRP_OK;
    }
}

bool lrp_rule_decides(const lrp_node *n, const lrp_rule *r)
{
    if (r->kind == LRP_RULE_GAMMA)
        return true;
    if (r->kind != LRP_RULE_GRADIENT && r->kind != LRP_RULE_GUIDED)
        return false;
    /* ops whose gradient jumps where the input crosses a threshold or ties */
    static const char *const piecewise[] = {"MaxPool", "GlobalMaxPool", "ReduceMax", "Max",  "Min",
                                            "Relu",    "Clip",          "LeakyRelu", "PRelu", "HardSigmoid",
                                            "HardSwish", "Elu",         "Selu",      "Abs"};
    for (size_t i = 0; i < sizeof piecewise / sizeof *piecewise; i++)
        if (!strcmp(n->op_type, piecewise[i]))
            return true;
    return false;
}

bool lrp_rule_divides(const lrp_node *n, const lrp_rule *r)
{
    switch (r->kind) {
    case LRP_RULE_EPSILON: case LRP_RULE_NORM: case LRP_RULE_ZPLUS: case LRP_RULE_ALPHABETA: case LRP_RULE_GAMMA:
    case LRP_RULE_ZBOX: return true;
    default: return false;
    }
}

unsigned lrp_rule_keep(const lrp_node *n, const lrp_rule *r)
{
    bool linear = n->op->linear != NULL;
    switch (r->kind) {
    case LRP_RULE_GRADIENT: case LRP_RULE_GUIDED: return n->op->keep;
    case LRP_RULE_PASS: case LRP_RULE_DECONVNET: case LRP_RULE_FLAT: case LRP_RULE_WSQUARE: return 0;
    case LRP_RULE_NORM: return LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT;
    case LRP_RULE_EPSILON:
        if (!linear)
            return LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT;
        return LRP_KEEP_INPUTS | (r->zero_bias ? 0 : LRP_KEEP_OUTPUT);
    case LRP_RULE_ZPLUS: case LRP_RULE_ALPHABETA: case LRP_RULE_BETASMOOTH: return LRP_KEEP_INPUTS;
    case LRP_RULE_ZBOX: return LRP_KEEP_INPUTS | (r->zero_bias ? 0 : LRP_KEEP_OUTPUT);
    case LRP_RULE_GAMMA: return LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT;
    default: return LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT;
    }
}

/* ------------------------------------------------------------------ helpers */

#define PAR_FOR _Pragma("omp parallel for schedule(static) num_threads(lrp_num_threads) if (n > 32768)")

void lrp_weight_cache_clear(lrp_weight_cache *c)
{
    for (int i = 0; i < 8; i++) {
        free(c->w[i]);
        free(c->b[i]);
        c->w[i] = c->b[i] = NULL;
        c->have_w[i] = c->have_b[i] = false;
    }
}

enum { MOD_POS, MOD_NEG, MOD_GAMMA_POS, MOD_GAMMA_NEG, MOD_SQUARE, MOD_ONES };

static float modify(float p, int mod, float gamma)
{
    switch (mod) {
    case MOD_POS: return p > 0.0f ? p : 0.0f;
    case MOD_NEG: return p < 0.0f ? p : 0.0f;
    case MOD_GAMMA_POS: return p + gamma * (p > 0.0f ? p : 0.0f);
    case MOD_GAMMA_NEG: return p + gamma * (p < 0.0f ? p : 0.0f);
    case MOD_SQUARE: return p * p;
    default: return 1.0f;
    }
}

static const lrp_tensor *layer_weight(const lrp_rule_call *c)
{
    return lrp_node_in(c->g, c->n, c->n->op->linear->weight_input)->constant;
}

static const lrp_tensor *layer_bias(const lrp_rule_call *c)
{
    int bi = c->n->op->linear->bias_input;
    const lrp_value *v = bi < c->n->n_inputs ? lrp_node_in(c->g, c->n, bi) : NULL;
    return v ? v->constant : NULL;
}

/* The modified weight (cached). */
static const float *mod_weight(const lrp_rule_call *c, int mod, lrp_error *err)
{
    lrp_weight_cache *wc = c->cache;
    if (wc->have_w[mod])
        return wc->w[mod];
    const lrp_tensor *W = layer_weight(c);
    float *w = malloc(sizeof(float) * (size_t)(W->numel ? W->numel : 1));
    if (!w) {
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory for modified weights");
        return NULL;
    }
    const float *src = lrp_f32(W);
    for (int64_t i = 0; i < W->numel; i++)
        w[i] = modify(src[i], mod, c->rule->gamma);
    wc->w[mod] = w;
    wc->have_w[mod] = true;
    return w;
}

/* The modified bias, or NULL when the layer has none or it is zeroed. */
static const float *mod_bias(const lrp_rule_call *c, int mod, lrp_error *err, bool *fail)
{
    *fail = false;
    const lrp_tensor *B = layer_bias(c);
    if (!B || c->rule->zero_bias)
        return NULL;
    if (mod < 0)
        return lrp_f32(B);
    lrp_weight_cache *wc = c->cache;
    if (wc->have_b[mod])
        return wc->b[mod];
    float *b = malloc(sizeof(float) * (size_t)(B->numel ? B->numel : 1));
    if (!b) {
        *fail = true;
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int64_t i = 0; i < B->numel; i++)
        b[i] = modify(lrp_f32(B)[i], mod, c->rule->gamma);
    wc->b[mod] = b;
    wc->have_b[mod] = true;
    return b;
}

/* A buffer for f(x; W, b): not zeroed when the layer's kernel writes it all. */
static lrp_tensor *like_out(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_value *v = lrp_node_out(c->g, c->n, 0);
    return c->n->op->overwrites ? lrp_tensor_new_uninit(LRP_FLOAT32, v->ndim, v->dims, err)
                                : lrp_tensor_new(LRP_FLOAT32, v->ndim, v->dims, err);
}

/* z = f(x; W, b) into a new tensor. */
static lrp_tensor *apply_new(const lrp_rule_call *c, const lrp_tensor *x, const float *W, const float *b,
                             lrp_error *err)
{
    lrp_tensor *z = like_out(c, err);
    if (!z)
        return NULL;
    if (c->n->op->linear->apply(c->n, x, W, b, z, err) != LRP_OK) {
        lrp_tensor_free(z);
        return NULL;
    }
    return z;
}

/* Wᵀ g into a new zero tensor shaped like x. */
static lrp_tensor *apply_t_new(const lrp_rule_call *c, const lrp_tensor *gz, const float *W, const lrp_tensor *xlike,
                               lrp_error *err)
{
    lrp_tensor *t = lrp_tensor_like(xlike, err);
    if (!t)
        return NULL;
    if (c->n->op->linear->apply_t(c->n, gz, W, t, err) != LRP_OK) {
        lrp_tensor_free(t);
        return NULL;
    }
    return t;
}

static bool any_negative(const lrp_tensor *x)
{
    const float *p = lrp_f32(x);
    for (int64_t i = 0; i < x->numel; i++)
        if (p[i] < 0.0f)
            return true;
    return false;
}

/* x⁺ (mod 0) or x⁻ (mod 1) as a new tensor. */
static lrp_tensor *clamp_new(const lrp_tensor *x, int neg, lrp_error *err)
{
    lrp_tensor *t = lrp_tensor_like(x, err);
    if (!t)
        return NULL;
    const float *s = lrp_f32(x);
    float *d = lrp_f32(t);
    int64_t n = x->numel;
    PAR_FOR
    for (int64_t i = 0; i < n; i++)
        d[i] = neg ? (s[i] < 0.0f ? s[i] : 0.0f) : (s[i] > 0.0f ? s[i] : 0.0f);
    return t;
}

/* g = R / s(z) in place into z (z may be a borrowed tensor: then into a new one). */
static lrp_tensor *ratio(const lrp_tensor *R, const lrp_tensor *z, float eps, lrp_error *err)
{
    lrp_tensor *g = lrp_tensor_like(R, err);
    if (!g)
        return NULL;
    const float *r = lrp_f32(R), *zz = lrp_f32(z);
    float *d = lrp_f32(g);
    int64_t n = R->numel;
    PAR_FOR
    for (int64_t i = 0; i < n; i++)
        d[i] = r[i] / lrp_stabilize(zz[i], eps);
    return g;
}

/* z <- R / s(z), in place. */
static void ratio_inplace(const lrp_tensor *R, lrp_tensor *z, float eps)
{
    const float *r = lrp_f32(R);
    float *d = lrp_f32(z);
    int64_t n = R->numel;
    PAR_FOR
    for (int64_t i = 0; i < n; i++)
        d[i] = r[i] / lrp_stabilize(d[i], eps);
}

/* acc += x ⊙ t */
static void add_product(lrp_tensor *acc, const lrp_tensor *x, const lrp_tensor *t)
{
    float *a = lrp_f32(acc);
    const float *xp = lrp_f32(x), *tp = lrp_f32(t);
    int64_t n = acc->numel;
    PAR_FOR
    for (int64_t i = 0; i < n; i++)
        a[i] += xp[i] * tp[i];
}

static void add_inplace(lrp_tensor *a, const lrp_tensor *b)
{
    float *ap = lrp_f32(a);
    const float *bp = lrp_f32(b);
    int64_t n = a->numel;
    PAR_FOR
    for (int64_t i = 0; i < n; i++)
        ap[i] += bp[i];
}

static lrp_status oom(lrp_error *err)
{
    return err && err->status != LRP_OK ? err->status : lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
}

/* -------------------------------------------------------------- linear rules */

/* Epsilon (rules.py:97-122): z = f(x; W, b̃); R_in = x ⊙ Wᵀ(R / s_ε(z)). */
static lrp_status epsilon_linear(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_tensor *x = c->in[0];
    const float *W = lrp_f32(layer_weight(c));
    lrp_tensor *zown = NULL;
    const lrp_tensor *z = c->out;
    if (c->rule->zero_bias || !z) {
        bool fail;
        const float *b = mod_bias(c, -1, err, &fail);
        if (!(zown = apply_new(c, x, W, b, err)))
            return oom(err);
        z = zown;
    }
    lrp_tensor *g = ratio(c->R, z, c->rule->eps, err);
    lrp_tensor_free(zown);
    if (!g)
        return oom(err);
    lrp_tensor *t = apply_t_new(c, g, W, x, err);
    lrp_tensor_free(g);
    if (!t)
        return oom(err);
    add_product(c->gin[0], x, t);
    lrp_tensor_free(t);
    return LRP_OK;
}

/* One half of AlphaBeta: z = f(x⁺; W1, b1) + f(x⁻; W2, 0) (the second term
 * only when x has negative entries, xn != NULL), g = R / s(z), and the
 * transposed products T1 = W1ᵀg, T2 = W2ᵀg (T2 only with xn). */
static lrp_status ab_half(const lrp_rule_call *c, const lrp_tensor *x, const lrp_tensor *xpos, const lrp_tensor *xn,
                          const float *W1, const float *W2, const float *b1, lrp_tensor **T1, lrp_tensor **T2,
                          lrp_error *err)
{
    lrp_tensor *z = apply_new(c, xpos, W1, b1, err), *t = NULL;
    if (!z)
        return oom(err);
    if (xn) {
        if (!(t = apply_new(c, xn, W2, NULL, err))) {
            lrp_tensor_free(z);
            return oom(err);
        }
        add_inplace(z, t);
        lrp_tensor_free(t);
    }
    ratio_inplace(c->R, z, c->rule->eps); /* z now holds g */
    lrp_status st = LRP_OK;
    if (!(*T1 = apply_t_new(c, z, W1, x, err)) || (xn && !(*T2 = apply_t_new(c, z, W2, x, err))))
        st = oom(err);
    lrp_tensor_free(z);
    return st;
}

/* ZPlus (rules.py:178-211) and AlphaBeta (rules.py:214-274). ZPlus is
 * AlphaBeta with alpha=1, beta=0 without the beta terms. */
static lrp_status alpha_beta(const lrp_rule_call *c, bool zplus, lrp_error *err)
{
    const lrp_tensor *x = c->in[0];
    float alpha = zplus ? 1.0f : c->rule->alpha, beta = zplus ? 0.0f : c->rule->beta;
    bool neg = any_negative(x);
    lrp_status st = LRP_ERR_NOMEM;
    lrp_tensor *xp = NULL, *xn = NULL, *A = NULL, *B = NULL, *C = NULL, *D = NULL;
    bool fail;
    const float *Wp = mod_weight(c, MOD_POS, err), *Wn = NULL;
    const float *bp = mod_bias(c, MOD_POS, err, &fail);
    if (!Wp || fail)
        goto done;
    if (neg || !zplus) {
        Wn = mod_weight(c, MOD_NEG, err);
        if (!Wn)
            goto done;
    }
    const lrp_tensor *xpos = x;
    if (neg) {
        if (!(xp = clamp_new(x, 0, err)) || !(xn = clamp_new(x, 1, err)))
            goto done;
        xpos = xp;
    }
    /* alpha part: g_a = R / s(f(x⁺; W⁺, b̃⁺) + f(x⁻; W⁻, 0)), A = W⁺ᵀg_a, B = W⁻ᵀg_a */
    if (ab_half(c, x, xpos, xn, Wp, Wn, bp, &A, &B, err) != LRP_OK)
        goto done;
    if (!zplus) {
        /* beta part: the same with W⁺ and W⁻ swapped, b̃⁻: C = W⁻ᵀg_b, D = W⁺ᵀg_b */
        const float *bn = mod_bias(c, MOD_NEG, err, &fail);
        if (fail || ab_half(c, x, xpos, xn, Wn, Wp, bn, &C, &D, err) != LRP_OK)
            goto done;
    }
    /* R_in = α(x⁺⊙W⁺ᵀg_a + x⁻⊙W⁻ᵀg_a) − β(x⁺⊙W⁻ᵀg_b + x⁻⊙W⁺ᵀg_b) */
    {
        float *acc = lrp_f32(c->gin[0]);
        const float *p = lrp_f32(xpos), *q = neg ? lrp_f32(xn) : NULL;
        const float *a = lrp_f32(A), *b = B ? lrp_f32(B) : NULL, *cc = C ? lrp_f32(C) : NULL,
                    *d = D ? lrp_f32(D) : NULL;
        int64_t n = x->numel;
        if (zplus) {
            PAR_FOR
            for (int64_t i = 0; i < n; i++)
                acc[i] += q ? p[i] * a[i] + q[i] * b[i] : p[i] * a[i];
        } else {
            PAR_FOR
            for (int64_t i = 0; i < n; i++) {
                float ra = q ? p[i] * a[i] + q[i] * b[i] : p[i] * a[i];
                float rb = q ? p[i] * cc[i] + q[i] * d[i] : p[i] * cc[i];
                acc[i] += alpha * ra - beta * rb;
            }
        }
    }
    st = LRP_OK;
done:
    if (st != LRP_OK)
        st = oom(err);
    lrp_tensor_free(xp);
    lrp_tensor_free(xn);
    lrp_tensor_free(A);
    lrp_tensor_free(B);
    lrp_tensor_free(C);
    lrp_tensor_free(D);
    return st;
}

/* Gamma (rules.py:125-175). */
static lrp_status gamma_rule(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_tensor *x = c->in[0], *z = c->out;
    bool neg = any_negative(x), fail1, fail2;
    lrp_status st = LRP_ERR_NOMEM;
    lrp_tensor *xp = NULL, *xn = NULL, *o0 = NULL, *o2 = NULL, *t = NULL, *gp = NULL, *gn = NULL, *T1 = NULL,
               *T2 = NULL, *T3 = NULL, *T4 = NULL;
    const float *Wp = mod_weight(c, MOD_GAMMA_POS, err), *Wn = mod_weight(c, MOD_GAMMA_NEG, err);
    const float *bp = mod_bias(c, MOD_GAMMA_POS, err, &fail1), *bn = mod_bias(c, MOD_GAMMA_NEG, err, &fail2);
    if (!Wp || !Wn || fail1 || fail2 || !z)
        goto done;
    const lrp_tensor *xpos = x;
    if (neg) {
        if (!(xp = clamp_new(x, 0, err)) || !(xn = clamp_new(x, 1, err)))
            goto done;
        xpos = xp;
    }
    if (!(o0 = apply_new(c, xpos, Wp, bp, err)) || !(o2 = apply_new(c, xpos, Wn, bn, err)))
        goto done;
    if (neg) {
        if (!(t = apply_new(c, xn, Wn, NULL, err)))
            goto done;
        add_inplace(o0, t); /* o0 + o1 */
        lrp_tensor_free(t);
        if (!(t = apply_new(c, xn, Wp, NULL, err)))
            goto done;
        add_inplace(o2, t); /* o2 + o3 */
        lrp_tensor_free(t);
        t = NULL;
    }
    /* gp = [z>0]·R / s(o0+o1), gn = [z<0]·R / s(o2+o3); the mask uses the original output */
    {
        const float *r = lrp_f32(c->R), *zz = lrp_f32(z);
        float *a = lrp_f32(o0), *b = lrp_f32(o2);
        float eps = c->rule->eps;
        int64_t n = c->R->numel;
        PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            a[i] = (zz[i] > 0.0f ? r[i] : 0.0f * r[i]) / lrp_stabilize(a[i], eps);
            b[i] = (zz[i] < 0.0f ? r[i] : 0.0f * r[i]) / lrp_stabilize(b[i], eps);
        }
        gp = o0;
        gn = o2;
        o0 = o2 = NULL;
    }
    if (!(T1 = apply_t_new(c, gp, Wp, x, err)) || !(T3 = apply_t_new(c, gn, Wn, x, err)))
        goto done;
    if (neg && (!(T2 = apply_t_new(c, gp, Wn, x, err)) || !(T4 = apply_t_new(c, gn, Wp, x, err))))
        goto done;
    /* R_in = ((x⁺⊙Wpᵀgp + x⁻⊙Wnᵀgp) + x⁺⊙Wnᵀgn) + x⁻⊙Wpᵀgn */
    {
        float *acc = lrp_f32(c->gin[0]);
        const float *p = lrp_f32(xpos), *q = neg ? lrp_f32(xn) : NULL, *t1 = lrp_f32(T1), *t3 = lrp_f32(T3),
                    *t2 = T2 ? lrp_f32(T2) : NULL, *t4 = T4 ? lrp_f32(T4) : NULL;
        int64_t n = x->numel;
        PAR_FOR
        for (int64_t i = 0; i < n; i++)
            acc[i] += q ? ((p[i] * t1[i] + q[i] * t2[i]) + p[i] * t3[i]) + q[i] * t4[i] : p[i] * t1[i] + p[i] * t3[i];
    }
    st = LRP_OK;
done:
    if (st != LRP_OK)
        st = oom(err);
    lrp_tensor_free(xp);
    lrp_tensor_free(xn);
    lrp_tensor_free(o0);
    lrp_tensor_free(o2);
    lrp_tensor_free(t);
    lrp_tensor_free(gp);
    lrp_tensor_free(gn);
    lrp_tensor_free(T1);
    lrp_tensor_free(T2);
    lrp_tensor_free(T3);
    lrp_tensor_free(T4);
    return st;
}

/* A bound (low/high) broadcast to x's shape: scalar or one value per dim-1 entry. */
static lrp_tensor *bound_tensor(const lrp_rule_call *c, const float *vals, const lrp_tensor *x, lrp_error *err)
{
    int nb = c->rule->n_bounds;
    if (nb != 1 && (x->ndim < 2 || x->dims[1] != nb)) {
        char sb[160];
        lrp_node_fail(err, c->n, LRP_ERR_SHAPE, "zbox bounds have %d values but the layer input %s has %lld channels",
                      nb, lrp_shape_str(x->ndim, x->dims, sb, sizeof sb), (long long)(x->ndim >= 2 ? x->dims[1] : 0));
        return NULL;
    }
    lrp_tensor *t = lrp_tensor_like(x, err);
    if (!t)
        return NULL;
    float *d = lrp_f32(t);
    int64_t inner = 1;
    for (int i = 2; i < x->ndim; i++)
        inner *= x->dims[i];
    for (int64_t i = 0; i < x->numel; i++)
        d[i] = nb == 1 ? vals[0] : vals[(i / inner) % nb];
    return t;
}

/* ZBox (rules.py:277-322). */
static lrp_status zbox(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_tensor *x = c->in[0];
    if (c->rule->n_bounds <= 0)
        return lrp_node_fail(err, c->n, LRP_ERR_ARG, "the zbox rule needs low and high bounds");
    lrp_status st = LRP_ERR_NOMEM;
    lrp_tensor *l = NULL, *h = NULL, *o0 = NULL, *o1 = NULL, *o2 = NULL, *g = NULL, *A = NULL, *B = NULL, *C = NULL;
    bool f1, f2, f3;
    const float *W = lrp_f32(layer_weight(c)), *Wp = mod_weight(c, MOD_POS, err), *Wn = mod_weight(c, MOD_NEG, err);
    const float *b = mod_bias(c, -1, err, &f1), *bp = mod_bias(c, MOD_POS, err, &f2),
                *bn = mod_bias(c, MOD_NEG, err, &f3);
    if (!Wp || !Wn || f1 || f2 || f3)
        goto done;
    if (!(l = bound_tensor(c, c->rule->low, x, err)) || !(h = bound_tensor(c, c->rule->high, x, err))) {
        st = err ? err->status : LRP_ERR_NOMEM;
        goto done;
    }
    const lrp_tensor *z0 = c->out;
    if (c->rule->zero_bias || !z0) {
        if (!(o0 = apply_new(c, x, W, b, err)))
            goto done;
        z0 = o0;
    }
    if (!(o1 = apply_new(c, l, Wp, bp, err)) || !(o2 = apply_new(c, h, Wn, bn, err)))
        goto done;
    {
        /* z = o0 − (o1 + o2); g = R / s(z), into o1 */
        const float *r = lrp_f32(c->R), *a = lrp_f32(z0), *p2 = lrp_f32(o2);
        float *p1 = lrp_f32(o1), eps = c->rule->eps;
        int64_t n = c->R->numel;
        PAR_FOR
        for (int64_t i = 0; i < n; i++)
            p1[i] = r[i] / lrp_stabilize(a[i] - (p1[i] + p2[i]), eps);
        g = o1;
        o1 = NULL;
    }
    if (!(A = apply_t_new(c, g, W, x, err)) || !(B = apply_t_new(c, g, Wp, x, err)) ||
        !(C = apply_t_new(c, g, Wn, x, err)))
        goto done;
    {
        /* R_in = x⊙Wᵀg − (l⊙W⁺ᵀg + h⊙W⁻ᵀg) */
        float *acc = lrp_f32(c->gin[0]);
        const float *xp = lrp_f32(x), *lp = lrp_f32(l), *hp = lrp_f32(h), *a = lrp_f32(A), *bb = lrp_f32(B),
                    *cc = lrp_f32(C);
        int64_t n = x->numel;
        PAR_FOR
        for (int64_t i = 0; i < n; i++)
            acc[i] += xp[i] * a[i] - (lp[i] * bb[i] + hp[i] * cc[i]);
    }
    st = LRP_OK;
done:
    if (st == LRP_ERR_NOMEM)
        st = oom(err);
    lrp_tensor_free(l);
    lrp_tensor_free(h);
    lrp_tensor_free(o0);
    lrp_tensor_free(o1);
    lrp_tensor_free(o2);
    lrp_tensor_free(g);
    lrp_tensor_free(A);
    lrp_tensor_free(B);
    lrp_tensor_free(C);
    return st;
}

/* Flat (rules.py:400-424) and WSquare (rules.py:374-397) on layers: the input
 * is replaced by ones; R_in = Wmᵀ(R / s(f(1; Wm, bm))), not multiplied by x. */
static lrp_status flat_linear(const lrp_rule_call *c, bool wsquare, lrp_error *err)
{
    const lrp_value *xv = lrp_node_in(c->g, c->n, 0);
    /* Flat on a dense layer: every input feature of a row feeds each of its
     * N outputs with weight 1, so z = K (the row's feature count) and every
     * feature gets the same sum_j R_j / s(K). That sum is taken in double:
     * the R_j have both signs, and float32 rounding of R_j / s(z_j) and of
     * their running sum comes back amplified by sum|R_j| / |sum R_j| (308x on
     * tiny-mlp's first layer for one unseen input, a 2e-5 error). */
    const lrp_tensor *R = c->R, *G = c->gin[0];
    if (!wsquare && lrp_node_group(c->g, c->n) == LRP_GROUP_DENSE && R->ndim >= 1 && G->ndim >= 1 &&
        R->dims[R->ndim - 1] > 0 && G->dims[G->ndim - 1] > 0) {
        int64_t N = R->dims[R->ndim - 1], K = G->dims[G->ndim - 1], rows = R->numel / N;
        if (rows * K == G->numel) {
            const double s = (double)K + (double)c->rule->eps; /* s(z) for z = K > 0 */
            const float *r = lrp_f32(R);
            float *gp = lrp_f32(G);
            for (int64_t m = 0; m < rows; m++) {
                double acc = 0.0;
                for (int64_t j = 0; j < N; j++)
                    acc += (double)r[m * N + j];
                const float v = (float)(acc / s);
                for (int64_t k = 0; k < K; k++)
                    gp[m * K + k] += v;
            }
            return LRP_OK;
        }
    }
    bool fail = false;
    const float *W = mod_weight(c, wsquare ? MOD_SQUARE : MOD_ONES, err);
    const float *b = wsquare ? mod_bias(c, MOD_SQUARE, err, &fail) : NULL;
    if (!W || fail)
        return oom(err);
    int64_t dims[LRP_MAX_DIMS];
    memcpy(dims, xv->dims, sizeof dims);
    dims[0] = c->R->dims[0];
    lrp_tensor *ones = lrp_tensor_new(LRP_FLOAT32, xv->ndim, dims, err);
    if (!ones)
        return oom(err);
    for (int64_t i = 0; i < ones->numel; i++)
        lrp_f32(ones)[i] = 1.0f;
    lrp_tensor *z = apply_new(c, ones, W, b, err);
    lrp_tensor *g = z ? ratio(c->R, z, c->rule->eps, err) : NULL;
    lrp_tensor_free(z);
    lrp_status st = LRP_OK;
    if (!g || c->n->op->linear->apply_t(c->n, g, W, c->gin[0], err) != LRP_OK)
        st = oom(err);
    lrp_tensor_free(g);
    lrp_tensor_free(ones);
    return st;
}

/* ------------------------------------------------------------ generic rules */

/* Runs the op's gradient with gout into fresh zero buffers (one per
 * non-constant input), returned in tmp[]. */
static lrp_status grad_into_temps(const lrp_rule_call *c, const lrp_tensor *const *in, const lrp_tensor *out,
                                  const lrp_tensor *gout, lrp_tensor **tmp, lrp_error *err)
{
    const lrp_node *n = c->n;
    for (int i = 0; i < n->n_inputs; i++) {
        tmp[i] = NULL;
        if (c->gin[i] && !(tmp[i] = lrp_tensor_like(c->gin[i], err)))
            return oom(err);
    }
    return n->op->backward(n, in, out, gout, tmp, err);
}

static void free_temps(const lrp_node *n, lrp_tensor **tmp)
{
    for (int i = 0; i < n->n_inputs; i++)
        lrp_tensor_free(tmp[i]);
}

/* Norm (rules.py:350-371), and Epsilon on parameter-free ops:
 * R_in = x ⊙ Jᵀ(R / s(z)) with z the op's output. */
static lrp_status norm_rule(const lrp_rule_call *c, lrp_error *err)
{
    /* Add/Sum of same-shaped activations (zennit's residual Sum): each input
     * gets a ⊙ R / s(z), with z the output, in one pass */
    if (lrp_node_group(c->g, c->n) == LRP_GROUP_SUM && c->n->n_inputs == 2 && c->gin[0] && c->gin[1] &&
        c->gin[0] != c->gin[1] && c->out && c->in[0]->numel == c->R->numel && c->in[1]->numel == c->R->numel) {
        const float *a = lrp_f32(c->in[0]), *b = lrp_f32(c->in[1]), *z = lrp_f32(c->out), *r = lrp_f32(c->R);
        float *ga = lrp_f32(c->gin[0]), *gb = lrp_f32(c->gin[1]), eps = c->rule->eps;
        int64_t n = c->R->numel;
        PAR_FOR
        for (int64_t i = 0; i < n; i++) {
            float q = r[i] / lrp_stabilize(z[i], eps);
            ga[i] += a[i] * q;
            gb[i] += b[i] * q;
        }
        return LRP_OK;
    }
    lrp_tensor *tmp[64];
    if (c->n->n_inputs > 64)
        return lrp_node_fail(err, c->n, LRP_ERR_UNSUPPORTED, "too many inputs");
    lrp_tensor *g = ratio(c->R, c->out, c->rule->eps, err);
    if (!g)
        return oom(err);
    lrp_status st = grad_into_temps(c, c->in, c->out, g, tmp, err);
    lrp_tensor_free(g);
    if (st == LRP_OK)
        for (int i = 0; i < c->n->n_inputs; i++)
            if (tmp[i])
                add_product(c->gin[i], c->in[i], tmp[i]);
    free_temps(c->n, tmp);
    return st;
}

/* Flat on parameter-free ops (require_params=False): inputs replaced by ones. */
static lrp_status flat_generic(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_node *n = c->n;
    lrp_tensor *ones[64] = {0}, *tmp[64] = {0};
    const lrp_tensor *in[64];
    if (n->n_inputs > 64)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs");
    lrp_status st = LRP_OK;
    for (int i = 0; i < n->n_inputs && st == LRP_OK; i++) {
        in[i] = c->in[i];
        if (c->gin[i]) {
            if (!(ones[i] = lrp_tensor_like(c->gin[i], err))) {
                st = oom(err);
                break;
            }
            for (int64_t k = 0; k < ones[i]->numel; k++)
                lrp_f32(ones[i])[k] = 1.0f;
            in[i] = ones[i];
        }
    }
    lrp_tensor *z = st == LRP_OK ? lrp_tensor_like(c->R, err) : NULL;
    lrp_tensor *outs[1] = {z};
    if (st == LRP_OK && (!z || (st = n->op->forward(n, in, outs, err)) != LRP_OK))
        st = z ? st : oom(err);
    lrp_tensor *g = st == LRP_OK ? ratio(c->R, z, c->rule->eps, err) : NULL;
    if (st == LRP_OK && !g)
        st = oom(err);
    if (st == LRP_OK)
        st = grad_into_temps(c, in, z, g, tmp, err);
    if (st == LRP_OK)
        for (int i = 0; i < n->n_inputs; i++)
            if (tmp[i])
                add_inplace(c->gin[i], tmp[i]);
    free_temps(n, tmp);
    for (int i = 0; i < n->n_inputs; i++)
        lrp_tensor_free(ones[i]);
    lrp_tensor_free(z);
    lrp_tensor_free(g);
    return st;
}

static int activation_input(const lrp_rule_call *c)
{
    for (int i = 0; i < c->n->n_inputs; i++)
        if (c->gin[i])
            return i;
    return -1;
}

lrp_status lrp_rule_apply(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_rule *r = c->rule;
    const lrp_node *n = c->n;
    bool linear = n->op->linear && (n->inputs[n->op->linear->weight_input] >= 0) &&
                  lrp_node_in(c->g, n, n->op->linear->weight_input)->constant;
    bool any = false;
    for (int i = 0; i < n->n_inputs; i++)
        any = any || c->gin[i];
    if (!any)
        return LRP_OK;
    switch (r->kind) {
    case LRP_RULE_GRADIENT:
        if (!n->op->backward)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "relevance cannot pass this op (it has no gradient)");
        return n->op->backward(n, c->in, c->out, c->R, c->gin, err);
    case LRP_RULE_PASS: {
        int i = activation_input(c);
        add_inplace(c->gin[i], c->R);
        return LRP_OK;
    }
    case LRP_RULE_DECONVNET: {
        int i = activation_input(c);
        float *a = lrp_f32(c->gin[i]);
        const float *rr = lrp_f32(c->R);
        for (int64_t k = 0; k < c->R->numel; k++)
            a[k] += rr[k] > 0.0f ? rr[k] : 0.0f;
        return LRP_OK;
    }
    case LRP_RULE_GUIDED: {
        lrp_tensor *tmp[64];
        if (n->n_inputs > 64)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs");
        lrp_status st = grad_into_temps(c, c->in, c->out, c->R, tmp, err);
        if (st == LRP_OK) {
            int i = activation_input(c);
            float *a = lrp_f32(c->gin[i]);
            const float *rr = lrp_f32(c->R), *t = lrp_f32(tmp[i]);
            for (int64_t k = 0; k < c->R->numel; k++)
                a[k] += rr[k] > 0.0f ? t[k] : 0.0f * t[k];
        }
        free_temps(n, tmp);
        return st;
    }
    case LRP_RULE_BETASMOOTH: {
        int i = activation_input(c);
        float *a = lrp_f32(c->gin[i]);
        const float *rr = lrp_f32(c->R), *x = lrp_f32(c->in[i]);
        float b = r->beta_smooth;
        if (r->inplace) /* the stored input was overwritten by relu(x) */
            for (int64_t k = 0; k < c->R->numel; k++)
                a[k] += rr[k] / (1.0f + expf(-b * (x[k] > 0.0f ? x[k] : 0.0f)));
        else
            for (int64_t k = 0; k < c->R->numel; k++)
                a[k] += rr[k] / (1.0f + expf(-b * x[k]));
        return LRP_OK;
    }
    case LRP_RULE_NORM:
        return norm_rule(c, err);
    case LRP_RULE_EPSILON:
        return linear ? epsilon_linear(c, err) : norm_rule(c, err);
    case LRP_RULE_FLAT:
        return linear ? flat_linear(c, false, err) : flat_generic(c, err);
    case LRP_RULE_WSQUARE:
        return flat_linear(c, true, err);
    case LRP_RULE_ZPLUS:
        return alpha_beta(c, true, err);
    case LRP_RULE_ALPHABETA:
        return alpha_beta(c, false, err);
    case LRP_RULE_GAMMA:
        return gamma_rule(c, err);
    case LRP_RULE_ZBOX:
        return zbox(c, err);
    default:
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "unknown rule");
    }
}
