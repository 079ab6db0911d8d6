/* Command-line options: declared once, in one table that both the parser and
 * the help text use. */
#ifndef LRP_CLI_OPTIONS_H
#define LRP_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lrp.h"

/* Exit codes (documented in lrp(1)). */
enum {
    EXIT_OK = 0,
    EXIT_DIFFER = 1,   /* compare: the files differ beyond the tolerance */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_MODEL = 3,    /* the model cannot be loaded or run */
    EXIT_INPUT = 4,    /* one or more inputs failed (the others were processed) */
    EXIT_OUTPUT = 5,   /* an output could not be written */
    EXIT_INTERNAL = 70 /* out of memory or an internal error */
};

typedef enum {
    CMD_NONE = 0,
    CMD_EXPLAIN,
    CMD_PREDICT,
    CMD_INSPECT,
    CMD_PREPROCESS,
    CMD_RENDER,
    CMD_COMPARE,
    CMD_EVAL,
    CMD_ATTACK,
    CMD_CONCEPTS,
    CMD_HELP,
    CMD_VERSION,
    CMD_COUNT
} cli_command;

#define CMDBIT(c) (1u << (c))

/* A repeatable option's values (pointers into argv). */
typedef struct cli_list {
    int n;
    const char **v;
} cli_list;

/* Heatmap rendering (explain, render). */
typedef struct cli_heat_args {
    const char *cmap; /* NULL: by the method (coldnhot for LRP composites, hot otherwise) */
    double level;
    const char *norm; /* NULL: by the method */
    bool has_vmin, has_vmax;
    double vmin, vmax;
    bool overlay;
    double overlay_alpha;
    const char *size;
    bool grid;
    /* issue 12: sign, clipping, underlay, alpha, side by side, colour bar */
    const char *sign; /* NULL: all */
    double clip;      /* --clip-percentile, 0: none */
    int underlay;     /* 0 color, 1 gray, 2 none */
    int alpha_mode;   /* 0 constant, 1 relevance */
    bool has_underlay, has_alpha;
    bool side_by_side;
    bool colorbar;
} cli_heat_args;

/* Every option lands in one field of this struct (the table in options.c
 * says which). The library's option structs are held whole: their defaults
 * are the library's own. */
typedef struct cli_args {
    cli_command command;
    int n_pos;
    char **pos; /* positional arguments (pointers into argv) */

    bool help, quiet, json;
    int threads;

    /* model and input */
    bool no_canonize;
    bool fast;
    bool openblas;
    bool double_precision; /* --double: run in the float64 build */
    bool zero_biases;
    const char *resize; /* N, "none", "exact" */
    int n_mean, n_std;
    lrp_real mean[3], std[3];
    bool bgr;
    int pixel_range; /* 1 or 255 */
    bool has_pixel_range;
    bool write_metadata; /* preprocess --write-metadata */
    const char *layout;

    /* predict */
    int top;
    const char *labels;

    /* explain: the explainer's options (composite, epsilon, stabilizer, gamma,
     * beta_smooth, zero_bias) and what the command line adds to them */
    lrp_explain_options explain;
    bool has_composite; /* --composite given */
    cli_list rules;     /* --rule */
    const char *low, *high;
    bool has_target;
    int64_t target;
    bool seed_logit;
    bool check;
    /* explain's targets: every -t value as given (CLASS, LABEL, a,b,c or
     * from-dir; eval keeps one CLASS in target), --top K (0: off), and
     * --input-size HxW (0: the model's) */
    cli_list targets;
    int explain_top;
    int input_h, input_w;
    int exif_apply; /* --exif-orientation apply */

    /* attributors: the library's options (steps, samples, noise_level, seed,
     * window, stride, occlude_window) and the files and name around them */
    lrp_attributor_options attr;
    const char *attributor;
    const char *baseline;
    const char *fill;

    /* outputs and batches */
    const char *out;
    const char *relevance_out;
    const char *relevance_grad, *relevance_grad_out; /* --relevance-grad, --relevance-grad-out */
    bool zennit_second_order;
    /* attack */
    const char *target_explanation, *target_image, *tensor_out, *heatmap_out;
    int attack_steps, log_every;
    double lr, explanation_weight, output_weight;
    bool beta_growth;
    const char *list;
    bool skip_existing;
    bool include_outputs;
    int64_t shard_k, shard_n;
    int batch; /* --batch: inputs per engine pass (0: chosen by memory) */

    cli_heat_args heat;

    /* compare */
    bool has_tolerance;
    double tolerance;

    /* eval: the library's options (patch, steps, baseline; seed from --seed) */
    lrp_perturb_options perturb;
    const char *order;
    /* eval --sensitivity */
    bool sensitivity;
    double radius;
    int perturbations;

    /* inside the network (explain, concepts): --relevance-at, --condition,
     * --with-parallel; concepts' --layer and --top */
    cli_list relevance_at;
    cli_list conditions;
    bool with_parallel;
    const char *concept_layer;
    int concept_top;
    /* concepts --reference-images (cmd_concepts_refs.c) */
    const char *reference_images;
    int reference_mode; /* 0 relevance, 1 activation */
    int reference_max;  /* 0 sum, 1 max */
    int reference_top;
    const char *channels;
    bool has_reference_opts; /* any of --reference-mode, --reference-max, --reference-top */

    /* eval --mask: localisation metrics and the RRR penalty (cmd_eval_mask.c) */
    const char *mask;
    const char *mask_attribution;
    bool mask_abs, mask_no_model;
    int64_t mask_top_k;
    cli_list fail_below;
} cli_args;

/* Parses argv (after the program name). Returns EXIT_OK or EXIT_USAGE (after
 * printing one line to stderr). */
int cli_parse(int argc, char **argv, cli_args *a);
void cli_args_free(cli_args *a);

/* Help texts generated from the table. */
void cli_print_usage(FILE *f);
void cli_print_command_help(FILE *f, cli_command c);
const char *cli_command_name(cli_command c);

/* words[0], words[1]... (or at(0), at(1)... when words is NULL, up to the
 * first NULL) joined by sep, the last by last, into buf. Returns buf. */
const char *cli_join(char *buf, size_t size, const char *const *words, const char *(*at)(int), const char *sep,
                     const char *last);
/* The names of the attributors (the library's), NULL past the end. */
const char *cli_attributor_at(int i);

/* "lrp: " + message on stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif
