/* The option table, the parser and the generated help. */
#include <stdio.h>

#include "cli/options.h"

#include "lrp.h"
#include "lrp_image.h"
#include "lrp_render.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("lrp: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

typedef struct command_info {
    const char *name;
    const char *synopsis;
    const char *summary;
} command_info;

static const command_info commands[CMD_COUNT] = {
    [CMD_EXPLAIN] = {"explain", "explain MODEL INPUT... [options]",
                     "compute LRP relevance (or another attribution) and write heatmaps and .npy files"},
    [CMD_PREDICT] = {"predict", "predict MODEL INPUT... [--top K] [--labels FILE] [--json]",
                     "print the top classes with logits and probabilities"},
    [CMD_INSPECT] = {"inspect", "inspect MODEL [--composite NAME] [--no-canonize]",
                     "describe the model: inputs, outputs, operators, canonizers, rules"},
    [CMD_PREPROCESS] = {"preprocess", "preprocess MODEL IMAGE -o OUT.npy [options]",
                        "write the input tensor the model would get for an image"},
    [CMD_RENDER] = {"render", "render RELEVANCE.npy -o OUT.png [options]",
                    "render a saved relevance as a heatmap, without the model"},
    [CMD_COMPARE] = {"compare", "compare A B [--tolerance T]",
                     "compare two heatmaps (PNG) or two relevances (.npy); exit 0 if equal within T, 1 if not"},
    [CMD_EVAL] = {"eval", "eval MODEL INPUT... [--composite NAME | --attributor NAME] [options]",
                  "score an explanation by region perturbation (MoRF/LeRF curves, AOPC) or, with --mask, by "
                  "localisation metrics"},
    [CMD_ATTACK] = {"attack", "attack MODEL IMAGE --target-explanation T.npy|--target-image IMAGE2 [options]",
                    "manipulate an explanation: a small change of the input that keeps the output and moves the "
                    "heatmap towards a target (Dombrowski et al. 2019)"},
    [CMD_CONCEPTS] = {"concepts",
                      "concepts MODEL INPUT... --layer NODE [--top K] [-o 'out/{stem}-{concept}.png']\n"
                      "       lrp concepts MODEL --layer NODE --reference-images DIR [-o 'refs/{concept}.png' --grid]",
                      "list the channels of a layer most relevant to the target (CRP concepts) and write the "
                      "heatmap of each"},
    [CMD_HELP] = {"help", "help [COMMAND]", "show help for lrp or one command"},
    [CMD_VERSION] = {"version", "version", "print the version"},
};

const char *cli_command_name(cli_command c) { return c > 0 && c < CMD_COUNT ? commands[c].name : "?"; }

#define C_EXPLAIN CMDBIT(CMD_EXPLAIN)
#define C_PREDICT CMDBIT(CMD_PREDICT)
#define C_INSPECT CMDBIT(CMD_INSPECT)
#define C_PREPROCESS CMDBIT(CMD_PREPROCESS)
#define C_RENDER CMDBIT(CMD_RENDER)
#define C_COMPARE CMDBIT(CMD_COMPARE)
#define C_EVAL CMDBIT(CMD_EVAL)
#define C_ATTACK CMDBIT(CMD_ATTACK)
#define C_CONCEPTS CMDBIT(CMD_CONCEPTS)
#define C_ALL 0xffffffffu
#define C_MODEL                                                                                                       \
    (C_EXPLAIN | C_PREDICT | C_PREPROCESS | C_EVAL | C_ATTACK | C_CONCEPTS) /* commands that read inputs for a model */
#define C_RULES (C_EXPLAIN | C_EVAL | C_CONCEPTS)
#define C_ATTR (C_EXPLAIN | C_EVAL) /* the attributors' options: not for attack or concepts */
#define C_LRP (C_RULES | C_ATTACK)  /* the explainer's options, which attack takes too */
#define C_HEAT (C_EXPLAIN | C_RENDER | C_CONCEPTS)

/* What an option's value is, and so how it is converted. choices (any type
 * but T_FLAG and T_LIST) restrict the value to those words first. */
typedef enum {
    T_FLAG,   /* no value: sets a bool (or an int) to 1 */
    T_INT,    /* an integer from min to max, into an int or an int64_t */
    T_SEED,   /* a non-negative integer, into a uint64_t */
    T_NUM,    /* a finite number from min to max, into a float or a double */
    T_STR,    /* a word or a path, kept as given */
    T_ENUM,   /* one of choices, stored as its index (an int or an enum) */
    T_TRIPLE, /* 1 or 3 comma-separated numbers, into float[3]; the count at aux */
    T_LIST,   /* repeatable, each value appended to a cli_list */
    T_CUSTOM  /* set() converts it */
} option_type;

typedef struct option_def option_def;
struct option_def {
    const char *name;
    char short_name;
    option_type type;
    const char *arg; /* placeholder in the help (NULL: the choices, as a|b|c) */
    unsigned commands;
    const char *group;
    /* The help text: "{default}" becomes the default value, "{names}" the
     * choices or the list of names(). */
    const char *help;
    size_t off, size;            /* the destination in cli_args */
    size_t aux;                  /* a bool set when the option is given (the count for T_TRIPLE); 0: none */
    double min, max;             /* T_INT, T_NUM */
    const char *const *choices;  /* NULL-terminated */
    const char *(*names)(int i); /* a list the help shows (the library's), NULL past the end */
    const char *def;             /* default, converted as a value would be; NULL: the library's default, or zero */
    bool optional;               /* the value may be left out (--overlay) */
    bool nonzero;                /* T_TRIPLE: no value may be 0 */
    int (*set)(cli_args *a, const option_def *o, const char *v); /* T_CUSTOM */
};

/* Offset 0 is `command`, which no option sets: aux 0 means none. */
_Static_assert(offsetof(cli_args, command) == 0, "aux 0 must name no option's field");
#define AT(f) .off = offsetof(cli_args, f), .size = sizeof(((cli_args *)0)->f)
#define HAS(f) .aux = offsetof(cli_args, f)
#define RANGE(lo, hi) .min = (lo), .max = (hi)
#define NONNEG RANGE(0, INFINITY)
#define ANY RANGE(-INFINITY, INFINITY)
#define CHOICES(...)                                                                                                  \
    .choices = (const char *const[]) { __VA_ARGS__, NULL }

/* zennit's names, then matplotlib's others (without the reversed _r ones, which the help mentions) */
static const char *cli_cmap_at(int i)
{
    int z = lrp_cmap_builtin_count();
    if (i < z)
        return lrp_cmap_builtin_name(i);
    for (int k = 0, m = 0; lrp_cmap_mpl_name(k); k++) {
        const char *n = lrp_cmap_mpl_name(k);
        size_t len = strlen(n);
        if ((len > 2 && !strcmp(n + len - 2, "_r")) || lrp_cmap_builtin_source(n))
            continue;
        if (m++ == i - z)
            return n;
    }
    return NULL;
}
static int set_resize(cli_args *a, const option_def *o, const char *v);
static int set_shard(cli_args *a, const option_def *o, const char *v);
static int set_target(cli_args *a, const option_def *o, const char *v);
static int set_input_size(cli_args *a, const option_def *o, const char *v);

/* Every option, once. The group names order the help. */
static const option_def options[] = {
    {"help", 'h', T_FLAG, NULL, C_ALL, "General", "show help and exit", AT(help)},
    {"quiet", 'q', T_FLAG, NULL, C_ALL, "General", "print nothing but errors (and --json output)", AT(quiet)},
    {"json", 0, T_FLAG, NULL, C_EXPLAIN | C_PREDICT | C_COMPARE | C_EVAL | C_ATTACK | C_CONCEPTS, "General",
     "print one JSON object per item on stdout instead of text", AT(json)},
    {"threads", 'j', T_INT, "N", C_MODEL, "General",
     "use N threads (default: the CPUs this process may run on); results do not depend on N", AT(threads),
     RANGE(1, 1024)},

    {"no-canonize", 0, T_FLAG, NULL, C_EXPLAIN | C_INSPECT | C_EVAL | C_CONCEPTS, "Model",
     "do not fold BatchNorm, fuse biases, drop Identity/Dropout, strip a final Softmax or treat residual Adds as "
     "zennit Sums",
     AT(no_canonize)},
    {"fast", 0, T_FLAG, NULL, C_LRP, "Model",
     "accumulate every forward convolution and dense layer in float32; by default those whose outputs feed a "
     "discrete decision of the explanation (which value of a max-pooling window wins, an activation's mask under "
     "gradient rules, Gamma's sign) or an LRP rule's denominator (with every LRP composite, the whole network) "
     "accumulate in double, so that float32 rounding neither decides nor is amplified by a cancelling sum",
     AT(fast)},
    {"openblas", 0, T_FLAG, NULL, C_MODEL, "Model",
     "compute convolutions and dense layers with OpenBLAS's kernels for this CPU: faster, and still the same at "
     "any --threads, but the last bits of the relevance (and now and then a heatmap pixel) then depend on the CPU; "
     "by default lrp's own kernels give the same bits on every CPU",
     AT(openblas)},
    {"double", 0, T_FLAG, NULL, C_MODEL, "Model",
     "compute everything in float64 instead of float32: the input, the forward pass and the explanation (about 2x "
     "the time and the memory); .npy outputs are then float64. For checking how much float32 rounding moves a "
     "result",
     AT(double_precision)},
    {"zero-biases", 0, T_FLAG, NULL, C_MODEL, "Model",
     "set every bias of the model to zero (Conv, Gemm and MatMul layers, LayerNorm, BatchNorm's shift): another "
     "model, on which --no-bias --check shows whether the rules conserve relevance",
     AT(zero_biases)},
    {"layout", 0, T_STR, NULL, C_MODEL, "Model", "layout of the model input when the guess from its shape is wrong",
     AT(layout), CHOICES("nchw", "nhwc")},

    {"resize", 0, T_CUSTOM, "N|none|exact", C_MODEL, "Input",
     "images: resize the shorter side to N, then center-crop (default N = S*256/224 for an input of side S); "
     "'none': center-crop only; 'exact': resize to the input size without cropping",
     AT(resize), RANGE(1, 65536), .set = set_resize},
    {"mean", 0, T_TRIPLE, "R,G,B", C_MODEL, "Input",
     "normalization mean (default ImageNet's {default}; one value for gray models)", AT(mean), HAS(n_mean)},
    {"std", 0, T_TRIPLE, "R,G,B", C_MODEL, "Input", "normalization standard deviation (default ImageNet's {default})",
     AT(std), HAS(n_std), .nonzero = true},
    {"bgr", 0, T_FLAG, NULL, C_MODEL, "Input", "feed channels in B,G,R order", AT(bgr)},
    {"write-metadata", 0, T_FLAG, NULL, C_PREPROCESS, "Input",
     "instead of a tensor, write a copy of the model (-o OUT.onnx) that carries the given --mean, --std, --resize, "
     "--pixel-range, --bgr, --layout and --labels in its metadata, so that they need not be given again",
     AT(write_metadata)},
    {"pixel-range", 0, T_INT, NULL, C_MODEL, "Input", "pixel values before mean/std: 0..1 (default) or 0..255",
     AT(pixel_range), HAS(has_pixel_range), RANGE(1, 255), CHOICES("1", "255"), .def = "1"},
    {"input-size", 0, T_CUSTOM, "HxW", C_MODEL, "Input",
     "the input height and width for a model whose spatial dimensions are dynamic", AT(input_h),
     .set = set_input_size},
    {"exif-orientation", 0, T_ENUM, NULL, C_MODEL, "Input",
     "JPEG photos whose EXIF Orientation says they are turned: take them as stored (default, as PIL and "
     "torchvision do; a note says when one is met) or turn them upright first",
     AT(exif_apply), CHOICES("ignore", "apply")},

    {"top", 'k', T_INT, "K", C_PREDICT, "Prediction", "show the K most likely classes (default {default})", AT(top),
     RANGE(1, 1000000), .def = "5"},
    {"labels", 0, T_STR, "FILE", C_PREDICT | C_EXPLAIN | C_PREPROCESS, "Prediction",
     "class names, one per line, in class order, or a JSON class index (default: the model's metadata lrp.labels, "
     "which preprocess --write-metadata stores)",
     AT(labels)},

    {"composite", 'c', T_STR, "NAME", C_LRP | C_INSPECT, "Explanation", "LRP composite (default {default}): {names}",
     AT(explain.composite), HAS(has_composite), .names = lrp_composite_at},
    {"attributor", 'a', T_STR, "NAME", C_ATTR, "Explanation",
     "{names}; combined with the composite as in zennit (default: {default}, i.e. the composite alone)",
     AT(attributor), .names = cli_attributor_at},
    {"target", 't', T_CUSTOM, "CLASS", C_LRP, "Explanation",
     "explain this class (default: the predicted one); explain: several as 3,17,42 or -t repeated, a class name "
     "of --labels, or from-dir (the input's class folder, as torchvision's ImageFolder)",
     AT(target), HAS(has_target), RANGE(0, 1L << 30), .set = set_target},
    {"seed-logit", 0, T_FLAG, NULL, C_RULES, "Explanation",
     "start from the target logit instead of 1 (as zennit's feed_forward.py)", AT(seed_logit)},
    {"top", 'k', T_INT, "K", C_EXPLAIN, "Explanation",
     "explain the K classes with the largest logits, one output each (in one batched pass)", AT(explain_top),
     RANGE(1, 100000)},
    {"output", 'o', T_STR, "FILE", C_EXPLAIN | C_RENDER | C_PREPROCESS | C_CONCEPTS, "Output",
     "heatmap PNG (explain, render) or tensor .npy (preprocess); a template with {stem}, {name}, {dir}, {index}, "
     "{index:N}, {target}, {method}, {rank}, {label}; - for standard output. Never one of the run's inputs, another output or a "
     "directory (exit 2); FIFOs and devices are written through",
     AT(out)},
    {"relevance-out", 'r', T_STR, "FILE", C_EXPLAIN | C_CONCEPTS, "Output",
     "write the relevance as float32 .npy shaped like the model input (template fields and rules as -o)",
     AT(relevance_out)},
    /* the gradient of the explanation (issue 13) */
    {"relevance-grad", 0, T_STR, "ones|self|target:T.npy|mask:M.png", C_EXPLAIN, "Output",
     "also compute G = u·dR/dx, the gradient of the explanation, for the cotangent u: ones (the gradient of sum R), "
     "self (of |R|^2/2), target:T.npy (of |R-T|^2/2, T shaped like the input) or mask:M.png (of the relevance "
     "inside the mask, white = 1); the exact derivative of x -> R(x) unless --zennit-second-order; with the "
     "attributors gradient, input-x-gradient, integrated-gradients and smoothgrad",
     AT(relevance_grad)},
    {"relevance-grad-out", 0, T_STR, "FILE", C_EXPLAIN, "Output",
     "write G as .npy shaped like the model input (template fields and rules as -o)", AT(relevance_grad_out)},
    {"zennit-second-order", 0, T_FLAG, NULL, C_EXPLAIN | C_ATTACK, "Output",
     "G as zennit computes it: with the seed 1 the top rule-hooked layer's inner gradient is held constant",
     AT(zennit_second_order)},
    {"epsilon", 0, T_NUM, "E", C_LRP, "Rules", "epsilon of the Epsilon rule (default {default})", AT(explain.epsilon),
     NONNEG},
    {"stabilizer", 0, T_NUM, "S", C_LRP, "Rules", "stabilizer of every other rule (default {default})",
     AT(explain.stabilizer), NONNEG},
    {"gamma", 0, T_NUM, "G", C_LRP, "Rules", "gamma of the Gamma rule (default {default})", AT(explain.gamma), NONNEG},
    {"gamma-conv", 0, T_NUM, "G", C_LRP, "Rules",
     "gamma of the Gamma rule on convolutions in attnlrp-vit (default {default})", AT(explain.gamma_conv), NONNEG},
    {"gamma-linear", 0, T_NUM, "G", C_LRP, "Rules",
     "gamma of the Gamma rule on dense layers in attnlrp-vit (default {default})", AT(explain.gamma_linear), NONNEG},
    {"beta-smooth", 0, T_NUM, "B", C_LRP, "Rules", "beta of the beta-smooth composite (default {default})",
     AT(explain.beta_smooth), NONNEG},
    {"low", 0, T_STR, "V|R,G,B", C_LRP, "Rules",
     "ZBox lower bound (default: what pixel value 0 becomes after normalization)", AT(low)},
    {"high", 0, T_STR, "V|R,G,B", C_LRP, "Rules",
     "ZBox upper bound (default: what pixel value 1 becomes after normalization)", AT(high)},
    {"no-bias", 0, T_FLAG, NULL, C_LRP, "Rules", "leave biases out of the rules (zennit's zero_params=['bias'])",
     AT(explain.zero_bias)},
    {"gate", 0, T_ENUM, NULL, C_LRP, "Rules",
     "squeeze-excitation products x*gate: the signal x takes the relevance (Pahde et al.'s SignalOnlyGate), or "
     "half each",
     AT(explain.gate_uniform), CHOICES("signal", "uniform")},
    {"rule", 0, T_LIST, "KEY=RULE", C_LRP | C_INSPECT, "Rules",
     "give the node named KEY, or every node of op type KEY, a rule: {names}, with parameters as "
     "RULE:key=value,... (repeatable)",
     AT(rules), .names = lrp_rule_at},
    {"check", 0, T_FLAG, NULL, C_EXPLAIN, "Rules",
     "print the relevance sums after every node, to see where relevance "
     "leaks",
     AT(check)},

    {"steps", 0, T_INT, "N", C_EXPLAIN, "Attributors", "integrated-gradients steps (default {default})",
     AT(attr.steps), RANGE(1, 100000)},
    {"baseline", 0, T_STR, "zero|FILE.npy", C_EXPLAIN, "Attributors", "integrated-gradients baseline (default zero)",
     AT(baseline)},
    {"samples", 0, T_INT, "N", C_ATTR, "Attributors",
     "smoothgrad samples, the last one noise-free (default {default})", AT(attr.samples), RANGE(1, 100000)},
    {"noise-level", 0, T_NUM, "F", C_ATTR, "Attributors",
     "smoothgrad noise standard deviation as a fraction of the input's range (default {default})",
     AT(attr.noise_level), NONNEG},
    {"seed", 0, T_SEED, "S", C_ATTR, "Attributors",
     "seed of smoothgrad's and random's noise, and of eval's uniform baseline (default {default})", AT(attr.seed)},
    {"window", 0, T_INT, "PIXELS", C_ATTR, "Attributors", "occlusion window side (default max(4, S/8))",
     AT(attr.window), RANGE(1, 1 << 20)},
    {"stride", 0, T_INT, "PIXELS", C_ATTR, "Attributors", "occlusion stride (default: the window)", AT(attr.stride),
     RANGE(1, 1 << 20)},
    {"occlude", 0, T_ENUM, NULL, C_ATTR, "Attributors",
     "occlusion: keep only the window (zennit's default) or blank the window", AT(attr.occlude_window),
     CHOICES("keep", "window")},
    {"fill", 0, T_STR, "zero|mean|FILE.npy", C_ATTR, "Attributors", "what occluded pixels become (default zero)",
     AT(fill)},
    /* grad-cam, grad-cam++ (src/lrp/gradcam.c) */
    {"layer", 0, T_STR, "NODE", C_ATTR, "Attributors",
     "grad-cam: the ONNX node (as lrp inspect names it, after the canonizers) whose output is the layer (default: "
     "the last Conv, or the last node after it with its output's shape: its activation, a residual Add)",
     AT(attr.layer)},
    {"cam-convention", 0, T_ENUM, NULL, C_ATTR, "Attributors",
     "grad-cam: pytorch-grad-cam's map (ReLU, min-max scaled, resized to the input) or Captum's LayerGradCam (raw, "
     "at the layer's resolution) (default {default})",
     AT(attr.cam_convention), CHOICES("pytorch-grad-cam", "captum")},

    {"cmap", 0, T_STR, "NAME|CMSL", C_HEAT, "Heatmap",
     "colour map: {names} (zennit's 11, then matplotlib's, each of those also as NAME_r, reversed; mpl:gray, "
     "mpl:bwr, mpl:seismic, mpl:hot are matplotlib's maps of zennit's names), or a zennit CMSL string (default "
     "coldnhot for LRP composites, hot otherwise)",
     AT(heat.cmap), .names = cli_cmap_at},
    {"level", 0, T_NUM, "L", C_HEAT, "Heatmap", "palette level (default {default})", AT(heat.level), ANY, .def = "1"},
    {"norm", 0, T_STR, NULL, C_HEAT, "Heatmap",
     "how relevance maps onto the palette (default symmetric for LRP composites, absolute otherwise)", AT(heat.norm),
     CHOICES("symmetric", "absolute", "unaligned")},
    {"vmin", 0, T_NUM, "V", C_HEAT, "Heatmap",
     "fixed lower bound of the colour scale (alone: the upper bound stays the norm's)", AT(heat.vmin),
     HAS(heat.has_vmin), ANY},
    {"vmax", 0, T_NUM, "V", C_HEAT, "Heatmap",
     "fixed upper bound of the colour scale (alone: the lower bound stays the norm's)", AT(heat.vmax),
     HAS(heat.has_vmax), ANY},
    {"overlay", 0, T_NUM, "ALPHA", C_EXPLAIN | C_CONCEPTS, "Heatmap",
     "blend the heatmap over the input image (RGB PNG; ALPHA default {default})", AT(heat.overlay_alpha),
     HAS(heat.overlay), RANGE(0, 1), .def = "0.5", .optional = true},
    {"size", 0, T_STR, NULL, C_EXPLAIN | C_CONCEPTS, "Heatmap",
     "heatmap at the model's input size (default) or scaled to the original image's size", AT(heat.size),
     CHOICES("model", "input")},
    {"grid", 0, T_FLAG, NULL, C_HEAT, "Heatmap",
     "put all heatmaps of the run (explain) or all samples of a batch relevance (render) into one montage",
     AT(heat.grid)},
    /* issue 12: heatmaps people can read (sign, clipping, underlay, alpha, side by side, colour bar) */
    {"sign", 0, T_STR, NULL, C_HEAT, "Heatmap",
     "draw all of the relevance, only its positive or negative part, or its absolute value (default all; the "
     "others default to --norm absolute and --cmap hot)",
     AT(heat.sign), CHOICES("all", "positive", "negative", "absolute")},
    {"clip-percentile", 0, T_NUM, "P", C_HEAT, "Heatmap",
     "clip outliers as Captum does (its default is 2): the scale ends at the magnitude below which (100-P)% of "
     "the total |relevance| lies (default {default}: no clipping; P below 100)",
     AT(heat.clip), RANGE(0, 100), .def = "0"},
    {"underlay", 0, T_ENUM, NULL, C_EXPLAIN, "Heatmap",
     "what --overlay blends the heatmap over: the image in colour (default), its gray channel mean (Captum's "
     "blended_heat_map) or white; implies --overlay",
     AT(heat.underlay), HAS(heat.has_underlay), CHOICES("color", "gray", "none")},
    {"alpha", 0, T_ENUM, NULL, C_EXPLAIN, "Heatmap",
     "opacity of --overlay: ALPHA everywhere (default), or ALPHA times |relevance| scaled to the colour scale "
     "(Captum's alpha_scaling); implies --overlay",
     AT(heat.alpha_mode), HAS(heat.has_alpha), CHOICES("constant", "relevance")},
    {"side-by-side", 0, T_FLAG, NULL, C_EXPLAIN, "Heatmap",
     "write the image and the heatmap next to each other in one RGB PNG", AT(heat.side_by_side)},
    {"colorbar", 0, T_FLAG, NULL, C_HEAT, "Heatmap",
     "add a vertical bar with the colour map (top: the scale's upper end) at the right (RGB PNG)", AT(heat.colorbar)},

    {"list", 'l', T_STR, "FILE|-", C_EXPLAIN | C_PREDICT | C_EVAL, "Batch",
     "read inputs from FILE (or stdin), one path per line, optionally a tab and a target class", AT(list)},
    {"skip-existing", 0, T_FLAG, NULL, C_EXPLAIN, "Batch",
     "skip inputs whose outputs all exist already (under the names a fresh run gives them, {target} included)",
     AT(skip_existing)},
    {"shard", 0, T_CUSTOM, "K/N", C_EXPLAIN | C_PREDICT | C_EVAL, "Batch",
     "process only items K, K+N, K+2N, ... (K counts from 0)", AT(shard_k), .def = "0/1", .set = set_shard},
    {"batch", 0, T_INT, "N", C_EXPLAIN, "Batch",
     "explain N inputs at a time: the threads (-j) split them into engine passes of their own, with the same "
     "results as one at a time (default 0: one per thread, as many as a quarter of the available memory holds, at "
     "most 8; 1 with --openblas)",
     AT(batch), RANGE(0, 64)},
    {"include-outputs", 0, T_FLAG, NULL, C_EXPLAIN, "Batch",
     "take files found in input directories that this run writes as outputs for other inputs (an earlier "
     "run's heatmaps and relevances) as inputs too",
     AT(include_outputs)},

    {"tolerance", 0, T_NUM, "T", C_COMPARE, "Compare",
     "largest difference accepted: relative L2 for .npy (default 1e-5), differing pixel fraction for PNG "
     "(default 0)",
     AT(tolerance), HAS(has_tolerance), NONNEG},

    {"order", 0, T_STR, NULL, C_EVAL, "Evaluation",
     "perturbation order: most or least relevant first, or both (default {default})", AT(order),
     CHOICES("morf", "lerf", "both"), .def = "both"},
    {"patch", 0, T_INT, "P", C_EVAL, "Evaluation", "side of the square regions (default {default})", AT(perturb.patch),
     RANGE(1, 1 << 16)},
    {"steps", 0, T_INT, "K", C_EVAL, "Evaluation",
     "regions perturbed in all (default {default}, at most the number of regions)", AT(perturb.steps),
     RANGE(1, 1 << 20)},
    /* in lrp_perturb_baseline's order */
    {"baseline", 0, T_ENUM, NULL, C_EVAL, "Evaluation",
     "what a perturbed region becomes: 0, the input's per-channel mean, or uniform noise over the input's range "
     "(default {default}, as Quantus; seeded by --seed)",
     AT(perturb.baseline), CHOICES("zero", "mean", "uniform")},
    {"sensitivity", 0, T_FLAG, NULL, C_EVAL, "Evaluation",
     "instead: the method's max-sensitivity (Quantus' MaxSensitivity), the plain gradient's and its norm",
     AT(sensitivity)},
    {"radius", 0, T_NUM, "R", C_EVAL, "Evaluation",
     "--sensitivity: noise uniform in [-R, R] on every model input value (default {default}, as Quantus)", AT(radius),
     NONNEG, .def = "0.2"},
    {"perturbations", 0, T_INT, "N", C_EVAL, "Evaluation",
     "--sensitivity: noisy copies of each input, two explanations each (default {default}, as Quantus)",
     AT(perturbations), RANGE(1, 1000000), .def = "200"},

    {"target-explanation", 0, T_STR, "T.npy", C_ATTACK, "Attack",
     "the map to reach: (H,W) or a relevance shaped like the input, taken as |T| normalised to sum 1",
     AT(target_explanation)},
    {"target-image", 0, T_STR, "IMAGE", C_ATTACK, "Attack",
     "the map to reach: this image's explanation map (its own predicted class)", AT(target_image)},
    {"steps", 0, T_INT, "N", C_ATTACK, "Attack", "Adam steps (default {default}, as the reference code)",
     AT(attack_steps), RANGE(0, 10000000), .def = "1500"},
    {"lr", 0, T_NUM, "LR", C_ATTACK, "Attack", "Adam's learning rate (default {default})", AT(lr), NONNEG,
     .def = "0.0002"},
    {"explanation-weight", 0, T_NUM, "W", C_ATTACK, "Attack",
     "weight of MSE(h(x'), h_t) in the loss (default {default})", AT(explanation_weight), NONNEG, .def = "1e11"},
    {"output-weight", 0, T_NUM, "W", C_ATTACK, "Attack",
     "weight of MSE(softmax(f(x')), softmax(f(x))) in the loss (default {default})", AT(output_weight), NONNEG,
     .def = "1e6"},
    {"beta-growth", 0, T_FLAG, NULL, C_ATTACK, "Attack",
     "with --composite beta-smooth: beta grows from 10 to 100 over the steps (the reference code's schedule)",
     AT(beta_growth)},
    {"log-every", 0, T_INT, "N", C_ATTACK, "Attack", "print a log row every N steps (default {default})",
     AT(log_every), RANGE(1, 10000000), .def = "50"},
    {"output", 'o', T_STR, "FILE", C_ATTACK, "Attack", "the manipulated image as the model sees it (8-bit PNG)",
     AT(out)},
    {"tensor-out", 0, T_STR, "FILE", C_ATTACK, "Attack", "the manipulated model input (.npy)", AT(tensor_out)},
    {"relevance-out", 'r', T_STR, "FILE", C_ATTACK, "Attack", "its relevance (.npy)", AT(relevance_out)},
    {"heatmap-out", 0, T_STR, "FILE", C_ATTACK, "Attack", "its heatmap (PNG, the composite's default colours)",
     AT(heatmap_out)},

    /* inside the network: relevance at nodes, CRP conditions and concepts (issue 14) */
    {"relevance-at", 0, T_LIST, "NODE=FILE", C_EXPLAIN, "Inside the network",
     "write the relevance arriving at the output of NODE (a node name as 'lrp inspect MODEL --composite NAME' "
     "prints it, or a value name), before its own rule, as float32 .npy shaped like that output (template fields "
     "as -o; repeatable)",
     AT(relevance_at)},
    {"condition", 0, T_LIST, "NODE:CH[,CH...]", C_EXPLAIN | C_CONCEPTS, "Inside the network",
     "Concept Relevance Propagation: keep only channels CH of the relevance arriving at NODE's output (zennit-crp's "
     "conditions; repeatable, from the output downwards); relevance on paths that bypass NODE is dropped unless "
     "--with-parallel. With --seed-logit, zennit-crp's seed",
     AT(conditions)},
    {"with-parallel", 0, T_FLAG, NULL, C_EXPLAIN | C_CONCEPTS, "Inside the network",
     "keep the relevance on paths that bypass a conditioned node, such as a residual shortcut (zennit-crp's "
     "exclude_parallel=False)",
     AT(with_parallel)},
    {"layer", 0, T_STR, "NODE", C_CONCEPTS, "Inside the network",
     "the layer whose channels are the concepts (a node or value name, as --condition)", AT(concept_layer)},
    {"top", 0, T_INT, "K", C_CONCEPTS, "Inside the network",
     "the K most relevant channels, each with its conditional heatmap (default {default})", AT(concept_top),
     RANGE(1, 1 << 20), .def = "8"},
    {"reference-images", 0, T_STR, "DIR", C_CONCEPTS, "Inside the network",
     "instead of explaining INPUTs, rank the images of DIR (searched as an input directory) for each channel of the "
     "layer by its relevance for the image's target (zennit-crp's relevance maximisation) or by its activation, and "
     "list the --reference-top best per channel; -o 'refs/{concept}.png' --grid writes each channel's montage",
     AT(reference_images)},
    {"reference-mode", 0, T_ENUM, NULL, C_CONCEPTS, "Inside the network",
     "rank reference images by the channel's relevance (default) or by its activation", AT(reference_mode),
     HAS(has_reference_opts), CHOICES("relevance", "activation")},
    {"reference-max", 0, T_ENUM, NULL, C_CONCEPTS, "Inside the network",
     "a channel's value per image: the sum over its positions (default) or the value at its largest position, "
     "each divided by the sum of the absolute values over the channels (zennit-crp's max_target and abs_norm)",
     AT(reference_max), HAS(has_reference_opts), CHOICES("sum", "max")},
    {"reference-top", 0, T_INT, "N", C_CONCEPTS, "Inside the network",
     "reference images kept per channel (default {default})", AT(reference_top), HAS(has_reference_opts),
     RANGE(1, 1 << 16), .def = "8"},
    {"channels", 0, T_STR, "CH[,CH...]", C_CONCEPTS, "Inside the network",
     "with --reference-images: only these channels of the layer (default all)", AT(channels)},
    /* localisation against masks (src/cli/cmd_eval_mask.c) */
    {"mask", 0, T_STR, "FILE", C_EVAL, "Localisation",
     "score the attribution against a mask (8-bit PNG, white = object, pixel > 127), a template such as "
     "'masks/{stem}.png': pointing game, relevance mass and rank accuracy, attribution localisation, top-k "
     "intersection, ROC AUC and the right-for-the-right-reasons penalty, instead of region perturbation",
     AT(mask)},
    {"attribution", 0, T_STR, "FILE.npy", C_EVAL, "Localisation",
     "with --mask: read each input's attribution (a template as -o) instead of computing it: (H, W), (1, H, W), "
     "(1, 1, H, W) or shaped like the input (summed over channels)",
     AT(mask_attribution)},
    {"no-model", 0, T_FLAG, NULL, C_EVAL, "Localisation",
     "with --mask: no MODEL; the arguments are attribution .npy files (or inputs for --attribution's template), "
     "scored without the RRR penalty",
     AT(mask_no_model)},
    {"abs", 0, T_FLAG, NULL, C_EVAL, "Localisation", "with --mask: score |attribution| (Quantus' abs=True)",
     AT(mask_abs)},
    {"top-k", 0, T_INT, "K", C_EVAL, "Localisation",
     "with --mask: k of the top-k intersection (default {default}, as Quantus)", AT(mask_top_k), RANGE(1, 1L << 40),
     .def = "1000"},
    {"fail-below", 0, T_LIST, "METRIC=VALUE", C_EVAL, "Localisation",
     "with --mask: exit 1, naming the inputs, when an input's METRIC is below VALUE (repeatable); METRIC: "
     "pointing_game, relevance_mass_accuracy, relevance_rank_accuracy, attribution_localisation (null fails), "
     "top_k_intersection, auc",
     AT(fail_below)},
};

#define N_OPTIONS ((int)(sizeof options / sizeof *options))

/* The entry of that name for the command (an option name may mean different
 * things to different commands), else any entry of that name. */
static const option_def *find_long(const char *name, size_t len, cli_command cmd)
{
    const option_def *any = NULL;
    for (int i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && !strncmp(options[i].name, name, len)) {
            if (options[i].commands & CMDBIT(cmd))
                return &options[i];
            if (!any)
                any = &options[i];
        }
    return any;
}

/* The entry of that letter for the command, else any entry of that letter. */
static const option_def *find_short(char c, cli_command cmd)
{
    const option_def *any = NULL;
    for (int i = 0; i < N_OPTIONS; i++)
        if (options[i].short_name == c) {
            if (options[i].commands & CMDBIT(cmd))
                return &options[i];
            if (!any)
                any = &options[i];
        }
    return any;
}

static cli_command find_command(const char *s)
{
    for (int c = 1; c < CMD_COUNT; c++)
        if (!strcmp(commands[c].name, s))
            return (cli_command)c;
    return CMD_NONE;
}

const char *cli_join(char *buf, size_t size, const char *const *words, const char *(*at)(int), const char *sep,
                     const char *last)
{
    int n = 0;
    while (words ? words[n] : at(n))
        n++;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                i == 0       ? ""
                                : i == n - 1 ? last
                                             : sep,
                                words ? words[i] : at(i));
    return buf;
}

/* (lrp_attributor_name says "?" past the last kind.) */
const char *cli_attributor_at(int i)
{
    const char *name = lrp_attributor_name((lrp_attributor_kind)i);
    return i >= 0 && strcmp(name, "?") ? name : NULL;
}

/* ------------------------------------------------------------- conversion */

static int parse_int(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error("--%s: expected an integer from %ld to %ld, got '%s'", opt, lo, hi, s);
        return EXIT_USAGE;
    }
    *out = v;
    return EXIT_OK;
}

static int parse_double(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        cli_error("--%s: expected a number, got '%s'", opt, s);
        return EXIT_USAGE;
    }
    *out = v;
    return EXIT_OK;
}

/* A number within the option's range. */
static int parse_number(const option_def *o, const char *s, double *out)
{
    if (parse_double(o->name, s, out) != EXIT_OK)
        return EXIT_USAGE;
    if (*out >= o->min && *out <= o->max)
        return EXIT_OK;
    if (o->min == 0 && isinf(o->max))
        cli_error("--%s: must not be negative", o->name);
    else
        cli_error("--%s: %s must be between %g and %g", o->name, o->arg, o->min, o->max);
    return EXIT_USAGE;
}

static int parse_seed(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-') {
        cli_error("--%s: expected a non-negative integer, got '%s'", opt, s);
        return EXIT_USAGE;
    }
    *out = v;
    return EXIT_OK;
}

/* "a,b,c" or "a" into up to 3 floats. */
static int parse_triple(const option_def *o, const char *s, lrp_real *v, int *n)
{
    const char *opt = o->name;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        double d;
        if (*n == 3) {
            cli_error("--%s: at most 3 values", opt);
            return EXIT_USAGE;
        }
        if (parse_double(opt, t, &d) != EXIT_OK)
            return EXIT_USAGE;
        v[(*n)++] = (lrp_real)d;
    }
    if (*n == 0) {
        cli_error("--%s: expected 1 or 3 comma-separated numbers", opt);
        return EXIT_USAGE;
    }
    if (*n == 2) {
        cli_error("--%s: expected 1 or 3 values, got 2", opt);
        return EXIT_USAGE;
    }
    for (int i = 0; i < *n && o->nonzero; i++)
        if (v[i] == 0.0f) {
            cli_error("--%s: values must not be zero", opt);
            return EXIT_USAGE;
        }
    return EXIT_OK;
}

/* The index of s among the option's choices, or -1 (printed). */
static int choice_index(const option_def *o, const char *s)
{
    for (int i = 0; o->choices[i]; i++)
        if (!strcmp(s, o->choices[i]))
            return i;
    char list[256];
    cli_error("--%s: expected %s, got '%s'", o->name, cli_join(list, sizeof list, o->choices, NULL, ", ", " or "), s);
    return -1;
}

static int list_append(cli_list *l, const char *v)
{
    const char **r = realloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
    if (!r) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    l->v = r;
    l->v[l->n++] = v;
    return EXIT_OK;
}

static int set_resize(cli_args *a, const option_def *o, const char *v)
{
    long l;
    if (strcmp(v, "none") && strcmp(v, "exact") && parse_int(o->name, v, (long)o->min, (long)o->max, &l))
        return EXIT_USAGE;
    a->resize = v;
    return EXIT_OK;
}

static int set_shard(cli_args *a, const option_def *o, const char *v)
{
    /* strtoll, not sscanf's %d: values beyond int must not wrap */
    char *slash = strchr(v, '/'), *end;
    long long k = -1, n = 0;
    bool good = slash && slash > v && isdigit((unsigned char)v[0]) && isdigit((unsigned char)slash[1]);
    if (good) {
        errno = 0;
        k = strtoll(v, &end, 10);
        good = !errno && end == slash;
    }
    if (good) {
        errno = 0;
        n = strtoll(slash + 1, &end, 10);
        good = !errno && !*end;
    }
    if (!good || n < 1 || k < 0 || k >= n) {
        cli_error("--%s: expected K/N with 0 <= K < N < 2^63, got '%s'", o->name, v);
        return EXIT_USAGE;
    }
    a->shard_k = k;
    a->shard_n = n;
    return EXIT_OK;
}

/* -t: explain collects every value (checked once the labels and the model
 * are known); eval explains one class per input. */
static int set_target(cli_args *a, const option_def *o, const char *v)
{
    long l;
    if (a->command != CMD_EXPLAIN) {
        if (a->has_target) {
            cli_error("--%s: %s explains one class per input, and -t is given twice", o->name,
                      commands[a->command].name);
            return EXIT_USAGE;
        }
        if (parse_int(o->name, v, (long)o->min, (long)o->max, &l) != EXIT_OK)
            return EXIT_USAGE;
        a->target = l;
        return EXIT_OK;
    }
    size_t n = strlen(v);
    if (n == 0 || v[0] == ',' || v[n - 1] == ',' || strstr(v, ",,")) {
        cli_error("--%s: expected CLASS, LABEL, CLASS,CLASS,... or from-dir, got '%s'", o->name, v);
        return EXIT_USAGE;
    }
    if (v[0] == '-') {
        cli_error("--%s: a class is a number from 0 or a label, got '%s'", o->name, v);
        return EXIT_USAGE;
    }
    return list_append(&a->targets, v);
}

/* --input-size HxW (or H,W). */
static int set_input_size(cli_args *a, const option_def *o, const char *v)
{
    char *end;
    errno = 0;
    long h = strtol(v, &end, 10), w = -1;
    if (!errno && end != v && (*end == 'x' || *end == 'X' || *end == ',') && isdigit((unsigned char)end[1])) {
        const char *p = end + 1;
        w = strtol(p, &end, 10);
        if (errno || *end)
            w = -1;
    }
    if (h < 1 || h > 65536 || w < 1 || w > 65536) {
        cli_error("--%s: expected HEIGHTxWIDTH from 1 to 65536, such as 224x224, got '%s'", o->name, v);
        return EXIT_USAGE;
    }
    a->input_h = (int)h;
    a->input_w = (int)w;
    return EXIT_OK;
}

/* Converts v into the option's field, as its type says. */
static int convert(cli_args *a, const option_def *o, const char *v)
{
    char *p = (char *)a + o->off;
    int index = 0;
    long l;
    double d;
    if (o->choices && (index = choice_index(o, v)) < 0)
        return EXIT_USAGE;
    switch (o->type) {
    case T_FLAG:
        if (o->size == sizeof(bool))
            *(bool *)p = true;
        else
            *(int *)p = 1;
        return EXIT_OK;
    case T_INT:
        if (parse_int(o->name, v, (long)o->min, (long)o->max, &l) != EXIT_OK)
            return EXIT_USAGE;
        if (o->size == sizeof(int64_t))
            *(int64_t *)p = l;
        else
            *(int *)p = (int)l;
        return EXIT_OK;
    case T_SEED: return parse_seed(o->name, v, (uint64_t *)p);
    case T_NUM:
        if (parse_number(o, v, &d) != EXIT_OK)
            return EXIT_USAGE;
        if (o->size == sizeof(lrp_real))
            *(lrp_real *)p = (lrp_real)d;
        else
            *(double *)p = d;
        return EXIT_OK;
    case T_STR: *(const char **)p = v; return EXIT_OK;
    case T_ENUM: *(int *)p = index; return EXIT_OK;
    case T_TRIPLE: return parse_triple(o, v, (lrp_real *)p, (int *)((char *)a + o->aux));
    case T_LIST: return list_append((cli_list *)p, v);
    case T_CUSTOM: return o->set(a, o, v);
    }
    return EXIT_INTERNAL;
}

/* An option given on the command line (v NULL: no value). */
static int apply(cli_args *a, const option_def *o, const char *v)
{
    int rc = v || o->type == T_FLAG ? convert(a, o, v) : EXIT_OK;
    if (rc == EXIT_OK && o->aux && o->type != T_TRIPLE)
        *(bool *)((char *)a + o->aux) = true;
    return rc;
}

_Static_assert(sizeof(lrp_perturb_baseline) == sizeof(int), "T_ENUM stores an int");

/* Whether a row's destination has a size its type can store. */
static bool row_fits(const option_def *o)
{
    switch (o->type) {
    case T_FLAG: return o->size == sizeof(bool) || o->size == sizeof(int);
    case T_INT: return o->size == sizeof(int) || o->size == sizeof(int64_t);
    case T_SEED: return o->size == sizeof(uint64_t);
    case T_NUM: return o->size == sizeof(lrp_real) || o->size == sizeof(double);
    case T_STR: return o->size == sizeof(const char *);
    case T_ENUM: return o->size == sizeof(int) && o->choices;
    case T_TRIPLE: return o->size == 3 * sizeof(lrp_real) && o->aux;
    case T_LIST: return o->size == sizeof(cli_list);
    case T_CUSTOM: return o->set != NULL;
    }
    return false;
}

/* The library's defaults, then the table's. */
static void defaults(cli_args *a)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if (!row_fits(&options[i]))
            abort(); /* a row whose field its type cannot hold */
    memset(a, 0, sizeof *a);
    lrp_explain_options_default(&a->explain);
    lrp_attributor_options_default(&a->attr);
    lrp_perturb_options_default(&a->perturb);
    a->attributor = lrp_attributor_name(a->attr.kind);
    lrp_preprocess pp; /* the values, not given (count 0) until --mean and --std */
    lrp_preprocess_defaults(&pp, 224, 224);
    memcpy(a->mean, pp.mean, sizeof a->mean);
    memcpy(a->std, pp.std, sizeof a->std);
    for (int i = 0; i < N_OPTIONS; i++)
        if (options[i].def && convert(a, &options[i], options[i].def) != EXIT_OK)
            abort(); /* a row whose default is not one of its values */
}

void cli_args_free(cli_args *a)
{
    free(a->pos);
    free(a->rules.v);
    free(a->targets.v);
    free(a->relevance_at.v);
    free(a->conditions.v);
    free(a->fail_below.v);
    a->pos = NULL;
    a->rules.v = NULL;
    a->targets.v = NULL;
    a->relevance_at.v = NULL;
    a->conditions.v = NULL;
    a->fail_below.v = NULL;
}

/* The value's placeholder: FILE, or the choices as a|b|c. */
static const char *arg_text(const option_def *o, char *buf, size_t size)
{
    return o->arg ? o->arg : o->choices ? cli_join(buf, size, o->choices, NULL, "|", "|") : "";
}

/* A number that is not the name of an existing file. */
static bool looks_like_number(const char *s)
{
    char *end;
    errno = 0;
    (void)strtod(s, &end);
    FILE *f;
    if (errno || end == s || *end || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
        return false;
    if ((f = fopen(s, "r"))) {
        fclose(f);
        return false;
    }
    return true;
}

/* The option argv[*i] names and its value (NULL: none given), the value
 * taken from the next argument when it needs one. Returns an exit code. */
static int find_option(cli_args *a, int argc, char **argv, int *i, const option_def **found, const char **val)
{
    const char *s = argv[*i], *cmd = commands[a->command].name;
    const option_def *o;
    *val = NULL;
    if (s[1] == '-') {
        const char *name = s + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (!(o = find_long(name, len, a->command))) {
            cli_error("%s: unknown option '--%.*s' (try 'lrp %s --help')", cmd, (int)len, name, cmd);
            return EXIT_USAGE;
        }
        if (eq && o->type == T_FLAG) {
            cli_error("--%s takes no value", o->name);
            return EXIT_USAGE;
        }
        *val = eq ? eq + 1 : NULL;
    } else {
        if (!(o = find_short(s[1], a->command))) {
            cli_error("%s: unknown option '-%c' (try 'lrp %s --help')", cmd, s[1], cmd);
            return EXIT_USAGE;
        }
        if (s[2] && o->type == T_FLAG) {
            cli_error("-%c takes no value", s[1]);
            return EXIT_USAGE;
        }
        *val = s[2] ? s + 2 : NULL;
    }
    if (!(o->commands & CMDBIT(a->command))) {
        cli_error("%s: option --%s does not apply to this command", cmd, o->name);
        return EXIT_USAGE;
    }
    /* --overlay 0.3: a number after an option whose value is optional is its
     * value (unless a file of that name exists), not an input */
    if (o->type == T_NUM && o->optional && !*val && *i + 1 < argc && looks_like_number(argv[*i + 1]))
        *val = argv[++*i];
    if (o->type != T_FLAG && !o->optional && !*val) {
        if (*i + 1 >= argc) {
            char buf[256];
            cli_error("option --%s needs a value (%s)", o->name, arg_text(o, buf, sizeof buf));
            return EXIT_USAGE;
        }
        *val = argv[++*i];
    }
    *found = o;
    return EXIT_OK;
}

int cli_parse(int argc, char **argv, cli_args *a)
{
    defaults(a);
    a->pos = calloc((size_t)argc + 1, sizeof(char *));
    if (!a->pos) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    /* global options before the command: --help, --version */
    if (argc == 0 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        a->command = CMD_HELP;
        return EXIT_OK;
    }
    if (!strcmp(argv[0], "--version") || !strcmp(argv[0], "-V")) {
        a->command = CMD_VERSION;
        return EXIT_OK;
    }
    a->command = find_command(argv[0]);
    if (a->command == CMD_NONE) {
        cli_error("unknown command '%s' (try 'lrp --help')", argv[0]);
        return EXIT_USAGE;
    }
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        char *s = argv[i];
        if (only_pos || s[0] != '-' || !strcmp(s, "-")) {
            a->pos[a->n_pos++] = s;
            continue;
        }
        if (!strcmp(s, "--")) {
            only_pos = true;
            continue;
        }
        const option_def *o = NULL;
        const char *val;
        int rc = find_option(a, argc, argv, &i, &o, &val);
        if (rc == EXIT_OK)
            rc = apply(a, o, val);
        if (rc != EXIT_OK)
            return rc;
    }
    /* the execution choices, for the explainer's calls (the model's are set
     * where it is loaded) */
    a->explain.threads = a->threads;
    a->explain.openblas = a->openblas;
    a->explain.exact_forward = !a->fast;
    return EXIT_OK;
}

/* Prints text wrapped at 79 columns, indented by `indent` after the first line
 * which starts at column `col`. */
static void wrap(FILE *f, const char *text, int col, int indent)
{
    const char *p = text;
    bool first = true;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *sp = p;
        while (*sp && *sp != ' ')
            sp++;
        int wl = (int)(sp - p);
        if (!wl)
            break;
        if (!first && col + 1 + wl > 79) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", wl, p);
        col += wl;
        first = false;
        p = sp;
    }
    fputc('\n', f);
}

void cli_print_usage(FILE *f)
{
    fprintf(f, "usage: lrp COMMAND [options]\n\n"
               "Explain what an ONNX image classifier looked at, with Layer-wise Relevance\n"
               "Propagation (zennit's rules) and other attribution methods.\n\nCommands:\n");
    for (int c = 1; c < CMD_COUNT; c++)
        fprintf(f, "  %-11s %s\n", commands[c].name, commands[c].summary);
    fprintf(f, "\nRun 'lrp COMMAND --help' for a command's options; 'man lrp' for everything.\n"
               "Exit status: 0 ok, 1 compare found a difference, 2 usage error, 3 model error,\n"
               "4 some inputs failed, 5 an output could not be written, 70 internal error.\n");
}

/* "%.6g", and 1e-6 rather than 1e-06. */
static void number_text(double v, char *buf, size_t size)
{
    snprintf(buf, size, "%.6g", v);
    char *e = strstr(buf, "e-0");
    if (e)
        memmove(e + 2, e + 3, strlen(e + 3) + 1);
}

/* An option's default as the help shows it (from the defaulted d). */
static const char *default_text(const option_def *o, const cli_args *d, char *buf, size_t size)
{
    const char *p = (const char *)d + o->off;
    buf[0] = '\0';
    switch (o->type) {
    case T_INT:
        snprintf(buf, size, "%lld", o->size == sizeof(int64_t) ? (long long)*(const int64_t *)p : *(const int *)p);
        break;
    case T_SEED: snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    case T_NUM:
        number_text(o->size == sizeof(lrp_real) ? (double)*(const lrp_real *)p : *(const double *)p, buf, size);
        break;
    case T_TRIPLE: {
        const lrp_real *v = (const lrp_real *)p;
        char x[3][32];
        for (int i = 0; i < 3; i++)
            number_text(v[i], x[i], sizeof x[i]);
        snprintf(buf, size, "%s,%s,%s", x[0], x[1], x[2]);
        break;
    }
    case T_STR: snprintf(buf, size, "%s", *(const char *const *)p ? *(const char *const *)p : ""); break;
    case T_ENUM: snprintf(buf, size, "%s", o->choices[*(const int *)p]); break;
    default: break;
    }
    return buf;
}

/* The help text with {default} and {names} filled in. */
static void help_text(const option_def *o, const cli_args *d, char *buf, size_t size)
{
    size_t len = 0;
    for (const char *p = o->help; *p && len + 1 < size;) {
        char val[1024];
        const char *ins = NULL;
        if (!strncmp(p, "{default}", 9)) {
            ins = default_text(o, d, val, sizeof val);
            p += 9;
        } else if (!strncmp(p, "{names}", 7)) {
            ins = cli_join(val, sizeof val, o->choices, o->names, ", ", ", ");
            p += 7;
        }
        if (ins)
            len += (size_t)snprintf(buf + len, size - len, "%s", ins);
        else
            buf[len++] = *p++;
    }
    buf[len < size ? len : size - 1] = '\0';
}

/* "  -o, --output FILE" */
static int option_head(const option_def *o, char *head, size_t size)
{
    char buf[256];
    const char *arg = arg_text(o, buf, sizeof buf);
    int n = o->short_name ? snprintf(head, size, "  -%c, --%s", o->short_name, o->name)
                          : snprintf(head, size, "      --%s", o->name);
    if (o->type != T_FLAG)
        n += snprintf(head + n, size - (size_t)n, o->optional ? "[=%s]" : " %s", arg);
    return n;
}

void cli_print_command_help(FILE *f, cli_command c)
{
    if (c <= CMD_NONE || c >= CMD_COUNT) {
        cli_print_usage(f);
        return;
    }
    cli_args d;
    defaults(&d);
    fprintf(f, "usage: lrp %s\n\n", commands[c].synopsis);
    wrap(f, commands[c].summary, 0, 0);
    const char *group = NULL;
    for (int i = 0; i < N_OPTIONS; i++) {
        const option_def *o = &options[i];
        if (!(o->commands & CMDBIT(c)))
            continue;
        if (!group || strcmp(group, o->group)) {
            group = o->group;
            fprintf(f, "\n%s options:\n", group);
        }
        char head[128], help[2048];
        int n = option_head(o, head, sizeof head);
        fputs(head, f);
        if (n < 30)
            fprintf(f, "%*s", 30 - n, "");
        else
            fprintf(f, "\n%30s", "");
        help_text(o, &d, help, sizeof help);
        wrap(f, help, 30, 30);
    }
}
