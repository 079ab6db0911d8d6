/* The attribution method of a run: a composite alone (zennit's Gradient
 * attributor) or one of the attributors combined with it. */
#ifndef LRP_CLI_ATTRIBUTION_H
#define LRP_CLI_ATTRIBUTION_H

#include "lrp_image.h"
#include "lrp.h"
#include "cli/items.h"
#include "cli/options.h"

typedef struct attribution_config {
    const char *name;         /* the attributor's name (lrp_attributor_name of o.kind) */
    lrp_attributor_options o; /* as the command line sets them (no tensors yet) */
    const char *baseline;     /* explain's --baseline: "zero" or FILE.npy */
    const char *fill;         /* --fill: "zero", "mean" or FILE.npy */
} attribution_config;

typedef struct attribution attribution;

int attribution_config_from_args(const cli_args *a, attribution_config *c);
/* Signed relevance (an LRP composite with the gradient attributor)? */
bool attribution_is_signed(const attribution_config *c, const char *composite);
/* The {method} of output templates: the composite, or attributor+composite. */
const char *attribution_method_name(const attribution_config *c, const char *composite);

/* The explainer options the command line asks for: composite (an attributor
 * alone wraps the plain gradient, as in zennit), rule parameters, overrides,
 * and the ZBox bounds (--low/--high, or what pixel values 0 and 1 become
 * after the preprocessing). low/high must hold 3 values and outlive o.
 * Prints errors; returns an exit code. */
int attribution_explain_options(const cli_args *a, const attribution_config *c, const lrp_preprocess *pp,
                                lrp_explain_options *o, lrp_real *low, lrp_real *high);

/* Whether the canonizers apply (they belong to composites with rules). */
bool attribution_uses_rules(const cli_args *a, const attribution_config *c);

/* Everything an attribution run needs, set up from the command line: the
 * model (canonized when the method has rules), its preprocessing, the
 * explainer and the attribution. */
typedef struct cli_method {
    lrp_model *model;
    lrp_preprocess pp;
    lrp_explain_options eo;
    lrp_real low[3], high[3];
    lrp_explainer *ex;
    attribution *attr;
} cli_method;

/* Returns an exit code (errors printed); cli_method_close frees what was made. */
int cli_method_open(const cli_args *a, const attribution_config *c, cli_method *cm);
void cli_method_close(cli_method *cm);

attribution *attribution_new(const attribution_config *c, lrp_explainer *ex, lrp_model *m, const lrp_preprocess *pp,
                             lrp_error *err);
void attribution_free(attribution *at);
/* Called as copies of an input go through the engine (done, total). */
void attribution_set_progress(attribution *at, void (*fn)(void *, int, int), void *ctx);

/* Attribution of one input for target (-1: the predicted class). */
lrp_status attribution_run(attribution *at, const lrp_tensor *x, int64_t target, lrp_seed seed, lrp_tensor **rel,
                           lrp_tensor **logits, int64_t *target_out, double *seed_value, lrp_error *err);

/* The same for a batch: targets[b] for sample b (-1: its predicted class). */
lrp_status attribution_run_many(attribution *at, const lrp_tensor *x, const int64_t *targets, lrp_seed seed,
                                lrp_tensor **rel, lrp_tensor **logits, int64_t *targets_out, lrp_error *err);

/* Several targets of one input x in one pass (lrp_explain_targets: one
 * forward pass, the rules' products of forward values shared), for the
 * gradient and input-x-gradient (of any composite): targets as that call
 * takes them (top: the top best filled in, the first n explained); *rel
 * (n, ...), *logits (1, classes). LRP_ERR_UNSUPPORTED for the other
 * attributors and for models that do not batch: explain them one by one. */
lrp_status attribution_run_targets(attribution *at, const lrp_tensor *x, int n, int64_t *targets, int top,
                                   lrp_seed seed, lrp_tensor **rel, lrp_tensor **logits, lrp_error *err);

/* eval's start of an input: the item's own error (a bad --list line), its
 * tensor (an image preprocessed for cm's model), one sample of it. */
lrp_status cli_eval_input(const cli_method *cm, const cli_item *it, lrp_tensor **x, lrp_error *err);

#endif
