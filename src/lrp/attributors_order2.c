/* The gradient of an attribution built from copies of the input (issue 13):
 * Integrated Gradients and SmoothGrad around the explainer's composite.
 *
 * With R(z) the composite's relevance (its modified gradient) at z and u the
 * cotangent of the attribution A (1, R, A - T or a function's, as for
 * lrp_explain_relevance_grad):
 *   IG: A = (x - b) R̄, R̄ = (1/n) Σ_k R(z_k), z_k = b + α_k (x - b), α_k = k/n;
 *       u·dA/dx = u R̄ + Σ_k (α_k / n) J_R(z_k)ᵀ [u (x - b)];
 *   SmoothGrad: A = (1/n) Σ_k R(z_k), z_k = x + σ ε_k (the last one x), σ held
 *       constant (zennit takes it with .item()); u·dA/dx = (1/n) Σ_k J_R(z_k)ᵀ u.
 * Each J_R(z_k)ᵀ v is one lrp_explain_relevance_grad at z_k with the constant
 * cotangent w_k v, for the target at x: n second-order passes, one copy at a
 * time (their memory is that of one), after the attribution itself. */
#include "base/error.h"
#include "base/tensor.h"
#include "lrp/explain.h"

#include <stdlib.h>
#include <string.h>

typedef struct const_cot {
    const lrp_real *v; /* shaped like one sample */
    lrp_real w;
    int64_t per;
} const_cot;

static lrp_status fill_const(void *ctx, const lrp_tensor *R, lrp_tensor *u, lrp_error *err)
{
    const const_cot *c = ctx;
    if (R->numel != c->per)
        return lrp_fail(err, LRP_ERR_INTERNAL, "the relevance of a copy is not shaped like the input");
    lrp_real *d = u->data;
    for (int64_t i = 0; i < c->per; i++)
        d[i] = c->w * c->v[i];
    return LRP_OK;
}

/* u, the cotangent of A, as lrp_explain_relevance_grad takes it. */
static lrp_status attribution_cotangent(const lrp_relevance_grad_options *go, const lrp_tensor *A, lrp_tensor *u,
                                        lrp_error *err)
{
    lrp_real *d = u->data;
    const lrp_real *a = A->data;
    switch (go->cotangent) {
    case LRP_COTANGENT_ONES:
        for (int64_t i = 0; i < A->numel; i++)
            d[i] = 1.0f;
        return LRP_OK;
    case LRP_COTANGENT_SELF: memcpy(d, a, sizeof(lrp_real) * (size_t)A->numel); return LRP_OK;
    case LRP_COTANGENT_TARGET: {
        const lrp_tensor *T = go->target;
        if (!T || T->dtype != LRP_REAL_DT || T->numel != A->numel)
            return lrp_fail(err, LRP_ERR_SHAPE, "the relevance-gradient target T must be shaped like the input");
        for (int64_t i = 0; i < A->numel; i++)
            d[i] = a[i] - lrp_reals(T)[i];
        return LRP_OK;
    }
    case LRP_COTANGENT_FN:
        if (!go->cotangent_fn)
            return lrp_fail(err, LRP_ERR_ARG, "a cotangent function is missing");
        return go->cotangent_fn(go->ctx, A, u, err);
    }
    return lrp_fail(err, LRP_ERR_ARG, "unknown cotangent");
}

static lrp_status copies_grad(lrp_explainer *e, const lrp_attributor_options *o, const lrp_tensor *x, int64_t target,
                              lrp_seed seed, const lrp_relevance_grad_options *go, lrp_tensor **relevance,
                              lrp_tensor **grad, lrp_tensor **logits, int64_t *target_out, lrp_error *err)
{
    if (go->logit_fn)
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "a loss on the logits is not combined with %s",
                        lrp_attributor_name(o->kind));
    if (x->ndim < 1 || x->dims[0] != 1)
        return lrp_fail(err, LRP_ERR_ARG, "the gradient of %s takes one input, not a batch",
                        lrp_attributor_name(o->kind));
    const bool ig = o->kind == LRP_ATTRIBUTOR_INTEGRATED_GRADIENTS;
    const int64_t per = x->numel;
    int n = ig ? o->steps : o->samples;
    lrp_tensor *A = NULL, *lg = NULL, *C = NULL, *u = NULL, *v = NULL, *G = NULL, *Rbar = NULL;
    lrp_real *alpha = malloc(sizeof(lrp_real) * (size_t)(n > 0 ? n : 1));
    int64_t used = -1, want = target;
    lrp_status st = alpha ? LRP_OK : lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    /* the attribution itself, batched as lrp_attribute runs it, and its target */
    if (st == LRP_OK)
        st = lrp_attribute(e, o, x, &want, seed, &A, &lg, &used, err);
    if (st == LRP_OK)
        st = lrp_attributor_copies(o, x, &C, alpha, err);
    if (st == LRP_OK && (!(u = lrp_tensor_like(A, err)) || !(v = lrp_tensor_like(A, err)) ||
                         !(G = lrp_tensor_like(x, err)) || (ig && !(Rbar = lrp_tensor_like(x, err)))))
        st = err ? err->status : LRP_ERR_NOMEM;
    if (st == LRP_OK && A->numel != per)
        st = lrp_fail(err, LRP_ERR_INTERNAL, "the attribution is not shaped like the input");
    if (st == LRP_OK)
        st = attribution_cotangent(go, A, u, err);
    const lrp_real *xv = lrp_reals(x), *bv = o->baseline ? lrp_reals(o->baseline) : NULL;
    for (int64_t i = 0; st == LRP_OK && i < per; i++)
        lrp_reals(v)[i] = ig ? lrp_reals(u)[i] * (xv[i] - (bv ? bv[i] : 0.0f)) : lrp_reals(u)[i];
    const_cot cc = {st == LRP_OK ? lrp_reals(v) : NULL, 0.0f, per};
    lrp_relevance_grad_options o2 = {LRP_COTANGENT_FN, NULL, go->zennit, fill_const, NULL, &cc};
    for (int k = 0; st == LRP_OK && k < n; k++) {
        lrp_tensor z = *x; /* copy k, as a batch of one */
        z.data = lrp_reals(C) + (int64_t)k * per;
        cc.w = ig ? alpha[k] / (lrp_real)n : 1.0f / (lrp_real)n;
        lrp_tensor *Gk = NULL, *Rk = NULL;
        st = lrp_explain_relevance_grad(e, &z, &used, seed, &o2, ig ? &Rk : NULL, &Gk, NULL, NULL, err);
        for (int64_t i = 0; st == LRP_OK && i < per; i++) {
            lrp_reals(G)[i] += lrp_reals(Gk)[i];
            if (ig)
                lrp_reals(Rbar)[i] += lrp_reals(Rk)[i] / (lrp_real)n;
        }
        lrp_tensor_free(Gk);
        lrp_tensor_free(Rk);
        if (st == LRP_OK && o->progress)
            o->progress(o->progress_ctx, k + 1, n);
    }
    for (int64_t i = 0; st == LRP_OK && ig && i < per; i++) /* the product rule's other term */
        lrp_reals(G)[i] += lrp_reals(u)[i] * lrp_reals(Rbar)[i];
    if (st == LRP_OK && lrp_find_nonfinite(G) >= 0)
        st = lrp_fail(err, LRP_ERR_NUMERIC, "the gradient of the %s attribution is not finite",
                      lrp_attributor_name(o->kind));
    if (st == LRP_OK) {
        *grad = G;
        G = NULL;
        if (relevance) {
            *relevance = A;
            A = NULL;
        }
        if (logits) {
            *logits = lg;
            lg = NULL;
        }
        if (target_out)
            *target_out = used;
    }
    free(alpha);
    lrp_tensor_free(A);
    lrp_tensor_free(lg);
    lrp_tensor_free(C);
    lrp_tensor_free(u);
    lrp_tensor_free(v);
    lrp_tensor_free(G);
    lrp_tensor_free(Rbar);
    return st;
}

lrp_status lrp_attribute_relevance_grad(lrp_explainer *e, const lrp_attributor_options *o, const lrp_tensor *input,
                                        int64_t target, lrp_seed seed, const lrp_relevance_grad_options *go,
                                        lrp_tensor **relevance, lrp_tensor **grad, lrp_tensor **logits,
                                        int64_t *target_out, lrp_error *err)
{
    *grad = NULL;
    if (relevance)
        *relevance = NULL;
    if (logits)
        *logits = NULL;
    lrp_relevance_grad_options def = {LRP_COTANGENT_ONES, NULL, 0, NULL, NULL, NULL};
    if (o->kind != LRP_ATTRIBUTOR_INTEGRATED_GRADIENTS && o->kind != LRP_ATTRIBUTOR_SMOOTHGRAD)
        return lrp_fail(err, LRP_ERR_ARG, "lrp_attribute_relevance_grad: %s is not built from copies of the input",
                        lrp_attributor_name(o->kind));
    lrp_tensor *x = NULL; /* with its batch dim */
    lrp_status st = lrp_model_conform_input(lrp_explainer_model(e), input, &x, err);
    if (st == LRP_OK)
        st = copies_grad(e, o, x, target, seed, go ? go : &def, relevance, grad, logits, target_out, err);
    lrp_tensor_free(x);
    return st;
}
