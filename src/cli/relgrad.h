/* lrp explain --relevance-grad: the gradient of the explanation,
 * u · ∂R(x)/∂x (lrp_explain_relevance_grad), for the composite alone, input x
 * gradient, and Integrated Gradients and SmoothGrad around the composite
 * (lrp_attribute_relevance_grad). */
#ifndef LRP_CLI_RELGRAD_H
#define LRP_CLI_RELGRAD_H

#include "lrp.h"
#include "lrp_render.h"
#include "cli/options.h"

typedef struct cli_relgrad {
    bool on;
    lrp_relevance_grad_options o;
    lrp_tensor *target;          /* T of target:T.npy, owned */
    lrp_raster *mask;            /* M of mask:M.png, owned */
    double *m;                   /* its values in [0, 1] (white = 1), one per pixel */
    bool ixg;                    /* --attributor input-x-gradient: A = x R, G by the product rule */
    bool copies;                 /* --attributor integrated-gradients or smoothgrad: lrp_attribute_relevance_grad */
    lrp_attributor_options attr; /* theirs, from the command line */
    lrp_tensor *baseline;        /* --baseline FILE.npy, owned */
} cli_relgrad;

/* From --relevance-grad, --relevance-grad-out and --zennit-second-order
 * (errors printed); returns an exit code. */
int cli_relgrad_open(const cli_args *a, const char *attributor, cli_relgrad *rg);
void cli_relgrad_close(cli_relgrad *rg);

/* The relevance, logits and G of one input for target (-1: the predicted class).
 * With input-x-gradient the relevance is A = x R and G the gradient of the
 * cotangent's function of A: u_A R + (u_A x) dR/dx. */
lrp_status cli_relgrad_run(const cli_relgrad *rg, lrp_explainer *ex, const lrp_tensor *x, int64_t target,
                           lrp_seed seed, lrp_tensor **rel, lrp_tensor **logits, int64_t *target_out,
                           lrp_tensor **grad, lrp_error *err);

/* The L2 norm of G. */
double cli_relgrad_norm(const lrp_tensor *grad);

#endif
