/* lrp explain --relevance-grad ones|self|target:T.npy (relgrad.h). */
#include "cli/relgrad.h"

#include <math.h>
#include <string.h>

int cli_relgrad_open(const cli_args *a, const char *attributor, cli_relgrad *rg)
{
    memset(rg, 0, sizeof *rg);
    if (!a->relevance_grad) {
        if (a->relevance_grad_out || a->zennit_second_order) {
            cli_error("%s needs --relevance-grad",
                      a->relevance_grad_out ? "--relevance-grad-out" : "--zennit-second-order");
            return EXIT_USAGE;
        }
        return EXIT_OK;
    }
    const char *s = a->relevance_grad;
    if (!strcmp(s, "ones")) {
        rg->o.cotangent = LRP_COTANGENT_ONES;
    } else if (!strcmp(s, "self")) {
        rg->o.cotangent = LRP_COTANGENT_SELF;
    } else if (!strncmp(s, "target:", 7) && s[7]) {
        lrp_error err = {0};
        rg->o.cotangent = LRP_COTANGENT_TARGET;
        if (lrp_npy_read(s + 7, &rg->target, &err) != LRP_OK) {
            cli_error("--relevance-grad %s: %s", s, err.message);
            return EXIT_INPUT;
        }
        if (rg->target->dtype != LRP_REAL_DT) {
            cli_error("--relevance-grad %s: T must be a float .npy", s);
            cli_relgrad_close(rg);
            return EXIT_INPUT;
        }
        rg->o.target = rg->target;
    } else {
        cli_error("--relevance-grad %s: give ones, self or target:T.npy", s);
        return EXIT_USAGE;
    }
    if (attributor && strcmp(attributor, "gradient")) {
        cli_error("--relevance-grad: the second order is computed for the composite alone (attributor gradient), "
                  "not for %s",
                  attributor);
        cli_relgrad_close(rg);
        return EXIT_USAGE;
    }
    rg->o.zennit = a->zennit_second_order;
    rg->on = true;
    return EXIT_OK;
}

void cli_relgrad_close(cli_relgrad *rg)
{
    lrp_tensor_free(rg->target);
    rg->target = NULL;
    rg->on = false;
}

lrp_status cli_relgrad_run(const cli_relgrad *rg, lrp_explainer *ex, const lrp_tensor *x, int64_t target,
                           lrp_seed seed, lrp_tensor **rel, lrp_tensor **logits, int64_t *target_out,
                           lrp_tensor **grad, lrp_error *err)
{
    int64_t t = target;
    return lrp_explain_relevance_grad(ex, x, &t, seed, &rg->o, rel, grad, logits, target_out, err);
}

double cli_relgrad_norm(const lrp_tensor *grad)
{
    double s = 0;
    const lrp_real *g = grad->data;
    for (int64_t i = 0; i < grad->numel; i++)
        s += (double)g[i] * (double)g[i];
    return sqrt(s);
}
