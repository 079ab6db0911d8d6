/* Class names (--labels): a text file, one name per line, or a JSON class
 * index ({"0": ["n01440764", "tench"], ...} as torchvision and Keras ship
 * it, {"0": "tench", ...}, or ["tench", ...]). */
#ifndef LRP_CLI_LABELS_H
#define LRP_CLI_LABELS_H

#include <stdint.h>

typedef struct cli_labels {
    int n;
    char **name; /* the class names, in class order */
    char **alt;  /* another name of each class (the WordNet id of a JSON class index), or NULL */
} cli_labels;

/* Reads a labels file. Returns an exit code (the error printed). */
int cli_labels_read(const char *path, cli_labels *l);
void cli_labels_free(cli_labels *l);

/* The count must be the model's number of classes (classes < 0: unknown, no
 * check). Returns EXIT_OK or EXIT_USAGE (printed, naming both counts). */
int cli_labels_check(const cli_labels *l, const char *path, int64_t classes);

/* The class named s (a name or another name); -1 if none, -2 if several
 * (*first and *second receive two of them). */
int64_t cli_labels_find(const cli_labels *l, const char *s, int64_t *first, int64_t *second);

#endif
