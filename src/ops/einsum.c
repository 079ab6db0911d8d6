/* Einsum: a sum of products over labelled axes, for one or two float operands, in explicit ("bij,bjk->bik") or
 * implicit form ("ij,jk", whose output is the labels that appear once, in alphabetical order). Each label appears
 * at most once per operand; ellipses and repeated labels within an operand (traces, diagonals) are refused.
 *
 * One operand is a permutation and a sum over the labels the output lacks. Two operands become a batched matrix
 * product on lrp's GEMM kernels: the labels in both operands and the output are the batch, those in one operand
 * and the output its rows (M) or columns (N), those in both operands only the contraction (K); a label in one
 * operand only is summed out first. An operand already laid out as (batch, M, K) or (batch, K, M) ((batch, K, N)
 * or (batch, N, K)) is used in place, others are copied into that layout; so is the output. Every element is
 * summed in a fixed order: the results do not depend on the thread count. */
#include "ops/kernels/eltwise_kernels.h"
#include "ops/kernels/gemm_kernels.h"
#include "ops/op.h"
#include "base/tensor.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define N_LABELS 52 /* a-z, A-Z */

typedef struct {
    int nops;
    int rank[2];
    int lab[2][LRP_MAX_DIMS]; /* label ids of each operand's axes */
    int nout;
    int out[LRP_MAX_DIMS];
} einsum_state;

static int label_id(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + c - 'A';
    return -1;
}

/* Reads one term (the labels of an operand or of the output) of eq; spaces are skipped. */
static lrp_status parse_term(const lrp_node *n, const char *eq, const char *s, const char *end, int *labs, int *count,
                             lrp_error *err)
{
    *count = 0;
    for (; s < end; s++) {
        if (*s == ' ')
            continue;
        if (*s == '.')
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "ellipsis in equation '%s' is not supported", eq);
        int id = label_id(*s);
        if (id < 0)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "character '%c' in equation '%s'", *s, eq);
        for (int j = 0; j < *count; j++)
            if (labs[j] == id)
                return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                                     "label '%c' repeated in a term of equation '%s' (trace or diagonal) is not "
                                     "supported",
                                     *s, eq);
        if (*count == LRP_MAX_DIMS)
            return lrp_node_fail(err, n, LRP_ERR_LIMIT, "a term of equation '%s' has more than %d labels", eq,
                                 LRP_MAX_DIMS);
        labs[(*count)++] = id;
    }
    return LRP_OK;
}

static bool has_label(const int *labs, int count, int id)
{
    for (int j = 0; j < count; j++)
        if (labs[j] == id)
            return true;
    return false;
}

/* The output of the implicit form: the labels that appear exactly once, in alphabetical (ASCII) order. */
static void implicit_output(einsum_state *s)
{
    int times[N_LABELS] = {0};
    for (int k = 0; k < s->nops; k++)
        for (int j = 0; j < s->rank[k]; j++)
            times[s->lab[k][j]]++;
    s->nout = 0;
    for (int c = 26; c < N_LABELS; c++) /* upper case first */
        if (times[c] == 1)
            s->out[s->nout++] = c;
    for (int c = 0; c < 26; c++)
        if (times[c] == 1)
            s->out[s->nout++] = c;
}

static lrp_status einsum_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    einsum_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    const char *eq = lrp_attr_string(n, "equation", NULL);
    if (!eq)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the 'equation' attribute is missing");
    const char *arrow = strstr(eq, "->"), *lhs_end = arrow ? arrow : eq + strlen(eq);
    const char *t = eq;
    for (;;) {
        const char *comma = memchr(t, ',', (size_t)(lhs_end - t)), *term_end = comma ? comma : lhs_end;
        if (s->nops == 2)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                                 "equation '%s' has more than two operands, which is not supported", eq);
        lrp_status st = parse_term(n, eq, t, term_end, s->lab[s->nops], &s->rank[s->nops], err);
        if (st != LRP_OK)
            return st;
        s->nops++;
        if (!comma)
            break;
        t = comma + 1;
    }
    if (s->nops != n->n_inputs)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "equation '%s' has %d operands for %d inputs", eq, s->nops,
                             n->n_inputs);
    if (!arrow) {
        implicit_output(s);
        return LRP_OK;
    }
    lrp_status st = parse_term(n, eq, arrow + 2, arrow + strlen(arrow), s->out, &s->nout, err);
    if (st == LRP_ERR_UNSUPPORTED && !strchr(arrow, '.'))
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "a label is repeated in the output of equation '%s'", eq);
    if (st != LRP_OK)
        return st;
    for (int j = 0; j < s->nout; j++)
        if (!has_label(s->lab[0], s->rank[0], s->out[j]) &&
            !(s->nops > 1 && has_label(s->lab[1], s->rank[1], s->out[j])))
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "an output label of equation '%s' is in no operand", eq);
    return LRP_OK;
}

/* ------------------------------------------------------------------ plan */

/* Axes of a layout: labels, their sizes and, for the tensor read, its strides by label. */
typedef struct {
    int n;
    int lab[LRP_MAX_DIMS];
} layout;

static void push(layout *l, int id) { l->lab[l->n++] = id; }

static void cat3(layout *dst, const layout *a, const layout *b, const layout *c)
{
    dst->n = 0;
    const layout *parts[3] = {a, b, c};
    for (int p = 0; p < 3; p++)
        for (int j = 0; j < parts[p]->n; j++)
            push(dst, parts[p]->lab[j]);
}

static bool same_seq(const layout *l, const int *labs, int count)
{
    if (l->n != count)
        return false;
    for (int j = 0; j < count; j++)
        if (l->lab[j] != labs[j])
            return false;
    return true;
}

static int64_t numel_of(const layout *l, const int64_t *size)
{
    int64_t p = 1;
    for (int j = 0; j < l->n; j++)
        p *= size[l->lab[j]];
    return p;
}

/* Row-major strides of a layout, by label (0 for labels it lacks). */
static void strides_of(const int *labs, int count, const int64_t *size, int64_t *st)
{
    memset(st, 0, sizeof(int64_t) * N_LABELS);
    int64_t s = 1;
    for (int j = count - 1; j >= 0; j--) {
        st[labs[j]] = s;
        s *= size[labs[j]];
    }
}

typedef struct {
    int ia, ib;           /* inputs that are the product's A and B */
    layout bat, m, nn, k; /* batch, rows, columns, contraction */
    layout sa, sb;        /* labels only A (B) has: summed out first */
    layout pa, pb, pc;    /* the layouts of the product: (bat, m, k), (bat, k, nn), (bat, m, nn) */
    int64_t nbatch, M, N, K;
    bool a_direct, a_t, b_direct, b_t, c_direct;
} plan;

static void plan_roles(const einsum_state *s, int ia, plan *p)
{
    const int ib = 1 - ia;
    const int *la = s->lab[ia], *lb = s->lab[ib];
    const int ra = s->rank[ia], rb = s->rank[ib];
    memset(p, 0, sizeof *p);
    p->ia = ia;
    p->ib = ib;
    for (int j = 0; j < s->nout; j++) {
        bool ina = has_label(la, ra, s->out[j]), inb = has_label(lb, rb, s->out[j]);
        push(ina && inb ? &p->bat : ina ? &p->m : &p->nn, s->out[j]);
    }
    for (int j = 0; j < ra; j++)
        if (!has_label(s->out, s->nout, la[j]))
            push(has_label(lb, rb, la[j]) ? &p->k : &p->sa, la[j]);
    for (int j = 0; j < rb; j++)
        if (!has_label(s->out, s->nout, lb[j]) && !has_label(la, ra, lb[j]))
            push(&p->sb, lb[j]);
    cat3(&p->pa, &p->bat, &p->m, &p->k);
    cat3(&p->pb, &p->bat, &p->k, &p->nn);
    cat3(&p->pc, &p->bat, &p->m, &p->nn);
    layout alt;
    p->a_direct = p->sa.n == 0 && same_seq(&p->pa, la, ra);
    cat3(&alt, &p->bat, &p->k, &p->m);
    if (!p->a_direct && p->sa.n == 0 && same_seq(&alt, la, ra))
        p->a_direct = p->a_t = true;
    p->b_direct = p->sb.n == 0 && same_seq(&p->pb, lb, rb);
    cat3(&alt, &p->bat, &p->nn, &p->k);
    if (!p->b_direct && p->sb.n == 0 && same_seq(&alt, lb, rb))
        p->b_direct = p->b_t = true;
    p->c_direct = same_seq(&p->pc, s->out, s->nout);
}

/* The product's roles, A and B swapped when that lets it write the output in place. */
static void make_plan(const einsum_state *s, const int64_t *size, plan *p)
{
    plan_roles(s, 0, p);
    if (!p->c_direct) {
        plan q;
        plan_roles(s, 1, &q);
        if (q.c_direct)
            *p = q;
    }
    p->nbatch = numel_of(&p->bat, size);
    p->M = numel_of(&p->m, size);
    p->N = numel_of(&p->nn, size);
    p->K = numel_of(&p->k, size);
}

/* ----------------------------------------------------------------- infer */

/* The size of every label from the operands' dims; -1 when two axes of one label differ. */
static int label_sizes(const einsum_state *s, const int *ndims, const int64_t *const *dims, int64_t *size)
{
    for (int c = 0; c < N_LABELS; c++)
        size[c] = -1;
    for (int k = 0; k < s->nops; k++)
        for (int j = 0; j < s->rank[k]; j++) {
            int64_t d = dims[k][j];
            if (size[s->lab[k][j]] >= 0 && size[s->lab[k][j]] != d)
                return -1;
            size[s->lab[k][j]] = d;
        }
    return 0;
}

static lrp_status einsum_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    const einsum_state *s = n->state;
    const char *eq = lrp_attr_string(n, "equation", "");
    int ndims[2];
    const int64_t *dims[2];
    char sh[160];
    for (int k = 0; k < s->nops; k++) {
        const lrp_value *v = lrp_node_in(g, n, k);
        if (v->dtype != LRP_REAL_DT)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only float tensors are supported");
        if (v->ndim != s->rank[k])
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "input %d of shape %s for %d labels in equation '%s'", k,
                                 lrp_shape_str(v->ndim, v->dims, sh, sizeof sh), s->rank[k], eq);
        ndims[k] = v->ndim;
        dims[k] = v->dims;
    }
    int64_t size[N_LABELS], out[LRP_MAX_DIMS];
    if (label_sizes(s, ndims, dims, size) != 0)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "axes of one label have different sizes in equation '%s'", eq);
    for (int j = 0; j < s->nout; j++)
        out[j] = size[s->out[j]];
    if (s->nops == 2) {
        plan p;
        make_plan(s, size, &p);
        if (p.M > INT32_MAX || p.N > INT32_MAX || p.K > INT32_MAX)
            return lrp_node_fail(err, n, LRP_ERR_LIMIT, "matrix dimensions too large");
    }
    lrp_set_output(g, n, 0, LRP_REAL_DT, s->nout, out);
    return LRP_OK;
}

/* ---------------------------------------------------------------- gather */

/* dst[o] = (or +=) the sum over the inner axes of src[Σ idx * ost + Σ jdx * ist], o running row-major over the
 * outer axes (od); each element summed on its own, in double, in the order of the inner axes. */
typedef struct {
    int no, ni;
    int64_t od[LRP_MAX_DIMS], os[LRP_MAX_DIMS], id[LRP_MAX_DIMS], is[LRP_MAX_DIMS];
} gather_spec;

static int64_t offset_of(int64_t flat, int nd, const int64_t *d, const int64_t *st)
{
    int64_t off = 0;
    for (int j = nd - 1; j >= 0 && flat; j--) {
        off += (flat % d[j]) * st[j];
        flat /= d[j];
    }
    return off;
}

static void gather(const gather_spec *gs, const lrp_real *src, lrp_real *dst, bool add)
{
    int64_t nout = 1, nin = 1;
    for (int j = 0; j < gs->no; j++)
        nout *= gs->od[j];
    for (int j = 0; j < gs->ni; j++)
        nin *= gs->id[j];
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (nout * nin > LRP_PAR_MIN)
    for (int64_t o = 0; o < nout; o++) {
        const lrp_real *so = src + offset_of(o, gs->no, gs->od, gs->os);
        double acc = 0;
        for (int64_t i = 0; i < nin; i++)
            acc += so[offset_of(i, gs->ni, gs->id, gs->is)];
        dst[o] = add ? dst[o] + (lrp_real)acc : (lrp_real)acc;
    }
}

/* Outer axes: the layout `to` (contiguous in dst); src is laid out as `from` (its strides by label, 0 where it
 * lacks one); inner axes: `sum`, read with the same strides. */
static void gather_by(const int *to, int nto, const int *from, int nfrom, const layout *sum, const int64_t *size,
                      const lrp_real *src, lrp_real *dst, bool add)
{
    int64_t st[N_LABELS];
    strides_of(from, nfrom, size, st);
    gather_spec gs = {.no = nto, .ni = sum ? sum->n : 0};
    for (int j = 0; j < nto; j++) {
        gs.od[j] = size[to[j]];
        gs.os[j] = st[to[j]];
    }
    for (int j = 0; j < gs.ni; j++) {
        gs.id[j] = size[sum->lab[j]];
        gs.is[j] = st[sum->lab[j]];
    }
    gather(&gs, src, dst, add);
}

/* --------------------------------------------------------------- forward */

static void sizes_of(const einsum_state *s, const lrp_tensor *const *in, int64_t *size)
{
    int ndims[2];
    const int64_t *dims[2];
    for (int k = 0; k < s->nops; k++) {
        ndims[k] = in[k]->ndim;
        dims[k] = in[k]->dims;
    }
    label_sizes(s, ndims, dims, size);
}

/* The operands of the product in its layouts: the inputs themselves where direct, else copies (*owned). */
static lrp_status operands(const einsum_state *s, const plan *p, const int64_t *size, const lrp_tensor *const *in,
                           const lrp_real **a, const lrp_real **b, lrp_real **owned, lrp_error *err)
{
    int64_t na = p->a_direct ? 0 : numel_of(&p->pa, size), nb = p->b_direct ? 0 : numel_of(&p->pb, size);
    *owned = NULL;
    if (na + nb) {
        *owned = malloc(sizeof(lrp_real) * (size_t)(na + nb));
        if (!*owned)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    const lrp_real *xa = lrp_reals(in[p->ia]), *xb = lrp_reals(in[p->ib]);
    *a = p->a_direct ? xa : *owned;
    *b = p->b_direct ? xb : *owned + na;
    if (!p->a_direct)
        gather_by(p->pa.lab, p->pa.n, s->lab[p->ia], s->rank[p->ia], &p->sa, size, xa, *owned, false);
    if (!p->b_direct)
        gather_by(p->pb.lab, p->pb.n, s->lab[p->ib], s->rank[p->ib], &p->sb, size, xb, *owned + na, false);
    return LRP_OK;
}

static lrp_status einsum_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out,
                                 lrp_error *err)
{
    const einsum_state *s = n->state;
    int64_t size[N_LABELS];
    sizes_of(s, in, size);
    lrp_real *y = lrp_reals(out[0]);
    if (s->nops == 1) {
        layout sum = {0};
        for (int j = 0; j < s->rank[0]; j++)
            if (!has_label(s->out, s->nout, s->lab[0][j]))
                push(&sum, s->lab[0][j]);
        gather_by(s->out, s->nout, s->lab[0], s->rank[0], &sum, size, lrp_reals(in[0]), y, false);
        return LRP_OK;
    }
    plan p;
    make_plan(s, size, &p);
    if (out[0]->numel == 0 || p.K == 0)
        return LRP_OK; /* the output is zero-filled */
    const lrp_real *a, *b;
    lrp_real *owned, *c = y;
    lrp_status st = operands(s, &p, size, in, &a, &b, &owned, err);
    if (st != LRP_OK)
        return st;
    if (!p.c_direct && !(c = malloc(sizeof(lrp_real) * (size_t)out[0]->numel))) {
        free(owned);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    const int64_t M = p.M, N = p.N, K = p.K, lda = p.a_t ? M : K, ldb = p.b_t ? K : N;
    for (int64_t t = 0; t < p.nbatch; t++)
        lrp_sgemm(p.a_t, p.b_t, M, N, K, 1.0f, a + t * M * K, lda, b + t * K * N, ldb, 0.0f, c + t * M * N, N);
    if (!p.c_direct) {
        gather_by(s->out, s->nout, p.pc.lab, p.pc.n, NULL, size, c, y, false);
        free(c);
    }
    free(owned);
    return LRP_OK;
}

/* -------------------------------------------------------------- backward */

/* gA += gC op(B)ᵀ and gB += op(A)ᵀ gC per batch, in the product's layouts (g* as laid out: (K, M) when a_t). */
static void product_grads(const plan *p, const lrp_real *a, const lrp_real *b, const lrp_real *gc, lrp_real *ga,
                          lrp_real *gb)
{
    const int64_t M = p->M, N = p->N, K = p->K, lda = p->a_t ? M : K, ldb = p->b_t ? K : N;
    for (int64_t t = 0; t < p->nbatch; t++) {
        const lrp_real *at = a + t * M * K, *bt = b + t * K * N, *gt = gc + t * M * N;
        if (ga && !p->a_t)
            lrp_sgemm(false, !p->b_t, M, K, N, 1.0f, gt, N, bt, ldb, 1.0f, ga + t * M * K, K);
        else if (ga)
            lrp_sgemm(p->b_t, true, K, M, N, 1.0f, bt, ldb, gt, N, 1.0f, ga + t * M * K, M);
        if (gb && !p->b_t)
            lrp_sgemm(!p->a_t, false, K, N, M, 1.0f, at, lda, gt, N, 1.0f, gb + t * K * N, N);
        else if (gb)
            lrp_sgemm(true, p->a_t, N, K, M, 1.0f, gt, N, at, lda, 1.0f, gb + t * K * N, K);
    }
}

static lrp_status einsum_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                                  const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const einsum_state *s = n->state;
    if (!gin[0] && !(s->nops > 1 && gin[1]))
        return LRP_OK;
    for (int k = 0; k < s->nops; k++)
        if (!in[k])
            return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks input %d", k);
    int64_t size[N_LABELS];
    sizes_of(s, in, size);
    const lrp_real *g = lrp_reals(gout);
    if (s->nops == 1) {
        gather_by(s->lab[0], s->rank[0], s->out, s->nout, NULL, size, g, lrp_reals(gin[0]), true);
        return LRP_OK;
    }
    plan p;
    make_plan(s, size, &p);
    if (gout->numel == 0 || p.K == 0)
        return LRP_OK;
    lrp_tensor *gx_a = gin[p.ia], *gx_b = gin[p.ib];
    int64_t na = (gx_a && !p.a_direct) ? numel_of(&p.pa, size) : 0;
    int64_t nb = (gx_b && !p.b_direct) ? numel_of(&p.pb, size) : 0, nc = p.c_direct ? 0 : gout->numel;
    const lrp_real *a, *b;
    lrp_real *owned, *tmp = NULL;
    lrp_status st = operands(s, &p, size, in, &a, &b, &owned, err);
    if (st == LRP_OK && na + nb + nc && !(tmp = calloc((size_t)(na + nb + nc), sizeof(lrp_real))))
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    if (st != LRP_OK) {
        free(owned);
        return st;
    }
    lrp_real *ga = !gx_a ? NULL : p.a_direct ? lrp_reals(gx_a) : tmp;
    lrp_real *gb = !gx_b ? NULL : p.b_direct ? lrp_reals(gx_b) : tmp + na;
    const lrp_real *gc = g;
    if (!p.c_direct) {
        gather_by(p.pc.lab, p.pc.n, s->out, s->nout, NULL, size, g, tmp + na + nb, false);
        gc = tmp + na + nb;
    }
    product_grads(&p, a, b, gc, ga, gb);
    if (gx_a && !p.a_direct)
        gather_by(s->lab[p.ia], s->rank[p.ia], p.pa.lab, p.pa.n, NULL, size, ga, lrp_reals(gx_a), true);
    if (gx_b && !p.b_direct)
        gather_by(s->lab[p.ib], s->rank[p.ib], p.pb.lab, p.pb.n, NULL, size, gb, lrp_reals(gx_b), true);
    free(tmp);
    free(owned);
    return LRP_OK;
}

const lrp_op lrp_op_einsum = {
    .type = "Einsum",
    .min_inputs = 1,
    .max_inputs = 2,
    .init = einsum_init,
    .destroy = free,
    .infer = einsum_infer,
    .forward = einsum_forward,
    .backward = einsum_backward,
    .keep = LRP_KEEP_INPUTS,
};
