/*
 * Colour maps as zennit defines them (zennit/cmap.py, zennit/image.py).
 *
 * A colour map is written in zennit's colour-map specification language
 * (CMSL): comma-separated colours, each 3 or 6 hex digits ("f0a" = ff00aa),
 * optionally preceded by a 1- or 2-digit hex index and a colon ("80:fff"; a
 * 1-digit index is doubled, "8" = 0x88). Whitespace between tokens is ignored
 * and a trailing comma is allowed. Compilation places the colours on nodes
 * 0..255 (zennit's _make_palette):
 *   - the first colour sits at 0 (and also at its own index, if it has one > 0);
 *   - a last colour without an index sits at 255;
 *   - colours without an index are spread evenly between the indexed nodes
 *     around them, at int(p*(1-a) + q*a) for a in linspace(0, 1, k+2)[1:-1];
 *   - indices must not decrease; at least 2 colours are required;
 *   - a terminal node (256, last colour) closes the table.
 * Values between nodes are interpolated linearly (float64).
 */
#ifndef LRP_CMAP_H
#define LRP_CMAP_H

#include "lrp.h"

#include <stdint.h>

/* Most nodes a compiled map may have (including the extra nodes at 0 and 256). */
#define LRP_CMAP_MAX_NODES 1024

typedef struct lrp_cmap {
    int n;                                   /* number of nodes, >= 3 */
    int index[LRP_CMAP_MAX_NODES];           /* ascending, index[0] == 0, index[n-1] == 256 */
    uint8_t color[LRP_CMAP_MAX_NODES][3];    /* RGB of each node */
} lrp_cmap;

/* Number of built-in maps and their names, in zennit's CMAPS order:
 * gray, wred, wblue, hot, cold, coldnhot, bwr, france, seismic, coolio, coleus. */
int lrp_cmap_builtin_count(void);
/* Name of built-in map i (NULL when out of range). */
const char *lrp_cmap_builtin_name(int i);
/* CMSL source of the built-in map called name, or NULL if there is none. */
const char *lrp_cmap_builtin_source(const char *name);

/* Compiles a built-in name (exact, case-sensitive, as zennit) or else a CMSL
 * string. On failure *out is left unspecified and err holds one line such as
 *   invalid colour map "ff:": expected a colour after "ff:" at position 4 (end of input)
 * Positions are 1-based character offsets into the string. Status LRP_ERR_ARG. */
lrp_status lrp_cmap_parse(const char *name_or_cmsl, lrp_cmap *out, lrp_error *err);

/* Colour at x in [0, 1] (clipped), as zennit's ColorMap.__call__: rgb in [0, 1], float64. */
void lrp_cmap_eval(const lrp_cmap *c, double x, double rgb[3]);

/* zennit's ColorMap.palette(level): for i in 0..255,
 *   x = linspace(-1, 1, 256)[i] * level,  x = clip((x + 1)/2, 0, 1),
 *   pal[i] = uint8(clip(round(255*cmap(x), 12), 0, 255))   (truncation),
 * all in float64. level 1 is the plain table; > 1 saturates, < 1 compresses. */
void lrp_cmap_palette(const lrp_cmap *c, double level, uint8_t pal[256][3]);

/* Convenience: palette of a name or CMSL string. */
lrp_status lrp_palette_for(const char *name_or_cmsl, double level, uint8_t pal[256][3], lrp_error *err);

#endif
