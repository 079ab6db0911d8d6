/* Command-line options: declared once, in one table that both the parser and
 * the help text use. */
#ifndef LRP_CLI_OPTIONS_H
#define LRP_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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
    CMD_HELP,
    CMD_VERSION,
    CMD_COUNT
} cli_command;

#define CMDBIT(c) (1u << (c))

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
    const char *resize; /* N, "none", "exact" */
    int n_mean, n_std;
    float mean[3], std[3];
    bool bgr;
    int pixel_range; /* 1 or 255 */
    const char *layout;

    /* predict */
    int top;
    const char *labels;

    /* explain */
    const char *composite;
    const char *attributor;
    bool has_target;
    int64_t target;
    bool seed_logit;
    const char *out;
    const char *relevance_out;
    float epsilon, stabilizer, gamma, beta_smooth;
    const char *low, *high;
    bool no_bias;
    int n_rules;
    const char **rules;
    bool check;

    /* attributors */
    int steps, samples;
    float noise_level;
    uint64_t seed;
    bool has_seed;
    const char *baseline;
    int window, stride;
    const char *occlude;
    const char *fill;

    /* heatmaps */
    const char *cmap;
    double level;
    const char *norm;
    bool has_vmin, has_vmax;
    double vmin, vmax;
    bool overlay;
    double overlay_alpha;
    const char *size;
    bool grid;

    /* batches */
    const char *list;
    bool skip_existing;
    bool include_outputs;
    int64_t shard_k, shard_n;

    /* compare */
    bool has_tolerance;
    double tolerance;

    /* eval */
    const char *order;
    int patch;
    int eval_steps;
    const char *eval_baseline;
} cli_args;

/* Parses argv (after the program name). Returns EXIT_OK or EXIT_USAGE (after
 * printing one line to stderr). */
int cli_parse(int argc, char **argv, cli_args *a);
void cli_args_free(cli_args *a);

/* Help texts generated from the table. */
void cli_print_usage(FILE *f);
void cli_print_command_help(FILE *f, cli_command c);
const char *cli_command_name(cli_command c);

/* "lrp: " + message on stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif
