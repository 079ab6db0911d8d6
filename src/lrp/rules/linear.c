/* What the rules share: modified weights (cached per node), the layer run
 * with other parameters and transposed, the sign halves of AlphaBeta and
 * Gamma, ratios R / s(z), and the op's gradient into temporaries. Every
 * formula and summation order follows zennit 1.0 (zennit-reference.md §1). */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

#include <stdlib.h>
#include <string.h>

lrp_status lrp_rule_oom(lrp_error *err)
{
    return err && err->status != LRP_OK ? err->status : lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
}

/* ------------------------------------------------------- modified weights */

void lrp_weight_cache_clear(lrp_weight_cache *c)
{
    for (int i = 0; i < 8; i++) {
        if (!(c->pair_w && i == c->pw_b))
            free(c->w[i]);
        if (!(c->pair_b && i == c->pb_b))
            free(c->b[i]);
        c->w[i] = c->b[i] = NULL;
        c->have_w[i] = c->have_b[i] = false;
    }
    c->pair_w = c->pair_b = false;
    free(c->z);
    c->z = NULL;
    c->z_n = 0;
}

/* dst = the parameters src modified by mod (one loop per modification, so
 * that each is a plain elementwise loop). */
static void modify(const lrp_real *src, lrp_real *dst, int64_t n, int mod, lrp_real gamma)
{
    switch (mod) {
    case LRP_MOD_POS:
        for (int64_t i = 0; i < n; i++)
            dst[i] = src[i] > 0.0f ? src[i] : 0.0f;
        break;
    case LRP_MOD_NEG:
        for (int64_t i = 0; i < n; i++)
            dst[i] = src[i] < 0.0f ? src[i] : 0.0f;
        break;
    case LRP_MOD_GAMMA_POS:
        for (int64_t i = 0; i < n; i++)
            dst[i] = src[i] + gamma * (src[i] > 0.0f ? src[i] : 0.0f);
        break;
    case LRP_MOD_GAMMA_NEG:
        for (int64_t i = 0; i < n; i++)
            dst[i] = src[i] + gamma * (src[i] < 0.0f ? src[i] : 0.0f);
        break;
    case LRP_MOD_SQUARE:
        for (int64_t i = 0; i < n; i++)
            dst[i] = src[i] * src[i];
        break;
    case LRP_MOD_ABS:
        for (int64_t i = 0; i < n; i++)
            dst[i] = lrp_fabs(src[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            dst[i] = 1.0f;
        break;
    }
}

bool lrp_rule_on_layer(const lrp_rule_call *c)
{
    const lrp_node *n = c->n;
    return n->op->linear && (n->inputs[n->op->linear->weight_input] >= 0) &&
           lrp_node_in(c->g, n, n->op->linear->weight_input)->constant;
}

const lrp_tensor *lrp_layer_weight(const lrp_rule_call *c)
{
    return lrp_node_in(c->g, c->n, c->n->op->linear->weight_input)->constant;
}

static const lrp_tensor *layer_bias(const lrp_rule_call *c)
{
    int bi = c->n->op->linear->bias_input;
    const lrp_value *v = bi < c->n->n_inputs ? lrp_node_in(c->g, c->n, bi) : NULL;
    return v ? v->constant : NULL;
}

bool lrp_layer_bias_zeroed(const lrp_rule_call *c) { return c->rule->zero_bias && layer_bias(c); }

/* The values of t modified by mod, computed on first use and kept in *slot. */
static const lrp_real *cached(const lrp_rule_call *c, const lrp_tensor *t, int mod, lrp_real **slot, bool *have,
                              lrp_error *err)
{
    if (*have)
        return *slot;
    lrp_real *v = malloc(sizeof(lrp_real) * (size_t)(t->numel ? t->numel : 1));
    if (!v) {
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory for modified weights");
        return NULL;
    }
    modify(lrp_reals(t), v, t->numel, mod, c->rule->gamma);
    *slot = v;
    *have = true;
    return v;
}

const lrp_real *lrp_mod_weight(const lrp_rule_call *c, int mod, lrp_error *err)
{
    return cached(c, lrp_layer_weight(c), mod, &c->cache->w[mod], &c->cache->have_w[mod], err);
}

const lrp_real *lrp_mod_bias(const lrp_rule_call *c, int mod, lrp_error *err, bool *fail)
{
    const lrp_tensor *B = layer_bias(c);
    *fail = false;
    if (!B || c->rule->zero_bias)
        return NULL;
    if (mod < 0)
        return lrp_reals(B);
    const lrp_real *b = cached(c, B, mod, &c->cache->b[mod], &c->cache->have_b[mod], err);
    *fail = !b;
    return b;
}

/* --------------------------------------------------------- layer products */

/* A buffer for f(x; W, b): not zeroed when the layer's kernel writes it all. */
static lrp_tensor *like_out(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_value *v = lrp_node_out(c->g, c->n, 0);
    return c->n->op->overwrites ? lrp_tensor_new_uninit(LRP_REAL_DT, v->ndim, v->dims, err)
                                : lrp_tensor_new(LRP_REAL_DT, v->ndim, v->dims, err);
}

/* Whether x, a forward value (or made of forward values alone) of a call
 * whose forward values are copies of one sample, can be computed on for one
 * sample: then the products are computed once and copied. */
static bool shared_input(const lrp_rule_call *c, const lrp_tensor *x)
{
    return c->shared > 1 && x->ndim >= 1 && (x->dims[0] == c->shared || x->dims[0] == 1) &&
           c->R->dims[0] == c->shared && lrp_const_per_sample(c, x->ndim);
}

bool lrp_shared_one(const lrp_rule_call *c, const lrp_tensor *t)
{
    return c->shared > 1 && t->ndim >= 1 && t->dims[0] == 1 && c->R->ndim >= 1 && c->R->dims[0] == c->shared;
}

/* The first sample of x (a view; x itself when it holds one). */
static lrp_tensor first_sample(const lrp_tensor *x)
{
    lrp_tensor v = *x;
    v.dims[0] = 1;
    v.numel = x->dims[0] ? x->numel / x->dims[0] : 0;
    return v;
}

/* z (copies blocks of `per` values) filled with `copies` copies of each block of p. */
static void copy_blocks(lrp_real *z, const lrp_real *p, int64_t blocks, int64_t per, int64_t copies)
{
    for (int64_t k = 0; k < blocks; k++)
        for (int64_t b = 0; b < copies; b++)
            memcpy(z + (k * copies + b) * per, p + k * per, sizeof(lrp_real) * (size_t)per);
}

lrp_tensor *lrp_layer_new(const lrp_rule_call *c, const lrp_tensor *x, const lrp_real *W, const lrp_real *b,
                          lrp_error *err)
{
    if (shared_input(c, x)) {
        lrp_tensor x1 = first_sample(x);
        lrp_tensor *z1 = lrp_layer_sample_new(c, &x1, W, b, err);
        const lrp_value *v = lrp_node_out(c->g, c->n, 0);
        lrp_tensor *z = z1 ? lrp_tensor_new_uninit(LRP_REAL_DT, v->ndim, v->dims, err) : NULL;
        if (z)
            copy_blocks(lrp_reals(z), lrp_reals(z1), 1, z1->numel, c->shared);
        lrp_tensor_free(z1);
        return z;
    }
    lrp_gemm_count(c, LRP_COUNT_FWD, (double)x->dims[0] / (double)c->R->dims[0]);
    lrp_tensor *z = like_out(c, err);
    if (!z)
        return NULL;
    if (c->n->op->linear->apply(c->n, x, W, b, z, err) != LRP_OK) {
        lrp_tensor_free(z);
        return NULL;
    }
    return z;
}

lrp_tensor *lrp_layer_t_new(const lrp_rule_call *c, const lrp_tensor *g, const lrp_real *W, const lrp_tensor *xlike,
                            lrp_error *err)
{
    lrp_gemm_count(c, LRP_COUNT_T, 1.0);
    lrp_tensor like = *xlike; /* one sample's forward value in a shared sweep: shaped for every copy */
    if (lrp_shared_one(c, xlike) && g->ndim >= 1 && g->dims[0] == c->shared) {
        like.dims[0] = c->shared;
        like.numel = xlike->numel * c->shared;
    }
    lrp_tensor *t = lrp_tensor_like(&like, err);
    if (!t)
        return NULL;
    if (c->n->op->linear->apply_t(c->n, g, W, t, err) != LRP_OK) {
        lrp_tensor_free(t);
        return NULL;
    }
    return t;
}

const lrp_tensor *lrp_layer_z(const lrp_rule_call *c, const lrp_real *W, lrp_tensor **own, lrp_error *err)
{
    *own = NULL;
    if (!c->rule->zero_bias && c->out)
        return c->out;
    bool fail;
    const lrp_real *b = lrp_mod_bias(c, -1, err, &fail);
    return *own = lrp_layer_new(c, c->in[0], W, b, err);
}

/* ------------------------------------------------------------- sign halves */

/* x⁺ (neg 0) or x⁻ (neg 1) as a new tensor. */
static lrp_tensor *clamp_new(const lrp_tensor *x, int neg, lrp_error *err)
{
    lrp_tensor *t = lrp_tensor_like(x, err);
    if (!t)
        return NULL;
    const lrp_real *s = lrp_reals(x);
    lrp_real *d = lrp_reals(t);
    int64_t n = x->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        d[i] = neg ? (s[i] < 0.0f ? s[i] : 0.0f) : (s[i] > 0.0f ? s[i] : 0.0f);
    return t;
}

/* Whether some element is < 0 (NaN and -0 are not). In blocks of 256 whose
 * compares are or-ed without a branch (vectorized), then tested: after a
 * ReLU every block is scanned, and one branch per element cost a ResNet-50
 * explanation 1.5%. */
static bool any_negative(const lrp_tensor *x)
{
    const lrp_real *p = lrp_reals(x);
    const int64_t n = x->numel;
    int64_t i = 0;
    for (; i + 256 <= n; i += 256) {
        int neg = 0;
        for (int j = 0; j < 256; j++)
            neg |= p[i + j] < 0.0f;
        if (neg)
            return true;
    }
    for (; i < n; i++)
        if (p[i] < 0.0f)
            return true;
    return false;
}

lrp_status lrp_sign_split_new(lrp_sign_split *s, const lrp_tensor *x, lrp_error *err)
{
    s->x = s->xpos = x;
    s->xp = s->xn = NULL;
    if (!any_negative(x))
        return LRP_OK;
    if (!(s->xp = clamp_new(x, 0, err)) || !(s->xn = clamp_new(x, 1, err)))
        return lrp_rule_oom(err);
    s->xpos = s->xp;
    return LRP_OK;
}

void lrp_sign_split_free(lrp_sign_split *s)
{
    lrp_tensor_free(s->xp);
    lrp_tensor_free(s->xn);
    s->xp = s->xn = NULL;
}

/* z <- m·R / s(z), in place; m as lrp_sign_half takes it. */
static void masked_ratio(const lrp_tensor *R, lrp_tensor *z, const lrp_tensor *mask, int mask_sign, lrp_real eps)
{
    const lrp_real *r = lrp_reals(R), *m = mask ? lrp_reals(mask) : NULL;
    lrp_real *d = lrp_reals(z);
    int64_t n = R->numel;
    if (mask_sign > 0) {
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++)
            d[i] = (m[i] > 0.0f ? r[i] : 0.0f * r[i]) / lrp_stabilize(d[i], eps);
    } else if (mask_sign < 0) {
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++)
            d[i] = (m[i] < 0.0f ? r[i] : 0.0f * r[i]) / lrp_stabilize(d[i], eps);
    } else {
        LRP_PAR_FOR
        for (int64_t i = 0; i < n; i++)
            d[i] = r[i] / lrp_stabilize(d[i], eps);
    }
}

lrp_status lrp_sign_half(const lrp_rule_call *c, const lrp_sign_split *s, const lrp_real *W1, const lrp_real *W2,
                         const lrp_real *b1, const lrp_tensor *mask, int mask_sign, lrp_tensor **T1, lrp_tensor **T2,
                         lrp_tensor **zkeep, lrp_error *err)
{
    lrp_tensor *z = lrp_layer_new(c, s->xpos, W1, b1, err), *t = NULL;
    if (!z)
        return lrp_rule_oom(err);
    if (s->xn) {
        if (!(t = lrp_layer_new(c, s->xn, W2, NULL, err))) {
            lrp_tensor_free(z);
            return lrp_rule_oom(err);
        }
        lrp_add_inplace(z, t);
        lrp_tensor_free(t);
    }
    if (zkeep)
        lrp_tensor_free(*zkeep);
    if (zkeep && !(*zkeep = lrp_tensor_clone(z, err))) {
        lrp_tensor_free(z);
        return lrp_rule_oom(err);
    }
    masked_ratio(c->R, z, mask, mask_sign, c->rule->eps); /* z now holds g */
    lrp_status st = LRP_OK;
    if (!(*T1 = lrp_layer_t_new(c, z, W1, s->x, err)) || (s->xn && !(*T2 = lrp_layer_t_new(c, z, W2, s->x, err))))
        st = lrp_rule_oom(err);
    lrp_tensor_free(z);
    return st;
}

/* ------------------------------------------------- stacked weight pairs */

/* [src modified by a; src modified by b] into a new block of 2n, reusing
 * what *have already holds (copied: the same values). */
static lrp_real *pair_block(const lrp_rule_call *c, const lrp_tensor *t, int a, int b, lrp_real **slot, bool *have,
                            lrp_error *err)
{
    const int64_t n = t->numel;
    lrp_real *v = malloc(sizeof(lrp_real) * (size_t)(2 * n > 0 ? 2 * n : 1));
    if (!v) {
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory for modified weights");
        return NULL;
    }
    const int mods[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (have[mods[k]])
            memcpy(v + k * n, slot[mods[k]], sizeof(lrp_real) * (size_t)n);
        else
            modify(lrp_reals(t), v + k * n, n, mods[k], c->rule->gamma);
    }
    for (int k = 0; k < 2; k++) {
        free(slot[mods[k]]);
        have[mods[k]] = true;
    }
    slot[a] = v;
    slot[b] = v + n;
    return v;
}

const lrp_real *lrp_mod_weight_pair(const lrp_rule_call *c, int a, int b, bool *fail, lrp_error *err)
{
    lrp_weight_cache *k = c->cache;
    *fail = false;
    if (k->pair_w)
        return k->pw_a == a && k->pw_b == b ? k->w[a] : NULL;
    lrp_real *v = pair_block(c, lrp_layer_weight(c), a, b, k->w, k->have_w, err);
    if (!v) {
        *fail = true;
        return NULL;
    }
    k->pair_w = true;
    k->pw_a = (unsigned char)a;
    k->pw_b = (unsigned char)b;
    return v;
}

const lrp_real *lrp_mod_bias_pair(const lrp_rule_call *c, int a, int b, bool *fail, lrp_error *err)
{
    lrp_weight_cache *k = c->cache;
    const lrp_tensor *B = layer_bias(c);
    *fail = false;
    if (!B || c->rule->zero_bias)
        return NULL;
    if (k->pair_b) {
        *fail = !(k->pb_a == a && k->pb_b == b); /* not a failure of memory: the caller falls back */
        return *fail ? NULL : k->b[a];
    }
    lrp_real *v = pair_block(c, B, a, b, k->b, k->have_b, err);
    if (!v) {
        *fail = true;
        return NULL;
    }
    k->pair_b = true;
    k->pb_a = (unsigned char)a;
    k->pb_b = (unsigned char)b;
    return v;
}

/* f(x; Wa, ba) and f(x; Wb, bb) in one stacked product: a new tensor of
 * twice the batch, [a; b]. */
static lrp_tensor *layer_pair_new(const lrp_rule_call *c, const lrp_tensor *x, const lrp_real *W, const lrp_real *b,
                                  lrp_error *err)
{
    const lrp_value *v = lrp_node_out(c->g, c->n, 0);
    const bool one = shared_input(c, x);
    lrp_tensor x1 = one ? first_sample(x) : *x;
    int64_t dims[LRP_MAX_DIMS];
    for (int i = 0; i < v->ndim; i++)
        dims[i] = v->dims[i];
    dims[0] = 2 * x1.dims[0];
    lrp_gemm_count(c, LRP_COUNT_FWD, 2.0 * (double)x1.dims[0] / (double)c->R->dims[0]);
    lrp_tensor *z = lrp_tensor_new_uninit(LRP_REAL_DT, v->ndim, dims, err);
    if (z && c->n->op->linear->apply_stacked(c->n, &x1, 2, W, b, z, err) != LRP_OK) {
        lrp_tensor_free(z);
        return NULL;
    }
    if (!z || !one)
        return z;
    /* [a; b] for one sample: each half copied for every sample */
    dims[0] = 2 * c->shared;
    lrp_tensor *zz = lrp_tensor_new_uninit(LRP_REAL_DT, v->ndim, dims, err);
    if (zz)
        copy_blocks(lrp_reals(zz), lrp_reals(z), 2, z->numel / 2, c->shared);
    lrp_tensor_free(z);
    return zz;
}

/* A view of half k of a stacked pair (shaped like R). */
static lrp_tensor pair_half(const lrp_tensor *p, const lrp_tensor *R, int k)
{
    lrp_tensor v = *R;
    v.data = lrp_reals(p) + k * R->numel;
    return v;
}

lrp_status lrp_sign_halves(const lrp_rule_call *c, const lrp_sign_split *s, int mod_a, int mod_b,
                           const lrp_tensor *mask, lrp_tensor **T, bool *done, lrp_error *err)
{
    *done = false;
    const lrp_linear *L = c->n->op->linear;
    if (!lrp_rule_on_layer(c) || !L->can_stack || !L->apply_stacked || !L->can_stack(c->n))
        return LRP_OK;
    bool fw, fb;
    const lrp_real *W = lrp_mod_weight_pair(c, mod_a, mod_b, &fw, err);
    if (fw)
        return lrp_rule_oom(err);
    const lrp_real *b = W ? lrp_mod_bias_pair(c, mod_a, mod_b, &fb, err) : NULL;
    if (!W || fb)
        return err && err->status != LRP_OK ? err->status : LRP_OK; /* another pair is cached: the plain way */
    const int64_t nw = lrp_layer_weight(c)->numel;
    const lrp_real *Wa = W, *Wb = W + nw;
    lrp_tensor *P = layer_pair_new(c, s->xpos, W, b, err), *Q = NULL;
    if (!P)
        return lrp_rule_oom(err);
    lrp_tensor z1 = pair_half(P, c->R, 0), z2 = pair_half(P, c->R, 1);
    if (s->xn) {
        if (!(Q = layer_pair_new(c, s->xn, W, NULL, err))) {
            lrp_tensor_free(P);
            return lrp_rule_oom(err);
        }
        lrp_tensor q1 = pair_half(Q, c->R, 1), q0 = pair_half(Q, c->R, 0);
        lrp_add_inplace(&z1, &q1); /* f(x⁺; Wa, ba) + f(x⁻; Wb, 0) */
        lrp_add_inplace(&z2, &q0); /* f(x⁺; Wb, bb) + f(x⁻; Wa, 0) */
        lrp_tensor_free(Q);
    }
    lrp_status st = LRP_OK;
    if (c->kept && !mask && c->shared <= 1 && !c->rule->unsigned_eps) { /* both z for the adjoint */
        lrp_tensor_free(c->kept[LRP_KEPT_Z]);
        lrp_tensor_free(c->kept[LRP_KEPT_Z2]);
        if (!(c->kept[LRP_KEPT_Z] = lrp_tensor_clone(&z1, err)) ||
            !(c->kept[LRP_KEPT_Z2] = lrp_tensor_clone(&z2, err)))
            st = lrp_rule_oom(err);
    }
    masked_ratio(c->R, &z1, mask, mask ? 1 : 0, c->rule->eps);
    masked_ratio(c->R, &z2, mask, mask ? -1 : 0, c->rule->eps);
    if (st != LRP_OK || !(T[0] = lrp_layer_t_new(c, &z1, Wa, s->x, err)) ||
        (s->xn && !(T[1] = lrp_layer_t_new(c, &z1, Wb, s->x, err))) ||
        !(T[2] = lrp_layer_t_new(c, &z2, Wb, s->x, err)) ||
        (s->xn && !(T[3] = lrp_layer_t_new(c, &z2, Wa, s->x, err))))
        st = lrp_rule_oom(err);
    lrp_tensor_free(P);
    *done = st == LRP_OK;
    return st;
}

/* ------------------------------------------ products independent of x */

/* The shapes a constant product depends on: the output's and the input's, batch left out. */
static void const_key(const lrp_rule_call *c, int64_t *key)
{
    const lrp_tensor *x = c->in[0] ? c->in[0] : c->gin[0];
    for (int i = 0; i < LRP_MAX_DIMS; i++) {
        key[i] = i + 1 < c->R->ndim ? c->R->dims[i + 1] : -1;
        key[LRP_MAX_DIMS + i] = x && i + 1 < x->ndim ? x->dims[i + 1] : -1;
    }
}

lrp_real *lrp_const_product(const lrp_rule_call *c, int64_t n, bool *have, lrp_error *err)
{
    lrp_weight_cache *k = c->cache;
    int64_t key[2 * LRP_MAX_DIMS];
    const_key(c, key);
    *have = k->z && k->z_n == n && !memcmp(key, k->z_key, sizeof key);
    if (*have) {
        lrp_gemm_count(c, LRP_COUNT_CACHED, 0.0);
        return k->z;
    }
    free(k->z);
    k->z_n = 0; /* until lrp_const_product_done */
    if (!(k->z = malloc(sizeof(lrp_real) * (size_t)(n > 0 ? n : 1))))
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory for a cached product");
    return k->z;
}

bool lrp_const_per_sample(const lrp_rule_call *c, int xndim)
{
    return xndim == c->R->ndim && xndim >= 2 && c->R->dims[0] > 0;
}

lrp_tensor *lrp_layer_sample_new(const lrp_rule_call *c, const lrp_tensor *x, const lrp_real *W, const lrp_real *b,
                                 lrp_error *err)
{
    const lrp_value *v = lrp_node_out(c->g, c->n, 0);
    int64_t dims[LRP_MAX_DIMS];
    for (int i = 0; i < v->ndim; i++)
        dims[i] = i ? v->dims[i] : x->dims[0];
    lrp_gemm_count(c, LRP_COUNT_FWD, (double)x->dims[0] / (double)c->R->dims[0]);
    lrp_tensor *z = c->n->op->overwrites ? lrp_tensor_new_uninit(LRP_REAL_DT, v->ndim, dims, err)
                                         : lrp_tensor_new(LRP_REAL_DT, v->ndim, dims, err);
    if (z && c->n->op->linear->apply(c->n, x, W, b, z, err) != LRP_OK) {
        lrp_tensor_free(z);
        return NULL;
    }
    return z;
}

void lrp_const_product_done(const lrp_rule_call *c, int64_t n)
{
    c->cache->z_n = n;
    const_key(c, c->cache->z_key);
}

/* ---------------------------------------------------------- elementwise */

lrp_tensor *lrp_rule_ratio_new(const lrp_rule_call *c, const lrp_tensor *R, const lrp_tensor *z, lrp_error *err)
{
    if (!c->rule->unsigned_eps)
        return lrp_ratio_new(R, z, c->rule->eps, err);
    lrp_tensor *g = lrp_tensor_like(R, err);
    if (!g)
        return NULL;
    const lrp_real *r = lrp_reals(R), *zz = lrp_reals(z);
    lrp_real *d = lrp_reals(g), eps = c->rule->eps;
    int64_t n = R->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        d[i] = r[i] / (zz[i] + eps);
    return g;
}

lrp_tensor *lrp_ratio_new(const lrp_tensor *R, const lrp_tensor *z, lrp_real eps, lrp_error *err)
{
    lrp_tensor *g = lrp_tensor_like(R, err);
    if (!g)
        return NULL;
    const lrp_real *r = lrp_reals(R), *zz = lrp_reals(z);
    lrp_real *d = lrp_reals(g);
    int64_t n = R->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        d[i] = r[i] / lrp_stabilize(zz[i], eps);
    return g;
}

void lrp_add_product(lrp_tensor *acc, const lrp_tensor *x, const lrp_tensor *t)
{
    lrp_real *a = lrp_reals(acc);
    const lrp_real *xp = lrp_reals(x), *tp = lrp_reals(t);
    int64_t n = acc->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        a[i] += xp[i] * tp[i];
}

lrp_tensor *lrp_product_new(const lrp_tensor *x, const lrp_tensor *t, lrp_error *err)
{
    lrp_tensor *p = lrp_tensor_new_uninit(LRP_REAL_DT, x->ndim, x->dims, err);
    if (!p)
        return NULL;
    lrp_real *a = lrp_reals(p);
    const lrp_real *xp = lrp_reals(x), *tp = lrp_reals(t);
    int64_t n = p->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        a[i] = xp[i] * tp[i];
    return p;
}

void lrp_tensors_free(lrp_tensor **t, int n)
{
    for (int i = 0; i < n; i++) {
        lrp_tensor_free(t[i]);
        t[i] = NULL;
    }
}

void lrp_add_inplace(lrp_tensor *a, const lrp_tensor *b)
{
    lrp_real *ap = lrp_reals(a);
    const lrp_real *bp = lrp_reals(b);
    int64_t n = a->numel;
    LRP_PAR_FOR
    for (int64_t i = 0; i < n; i++)
        ap[i] += bp[i];
}

lrp_tensor *lrp_ones_new(int ndim, const int64_t *dims, lrp_error *err)
{
    lrp_tensor *t = lrp_tensor_new_uninit(LRP_REAL_DT, ndim, dims, err);
    if (!t)
        return NULL;
    lrp_real *d = lrp_reals(t);
    for (int64_t i = 0; i < t->numel; i++)
        d[i] = 1.0f;
    return t;
}

/* ------------------------------------------------------------ gradients */

lrp_status lrp_grad_into(const lrp_rule_call *c, const lrp_tensor *const *in, const lrp_tensor *out,
                         const lrp_tensor *gout, lrp_tensor **tmp, lrp_error *err)
{
    const lrp_node *n = c->n;
    for (int i = 0; i < n->n_inputs; i++)
        tmp[i] = NULL;
    for (int i = 0; i < n->n_inputs; i++)
        if (c->gin[i] && !(tmp[i] = lrp_tensor_like(c->gin[i], err)))
            return lrp_rule_oom(err);
    return n->op->backward(n, in, out, gout, tmp, err);
}

void lrp_grad_free(const lrp_node *n, lrp_tensor **tmp)
{
    for (int i = 0; i < n->n_inputs; i++)
        lrp_tensor_free(tmp[i]);
}

int lrp_activation_input(const lrp_rule_call *c)
{
    for (int i = 0; i < c->n->n_inputs; i++)
        if (c->gin[i])
            return i;
    return -1;
}
