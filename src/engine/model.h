/* The model object behind the public lrp_model handle. */
#ifndef LRP_MODEL_H
#define LRP_MODEL_H

#include "base/exec.h"
#include "graph/graph.h"

#include <pthread.h>

struct lrp_model {
    lrp_graph *g;
    lrp_model_info info;
    lrp_load_options opts;
    int input;            /* value index of the image input */
    int output;           /* value index of the logits (after canonizing) */
    bool supported;       /* every op is supported */
    bool canonized;       /* canonizer passes have run */
    bool residual_sum;    /* Adds of activations are zennit Sums (canonizers on) */
    bool prepared;        /* shapes inferred for cur_dims */
    pthread_mutex_t lock; /* held while preparing (lrp.h, Threads) */
    int cur_ndim;
    int64_t cur_dims[LRP_MAX_DIMS];
    /* as loaded, before canonizing (for `lrp inspect`) */
    int n_op_types;
    char **op_types;
    int *op_counts;
    bool *op_supported;
    int64_t n_params;
    int n_nodes_loaded;
};

/* A model around a sorted graph (takes ownership, also on failure). */
lrp_model *lrp_model_from_graph(lrp_graph *g, const lrp_load_options *opts, lrp_error *err);

/* Infers shapes for an input of the given shape (running the canonizers the
 * first time, if asked for), under the model's lock; a no-op when the model
 * is prepared for that shape already. */
lrp_status lrp_model_prepare(lrp_model *m, int ndim, const int64_t *dims, lrp_error *err);

/* Whether shapes are inferred for some input shape (read under the lock). */
bool lrp_model_is_prepared(lrp_model *m);

/* Installs the model's execution choices (lrp_load_options threads,
 * openblas) on the calling thread for a call; lrp_exec_leave(saved) after. */
void lrp_model_exec_enter(const lrp_model *m, lrp_exec *saved);

/* The forward pass on inputs gave a non-finite output: LRP_ERR_NUMERIC with a
 * message naming the input or the first node that went non-finite. */
lrp_status lrp_model_nonfinite(lrp_model *m, const lrp_tensor *const *inputs, const unsigned char *exact,
                               lrp_error *err);

#endif
