/* Canonizer passes (zennit-reference.md §3) on an lrp_graph. */
#ifndef LRP_CANONIZE_H
#define LRP_CANONIZE_H

#include "graph/graph.h"

enum {
    LRP_CANON_DROP_IDENTITY = 1, /* drop Identity and Dropout */
    LRP_CANON_STRIP_SOFTMAX = 2, /* a final Softmax/LogSoftmax: explain the logits */
    LRP_CANON_FUSE_BIAS = 4,     /* MatMul/Conv/Gemm + Add(constant) -> one layer with a bias */
    LRP_CANON_FOLD_BN = 8,       /* BatchNormalization into the linear layer feeding it */
    LRP_CANON_GELU = 16,         /* PyTorch's exported GELU and LayerNorm patterns -> Gelu, LayerNormalization */
    LRP_CANON_ALL = 31,
    /* not a canonizer and not in ALL: after the others, every bias of the model set to zero (the bias of Conv,
     * ConvTranspose, Gemm and MatMul layers, LayerNormalization's B, BatchNormalization's B and mean) */
    LRP_CANON_ZERO_BIASES = 32
};

/* Runs the passes on a graph whose shapes were inferred (lrp_graph_infer) and
 * whose ops were initialized. Leaves the graph sorted; new or changed nodes
 * need op init (lrp_graph_init_ops) and shapes need inferring again. What was
 * done is recorded in g->notes. */
lrp_status lrp_canonize(lrp_graph *g, unsigned passes, lrp_error *err);

/* What a Mul of two activations is (lrp_mul_kind). */
typedef enum lrp_mul_kind {
    LRP_MUL_PLAIN = 0,  /* neither below: the product's gradient */
    LRP_MUL_ACTIVATION, /* x * Sigmoid(x) or x * HardSigmoid(x): SiLU, HardSwish */
    /* squeeze-excitation, x * gate with gate = Sigmoid/HardSigmoid(Conv(act(Conv(GlobalAveragePool(x))))) */
    LRP_MUL_GATE
} lrp_mul_kind;

/* Recognises a Mul node as an activation product or a squeeze-excitation
 * gate; *signal is then the index of its input x (else -1). */
lrp_mul_kind lrp_mul_kind_of(const lrp_graph *g, const lrp_node *n, int *signal);

/* What a MatMul of two activations is in an attention block (lrp_matmul_kind). */
typedef enum lrp_matmul_kind {
    LRP_MATMUL_PLAIN = 0, /* a layer with a constant weight, or neither below */
    LRP_MATMUL_SCORE,     /* MatMul(Q, K^T) whose output reaches a Softmax through scalings and constant Adds */
    LRP_MATMUL_VALUE      /* MatMul(A, V) with A a Softmax output */
} lrp_matmul_kind;

/* Recognises a MatMul of two activations as an attention score or value
 * product; for a value product *weights is the index of the Softmax input
 * A (else -1). */
lrp_matmul_kind lrp_matmul_kind_of(const lrp_graph *g, const lrp_node *n, int *weights);

/* Whether a dense layer is an attention projection: its output reaches an
 * attention MatMul through routing and scalings (in-projection), or its
 * input comes from a value MatMul through Reshape/Transpose (out-projection). */
bool lrp_attention_projection(const lrp_graph *g, const lrp_node *n);

#endif
