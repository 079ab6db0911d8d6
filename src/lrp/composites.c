/* zennit's composites as data (zennit-reference.md §2): each is a first-layer
 * map and a layer map from zennit type groups to rules. The assigner walks the
 * graph in topological order: node-name overrides win, then the first-layer
 * rule (first matching node only), then op-type overrides, then the
 * composite's layer map; anything unmatched gets the plain gradient. */
#include "lrp/composites.h"

#include "base/error.h"
#include "graph/canonize.h"

#include <stdlib.h>
#include <string.h>

#define G(x) (1u << (x))
/* zennit's type groups (types.py) as sets of our node groups */
#define T_CONVOLUTION (G(LRP_GROUP_CONV) | G(LRP_GROUP_CONVT))
#define T_LINEAR (T_CONVOLUTION | G(LRP_GROUP_DENSE)) /* zennit.types.Linear */
#define T_DENSE G(LRP_GROUP_DENSE)                    /* torch.nn.Linear */
#define T_ACTIVATION (G(LRP_GROUP_ACTIVATION) | G(LRP_GROUP_RELU))
#define T_RELU G(LRP_GROUP_RELU)
#define T_AVGPOOL G(LRP_GROUP_AVGPOOL)
#define T_BATCHNORM G(LRP_GROUP_BATCHNORM)
#define T_SUM G(LRP_GROUP_SUM)
#define T_LAYERNORM G(LRP_GROUP_LAYERNORM)

/* The LXT composites (composite_def.lxt). */
enum { LXT_NONE, LXT_CP, LXT_ATTNLRP, LXT_VIT };

/* Which composite parameter a rule's epsilon/stabilizer comes from. */
enum { P_STAB, P_EPS };

typedef struct map_entry {
    unsigned groups;
    lrp_rule_kind rule;
    int eps_from;
} map_entry;

#define BASE_MAP                                                                                                      \
    {T_ACTIVATION, LRP_RULE_PASS, P_STAB}, {T_SUM, LRP_RULE_NORM, P_STAB}, {T_AVGPOOL, LRP_RULE_NORM, P_STAB},        \
        {T_BATCHNORM, LRP_RULE_PASS, P_STAB},                                                                         \
    {                                                                                                                 \
        T_LAYERNORM, LRP_RULE_LAYERNORM, P_EPS                                                                        \
    }

static const map_entry m_epsilon_plus[] = {
    BASE_MAP, {T_CONVOLUTION, LRP_RULE_ZPLUS, P_STAB}, {T_DENSE, LRP_RULE_EPSILON, P_EPS}, {0, 0, 0}};
static const map_entry m_epsilon_ab[] = {
    BASE_MAP, {T_CONVOLUTION, LRP_RULE_ALPHABETA, P_STAB}, {T_DENSE, LRP_RULE_EPSILON, P_EPS}, {0, 0, 0}};
static const map_entry m_epsilon_gamma[] = {
    BASE_MAP, {T_CONVOLUTION, LRP_RULE_GAMMA, P_STAB}, {T_DENSE, LRP_RULE_EPSILON, P_EPS}, {0, 0, 0}};
static const map_entry f_flat[] = {{T_LINEAR, LRP_RULE_FLAT, P_STAB}, {0, 0, 0}};
static const map_entry f_zbox[] = {{T_CONVOLUTION, LRP_RULE_ZBOX, P_STAB}, {0, 0, 0}};
static const map_entry m_deconvnet[] = {{T_RELU, LRP_RULE_DECONVNET, P_STAB}, {0, 0, 0}};
static const map_entry m_guided[] = {{T_RELU, LRP_RULE_GUIDED, P_STAB}, {0, 0, 0}};
static const map_entry m_beta_smooth[] = {{T_RELU, LRP_RULE_BETASMOOTH, P_STAB}, {0, 0, 0}};
static const map_entry m_excitation[] = {{T_SUM, LRP_RULE_NORM, P_STAB},
                                         {T_AVGPOOL, LRP_RULE_NORM, P_STAB},
                                         {T_LINEAR, LRP_RULE_ZPLUS, P_STAB},
                                         {T_LAYERNORM, LRP_RULE_LAYERNORM, P_STAB},
                                         {0, 0, 0}};
static const map_entry m_none[] = {{0, 0, 0}};

typedef struct composite_def {
    const char *name;
    const map_entry *first_map; /* NULL: no special first layer */
    const map_entry *layer_map;
    bool signed_lrp; /* an LRP composite (heatmap default: symmetric + coldnhot) */
    const char *summary;
    int lxt; /* LXT's explicit rules (lxt_rule): LXT_CP, LXT_ATTNLRP; 0 for zennit's composites */
} composite_def;

static const composite_def composites[] = {
    {"epsilon-plus-flat", f_flat, m_epsilon_plus, true,
     "Flat on the first linear layer, ZPlus on convolutions, Epsilon on dense layers", LXT_NONE},
    {"epsilon-plus", NULL, m_epsilon_plus, true, "ZPlus on convolutions, Epsilon on dense layers", LXT_NONE},
    {"epsilon-alpha2-beta1", NULL, m_epsilon_ab, true, "AlphaBeta(2,1) on convolutions, Epsilon on dense layers",
     LXT_NONE},
    {"epsilon-alpha2-beta1-flat", f_flat, m_epsilon_ab, true,
     "Flat on the first linear layer, AlphaBeta(2,1) on convolutions, Epsilon on dense layers", LXT_NONE},
    {"epsilon-gamma-box", f_zbox, m_epsilon_gamma, true,
     "ZBox on the first convolution, Gamma on convolutions, Epsilon on dense layers", LXT_NONE},
    {"guided-backprop", NULL, m_guided, false, "guided backpropagation on ReLUs, gradient elsewhere", LXT_NONE},
    {"excitation-backprop", NULL, m_excitation, false, "ZPlus on all linear layers, Norm on sums and pooling",
     LXT_NONE},
    {"deconvnet", NULL, m_deconvnet, false, "DeconvNet on ReLUs, gradient elsewhere", LXT_NONE},
    {"beta-smooth", NULL, m_beta_smooth, false, "sigmoid-smoothed ReLU gradient, gradient elsewhere", LXT_NONE},
    {"gradient", NULL, m_none, false, "no rules: the plain gradient", LXT_NONE},
    {"attnlrp", NULL, m_none, true,
     "LXT's AttnLRP: epsilon on layers, identity on activations, uniform-epsilon on attention MatMuls, the softmax "
     "rule",
     LXT_ATTNLRP},
    {"cp-lrp", NULL, m_none, true,
     "LXT's CP-LRP: epsilon on layers, identity on activations, attention weights held constant", LXT_CP},
    {"attnlrp-vit", NULL, m_none, true,
     "LXT's ViT recipe: CP-LRP with Gamma on convolutions and dense layers other than the attention projections",
     LXT_VIT},
};

#define N_COMPOSITES ((int)(sizeof composites / sizeof *composites))

int lrp_composite_count(void) { return N_COMPOSITES; }
const char *lrp_composite_name(int i) { return i >= 0 && i < N_COMPOSITES ? composites[i].name : NULL; }
const char *lrp_composite_summary(int i) { return i >= 0 && i < N_COMPOSITES ? composites[i].summary : NULL; }

int lrp_composite_find(const char *name)
{
    char buf[64];
    size_t n = strlen(name);
    if (n >= sizeof buf)
        return -1;
    for (size_t i = 0; i <= n; i++) /* accept zennit's underscores */
        buf[i] = name[i] == '_' ? '-' : name[i];
    for (int i = 0; i < N_COMPOSITES; i++)
        if (!strcmp(composites[i].name, buf))
            return i;
    return -1;
}

bool lrp_composite_is_lrp(int i) { return i >= 0 && i < N_COMPOSITES && composites[i].signed_lrp; }

static void base_rule(const lrp_composite_params *p, lrp_rule_kind kind, int eps_from, lrp_rule *r)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->eps = eps_from == P_EPS ? p->epsilon : p->stabilizer;
    r->alpha = p->alpha;
    r->beta = p->beta;
    r->gamma = p->gamma;
    r->beta_smooth = p->beta_smooth;
    r->zero_bias = p->zero_bias;
}

static const map_entry *match(const map_entry *map, lrp_group grp)
{
    for (; map && map->groups; map++)
        if (map->groups & G(grp))
            return map;
    return NULL;
}

/* The gate rule on a Mul that lrp_mul_kind_of recognises: squeeze-excitation
 * gates in the composites with rules for convolutions, activation products
 * (SiLU, HardSwish) where the composite passes activations (else the
 * gradient). Whether it applied. */
static bool gate_rule(const lrp_graph *g, const lrp_node *n, const composite_def *cd, const lrp_composite_params *p,
                      lrp_rule *r)
{
    int x;
    lrp_mul_kind kind = lrp_mul_kind_of(g, n, &x);
    const map_entry *e = NULL;
    if (kind == LRP_MUL_GATE)
        e = match(cd->layer_map, LRP_GROUP_CONV);
    else if (kind == LRP_MUL_ACTIVATION)
        e = match(cd->layer_map, LRP_GROUP_ACTIVATION);
    if (!e || (kind == LRP_MUL_ACTIVATION && e->rule != LRP_RULE_PASS))
        return false;
    base_rule(p, LRP_RULE_GATE, P_STAB, r);
    r->uniform = kind == LRP_MUL_GATE && p->gate_uniform;
    return true;
}

/* CP-LRP's attention in the composites with a rule for dense layers: no
 * relevance through MatMul(Q, K^T) (so none reaches the Softmax and the
 * scalings before it), and on MatMul(A, V) the attention weights A are a
 * constant weight with the dense layers' rule for V (Epsilon; ZPlus in
 * excitation-backprop). Whether it applied. */
static bool attention_rule(const lrp_graph *g, const lrp_node *n, const composite_def *cd,
                           const lrp_composite_params *p, lrp_rule *r)
{
    int a;
    lrp_matmul_kind kind = lrp_matmul_kind_of(g, n, &a);
    const map_entry *e = kind == LRP_MATMUL_PLAIN ? NULL : match(cd->layer_map, LRP_GROUP_DENSE);
    if (!e || (e->rule != LRP_RULE_EPSILON && e->rule != LRP_RULE_ZPLUS))
        return false;
    if (kind == LRP_MATMUL_SCORE) {
        base_rule(p, LRP_RULE_NONE, P_STAB, r);
        return true;
    }
    base_rule(p, LRP_RULE_ATTENTION_VALUE, e->eps_from, r);
    r->positive = e->rule == LRP_RULE_ZPLUS;
    return true;
}

/* Whether the node is a Mul or Div by a scalar constant, or an Add of a
 * constant (not a fused bias), to one activation; *add tells which. */
static bool constant_operand(const lrp_graph *g, const lrp_node *n, bool *add)
{
    *add = !strcmp(n->op_type, "Add");
    bool scale = !strcmp(n->op_type, "Mul") || !strcmp(n->op_type, "Div");
    if ((!*add && !scale) || n->n_inputs != 2 || n->inputs[0] < 0 || n->inputs[1] < 0)
        return false;
    const lrp_tensor *c0 = g->values[n->inputs[0]].constant, *c1 = g->values[n->inputs[1]].constant;
    if (!c0 == !c1 || (!strcmp(n->op_type, "Div") && c0))
        return false;
    return *add || (c0 ? c0 : c1)->numel == 1;
}

/* A rule with a fixed stabilizer, unsigned as LXT's. */
static void lxt_fixed(lrp_rule_kind kind, lrp_real eps, lrp_rule *r)
{
    lrp_rule_defaults(r, kind);
    r->eps = eps;
    r->unsigned_eps = true;
}

/* LXT's explicit rules (refset-modern's table): epsilon (unsigned 1e-6) on
 * layers, mean pooling and LayerNorm; identity on activations and scalings;
 * epsilon (unsigned 1e-8) on residual sums and constant Adds; under attnlrp
 * the uniform-epsilon rule on both attention MatMuls and the softmax rule;
 * under cp-lrp the attention weights are constants; attnlrp-vit is cp-lrp
 * with Gamma (gamma_conv, gamma_linear) on the layers other than the
 * attention projections. */
static void lxt_rule(const lrp_graph *g, const lrp_node *n, lrp_group grp, int lxt, const lrp_composite_params *p,
                     lrp_rule *r)
{
    int a;
    bool add;
    lrp_matmul_kind mk = lrp_matmul_kind_of(g, n, &a);
    lrp_mul_kind mul = lrp_mul_kind_of(g, n, &a);
    bool conv = grp == LRP_GROUP_CONV || grp == LRP_GROUP_CONVT;
    /* SiLU/HardSwish as x * Sigmoid(x): an activation (identity); a squeeze-excitation product x * gate: LXT's
     * uniform rule on a product of two activations (half each) */
    if (mul != LRP_MUL_PLAIN) {
        base_rule(p, LRP_RULE_GATE, P_STAB, r);
        r->uniform = mul == LRP_MUL_GATE;
        return;
    }
    if (lxt == LXT_VIT && (conv || (grp == LRP_GROUP_DENSE && !lrp_attention_projection(g, n)))) {
        base_rule(p, LRP_RULE_GAMMA, P_STAB, r);
        r->gamma = conv ? p->gamma_conv : p->gamma_linear;
    } else if (grp == LRP_GROUP_CONV || grp == LRP_GROUP_CONVT || grp == LRP_GROUP_DENSE)
        lxt_fixed(LRP_RULE_EPSILON, LRP_R(1e-6), r);
    else if (grp == LRP_GROUP_LAYERNORM)
        lxt_fixed(LRP_RULE_LAYERNORM, LRP_R(1e-6), r);
    else if (grp == LRP_GROUP_AVGPOOL)
        lxt_fixed(LRP_RULE_NORM, LRP_R(1e-6), r);
    else if (grp == LRP_GROUP_SUM)
        lxt_fixed(LRP_RULE_NORM, LRP_R(1e-8), r);
    else if (grp == LRP_GROUP_ACTIVATION || grp == LRP_GROUP_RELU || grp == LRP_GROUP_BATCHNORM)
        lrp_rule_defaults(r, LRP_RULE_PASS); /* a BatchNorm left unfolded (MaxViT's pre-norm): Pass, as zennit's */
    else if (mk != LRP_MATMUL_PLAIN && lxt == LXT_ATTNLRP)
        lxt_fixed(LRP_RULE_BILINEAR, LRP_R(1e-8), r);
    else if (mk == LRP_MATMUL_SCORE)
        lrp_rule_defaults(r, LRP_RULE_NONE);
    else if (mk == LRP_MATMUL_VALUE)
        lxt_fixed(LRP_RULE_ATTENTION_VALUE, LRP_R(1e-6), r);
    else if (lxt == LXT_ATTNLRP && !strcmp(n->op_type, "Softmax"))
        lrp_rule_defaults(r, LRP_RULE_SOFTMAX);
    else if (constant_operand(g, n, &add))
        add ? lxt_fixed(LRP_RULE_NORM, LRP_R(1e-8), r) : lrp_rule_defaults(r, LRP_RULE_PASS);
    r->zero_bias = p->zero_bias; /* --no-bias */
}

static lrp_status set_bounds(lrp_rule *r, const lrp_composite_params *p, lrp_error *err)
{
    if (r->kind != LRP_RULE_ZBOX || r->n_bounds > 0)
        return LRP_OK;
    if (p->n_bounds <= 0)
        return lrp_fail(err, LRP_ERR_ARG, "the zbox rule needs --low and --high bounds");
    r->n_bounds = p->n_bounds;
    r->low = malloc(sizeof(lrp_real) * (size_t)p->n_bounds);
    r->high = malloc(sizeof(lrp_real) * (size_t)p->n_bounds);
    if (!r->low || !r->high)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    memcpy(r->low, p->low, sizeof(lrp_real) * (size_t)p->n_bounds);
    memcpy(r->high, p->high, sizeof(lrp_real) * (size_t)p->n_bounds);
    return LRP_OK;
}

/* An override "KEY=RULE": KEY is a node name or an op type. */
typedef struct override {
    char *key;
    lrp_rule rule;
    bool used;
} override;

static void free_overrides(override *ov, int n)
{
    for (int i = 0; i < n; i++) {
        free(ov[i].key);
        lrp_rule_clear(&ov[i].rule);
    }
    free(ov);
}

lrp_status lrp_assign_rules(const lrp_graph *g, int composite, const lrp_composite_params *p, bool residual_sum,
                            lrp_rule *rules, lrp_error *err)
{
    if (composite < 0 || composite >= N_COMPOSITES)
        return lrp_fail(err, LRP_ERR_ARG, "unknown composite");
    const composite_def *cd = &composites[composite];
    override *ov = calloc((size_t)(p->n_overrides ? p->n_overrides : 1), sizeof *ov);
    if (!ov)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    lrp_status st = LRP_OK;
    for (int i = 0; i < p->n_overrides; i++) {
        const char *s = p->overrides[i], *eq = strchr(s, '=');
        if (!eq || eq == s) {
            st = lrp_fail(err, LRP_ERR_ARG, "--rule '%s': expected NODE=RULE or OPTYPE=RULE", s);
            goto done;
        }
        ov[i].key = strndup(s, (size_t)(eq - s));
        if (!ov[i].key) {
            st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
            goto done;
        }
        /* defaults: the composite's parameters (epsilon for Epsilon, stabilizer otherwise) */
        base_rule(p, LRP_RULE_EPSILON, strncmp(eq + 1, "epsilon", 7) ? P_STAB : P_EPS, &ov[i].rule);
        if ((st = lrp_rule_parse(eq + 1, &ov[i].rule, err)) != LRP_OK) {
            lrp_error_prefix(err, "--rule");
            goto done;
        }
    }
    bool first_done = cd->first_map == NULL;
    for (int k = 0; k < g->n_order && st == LRP_OK; k++) {
        int ni = g->order[k];
        const lrp_node *n = &g->nodes[ni];
        lrp_rule *r = &rules[ni];
        lrp_group grp = lrp_node_group(g, n);
        if (grp == LRP_GROUP_SUM && !residual_sum)
            grp = LRP_GROUP_OTHER;
        memset(r, 0, sizeof *r);
        r->kind = LRP_RULE_GRADIENT;
        const override *hit = NULL;
        for (int i = 0; i < p->n_overrides && !hit; i++)
            if (n->name && !strcmp(ov[i].key, n->name))
                hit = &ov[i];
        bool first = false;
        if (!first_done && match(cd->first_map, grp)) {
            first = true;
            first_done = true;
        }
        if (!hit && !first)
            for (int i = 0; i < p->n_overrides && !hit; i++)
                if (!strcmp(ov[i].key, n->op_type))
                    hit = &ov[i];
        if (hit) {
            ((override *)hit)->used = true;
            st = lrp_rule_copy(r, &hit->rule, err);
        } else if (cd->lxt) {
            lxt_rule(g, n, grp, cd->lxt, p, r);
        } else if (first || (!gate_rule(g, n, cd, p, r) && !attention_rule(g, n, cd, p, r))) {
            const map_entry *e = first ? match(cd->first_map, grp) : match(cd->layer_map, grp);
            if (e)
                base_rule(p, e->rule, e->eps_from, r);
        }
        if (st == LRP_OK)
            st = set_bounds(r, p, err);
        if (st == LRP_OK && r->kind != LRP_RULE_GRADIENT)
            st = lrp_rule_check(g, n, r, err);
        if (st != LRP_OK)
            lrp_error_prefix(err, "%s", g->path);
    }
    for (int i = 0; i < p->n_overrides && st == LRP_OK; i++)
        if (!ov[i].used)
            st = lrp_fail(err, LRP_ERR_ARG, "--rule %s: no node is named or has op type '%s'", p->overrides[i],
                          ov[i].key);
done:
    free_overrides(ov, p->n_overrides);
    return st;
}
