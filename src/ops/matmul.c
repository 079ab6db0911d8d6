/* MatMul: numpy matmul. 1-D operands are promoted (A to a row, B to a
 * column) and the promoted dim removed from the result; batch dims
 * broadcast. A zennit Linear layer (without bias) when B is a constant
 * matrix; the canonizer may then give it a bias as a third input (not
 * accepted from ONNX files), added over the last dim. */
#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/gemm_acc64.h"
#include "ops/kernels/gemm_kernels.h"
#include "ops/op.h"
#include "base/tensor.h"

#include <stdlib.h>
#include <string.h>

/* Matrix view of a MatMul operand: batch dims and the (rows, cols) matrix. */
typedef struct {
    int nb;
    int64_t batch[LRP_MAX_DIMS];
    int64_t rows, cols;
} mat_view;

static void view_of(int ndim, const int64_t *dims, int is_b, mat_view *v)
{
    if (ndim == 1) {
        v->nb = 0;
        v->rows = is_b ? dims[0] : 1;
        v->cols = is_b ? 1 : dims[0];
        return;
    }
    v->nb = ndim - 2;
    memcpy(v->batch, dims, sizeof(int64_t) * (size_t)v->nb);
    v->rows = dims[ndim - 2];
    v->cols = dims[ndim - 1];
}

static lrp_status matmul_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const lrp_value *a = lrp_node_in(g, n, 0), *b = lrp_node_in(g, n, 1);
    char s1[160], s2[160];
    if (a->dtype != LRP_REAL_DT || b->dtype != LRP_REAL_DT)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
    if (a->ndim < 1 || b->ndim < 1)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "MatMul of a scalar");
    mat_view va, vb;
    view_of(a->ndim, a->dims, 0, &va);
    view_of(b->ndim, b->dims, 1, &vb);
    int64_t out[LRP_MAX_DIMS];
    int nb = lrp_broadcast_shape(va.nb, va.batch, vb.nb, vb.batch, out);
    if (va.cols != vb.rows || nb < 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "shapes %s and %s do not multiply",
                             lrp_shape_str(a->ndim, a->dims, s1, sizeof s1),
                             lrp_shape_str(b->ndim, b->dims, s2, sizeof s2));
    if (va.rows > INT32_MAX || vb.cols > INT32_MAX || va.cols > INT32_MAX)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "matrix dimensions too large");
    int no = nb;
    if (a->ndim > 1)
        out[no++] = va.rows;
    if (b->ndim > 1)
        out[no++] = vb.cols;
    if (no > LRP_MAX_DIMS)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "result of rank %d", no);
    const lrp_value *c = n->n_inputs > 2 ? lrp_node_in(g, n, 2) : NULL;
    if (n->n_inputs > 2 && (!c || !c->constant || !b->constant || b->ndim != 2 || a->ndim < 2 ||
                            c->constant->dtype != LRP_REAL_DT || c->constant->numel != vb.cols))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "a third input must be a bias fused by the canonizer");
    lrp_set_output(g, n, 0, LRP_REAL_DT, no, out);
    return LRP_OK;
}

/* The batch iteration: output batch index -> matrix offsets of A and B. */
typedef struct {
    mat_view a, b;
    int64_t M, K, N;
    int64_t nbatch; /* output batches */
    lrp_bcast bc;   /* over (out batch, a batch, b batch) */
    int flat;       /* B has no batch dims: A's rows can be stacked */
} mm_plan;

static int plan(const lrp_tensor *A, const lrp_tensor *B, mm_plan *p)
{
    view_of(A->ndim, A->dims, 0, &p->a);
    view_of(B->ndim, B->dims, 1, &p->b);
    p->M = p->a.rows;
    p->K = p->a.cols;
    p->N = p->b.cols;
    int64_t ob[LRP_MAX_DIMS];
    int nb = lrp_broadcast_shape(p->a.nb, p->a.batch, p->b.nb, p->b.batch, ob);
    if (nb < 0 || p->K != p->b.rows)
        return -1;
    p->nbatch = 1;
    for (int i = 0; i < nb; i++)
        p->nbatch *= ob[i];
    p->flat = p->b.nb == 0 || p->nbatch == 0;
    for (int i = 0; i < p->b.nb && !p->flat; i++)
        if (p->b.batch[i] != 1)
            break;
        else if (i == p->b.nb - 1)
            p->flat = 1; /* all of B's batch dims are 1 */
    int nds[2] = {p->a.nb, p->b.nb};
    const int64_t *ds[2] = {p->a.batch, p->b.batch};
    return lrp_bcast_init(&p->bc, nb, ob, 2, nds, ds);
}

/* Offsets (in matrices) of A and B for output batch t. */
static void batch_offsets(const mm_plan *p, int64_t t, int64_t *oa, int64_t *ob)
{
    int64_t off[LRP_BC_MAX];
    int64_t r = t / p->bc.len, i = t % p->bc.len;
    lrp_bcast_row(&p->bc, r, off);
    *oa = off[1] + i * lrp_bcast_inner(&p->bc, 1);
    *ob = off[2] + i * lrp_bcast_inner(&p->bc, 2);
}

/* y = A B (+ bias over the last dim). */
static lrp_status mm_run(const lrp_node *n, const lrp_tensor *A, const lrp_tensor *B, const lrp_real *Bd,
                         const lrp_real *bias, lrp_tensor *Y, lrp_error *err)
{
    mm_plan p;
    if (plan(A, B, &p) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "operands do not multiply");
    lrp_real *y = lrp_reals(Y);
    const lrp_real *a = lrp_reals(A);
    const int64_t M = p.M, K = p.K, N = p.N;
    lrp_real beta = 0.0f;
    if (bias) {
        for (int64_t r = 0; r < Y->numel / (N ? N : 1); r++)
            memcpy(y + r * N, bias, sizeof(lrp_real) * (size_t)N);
        beta = 1.0f;
    }
    if (Y->numel == 0)
        return LRP_OK;
    if (K == 0) {
        if (!bias)
            memset(y, 0, sizeof(lrp_real) * (size_t)Y->numel);
        return LRP_OK;
    }
    if (p.flat) {
        /* A's batches stacked: one (batches*M, K) x (K, N) product */
        int64_t rows = (A->numel / K);
        if (rows > INT32_MAX)
            return lrp_node_fail(err, n, LRP_ERR_LIMIT, "too many rows");
        if (rows * N == Y->numel) {
            lrp_sgemm(false, false, rows, N, K, 1.0f, a, K, Bd, N, beta, y, N);
            return LRP_OK;
        }
    }
    for (int64_t t = 0; t < p.nbatch; t++) {
        int64_t oa, ob;
        batch_offsets(&p, t, &oa, &ob);
        lrp_sgemm(false, false, M, N, K, 1.0f, a + oa * M * K, K, Bd + ob * K * N, N, beta, y + t * M * N, N);
    }
    return LRP_OK;
}

static lrp_status matmul_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                 lrp_error *err)
{
    /* a bias (input 2) only when the canonizer fused one into a dense MatMul */
    const lrp_real *bias = n->n_inputs > 2 && in[2] ? lrp_reals(in[2]) : NULL;
    const lrp_tensor *x = in[0], *w = in[1];
    /* such a layer in an explanation's forward pass: accumulate in double, as Gemm does */
    if (bias && lrp_forward_exact() && w->ndim == 2 && x->ndim >= 2 && w->dims[0] > 0 && w->dims[1] > 0)
        return lrp_gemm_acc64(x->numel / w->dims[0], w->dims[1], w->dims[0], false, 1.0, lrp_reals(x), lrp_reals(w),
                              1.0, bias, lrp_reals(out[0]), err);
    return mm_run(n, in[0], in[1], lrp_reals(in[1]), bias, out[0], err);
}

/* gA += g B^T, gB += A^T g, per batch (summed over broadcast batches). */
static lrp_status matmul_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                  const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0] && !gin[1])
        return LRP_OK;
    if ((gin[0] && !in[1]) || (gin[1] && !in[0]))
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks an input it needs");
    mm_plan p;
    if (plan(in[0], in[1], &p) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "operands do not multiply");
    const int64_t M = p.M, K = p.K, N = p.N;
    const lrp_real *g = lrp_reals(gout), *a = lrp_reals(in[0]), *b = lrp_reals(in[1]);
    if (gout->numel == 0 || K == 0)
        return LRP_OK;
    if (p.flat && (in[0]->numel / K) * N == gout->numel) {
        int64_t rows = in[0]->numel / K;
        if (gin[0])
            lrp_sgemm(false, true, rows, K, N, 1.0f, g, N, b, N, 1.0f, lrp_reals(gin[0]), K);
        if (gin[1])
            lrp_sgemm(true, false, K, N, rows, 1.0f, a, K, g, N, 1.0f, lrp_reals(gin[1]), N);
        return LRP_OK;
    }
    for (int64_t t = 0; t < p.nbatch; t++) {
        int64_t oa, ob;
        batch_offsets(&p, t, &oa, &ob);
        const lrp_real *gt = g + t * M * N;
        if (gin[0])
            lrp_sgemm(false, true, M, K, N, 1.0f, gt, N, b + ob * K * N, N, 1.0f, lrp_reals(gin[0]) + oa * M * K, K);
        if (gin[1])
            lrp_sgemm(true, false, K, N, M, 1.0f, a + oa * M * K, K, gt, N, 1.0f, lrp_reals(gin[1]) + ob * K * N, N);
    }
    return LRP_OK;
}

static lrp_group matmul_group(const lrp_graph *g, const lrp_node *n)
{
    const lrp_value *b = lrp_node_in(g, n, 1);
    return (b && b->constant && b->constant->ndim == 2) ? LRP_GROUP_DENSE : LRP_GROUP_OTHER;
}

/* y = x W (+ b): x (..., K), W (K, N). */
static lrp_status matmul_apply(const lrp_node *n, const lrp_tensor *x, const lrp_real *W, const lrp_real *b,
                               lrp_tensor *y, lrp_error *err)
{
    int64_t K = x->dims[x->ndim - 1], N = y->dims[y->ndim - 1];
    lrp_tensor wt = {.dtype = LRP_REAL_DT, .ndim = 2, .dims = {K, N}, .numel = K * N, .data = (void *)W};
    return mm_run(n, x, &wt, W, b, y, err);
}

/* gx += g W^T. */
static lrp_status matmul_apply_t(const lrp_node *n, const lrp_tensor *gy, const lrp_real *W, lrp_tensor *gx,
                                 lrp_error *err)
{
    int64_t K = gx->dims[gx->ndim - 1], N = gy->dims[gy->ndim - 1];
    int64_t rows = K ? gx->numel / K : 0;
    if (rows && K && N)
        lrp_sgemm(false, true, rows, K, N, 1.0f, lrp_reals(gy), N, W, N, 1.0f, lrp_reals(gx), K);
    return LRP_OK;
}

static int matmul_out_dim(const lrp_node *n) { return 1; }

static const lrp_linear matmul_linear = {matmul_apply, matmul_apply_t, 1, 2, matmul_out_dim, NULL, NULL};

const lrp_op lrp_op_matmul = {
    .type = "MatMul",
    .min_inputs = 2,
    .max_inputs = 3, /* the third: a bias the canonizer fused (matmul_infer) */
    .infer = matmul_infer,
    .forward = matmul_forward,
    .backward = matmul_backward,
    .keep = LRP_KEEP_INPUTS,
    .group = matmul_group,
    .linear = &matmul_linear,
};
