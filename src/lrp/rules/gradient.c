/* No rule: relevance follows the op's gradient (vector-Jacobian product). */
#include "lrp/rules/rule.h"

#include "base/error.h"

static lrp_status gradient_apply(const lrp_rule_call *c, lrp_error *err)
{
    const lrp_node *n = c->n;
    if (!n->op->backward)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "relevance cannot pass this op (it has no gradient)");
    return n->op->backward(n, c->in, c->out, c->R, c->gin, err);
}

const lrp_rule_def lrp_rule_gradient = {
    .kind = LRP_RULE_GRADIENT,
    .name = "gradient",
    .summary = "no rule: the plain gradient",
    .flags = LRP_RULE_FOLLOWS_GRADIENT | LRP_RULE_KEEP_OP,
    .apply = gradient_apply,
};
