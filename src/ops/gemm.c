/* Gemm: Y = alpha * op(A) op(B) + beta * C, op = transpose when transA /
 * transB is set, C broadcast to (M, N). A zennit Linear layer when it is
 * x W (+ b) with a constant 2-D weight and a constant per-output bias. */
#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/gemm_acc64.h"
#include "ops/kernels/gemm_kernels.h"
#include "ops/op.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int transA, transB;
    lrp_real alpha, beta;
} gemm_state;

static lrp_status gemm_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    gemm_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    int64_t ta = lrp_attr_int(n, "transA", 0), tb = lrp_attr_int(n, "transB", 0);
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "transA and transB must be 0 or 1 (got %lld, %lld)",
                             (long long)ta, (long long)tb);
    s->transA = (int)ta;
    s->transB = (int)tb;
    s->alpha = lrp_attr_float(n, "alpha", 1.0f);
    s->beta = lrp_attr_float(n, "beta", 1.0f);
    if (!isfinite(s->alpha) || !isfinite(s->beta))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "alpha and beta must be finite");
    return LRP_OK;
}

static lrp_status gemm_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const gemm_state *s = n->state;
    const lrp_value *a = lrp_node_in(g, n, 0), *b = lrp_node_in(g, n, 1), *c = lrp_node_in(g, n, 2);
    char s1[160], s2[160];
    if (a->dtype != LRP_REAL_DT || b->dtype != LRP_REAL_DT || (c && c->dtype != LRP_REAL_DT))
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    if (a->ndim != 2 || b->ndim != 2)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "A %s and B %s must be matrices",
                             lrp_shape_str(a->ndim, a->dims, s1, sizeof s1),
                             lrp_shape_str(b->ndim, b->dims, s2, sizeof s2));
    int64_t M = a->dims[s->transA], K = a->dims[1 - s->transA];
    int64_t Kb = b->dims[s->transB], N = b->dims[1 - s->transB];
    if (K != Kb)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "A %s%s and B %s%s do not multiply",
                             lrp_shape_str(a->ndim, a->dims, s1, sizeof s1), s->transA ? " (transposed)" : "",
                             lrp_shape_str(b->ndim, b->dims, s2, sizeof s2), s->transB ? " (transposed)" : "");
    if (K > INT32_MAX || M > INT32_MAX || N > INT32_MAX)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "matrix dimensions too large");
    int64_t out[2] = {M, N}, bc[LRP_MAX_DIMS];
    if (c) {
        if (lrp_broadcast_shape(2, out, c->ndim, c->dims, bc) != 2 || bc[0] != M || bc[1] != N)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "C %s does not broadcast to the output %s",
                                 lrp_shape_str(c->ndim, c->dims, s1, sizeof s1), lrp_shape_str(2, out, s2, sizeof s2));
    }
    lrp_set_output(g, n, 0, LRP_REAL_DT, 2, out);
    return LRP_OK;
}

/* y = alpha op(A) op(B) + beta C, for A with any number of rows. */
static lrp_status gemm_run(const lrp_node *n, int transA, int transB, lrp_real alpha, lrp_real beta,
                           const lrp_tensor *A, const lrp_real *B, const lrp_tensor *C, const lrp_real *bias,
                           lrp_tensor *Y, lrp_error *err)
{
    const int64_t M = Y->dims[0], N = Y->dims[1], K = A->dims[1 - transA];
    lrp_real *y = lrp_reals(Y);
    lrp_real cb = 0.0f;
    if (C && beta != 0.0f) {
        lrp_bcast bc;
        if (lrp_bcast_init(&bc, 2, Y->dims, 1, &C->ndim, (const int64_t *const[]){C->dims}) != 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "C does not broadcast to the output");
        const lrp_real *c = lrp_reals(C);
        const int64_t sc = lrp_bcast_inner(&bc, 1);
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t off[LRP_BC_MAX];
            lrp_bcast_row(&bc, r, off);
            for (int64_t i = 0; i < bc.len; i++)
                y[off[0] + i] = beta * c[off[1] + i * sc];
        }
        cb = 1.0f;
    } else if (bias) {
        for (int64_t m = 0; m < M; m++)
            for (int64_t j = 0; j < N; j++)
                y[m * N + j] = bias[j];
        cb = 1.0f;
    }
    if (M == 0 || N == 0)
        return LRP_OK;
    if (K == 0) {
        if (cb == 0.0f)
            for (int64_t i = 0; i < M * N; i++)
                y[i] = 0.0f;
        return LRP_OK;
    }
    lrp_sgemm(transA, transB, M, N, K, alpha, lrp_reals(A), transA ? M : K, B, transB ? K : N, cb, y, N);
    return LRP_OK;
}

static lrp_status gemm_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const gemm_state *s = n->state;
    const lrp_tensor *c = n->n_inputs > 2 ? in[2] : NULL; /* in[] has n_inputs entries */
    /* an explanation's forward pass: accumulate in double (gemm_acc64.h)
     * when C is absent or one value per output column */
    const lrp_tensor *y = out[0];
    if (lrp_forward_exact() && !s->transA &&
        (!c || (c->numel == y->dims[1] && (c->ndim == 1 || (c->ndim == 2 && c->dims[0] == 1)))))
        return lrp_gemm_acc64(y->dims[0], y->dims[1], in[0]->dims[1], s->transB, s->alpha, lrp_reals(in[0]),
                              lrp_reals(in[1]), s->beta, c ? lrp_reals(c) : NULL, lrp_reals(out[0]), err);
    return gemm_run(n, s->transA, s->transB, s->alpha, s->beta, in[0], lrp_reals(in[1]), c, NULL, out[0], err);
}

/* gA += alpha g op(B)^T (as A's layout), gB += alpha op(A)^T g (as B's
 * layout), gC += beta g summed over C's broadcast dims. */
static lrp_status gemm_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const gemm_state *s = n->state;
    const int64_t M = gout->dims[0], N = gout->dims[1];
    const lrp_real *g = lrp_reals(gout);
    if ((gin[0] && !in[1]) || (gin[1] && !in[0]))
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks an input it needs");
    if (gin[0]) {
        const int64_t K = gin[0]->dims[1 - s->transA];
        const lrp_real *B = lrp_reals(in[1]);
        if (M && N && K) {
            if (!s->transA) /* gA (M,K) = g (M,N) op(B)^T (N,K) */
                lrp_sgemm(false, !s->transB, M, K, N, s->alpha, g, N, B, s->transB ? K : N, 1.0f, lrp_reals(gin[0]),
                          K);
            else /* gA (K,M) = op(B) (K,N) g^T (N,M) */
                lrp_sgemm(s->transB, true, K, M, N, s->alpha, B, s->transB ? K : N, g, N, 1.0f, lrp_reals(gin[0]), M);
        }
    }
    if (gin[1]) {
        const int64_t K = gin[1]->dims[s->transB];
        const lrp_real *A = lrp_reals(in[0]);
        if (M && N && K) {
            if (!s->transB) /* gB (K,N) = op(A)^T (K,M) g (M,N) */
                lrp_sgemm(!s->transA, false, K, N, M, s->alpha, A, s->transA ? M : K, g, N, 1.0f, lrp_reals(gin[1]),
                          N);
            else /* gB (N,K) = g^T (N,M) op(A) (M,K) */
                lrp_sgemm(true, s->transA, N, K, M, s->alpha, g, N, A, s->transA ? M : K, 1.0f, lrp_reals(gin[1]), K);
        }
    }
    if (n->n_inputs > 2 && gin[2]) {
        lrp_bcast bc;
        if (lrp_bcast_init(&bc, 2, gout->dims, 1, &gin[2]->ndim, (const int64_t *const[]){gin[2]->dims}) != 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "C does not broadcast to the output");
        lrp_bcast_reduce(&bc, 1, g, s->beta, lrp_reals(gin[2]));
    }
    return LRP_OK;
}

/* Linear layer: transA = 0, alpha = beta = 1, constant 2-D B, C absent or a
 * constant of exactly N elements, (N) or (1, N). */
static lrp_group gemm_group(const lrp_graph *g, const lrp_node *n)
{
    const gemm_state *s = n->state;
    const lrp_value *b = lrp_node_in(g, n, 1), *c = lrp_node_in(g, n, 2);
    if (!s || s->transA || s->alpha != 1.0f || s->beta != 1.0f || !b || !b->constant || b->constant->ndim != 2)
        return LRP_GROUP_OTHER;
    if (c) {
        int64_t N = b->constant->dims[1 - s->transB];
        const lrp_tensor *ct = c->constant;
        if (!ct || ct->numel != N || !(ct->ndim == 1 || (ct->ndim == 2 && ct->dims[0] == 1)))
            return LRP_GROUP_OTHER;
    }
    return LRP_GROUP_DENSE;
}

static lrp_status gemm_apply(const lrp_node *n, const lrp_tensor *x, const lrp_real *W, const lrp_real *b,
                             lrp_tensor *y, lrp_error *err)
{
    const gemm_state *s = n->state;
    return gemm_run(n, 0, s->transB, 1.0f, 1.0f, x, W, NULL, b, y, err);
}

static lrp_status gemm_apply_t(const lrp_node *n, const lrp_tensor *gy, const lrp_real *W, lrp_tensor *gx,
                               lrp_error *err)
{
    const gemm_state *s = n->state;
    const int64_t M = gy->dims[0], N = gy->dims[1], K = gx->dims[1];
    if (M && N && K)
        lrp_sgemm(false, !s->transB, M, K, N, 1.0f, lrp_reals(gy), N, W, s->transB ? K : N, 1.0f, lrp_reals(gx), K);
    return LRP_OK;
}

static int gemm_out_dim(const lrp_node *n) { return ((const gemm_state *)n->state)->transB ? 0 : 1; }

static const lrp_linear gemm_linear = {gemm_apply, gemm_apply_t, 1, 2, gemm_out_dim, NULL, NULL};

const lrp_op lrp_op_gemm = {
    .overwrites = 1,
    .type = "Gemm",
    .min_inputs = 2,
    .max_inputs = 3,
    .init = gemm_init,
    .destroy = free,
    .infer = gemm_infer,
    .forward = gemm_forward,
    .backward = gemm_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = gemm_group,
    .linear = &gemm_linear,
};
