/* Class names (--labels): a text file, one name per line, or a JSON class
 * index ({"0": ["n01440764", "tench"], ...} as torchvision and Keras ship
 * it, {"0": "tench", ...}, or ["tench", ...]). */
#ifndef LRP_CLI_LABELS_H
#define LRP_CLI_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cli_labels {
    int n;
    char **name;     /* the class names, in class order */
    char **alt;      /* another name of each class (the WordNet id of a JSON class index), or NULL */
    bool from_model; /* the model's metadata lrp.labels, not a --labels file */
} cli_labels;

/* Reads a labels file. Returns an exit code (the error printed). */
int cli_labels_read(const char *path, cli_labels *l);
void cli_labels_free(cli_labels *l);

/* The class names of a command: --labels file (when not NULL), else the
 * model's metadata lrp.labels (one name per line, or a JSON class index),
 * else none (l->n 0). what (size bytes) receives how messages name them:
 * "--labels FILE" or "MODEL: metadata lrp.labels" ("" for none). Returns an
 * exit code (the error printed; a bad lrp.labels is the model's, EXIT_MODEL). */
int cli_labels_open(const char *file, const char *model, cli_labels *l, char *what, size_t size);

/* The count must be the model's number of classes (classes < 0: unknown, no
 * check); what names the labels as cli_labels_open does. Returns EXIT_OK, or
 * (printed, naming both counts) EXIT_USAGE for a --labels file and EXIT_MODEL
 * for the model's own. */
int cli_labels_check(const cli_labels *l, const char *what, int64_t classes);

/* The class named s (a name or another name); -1 if none, -2 if several
 * (*first and *second receive two of them). */
int64_t cli_labels_find(const cli_labels *l, const char *s, int64_t *first, int64_t *second);

#endif
