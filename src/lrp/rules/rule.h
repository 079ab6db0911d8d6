/* The rule interface. Each rule family lives in one file under src/lrp/rules/
 * with its parameters, what it needs from the forward pass and its kernel;
 * the layer machinery the rules share (modified weights, the layer run with
 * other parameters and transposed, ratios) is linear.c. All rules are listed
 * in one table (src/lrp/rules.c), which parses, describes and checks them. */
#ifndef LRP_RULES_RULE_H
#define LRP_RULES_RULE_H

#include "lrp/rules.h"

#include <stddef.h>

/* ------------------------------------------------------------ parameters */

typedef enum lrp_param_type {
    LRP_PARAM_FLOAT,  /* a float field: key=0.25 */
    LRP_PARAM_FLAG,   /* a bool field: key=0|1 (any number; nonzero is 1) */
    LRP_PARAM_BOUNDS, /* low or high: a float * of n_bounds values, key=v or v/v/v */
} lrp_param_type;

/* One parameter of a rule, as RULE:key=value takes it and lrp_rule_describe
 * shows it. */
typedef struct lrp_rule_param {
    const char *key;
    const char *alias; /* another key accepted for it, or NULL */
    lrp_param_type type;
    size_t offset;     /* of its field in lrp_rule */
    lrp_real def;      /* default, as the key reads (bias=1); BOUNDS: none */
    bool negated;      /* FLAG: the field holds key == 0 (bias=0 sets zero_bias) */
    const char *shown; /* FLAG: what describe shows when it is not the default */
    const char *help;
} lrp_rule_param;

/* Declaring parameters: a float field, low/high bounds, a flag. */
#define LRP_FLOAT_PARAM(key, alias, field, def, help)                                                                 \
    {                                                                                                                 \
        key, alias, LRP_PARAM_FLOAT, offsetof(lrp_rule, field), def, false, NULL, help                                \
    }
#define LRP_BOUNDS_PARAM(key, field, help)                                                                            \
    {                                                                                                                 \
        key, NULL, LRP_PARAM_BOUNDS, offsetof(lrp_rule, field), 0.0f, false, NULL, help                               \
    }
#define LRP_FLAG_PARAM(key, field, def, negated, shown, help)                                                         \
    {                                                                                                                 \
        key, NULL, LRP_PARAM_FLAG, offsetof(lrp_rule, field), def, negated, shown, help                               \
    }

/* The parameters several rules share, declared once. */
#define LRP_PARAM_STABILIZER                                                                                          \
    LRP_FLOAT_PARAM("stabilizer", "eps", eps, LRP_R(1e-6), "added to each denominator z with the sign of z")
#define LRP_PARAM_SIGNED                                                                                              \
    LRP_FLAG_PARAM("signed", unsigned_eps, 1.0f, true, "signed=0",                                                    \
                   "0 adds epsilon to z without its sign (LXT's stabilizer)")
#define LRP_PARAM_BIAS                                                                                                \
    LRP_FLAG_PARAM("bias", zero_bias, 1.0f, true, "bias=0",                                                           \
                   "0 leaves the layer's bias out (zennit's zero_params=['bias'])")

/* ----------------------------------------------------------------- rules */

/* The adjoint of a rule (the second order, lrp_rule_adjoint): the rule sent
 * R_in[i] = rule(R, forward values) to each input i; given u[i], the
 * cotangent of R_in[i], it adds the cotangent of R to uR and those of the
 * forward values to c.gin[i] (the inputs) and aout (the output), holding
 * constant what zennit holds constant (parameters, masks, the stabilizer's
 * sign, clamp's derivative 1 at 0). With detach (zennit's second order of the
 * top rule-hooked layer under a constant seed), the layer's inner VJP is a
 * constant: only the explicit input factor is differentiated. */
typedef struct lrp_adjoint_call {
    lrp_rule_call c;            /* c.gin: the cotangents of the forward inputs, NULL for constants */
    const lrp_tensor *const *u; /* per input: cotangent of the relevance the rule sent it (NULL for constants) */
    lrp_tensor *uR;             /* += the cotangent of c.R */
    lrp_tensor *aout;           /* += the cotangent of the forward output c.out */
    bool detach;
    /* c.gin[0] is ignored wherever c.in[0] is 0 (a ReLU's output): terms
     * that only reach those elements may be left out */
    bool dead_at_zero;
} lrp_adjoint_call;

/* Where a rule applies (lrp_rule_check). */
typedef enum lrp_rule_target {
    LRP_ON_ANY,         /* a layer with weights, or any op with a gradient */
    LRP_ON_LAYER,       /* a layer with weights (conv, transposed conv, dense) only */
    LRP_ON_ELEMENTWISE, /* a node with one input shaped like its output */
} lrp_rule_target;

enum {
    /* lrp_rule_divides: the rule divides by a denominator z made of forward values */
    LRP_RULE_DIVIDES = 1u << 0,
    /* lrp_rule_decides on every node: a sign mask of its own (Gamma) */
    LRP_RULE_DECIDES = 1u << 1,
    /* lrp_rule_decides where the op is piecewise: the rule follows the op's gradient */
    LRP_RULE_FOLLOWS_GRADIENT = 1u << 2,
    /* keep what the op's gradient keeps (lrp_op.keep) instead of lrp_rule_def.keep */
    LRP_RULE_KEEP_OP = 1u << 3,
    /* the kept output is z = f(x; W, b): on a layer with the bias zeroed z is
     * recomputed, so the output is not kept */
    LRP_RULE_Z_IS_OUTPUT = 1u << 4,
};

#define LRP_RULE_MAX_PARAMS 6
#define LRP_RULE_MAX_ALIASES 3

/* One row of the rule table. */
typedef struct lrp_rule_def {
    lrp_rule_kind kind;
    const char *name;
    const char *aliases[LRP_RULE_MAX_ALIASES]; /* other names it is taken by */
    const char *summary;
    /* its parameters, in the order describe shows them; the rest of the
     * array stays zero (key NULL) */
    lrp_rule_param params[LRP_RULE_MAX_PARAMS];
    lrp_rule_target target; /* default LRP_ON_ANY */
    unsigned flags;         /* LRP_RULE_* above */
    unsigned keep;          /* LRP_KEEP_* it needs from the forward pass (default none) */
    /* Checks the parameters once a spec with parameters is parsed; optional.
     * spec is for the message. */
    lrp_status (*validate)(const lrp_rule *r, const char *spec, lrp_error *err);
    /* What the node needs besides the target (lrp_rule_check, after it);
     * optional. label names the node for the message. */
    lrp_status (*check)(const lrp_graph *g, const lrp_node *n, const char *label, lrp_error *err);
    /* gin[i] += the relevance the rule sends to input i; called only when
     * some gin[i] is set. */
    lrp_status (*apply)(const lrp_rule_call *c, lrp_error *err);
    /* Optional: whether apply, in a sweep over copies of one sample's forward
     * values (c->shared > 1), takes c->in and c->out as that one sample
     * (batch 1, R with c->shared samples) instead of the copies. */
    bool (*takes_one)(const lrp_rule_call *c);
    /* The adjoint of apply (lrp_adjoint_call); NULL: the rule has no second
     * order (LRP_ERR_UNSUPPORTED). */
    lrp_status (*adjoint)(const lrp_adjoint_call *a, lrp_error *err);
} lrp_rule_def;

/* The row of a kind (NULL for a kind out of range). */
const lrp_rule_def *lrp_rule_def_of(lrp_rule_kind k);
/* The rows in table order; NULL past the end. */
const lrp_rule_def *lrp_rule_def_at(int i);

/* --------------------------------------------- shared machinery (linear.c) */

#define LRP_PAR_FOR _Pragma("omp parallel for schedule(static) num_threads(lrp_num_threads) if (n > 32768)")

/* Which modified weights (and biases) a rule uses; the weight cache's index. */
enum { LRP_MOD_POS, LRP_MOD_NEG, LRP_MOD_GAMMA_POS, LRP_MOD_GAMMA_NEG, LRP_MOD_SQUARE, LRP_MOD_ONES, LRP_MOD_ABS };

/* Whether the node is a layer whose weight is a constant (the linear rules run). */
bool lrp_rule_on_layer(const lrp_rule_call *c);
const lrp_tensor *lrp_layer_weight(const lrp_rule_call *c);
/* Whether the layer has a bias that the rule zeroes. */
bool lrp_layer_bias_zeroed(const lrp_rule_call *c);
/* The modified weight, computed on first use and cached. NULL on failure. */
const lrp_real *lrp_mod_weight(const lrp_rule_call *c, int mod, lrp_error *err);
/* The bias modified by mod (mod < 0: as it is), or NULL when the layer has
 * none or it is zeroed; *fail tells failure from no bias. */
const lrp_real *lrp_mod_bias(const lrp_rule_call *c, int mod, lrp_error *err, bool *fail);
/* z = f(x; W, b) into a new tensor shaped like the node's output. */
lrp_tensor *lrp_layer_new(const lrp_rule_call *c, const lrp_tensor *x, const lrp_real *W, const lrp_real *b,
                          lrp_error *err);
/* Wᵀ g into a new zero tensor shaped like xlike. */
lrp_tensor *lrp_layer_t_new(const lrp_rule_call *c, const lrp_tensor *g, const lrp_real *W, const lrp_tensor *xlike,
                            lrp_error *err);
/* z = f(x; W, b) with the layer's own W and b: the kept output, or
 * recomputed into *own when the bias is zeroed or the output was not kept. */
const lrp_tensor *lrp_layer_z(const lrp_rule_call *c, const lrp_real *W, lrp_tensor **own, lrp_error *err);

/* x⁺ and x⁻ of a layer input that has negative entries, for the rules that
 * split the input by sign. */
typedef struct lrp_sign_split {
    const lrp_tensor *x, *xpos; /* the input, and x⁺ (x itself when it has no negative entries) */
    lrp_tensor *xp, *xn;        /* owned: x⁺ and x⁻, NULL when x has no negative entries */
} lrp_sign_split;
lrp_status lrp_sign_split_new(lrp_sign_split *s, const lrp_tensor *x, lrp_error *err);
void lrp_sign_split_free(lrp_sign_split *s);

/* One sign half of AlphaBeta and Gamma: z = f(x⁺; W1, b1) + f(x⁻; W2, 0) (the
 * second term only when x has negative entries), g = m·R / s(z), T1 = W1ᵀg
 * and T2 = W2ᵀg (T2 only with negative entries). The mask m is 1 (mask_sign
 * 0), or [mask > 0] (mask_sign 1) or [mask < 0] (mask_sign -1) of a tensor
 * shaped like R. With zkeep, *zkeep is a copy of z (new). */
lrp_status lrp_sign_half(const lrp_rule_call *c, const lrp_sign_split *s, const lrp_real *W1, const lrp_real *W2,
                         const lrp_real *b1, const lrp_tensor *mask, int mask_sign, lrp_tensor **T1, lrp_tensor **T2,
                         lrp_tensor **zkeep, lrp_error *err);

/* --- the rules' GEMM work, stacked and cached (linear.c, gemm_count.c) --- */

/* [W modified by a; W modified by b] in one cached block (lrp_mod_weight(a)
 * and (b) then point into it), or NULL: *fail on failure, else another pair
 * is cached (use the weights one by one). The bias pair likewise; NULL
 * without *fail: no bias. */
const lrp_real *lrp_mod_weight_pair(const lrp_rule_call *c, int a, int b, bool *fail, lrp_error *err);
const lrp_real *lrp_mod_bias_pair(const lrp_rule_call *c, int a, int b, bool *fail, lrp_error *err);
/* Both sign halves of AlphaBeta and Gamma, as lrp_sign_half(Wa, Wb, ba,
 * mask, +1) into T[0], T[1] and lrp_sign_half(Wb, Wa, bb, mask, -1) into
 * T[2], T[3] compute them (mask NULL: no masks), with the products that share
 * an input (x⁺; x⁻) stacked into one, W = the pair (mod_a, mod_b): the same
 * bytes with one unfolding of each input. *done false (and nothing
 * computed): the layer does not stack; do it half by half. */
lrp_status lrp_sign_halves(const lrp_rule_call *c, const lrp_sign_split *s, int mod_a, int mod_b,
                           const lrp_tensor *mask, lrp_tensor **T, bool *done, lrp_error *err);
/* The node's cached buffer of n values for a product that does not depend on
 * the input: *have when it holds them, else fill it and call
 * lrp_const_product_done. NULL on failure. */
lrp_real *lrp_const_product(const lrp_rule_call *c, int64_t n, bool *have, lrp_error *err);
void lrp_const_product_done(const lrp_rule_call *c, int64_t n);
/* Whether such a product can be computed for one sample (the input, of rank
 * xndim, and the output batched alike), else for the whole batch. */
bool lrp_const_per_sample(const lrp_rule_call *c, int xndim);
/* f(x; W, b) shaped like the output with x's batch (lrp_const_per_sample). */
lrp_tensor *lrp_layer_sample_new(const lrp_rule_call *c, const lrp_tensor *x, const lrp_real *W, const lrp_real *b,
                                 lrp_error *err);
/* LRP_GEMM_COUNT (gemm_count.c): whether counting is on; a layer a rule runs
 * on (its forward product, the unit); a product the rule runs, units times
 * the layer's forward multiply-adds (LRP_COUNT_CACHED: one it took from a
 * cache instead). */
enum { LRP_COUNT_FWD, LRP_COUNT_T, LRP_COUNT_CACHED };
bool lrp_gemm_count_on(void);
void lrp_gemm_count_layer(const lrp_rule_call *c);
void lrp_gemm_count(const lrp_rule_call *c, int what, double units);

/* g = R / s(z) into a new tensor. */
lrp_tensor *lrp_ratio_new(const lrp_tensor *R, const lrp_tensor *z, lrp_real eps, lrp_error *err);
/* R / s(z) with the rule's stabilizer (lrp_rule_stabilize). */
lrp_tensor *lrp_rule_ratio_new(const lrp_rule_call *c, const lrp_tensor *R, const lrp_tensor *z, lrp_error *err);
/* acc += x ⊙ t */
void lrp_add_product(lrp_tensor *acc, const lrp_tensor *x, const lrp_tensor *t);
/* x ⊙ t, new (x's shape) */
lrp_tensor *lrp_product_new(const lrp_tensor *x, const lrp_tensor *t, lrp_error *err);
/* Frees t[0..n-1] and sets them NULL. */
void lrp_tensors_free(lrp_tensor **t, int n);
/* a += b */
void lrp_add_inplace(lrp_tensor *a, const lrp_tensor *b);
/* A float tensor of ones. */
lrp_tensor *lrp_ones_new(int ndim, const int64_t *dims, lrp_error *err);
/* The error already set, or out of memory. */
lrp_status lrp_rule_oom(lrp_error *err);

/* The op's gradient with gout into fresh zero buffers tmp[i] (one per input
 * with an accumulator, NULL for the others); free them with lrp_grad_free. */
lrp_status lrp_grad_into(const lrp_rule_call *c, const lrp_tensor *const *in, const lrp_tensor *out,
                         const lrp_tensor *gout, lrp_tensor **tmp, lrp_error *err);
void lrp_grad_free(const lrp_node *n, lrp_tensor **tmp);
#define LRP_RULE_MAX_INPUTS 64

/* The input whose accumulator is set (the activation of a one-input rule). */
int lrp_activation_input(const lrp_rule_call *c);

/* Norm's kernel, which Epsilon uses on ops without weights (norm.c). */
lrp_status lrp_norm_apply(const lrp_rule_call *c, lrp_error *err);
/* Whether lrp_norm_apply takes one sample's forward values (takes_one). */
bool lrp_norm_takes_one(const lrp_rule_call *c);
/* In a shared sweep (c->shared > 1): whether t, a forward value or one made
 * of them alone, holds one sample (the rule took one, takes_one) rather than
 * the copies. */
bool lrp_shared_one(const lrp_rule_call *c, const lrp_tensor *t);
/* Norm's adjoint, which Epsilon's uses on ops without weights (norm.c). */
lrp_status lrp_norm_adjoint(const lrp_adjoint_call *a, lrp_error *err);

/* ------------------------------------------- shared adjoint parts (adjoint.c) */

/* J d for a node affine in its activation inputs (those with c->gin): the
 * op run on the directions d (constants as they are), less its value at 0
 * where a constant takes part; new, shaped like c->R. NULL with err. */
lrp_tensor *lrp_adj_linear_new(const lrp_rule_call *c, const lrp_tensor *const *dir, lrp_error *err);

/* small (broadcast to big's shape, right-aligned, dims 1 or equal) += scale
 * · big summed over the broadcast dimensions, in index order; with expand,
 * the transpose: big += scale · small broadcast. */
void lrp_bcast_map(lrp_tensor *small, lrp_tensor *big, lrp_real scale, bool expand);

/* How a term's input factor depends on the layer input x: a constant (ZBox's
 * bounds), x itself, x⁺ = clamp(x, min=0) or x⁻ = clamp(x, max=0), whose
 * derivatives are 1 at x = 0 (torch's clamp). */
enum { LRP_ADJ_CONST, LRP_ADJ_X, LRP_ADJ_XPOS, LRP_ADJ_XNEG };

/* One term of a layer rule's group: coef · f ⊙ Wᵀg in R_in, coef · f(f; W) in z. */
typedef struct lrp_adj_term {
    const lrp_real *W;
    const lrp_tensor *f; /* the factor's value */
    lrp_real coef;
    int dep;               /* LRP_ADJ_* */
    bool zero;             /* f is 0 everywhere (x⁻ of an x without negative entries) */
    const lrp_tensor *wtg; /* W_jᵀg if the first order kept it (lrp_rule_call.kept), else NULL */
} lrp_adj_term;

/* The adjoint of one group of a layer rule, R_in += scale · Σ_j coef_j f_j ⊙
 * W_jᵀ g with g = m ⊙ R / s(z) and z = Σ_j coef_j f(f_j; W_j) + b: z is
 * given (the rule's own), m is 1 (mask_sign 0) or [mask > 0] (1) or
 * [mask < 0] (-1). */
lrp_status lrp_adj_group(const lrp_adjoint_call *a, const lrp_adj_term *t, int nt, const lrp_tensor *z,
                         const lrp_tensor *mask, int mask_sign, lrp_real scale, lrp_error *err);

/* z = f(x⁺; W1, b1) + f(x⁻; W2, 0) (the second term only when x has negative
 * entries), as lrp_sign_half computes it; new. */
lrp_tensor *lrp_adj_half_z(const lrp_rule_call *c, const lrp_sign_split *s, const lrp_real *W1, const lrp_real *W2,
                           const lrp_real *b1, lrp_error *err);

#endif
