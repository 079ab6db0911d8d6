/* The classes explain explains: -t (numbers, labels, several), --top K and
 * -t from-dir (the input's class folder, as torchvision's ImageFolder). */
#ifndef LRP_CLI_TARGETS_H
#define LRP_CLI_TARGETS_H

#include "cli/items.h"
#include "cli/labels.h"
#include "cli/options.h"

typedef struct cli_targets {
    int n;      /* classes given with -t */
    int64_t *v; /* NULL when none */
    int top;    /* --top K; 0: off */
    bool from_dir;
} cli_targets;

/* Reads -t and --top against the labels (NULL without --labels). Returns an
 * exit code (errors printed). */
int cli_targets_parse(const cli_args *a, const cli_labels *labels, const char *labels_path, cli_targets *t);
void cli_targets_free(cli_targets *t);

/* Checks the classes against the model's count (classes < 0: unknown). */
int cli_targets_check(const cli_targets *t, int64_t classes);

/* from-dir: sets every item's target from its class folder: the first folder
 * below the directory searched (a file found in a directory argument), else
 * the folder holding the file; its index is the label of that name (a name
 * or a JSON class index's id) with --labels, else its place among the
 * folders beside it in sorted order (ImageFolder's classes). An item without
 * one gets an error. Returns an exit code (out of memory). */
int cli_targets_from_dir(const cli_args *a, cli_items *items, const cli_labels *labels, const char *labels_path);

#endif
