/* The items of a batch run: gathering them from arguments, directories and
 * lists; loading each into a model input; output file templates written
 * atomically. */
#ifndef LRP_CLI_ITEMS_H
#define LRP_CLI_ITEMS_H

#include "lrp.h"
#include "cli/options.h"

#include "lrp_image.h"

typedef struct cli_item {
    char *path;
    int64_t target; /* from a --list line; -1 if none */
    int index;      /* position in the whole list, before --shard */
    char *error;    /* set when the item is bad before loading (e.g. a list line) */
    bool found;     /* found by searching a directory (not named by an argument or a list) */
    int root_arg;   /* found: the index in pos of the directory searched */
} cli_item;

typedef struct cli_items {
    cli_item *v;
    int n, cap;
} cli_items;

/* The output templates of a run, to leave its own outputs of an earlier run
 * out of a directory search. */
typedef struct cli_own_outputs {
    int n;
    const char *tmpl[2];
    const char *method; /* {method} */
    int64_t target;     /* -t, or -1 */
} cli_own_outputs;

/* Collects items from a->pos[first..] (files or directories, searched
 * recursively for .png/.jpg/.jpeg/.npy files in sorted order) and --list, then
 * keeps this --shard's share. A file found in a directory is left out when
 * it is what one of own's templates gives for another item ({index}, and
 * {target} where unknown, standing for any number), unless
 * --include-outputs. Returns an exit code. */
int cli_gather_items(const cli_args *a, int first, const cli_own_outputs *own, cli_items *out);
void cli_items_free(cli_items *items);

/* The preprocessing the command line asks for, for a model. */
int cli_preprocess_config(const cli_args *a, const lrp_model_info *info, lrp_preprocess *p);

/* An input, from a .npy (taken as is) or an image (preprocessed). When view is
 * not NULL and the input is an image, *view receives the cropped RGB image the
 * model saw and *orig (if not NULL) the decoded original. */
lrp_status cli_load_input(const char *path, const lrp_preprocess *p, const lrp_model_info *info, lrp_tensor **x,
                          lrp_image *view, lrp_image *orig, lrp_error *err);

/* The default ZBox bounds: what pixel values 0 and 1 become after the
 * normalization, per channel in model channel order. */
int cli_default_bounds(const lrp_preprocess *p, lrp_real *low, lrp_real *high);

/* Output paths --------------------------------------------------------- */

#define CLI_TARGET_WILD (-2) /* {target} not known yet: expands to CLI_WILD */

typedef struct cli_fields {
    const cli_item *item;
    const char *method;
    int64_t target;    /* -1 unknown (expands as -1), CLI_TARGET_WILD */
    bool wild_index;   /* {index} expands to CLI_WILD */
    int64_t rank;      /* {rank}: 1 for the largest logit; 0 not known yet (CLI_WILD) */
    const char *label; /* {label}: the target's class name; NULL not known yet (CLI_WILD_LABEL) */
} cli_fields;

/* A label as a file name: every byte but letters, digits, '-', '.', '_',
 * and those of UTF-8 characters becomes '_' (and a leading '.' too). */
void cli_label_filename(const char *label, char *out, size_t size);

/* The widest {index:N}. */
#define CLI_INDEX_WIDTH_MAX 64

/* Checks a template's fields; returns 1 if it contains any field. Prints a
 * usage error and returns -1 on a bad field. */
int cli_template_check(const char *opt, const char *tmpl);
/* Whether a template contains {target}. */
bool cli_template_has_target(const char *tmpl);
/* Whether a template contains the field ("{rank}", "{label}"). */
bool cli_template_has(const char *tmpl, const char *field);
/* Expands {stem} {name} {dir} {index} {index:N} {target} {method} {rank} {label}. */
lrp_status cli_template_expand(const char *tmpl, const cli_fields *f, char *out, size_t size, lrp_error *err);

/* Writes an output with write(), which writes a whole file at the path it is
 * given:
 *  - standard output ("-", /dev/stdout, /dev/fd/N): a temporary file copied
 *    to that descriptor;
 *  - an existing file that is not regular (FIFO, character device): a
 *    temporary file copied into it (open + write), so that it stays what it is;
 *  - otherwise atomically: a temporary file in the destination's directory
 *    (created as needed) renamed into place (over the target of a symbolic
 *    link, which stays a link).
 * An interrupted run (SIGINT/SIGTERM) removes the temporary file. */
typedef lrp_status (*cli_writer)(const char *tmp_path, void *ctx, lrp_error *err);
lrp_status cli_write_output(const char *path, cli_writer write, void *ctx, lrp_error *err);
void cli_install_signal_cleanup(void);

/* An existing regular file (what --skip-existing counts as done). */
bool cli_file_exists(const char *path);

#endif
