/* LRP rules (zennit-reference.md §1): what the explainer and the composites
 * use. Each rule is a row of the rule table (src/lrp/rules.c), defined with its
 * kernel in src/lrp/rules/ (rule.h). */
#ifndef LRP_RULES_H
#define LRP_RULES_H

#include "graph/graph.h"
#include "ops/op.h"

typedef enum lrp_rule_kind {
    LRP_RULE_GRADIENT = 0, /* no rule: the plain gradient */
    LRP_RULE_PASS,
    LRP_RULE_NORM,
    LRP_RULE_EPSILON,
    LRP_RULE_ZPLUS,
    LRP_RULE_ALPHABETA,
    LRP_RULE_GAMMA,
    LRP_RULE_ZBOX,
    LRP_RULE_FLAT,
    LRP_RULE_WSQUARE,
    LRP_RULE_DECONVNET,
    LRP_RULE_GUIDED,
    LRP_RULE_BETASMOOTH,
    LRP_RULE_SOFTMAX,
    LRP_RULE_GATE,
    LRP_RULE_LAYERNORM,
    LRP_RULE_NONE,
    LRP_RULE_ATTENTION_VALUE,
    LRP_RULE_BILINEAR,
    LRP_RULE_COUNT
} lrp_rule_kind;

typedef struct lrp_rule {
    lrp_rule_kind kind;
    lrp_real eps;         /* epsilon (Epsilon) or stabilizer (every other rule) */
    lrp_real alpha, beta; /* AlphaBeta */
    lrp_real gamma;       /* Gamma */
    lrp_real beta_smooth; /* ReLU beta-smooth */
    bool inplace;         /* beta-smooth: zennit on an in-place ReLU module, whose stored
                           input was overwritten by the ReLU: sigmoid(beta*relu(x)) */
    bool zero_bias;       /* zennit's zero_params=['bias'] */
    bool uniform;         /* gate: relevance split evenly between signal and gate */
    bool positive;        /* attention-value: only the positive part of V (ZPlus) */
    bool unsigned_eps;    /* epsilon, norm, layernorm, attention-value: z + eps (LXT), not z + eps * sign(z) */
    /* ZBox bounds: 1 value (scalar) or one per channel (dim 1 of the input). */
    int n_bounds;
    lrp_real *low, *high; /* owned by the rule */
} lrp_rule;

/* "epsilon", "alpha-beta", ... */
const char *lrp_rule_name(lrp_rule_kind k);
/* Parses "RULE" or "RULE:key=value,key=value" onto r, whose fields hold the
 * defaults. The keys are the rule's own, as its row in the rule table
 * declares them (src/lrp/rules/, e.g. gamma takes gamma, stabilizer and bias). */
lrp_status lrp_rule_parse(const char *spec, lrp_rule *r, lrp_error *err);
/* A rule of kind k with the defaults its row declares (no bounds). */
void lrp_rule_defaults(lrp_rule *r, lrp_rule_kind k);
/* A one-line description, e.g. "gamma(gamma=0.25, stabilizer=1e-06)". */
const char *lrp_rule_describe(const lrp_rule *r, char *buf, size_t size);
void lrp_rule_clear(lrp_rule *r);
lrp_status lrp_rule_copy(lrp_rule *dst, const lrp_rule *src, lrp_error *err);

/* Whether the rule can be applied to the node; fills err with why not. */
lrp_status lrp_rule_check(const lrp_graph *g, const lrp_node *n, const lrp_rule *r, lrp_error *err);

/* Whether the node, under this rule, makes a discrete decision from its
 * forward values that changes where relevance goes: the argmax of a max
 * pooling, the mask of a piecewise activation under the gradient or guided
 * backpropagation, Gamma's sign mask. Convolutions feeding such nodes run
 * their forward pass in double precision (lrp_set_exact_forward). */
bool lrp_rule_decides(const lrp_node *n, const lrp_rule *r);

/* Whether the rule divides by a denominator z built from forward values (the
 * node's output, or its layer recomputed on its input): Epsilon, Norm, ZPlus,
 * AlphaBeta, Gamma and ZBox. Where z cancels (a non-predicted logit, a
 * residual sum of opposite signs), float32 accumulation errors of the forward
 * pass reach the relevance amplified by |terms|/|z|, e.g. 90x for a logit of
 * -0.094 made of terms summing to 8.4 in absolute value. The layers feeding
 * such nodes, like those feeding decisions, run their forward pass in double
 * precision (rounded once to float). */
bool lrp_rule_divides(const lrp_node *n, const lrp_rule *r);

/* What the rule needs kept from the forward pass: LRP_KEEP_* flags. */
unsigned lrp_rule_keep(const lrp_node *n, const lrp_rule *r);

/* Modified weights of one node, computed on first use and kept across runs. */
typedef struct lrp_weight_cache {
    lrp_real *w[8];
    lrp_real *b[8];
    bool have_w[8], have_b[8];
    /* A stacked pair [w[a]; w[b]] in one block (lrp_mod_weight_pair): w[a]
     * owns it, w[b] points into it; likewise for the biases. */
    bool pair_w, pair_b;
    unsigned char pw_a, pw_b, pb_a, pb_b;
    /* A product that does not depend on the input (Flat's f(1; Wm, bm),
     * ZBox's f(l; W⁺, b⁺) + f(h; W⁻, b⁻)), for one sample of z_n values,
     * and the shapes it was computed for (output, input; batch left out). */
    lrp_real *z;
    int64_t z_n;
    int64_t z_key[2 * LRP_MAX_DIMS];
} lrp_weight_cache;

void lrp_weight_cache_clear(lrp_weight_cache *c);

typedef struct lrp_rule_call {
    const lrp_graph *g;
    const lrp_node *n;
    const lrp_rule *rule;
    lrp_weight_cache *cache;
    const lrp_tensor *const *in; /* forward inputs (what keep asked for; constants always) */
    const lrp_tensor *out;       /* forward output 0 (if kept) */
    const lrp_tensor *R;         /* relevance at output 0 */
    lrp_tensor *const *gin;      /* accumulators per input, NULL for constants */
    /* > 1: the forward values hold this many copies of one sample along
     * their first dimension (several targets or conditions of one input), so
     * the rules' products of forward values alone are computed once */
    int64_t shared;
    /* In a second-order run (lrp_explain_relevance_grad), this node's
     * LRP_KEPT_N slots: apply may leave here what its adjoint would otherwise
     * recompute (the same bytes), and the adjoint takes them; else NULL. */
    lrp_tensor **kept;
} lrp_rule_call;

/* The kept slots (lrp_rule_call.kept): a layer rule's denominator z and
 * its transposed products W₁ᵀg and W₂ᵀg, and those of a second half
 * (AlphaBeta's beta half). */
enum { LRP_KEPT_Z, LRP_KEPT_T1, LRP_KEPT_T2, LRP_KEPT_Z2, LRP_KEPT_T3, LRP_KEPT_T4, LRP_KEPT_N };

/* gin[i] += the relevance that the rule sends to input i. */
lrp_status lrp_rule_apply(const lrp_rule_call *c, lrp_error *err);
/* Whether the rule, in a sweep over copies of one sample (c->shared > 1, c
 * with the one sample's forward values), takes them as they are (else the
 * caller copies them for it). */
bool lrp_rule_takes_one(const lrp_rule_call *c);

/* The second order: the adjoint of the node's rule (rules/rule.h,
 * lrp_adjoint_call); LRP_ERR_UNSUPPORTED for a rule or op it does not cover. */
struct lrp_adjoint_call;
lrp_status lrp_rule_adjoint(const struct lrp_adjoint_call *a, lrp_error *err);

/* The default stabilizer: z + eps * (z >= 0 ? 1 : -1) (zero counts as positive). */
static inline lrp_real lrp_stabilize(lrp_real z, lrp_real eps) { return z + (z >= 0.0f ? eps : -eps); }

/* The rule's stabilizer: signed (lrp_stabilize) or, with unsigned_eps, z + eps. */
static inline lrp_real lrp_rule_stabilize(const lrp_rule *r, lrp_real z)
{
    return r->unsigned_eps ? z + r->eps : lrp_stabilize(z, r->eps);
}

#endif
