/* Heatmap output for explain and render: options, rendering, writing. */
#ifndef LRP_CLI_HEATMAP_OUT_H
#define LRP_CLI_HEATMAP_OUT_H

#include "lrp_render.h"
#include "lrp_image.h"
#include "cli/options.h"

typedef struct cli_heat {
    lrp_heatmap_opts opts;
    uint8_t pal[256][3];
    bool overlay;
    double alpha;
    bool size_input;
    bool channels_last;
    /* --grid: rendered tiles kept until the end */
    bool grid;
    int n_tiles, tile_w, tile_h, tile_c;
    uint8_t *tiles;
    /* issue 12 */
    int underlay; /* 0 color, 1 gray, 2 none (white) */
    bool alpha_relevance;
    bool side_by_side;
    bool colorbar;
} cli_heat;

/* Whether the options need the image the model saw (--overlay, --size input, --side-by-side). */
bool cli_heat_needs_image(const cli_heat_args *a);

/* --colorbar on a finished raster (index or RGB): *out is r itself without it. */
lrp_status cli_heat_finish(const cli_heat *h, lrp_raster *r, lrp_raster **out, lrp_error *err);

/* Sets up from the command line. lrp_method: a signed LRP composite
 * (defaults symmetric + coldnhot) rather than a gradient-type method
 * (absolute + hot). Prints errors; returns an exit code. */
int cli_heat_setup(const cli_heat_args *a, bool lrp_method, cli_heat *h);
void cli_heat_free(cli_heat *h);

/* Renders one sample (index image, or RGB with --overlay). view: the model's
 * view of the image (for --overlay); orig and pp: the original image and its
 * preprocessing (for --size input). Either may be NULL (e.g. .npy inputs). */
lrp_status cli_heat_render(const cli_heat *h, const lrp_tensor *rel, const lrp_image *view, const lrp_image *orig,
                           const lrp_preprocess *pp, lrp_raster **out, lrp_error *err);

/* Writes a rendered raster to path atomically (palette PNG for 1 channel). */
lrp_status cli_heat_write(const cli_heat *h, const char *path, const lrp_raster *r, lrp_error *err);

/* --grid: keeps a tile; cli_heat_write_grid writes the montage. */
lrp_status cli_heat_add_tile(cli_heat *h, const lrp_raster *r, lrp_error *err);
lrp_status cli_heat_write_grid(cli_heat *h, const char *path, lrp_error *err);

#endif
