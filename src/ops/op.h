/* The operator interface. Each ONNX operator lives in one file under src/ops/
 * with its attribute parsing, shape inference, forward kernel, gradient
 * (vector-Jacobian product) and, for layers with weights, the parametrised
 * kernels the LRP rules need. All ops are listed in one table (op_registry.c). */
#ifndef LRP_OP_H
#define LRP_OP_H

#include "base/error.h"
#include "base/exec.h"
#include "graph/graph.h"
#include "base/tensor.h"

/* zennit's module groups (zennit-reference.md §8); decides which rule a node
 * gets. Computed per node because it can depend on the inputs (a MatMul with a
 * constant weight is a dense layer; an Add of two activations is a Sum). */
typedef enum lrp_group {
    LRP_GROUP_OTHER = 0,  /* no rule: plain gradient */
    LRP_GROUP_CONV,       /* Conv: zennit Convolution (and Linear) */
    LRP_GROUP_CONVT,      /* ConvTranspose: zennit Convolution (and Linear) */
    LRP_GROUP_DENSE,      /* Gemm / MatMul with constant weight: torch.nn.Linear */
    LRP_GROUP_ACTIVATION, /* elementwise activations other than ReLU */
    LRP_GROUP_RELU,       /* Relu: Activation, and torch.nn.ReLU for the ReLU-only rules */
    LRP_GROUP_AVGPOOL,    /* AveragePool, GlobalAveragePool, spatial ReduceMean */
    LRP_GROUP_MAXPOOL,    /* MaxPool, GlobalMaxPool (unmapped in zennit: gradient) */
    LRP_GROUP_BATCHNORM,  /* BatchNormalization */
    LRP_GROUP_SUM,        /* Add/Sum of same-shaped activations (zennit's residual Sum) */
    LRP_GROUP_LAYERNORM,  /* LayerNormalization */
    LRP_GROUP_COUNT
} lrp_group;

const char *lrp_group_name(lrp_group g);

/* What a node's gradient needs kept from the forward pass. */
enum { LRP_KEEP_INPUTS = 1, LRP_KEEP_OUTPUT = 2 };

/* Layers with weights (conv, transposed conv, dense): the LRP rules run the
 * layer with substituted parameters, and its transposed weight product. */
typedef struct lrp_linear {
    /* y = f(x; W, b) with the node's geometry. b may be NULL (no bias).
     * W has the layout of the node's weight input. y is preallocated. */
    lrp_status (*apply)(const lrp_node *n, const lrp_tensor *x, const lrp_real *W, const lrp_real *b, lrp_tensor *y,
                        lrp_error *err);
    /* gx += Wᵀ g : the input-gradient of f(·; W, ·) applied to g. */
    lrp_status (*apply_t)(const lrp_node *n, const lrp_tensor *g, const lrp_real *W, lrp_tensor *gx, lrp_error *err);
    int weight_input; /* input index of W */
    int bias_input;   /* input index of b (may be absent on a node) */
    /* Dim of W that indexes output channels (0 for Conv, 1 for ConvTranspose,
     * 0 or 1 for dense layers by their layout); -1 when BatchNorm cannot be
     * folded into this node (e.g. grouped ConvTranspose). */
    int (*out_channel_dim)(const lrp_node *n);
    /* Optional (NULL: never): whether apply_stacked runs for the node now. */
    bool (*can_stack)(const lrp_node *n);
    /* y = f(x; W_s, b_s) for `stack` weight sets in one product sharing the
     * input's unfolding: W the sets one after the other (each laid out as
     * the node's weight), b likewise or NULL; y shaped like the output with
     * stack times its batch, set-major ([set][sample]...), overwritten. Every
     * element the same sums as apply's. Only where can_stack says so. */
    lrp_status (*apply_stacked)(const lrp_node *n, const lrp_tensor *x, int stack, const lrp_real *W,
                                const lrp_real *b, lrp_tensor *y, lrp_error *err);
} lrp_linear;

/* Everything a kernel may look at: the graph (for shapes and constants) and
 * the node. */
typedef struct lrp_op {
    const char *type;
    int min_inputs, max_inputs;
    /* Parses and validates attributes into n->state (may stay NULL). Called once. */
    lrp_status (*init)(lrp_graph *g, lrp_node *n, lrp_error *err);
    void (*destroy)(void *state);
    /* Sets dtype/ndim/dims of the node's outputs from its inputs' inferred
     * shapes (and constant inputs). All inputs have shape_known. */
    lrp_status (*infer)(lrp_graph *g, lrp_node *n, lrp_error *err);
    /* Computes the outputs. in[i] is NULL for omitted inputs; out[] are
     * preallocated with the inferred shapes, zero-filled. */
    lrp_status (*forward)(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err);
    /* Vector-Jacobian product: gin[i] += (∂out/∂in[i])ᵀ gout for every
     * gin[i] != NULL (NULL for constants). in/out hold what `keep` asked for
     * (others may be NULL). NULL backward: the op is not differentiable and
     * relevance cannot pass it. */
    lrp_status (*backward)(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                           const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err);
    unsigned keep; /* LRP_KEEP_* that backward needs */
    /* The node's zennit group; NULL means LRP_GROUP_OTHER. */
    lrp_group (*group)(const lrp_graph *g, const lrp_node *n);
    const lrp_linear *linear; /* non-NULL for layers with weights */
    /* Engine hints (all optional; zero is always safe):
     * overwrites: forward writes every output element, so the engine need
     *   not zero the output first;
     * inplace: forward is an elementwise map of input 0 (output shaped like
     *   it), so it may run with the output buffer being input 0's when no
     *   one else needs that input;
     * view: output 0 is input 0's data with another shape (Reshape, ...): the
     *   engine may move the buffer instead of running forward. */
    unsigned char overwrites, inplace, view;
    /* The gradient jumps where the input crosses a threshold or ties (the
     * argmax of a max pooling, an activation's mask): the rules that follow
     * the gradient make a discrete decision here (lrp_rule_decides). */
    unsigned char piecewise;
    /* Optional: the gradient is 0 wherever the output is 0, whatever gout
     * holds there (ReLU; Clip from 0): the second order skips work whose
     * cotangent lands only there. in as for backward. */
    bool (*dead_at_zero)(const lrp_node *n, const lrp_tensor *const *in);
    /* Optional, for an op of input 0 (any other input a constant), with
     * jvp below unless its Jacobian J is symmetric (elementwise ops,
     * Softmax): gx += ∂⟨u, J(x)ᵀg⟩/∂x
     * with g held, the curvature term of the second order of its gradient
     * (the gradient rule's adjoint); elementwise, g ⊙ u ⊙ f''(x). in and
     * out as for backward, all kept. */
    lrp_status (*second)(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out, const lrp_tensor *g,
                         const lrp_tensor *u, lrp_tensor *gx, lrp_error *err);
    /* Optional, beside second where J is not symmetric: y += J u for a
     * direction u of input 0 (else J u is taken as backward's Jᵀu). */
    lrp_status (*jvp)(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out, const lrp_tensor *u,
                      lrp_tensor *y, lrp_error *err);
} lrp_op;

/* Registry lookup by ONNX op type (default domain); NULL if unsupported. */
const lrp_op *lrp_op_find(const char *type);
/* The supported op types, for `lrp inspect` and the docs. */
int lrp_op_count(void);
const lrp_op *lrp_op_at(int i);

lrp_group lrp_node_group(const lrp_graph *g, const lrp_node *n);

/* Shared helpers for op files ------------------------------------------- */

/* Sets output k of n to dtype and shape. */
void lrp_set_output(lrp_graph *g, lrp_node *n, int k, lrp_dtype dt, int ndim, const int64_t *dims);
/* Fails with "node NAME (OpType): message". */
lrp_status lrp_node_fail(lrp_error *err, const lrp_node *n, lrp_status st, const char *fmt, ...) LRP_PRINTF(4, 5);
/* Shape inference that knows an output's value (Shape, Size of a known
 * shape): t (owned from here) becomes v's constant, replaced when the shapes
 * are inferred again; an internal error if v holds another constant. */
lrp_status lrp_set_folded(lrp_node *n, lrp_value *v, lrp_tensor *t, lrp_error *err);

/* Numpy-style broadcast of two shapes; -1 if incompatible. */
int lrp_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out);

/* Normalizes an axis attribute against rank r; -1 when out of range. */
int lrp_axis(int64_t axis, int r);

/* Number of threads our own loops may use: the calling thread's execution
 * context (base/exec.h), installed by the public entry points from the
 * options of the model or the explainer. */
#define lrp_num_threads (lrp_exec_ctx.threads)

/* Whether the node now running forward accumulates its convolution or dense
 * layer in double: it is in the explainer's exact plan and the explainer
 * asked for the exact forward pass (set by the forward engine). */
static inline bool lrp_forward_exact(void) { return lrp_exec_ctx.exact; }

#endif
