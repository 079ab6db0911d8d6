/* Preprocessing stored in the model's metadata_props (metadata.c). */
#ifndef LRP_CLI_METADATA_H
#define LRP_CLI_METADATA_H

#include "lrp_image.h"
#include "lrp.h"
#include "cli/options.h"

/* Sets the fields of p that the command line leaves to the model (mean, std,
 * resize, pixel range, BGR) from its metadata. Prints errors (exit 3). */
int cli_metadata_preprocess(const cli_args *a, const lrp_model_info *info, lrp_preprocess *p);
/* The metadata's lrp.layout into *layout (unchanged when absent). */
int cli_metadata_layout(const lrp_model_info *info, const char **layout);
/* lrp preprocess --write-metadata: a copy of the model with the given preprocessing stored. */
int cli_write_metadata(const cli_args *a);

#endif
