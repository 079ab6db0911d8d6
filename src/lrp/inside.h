/* Relevance inside the network: the records and the CRP conditions of
 * lrp_explainer_set_inside, as the backward sweep's arrive hook
 * (engine/backward.h). */
#ifndef LRP_INSIDE_H
#define LRP_INSIDE_H

#include "graph/graph.h"

typedef struct lrp_inside lrp_inside;

/* Resolves o's node names on g (input: the model input's value index). */
lrp_inside *lrp_inside_new(const lrp_graph *g, int input, const lrp_inside_options *o, lrp_error *err);
void lrp_inside_free(lrp_inside *in);

/* Before a sweep of a batch of N on g (its shapes inferred): checks the
 * channels and samples, forgets the last records. N = 0: the batch is not
 * known yet (checks the channels only). */
lrp_status lrp_inside_begin(lrp_inside *in, const lrp_graph *g, int64_t N, lrp_error *err);
/* Per node (index): whether the hook wants to see it. */
const unsigned char *lrp_inside_nodes(const lrp_inside *in);
/* The arrive hook of the sweep (ctx: the lrp_inside). */
lrp_status lrp_inside_arrive(void *ctx, int node, lrp_tensor **rel, int64_t batch, lrp_error *err);
/* After the sweep, before the input relevance is taken from rel: the
 * records at the input, and zeros where no relevance arrived. */
lrp_status lrp_inside_end(lrp_inside *in, const lrp_graph *g, lrp_tensor *const *rel, int64_t N, lrp_error *err);

const lrp_tensor *lrp_inside_recorded(const lrp_inside *in, int i);

/* A node name (as lrp_node_label prints it; a removed node stands for the
 * node whose output replaced its own) or a value name: the node index, -1
 * for the model input, -2 (with the message in err) when there is none. */
int lrp_inside_resolve(const lrp_graph *g, int input, const char *name, lrp_error *err);

/* For the part of a sweep below node (lrp_explain_channels): in's
 * conditions at nodes before it in g->order (in may be NULL) and sample b
 * conditioned on channels[b] at node, b < n; in's exclude_parallel. */
lrp_inside *lrp_inside_concepts(const lrp_inside *in, const lrp_graph *g, int input, int node, int n,
                                const int64_t *channels, lrp_error *err);

#endif
