/* The explainer: rule assignment for a model, and the backward engine that
 * carries relevance from the output to the input (zennit-reference.md §0):
 * an ordinary reverse pass in which some nodes have their input-gradient
 * replaced by a rule; relevance from several consumers is summed. */
#include "lrp/explain.h"

#include "lrp/composites.h"
#include "base/error.h"
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
    float *low, *high;   /* owned copies */
    char **overrides;
    lrp_rule *rules;     /* per node index, once assigned */
    lrp_weight_cache *caches;
    int n_nodes;         /* nodes when rules were assigned */
    unsigned char *keep; /* per value: kept by the forward pass for the rules */
    unsigned char *exact; /* per node: feeds a decision or a rule's z (exact forward) */
    lrp_check_fn check;
    void *check_ctx;
};

void lrp_explain_options_default(lrp_explain_options *o)
{
    memset(o, 0, sizeof *o);
    o->composite = "epsilon-plus-flat";
    o->epsilon = 1e-6f;
    o->stabilizer = 1e-6f;
    o->gamma = 0.25f;
    o->beta_smooth = 10.0f;
    o->alpha = 2.0f;
    o->beta = 1.0f;
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
    free(e->low);
    free(e->high);
    for (int i = 0; i < e->params.n_overrides; i++)
        free(e->overrides[i]);
    free(e->overrides);
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
    lrp_composite_params *p = &e->params;
    p->epsilon = o->epsilon;
    p->stabilizer = o->stabilizer;
    p->alpha = o->alpha;
    p->beta = o->beta;
    p->gamma = o->gamma;
    p->beta_smooth = o->beta_smooth;
    p->zero_bias = o->zero_bias != 0;
    if (o->n_bounds > 0) {
        e->low = malloc(sizeof(float) * (size_t)o->n_bounds);
        e->high = malloc(sizeof(float) * (size_t)o->n_bounds);
        if (!e->low || !e->high)
            goto oom;
        memcpy(e->low, o->low, sizeof(float) * (size_t)o->n_bounds);
        memcpy(e->high, o->high, sizeof(float) * (size_t)o->n_bounds);
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
    if (m->prepared && lrp_explainer_assign(e, err) != LRP_OK) {
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
        e->rules = NULL;
        e->caches = NULL;
        e->keep = NULL;
        e->exact = NULL;
    }
    e->rules = calloc((size_t)g->n_nodes + 1, sizeof *e->rules);
    e->caches = calloc((size_t)g->n_nodes + 1, sizeof *e->caches);
    e->keep = calloc((size_t)g->n_values + 1, 1);
    e->exact = calloc((size_t)g->n_nodes + 1, 1);
    if (!e->rules || !e->caches || !e->keep || !e->exact)
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
    if (!e->m->prepared && !e->m->supported)
        return lrp_model_prepare(e->m, 0, NULL, err); /* names the first unsupported operator */
    if (!e->m->prepared)
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

/* Per-sample sums of a batch-first tensor into s[0..N). */
static void sample_sums(const lrp_tensor *t, int64_t N, double *s)
{
    int64_t per = N ? t->numel / N : 0;
    for (int64_t b = 0; b < N; b++) {
        double acc = 0;
        const float *p = lrp_f32(t) + b * per;
        for (int64_t i = 0; i < per; i++)
            acc += p[i];
        s[b] = acc;
    }
}

/* In locate mode (a rerun after a non-finite relevance), the relevance at
 * the inputs of every node is scanned after the node's rule, and the pass
 * stops at the first node that made one non-finite. */
static lrp_status explain_run(lrp_explainer *e, const lrp_tensor *input, lrp_seed_fn seed_fn, void *seed_ctx,
                              lrp_tensor **relevance, lrp_tensor **logits_out, bool locate, lrp_error *err)
{
    *relevance = NULL;
    if (logits_out)
        *logits_out = NULL;
    lrp_model *m = e->m;
    lrp_tensor *x = NULL;
    lrp_status st = lrp_model_conform_input(m, input, &x, err);
    if (st != LRP_OK)
        return st;
    if ((st = lrp_model_prepare(m, x->ndim, x->dims, err)) != LRP_OK ||
        (st = lrp_explainer_assign(e, err)) != LRP_OK) {
        lrp_tensor_free(x);
        return st;
    }
    lrp_graph *g = m->g;
    const int64_t N = x->dims[0];
    lrp_tensor **vals = calloc((size_t)g->n_values, sizeof *vals);
    lrp_tensor **rel = calloc((size_t)g->n_values, sizeof *rel);
    double *sums = calloc((size_t)(3 * N + 3), sizeof(double));
    lrp_tensor *logits = NULL;
    if (!vals || !rel || !sums) {
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        goto done;
    }
    double t0 = lrp_now();
    const lrp_tensor *ins[1] = {x};
    if ((st = lrp_forward_ex(g, ins, e->keep, e->exact, vals, err)) != LRP_OK)
        goto done;
    if (lrp_find_nonfinite(vals[m->output]) >= 0) {
        lrp_vals_clear(g, vals);
        st = lrp_model_nonfinite(m, ins, e->exact, err);
        goto done;
    }
    lrp_profile_add("forward pass", lrp_now() - t0);
    t0 = lrp_now();
    /* logits and the seed */
    {
        lrp_tensor *y = vals[m->output];
        int64_t dims[2] = {N, N ? y->numel / N : 0};
        if (!(logits = lrp_tensor_new(LRP_FLOAT32, 2, dims, err))) {
            st = err ? err->status : LRP_ERR_NOMEM;
            goto done;
        }
        memcpy(logits->data, y->data, sizeof(float) * (size_t)y->numel);
        lrp_tensor *seed = lrp_tensor_like(y, err);
        if (!seed) {
            st = err ? err->status : LRP_ERR_NOMEM;
            goto done;
        }
        rel[m->output] = seed;
        lrp_tensor view = *seed;
        view.ndim = 2;
        view.dims[0] = dims[0];
        view.dims[1] = dims[1];
        if ((st = seed_fn(seed_ctx, logits, &view, err)) != LRP_OK)
            goto done;
    }
    double *r_out = sums, *r_in = sums + N, *cut = sums + 2 * N;
    if (e->check)
        sample_sums(rel[m->output], N, cut);
    /* the backward pass */
    for (int k = g->n_order - 1; k >= 0; k--) {
        int ni = g->order[k];
        lrp_node *n = &g->nodes[ni];
        if (lrp_node_is_static(g, n))
            continue;
        for (int o = 1; o < n->n_outputs; o++)
            if (n->outputs[o] >= 0 && rel[n->outputs[o]]) {
                st = lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED,
                                   "relevance reaches its output #%d; only first outputs can carry relevance", o);
                goto done;
            }
        int ov = n->outputs[0];
        if (ov < 0 || !rel[ov]) {
            if (ov >= 0) {
                lrp_tensor_free(vals[ov]);
                vals[ov] = NULL;
            }
            continue;
        }
        lrp_tensor *gin[256] = {0};
        lrp_tensor *tmp[256] = {0};
        const lrp_tensor *in[256];
        if (n->n_inputs > 256) {
            st = lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "too many inputs");
            goto done;
        }
        /* Pass with nothing yet at the input: the relevance moves over as it is */
        if (e->rules[ni].kind == LRP_RULE_PASS && !e->check) {
            int a = -1, nact = 0;
            for (int i = 0; i < n->n_inputs; i++)
                if (n->inputs[i] >= 0 && !g->values[n->inputs[i]].constant) {
                    a = n->inputs[i];
                    nact++;
                }
            if (nact == 1 && !rel[a] && rel[ov]->numel == lrp_numel_checked(g->values[a].ndim, g->values[a].dims)) {
                rel[a] = rel[ov];
                rel[a]->ndim = g->values[a].ndim;
                memcpy(rel[a]->dims, g->values[a].dims, sizeof rel[a]->dims);
                rel[ov] = NULL;
                lrp_tensor_free(vals[ov]);
                vals[ov] = NULL;
                continue;
            }
        }
        for (int i = 0; i < n->n_inputs; i++) {
            int v = n->inputs[i];
            in[i] = lrp_value_tensor(g, vals, v);
            if (v < 0 || g->values[v].constant)
                continue;
            if (e->check) {
                /* a separate buffer, so that what this node sends can be summed */
                if (!(tmp[i] = lrp_tensor_new(LRP_FLOAT32, g->values[v].ndim, g->values[v].dims, err))) {
                    st = err ? err->status : LRP_ERR_NOMEM;
                    goto done;
                }
                gin[i] = tmp[i];
                continue;
            }
            if (!rel[v] && !(rel[v] = lrp_tensor_new(LRP_FLOAT32, g->values[v].ndim, g->values[v].dims, err))) {
                st = err ? err->status : LRP_ERR_NOMEM;
                goto done;
            }
            gin[i] = rel[v];
        }
        /* an input used twice by one node gets one accumulator */
        lrp_rule_call call = {g, n, &e->rules[ni], &e->caches[ni], in, vals[ov], rel[ov], gin};
        double t1 = lrp_now();
        st = lrp_rule_apply(&call, err);
        lrp_profile_add(lrp_rule_name(e->rules[ni].kind), lrp_now() - t1);
        for (int i = 0; locate && st == LRP_OK && i < n->n_inputs; i++) {
            int v = n->inputs[i];
            int64_t at = v >= 0 && !g->values[v].constant ? lrp_find_nonfinite(rel[v]) : -1;
            if (at >= 0) {
                char rb[256];
                st = lrp_node_fail(err, n, LRP_ERR_NUMERIC,
                                   "the relevance goes non-finite here (rule %s): %s at element %lld of what it "
                                   "sends to input #%d '%s'",
                                   lrp_rule_describe(&e->rules[ni], rb, sizeof rb),
                                   lrp_nonfinite_name(lrp_f32(rel[v])[at]), (long long)at, i, g->values[v].name);
            }
        }
        if (st == LRP_OK && e->check) {
            char lb[64], rb[256];
            sample_sums(rel[ov], N, r_out);
            for (int64_t b = 0; b < N; b++)
                r_in[b] = 0;
            for (int i = 0; i < n->n_inputs && st == LRP_OK; i++) {
                if (!tmp[i])
                    continue;
                double s[1024];
                double *sp = N <= 1024 ? s : malloc(sizeof(double) * (size_t)N);
                if (!sp) {
                    st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
                    break;
                }
                sample_sums(tmp[i], N, sp);
                for (int64_t b = 0; b < N; b++)
                    r_in[b] += sp[b];
                if (sp != s)
                    free(sp);
                int v = n->inputs[i];
                if (!rel[v]) {
                    rel[v] = tmp[i];
                    tmp[i] = NULL;
                } else {
                    float *a = lrp_f32(rel[v]);
                    const float *t = lrp_f32(tmp[i]);
                    for (int64_t q = 0; q < rel[v]->numel; q++)
                        a[q] += t[q];
                }
            }
            for (int64_t b = 0; b < N; b++)
                cut[b] += r_in[b] - r_out[b];
            e->check(e->check_ctx, lrp_node_label(g, n, lb, sizeof lb), n->op_type,
                     lrp_rule_describe(&e->rules[ni], rb, sizeof rb), N, r_out, r_in, cut);
        }
        for (int i = 0; i < n->n_inputs; i++)
            lrp_tensor_free(tmp[i]);
        if (st != LRP_OK) {
            lrp_error_prefix(err, "%s", g->path);
            goto done;
        }
        lrp_tensor_free(rel[ov]);
        rel[ov] = NULL;
        lrp_tensor_free(vals[ov]);
        vals[ov] = NULL;
    }
    lrp_profile_add("backward pass", lrp_now() - t0);
    {
        lrp_tensor *r = rel[m->input];
        rel[m->input] = NULL;
        if (!r && !(r = lrp_tensor_like(x, err))) {
            st = err ? err->status : LRP_ERR_NOMEM;
            goto done;
        }
        /* back to the caller's shape (e.g. without a batch dim) */
        r->ndim = input->ndim;
        memcpy(r->dims, input->dims, sizeof r->dims);
        if (lrp_find_nonfinite(r) >= 0) {
            /* Non-finite relevance: run again, scanning after every node, to
             * name the one where it began (costs a pass, on failure only). */
            lrp_tensor_free(r);
            if (locate) {
                st = lrp_fail(err, LRP_ERR_NUMERIC, "%s: the relevance at the input '%s' is not finite", g->path,
                              g->values[m->input].name);
                goto done;
            }
            lrp_vals_clear(g, vals);
            for (int v = 0; v < g->n_values; v++) {
                lrp_tensor_free(rel[v]);
                rel[v] = NULL;
            }
            lrp_check_fn check = e->check;
            e->check = NULL;
            lrp_tensor *r2 = NULL;
            st = explain_run(e, input, seed_fn, seed_ctx, &r2, NULL, true, err);
            e->check = check;
            lrp_tensor_free(r2);
            if (st == LRP_OK) /* not found again: say what is known */
                st = lrp_fail(err, LRP_ERR_NUMERIC, "%s: the relevance at the input '%s' is not finite", g->path,
                              g->values[m->input].name);
            goto done;
        }
        *relevance = r;
    }
    if (logits_out) {
        *logits_out = logits;
        logits = NULL;
    }
done:
    if (vals) {
        lrp_vals_clear(g, vals);
        free(vals);
    }
    if (rel) {
        for (int v = 0; v < g->n_values; v++)
            lrp_tensor_free(rel[v]);
        free(rel);
    }
    free(sums);
    lrp_tensor_free(logits);
    lrp_tensor_free(x);
    return st;
}

lrp_status lrp_explain_seeded(lrp_explainer *e, const lrp_tensor *input, lrp_seed_fn seed_fn, void *seed_ctx,
                              lrp_tensor **relevance, lrp_tensor **logits_out, lrp_error *err)
{
    return explain_run(e, input, seed_fn, seed_ctx, relevance, logits_out, false, err);
}

typedef struct target_seed {
    const int64_t *targets;
    lrp_seed seed;
    int64_t *targets_out;
} target_seed;

static lrp_status seed_targets(void *ctx, const lrp_tensor *logits, lrp_tensor *seed, lrp_error *err)
{
    const target_seed *ts = ctx;
    int64_t N = logits->dims[0], C = logits->dims[1];
    for (int64_t b = 0; b < N; b++) {
        int64_t t = ts->targets ? ts->targets[b] : -1;
        const float *l = lrp_f32(logits) + b * C;
        if (t < 0) {
            t = 0;
            for (int64_t c = 1; c < C; c++)
                if (l[c] > l[t])
                    t = c;
        }
        if (t >= C)
            return lrp_fail(err, LRP_ERR_ARG, "target class %lld is out of range: the model has %lld classes",
                            (long long)t, (long long)C);
        lrp_f32(seed)[b * C + t] = ts->seed == LRP_SEED_LOGIT ? l[t] : 1.0f;
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
