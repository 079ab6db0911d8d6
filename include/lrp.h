/*
 * lrp: Layer-wise Relevance Propagation for ONNX image classifiers.
 *
 * Public C interface of liblrp. Everything the command-line tool does is built
 * on these calls and those of two more headers: load a model, build its input
 * from a .npy file or (lrp_image.h) from an image, run it, explain a
 * prediction with an LRP composite or an attributor, and (lrp_render.h)
 * render the relevance as a heatmap PNG. liblrp.so exports exactly the
 * functions these three headers declare.
 *
 * Conventions
 *  - Functions that can fail return an lrp_status (LRP_OK == 0) or NULL, and
 *    fill the lrp_error passed as their last argument (which may be NULL).
 *  - Objects returned by *_new / *_load / *_read are owned by the caller and
 *    released with the matching *_free, which accepts NULL.
 *  - All arithmetic is float32 (lrp_real, below). Tensors are dense, C order.
 */
#ifndef LRP_H
#define LRP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LRP_VERSION "0.1.0"

/* Marks the functions liblrp.so exports; the library is built with
 * -fvisibility=hidden, so everything else stays inside it. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define LRP_API __attribute__((visibility("default")))
#else
#define LRP_API
#endif

#if defined(__GNUC__)
#define LRP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LRP_PRINTF(a, b)
#endif

/* ------------------------------------------------------------------ errors */

typedef enum lrp_status {
    LRP_OK = 0,
    LRP_ERR_IO,          /* missing or unreadable file, failed write */
    LRP_ERR_FORMAT,      /* malformed file: ONNX, image, npy, PNG */
    LRP_ERR_UNSUPPORTED, /* valid but not supported: op, dtype, feature */
    LRP_ERR_SHAPE,       /* shapes that do not fit together */
    LRP_ERR_LIMIT,       /* absurd sizes refused before allocating */
    LRP_ERR_NOMEM,       /* allocation failed */
    LRP_ERR_ARG,         /* bad argument from the caller */
    LRP_ERR_INTERNAL,
    LRP_ERR_NUMERIC /* a NaN or an infinity in a result: the message names the input or the
                            first node whose output (forward) or relevance (backward) was not finite */
} lrp_status;

#define LRP_ERROR_MAX 512

typedef struct lrp_error {
    lrp_status status;
    char message[LRP_ERROR_MAX]; /* one line, no trailing newline */
} lrp_error;

/* A short English name of a status ("format error", ...). */
LRP_API const char *lrp_status_name(lrp_status status);

/* Sets err (if not NULL) to status and the formatted message (kept on one
 * line: control characters become spaces), and returns status, so that
 * callers can write `return lrp_fail(err, LRP_ERR_FORMAT, "...", ...);`. */
LRP_API lrp_status lrp_fail(lrp_error *err, lrp_status status, const char *fmt, ...) LRP_PRINTF(3, 4);

/* Prefixes the message already in err (if not NULL) with the formatted "prefix: ". */
LRP_API void lrp_error_prefix(lrp_error *err, const char *fmt, ...) LRP_PRINTF(2, 3);

/* LRP_OK and an empty message. */
LRP_API void lrp_error_clear(lrp_error *err);

/* Process defaults for the execution choices of the options below
 * (lrp_load_options and lrp_explain_options start from them; an object keeps
 * what its options said): threads (n <= 0: as many as the CPUs the process
 * may run on; 1 until called), OpenBLAS (0 until called) and the exact
 * forward pass (1 until called). Call them before other threads use lrp. */
LRP_API void lrp_set_threads(int n);
LRP_API void lrp_set_openblas(int on);
LRP_API void lrp_set_exact_forward(int on);

/* Threads
 *  - A model may be used from several threads at once: lrp_model_run,
 *    lrp_region_perturbation, and lrp_explain and lrp_attribute with one
 *    explainer per thread (several explainers of one model may run at once),
 *    as long as the calls that overlap in time give inputs of one shape. The
 *    model keeps its shape inference for the input shape of the last call; a
 *    call with another shape redoes it under the model's lock, but a call of
 *    the old shape running meanwhile would read shapes that change under it.
 *    A model whose input shape is fully declared is prepared when loaded;
 *    otherwise the first lrp_model_run or lrp_explain calls with a shape may
 *    overlap (one prepares, the others wait), and lrp_attribute and
 *    lrp_region_perturbation should follow one of them.
 *  - An explainer is used by one thread at a time: it holds the rule plan and
 *    the modified weights it caches across calls (two explainers of one model
 *    hold a copy each).
 *  - A run does not write its model (only a new input shape does, as above):
 *    what one call chooses (threads, OpenBLAS, exact forward) holds for that
 *    call on its thread only.
 *  - lrp_model_set_layout, lrp_explainer_set_check and the *_free functions
 *    must not overlap other calls on the same object. The LRP_PROFILE timing
 *    table is shared under a lock.
 *  - Results are the same bits whatever the threads option and however many
 *    calls run at once. */

/* ----------------------------------------------------------------- tensors */

typedef enum lrp_dtype {
    LRP_FLOAT32 = 1, /* values are ONNX TensorProto.DataType codes */
    LRP_INT64 = 7,
    LRP_FLOAT64 = 11
} lrp_dtype;

/* The type of every floating-point tensor value and of the arithmetic on it:
 * float (LRP_FLOAT32). The lrp binary's --double mode is the same source built
 * a second time with LRP_REAL_DOUBLE defined, where it is double (LRP_FLOAT64);
 * liblrp itself is float32. */
#ifdef LRP_REAL_DOUBLE
typedef double lrp_real;
#define LRP_REAL_DT LRP_FLOAT64
#else
typedef float lrp_real;
#define LRP_REAL_DT LRP_FLOAT32
#endif

#define LRP_MAX_DIMS 8

/* The largest tensor lrp agrees to allocate, in elements. */
#define LRP_MAX_ELEMENTS ((int64_t)1 << 31)

typedef struct lrp_tensor {
    lrp_dtype dtype;
    int ndim;
    int64_t dims[LRP_MAX_DIMS];
    int64_t numel;
    void *data; /* float or int64_t, numel elements, owned by the tensor */
} lrp_tensor;

/* A zero-filled tensor; refuses negative dims and more than LRP_MAX_ELEMENTS. */
LRP_API lrp_tensor *lrp_tensor_new(lrp_dtype dtype, int ndim, const int64_t *dims, lrp_error *err);
LRP_API lrp_tensor *lrp_tensor_clone(const lrp_tensor *t, lrp_error *err);
LRP_API void lrp_tensor_free(lrp_tensor *t);
/* "(1, 3, 224, 224)" into buf. Returns buf. */
LRP_API const char *lrp_shape_str(int ndim, const int64_t *dims, char *buf, size_t size);

/* The index of the first NaN or infinity of a float32 tensor; -1 if none
 * (and for other dtypes). */
LRP_API int64_t lrp_find_nonfinite(const lrp_tensor *t);
/* "NaN", "+inf" or "-inf" for a non-finite value. */
LRP_API const char *lrp_nonfinite_name(lrp_real v);

/* NumPy .npy files: float32/float64 (read as lrp_real), C order. */
LRP_API lrp_status lrp_npy_read(const char *path, lrp_tensor **out, lrp_error *err);
/* Writes float32 '<f4' (float64 '<f8' in the --double build, int64 '<i8'), byte-identical for identical
 * tensors. */
LRP_API lrp_status lrp_npy_write(const char *path, const lrp_tensor *t, lrp_error *err);

/* ------------------------------------------------------------------ models */

typedef struct lrp_model lrp_model;

typedef struct lrp_load_options {
    /* Canonizers (on by default): fold BatchNormalization into the layer
     * feeding it, fuse MatMul+Add into one dense layer, drop Identity and
     * Dropout, strip a final Softmax/LogSoftmax, and treat residual Adds as
     * zennit's Sum. */
    int canonize;
    /* Strip a final Softmax/LogSoftmax even without the other canonizers
     * (what `lrp predict` does to report logits). */
    int strip_softmax;
    /* Set every bias of the model to zero (after the canonizers): the
     * biases of Conv, ConvTranspose, Gemm and MatMul layers, LayerNorm's B,
     * BatchNorm's shift. Another model, the one on which LRP's rules with
     * zero_bias conserve the relevance exactly (a diagnostic). */
    int zero_biases;
    /* Load models with unsupported operators anyway (they cannot run, but
     * lrp_model_describe lists what is missing). */
    int allow_unsupported;
    /* Execution of lrp_model_run and lrp_region_perturbation on this model
     * (explainers have their own, in lrp_explain_options). */
    int threads; /* threads for dense math and lrp's own loops (n <= 0: as many as
                     the CPUs the process may run on); results are the same at any count */
    /* Matrix products (convolutions, dense layers) run on lrp's portable
     * kernels when 0: every element summed in one fixed order with
     * separately rounded IEEE operations, so that results are the same bits
     * on every CPU (x86-64 with or without AVX2, aarch64) and at every thread
     * count. 1 calls OpenBLAS's kernels for this CPU instead: faster, still
     * independent of the thread count, but the last bits (and now and then a
     * heatmap pixel) follow the CPU. */
    int openblas;
} lrp_load_options;

LRP_API void lrp_load_options_default(lrp_load_options *o);

typedef enum lrp_layout {
    LRP_LAYOUT_NCHW, /* (N, C, H, W) images */
    LRP_LAYOUT_NHWC, /* (N, H, W, C) images (tf2onnx exports) */
    LRP_LAYOUT_FLAT  /* (N, F) vectors, e.g. MNIST multilayer perceptrons */
} lrp_layout;

typedef struct lrp_model_info {
    const char *path;
    const char *input_name, *output_name;
    int input_ndim;
    int64_t input_dims[LRP_MAX_DIMS]; /* -1 where symbolic (batch, or a dynamic height...) */
    int input_elem_type;              /* ONNX TensorProto.DataType (1 float32, 10 float16) */
    lrp_layout layout;
    int channels, height, width; /* image inputs; 0 when unknown, -1 when symbolic */
    int64_t opset, ir_version;
    const char *producer_name, *producer_version;
    /* The names (ONNX dim_param) of symbolic input dims, NULL where a dim is
     * fixed or has no name; owned by the model. */
    const char *input_dim_names[LRP_MAX_DIMS];
    /* The model's metadata_props, in file order (owned by the model). The
     * command-line tool reads its preprocessing from the keys lrp.mean,
     * lrp.std, lrp.resize, lrp.pixel_range, lrp.bgr and lrp.layout
     * (see lrp(1), MODEL METADATA). */
    int n_metadata;
    const char *const *metadata_keys, *const *metadata_values;
} lrp_model_info;

/* The value of a metadata_props key (of its last entry), or NULL. */
LRP_API const char *lrp_model_metadata(const lrp_model_info *info, const char *key);

/* The value of the metadata_props key `key` (of its last entry) of the ONNX
 * file at path, read without loading the model: the file's top-level fields
 * are scanned and the graph skipped. *value: malloc'ed (free it), NULL when
 * the model has no such key. A file that is not a well-formed message at its
 * top level is LRP_ERR_FORMAT (the loader may say more). */
LRP_API lrp_status lrp_onnx_metadata_peek(const char *path, const char *key, char **value, lrp_error *err);

/* The bytes of the ONNX file model_path with these metadata_props set (each
 * key replaced or added, in order; a NULL value removes the key), everything
 * else as it was. out_path: where they will be written; a model whose
 * weights are in external files must stay in its directory. *bytes is for
 * free(). */
LRP_API lrp_status lrp_onnx_set_metadata(const char *model_path, const char *out_path, int n, const char *const *keys,
                                         const char *const *values, void **bytes, size_t *len, lrp_error *err);

LRP_API lrp_model *lrp_model_load(const char *path, const lrp_load_options *opts, lrp_error *err);
LRP_API void lrp_model_free(lrp_model *m);
LRP_API const lrp_model_info *lrp_model_get_info(const lrp_model *m);

/* The number of classes (the output's values per sample) when it is known
 * before a run: from the shapes inferred when the model was loaded, else from
 * the output's declared shape; -1 when it is not known (dynamic dims). */
LRP_API int64_t lrp_model_classes(const lrp_model *m);

/* Sets the layout of the model input when lrp guessed wrong. */
LRP_API lrp_status lrp_model_set_layout(lrp_model *m, lrp_layout layout, lrp_error *err);

/* Runs the model. input: the model's input shape, any batch size (a tensor
 * without the batch dim is taken as a batch of one). *logits: (N, classes),
 * the model output flattened per sample. An empty input is LRP_ERR_SHAPE; a
 * NaN or infinite output is LRP_ERR_NUMERIC naming the first node (or the
 * input) that went non-finite, found by a second pass on failure only. */
LRP_API lrp_status lrp_model_run(lrp_model *m, const lrp_tensor *input, lrp_tensor **logits, lrp_error *err);

/* Checks an input tensor against the model and returns it reshaped with a
 * batch dimension (a new tensor). */
LRP_API lrp_status lrp_model_conform_input(lrp_model *m, const lrp_tensor *input, lrp_tensor **out, lrp_error *err);

/* Operator counts, canonizer notes and unsupported ops, for `lrp inspect`.
 * Writes a human-readable report. */
LRP_API lrp_status lrp_model_describe(lrp_model *m, FILE *out, lrp_error *err);

/* -------------------------------------------------------------- explaining */

typedef struct lrp_explainer lrp_explainer;

typedef struct lrp_explain_options {
    const char *composite; /* zennit composite name; "gradient" for the plain gradient.
                              Default "epsilon-plus-flat". */
    lrp_real epsilon;      /* Epsilon rule on dense layers (1e-6) */
    lrp_real stabilizer;   /* every other rule (1e-6) */
    lrp_real gamma;        /* Gamma rule (0.25) */
    lrp_real gamma_conv;   /* attnlrp-vit: Gamma on convolutions (0.25) */
    lrp_real gamma_linear; /* attnlrp-vit: Gamma on dense layers (0.05) */
    lrp_real beta_smooth;  /* beta-smooth composite (10) */
    lrp_real alpha, beta;  /* AlphaBeta in the alpha2-beta1 composites (2, 1) */
    int zero_bias;         /* zennit's zero_params=['bias'] */
    int n_bounds;          /* ZBox bounds: 1 value, or one per input channel */
    const lrp_real *low, *high;
    int n_overrides; /* "NODE_NAME=RULE[:k=v,...]" or "OP_TYPE=RULE[:k=v,...]" */
    const char *const *overrides;
    int threads, openblas; /* as in lrp_load_options, for this explainer's calls */
    /* In an explanation's forward pass, the convolutions and dense layers
     * whose outputs feed a discrete decision of the explanation (which value
     * of a max-pooling window wins, an activation's mask under the gradient
     * rules, Gamma's sign) or the denominator z of an LRP rule (Epsilon,
     * Norm, ZPlus, AlphaBeta, Gamma, ZBox: with every LRP composite, the
     * whole network) accumulate in double precision and round once to float
     * (1, the default), so that float32 rounding never decides it and a
     * cancelling z (a small logit made of large terms) does not amplify it;
     * 0 accumulates them in float32. Everything else is float32 always. */
    int exact_forward;
    /* Squeeze-excitation products x * gate: 0 (the default) gives the signal
     * x all the relevance (Pahde et al.'s SignalOnlyGate), 1 splits it evenly
     * between x and the gate. */
    int gate_uniform;
} lrp_explain_options;

LRP_API void lrp_explain_options_default(lrp_explain_options *o);

/* The names of the composites, for help texts; NULL past the end. */
LRP_API const char *lrp_composite_at(int i);
/* Whether composite i is an LRP composite, whose relevance is signed
 * (heatmaps: symmetric, coldnhot), rather than a gradient-type method. */
LRP_API int lrp_composite_at_is_lrp(int i);

/* The names of the rules (as --rule and composites take them), for help
 * texts; NULL past the end. */
LRP_API const char *lrp_rule_at(int i);
/* Rule i with its parameters and their defaults, as --rule takes it, e.g.
 * "gamma:gamma=0.25,stabilizer=1e-06,bias=1", into buf; NULL past the end. */
LRP_API const char *lrp_rule_synopsis(int i, char *buf, size_t size);
/* A one-line summary of rule i, for help texts; NULL past the end. */
LRP_API const char *lrp_rule_summary(int i);

LRP_API lrp_explainer *lrp_explainer_new(lrp_model *m, const lrp_explain_options *o, lrp_error *err);
LRP_API void lrp_explainer_free(lrp_explainer *e);

/* Prints every node with the rule it gets (needs a known input shape). */
LRP_API lrp_status lrp_explainer_describe(lrp_explainer *e, FILE *out, lrp_error *err);

typedef enum lrp_seed {
    LRP_SEED_ONE,  /* output relevance 1 at the target, 0 elsewhere (zennit's README) */
    LRP_SEED_LOGIT /* the target logit at the target (zennit's feed_forward.py) */
} lrp_seed;

/* Called after every node of the backward pass with per-sample sums over the
 * batch: the relevance that reached the node's output, what it sent to its
 * inputs, and the total relevance on the current cut of the graph. */
typedef void (*lrp_check_fn)(void *ctx, const char *node, const char *op_type, const char *rule, int64_t batch,
                             const double *r_out, const double *r_in, const double *cut);
LRP_API void lrp_explainer_set_check(lrp_explainer *e, lrp_check_fn fn, void *ctx);

/* Explains a batch. input: shaped like the model input. targets: one class
 * per sample, -1 for the predicted class (may be NULL: all predicted);
 * the classes used are written back when targets_out is not NULL.
 * *relevance: float32 shaped like input. *logits (may be NULL): (N, classes).
 * Non-finite logits or relevance are LRP_ERR_NUMERIC (nothing is returned):
 * the message names the first node whose output (forward) or relevance
 * (backward) was not finite, located by rerunning the pass on failure only. */
LRP_API lrp_status lrp_explain(lrp_explainer *e, const lrp_tensor *input, const int64_t *targets, lrp_seed seed,
                               lrp_tensor **relevance, lrp_tensor **logits, int64_t *targets_out, lrp_error *err);

/* Explains one input (a batch of one) for n targets at once: one forward
 * pass, its values copied n times, and one reverse sweep for the n targets
 * as a batch in which the rules' products of forward values alone are
 * computed once (the same bytes as n calls of lrp_explain). targets: n
 * classes (-1: the predicted one), the classes used written back; with top,
 * filled with the n best classes, largest logit first (equal ones by class
 * number). *relevance: (n, ...) shaped like input with n samples (input may
 * lack its batch dim). *logits (may be NULL): (1, classes). --check and
 * lrp_explainer_set_inside see the batch of n. LRP_ERR_UNSUPPORTED when a
 * value of the model does not carry the batch in its first dimension (then
 * explain the targets one by one). */
LRP_API lrp_status lrp_explain_targets(lrp_explainer *e, const lrp_tensor *input, int n, int64_t *targets, int top,
                                       lrp_seed seed, lrp_tensor **relevance, lrp_tensor **logits, lrp_error *err);

/* An estimate of the memory (bytes) each sample of a batch adds to an
 * explanation with e for inputs shaped like input (one sample, with or
 * without its batch dim): the forward value and the relevance of every
 * activation of one sample, from the shapes inferred for it (an upper bound:
 * the sweeps free most of them early). Prepares the model for that shape.
 * -1 on an error (an input the model does not take). */
LRP_API double lrp_explainer_sample_bytes(lrp_explainer *e, const lrp_tensor *input, lrp_error *err);
/* Infers the model's shapes for inputs of this shape (batch dim first) now,
 * as the first call with it would: then calls with it may start on several
 * threads at once (see Threads). */
LRP_API lrp_status lrp_model_prepare_for(lrp_model *m, int ndim, const int64_t *dims, lrp_error *err);

/* The gradient of an explanation (the second order): G = u · ∂R(x)/∂x for a
 * cotangent u shaped like the input, R the relevance lrp_explain gives. What
 * is held constant follows zennit: the parameters and the rules' modified
 * ones, the masks (ReLU under a gradient, Gamma's sign, max-pooling's
 * argmax), the stabilizer's sign, Flat's ones and ZBox's bounds; clamp's
 * derivative at 0 is 1. With LRP_SEED_LOGIT the seed's dependence on x is
 * part of it. */
typedef enum lrp_cotangent {
    LRP_COTANGENT_ONES,   /* u = 1: the gradient of sum(R) */
    LRP_COTANGENT_SELF,   /* u = R: the gradient of |R|^2 / 2 */
    LRP_COTANGENT_TARGET, /* u = R - T: the gradient of |R - T|^2 / 2 */
    LRP_COTANGENT_FN      /* u = cotangent_fn(R): the gradient of any loss L(R) with dL/dR = u */
} lrp_cotangent;

typedef struct lrp_relevance_grad_options {
    lrp_cotangent cotangent;
    const lrp_tensor *target; /* T of LRP_COTANGENT_TARGET: shaped like the input, or like one sample of it */
    /* 0: the exact derivative of x -> R(x). 1: what zennit computes
     * (create_graph=True, then inactive()): with the constant seed
     * LRP_SEED_ONE the top rule-hooked layer's inner gradient is a constant,
     * only its explicit input factor is differentiated. */
    int zennit;
    /* LRP_COTANGENT_FN: fills u (zeroed, shaped like R with its batch dim) from R. */
    lrp_status (*cotangent_fn)(void *ctx, const lrp_tensor *relevance, lrp_tensor *u, lrp_error *err);
    /* Optional: a loss term on the logits (N, classes) as well: fills lbar (zeroed) with its gradient there,
     * which G then includes (one pass for the gradient of L(R) + L'(logits)). */
    lrp_status (*logit_fn)(void *ctx, const lrp_tensor *logits, lrp_tensor *lbar, lrp_error *err);
    void *ctx;
} lrp_relevance_grad_options;

/* Explains like lrp_explain and returns the relevance's gradient *grad
 * (float32 shaped like input); *relevance and *logits may be NULL.
 * LRP_ERR_UNSUPPORTED names the node where a rule or op has no second order. */
LRP_API lrp_status lrp_explain_relevance_grad(lrp_explainer *e, const lrp_tensor *input, const int64_t *targets,
                                              lrp_seed seed, const lrp_relevance_grad_options *o,
                                              lrp_tensor **relevance, lrp_tensor **grad, lrp_tensor **logits,
                                              int64_t *targets_out, lrp_error *err);
/* ------------------------------------------- relevance inside the network */

/* A condition of Concept Relevance Propagation (Achtibat et al. 2023;
 * zennit-crp's CondAttribution): the relevance arriving at the output of a
 * node, before the node's own rule, is multiplied by a 0/1 mask that keeps
 * the listed channels (dim 1 of the node's output, all positions). */
typedef struct lrp_condition {
    const char *node;        /* a node name as `lrp inspect` prints it, or a value name */
    int n_channels;          /* > 0 */
    const int64_t *channels; /* kept channels, each in [0, channels of the node's output) */
    int64_t sample;          /* -1: every sample of the batch; else only this one (the others are not conditioned
                                at this node) */
} lrp_condition;

/* What the explainer's next calls do inside the network. Node names are
 * those of the model after the canonizers: a Conv with a folded BatchNorm
 * stands for both (the BatchNorm's name and its output's name mean the
 * Conv's output), a removed Identity or Dropout for its input. */
typedef struct lrp_inside_options {
    /* Nodes (or values) whose arriving relevance each call records: what
     * reaches the node's output from above, before its own rule and before
     * a condition's mask at it, shaped like the output (batch first); the
     * model input's name records the relevance at the input. */
    int n_records;
    const char *const *records;
    int n_conditions;
    const lrp_condition *conditions;
    /* 1 (zennit-crp's default exclude_parallel=True): at every conditioned
     * node, the relevance pending on paths that bypass it (a residual
     * shortcut around it) is dropped, for the samples conditioned there, so
     * that only relevance through every conditioned node reaches the input,
     * as crp's partial backward from the output to the first conditioned
     * node, from it to the next, ... to the input. 0: one ordinary backward
     * with the masks in place. */
    int exclude_parallel;
} lrp_inside_options;

LRP_API void lrp_inside_options_default(lrp_inside_options *o);

/* Installs o (copied; NULL clears it) for the explainer's calls from now
 * on. Unknown node names are LRP_ERR_ARG; so are channels out of range,
 * found here when the model's shapes are known and else at the first call. */
LRP_API lrp_status lrp_explainer_set_inside(lrp_explainer *e, const lrp_inside_options *o, lrp_error *err);

/* The relevance recorded at records[i] by the last call (owned by the
 * explainer, valid until its next call or lrp_explainer_set_inside); NULL
 * before any. */
LRP_API const lrp_tensor *lrp_explainer_recorded(const lrp_explainer *e, int i);

/* Concept Relevance Propagation's conditional explanations of one input
 * (a batch of one) for n channels of node `layer` (a name as in
 * lrp_condition), each conditioned on its channel besides the conditions of
 * lrp_explainer_set_inside (and with its exclude_parallel): one forward
 * pass, one backward sweep down to the layer, and the sweep below it for
 * the n conditions as one batch, the forward values copied n times. pick:
 * channels receives the n channels with the largest relevance sums at the
 * layer (largest first; if the layer has fewer than n channels, all of
 * them, the rest of channels -1 and *relevance that many samples), else it
 * gives them. *layer_relevance (may be
 * NULL): the relevance arriving at the layer, before its rule. *relevance
 * (may be NULL, then n may be 0 and only the layer is reached): (n, ...)
 * shaped like the input, sample b conditioned on channels[b]. *logits (may
 * be NULL): (1, classes), as lrp_explain. Records are
 * not filled. LRP_ERR_UNSUPPORTED when a value of the model does not carry
 * the batch in its first dimension (then run the batch of copies with
 * per-sample conditions through lrp_explain). */
LRP_API lrp_status lrp_explain_channels(lrp_explainer *e, const lrp_tensor *input, int64_t target, lrp_seed seed,
                                        const char *layer, int n, int64_t *channels, int pick,
                                        lrp_tensor **layer_relevance, lrp_tensor **relevance, lrp_tensor **logits,
                                        int64_t *target_out, lrp_error *err);

/* The output of node `layer` (a name as in lrp_condition) for input, batch
 * first, from the explainer's forward pass (its canonizers and its exact
 * accumulation): what zennit-crp's activation maximisation ranks.
 * *logits (may be NULL): (N, classes). */
LRP_API lrp_status lrp_explainer_activation(lrp_explainer *e, const lrp_tensor *input, const char *layer,
                                            lrp_tensor **activation, lrp_tensor **logits, lrp_error *err);

/* ------------------------------------------------------------ attributors */

typedef enum lrp_attributor_kind {
    LRP_ATTRIBUTOR_GRADIENT = 0,         /* the composite's modified gradient (zennit's Gradient) */
    LRP_ATTRIBUTOR_INPUT_X_GRADIENT,     /* gradient times input */
    LRP_ATTRIBUTOR_SMOOTHGRAD,           /* mean gradient over noisy copies, the last one noise-free */
    LRP_ATTRIBUTOR_INTEGRATED_GRADIENTS, /* right Riemann sum, alpha = k/steps, times (x - baseline) */
    LRP_ATTRIBUTOR_OCCLUSION,            /* target logit of occluded copies; ignores the composite */
    LRP_ATTRIBUTOR_RANDOM,               /* seeded uniform noise in [0, 1): a baseline for scores */
    LRP_ATTRIBUTOR_GRAD_CAM,             /* Grad-CAM at a layer (layer, cam_convention below) */
    LRP_ATTRIBUTOR_GRAD_CAM_PP           /* Grad-CAM++ (pytorch-grad-cam's closed form) */
} lrp_attributor_kind;

/* Grad-CAM conventions: pytorch-grad-cam's GradCAM (ReLU, min-max scaling,
 * bilinear resize to the input size, ReLU and min-max again: (N, H, W) in
 * [0, 1)), or Captum's LayerGradCam (the raw weighted sum at the layer's
 * resolution, (N, 1, h, w)). */
typedef enum lrp_cam_convention { LRP_CAM_PYTORCH_GRAD_CAM = 0, LRP_CAM_CAPTUM = 1 } lrp_cam_convention;

typedef struct lrp_attributor_options {
    lrp_attributor_kind kind;
    int steps;                  /* integrated gradients (20) */
    const lrp_tensor *baseline; /* integrated gradients: NULL for zeros, else shaped like one input */
    int samples;                /* smoothgrad (20) */
    lrp_real noise_level;       /* smoothgrad: noise std as a fraction of max - min of the input (0.1) */
    uint64_t seed;              /* smoothgrad and random */
    int window, stride;         /* occlusion, in pixels; 0: max(4, side/8), and stride = window */
    int occlude_window;         /* occlusion: 0 keeps only the window (zennit), 1 blanks it */
    const lrp_tensor *fill;     /* occlusion: what occluded values become; NULL for zeros */
    int max_batch;              /* most copies per engine pass (0: chosen from the model's size) */
    void (*progress)(void *ctx, int done, int total);
    void *progress_ctx;
    /* grad-cam, grad-cam++: the ONNX node (or value) whose output is the
     * layer, as lrp inspect names it after the canonizers (a Conv folded with
     * its BatchNormalization: the normalized output); NULL: the last
     * convolution, or the last node after it whose output has the same
     * shape (its activation, a residual Add and the ReLU after it). The gradient is that of the target logit (the
     * seed argument is not used); the explainer's composite gives it
     * ("gradient": the plain gradient). */
    const char *layer;
    lrp_cam_convention cam_convention;
} lrp_attributor_options;

LRP_API void lrp_attributor_options_default(lrp_attributor_options *o);
/* "gradient", "input-x-gradient", "smoothgrad", "integrated-gradients",
 * "occlusion", "random", "grad-cam", "grad-cam++" -> kind; -1 if unknown. */
LRP_API int lrp_attributor_from_name(const char *name);
LRP_API const char *lrp_attributor_name(lrp_attributor_kind kind);

/* Like lrp_explain, with an attributor around the explainer's composite.
 * *logits are those of the unmodified input. *relevance is shaped like the
 * input, but for grad-cam and grad-cam++: (N, H, W) at the input's size
 * (LRP_CAM_PYTORCH_GRAD_CAM) or (N, 1, h, w) at the layer's (LRP_CAM_CAPTUM). */
LRP_API lrp_status lrp_attribute(lrp_explainer *e, const lrp_attributor_options *o, const lrp_tensor *input,
                                 const int64_t *targets, lrp_seed seed, lrp_tensor **relevance, lrp_tensor **logits,
                                 int64_t *targets_out, lrp_error *err);

/* The gradient of an Integrated Gradients or SmoothGrad attribution A of one
 * input (lrp_attribute's, target -1: the predicted class), u·dA/dx for the
 * cotangent u of go (NULL: ones) with the explainer's composite inside:
 * n second-order passes (lrp_explain_relevance_grad, its go->zennit mode) at
 * the path points or noisy copies, one at a time, plus the product rule's
 * term u R̄ of IG. SmoothGrad's noise scale is held constant. go->logit_fn is
 * not supported. *relevance (may be NULL) is A, *logits those of the input. */
LRP_API lrp_status lrp_attribute_relevance_grad(lrp_explainer *e, const lrp_attributor_options *o,
                                                const lrp_tensor *input, int64_t target, lrp_seed seed,
                                                const lrp_relevance_grad_options *go, lrp_tensor **relevance,
                                                lrp_tensor **grad, lrp_tensor **logits, int64_t *target_out,
                                                lrp_error *err);

/* Checks o against the explainer's model before any input is read: for
 * grad-cam and grad-cam++, that the layer exists and has a 4-D output
 * (LRP_ERR_ARG otherwise). LRP_OK for the other attributors, and when the
 * model's input shape is not fully declared (the check then comes with the
 * first input). */
LRP_API lrp_status lrp_attributor_check(lrp_explainer *e, const lrp_attributor_options *o, lrp_error *err);

/* The random generator of smoothgrad and random, documented so that runs can
 * be reproduced elsewhere: xoshiro256** seeded through splitmix64(seed);
 * uniform doubles are (next() >> 11) * 2^-53; normals are Box-Muller pairs
 * sqrt(-2 ln(1-u1)) * (cos, sin)(2 pi u2), both used in turn. */
typedef struct lrp_rng {
    uint64_t s[4];
    int has_spare;
    double spare;
} lrp_rng;
LRP_API void lrp_rng_seed(lrp_rng *r, uint64_t seed);
LRP_API uint64_t lrp_rng_next(lrp_rng *r);
LRP_API double lrp_rng_uniform(lrp_rng *r);
LRP_API double lrp_rng_normal(lrp_rng *r);

/* ------------------------------------------------------------- evaluation */

/* Region perturbation (Samek et al. 2017), the faithfulness score of an
 * attribution: the input is divided into patch x patch regions (all
 * channels), ranked by their summed relevance; regions are replaced one after
 * another, cumulatively, and the target logit is recorded. */
typedef enum lrp_perturb_order { LRP_MORF = 0, LRP_LERF = 1 } lrp_perturb_order;
typedef enum lrp_perturb_baseline {
    LRP_PERTURB_ZERO = 0,
    LRP_PERTURB_MEAN,   /* the sample's per-channel mean */
    LRP_PERTURB_UNIFORM /* uniform noise over the sample's [min, max], one fixed draw per seed */
} lrp_perturb_baseline;

typedef struct lrp_perturb_options {
    int patch; /* region side in pixels (8) */
    int steps; /* regions perturbed (100; at most the number of regions) */
    lrp_perturb_order order;
    lrp_perturb_baseline baseline;
    uint64_t seed;
    int max_batch; /* perturbed copies per forward pass (0: 16) */
} lrp_perturb_options;

LRP_API void lrp_perturb_options_default(lrp_perturb_options *o);

/* input: one sample shaped like the model input (NCHW or NHWC as the model);
 * relevance: shaped like it. curve[k], k = 0..*n_steps, receives the target
 * logit with k regions perturbed (curve must hold steps + 1 values). */
LRP_API lrp_status lrp_region_perturbation(lrp_model *m, const lrp_tensor *input, const lrp_tensor *relevance,
                                           int64_t target, const lrp_perturb_options *o, lrp_real *curve, int *n_steps,
                                           lrp_error *err);

/* The area over the perturbation curve: (1/(K+1)) Σ_{k=0..K} (curve[0] - curve[k]). */
LRP_API double lrp_aopc(const lrp_real *curve, int n_steps);

#ifdef __cplusplus
}
#endif

#endif /* LRP_H */
