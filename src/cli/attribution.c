/* Attribution methods for the command line. */
#include "attribution.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct attribution {
    attribution_config c;
    lrp_explainer *ex;
    lrp_model *m;
    char method[128];
};

static const char *const names[] = {"gradient", "input-x-gradient", "smoothgrad", "integrated-gradients",
                                    "occlusion", "random"};

int attribution_config_from_args(const cli_args *a, attribution_config *c)
{
    memset(c, 0, sizeof *c);
    c->name = a->attributor ? a->attributor : "gradient";
    bool known = false;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        known = known || !strcmp(c->name, names[i]);
    if (!known) {
        cli_error("--attributor: unknown '%s' (choose from gradient, input-x-gradient, smoothgrad, "
                  "integrated-gradients, occlusion, random)",
                  c->name);
        return EXIT_USAGE;
    }
    c->steps = a->steps;
    c->samples = a->samples;
    c->noise_level = a->noise_level;
    c->seed = a->seed;
    c->baseline = a->baseline;
    c->window = a->window;
    c->stride = a->stride;
    c->occlude_window = a->occlude && !strcmp(a->occlude, "window");
    c->fill = a->fill;
    return EXIT_OK;
}

bool attribution_is_signed(const attribution_config *c, const char *composite)
{
    if (strcmp(c->name, "gradient"))
        return false;
    const char *lrp[] = {"epsilon-plus-flat", "epsilon-plus", "epsilon-alpha2-beta1", "epsilon-alpha2-beta1-flat",
                         "epsilon-gamma-box"};
    for (size_t i = 0; i < sizeof lrp / sizeof *lrp; i++)
        if (composite && !strcmp(composite, lrp[i]))
            return true;
    return false;
}

const char *attribution_method_name(const attribution_config *c, const char *composite)
{
    static char buf[128];
    if (!strcmp(c->name, "gradient"))
        snprintf(buf, sizeof buf, "%s", composite);
    else if (!strcmp(c->name, "occlusion") || !strcmp(c->name, "random"))
        snprintf(buf, sizeof buf, "%s", c->name);
    else
        snprintf(buf, sizeof buf, "%s+%s", c->name, composite);
    return buf;
}

attribution *attribution_new(const attribution_config *c, lrp_explainer *ex, lrp_model *m, const lrp_preprocess *pp,
                             lrp_error *err)
{
    (void)pp;
    if (strcmp(c->name, "gradient")) {
        lrp_fail(err, LRP_ERR_UNSUPPORTED, "the %s attributor is not available yet", c->name);
        return NULL;
    }
    attribution *at = calloc(1, sizeof *at);
    if (!at) {
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    at->c = *c;
    at->ex = ex;
    at->m = m;
    return at;
}

void attribution_free(attribution *at) { free(at); }

lrp_status attribution_run(attribution *at, const lrp_tensor *x, int64_t target, lrp_seed seed, lrp_tensor **rel,
                           lrp_tensor **logits, int64_t *target_out, double *seed_value, lrp_error *err)
{
    int64_t t = target;
    lrp_status st = lrp_explain(at->ex, x, &t, seed, rel, logits, target_out, err);
    if (st == LRP_OK && seed_value)
        *seed_value = seed == LRP_SEED_LOGIT ? ((const float *)(*logits)->data)[*target_out] : 1.0;
    return st;
}
