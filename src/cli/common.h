/* Pieces shared by the subcommands. */
#ifndef LRP_CLI_COMMON_H
#define LRP_CLI_COMMON_H

#include "lrp.h"
#include "cli/options.h"

/* The commands (main.c), as built in float32 and, for --double, in float64:
 * the same function from the second build of the source (see the Makefile). */
int cli_main(int argc, char **argv);
int cli_main_f64(int argc, char **argv);

/* Each subcommand: returns the exit status. */
int cmd_predict(cli_args *a);
int cmd_explain(cli_args *a);
int cmd_inspect(cli_args *a);
int cmd_preprocess(cli_args *a);
int cmd_render(cli_args *a);
int cmd_compare(cli_args *a);
int cmd_eval(cli_args *a);
/* lrp eval --sensitivity (cmd_eval_sensitivity.c) */
int cmd_eval_sensitivity(cli_args *a);
int cmd_attack(cli_args *a);
int cmd_concepts(cli_args *a);
int cmd_eval_mask(cli_args *a); /* eval --mask (cmd_eval_mask.c) */
/* A map (1, H, W) or (1, 1, H, W) at the input's size (grad-cam's) as a
 * relevance shaped like the input x (1, C, H, W): the map in every channel
 * (cmd_eval_mask.c). Anything else is left as it is. */
lrp_status cli_spread_map(lrp_tensor **rel, const lrp_tensor *x, bool nhwc, lrp_error *err);

/* Loads the model named by a->pos[0] for a command (prints the error).
 * canonize: the zennit canonizers (explain); predict only strips Softmax. */
lrp_model *cli_load_model(const cli_args *a, bool canonize, bool allow_unsupported, int *rc);

/* Exit status for a failed item or output. */
int cli_item_exit(lrp_status st);

/* A failed item of an eval run: its JSON error object (--json), one line on
 * stderr (the progress line cleared first), and one more in *failed, or in
 * *internal for an internal error. */
struct progress;
struct cli_item;
/* "PATH: MESSAGE" on stderr, or MESSAGE alone when it already starts with "PATH:". */
void cli_error_at(const char *path, const char *message);
void cli_item_failed(const cli_args *a, struct progress *prog, const struct cli_item *it, lrp_status st,
                     const lrp_error *err, int *failed, int *internal);

/* Checks the one output of a command that reads the given files (NULL
 * ends the list): refused (exit 2, printed) when it is one of them or a
 * directory. Returns an exit code. */
int cli_check_single_output(const char *opt, const char *out, const char *const *inputs);

/* Requires n positional arguments at least (and at most max, -1 = any). */
int cli_need_args(const cli_args *a, int min, int max, const char *what);

#endif
