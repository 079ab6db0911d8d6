/* The rule table: one row per rule kind, each defined in its own file under
 * src/lrp/rules/ (rule.h). Parsing RULE:key=value, descriptions, where a rule
 * applies and what it needs from the forward pass all come from the rows. */
#include "lrp/rules/rule.h"

#include "base/error.h"
#include "base/tensor.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const lrp_rule_def lrp_rule_epsilon;
extern const lrp_rule_def lrp_rule_zplus;
extern const lrp_rule_def lrp_rule_alpha_beta;
extern const lrp_rule_def lrp_rule_gamma;
extern const lrp_rule_def lrp_rule_zbox;
extern const lrp_rule_def lrp_rule_flat;
extern const lrp_rule_def lrp_rule_wsquare;
extern const lrp_rule_def lrp_rule_pass;
extern const lrp_rule_def lrp_rule_norm;
extern const lrp_rule_def lrp_rule_gradient;
extern const lrp_rule_def lrp_rule_deconvnet;
extern const lrp_rule_def lrp_rule_guided;
extern const lrp_rule_def lrp_rule_beta_smooth;
extern const lrp_rule_def lrp_rule_softmax;
extern const lrp_rule_def lrp_rule_gate;
extern const lrp_rule_def lrp_rule_layernorm;
extern const lrp_rule_def lrp_rule_attention_value;
extern const lrp_rule_def lrp_rule_none;
extern const lrp_rule_def lrp_rule_bilinear;

/* In the order help texts and messages list them (lrp_rule_at): the LRP
 * rules, then the ReLU rules. Any order of the kinds; one row for each. */
static const lrp_rule_def *const rule_table[] = {
    &lrp_rule_epsilon,   &lrp_rule_zplus,           &lrp_rule_alpha_beta, &lrp_rule_gamma,       &lrp_rule_zbox,
    &lrp_rule_flat,      &lrp_rule_wsquare,         &lrp_rule_pass,       &lrp_rule_norm,        &lrp_rule_softmax,
    &lrp_rule_layernorm, &lrp_rule_attention_value, &lrp_rule_bilinear,   &lrp_rule_none,        &lrp_rule_gate,
    &lrp_rule_gradient,  &lrp_rule_deconvnet,       &lrp_rule_guided,     &lrp_rule_beta_smooth,
};

#define N_RULES ((int)(sizeof rule_table / sizeof *rule_table))
_Static_assert(sizeof rule_table / sizeof *rule_table == LRP_RULE_COUNT, "one row per lrp_rule_kind");

const lrp_rule_def *lrp_rule_def_at(int i) { return i >= 0 && i < N_RULES ? rule_table[i] : NULL; }

const lrp_rule_def *lrp_rule_def_of(lrp_rule_kind k)
{
    for (int i = 0; i < N_RULES; i++)
        if (rule_table[i]->kind == k)
            return rule_table[i];
    return NULL;
}

const char *lrp_rule_name(lrp_rule_kind k)
{
    const lrp_rule_def *d = lrp_rule_def_of(k);
    return d ? d->name : "?";
}

const char *lrp_rule_at(int i) { return i >= 0 && i < N_RULES ? rule_table[i]->name : NULL; }

const char *lrp_rule_summary(int i) { return i >= 0 && i < N_RULES ? rule_table[i]->summary : NULL; }

/* ------------------------------------------------------------ formatting */

/* snprintf at buf + *pos, never past size. */
static void append(char *buf, size_t size, size_t *pos, const char *fmt, ...) LRP_PRINTF(4, 5);
static void append(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
    if (*pos >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
    va_end(ap);
    *pos += n > 0 ? (size_t)n : 0;
}

static lrp_real *float_field(const lrp_rule *r, const lrp_rule_param *p)
{
    return (lrp_real *)((char *)r + p->offset);
}

static bool *bool_field(const lrp_rule *r, const lrp_rule_param *p) { return (bool *)((char *)r + p->offset); }

static lrp_real **bounds_field(const lrp_rule *r, const lrp_rule_param *p)
{
    return (lrp_real **)((char *)r + p->offset);
}

/* "v/v/v" (%.4g each) of a bounds field, at most 96 characters as before. */
static void bounds_text(const lrp_rule *r, const lrp_rule_param *p, char *buf, size_t size)
{
    const lrp_real *v = *bounds_field(r, p);
    size_t pos = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->n_bounds && pos < size; i++)
        append(buf, size, &pos, "%s%.4g", i ? "/" : "", v[i]);
}

/* The FLAG's field value when the key reads v. */
static bool flag_value(const lrp_rule_param *p, lrp_real v) { return p->negated ? v == 0.0f : v != 0.0f; }

const char *lrp_rule_describe(const lrp_rule *r, char *buf, size_t size)
{
    const lrp_rule_def *d = lrp_rule_def_of(r->kind);
    size_t pos = 0;
    append(buf, size, &pos, "%s", d ? d->name : "?");
    int shown = 0;
    for (const lrp_rule_param *p = d ? d->params : NULL; p && p < d->params + LRP_RULE_MAX_PARAMS && p->key; p++) {
        const char *sep = shown ? ", " : "(";
        if (p->type == LRP_PARAM_FLOAT) {
            append(buf, size, &pos, "%s%s=%g", sep, p->key, *float_field(r, p));
        } else if (p->type == LRP_PARAM_BOUNDS) {
            char b[96];
            bounds_text(r, p, b, sizeof b);
            append(buf, size, &pos, "%s%s=%s", sep, p->key, b);
        } else if (*bool_field(r, p) != flag_value(p, p->def)) {
            append(buf, size, &pos, "%s%s", sep, p->shown);
        } else {
            continue;
        }
        shown++;
    }
    if (shown)
        append(buf, size, &pos, ")");
    return buf;
}

const char *lrp_rule_synopsis(int i, char *buf, size_t size)
{
    const lrp_rule_def *d = lrp_rule_def_at(i);
    if (!d)
        return NULL;
    size_t pos = 0;
    append(buf, size, &pos, "%s", d->name);
    for (int k = 0; k < LRP_RULE_MAX_PARAMS && d->params[k].key; k++) {
        const lrp_rule_param *p = &d->params[k];
        const char *sep = k ? "," : ":";
        if (p->type == LRP_PARAM_BOUNDS)
            append(buf, size, &pos, "%s%s=V[/V/V]", sep, p->key);
        else
            append(buf, size, &pos, "%s%s=%g", sep, p->key, p->def);
    }
    return buf;
}

/* ------------------------------------------------------------- rule data */

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
        dst->low = malloc(sizeof(lrp_real) * (size_t)src->n_bounds);
        dst->high = malloc(sizeof(lrp_real) * (size_t)src->n_bounds);
        if (!dst->low || !dst->high) {
            lrp_rule_clear(dst);
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        }
        memcpy(dst->low, src->low, sizeof(lrp_real) * (size_t)src->n_bounds);
        memcpy(dst->high, src->high, sizeof(lrp_real) * (size_t)src->n_bounds);
    }
    return LRP_OK;
}

void lrp_rule_defaults(lrp_rule *r, lrp_rule_kind k)
{
    memset(r, 0, sizeof *r);
    r->kind = k;
    const lrp_rule_def *d = lrp_rule_def_of(k);
    for (int i = 0; d && i < LRP_RULE_MAX_PARAMS && d->params[i].key; i++) {
        const lrp_rule_param *p = &d->params[i];
        if (p->type == LRP_PARAM_FLOAT)
            *float_field(r, p) = p->def;
        else if (p->type == LRP_PARAM_FLAG)
            *bool_field(r, p) = flag_value(p, p->def);
    }
}

/* --------------------------------------------------------------- parsing */

/* Parses "v" or "v/v/v" into a new array; returns the count or -1. */
static int parse_floats(const char *s, lrp_real **out)
{
    int n = 1;
    for (const char *p = s; *p; p++)
        n += *p == '/';
    lrp_real *v = malloc(sizeof(lrp_real) * (size_t)n);
    if (!v)
        return -1;
    const char *p = s;
    for (int i = 0; i < n; i++) {
        char *end;
        v[i] = lrp_strtor(p, &end);
        if (end == p || (*end && *end != '/') || !isfinite(v[i])) {
            free(v);
            return -1;
        }
        p = end + (*end == '/');
    }
    *out = v;
    return n;
}

/* A new array of m copies of v. */
static lrp_real *repeat(lrp_real v, int m)
{
    lrp_real *w = malloc(sizeof(lrp_real) * (size_t)m);
    for (int i = 0; w && i < m; i++)
        w[i] = v;
    return w;
}

/* low=... or high=...: both share n_bounds; a scalar one is broadcast to the
 * other's length. */
static lrp_status parse_bounds(const char *spec, lrp_rule *r, const lrp_rule_param *p, const char *val, lrp_error *err)
{
    lrp_real *v;
    int n = parse_floats(val, &v);
    if (n < 0)
        return lrp_fail(err, LRP_ERR_ARG, "rule '%s': bad %s '%s' (a number or v/v/v per channel)", spec, p->key, val);
    lrp_real **dst = bounds_field(r, p);
    lrp_real **other = dst == &r->low ? &r->high : &r->low;
    if (*other && r->n_bounds != n) {
        if (r->n_bounds != 1 && n != 1) {
            free(v);
            return lrp_fail(err, LRP_ERR_ARG, "rule '%s': low and high have different lengths", spec);
        }
        int m = n > r->n_bounds ? n : r->n_bounds;
        lrp_real *w = repeat(n == 1 ? v[0] : (*other)[0], m);
        if (!w) {
            free(v);
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        }
        if (n == 1) {
            free(v);
            v = w;
        } else {
            free(*other);
            *other = w;
        }
        n = m;
    }
    free(*dst);
    *dst = v;
    r->n_bounds = n;
    return LRP_OK;
}

static const lrp_rule_param *find_param(const lrp_rule_def *d, const char *key)
{
    for (int i = 0; i < LRP_RULE_MAX_PARAMS && d->params[i].key; i++)
        if (!strcmp(key, d->params[i].key) || (d->params[i].alias && !strcmp(key, d->params[i].alias)))
            return &d->params[i];
    return NULL;
}

static lrp_status parse_param(const char *spec, const lrp_rule_def *d, lrp_rule *r, const char *key, const char *val,
                              lrp_error *err)
{
    const lrp_rule_param *p = find_param(d, key);
    if (!p)
        return lrp_fail(err, LRP_ERR_ARG, "rule '%s': unknown parameter '%s'", spec, key);
    if (p->type == LRP_PARAM_BOUNDS)
        return parse_bounds(spec, r, p, val, err);
    char *end;
    lrp_real f = lrp_strtor(val, &end);
    if (end == val || *end || !isfinite(f))
        return lrp_fail(err, LRP_ERR_ARG, "rule '%s': %s needs a number, got '%s'", spec, key, val);
    if (p->type == LRP_PARAM_FLOAT)
        *float_field(r, p) = f;
    else
        *bool_field(r, p) = flag_value(p, f);
    return LRP_OK;
}

static const lrp_rule_def *find_rule(const char *name)
{
    for (int i = 0; i < N_RULES; i++) {
        const lrp_rule_def *d = rule_table[i];
        if (!strcmp(name, d->name))
            return d;
        for (int k = 0; k < LRP_RULE_MAX_ALIASES && d->aliases[k]; k++)
            if (!strcmp(name, d->aliases[k]))
                return d;
    }
    return NULL;
}

static lrp_status unknown_rule(const char *name, lrp_error *err)
{
    char list[512];
    size_t pos = 0;
    list[0] = '\0';
    for (int i = 0; i < N_RULES; i++)
        append(list, sizeof list, &pos, "%s%s", i ? ", " : "", rule_table[i]->name);
    return lrp_fail(err, LRP_ERR_ARG, "unknown rule '%s' (choose from %s)", name, list);
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
    const lrp_rule_def *d = find_rule(name);
    if (!d)
        return unknown_rule(name, err);
    r->kind = d->kind;
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
        lrp_status st = parse_param(spec, d, r, kv, eq + 1, err);
        if (st != LRP_OK)
            return st;
    }
    return d->validate ? d->validate(r, spec, err) : LRP_OK;
}

/* ------------------------------------------------------------- applicability */

static bool is_linear_group(lrp_group g)
{
    return g == LRP_GROUP_CONV || g == LRP_GROUP_CONVT || g == LRP_GROUP_DENSE;
}

/* Whether the node has one activation input, shaped like its output. */
static bool elementwise_node(const lrp_graph *g, const lrp_node *n)
{
    const lrp_value *x = NULL, *y = lrp_node_out(g, n, 0);
    int c = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const lrp_value *v = lrp_node_in(g, n, i);
        if (v && !v->constant) {
            c++;
            x = x ? x : v;
        }
    }
    return c == 1 && y && x && lrp_dims_equal(x->ndim, x->dims, y->ndim, y->dims);
}

lrp_status lrp_rule_check(const lrp_graph *g, const lrp_node *n, const lrp_rule *r, lrp_error *err)
{
    const lrp_rule_def *d = lrp_rule_def_of(r->kind);
    if (!d)
        return lrp_fail(err, LRP_ERR_INTERNAL, "unknown rule");
    char lb[64];
    const char *nm = lrp_node_label(g, n, lb, sizeof lb);
    bool linear = n->op->linear && is_linear_group(lrp_node_group(g, n));
    switch (d->target) {
    case LRP_ON_LAYER:
        if (!linear)
            return lrp_fail(err, LRP_ERR_ARG, "rule %s needs a layer with weights; node %s is a %s", d->name, nm,
                            n->op_type);
        break;
    case LRP_ON_ELEMENTWISE:
        if (!elementwise_node(g, n))
            return lrp_fail(err, LRP_ERR_ARG,
                            "rule %s needs a node with one input shaped like its output; node %s (%s) is not", d->name,
                            nm, n->op_type);
        break;
    default:
        if (!linear && !n->op->backward)
            return lrp_fail(err, LRP_ERR_ARG, "node %s (%s) has no gradient, so rule %s cannot pass it", nm,
                            n->op_type, d->name);
        break;
    }
    return d->check ? d->check(g, n, nm, err) : LRP_OK;
}

bool lrp_rule_decides(const lrp_node *n, const lrp_rule *r)
{
    const lrp_rule_def *d = lrp_rule_def_of(r->kind);
    unsigned f = d ? d->flags : 0;
    return (f & LRP_RULE_DECIDES) || ((f & LRP_RULE_FOLLOWS_GRADIENT) && n->op->piecewise);
}

bool lrp_rule_divides(const lrp_node *n, const lrp_rule *r)
{
    const lrp_rule_def *d = lrp_rule_def_of(r->kind);
    return d && (d->flags & LRP_RULE_DIVIDES);
}

unsigned lrp_rule_keep(const lrp_node *n, const lrp_rule *r)
{
    const lrp_rule_def *d = lrp_rule_def_of(r->kind);
    if (!d)
        return LRP_KEEP_INPUTS | LRP_KEEP_OUTPUT;
    if (d->flags & LRP_RULE_KEEP_OP)
        return n->op->keep;
    unsigned keep = d->keep;
    if ((d->flags & LRP_RULE_Z_IS_OUTPUT) && n->op->linear && r->zero_bias)
        keep &= ~(unsigned)LRP_KEEP_OUTPUT;
    return keep;
}

lrp_status lrp_rule_apply(const lrp_rule_call *c, lrp_error *err)
{
    bool any = false;
    for (int i = 0; i < c->n->n_inputs; i++)
        any = any || c->gin[i];
    if (!any)
        return LRP_OK;
    const lrp_rule_def *d = lrp_rule_def_of(c->rule->kind);
    if (!d)
        return lrp_node_fail(err, c->n, LRP_ERR_INTERNAL, "unknown rule");
    lrp_gemm_count_layer(c);
    return d->apply(c, err);
}

bool lrp_rule_takes_one(const lrp_rule_call *c)
{
    const lrp_rule_def *d = lrp_rule_def_of(c->rule->kind);
    return c->shared > 1 && d && d->takes_one && d->takes_one(c);
}

lrp_status lrp_rule_adjoint(const lrp_adjoint_call *a, lrp_error *err)
{
    const lrp_rule_def *d = lrp_rule_def_of(a->c.rule->kind);
    if (!d)
        return lrp_node_fail(err, a->c.n, LRP_ERR_INTERNAL, "unknown rule");
    if (!d->adjoint) {
        char rb[256];
        return lrp_node_fail(err, a->c.n, LRP_ERR_UNSUPPORTED, "rule %s has no second order (relevance gradient)",
                             lrp_rule_describe(a->c.rule, rb, sizeof rb));
    }
    return d->adjoint(a, err);
}
