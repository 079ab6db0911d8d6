/* lrp inspect: what the model is, what the canonizers did, which rules apply. */
#include "cli/common.h"

#include <stdio.h>

int cmd_inspect(cli_args *a)
{
    int rc = cli_need_args(a, 1, 1, "MODEL");
    if (rc)
        return rc;
    lrp_model *m = cli_load_model(a, !a->no_canonize, true, &rc);
    if (!m)
        return rc;
    lrp_error err = {0};
    if (lrp_model_describe(m, stdout, &err) != LRP_OK) {
        cli_error("%s", err.message);
        lrp_model_free(m);
        return EXIT_INTERNAL;
    }
    if (a->has_composite || a->rules.n) {
        lrp_explain_options o = a->explain;
        o.n_overrides = a->rules.n;
        o.overrides = a->rules.v;
        /* placeholder bounds so that zbox rules can be shown */
        lrp_real lo = 0.0f, hi = 1.0f;
        o.n_bounds = 1;
        o.low = &lo;
        o.high = &hi;
        lrp_explainer *e = lrp_explainer_new(m, &o, &err);
        if (!e || lrp_explainer_describe(e, stdout, &err) != LRP_OK) {
            cli_error("%s", err.message);
            rc = err.status == LRP_ERR_ARG ? EXIT_USAGE : EXIT_MODEL;
        }
        lrp_explainer_free(e);
    }
    lrp_model_free(m);
    return rc;
}
