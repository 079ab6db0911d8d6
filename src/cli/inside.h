/* The command line's side of relevance inside the network: --relevance-at
 * NODE=FILE and --condition NODE:CH[,CH...] parsed into the library's
 * lrp_inside_options (explain, concepts). */
#ifndef LRP_CLI_INSIDE_H
#define LRP_CLI_INSIDE_H

#include "lrp.h"
#include "cli/items.h"
#include "cli/options.h"

typedef struct cli_inside {
    int n_records;
    char **nodes;       /* --relevance-at's nodes */
    const char **files; /* and their templates (into argv) */
    int n_conditions;
    lrp_condition *conds;
    char **cond_nodes;
    int64_t **channels;
} cli_inside;

/* Parses a's --relevance-at and --condition (errors printed). Returns an exit code. */
int cli_inside_parse(const cli_args *a, cli_inside *in);
void cli_inside_free(cli_inside *in);
/* With several inputs every --relevance-at file must be a template (printed). Returns an exit code. */
int cli_inside_check_count(const cli_inside *in, int n_items);

/* The library's options: the records, then the conditions (extra: more
 * records first, e.g. concepts' layer; may be NULL). */
void cli_inside_options(const cli_inside *in, const cli_args *a, lrp_inside_options *o);

/* Writes what the last call recorded at record i + first to the expanded templates. */
lrp_status cli_inside_write(const cli_inside *in, const lrp_explainer *e, int first, const cli_fields *f,
                            lrp_error *err);

/* "CH[,CH...]" (channel numbers from 0) into a fresh array: the count, -1
 * out of memory, -2 not such a list (nothing printed). */
int cli_channel_list(const char *s, int64_t **out);

#endif
