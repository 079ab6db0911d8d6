/* The explainer: rule assignment for a model and the plan of its runs (what
 * the forward pass keeps, which layers accumulate in double, which nodes pass
 * relevance on, the modified-weight caches), all its own, never the graph's;
 * and one explanation: the forward pass, the seed, and the reverse sweep of
 * engine/backward.h with the node's rule as its per-node work and --check or
 * the non-finite scan as its observer (zennit-reference.md §0: an ordinary
 * reverse pass in which some nodes have their input-gradient replaced by a
 * rule; relevance from several consumers is summed). */
#include "lrp/explain.h"

#include "lrp/composites.h"
#include "lrp/inside.h"
#include "base/error.h"
#include "engine/backward.h"
#include "engine/forward.h"
#include "engine/model.h"
#include "graph/shape_infer.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct lrp_explainer {
    lrp_model *m;
    int composite;
    lrp_composite_params params;
    lrp_real *low, *high; /* owned copies */
    char **overrides;
    lrp_rule *rules; /* per node index, once assigned */
    lrp_weight_cache *caches;
    int n_nodes;          /* nodes when rules were assigned */
    unsigned char *keep;  /* per value: kept by the forward pass for the rules */
    unsigned char *exact; /* per node: feeds a decision or a rule's z (exact forward) */
    unsigned char *pass;  /* per node: the rule passes relevance on unchanged */
    int threads;          /* execution choices of its calls (lrp_explain_options) */
    bool openblas, exact_forward;
    lrp_check_fn check;
    void *check_ctx;
    lrp_inside *inside; /* lrp_explainer_set_inside */
    int64_t shared;     /* during a sweep over copies of one sample's forward values: their number */
};

void lrp_explain_options_default(lrp_explain_options *o)
{
    memset(o, 0, sizeof *o);
    o->composite = "epsilon-plus-flat";
    o->epsilon = LRP_R(1e-6);
    o->stabilizer = LRP_R(1e-6);
    o->gamma = 0.25f;
    o->gamma_conv = 0.25f;
    o->gamma_linear = LRP_R(0.05);
    o->beta_smooth = 10.0f;
    o->alpha = 2.0f;
    o->beta = 1.0f;
    o->threads = lrp_exec_default_threads();
    o->openblas = lrp_exec_default_openblas();
    o->exact_forward = lrp_exec_default_exact_forward();
}

const char *lrp_composite_at(int i) { return lrp_composite_name(i); }
int lrp_composite_at_is_lrp(int i) { return lrp_composite_is_lrp(i); }

void lrp_explainer_free(lrp_explainer *e)
{
    if (!e)
        return;
    if (e->rules)
        for (int i = 0; i < e->n_nodes; i++) {
            lrp_rule_clear(&e->rules[i]);
            lrp_weight_cache_clear(&e->caches[i]);
        }
    free(e->rules);
    free(e->caches);
    free(e->keep);
    free(e->exact);
    free(e->pass);
    free(e->low);
    free(e->high);
    for (int i = 0; i < e->params.n_overrides; i++)
        free(e->overrides[i]);
    free(e->overrides);
    lrp_inside_free(e->inside);
    free(e);
}

lrp_explainer *lrp_explainer_new(lrp_model *m, const lrp_explain_options *o, lrp_error *err)
{
    lrp_explain_options def;
    if (!o) {
        lrp_explain_options_default(&def);
        o = &def;
    }
    const char *name = o->composite ? o->composite : "epsilon-plus-flat";
    int ci = lrp_composite_find(name);
    if (ci < 0) {
        char list[512];
        size_t used = 0;
        list[0] = '\0';
        for (int i = 0; lrp_composite_name(i) && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", lrp_composite_name(i));
        lrp_fail(err, LRP_ERR_ARG, "unknown composite '%s' (choose from %s)", name, list);
        return NULL;
    }
    if (o->alpha < 0 || o->beta < 0 || o->alpha - o->beta != 1.0f) {
        lrp_fail(err, LRP_ERR_ARG, "alpha-beta needs alpha, beta >= 0 and alpha - beta = 1");
        return NULL;
    }
    lrp_explainer *e = calloc(1, sizeof *e);
    if (!e) {
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    e->m = m;
    e->composite = ci;
    e->threads = lrp_exec_resolve_threads(o->threads);
    e->openblas = o->openblas != 0;
    e->exact_forward = o->exact_forward != 0;
    lrp_composite_params *p = &e->params;
    p->epsilon = o->epsilon;
    p->stabilizer = o->stabilizer;
    p->alpha = o->alpha;
    p->beta = o->beta;
    p->gamma = o->gamma;
    p->gamma_conv = o->gamma_conv;
    p->gamma_linear = o->gamma_linear;
    p->beta_smooth = o->beta_smooth;
    p->zero_bias = o->zero_bias != 0;
    p->gate_uniform = o->gate_uniform != 0;
    if (o->n_bounds > 0) {
        e->low = malloc(sizeof(lrp_real) * (size_t)o->n_bounds);
        e->high = malloc(sizeof(lrp_real) * (size_t)o->n_bounds);
        if (!e->low || !e->high)
            goto oom;
        memcpy(e->low, o->low, sizeof(lrp_real) * (size_t)o->n_bounds);
        memcpy(e->high, o->high, sizeof(lrp_real) * (size_t)o->n_bounds);
        p->n_bounds = o->n_bounds;
        p->low = e->low;
        p->high = e->high;
    }
    if (o->n_overrides > 0) {
        e->overrides = calloc((size_t)o->n_overrides, sizeof(char *));
        if (!e->overrides)
            goto oom;
        for (int i = 0; i < o->n_overrides; i++) {
            e->overrides[i] = strdup(o->overrides[i]);
            p->n_overrides = i + 1;
            if (!e->overrides[i])
                goto oom;
        }
        p->overrides = (const char *const *)e->overrides;
    }
    /* Assign now when the model's shapes are known, so that errors in --rule
     * show before any input is read. */
    if (lrp_model_is_prepared(m) && lrp_explainer_assign(e, err) != LRP_OK) {
        lrp_explainer_free(e);
        return NULL;
    }
    return e;
oom:
    lrp_explainer_free(e);
    lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    return NULL;
}

struct lrp_model *lrp_explainer_model(const lrp_explainer *e) { return e->m; }

void lrp_explainer_set_check(lrp_explainer *e, lrp_check_fn fn, void *ctx)
{
    e->check = fn;
    e->check_ctx = ctx;
}

lrp_status lrp_explainer_set_inside(lrp_explainer *e, const lrp_inside_options *o, lrp_error *err)
{
    lrp_inside_free(e->inside);
    e->inside = NULL;
    if (!o || (o->n_records <= 0 && o->n_conditions <= 0))
        return LRP_OK;
    if (!(e->inside = lrp_inside_new(e->m->g, e->m->input, o, err)))
        return err ? err->status : LRP_ERR_ARG;
    if (lrp_model_is_prepared(e->m)) { /* channels out of range show now */
        lrp_status st = lrp_inside_begin(e->inside, e->m->g, 0, err);
        if (st != LRP_OK) {
            lrp_inside_free(e->inside);
            e->inside = NULL;
        }
        return st;
    }
    return LRP_OK;
}

const lrp_tensor *lrp_explainer_recorded(const lrp_explainer *e, int i) { return lrp_inside_recorded(e->inside, i); }

lrp_status lrp_explainer_assign(lrp_explainer *e, lrp_error *err)
{
    lrp_graph *g = e->m->g;
    if (e->rules && e->n_nodes == g->n_nodes)
        return LRP_OK;
    if (e->rules) {
        for (int i = 0; i < e->n_nodes; i++) {
            lrp_rule_clear(&e->rules[i]);
            lrp_weight_cache_clear(&e->caches[i]);
        }
        free(e->rules);
        free(e->caches);
        free(e->keep);
        free(e->exact);
        free(e->pass);
        e->rules = NULL;
        e->caches = NULL;
        e->keep = NULL;
        e->exact = NULL;
        e->pass = NULL;
    }
    e->rules = calloc((size_t)g->n_nodes + 1, sizeof *e->rules);
    e->caches = calloc((size_t)g->n_nodes + 1, sizeof *e->caches);
    e->keep = calloc((size_t)g->n_values + 1, 1);
    e->exact = calloc((size_t)g->n_nodes + 1, 1);
    e->pass = calloc((size_t)g->n_nodes + 1, 1);
    if (!e->rules || !e->caches || !e->keep || !e->exact || !e->pass)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    e->n_nodes = g->n_nodes;
    lrp_status st = lrp_assign_rules(g, e->composite, &e->params, e->m->residual_sum, e->rules, err);
    if (st != LRP_OK)
        return st;
    for (int k = 0; k < g->n_order; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        unsigned keep = lrp_rule_keep(n, &e->rules[g->order[k]]);
        if (keep & LRP_KEEP_INPUTS)
            for (int i = 0; i < n->n_inputs; i++)
                if (n->inputs[i] >= 0 && !g->values[n->inputs[i]].constant)
                    e->keep[n->inputs[i]] = 1;
        if ((keep & LRP_KEEP_OUTPUT) && n->outputs[0] >= 0)
            e->keep[n->outputs[0]] = 1;
        e->pass[g->order[k]] = e->rules[g->order[k]].kind == LRP_RULE_PASS;
    }
    /* Nodes whose outputs reach a discrete decision or a rule's denominator:
     * those nodes and everything upstream of them. In reverse topological
     * order every consumer of a node comes first, so marks flow to producers
     * in one pass. */
    for (int k = g->n_order - 1; k >= 0; k--) {
        int ni = g->order[k];
        const lrp_node *n = &g->nodes[ni];
        if (lrp_rule_decides(n, &e->rules[ni]) || lrp_rule_divides(n, &e->rules[ni]))
            e->exact[ni] = 1;
        if (!e->exact[ni])
            continue;
        for (int i = 0; i < n->n_inputs; i++) {
            int v = n->inputs[i];
            if (v >= 0 && g->values[v].producer >= 0)
                e->exact[g->values[v].producer] = 1;
        }
    }
    return LRP_OK;
}

const lrp_rule *lrp_explainer_rule(const lrp_explainer *e, int node)
{
    return e->rules && node >= 0 && node < e->n_nodes ? &e->rules[node] : NULL;
}

lrp_status lrp_explainer_describe(lrp_explainer *e, FILE *out, lrp_error *err)
{
    bool prepared = lrp_model_is_prepared(e->m);
    if (!prepared && !e->m->supported)
        return lrp_model_prepare(e->m, 0, NULL, err); /* names the first unsupported operator */
    if (!prepared)
        return lrp_fail(err, LRP_ERR_ARG, "%s: the input shape is not fully declared; rules are assigned at run time",
                        e->m->g->path);
    lrp_status st = lrp_explainer_assign(e, err);
    if (st != LRP_OK)
        return st;
    const lrp_graph *g = e->m->g;
    char lb[64], rb[256];
    fprintf(out, "composite %s: %s\n", lrp_composite_name(e->composite), lrp_composite_summary(e->composite));
    for (int k = 0; k < g->n_order; k++) {
        int ni = g->order[k];
        const lrp_node *n = &g->nodes[ni];
        if (lrp_node_is_static(g, n))
            continue;
        fprintf(out, "  %-36s %-20s %-24s %s\n", lrp_node_label(g, n, lb, sizeof lb), n->op_type,
                lrp_group_name(lrp_node_group(g, n)), lrp_rule_describe(&e->rules[ni], rb, sizeof rb));
    }
    return LRP_OK;
}

/* ---------------------------------------------------------------- observers */

/* Per-sample sums of a batch-first tensor into s[0..N). */
static void sample_sums(const lrp_tensor *t, int64_t N, double *s)
{
    int64_t per = N ? t->numel / N : 0;
    for (int64_t b = 0; b < N; b++) {
        double acc = 0;
        const lrp_real *p = lrp_reals(t) + b * per;
        for (int64_t i = 0; i < per; i++)
            acc += p[i];
        s[b] = acc;
    }
}

/* --check: per-sample sums of what reached each node and what it sent,
 * and the total on the current cut of the graph, for lrp_check_fn. */
typedef struct check_observer {
    const lrp_explainer *e;
    double *r_out, *r_in, *cut, *sent; /* N each */
} check_observer;

static lrp_status check_observe(void *ctx, const lrp_backward_step *s, lrp_error *err)
{
    const check_observer *c = ctx;
    const int64_t N = s->batch;
    sample_sums(s->R, N, c->r_out);
    for (int64_t b = 0; b < N; b++)
        c->r_in[b] = 0;
    for (int i = 0; i < s->n->n_inputs; i++) {
        if (!s->gin[i])
            continue;
        sample_sums(s->gin[i], N, c->sent);
        for (int64_t b = 0; b < N; b++)
            c->r_in[b] += c->sent[b];
    }
    for (int64_t b = 0; b < N; b++)
        c->cut[b] += c->r_in[b] - c->r_out[b];
    char lb[64], rb[256];
    c->e->check(c->e->check_ctx, lrp_node_label(s->g, s->n, lb, sizeof lb), s->n->op_type,
                lrp_rule_describe(&c->e->rules[s->node], rb, sizeof rb), N, c->r_out, c->r_in, c->cut);
    return LRP_OK;
}

/* In locate mode (a rerun after a non-finite relevance), the relevance at
 * the inputs of every node is scanned after the node's rule, and the sweep
 * stops at the first node that made one non-finite. */
static lrp_status locate_observe(void *ctx, const lrp_backward_step *s, lrp_error *err)
{
    const lrp_explainer *e = ctx;
    for (int i = 0; i < s->n->n_inputs; i++) {
        int64_t at = s->gin[i] ? lrp_find_nonfinite(s->gin[i]) : -1;
        if (at < 0)
            continue;
        char rb[256];
        return lrp_node_fail(err, s->n, LRP_ERR_NUMERIC,
                             "the relevance goes non-finite here (rule %s): %s at element %lld of what it sends to "
                             "input #%d '%s'",
                             lrp_rule_describe(&e->rules[s->node], rb, sizeof rb),
                             lrp_nonfinite_name(lrp_reals(s->gin[i])[at]), (long long)at, i,
                             s->g->values[s->n->inputs[i]].name);
    }
    return LRP_OK;
}

/* --------------------------------------------------------------- one run */

#define SHARED_MAX_INPUTS 64

/* A forward value t of one sample, as the sweep over e->shared copies of
 * it needs it: t itself when it has them (or is a constant), else *own, the
 * copies shaped like the value v. */
static const lrp_tensor *shared_value(const lrp_graph *g, int v, const lrp_tensor *t, int64_t copies, lrp_tensor **own,
                                      lrp_error *err)
{
    *own = NULL;
    if (!t || v < 0 || g->values[v].constant ||
        t->numel * copies != lrp_numel_checked(g->values[v].ndim, g->values[v].dims))
        return t;
    const lrp_value *val = &g->values[v];
    if (!(*own = lrp_tensor_new_uninit(t->dtype, val->ndim, val->dims, err)))
        return NULL;
    size_t bytes = (size_t)t->numel * lrp_elem_size(t);
    for (int64_t b = 0; b < copies; b++)
        memcpy((char *)(*own)->data + (size_t)b * bytes, t->data, bytes);
    return *own;
}

/* The per-node work of the sweep: the node's rule. In a sweep over copies
 * of one sample's forward values (e->shared), the values are kept for the
 * one sample and copied for each node while it runs, so that the copies of
 * all of them never exist at once. */
static lrp_status rule_step(void *ctx, const lrp_backward_step *s, lrp_error *err)
{
    lrp_explainer *e = ctx;
    const lrp_rule *r = &e->rules[s->node];
    const int ni = s->n->n_inputs;
    const lrp_tensor *in_k[SHARED_MAX_INPUTS];
    lrp_tensor *own[SHARED_MAX_INPUTS + 1] = {NULL};
    lrp_status st = LRP_OK;
    lrp_rule_call call = {s->g, s->n, r, &e->caches[s->node], s->in, s->out, s->R, s->gin, e->shared, NULL};
    if (e->shared > 1 && !lrp_rule_takes_one(&call)) {
        if (ni > SHARED_MAX_INPUTS)
            return lrp_node_fail(err, s->n, LRP_ERR_UNSUPPORTED, "too many inputs");
        for (int i = 0; i < ni && st == LRP_OK; i++)
            if (!(in_k[i] = shared_value(s->g, s->n->inputs[i], s->in[i], e->shared, &own[i], err)) && s->in[i])
                st = err ? err->status : LRP_ERR_NOMEM;
        if (st == LRP_OK && !(call.out = shared_value(s->g, s->n->outputs[0], s->out, e->shared, &own[ni], err)) &&
            s->out)
            st = err ? err->status : LRP_ERR_NOMEM;
        call.in = in_k;
    }
    double t0 = lrp_now();
    if (st == LRP_OK)
        st = lrp_rule_apply(&call, err);
    lrp_profile_add(lrp_rule_name(r->kind), lrp_now() - t0);
    for (int i = 0; i <= ni && e->shared > 1; i++)
        lrp_tensor_free(own[i]);
    return st;
}

/* What one explanation holds while it runs (the explainer and the model
 * are only read, but for the explainer's weight caches). */
typedef struct explain_run {
    lrp_explainer *e;
    const lrp_graph *g;
    lrp_tensor *x; /* the input with its batch dim */
    int64_t N;
    lrp_tensor **vals, **rel; /* forward values and relevance, per value */
    lrp_tensor *logits;
} explain_run;

static void run_clear(explain_run *r)
{
    if (r->vals)
        lrp_vals_clear(r->g, r->vals);
    if (r->rel)
        lrp_vals_clear(r->g, r->rel);
}

static void run_close(explain_run *r)
{
    run_clear(r);
    free(r->vals);
    free(r->rel);
    lrp_tensor_free(r->logits);
    lrp_tensor_free(r->x);
}

static lrp_status run_open(lrp_explainer *e, const lrp_tensor *input, explain_run *r, lrp_error *err)
{
    lrp_model *m = e->m;
    lrp_status st = lrp_model_conform_input(m, input, &r->x, err);
    if (st != LRP_OK)
        return st;
    if ((st = lrp_model_prepare(m, r->x->ndim, r->x->dims, err)) != LRP_OK ||
        (st = lrp_explainer_assign(e, err)) != LRP_OK)
        return st;
    r->g = m->g;
    r->N = r->x->dims[0];
    r->vals = calloc((size_t)r->g->n_values, sizeof *r->vals);
    r->rel = calloc((size_t)r->g->n_values, sizeof *r->rel);
    if (!r->vals || !r->rel)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    return LRP_OK;
}

/* The forward pass, keeping what the rules need. */
static lrp_status run_forward(explain_run *r, lrp_error *err)
{
    const lrp_explainer *e = r->e;
    double t0 = lrp_now();
    const lrp_tensor *ins[1] = {r->x};
    const unsigned char *exact = e->exact_forward ? e->exact : NULL;
    lrp_status st = lrp_forward_ex(r->g, ins, e->keep, exact, r->vals, err);
    if (st != LRP_OK)
        return st;
    if (lrp_find_nonfinite(r->vals[e->m->output]) >= 0) {
        lrp_vals_clear(r->g, r->vals);
        return lrp_model_nonfinite(e->m, ins, exact, err);
    }
    lrp_profile_add("forward pass", lrp_now() - t0);
    return LRP_OK;
}

/* The logits (N, classes) and the seed at the output. */
static lrp_status run_seed(explain_run *r, lrp_seed_fn seed_fn, void *seed_ctx, lrp_error *err)
{
    int out = r->e->m->output;
    const lrp_tensor *y = r->vals[out];
    int64_t dims[2] = {r->N, r->N ? y->numel / r->N : 0};
    if (!(r->logits = lrp_tensor_new(LRP_REAL_DT, 2, dims, err)))
        return err ? err->status : LRP_ERR_NOMEM;
    memcpy(r->logits->data, y->data, sizeof(lrp_real) * (size_t)y->numel);
    if (!(r->rel[out] = lrp_tensor_like(y, err)))
        return err ? err->status : LRP_ERR_NOMEM;
    lrp_tensor view = *r->rel[out];
    view.ndim = 2;
    view.dims[0] = dims[0];
    view.dims[1] = dims[1];
    return seed_fn(seed_ctx, r->logits, &view, err);
}

/* The reverse sweep, with the --check observer or, locating, the scan. */
static lrp_status run_backward(explain_run *r, bool locate, lrp_error *err)
{
    lrp_explainer *e = r->e;
    lrp_backward b = {.apply = rule_step, .ctx = e, .pass = e->pass};
    check_observer c = {e, NULL, NULL, NULL, NULL};
    if (locate) {
        b.observe = locate_observe;
        b.observe_ctx = e;
    } else if (e->check) {
        if (!(c.r_out = calloc((size_t)(4 * r->N + 4), sizeof(double))))
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        c.r_in = c.r_out + r->N;
        c.cut = c.r_in + r->N;
        c.sent = c.cut + r->N;
        sample_sums(r->rel[e->m->output], r->N, c.cut);
        b.observe = check_observe;
        b.observe_ctx = &c;
        b.separate = true;
    }
    lrp_status st = LRP_OK;
    if (e->inside) {
        if ((st = lrp_inside_begin(e->inside, r->g, r->N, err)) != LRP_OK) {
            free(c.r_out);
            return st;
        }
        b.arrive = lrp_inside_arrive;
        b.arrive_ctx = e->inside;
        b.arrive_at = lrp_inside_nodes(e->inside);
    }
    double t0 = lrp_now();
    st = lrp_backward_run(r->g, r->vals, r->rel, &b, r->N, err);
    if (st == LRP_OK && e->inside)
        st = lrp_inside_end(e->inside, r->g, r->rel, r->N, err);
    free(c.r_out);
    if (st == LRP_OK)
        lrp_profile_add("backward pass", lrp_now() - t0);
    return st;
}

static lrp_status explain_once(lrp_explainer *e, const lrp_tensor *input, lrp_seed_fn seed_fn, void *seed_ctx,
                               lrp_tensor **relevance, lrp_tensor **logits_out, bool locate, lrp_error *err);

/* The relevance at the input, in the caller's shape (e.g. without a batch
 * dim). Non-finite: run again, scanning after every node, to name the one
 * where it began (costs a pass, on failure only). */
static lrp_status run_result(explain_run *r, const lrp_tensor *input, lrp_seed_fn seed_fn, void *seed_ctx, bool locate,
                             lrp_tensor **relevance, lrp_error *err)
{
    const lrp_model *m = r->e->m;
    lrp_tensor *rr = r->rel[m->input];
    r->rel[m->input] = NULL;
    if (!rr && !(rr = lrp_tensor_like(r->x, err)))
        return err ? err->status : LRP_ERR_NOMEM;
    rr->ndim = input->ndim;
    memcpy(rr->dims, input->dims, sizeof rr->dims);
    if (lrp_find_nonfinite(rr) < 0) {
        *relevance = rr;
        return LRP_OK;
    }
    lrp_tensor_free(rr);
    lrp_status st = LRP_OK;
    if (!locate) {
        run_clear(r);
        lrp_tensor *r2 = NULL;
        st = explain_once(r->e, input, seed_fn, seed_ctx, &r2, NULL, true, err);
        lrp_tensor_free(r2);
    }
    if (st == LRP_OK) /* not found again: say what is known */
        st = lrp_fail(err, LRP_ERR_NUMERIC, "%s: the relevance at the input '%s' is not finite", r->g->path,
                      r->g->values[m->input].name);
    return st;
}

/* One explanation: forward, seed, the reverse sweep, the result. */
static lrp_status explain_once(lrp_explainer *e, const lrp_tensor *input, lrp_seed_fn seed_fn, void *seed_ctx,
                               lrp_tensor **relevance, lrp_tensor **logits_out, bool locate, lrp_error *err)
{
    *relevance = NULL;
    if (logits_out)
        *logits_out = NULL;
    explain_run r = {.e = e};
    lrp_status st = run_open(e, input, &r, err);
    if (st == LRP_OK)
        st = run_forward(&r, err);
    if (st == LRP_OK)
        st = run_seed(&r, seed_fn, seed_ctx, err);
    if (st == LRP_OK)
        st = run_backward(&r, locate, err);
    if (st == LRP_OK)
        st = run_result(&r, input, seed_fn, seed_ctx, locate, relevance, err);
    if (st == LRP_OK && logits_out) {
        *logits_out = r.logits;
        r.logits = NULL;
    }
    run_close(&r);
    return st;
}

void lrp_explainer_exec_enter(const lrp_explainer *e, lrp_exec *saved)
{
    lrp_exec_enter(e->threads, e->openblas, saved);
}

lrp_status lrp_explain_seeded(lrp_explainer *e, const lrp_tensor *input, lrp_seed_fn seed_fn, void *seed_ctx,
                              lrp_tensor **relevance, lrp_tensor **logits_out, lrp_error *err)
{
    lrp_exec saved;
    lrp_explainer_exec_enter(e, &saved);
    lrp_status st = explain_once(e, input, seed_fn, seed_ctx, relevance, logits_out, false, err);
    lrp_exec_leave(&saved);
    return st;
}

typedef struct target_seed {
    const int64_t *targets;
    lrp_seed seed;
    int64_t *targets_out;
} target_seed;

lrp_status lrp_target_class(const lrp_real *logits, int64_t C, int64_t t, int64_t *out, lrp_error *err)
{
    if (t < 0) {
        t = 0;
        for (int64_t c = 1; c < C; c++)
            if (logits[c] > logits[t])
                t = c;
    }
    if (t >= C)
        return lrp_fail(err, LRP_ERR_ARG, "target class %lld is out of range: the model has %lld classes",
                        (long long)t, (long long)C);
    *out = t;
    return LRP_OK;
}

static lrp_status seed_targets(void *ctx, const lrp_tensor *logits, lrp_tensor *seed, lrp_error *err)
{
    const target_seed *ts = ctx;
    int64_t N = logits->dims[0], C = logits->dims[1];
    for (int64_t b = 0; b < N; b++) {
        const lrp_real *l = lrp_reals(logits) + b * C;
        int64_t t = 0;
        lrp_status st = lrp_target_class(l, C, ts->targets ? ts->targets[b] : -1, &t, err);
        if (st != LRP_OK)
            return st;
        lrp_reals(seed)[b * C + t] = ts->seed == LRP_SEED_LOGIT ? l[t] : 1.0f;
        if (ts->targets_out)
            ts->targets_out[b] = t;
    }
    return LRP_OK;
}

lrp_status lrp_explain(lrp_explainer *e, const lrp_tensor *input, const int64_t *targets, lrp_seed seed,
                       lrp_tensor **relevance, lrp_tensor **logits, int64_t *targets_out, lrp_error *err)
{
    target_seed ts = {targets, seed, targets_out};
    return lrp_explain_seeded(e, input, seed_targets, &ts, relevance, logits, err);
}

void lrp_explainer_plan_get(lrp_explainer *e, lrp_explainer_plan *p)
{
    p->rules = e->rules;
    p->caches = e->caches;
    p->exact = e->exact_forward ? e->exact : NULL;
    p->pass = e->pass;
}

/* ------------------------------------------- conditional explanations (CRP) */

/* n copies of t (one sample) along its first dimension. */
static lrp_tensor *replicate(const lrp_tensor *t, int64_t n, lrp_error *err)
{
    int64_t dims[LRP_MAX_DIMS];
    memcpy(dims, t->dims, sizeof dims);
    dims[0] *= n;
    lrp_tensor *c = lrp_tensor_new(t->dtype, t->ndim, dims, err);
    size_t bytes = (size_t)t->numel * lrp_elem_size(t);
    for (int64_t b = 0; c && b < n; b++)
        memcpy((char *)c->data + (size_t)b * bytes, t->data, bytes);
    return c;
}

/* The places of the n largest of v[0..C), largest first (equal ones by
 * place); n <= C. */
static void largest(const double *v, int64_t C, int n, int64_t *out)
{
    for (int k = 0; k < n; k++) {
        int64_t best = -1;
        for (int64_t c = 0; c < C; c++) {
            bool taken = false;
            for (int j = 0; j < k && !taken; j++)
                taken = out[j] == c;
            if (!taken && (best < 0 || v[c] > v[best]))
                best = c;
        }
        out[k] = best;
    }
}

/* The n channels of R (one sample) with the largest sums, largest first. */
static lrp_status pick_channels(const lrp_tensor *R, int n, int64_t *channels, lrp_error *err)
{
    int64_t C = R->dims[1], inner = R->numel / C;
    double *sum = malloc(sizeof *sum * (size_t)(C ? C : 1));
    if (!sum)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int64_t c = 0; c < C; c++) {
        double s = 0;
        for (int64_t q = 0; q < inner; q++)
            s += lrp_reals(R)[c * inner + q];
        sum[c] = s;
    }
    largest(sum, C, n, channels);
    free(sum);
    return LRP_OK;
}

/* The model prepared for a batch of n, for a sweep over n copies of the
 * run's one sample (the forward values are copied node by node, rule_step),
 * and with rel_too its pending relevance copied n times;
 * LRP_ERR_UNSUPPORTED when a value does not carry the batch first. */
static lrp_status run_replicate(explain_run *r, int n, bool rel_too, lrp_error *err)
{
    lrp_explainer *e = r->e;
    const lrp_graph *g = r->g;
    int64_t dims[LRP_MAX_DIMS];
    memcpy(dims, r->x->dims, sizeof dims);
    dims[0] = n;
    int n_values = g->n_values;
    lrp_status st = lrp_model_prepare(e->m, r->x->ndim, dims, err);
    if (st != LRP_OK)
        return st;
    if (g->n_values != n_values)
        return lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: the graph changes with the batch size", g->path);
    for (int v = 0; v < g->n_values; v++) {
        lrp_tensor **t[2] = {&r->vals[v], &r->rel[v]};
        for (int i = 0; i < 2; i++) {
            if (!*t[i])
                continue;
            const lrp_value *val = &g->values[v];
            if (!val->shape_known || val->ndim < 1 || val->dims[0] != n ||
                (*t[i])->numel * n != lrp_numel_checked(val->ndim, val->dims))
                return lrp_fail(err, LRP_ERR_UNSUPPORTED,
                                "%s: value '%s' does not carry the batch in its first dimension", g->path, val->name);
            if (i == 0 || !rel_too)
                continue;
            lrp_tensor *c = replicate(*t[i], n, err);
            if (!c)
                return err ? err->status : LRP_ERR_NOMEM;
            c->ndim = val->ndim;
            memcpy(c->dims, val->dims, sizeof c->dims);
            lrp_tensor_free(*t[i]);
            *t[i] = c;
        }
    }
    r->N = n;
    return LRP_OK;
}

/* Phase 2: the pending relevance copied n times (the forward values node by
 * node), the sweep from the layer down. */
static lrp_status channels_below(explain_run *r, int node, int pos, int n, const int64_t *channels, lrp_error *err)
{
    lrp_explainer *e = r->e;
    const lrp_graph *g = r->g;
    lrp_status st = run_replicate(r, n, true, err);
    if (st != LRP_OK)
        return st;
    lrp_inside *below = lrp_inside_concepts(e->inside, g, e->m->input, node, n, channels, err);
    if (!below)
        return err ? err->status : LRP_ERR_NOMEM;
    lrp_backward b = {.apply = rule_step, .ctx = e, .pass = e->pass, .ranged = true, .from = pos, .to = 0};
    b.arrive = lrp_inside_arrive;
    b.arrive_ctx = below;
    if ((st = lrp_inside_begin(below, g, n, err)) == LRP_OK) {
        b.arrive_at = lrp_inside_nodes(below);
        e->shared = n;
        st = lrp_backward_run(g, r->vals, r->rel, &b, n, err);
        e->shared = 0;
    }
    lrp_inside_free(below);
    return st;
}

static lrp_status channels_once(lrp_explainer *e, const lrp_tensor *input, int64_t target, lrp_seed seed,
                                const char *layer, int n, int64_t *channels, int pick, lrp_tensor **layer_relevance,
                                lrp_tensor **relevance, lrp_tensor **logits, int64_t *target_out, lrp_error *err)
{
    explain_run r = {.e = e};
    int64_t used = -1;
    target_seed ts = {&target, seed, &used};
    lrp_status st = run_open(e, input, &r, err);
    int node = -2, pos = -1;
    if (st == LRP_OK && r.N != 1)
        st =
            lrp_fail(err, LRP_ERR_ARG, "lrp_explain_channels explains one input, not a batch of %lld", (long long)r.N);
    if (st == LRP_OK && (node = lrp_inside_resolve(r.g, e->m->input, layer, err)) < -1)
        st = err ? err->status : LRP_ERR_ARG;
    if (st == LRP_OK && node == -1)
        st = lrp_fail(err, LRP_ERR_ARG, "%s: the concepts' layer '%s' is the model input", r.g->path, layer);
    for (int k = 0; st == LRP_OK && k < r.g->n_order && pos < 0; k++)
        pos = r.g->order[k] == node ? k : -1;
    if (st == LRP_OK && pos < 0)
        st = lrp_fail(err, LRP_ERR_ARG, "%s: %s computes a constant, which no relevance reaches", r.g->path, layer);
    const lrp_value *lv = st == LRP_OK ? &r.g->values[r.g->nodes[node].outputs[0]] : NULL;
    if (st == LRP_OK && pick && lv->ndim >= 2 && n > lv->dims[1]) { /* as many as there are */
        for (int k = (int)lv->dims[1]; k < n; k++)
            channels[k] = -1;
        n = (int)lv->dims[1];
    }
    if (st == LRP_OK && (lv->ndim < 2 || n > lv->dims[1] || n < 0))
        st = lrp_fail(err, LRP_ERR_ARG, "%s: %d channels of %s, which has %lld", r.g->path, n, layer,
                      (long long)(lv->ndim >= 2 ? lv->dims[1] : 0));
    if (st == LRP_OK)
        st = run_forward(&r, err);
    if (st == LRP_OK)
        st = run_seed(&r, seed_targets, &ts, err);
    lrp_backward b = {.apply = rule_step, .ctx = e, .pass = e->pass, .ranged = true, .to = pos + 1};
    b.from = r.g ? r.g->n_order - 1 : 0;
    if (st == LRP_OK && e->inside && (st = lrp_inside_begin(e->inside, r.g, 1, err)) == LRP_OK) {
        b.arrive = lrp_inside_arrive;
        b.arrive_ctx = e->inside;
        b.arrive_at = lrp_inside_nodes(e->inside);
    }
    if (st == LRP_OK)
        st = lrp_backward_run(r.g, r.vals, r.rel, &b, 1, err);
    int ov = st == LRP_OK ? r.g->nodes[node].outputs[0] : -1;
    lrp_tensor *R = NULL;
    if (st == LRP_OK &&
        !(R = r.rel[ov] ? lrp_tensor_clone(r.rel[ov], err) : lrp_tensor_new(LRP_REAL_DT, lv->ndim, lv->dims, err)))
        st = err ? err->status : LRP_ERR_NOMEM;
    if (st == LRP_OK) {
        R->ndim = lv->ndim;
        memcpy(R->dims, lv->dims, sizeof R->dims);
        if (pick)
            st = pick_channels(R, n, channels, err);
        for (int k = 0; k < n && st == LRP_OK; k++)
            if (channels[k] < 0 || channels[k] >= lv->dims[1])
                st = lrp_fail(err, LRP_ERR_ARG, "%s: channel %lld is out of range: the output of %s has %lld channels",
                              r.g->path, (long long)channels[k], layer, (long long)lv->dims[1]);
    }
    if (st == LRP_OK && relevance && n > 0)
        st = channels_below(&r, node, pos, n, channels, err);
    if (st == LRP_OK && relevance && n > 0) {
        lrp_tensor *rr = r.rel[e->m->input];
        r.rel[e->m->input] = NULL;
        if (!rr && !(rr = lrp_tensor_new(LRP_REAL_DT, r.x->ndim, r.g->values[e->m->input].dims, err)))
            st = err ? err->status : LRP_ERR_NOMEM;
        if (st == LRP_OK) {
            rr->ndim = r.x->ndim;
            memcpy(rr->dims, r.g->values[e->m->input].dims, sizeof rr->dims);
            if (lrp_find_nonfinite(rr) >= 0)
                st = lrp_fail(err, LRP_ERR_NUMERIC, "%s: the conditional relevance at the input is not finite",
                              r.g->path);
        }
        if (st == LRP_OK)
            *relevance = rr;
        else
            lrp_tensor_free(rr);
    }
    if (st == LRP_OK && layer_relevance) {
        *layer_relevance = R;
        R = NULL;
    }
    if (st == LRP_OK && target_out)
        *target_out = used;
    if (st == LRP_OK && logits) {
        *logits = r.logits;
        r.logits = NULL;
    }
    lrp_tensor_free(R);
    run_close(&r);
    return st;
}

lrp_status lrp_explain_channels(lrp_explainer *e, const lrp_tensor *input, int64_t target, lrp_seed seed,
                                const char *layer, int n, int64_t *channels, int pick, lrp_tensor **layer_relevance,
                                lrp_tensor **relevance, lrp_tensor **logits, int64_t *target_out, lrp_error *err)
{
    if (logits)
        *logits = NULL;
    if (layer_relevance)
        *layer_relevance = NULL;
    if (relevance)
        *relevance = NULL;
    lrp_exec saved;
    lrp_explainer_exec_enter(e, &saved);
    lrp_status st = channels_once(e, input, target, seed, layer, n, channels, pick, layer_relevance, relevance, logits,
                                  target_out, err);
    lrp_exec_leave(&saved);
    return st;
}

/* ------------------------------------------- several targets of one input */

static lrp_status targets_once(lrp_explainer *e, const lrp_tensor *input, int n, int64_t *targets, int top,
                               lrp_seed seed, lrp_tensor **relevance, lrp_tensor **logits, bool locate, lrp_error *err)
{
    explain_run r = {.e = e};
    lrp_status st = run_open(e, input, &r, err);
    if (st == LRP_OK && r.N != 1)
        st = lrp_fail(err, LRP_ERR_ARG, "lrp_explain_targets explains one input, not a batch of %lld", (long long)r.N);
    if (st == LRP_OK && n < 1)
        st = lrp_fail(err, LRP_ERR_ARG, "lrp_explain_targets: %d targets", n);
    if (st == LRP_OK)
        st = run_forward(&r, err);
    const lrp_tensor *y = st == LRP_OK ? r.vals[e->m->output] : NULL;
    const int64_t C = y ? y->numel : 0;
    if (st == LRP_OK && top && n > C)
        st = lrp_fail(err, LRP_ERR_ARG, "%s: the %d best classes of a model with %lld", r.g->path, n, (long long)C);
    double *ly = st == LRP_OK && top ? malloc(sizeof *ly * (size_t)(C ? C : 1)) : NULL;
    if (st == LRP_OK && top && !ly)
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int64_t c = 0; ly && c < C; c++)
        ly[c] = lrp_reals(y)[c];
    if (ly) /* the n best classes, largest logit first, equal ones by class number */
        largest(ly, C, n, targets);
    free(ly);
    lrp_tensor *l1 = NULL; /* the logits of the one sample */
    if (st == LRP_OK && logits && !(l1 = lrp_tensor_new(LRP_REAL_DT, 2, (int64_t[]){1, C}, err)))
        st = err ? err->status : LRP_ERR_NOMEM;
    if (l1)
        memcpy(l1->data, y->data, sizeof(lrp_real) * (size_t)C);
    if (st == LRP_OK && n > 1)
        st = run_replicate(&r, n, false, err);
    if (st == LRP_OK && n > 1) { /* the logits of every copy, for the seed */
        lrp_tensor *yn = replicate(y, n, err);
        if (!yn)
            st = err ? err->status : LRP_ERR_NOMEM;
        lrp_tensor_free(r.vals[e->m->output]);
        r.vals[e->m->output] = yn;
    }
    target_seed ts = {targets, seed, targets};
    if (st == LRP_OK)
        st = run_seed(&r, seed_targets, &ts, err);
    if (st == LRP_OK) {
        e->shared = n;
        st = run_backward(&r, locate, err);
        e->shared = 0;
    }
    lrp_tensor *rr = st == LRP_OK ? r.rel[e->m->input] : NULL;
    if (st == LRP_OK) {
        r.rel[e->m->input] = NULL;
        const lrp_value *xv = &r.g->values[e->m->input];
        if (!rr && !(rr = lrp_tensor_new(LRP_REAL_DT, xv->ndim, xv->dims, err)))
            st = err ? err->status : LRP_ERR_NOMEM;
    }
    if (st == LRP_OK) {
        /* shaped like input with n samples (input may lack the batch dim) */
        int64_t dims[LRP_MAX_DIMS];
        int nd = input->ndim;
        memcpy(dims, input->dims, sizeof dims);
        if (nd == r.x->ndim) {
            dims[0] = n;
        } else {
            memmove(dims + 1, dims, sizeof(int64_t) * (size_t)(LRP_MAX_DIMS - 1));
            dims[0] = n;
            nd++;
        }
        rr->ndim = nd;
        memcpy(rr->dims, dims, sizeof rr->dims);
        if (lrp_find_nonfinite(rr) >= 0) {
            if (!locate) { /* name the node where it began: the sweep again, scanning */
                run_clear(&r);
                lrp_tensor *r2 = NULL;
                st = targets_once(e, input, n, targets, 0, seed, &r2, NULL, true, err);
                lrp_tensor_free(r2);
            }
            if (st == LRP_OK)
                st = lrp_fail(err, LRP_ERR_NUMERIC, "%s: the relevance at the input '%s' is not finite", r.g->path,
                              r.g->values[e->m->input].name);
        }
    }
    if (st == LRP_OK) {
        *relevance = rr;
        rr = NULL;
        if (logits) {
            *logits = l1;
            l1 = NULL;
        }
    }
    lrp_tensor_free(rr);
    lrp_tensor_free(l1);
    run_close(&r);
    return st;
}

lrp_status lrp_explain_targets(lrp_explainer *e, const lrp_tensor *input, int n, int64_t *targets, int top,
                               lrp_seed seed, lrp_tensor **relevance, lrp_tensor **logits, lrp_error *err)
{
    *relevance = NULL;
    if (logits)
        *logits = NULL;
    lrp_exec saved;
    lrp_explainer_exec_enter(e, &saved);
    lrp_status st = targets_once(e, input, n, targets, top, seed, relevance, logits, false, err);
    lrp_exec_leave(&saved);
    return st;
}

/* The forward pass of lrp_explainer_activation, the layer's output kept. */
static lrp_status activation_once(lrp_explainer *e, const lrp_tensor *input, const char *layer,
                                  lrp_tensor **activation, lrp_tensor **logits, lrp_error *err)
{
    explain_run r = {.e = e};
    lrp_status st = run_open(e, input, &r, err);
    int node = -2;
    if (st == LRP_OK && (node = lrp_inside_resolve(r.g, e->m->input, layer, err)) < -1)
        st = err ? err->status : LRP_ERR_ARG;
    if (st == LRP_OK && node == -1)
        st = lrp_fail(err, LRP_ERR_ARG, "%s: the layer '%s' is the model input", r.g->path, layer);
    int ov = st == LRP_OK ? r.g->nodes[node].outputs[0] : -1;
    if (st == LRP_OK) {
        unsigned char was = e->keep[ov];
        e->keep[ov] = 1;
        st = run_forward(&r, err);
        e->keep[ov] = was;
    }
    const lrp_value *lv = st == LRP_OK ? &r.g->values[ov] : NULL;
    lrp_tensor *A = NULL;
    if (st == LRP_OK && !r.vals[ov])
        st = lrp_fail(err, LRP_ERR_ARG, "%s: %s computes a constant", r.g->path, layer);
    if (st == LRP_OK && !(A = lrp_tensor_clone(r.vals[ov], err)))
        st = err ? err->status : LRP_ERR_NOMEM;
    if (st == LRP_OK) {
        A->ndim = lv->ndim;
        memcpy(A->dims, lv->dims, sizeof A->dims);
        *activation = A;
    }
    if (st == LRP_OK && logits) {
        const lrp_tensor *y = r.vals[e->m->output];
        int64_t dims[2] = {r.N, r.N ? y->numel / r.N : 0};
        if (!(*logits = lrp_tensor_new(LRP_REAL_DT, 2, dims, err)))
            st = err ? err->status : LRP_ERR_NOMEM;
        else
            memcpy((*logits)->data, y->data, sizeof(lrp_real) * (size_t)y->numel);
    }
    run_close(&r);
    return st;
}

lrp_status lrp_explainer_activation(lrp_explainer *e, const lrp_tensor *input, const char *layer,
                                    lrp_tensor **activation, lrp_tensor **logits, lrp_error *err)
{
    *activation = NULL;
    if (logits)
        *logits = NULL;
    lrp_exec saved;
    lrp_explainer_exec_enter(e, &saved);
    lrp_status st = activation_once(e, input, layer, activation, logits, err);
    lrp_exec_leave(&saved);
    return st;
}
