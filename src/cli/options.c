/* The option table, the parser and the generated help. */
#include <stdio.h>

#include "cli/options.h"

#include "lrp.h"

#include <ctype.h>
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
                  "score an explanation by region perturbation (MoRF/LeRF curves, AOPC)"},
    [CMD_HELP] = {"help", "help [COMMAND]", "show help for lrp or one command"},
    [CMD_VERSION] = {"version", "version", "print the version"},
};

const char *cli_command_name(cli_command c) { return c > 0 && c < CMD_COUNT ? commands[c].name : "?"; }

/* Option ids. */
enum {
    O_HELP = 1, O_QUIET, O_JSON, O_THREADS, O_NO_CANONIZE, O_RESIZE, O_MEAN, O_STD, O_BGR, O_PIXEL_RANGE, O_LAYOUT,
    O_TOP, O_LABELS, O_COMPOSITE, O_ATTRIBUTOR, O_TARGET, O_SEED_LOGIT, O_OUT, O_RELEVANCE_OUT, O_EPSILON,
    O_STABILIZER, O_GAMMA, O_BETA_SMOOTH, O_LOW, O_HIGH, O_NO_BIAS, O_RULE, O_CHECK, O_STEPS, O_SAMPLES,
    O_NOISE_LEVEL, O_SEED, O_BASELINE, O_WINDOW, O_STRIDE, O_OCCLUDE, O_FILL, O_CMAP, O_LEVEL, O_NORM, O_VMIN,
    O_VMAX, O_OVERLAY, O_SIZE, O_GRID, O_LIST, O_SKIP_EXISTING, O_SHARD, O_TOLERANCE, O_ORDER, O_PATCH,
    O_EVAL_STEPS, O_EVAL_BASELINE, O_FAST, O_OPENBLAS, O_INCLUDE_OUTPUTS
};

#define C_EXPLAIN CMDBIT(CMD_EXPLAIN)
#define C_PREDICT CMDBIT(CMD_PREDICT)
#define C_INSPECT CMDBIT(CMD_INSPECT)
#define C_PREPROCESS CMDBIT(CMD_PREPROCESS)
#define C_RENDER CMDBIT(CMD_RENDER)
#define C_COMPARE CMDBIT(CMD_COMPARE)
#define C_EVAL CMDBIT(CMD_EVAL)
#define C_ALL 0xffffffffu
#define C_MODEL (C_EXPLAIN | C_PREDICT | C_PREPROCESS | C_EVAL) /* commands that read inputs for a model */
#define C_RULES (C_EXPLAIN | C_EVAL)
#define C_HEAT (C_EXPLAIN | C_RENDER)

typedef enum { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL } arg_kind;

typedef struct option_def {
    int id;
    const char *name;
    char short_name;
    arg_kind kind;
    const char *arg; /* placeholder in the help */
    unsigned commands;
    const char *group;
    const char *help;
} option_def;

/* Every option, once. The group names order the help. */
static const option_def options[] = {
    {O_HELP, "help", 'h', ARG_NONE, NULL, C_ALL, "General", "show help and exit"},
    {O_QUIET, "quiet", 'q', ARG_NONE, NULL, C_ALL, "General", "print nothing but errors (and --json output)"},
    {O_JSON, "json", 0, ARG_NONE, NULL, C_EXPLAIN | C_PREDICT | C_COMPARE | C_EVAL, "General",
     "print one JSON object per item on stdout instead of text"},
    {O_THREADS, "threads", 'j', ARG_REQUIRED, "N", C_MODEL, "General",
     "use N threads (default: the CPUs this process may run on); results do not depend on N"},

    {O_NO_CANONIZE, "no-canonize", 0, ARG_NONE, NULL, C_EXPLAIN | C_INSPECT | C_EVAL, "Model",
     "do not fold BatchNorm, fuse biases, drop Identity/Dropout, strip a final Softmax or treat residual Adds as "
     "zennit Sums"},
    {O_FAST, "fast", 0, ARG_NONE, NULL, C_RULES, "Model",
     "accumulate every forward convolution and dense layer in float32; by default those whose outputs feed a "
     "discrete decision of the explanation (which value of a max-pooling window wins, an activation's mask under "
     "gradient rules, Gamma's sign) or an LRP rule's denominator (with every LRP composite, the whole network) "
     "accumulate in double, so that float32 rounding neither decides nor is amplified by a cancelling sum"},
    {O_OPENBLAS, "openblas", 0, ARG_NONE, NULL, C_MODEL, "Model",
     "compute convolutions and dense layers with OpenBLAS's kernels for this CPU: faster, and still the same at "
     "any --threads, but the last bits of the relevance (and now and then a heatmap pixel) then depend on the CPU; "
     "by default lrp's own kernels give the same bits on every CPU"},
    {O_LAYOUT, "layout", 0, ARG_REQUIRED, "nchw|nhwc", C_MODEL, "Model",
     "layout of the model input when the guess from its shape is wrong"},

    {O_RESIZE, "resize", 0, ARG_REQUIRED, "N|none|exact", C_MODEL, "Input",
     "images: resize the shorter side to N, then center-crop (default N = S*256/224 for an input of side S); "
     "'none': center-crop only; 'exact': resize to the input size without cropping"},
    {O_MEAN, "mean", 0, ARG_REQUIRED, "R,G,B", C_MODEL, "Input",
     "normalization mean (default ImageNet's 0.485,0.456,0.406; one value for gray models)"},
    {O_STD, "std", 0, ARG_REQUIRED, "R,G,B", C_MODEL, "Input",
     "normalization standard deviation (default ImageNet's 0.229,0.224,0.225)"},
    {O_BGR, "bgr", 0, ARG_NONE, NULL, C_MODEL, "Input", "feed channels in B,G,R order"},
    {O_PIXEL_RANGE, "pixel-range", 0, ARG_REQUIRED, "1|255", C_MODEL, "Input",
     "pixel values before mean/std: 0..1 (default) or 0..255"},

    {O_TOP, "top", 'k', ARG_REQUIRED, "K", C_PREDICT, "Prediction", "show the K most likely classes (default 5)"},
    {O_LABELS, "labels", 0, ARG_REQUIRED, "FILE", C_PREDICT | C_EXPLAIN, "Prediction",
     "class names, one per line, in class order"},

    {O_COMPOSITE, "composite", 'c', ARG_REQUIRED, "NAME", C_RULES | C_INSPECT, "Explanation",
     "LRP composite (default epsilon-plus-flat): epsilon-plus-flat, epsilon-plus, epsilon-alpha2-beta1, "
     "epsilon-alpha2-beta1-flat, epsilon-gamma-box, guided-backprop, excitation-backprop, deconvnet, beta-smooth, "
     "gradient"},
    {O_ATTRIBUTOR, "attributor", 'a', ARG_REQUIRED, "NAME", C_RULES, "Explanation",
     "gradient, input-x-gradient, smoothgrad, integrated-gradients, occlusion or random; combined with the "
     "composite as in zennit (default: gradient, i.e. the composite alone)"},
    {O_TARGET, "target", 't', ARG_REQUIRED, "CLASS", C_RULES, "Explanation",
     "explain this class (default: the predicted one)"},
    {O_SEED_LOGIT, "seed-logit", 0, ARG_NONE, NULL, C_RULES, "Explanation",
     "start from the target logit instead of 1 (as zennit's feed_forward.py)"},
    {O_OUT, "output", 'o', ARG_REQUIRED, "FILE", C_EXPLAIN | C_RENDER | C_PREPROCESS, "Output",
     "heatmap PNG (explain, render) or tensor .npy (preprocess); a template with {stem}, {name}, {dir}, {index}, "
     "{index:N}, {target}, {method}; - for standard output. Never one of the run's inputs, another output or a "
     "directory (exit 2); FIFOs and devices are written through"},
    {O_RELEVANCE_OUT, "relevance-out", 'r', ARG_REQUIRED, "FILE", C_EXPLAIN, "Output",
     "write the relevance as float32 .npy shaped like the model input (template fields and rules as -o)"},
    {O_EPSILON, "epsilon", 0, ARG_REQUIRED, "E", C_RULES, "Rules", "epsilon of the Epsilon rule (default 1e-6)"},
    {O_STABILIZER, "stabilizer", 0, ARG_REQUIRED, "S", C_RULES, "Rules",
     "stabilizer of every other rule (default 1e-6)"},
    {O_GAMMA, "gamma", 0, ARG_REQUIRED, "G", C_RULES, "Rules", "gamma of the Gamma rule (default 0.25)"},
    {O_BETA_SMOOTH, "beta-smooth", 0, ARG_REQUIRED, "B", C_RULES, "Rules",
     "beta of the beta-smooth composite (default 10)"},
    {O_LOW, "low", 0, ARG_REQUIRED, "V|R,G,B", C_RULES, "Rules",
     "ZBox lower bound (default: what pixel value 0 becomes after normalization)"},
    {O_HIGH, "high", 0, ARG_REQUIRED, "V|R,G,B", C_RULES, "Rules",
     "ZBox upper bound (default: what pixel value 1 becomes after normalization)"},
    {O_NO_BIAS, "no-bias", 0, ARG_NONE, NULL, C_RULES, "Rules", "leave biases out of the rules (zennit's "
                                                               "zero_params=['bias'])"},
    {O_RULE, "rule", 0, ARG_REQUIRED, "KEY=RULE", C_RULES | C_INSPECT, "Rules",
     "give the node named KEY, or every node of op type KEY, a rule: epsilon, zplus, alpha-beta, gamma, zbox, flat, "
     "wsquare, pass, norm, gradient (also deconvnet, guided-backprop, beta-smooth), with parameters as "
     "RULE:key=value,... (repeatable)"},
    {O_CHECK, "check", 0, ARG_NONE, NULL, C_EXPLAIN, "Rules",
     "print the relevance sums after every node, to see where relevance leaks"},

    {O_STEPS, "steps", 0, ARG_REQUIRED, "N", C_EXPLAIN, "Attributors", "integrated-gradients steps (default 20)"},
    {O_BASELINE, "baseline", 0, ARG_REQUIRED, "zero|FILE.npy", C_EXPLAIN, "Attributors",
     "integrated-gradients baseline (default zero)"},
    {O_SAMPLES, "samples", 0, ARG_REQUIRED, "N", C_RULES, "Attributors",
     "smoothgrad samples, the last one noise-free (default 20)"},
    {O_NOISE_LEVEL, "noise-level", 0, ARG_REQUIRED, "F", C_RULES, "Attributors",
     "smoothgrad noise standard deviation as a fraction of the input's range (default 0.1)"},
    {O_SEED, "seed", 0, ARG_REQUIRED, "S", C_RULES, "Attributors",
     "seed of smoothgrad's and random's noise, and of eval's uniform baseline (default 0)"},
    {O_WINDOW, "window", 0, ARG_REQUIRED, "PIXELS", C_RULES, "Attributors",
     "occlusion window side (default max(4, S/8))"},
    {O_STRIDE, "stride", 0, ARG_REQUIRED, "PIXELS", C_RULES, "Attributors",
     "occlusion stride (default: the window)"},
    {O_OCCLUDE, "occlude", 0, ARG_REQUIRED, "keep|window", C_RULES, "Attributors",
     "occlusion: keep only the window (zennit's default) or blank the window"},
    {O_FILL, "fill", 0, ARG_REQUIRED, "zero|mean|FILE.npy", C_RULES, "Attributors",
     "what occluded pixels become (default zero)"},

    {O_CMAP, "cmap", 0, ARG_REQUIRED, "NAME|CMSL", C_HEAT, "Heatmap",
     "colour map: bwr, coldnhot, gray, wred, wblue, hot, cold, france, seismic, coolio, coleus, or a zennit CMSL "
     "string (default coldnhot for LRP composites, hot otherwise)"},
    {O_LEVEL, "level", 0, ARG_REQUIRED, "L", C_HEAT, "Heatmap", "palette level (default 1)"},
    {O_NORM, "norm", 0, ARG_REQUIRED, "symmetric|absolute|unaligned", C_HEAT, "Heatmap",
     "how relevance maps onto the palette (default symmetric for LRP composites, absolute otherwise)"},
    {O_VMIN, "vmin", 0, ARG_REQUIRED, "V", C_HEAT, "Heatmap", "fixed lower bound of the colour scale"},
    {O_VMAX, "vmax", 0, ARG_REQUIRED, "V", C_HEAT, "Heatmap", "fixed upper bound of the colour scale"},
    {O_OVERLAY, "overlay", 0, ARG_OPTIONAL, "ALPHA", C_EXPLAIN, "Heatmap",
     "blend the heatmap over the input image (RGB PNG; ALPHA default 0.5)"},
    {O_SIZE, "size", 0, ARG_REQUIRED, "model|input", C_EXPLAIN, "Heatmap",
     "heatmap at the model's input size (default) or scaled to the original image's size"},
    {O_GRID, "grid", 0, ARG_NONE, NULL, C_HEAT, "Heatmap",
     "put all heatmaps of the run (explain) or all samples of a batch relevance (render) into one montage"},

    {O_LIST, "list", 'l', ARG_REQUIRED, "FILE|-", C_EXPLAIN | C_PREDICT | C_EVAL, "Batch",
     "read inputs from FILE (or stdin), one path per line, optionally a tab and a target class"},
    {O_SKIP_EXISTING, "skip-existing", 0, ARG_NONE, NULL, C_EXPLAIN, "Batch",
     "skip inputs whose outputs all exist already (under the names a fresh run gives them, {target} included)"},
    {O_SHARD, "shard", 0, ARG_REQUIRED, "K/N", C_EXPLAIN | C_PREDICT | C_EVAL, "Batch",
     "process only items K, K+N, K+2N, ... (K counts from 0)"},
    {O_INCLUDE_OUTPUTS, "include-outputs", 0, ARG_NONE, NULL, C_EXPLAIN, "Batch",
     "take files found in input directories that this run writes as outputs for other inputs (an earlier "
     "run's heatmaps and relevances) as inputs too"},

    {O_TOLERANCE, "tolerance", 0, ARG_REQUIRED, "T", C_COMPARE, "Compare",
     "largest difference accepted: relative L2 for .npy (default 1e-5), differing pixel fraction for PNG "
     "(default 0)"},

    {O_ORDER, "order", 0, ARG_REQUIRED, "morf|lerf|both", C_EVAL, "Evaluation",
     "perturbation order: most or least relevant first, or both (default both)"},
    {O_PATCH, "patch", 0, ARG_REQUIRED, "P", C_EVAL, "Evaluation", "side of the square regions (default 8)"},
    {O_EVAL_STEPS, "steps", 0, ARG_REQUIRED, "K", C_EVAL, "Evaluation",
     "regions perturbed in all (default 100, at most the number of regions)"},
    {O_EVAL_BASELINE, "baseline", 0, ARG_REQUIRED, "zero|mean|uniform", C_EVAL, "Evaluation",
     "what a perturbed region becomes: 0, the input's per-channel mean, or uniform noise over the input's range "
     "(default uniform, as Quantus; seeded by --seed)"},
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

static const option_def *find_short(char c)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if (options[i].short_name == c)
            return &options[i];
    return NULL;
}

static cli_command find_command(const char *s)
{
    for (int c = 1; c < CMD_COUNT; c++)
        if (!strcmp(commands[c].name, s))
            return (cli_command)c;
    return CMD_NONE;
}

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

static int parse_positive(const char *opt, const char *s, float *out)
{
    double d;
    if (parse_double(opt, s, &d) != EXIT_OK)
        return EXIT_USAGE;
    if (d < 0) {
        cli_error("--%s: must not be negative", opt);
        return EXIT_USAGE;
    }
    *out = (float)d;
    return EXIT_OK;
}

/* "a,b,c" or "a" into up to 3 floats. */
static int parse_triple(const char *opt, const char *s, float *v, int *n)
{
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
        v[(*n)++] = (float)d;
    }
    if (*n == 0) {
        cli_error("--%s: expected 1 or 3 comma-separated numbers", opt);
        return EXIT_USAGE;
    }
    if (*n == 2) {
        cli_error("--%s: expected 1 or 3 values, got 2", opt);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int apply(cli_args *a, const option_def *o, const char *v)
{
    long l;
    double d;
    const char *nm = o->name;
    switch (o->id) {
    case O_HELP: a->help = true; break;
    case O_QUIET: a->quiet = true; break;
    case O_JSON: a->json = true; break;
    case O_THREADS:
        if (parse_int(nm, v, 1, 1024, &l))
            return EXIT_USAGE;
        a->threads = (int)l;
        break;
    case O_NO_CANONIZE: a->no_canonize = true; break;
    case O_FAST: a->fast = true; break;
    case O_OPENBLAS: a->openblas = true; break;
    case O_LAYOUT:
        if (strcmp(v, "nchw") && strcmp(v, "nhwc")) {
            cli_error("--layout: expected nchw or nhwc, got '%s'", v);
            return EXIT_USAGE;
        }
        a->layout = v;
        break;
    case O_RESIZE:
        if (strcmp(v, "none") && strcmp(v, "exact") && parse_int(nm, v, 1, 65536, &l))
            return EXIT_USAGE;
        a->resize = v;
        break;
    case O_MEAN: return parse_triple(nm, v, a->mean, &a->n_mean);
    case O_STD:
        if (parse_triple(nm, v, a->std, &a->n_std))
            return EXIT_USAGE;
        for (int i = 0; i < a->n_std; i++)
            if (a->std[i] == 0.0f) {
                cli_error("--std: values must not be zero");
                return EXIT_USAGE;
            }
        break;
    case O_BGR: a->bgr = true; break;
    case O_PIXEL_RANGE:
        if (strcmp(v, "1") && strcmp(v, "255")) {
            cli_error("--pixel-range: expected 1 or 255, got '%s'", v);
            return EXIT_USAGE;
        }
        a->pixel_range = atoi(v);
        break;
    case O_TOP:
        if (parse_int(nm, v, 1, 1000000, &l))
            return EXIT_USAGE;
        a->top = (int)l;
        break;
    case O_LABELS: a->labels = v; break;
    case O_COMPOSITE: a->composite = v; break;
    case O_ATTRIBUTOR: a->attributor = v; break;
    case O_TARGET:
        if (parse_int(nm, v, 0, 1L << 30, &l))
            return EXIT_USAGE;
        a->target = l;
        a->has_target = true;
        break;
    case O_SEED_LOGIT: a->seed_logit = true; break;
    case O_OUT: a->out = v; break;
    case O_RELEVANCE_OUT: a->relevance_out = v; break;
    case O_EPSILON: return parse_positive(nm, v, &a->epsilon);
    case O_STABILIZER: return parse_positive(nm, v, &a->stabilizer);
    case O_GAMMA: return parse_positive(nm, v, &a->gamma);
    case O_BETA_SMOOTH: return parse_positive(nm, v, &a->beta_smooth);
    case O_LOW: a->low = v; break;
    case O_HIGH: a->high = v; break;
    case O_NO_BIAS: a->no_bias = true; break;
    case O_RULE: {
        const char **r = realloc(a->rules, sizeof(char *) * (size_t)(a->n_rules + 1));
        if (!r) {
            cli_error("out of memory");
            return EXIT_INTERNAL;
        }
        a->rules = r;
        a->rules[a->n_rules++] = v;
        break;
    }
    case O_CHECK: a->check = true; break;
    case O_STEPS:
        if (parse_int(nm, v, 1, 100000, &l))
            return EXIT_USAGE;
        a->steps = (int)l;
        break;
    case O_SAMPLES:
        if (parse_int(nm, v, 1, 100000, &l))
            return EXIT_USAGE;
        a->samples = (int)l;
        break;
    case O_NOISE_LEVEL: return parse_positive(nm, v, &a->noise_level);
    case O_SEED: {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 0);
        if (errno || end == v || *end || v[0] == '-') {
            cli_error("--seed: expected a non-negative integer, got '%s'", v);
            return EXIT_USAGE;
        }
        a->seed = s;
        a->has_seed = true;
        break;
    }
    case O_BASELINE: a->baseline = v; break;
    case O_WINDOW:
        if (parse_int(nm, v, 1, 1 << 20, &l))
            return EXIT_USAGE;
        a->window = (int)l;
        break;
    case O_STRIDE:
        if (parse_int(nm, v, 1, 1 << 20, &l))
            return EXIT_USAGE;
        a->stride = (int)l;
        break;
    case O_OCCLUDE:
        if (strcmp(v, "keep") && strcmp(v, "window")) {
            cli_error("--occlude: expected keep or window, got '%s'", v);
            return EXIT_USAGE;
        }
        a->occlude = v;
        break;
    case O_FILL: a->fill = v; break;
    case O_CMAP: a->cmap = v; break;
    case O_LEVEL:
        if (parse_double(nm, v, &d))
            return EXIT_USAGE;
        a->level = d;
        break;
    case O_NORM:
        if (strcmp(v, "symmetric") && strcmp(v, "absolute") && strcmp(v, "unaligned")) {
            cli_error("--norm: expected symmetric, absolute or unaligned, got '%s'", v);
            return EXIT_USAGE;
        }
        a->norm = v;
        break;
    case O_VMIN:
        if (parse_double(nm, v, &a->vmin))
            return EXIT_USAGE;
        a->has_vmin = true;
        break;
    case O_VMAX:
        if (parse_double(nm, v, &a->vmax))
            return EXIT_USAGE;
        a->has_vmax = true;
        break;
    case O_OVERLAY:
        a->overlay = true;
        if (v) {
            if (parse_double(nm, v, &d))
                return EXIT_USAGE;
            if (d < 0 || d > 1) {
                cli_error("--overlay: ALPHA must be between 0 and 1");
                return EXIT_USAGE;
            }
            a->overlay_alpha = d;
        }
        break;
    case O_SIZE:
        if (strcmp(v, "model") && strcmp(v, "input")) {
            cli_error("--size: expected model or input, got '%s'", v);
            return EXIT_USAGE;
        }
        a->size = v;
        break;
    case O_GRID: a->grid = true; break;
    case O_LIST: a->list = v; break;
    case O_SKIP_EXISTING: a->skip_existing = true; break;
    case O_SHARD: {
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
            cli_error("--shard: expected K/N with 0 <= K < N < 2^63, got '%s'", v);
            return EXIT_USAGE;
        }
        a->shard_k = k;
        a->shard_n = n;
        break;
    }
    case O_INCLUDE_OUTPUTS: a->include_outputs = true; break;
    case O_TOLERANCE:
        if (parse_double(nm, v, &a->tolerance))
            return EXIT_USAGE;
        if (a->tolerance < 0) {
            cli_error("--tolerance: must not be negative");
            return EXIT_USAGE;
        }
        a->has_tolerance = true;
        break;
    case O_ORDER:
        if (strcmp(v, "morf") && strcmp(v, "lerf") && strcmp(v, "both")) {
            cli_error("--order: expected morf, lerf or both, got '%s'", v);
            return EXIT_USAGE;
        }
        a->order = v;
        break;
    case O_PATCH:
        if (parse_int(nm, v, 1, 1 << 16, &l))
            return EXIT_USAGE;
        a->patch = (int)l;
        break;
    case O_EVAL_STEPS:
        if (parse_int(nm, v, 1, 1 << 20, &l))
            return EXIT_USAGE;
        a->eval_steps = (int)l;
        break;
    case O_EVAL_BASELINE:
        if (strcmp(v, "zero") && strcmp(v, "mean") && strcmp(v, "uniform")) {
            cli_error("--baseline: expected zero, mean or uniform, got '%s'", v);
            return EXIT_USAGE;
        }
        a->eval_baseline = v;
        break;
    }
    return EXIT_OK;
}

static void defaults(cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->pixel_range = 1;
    a->top = 5;
    a->epsilon = 1e-6f;
    a->stabilizer = 1e-6f;
    a->gamma = 0.25f;
    a->beta_smooth = 10.0f;
    a->steps = 20;
    a->samples = 20;
    a->noise_level = 0.1f;
    a->level = 1.0;
    a->overlay_alpha = 0.5;
    a->shard_n = 1;
    a->patch = 8;
    a->eval_steps = 100;
}

void cli_args_free(cli_args *a)
{
    free(a->pos);
    free(a->rules);
    a->pos = NULL;
    a->rules = NULL;
}

int cli_parse(int argc, char **argv, cli_args *a)
{
    defaults(a);
    a->pos = calloc((size_t)argc + 1, sizeof(char *));
    if (!a->pos) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    int i = 0;
    /* global options before the command: --help, --version */
    if (argc == 0) {
        a->command = CMD_HELP;
        return EXIT_OK;
    }
    if (!strcmp(argv[0], "--version") || !strcmp(argv[0], "-V")) {
        a->command = CMD_VERSION;
        return EXIT_OK;
    }
    if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        a->command = CMD_HELP;
        return EXIT_OK;
    }
    a->command = find_command(argv[0]);
    if (a->command == CMD_NONE) {
        cli_error("unknown command '%s' (try 'lrp --help')", argv[0]);
        return EXIT_USAGE;
    }
    i = 1;
    bool only_pos = false;
    for (; i < argc; i++) {
        char *s = argv[i];
        if (only_pos || s[0] != '-' || !strcmp(s, "-")) {
            a->pos[a->n_pos++] = s;
            continue;
        }
        if (!strcmp(s, "--")) {
            only_pos = true;
            continue;
        }
        const option_def *o;
        const char *val = NULL;
        if (s[1] == '-') {
            const char *name = s + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(name, len, a->command);
            if (!o) {
                cli_error("%s: unknown option '--%.*s' (try 'lrp %s --help')", commands[a->command].name, (int)len,
                          name, commands[a->command].name);
                return EXIT_USAGE;
            }
            if (eq) {
                if (o->kind == ARG_NONE) {
                    cli_error("--%s takes no value", o->name);
                    return EXIT_USAGE;
                }
                val = eq + 1;
            }
        } else {
            o = find_short(s[1]);
            if (!o) {
                cli_error("%s: unknown option '-%c' (try 'lrp %s --help')", commands[a->command].name, s[1],
                          commands[a->command].name);
                return EXIT_USAGE;
            }
            if (s[2]) {
                if (o->kind == ARG_NONE) {
                    cli_error("-%c takes no value", s[1]);
                    return EXIT_USAGE;
                }
                val = s + 2;
            }
        }
        if (!(o->commands & CMDBIT(a->command))) {
            cli_error("%s: option --%s does not apply to this command", commands[a->command].name, o->name);
            return EXIT_USAGE;
        }
        if (o->kind == ARG_REQUIRED && !val) {
            if (i + 1 >= argc) {
                cli_error("option --%s needs a value (%s)", o->name, o->arg);
                return EXIT_USAGE;
            }
            val = argv[++i];
        }
        int rc = apply(a, o, val);
        if (rc != EXIT_OK)
            return rc;
    }
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

void cli_print_command_help(FILE *f, cli_command c)
{
    if (c <= CMD_NONE || c >= CMD_COUNT) {
        cli_print_usage(f);
        return;
    }
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
        char head[96];
        int n = o->short_name ? snprintf(head, sizeof head, "  -%c, --%s", o->short_name, o->name)
                              : snprintf(head, sizeof head, "      --%s", o->name);
        if (o->kind == ARG_REQUIRED)
            n += snprintf(head + n, sizeof head - (size_t)n, " %s", o->arg);
        else if (o->kind == ARG_OPTIONAL)
            n += snprintf(head + n, sizeof head - (size_t)n, "[=%s]", o->arg);
        fputs(head, f);
        if (n < 30) {
            fprintf(f, "%*s", 30 - n, "");
            n = 30;
        } else {
            fprintf(f, "\n%30s", "");
            n = 30;
        }
        wrap(f, o->help, n, 30);
    }
}
