/* lrp concepts --reference-images: the images of a folder that each channel of a layer matters most on. */
#ifndef LRP_CLI_CMD_CONCEPTS_REFS_H
#define LRP_CLI_CMD_CONCEPTS_REFS_H

#include "cli/attribution.h"
#include "cli/items.h"
#include "cli/options.h"

/* Ranks items (the folder's images) for each channel of a->concept_layer
 * with cm's explainer (its inside options already set, the layer recorded);
 * prints the result and writes the montages. Returns an exit code. */
int cli_concepts_references(const cli_args *a, cli_method *cm, const cli_items *items);

#endif
