/* The gradient of an explanation, G = u · ∂R(x)/∂x (reverse over reverse).
 * The explanation runs as lrp_explain's, keeping every forward value and the
 * relevance at every value. Then the adjoint sweep, in forward order: the
 * cotangent of the relevance at the input is u; each node's rule adjoint
 * (rules/rule.h, lrp_adjoint_call) takes the cotangents of the relevance it
 * sent to its inputs to the cotangent of the relevance it received and adds
 * the cotangents of its forward values. The seed's cotangent reaches the
 * target logit with --seed-logit. Last, one ordinary gradient sweep of the
 * forward graph (ReLU masks and max-pooling routing as the forward pass had
 * them) takes every activation's cotangent to the input. */
#include "lrp/explain.h"

#include "base/error.h"
#include "base/tensor.h"
#include "engine/backward.h"
#include "engine/forward.h"
#include "engine/model.h"
#include "graph/shape_infer.h"
#include "lrp/rules/rule.h"

#include <stdlib.h>
#include <string.h>

#define MAX_IN 256

typedef struct grad_run {
    lrp_explainer *e;
    lrp_explainer_plan plan;
    const lrp_graph *g;
    lrp_tensor *x;
    int64_t N, C;
    int64_t *targets;
    lrp_tensor **vals, **rel, **ubar, **abar; /* per value */
    unsigned char *detach;                    /* per node */
    unsigned char *dead;                      /* per value: its cotangent is ignored where it is 0 */
    lrp_tensor **kept;                        /* per node, LRP_KEPT_N: what a rule left its adjoint */
    unsigned char *moved;                     /* per node: a pass node whose relevance moved through */
} grad_run;

static void run_free(grad_run *r)
{
    lrp_tensor **arr[4] = {r->vals, r->rel, r->ubar, r->abar};
    for (int a = 0; a < 4; a++)
        if (arr[a]) {
            lrp_vals_clear(r->g, arr[a]);
            free(arr[a]);
        }
    if (r->kept)
        for (int i = 0; i < r->g->n_nodes * LRP_KEPT_N; i++)
            lrp_tensor_free(r->kept[i]);
    free(r->kept);
    free(r->moved);
    free(r->detach);
    free(r->dead);
    free(r->targets);
    lrp_tensor_free(r->x);
}

static lrp_status oom(lrp_error *err) { return lrp_rule_oom(err); }

/* The tensor at slot, created zero shaped like value v when absent. */
static lrp_tensor *slot_of(const lrp_graph *g, lrp_tensor **slot, int v, lrp_error *err)
{
    if (!*slot)
        *slot = lrp_tensor_new(LRP_REAL_DT, g->values[v].ndim, g->values[v].dims, err);
    return *slot;
}

/* The first-order sweep's per-node work: the node's rule. */
static lrp_status rule_step(void *ctx, const lrp_backward_step *s, lrp_error *err)
{
    grad_run *r = ctx;
    const lrp_rule_call call = {s->g,
                                s->n,
                                &r->plan.rules[s->node],
                                &r->plan.caches[s->node],
                                s->in,
                                s->out,
                                s->R,
                                s->gin,
                                0,
                                r->kept + (size_t)s->node * LRP_KEPT_N};
    return lrp_rule_apply(&call, err);
}

/* The seed at the output: 1 or the logit at each sample's target. */
static lrp_status make_seed(grad_run *r, const int64_t *targets, lrp_seed seed, lrp_error *err)
{
    int out = lrp_explainer_model(r->e)->output;
    const lrp_tensor *y = r->vals[out];
    r->C = r->N ? y->numel / r->N : 0;
    if (!(r->targets = calloc((size_t)r->N + 1, sizeof *r->targets)) || !(r->rel[out] = lrp_tensor_like(y, err)))
        return oom(err);
    for (int64_t b = 0; b < r->N; b++) {
        const lrp_real *l = lrp_reals(y) + b * r->C;
        int64_t t = 0;
        lrp_status st = lrp_target_class(l, r->C, targets ? targets[b] : -1, &t, err);
        if (st != LRP_OK)
            return st;
        lrp_reals(r->rel[out])[b * r->C + t] = seed == LRP_SEED_LOGIT ? l[t] : 1.0f;
        r->targets[b] = t;
    }
    return LRP_OK;
}

static bool passes_constant(lrp_rule_kind k) { return k == LRP_RULE_GRADIENT || k == LRP_RULE_PASS; }

/* zennit's second order under a constant seed: a rule-hooked node whose
 * incoming relevance does not depend on x (it reaches the node from the seed
 * through plain gradients and pass rules only) has a constant inner VJP. */
static lrp_status plan_detach(grad_run *r, bool zennit, lrp_seed seed, lrp_error *err)
{
    const lrp_graph *g = r->g;
    if (!(r->detach = calloc((size_t)g->n_nodes + 1, 1)))
        return oom(err);
    if (!zennit || seed != LRP_SEED_ONE)
        return LRP_OK;
    unsigned char *varies = calloc((size_t)g->n_values + 1, 1);
    if (!varies)
        return oom(err);
    for (int k = g->n_order - 1; k >= 0; k--) {
        int ni = g->order[k];
        const lrp_node *n = &g->nodes[ni];
        int ov = n->outputs[0];
        if (lrp_node_is_static(g, n) || ov < 0 || (!r->rel[ov] && !r->moved[ni]))
            continue;
        lrp_rule_kind kind = r->plan.rules[ni].kind;
        bool constant = !varies[ov];
        r->detach[ni] = constant && !passes_constant(kind);
        bool sends_varying = !constant || (kind != LRP_RULE_GRADIENT && kind != LRP_RULE_PASS &&
                                           kind != LRP_RULE_FLAT && kind != LRP_RULE_WSQUARE);
        for (int i = 0; i < n->n_inputs && sends_varying; i++)
            if (n->inputs[i] >= 0 && !g->values[n->inputs[i]].constant)
                varies[n->inputs[i]] = 1;
    }
    free(varies);
    return LRP_OK;
}

/* The values whose cotangent the gradient sweep ignores wherever the value
 * is 0: the output of an op whose gradient is 0 there (lrp_op.dead_at_zero:
 * ReLU, ReLU6), and a pooling or a view of such a value (these are >= 0; a
 * pooling of them is 0 only where its whole window is; a max routes to an
 * element equal to it). The layer rules' adjoints skip the terms that only
 * reach those elements. */
static lrp_status plan_dead(grad_run *r, lrp_error *err)
{
    const lrp_graph *g = r->g;
    if (!(r->dead = calloc((size_t)g->n_values + 1, 1)))
        return oom(err);
    for (int k = 0; k < g->n_order; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        int ov = n->outputs[0], iv = n->n_inputs > 0 ? n->inputs[0] : -1;
        if (ov < 0 || iv < 0 || n->n_inputs > MAX_IN || lrp_node_is_static(g, n))
            continue;
        const lrp_tensor *in[MAX_IN];
        for (int i = 0; i < n->n_inputs; i++)
            in[i] = lrp_value_tensor(g, r->vals, n->inputs[i]);
        lrp_group grp = n->op->group ? n->op->group(g, n) : LRP_GROUP_OTHER;
        if ((in[0] && n->op->dead_at_zero && n->op->dead_at_zero(n, in)) ||
            (r->dead[iv] && (grp == LRP_GROUP_MAXPOOL || grp == LRP_GROUP_AVGPOOL || n->op->view)))
            r->dead[ov] = 1;
    }
    return LRP_OK;
}

/* u at the input: ones, R, or R - T. */
static lrp_status make_cotangent(grad_run *r, const lrp_tensor *R, const lrp_relevance_grad_options *o, lrp_tensor **u,
                                 lrp_error *err)
{
    if (!(*u = lrp_tensor_like(R, err)))
        return oom(err);
    lrp_real *d = lrp_reals(*u);
    const lrp_real *rr = lrp_reals(R);
    if (o->cotangent == LRP_COTANGENT_FN) {
        if (!o->cotangent_fn)
            return lrp_fail(err, LRP_ERR_ARG, "LRP_COTANGENT_FN needs a cotangent_fn");
        return o->cotangent_fn(o->ctx, R, *u, err);
    }
    if (o->cotangent == LRP_COTANGENT_TARGET) {
        const lrp_tensor *T = o->target;
        int64_t per = r->N ? R->numel / r->N : 0;
        if (!T || T->dtype != LRP_REAL_DT || (T->numel != R->numel && T->numel != per))
            return lrp_fail(err, LRP_ERR_SHAPE, "the relevance-gradient target T must be shaped like the input");
        const lrp_real *t = lrp_reals(T);
        for (int64_t i = 0; i < R->numel; i++)
            d[i] = rr[i] - t[T->numel == R->numel ? i : i % per];
    } else {
        for (int64_t i = 0; i < R->numel; i++)
            d[i] = o->cotangent == LRP_COTANGENT_SELF ? rr[i] : 1.0f;
    }
    return LRP_OK;
}

/* One node of the adjoint sweep (at position k of the order). */
static lrp_status adjoint_step(grad_run *r, int k, lrp_error *err)
{
    const lrp_graph *g = r->g;
    int ni = g->order[k];
    const lrp_node *n = &g->nodes[ni];
    int ov = n->outputs[0];
    if (lrp_node_is_static(g, n) || ov < 0)
        return LRP_OK;
    if (r->moved[ni]) { /* a pass node whose relevance moved through: ū passes unchanged (pass's adjoint) */
        for (int i = 0; i < n->n_inputs; i++) {
            int v = n->inputs[i];
            if (v < 0 || g->values[v].constant)
                continue;
            if (!slot_of(g, &r->ubar[v], v, err) || !slot_of(g, &r->ubar[ov], ov, err))
                return oom(err);
            lrp_add_inplace(r->ubar[ov], r->ubar[v]);
        }
        return LRP_OK;
    }
    if (!r->rel[ov])
        return LRP_OK;
    if (n->n_inputs > MAX_IN)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs");
    const lrp_tensor *in[MAX_IN], *u[MAX_IN];
    lrp_tensor *gin[MAX_IN];
    for (int i = 0; i < n->n_inputs; i++) {
        int v = n->inputs[i];
        in[i] = lrp_value_tensor(g, r->vals, v);
        u[i] = NULL;
        gin[i] = NULL;
        if (v < 0 || g->values[v].constant)
            continue;
        if (!slot_of(g, &r->ubar[v], v, err) || !(gin[i] = slot_of(g, &r->abar[v], v, err)))
            return oom(err);
        u[i] = r->ubar[v];
    }
    if (!slot_of(g, &r->ubar[ov], ov, err) || !slot_of(g, &r->abar[ov], ov, err))
        return oom(err);
    const lrp_adjoint_call a = {
        {g, n, &r->plan.rules[ni], &r->plan.caches[ni], in, r->vals[ov], r->rel[ov], gin, 0,
         r->kept + (size_t)ni * LRP_KEPT_N},
        u,
        r->ubar[ov],
        r->abar[ov],
        r->detach[ni] != 0,
        n->n_inputs > 0 && n->inputs[0] >= 0 && r->dead[n->inputs[0]] != 0,
    };
    lrp_status st = lrp_rule_adjoint(&a, err);
    if (st != LRP_OK) {
        lrp_error_prefix(err, "%s", g->path);
        return st;
    }
    lrp_tensor_free(r->rel[ov]);
    r->rel[ov] = NULL;
    return LRP_OK;
}

/* The adjoint sweep, in forward order. */
static lrp_status adjoint_sweep(grad_run *r, lrp_error *err)
{
    const lrp_graph *g = r->g;
    const lrp_model *m = lrp_explainer_model(r->e);
    /* what is done with is freed as the sweep goes, for the memory that
     * follows: a node's R after its adjoint, a value's ū after its last
     * consumer's (last[v], a position in the order) */
    int *last = malloc(sizeof *last * ((size_t)g->n_values + 1));
    if (!last)
        return oom(err);
    for (int v = 0; v < g->n_values; v++)
        last[v] = -1;
    for (int k = 0; k < g->n_order; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        for (int i = 0; i < n->n_inputs; i++)
            if (n->inputs[i] >= 0)
                last[n->inputs[i]] = k;
    }
    lrp_status st = LRP_OK;
    for (int k = 0; k < g->n_order && st == LRP_OK; k++) {
        st = adjoint_step(r, k, err);
        const lrp_node *n = &g->nodes[g->order[k]];
        for (int i = 0; i < n->n_inputs; i++) {
            int v = n->inputs[i];
            if (v >= 0 && last[v] == k && v != m->input && v != m->output) {
                lrp_tensor_free(r->ubar[v]);
                r->ubar[v] = NULL;
            }
        }
    }
    free(last);
    return st;
}

/* The ordinary gradient sweep of the forward graph: abar to the input. */
static lrp_status gradient_sweep(grad_run *r, lrp_error *err)
{
    const lrp_graph *g = r->g;
    for (int k = g->n_order - 1; k >= 0; k--) {
        int ni = g->order[k];
        const lrp_node *n = &g->nodes[ni];
        int ov = n->outputs[0];
        if (lrp_node_is_static(g, n) || ov < 0 || !r->abar[ov])
            continue;
        if (!n->op->backward)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "the second order needs this op's gradient");
        if (n->n_inputs > MAX_IN)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs");
        const lrp_tensor *in[MAX_IN];
        lrp_tensor *gin[MAX_IN];
        for (int i = 0; i < n->n_inputs; i++) {
            int v = n->inputs[i];
            in[i] = lrp_value_tensor(g, r->vals, v);
            gin[i] = NULL;
            if (v >= 0 && !g->values[v].constant && !(gin[i] = slot_of(g, &r->abar[v], v, err)))
                return oom(err);
        }
        lrp_status st = n->op->backward(n, in, r->vals[ov], r->abar[ov], gin, err);
        if (st != LRP_OK) {
            lrp_error_prefix(err, "%s", g->path);
            return st;
        }
    }
    return LRP_OK;
}

/* The relevance-shaped result in the caller's shape, taken from *slot. */
static lrp_tensor *take_as(lrp_tensor **slot, const lrp_tensor *like, const lrp_tensor *input, lrp_error *err)
{
    lrp_tensor *t = *slot;
    *slot = NULL;
    if (!t && !(t = lrp_tensor_like(like, err)))
        return NULL;
    t->ndim = input->ndim;
    memcpy(t->dims, input->dims, sizeof t->dims);
    return t;
}

static lrp_status relevance_grad(grad_run *r, const lrp_tensor *input, const int64_t *targets, lrp_seed seed,
                                 const lrp_relevance_grad_options *o, lrp_tensor **relevance, lrp_tensor **grad,
                                 lrp_tensor **logits, int64_t *targets_out, lrp_error *err)
{
    lrp_explainer *e = r->e;
    lrp_model *m = lrp_explainer_model(e);
    lrp_status st = lrp_model_conform_input(m, input, &r->x, err);
    if (st != LRP_OK || (st = lrp_model_prepare(m, r->x->ndim, r->x->dims, err)) != LRP_OK ||
        (st = lrp_explainer_assign(e, err)) != LRP_OK)
        return st;
    lrp_explainer_plan_get(e, &r->plan);
    const lrp_graph *g = r->g = m->g;
    r->N = r->x->dims[0];
    size_t nv = (size_t)g->n_values + 1;
    unsigned char *keep = malloc(nv);
    if (!keep || !(r->vals = calloc(nv, sizeof *r->vals)) || !(r->rel = calloc(nv, sizeof *r->rel)) ||
        !(r->ubar = calloc(nv, sizeof *r->ubar)) || !(r->abar = calloc(nv, sizeof *r->abar)) ||
        !(r->kept = calloc((size_t)g->n_nodes * LRP_KEPT_N + 1, sizeof *r->kept)) ||
        !(r->moved = calloc((size_t)g->n_nodes + 1, 1))) {
        free(keep);
        return oom(err);
    }
    memset(keep, 1, nv);
    const lrp_tensor *ins[1] = {r->x};
    st = lrp_forward_ex(g, ins, keep, r->plan.exact, r->vals, err);
    free(keep);
    if (st != LRP_OK)
        return st;
    if (lrp_find_nonfinite(r->vals[m->output]) >= 0)
        return lrp_model_nonfinite(m, ins, r->plan.exact, err);
    if ((st = make_seed(r, targets, seed, err)) != LRP_OK)
        return st;
    if (logits) {
        int64_t dims[2] = {r->N, r->C};
        if (!(*logits = lrp_tensor_new(LRP_REAL_DT, 2, dims, err)))
            return oom(err);
        memcpy((*logits)->data, r->vals[m->output]->data, sizeof(lrp_real) * (size_t)(r->N * r->C));
    }
    lrp_backward b = {.apply = rule_step, .ctx = r, .pass = r->plan.pass, .keep = true, .moved = r->moved};
    if ((st = lrp_backward_run(g, r->vals, r->rel, &b, r->N, err)) != LRP_OK)
        return st;
    int xin = m->input;
    if (!slot_of(g, &r->rel[xin], xin, err))
        return oom(err);
    if (lrp_find_nonfinite(r->rel[xin]) >= 0)
        return lrp_fail(err, LRP_ERR_NUMERIC, "%s: the relevance at the input '%s' is not finite", g->path,
                        g->values[xin].name);
    if ((st = plan_detach(r, o->zennit != 0, seed, err)) != LRP_OK || (st = plan_dead(r, err)) != LRP_OK ||
        (st = make_cotangent(r, r->rel[xin], o, &r->ubar[xin], err)) != LRP_OK ||
        (st = adjoint_sweep(r, err)) != LRP_OK)
        return st;
    int out = m->output;
    if (seed == LRP_SEED_LOGIT && r->ubar[out]) { /* s = f_k e_k: its cotangent reaches the logit */
        if (!slot_of(g, &r->abar[out], out, err))
            return oom(err);
        for (int64_t bb = 0; bb < r->N; bb++) {
            int64_t q = bb * r->C + r->targets[bb];
            lrp_reals(r->abar[out])[q] += lrp_reals(r->ubar[out])[q];
        }
    }
    if (o->logit_fn) { /* a loss term on the logits, dL/dlogits into the output's cotangent */
        if (!slot_of(g, &r->abar[out], out, err))
            return oom(err);
        int64_t dims[2] = {r->N, r->C};
        lrp_tensor *lbar = lrp_tensor_new(LRP_REAL_DT, 2, dims, err);
        if (!lbar)
            return oom(err);
        lrp_tensor lv = *r->vals[out];
        lv.ndim = 2;
        lv.dims[0] = r->N;
        lv.dims[1] = r->C;
        st = o->logit_fn(o->ctx, &lv, lbar, err);
        if (st == LRP_OK)
            for (int64_t q = 0; q < r->N * r->C; q++)
                lrp_reals(r->abar[out])[q] += lrp_reals(lbar)[q];
        lrp_tensor_free(lbar);
        if (st != LRP_OK)
            return st;
    }
    if ((st = gradient_sweep(r, err)) != LRP_OK)
        return st;
    if (lrp_find_nonfinite(r->abar[xin] ? r->abar[xin] : r->rel[xin]) >= 0)
        return lrp_fail(err, LRP_ERR_NUMERIC, "%s: the relevance gradient at the input is not finite", g->path);
    if (!(*grad = take_as(&r->abar[xin], r->rel[xin], input, err)))
        return oom(err);
    if (relevance && !(*relevance = take_as(&r->rel[xin], r->x, input, err)))
        return oom(err);
    if (targets_out)
        memcpy(targets_out, r->targets, sizeof(int64_t) * (size_t)r->N);
    return LRP_OK;
}

lrp_status lrp_explain_relevance_grad(lrp_explainer *e, const lrp_tensor *input, const int64_t *targets, lrp_seed seed,
                                      const lrp_relevance_grad_options *o, lrp_tensor **relevance, lrp_tensor **grad,
                                      lrp_tensor **logits, int64_t *targets_out, lrp_error *err)
{
    lrp_relevance_grad_options def = {LRP_COTANGENT_ONES, NULL, 0, NULL, NULL, NULL};
    *grad = NULL;
    if (relevance)
        *relevance = NULL;
    if (logits)
        *logits = NULL;
    lrp_exec saved;
    lrp_explainer_exec_enter(e, &saved);
    grad_run r = {.e = e};
    lrp_status st = relevance_grad(&r, input, targets, seed, o ? o : &def, relevance, grad, logits, targets_out, err);
    run_free(&r);
    lrp_exec_leave(&saved);
    if (st != LRP_OK) {
        lrp_tensor_free(*grad);
        *grad = NULL;
        if (relevance) {
            lrp_tensor_free(*relevance);
            *relevance = NULL;
        }
        if (logits) {
            lrp_tensor_free(*logits);
            *logits = NULL;
        }
    }
    return st;
}
