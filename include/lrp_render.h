/*
 * lrp: heatmap rendering, part of liblrp's public C interface (with lrp.h):
 * 8-bit rasters and PNG files, zennit's colour maps, and zennit's heatmaps
 * (channel sum, normalization, palette, grids, scaling, overlays).
 */
#ifndef LRP_RENDER_H
#define LRP_RENDER_H

#include "lrp.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------- rasters and PNG files */

/*
 * 8-bit rasters and PNG files (libpng).
 *
 * Writing is deterministic: identical inputs give byte-identical files (no
 * tIME, text, gamma or other optional chunks; zlib level 9, default strategy,
 * fixed filters: none for palette images, all five adaptive filters for RGB).
 * Files go to the exact path given (the caller handles temp-file + rename).
 * All libpng errors are caught and reported as one line naming the file;
 * libpng never prints to stderr.
 */

/* A row-major 8-bit image: pixel (x, y) channel k is data[(y*width + x)*channels + k].
 * channels is 1 (palette indices or gray) or 3 (RGB). */
typedef struct lrp_raster {
    int width, height, channels;
    uint8_t *data;
} lrp_raster;

/* Largest raster accepted, in pixels (width*height). */
#define LRP_RASTER_MAX_PIXELS ((int64_t)1 << 28)

/* Zero-filled raster; refuses non-positive sizes, channels other than 1 or 3,
 * and more than LRP_RASTER_MAX_PIXELS. */
LRP_API lrp_raster *lrp_raster_new(int width, int height, int channels, lrp_error *err);
LRP_API void lrp_raster_free(lrp_raster *r);

/* Colour type 3 (palette), bit depth 8, a 256-entry PLTE from pal, one byte per
 * pixel (indices must have 1 channel). */
LRP_API lrp_status lrp_png_write_palette(const char *path, const lrp_raster *indices, const uint8_t pal[256][3],
                                         lrp_error *err);

/* Colour type 2 (RGB), bit depth 8 (rgb must have 3 channels). */
LRP_API lrp_status lrp_png_write_rgb(const char *path, const lrp_raster *rgb, lrp_error *err);

/* Any PNG, decoded to 8-bit RGB: palette resolved, gray expanded to RGB, 16-bit
 * reduced to 8 (high byte), alpha and tRNS dropped (not composited), gamma
 * ignored, interlacing undone. */
LRP_API lrp_status lrp_png_read_rgb(const char *path, lrp_raster **out, lrp_error *err);

/* ------------------------------------------------------------- colour maps */

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

/* Most nodes a compiled map may have (including the extra nodes at 0 and 256). */
#define LRP_CMAP_MAX_NODES 1024

typedef struct lrp_cmap {
    int n;                                /* number of nodes, >= 3 */
    int index[LRP_CMAP_MAX_NODES];        /* ascending, index[0] == 0, index[n-1] == 256 */
    uint8_t color[LRP_CMAP_MAX_NODES][3]; /* RGB of each node */
} lrp_cmap;

/* Number of built-in maps and their names, in zennit's CMAPS order:
 * gray, wred, wblue, hot, cold, coldnhot, bwr, france, seismic, coolio, coleus. */
LRP_API int lrp_cmap_builtin_count(void);
/* Name of built-in map i (NULL when out of range). */
LRP_API const char *lrp_cmap_builtin_name(int i);
/* CMSL source of the built-in map called name, or NULL if there is none. */
LRP_API const char *lrp_cmap_builtin_source(const char *name);

/*
 * matplotlib's colour maps (viridis, plasma, inferno, magma, cividis, turbo,
 * RdBu, coolwarm, jet, Reds, Blues, Greys, ..., each also reversed as NAME_r):
 * their exact 256-entry tables, cmap(np.linspace(0, 1, 256), bytes=True) of
 * matplotlib 3.6 (tools/gen-mpl-cmaps.py). Where zennit has a map of the same
 * name (gray, bwr, seismic, hot) the name means zennit's; "mpl:NAME" always
 * means matplotlib's. A table compiles to a map with a node at each of the 256
 * indices, so palette(1) is the table itself and other levels interpolate
 * between its entries. Quantization stays zennit's: value v takes entry
 * trunc(255 v), where matplotlib's imshow would take int(256 v) (clipped to
 * 255); the two differ by at most one entry.
 */
LRP_API int lrp_cmap_mpl_count(void);
/* Name of matplotlib map i (NULL when out of range). */
LRP_API const char *lrp_cmap_mpl_name(int i);
/* The table of matplotlib's map name (with or without "mpl:"); 0, or -1 if there is none. */
LRP_API int lrp_cmap_mpl_table(const char *name, uint8_t table[256][3]);

/* Compiles a built-in name (exact, case-sensitive, as zennit), "mpl:NAME" or a
 * matplotlib name that zennit does not have, or else a CMSL
 * string. On failure *out is left unspecified and err holds one line such as
 *   invalid colour map "ff:": expected a colour after "ff:" at position 4 (end of input)
 * Positions are 1-based character offsets into the string. Status LRP_ERR_ARG. */
LRP_API lrp_status lrp_cmap_parse(const char *name_or_cmsl, lrp_cmap *out, lrp_error *err);

/* Colour at x in [0, 1] (clipped), as zennit's ColorMap.__call__: rgb in [0, 1], float64. */
LRP_API void lrp_cmap_eval(const lrp_cmap *c, double x, double rgb[3]);

/* zennit's ColorMap.palette(level): for i in 0..255,
 *   x = linspace(-1, 1, 256)[i] * level,  x = clip((x + 1)/2, 0, 1),
 *   pal[i] = uint8(clip(round(255*cmap(x), 12), 0, 255))   (truncation),
 * all in float64. level 1 is the plain table; > 1 saturates, < 1 compresses. */
LRP_API void lrp_cmap_palette(const lrp_cmap *c, double level, uint8_t pal[256][3]);

/* Convenience: palette of a name or CMSL string. */
LRP_API lrp_status lrp_palette_for(const char *name_or_cmsl, double level, uint8_t pal[256][3], lrp_error *err);

/* ---------------------------------------------------------------- heatmaps */

/*
 * Heatmap rendering as zennit does it (zennit/image.py imgify and gridify,
 * share/example/feed_forward.py).
 *
 * Pipeline: relevance -> channel sum (float32) -> per-sample normalization to
 * [0, 1] (float32) -> palette index u8 = trunc(clip(v*255, 0, 255)) -> palette
 * (a colour map, above) -> PNG (lrp_png_write_palette). Optionally several
 * samples go into one grid, the heatmap is scaled to another size, or blended
 * over the input image.
 *
 * Arithmetic (all float32, one IEEE rounding per operation, as NumPy 1.24
 * does on float32 arrays; this reproduces every PNG of refset/heatmaps):
 *  - channel sum: sequential in channel order, ((c0 + c1) + c2) ...
 *  - LRP_NORM_SYMMETRIC  a = max|R|; v = (R - (-a)) / (a - (-a))
 *    (imgify symmetric=True; feed_forward's (R + a)/2/a is the same number,
 *    since halving and doubling are exact, except for subnormal or overflowing
 *    a, where we follow imgify)
 *  - LRP_NORM_ABSOLUTE   v = |R| / max|R|  (feed_forward "absolute"; its later
 *    imsave(vmin=0., vmax=1.) step is an exact identity)
 *  - LRP_NORM_UNALIGNED  v = (R - min) / (max - min)  (imgify symmetric=False)
 *  - LRP_NORM_RANGE      user bounds, NumPy 1.x semantics (what the refset's
 *    NumPy 1.24 does): v = (R - float(vmin)) / float(vmax - vmin), the
 *    difference taken in double and rounded once to float. (NumPy >= 2 would
 *    compute in double instead; the results can differ by 1 at integer
 *    boundaries.)
 *  - then u8 = trunc(clip(float(v * 255), 0, 255)): 1.0 -> 255, 0.5 -> 127.
 * Bounds are taken per sample over all its pixels; a NaN anywhere in a sample
 * makes its bounds NaN (NumPy's max/min propagate NaN).
 *
 * Degenerate maps: an all-zero map (symmetric or absolute), a constant map
 * (unaligned) or vmin == vmax gives 0/0 = NaN, as in zennit. Any NaN
 * normalized value renders as index 0, which is what zennit produces
 * (NumPy 1.24 on x86-64 turns NaN into uint8 0); in C this is an explicit
 * test, never an undefined float-to-int conversion. So an all-zero relevance
 * is drawn entirely in the palette's first colour.
 */

typedef enum lrp_heatmap_norm {
    LRP_NORM_SYMMETRIC = 0, /* bounds -max|R| .. max|R|: relevance 0 -> index 127 */
    LRP_NORM_ABSOLUTE,      /* |R| / max|R| */
    LRP_NORM_UNALIGNED,     /* bounds min .. max */
    LRP_NORM_RANGE          /* bounds opts.vmin .. opts.vmax */
} lrp_heatmap_norm;

/* Which part of the (channel-summed) relevance R is drawn: D = R, max(R, 0),
 * min(R, 0) or |R|. The norm then applies to D. */
typedef enum lrp_heatmap_sign {
    LRP_SIGN_ALL = 0, /* D = R (zennit) */
    LRP_SIGN_POSITIVE,
    LRP_SIGN_NEGATIVE, /* D = min(R, 0): keeps its sign (absolute norm: its magnitude) */
    LRP_SIGN_ABSOLUTE
} lrp_heatmap_sign;

typedef struct lrp_heatmap_opts {
    lrp_heatmap_norm norm;
    double vmin, vmax; /* LRP_NORM_RANGE; or one bound alone with fix_vmin / fix_vmax */
    int channels_last; /* a 4-D relevance is (N,H,W,C) rather than (N,C,H,W) */
    /* Extensions (all 0: zennit's rendering, unchanged). */
    lrp_heatmap_sign sign;
    /* Captum's outlier percentage P (0 <= P < 100; 0: none; symmetric and
     * absolute norms): the magnitude bound max|D| becomes Captum's
     * _cumulative_sum_threshold of |D| at 100 - P, i.e. the smallest |D_k| such
     * that the sum of all |D_i| <= |D_k| is at least (100 - P)% of the sum of
     * all |D_i| (sums in double). Larger values clip to the palette's ends. */
    double clip_percent;
    /* With a norm other than LRP_NORM_RANGE: vmin (vmax) replaces the norm's
     * automatic lower (upper) bound; the other stays automatic (zennit's imgify
     * with only one of vmin, vmax). */
    int fix_vmin, fix_vmax;
} lrp_heatmap_opts;

/* symmetric, vmin 0, vmax 1, channels first, sign all, no clipping. */
LRP_API void lrp_heatmap_opts_init(lrp_heatmap_opts *opts);

/* "all", "positive", "negative", "absolute" -> sign; -1 if unknown. */
LRP_API int lrp_heatmap_sign_from_name(const char *name);

/* "symmetric", "absolute", "unaligned" (and "range") -> norm; -1 if unknown. */
LRP_API int lrp_heatmap_norm_from_name(const char *name);
LRP_API const char *lrp_heatmap_norm_name(lrp_heatmap_norm norm);

/* Channel sum of a relevance tensor, float32 (N,H,W):
 *   4-D (N,C,H,W), or (N,H,W,C) with channels_last: summed over C in order;
 *   3-D (N,H,W): already one map per sample, copied;
 *   2-D (H,W): one sample. */
LRP_API lrp_status lrp_heatmap_channel_sum(const lrp_tensor *relevance, int channels_last, lrp_tensor **out,
                                           lrp_error *err);

/* Normalizes one map of count values (one sample) and quantizes it to palette
 * indices, as described above. */
LRP_API void lrp_heatmap_quantize(const lrp_real *map, size_t count, const lrp_heatmap_opts *opts, uint8_t *indices);

/* The palette index value would get under the colour scale of this map (its
 * bounds as lrp_heatmap_quantize takes them). */
LRP_API uint8_t lrp_heatmap_index_of(const lrp_real *map, size_t count, const lrp_heatmap_opts *opts, lrp_real value);

/* Per-pixel weights for an overlay whose opacity follows the relevance:
 * w = round(255 * min(1, |D| / s)), s the larger magnitude of the colour
 * scale's two bounds as quantization takes them (max|D|, or the clip
 * threshold, or a given bound); NaN gives 0. */
LRP_API void lrp_heatmap_weights(const lrp_real *map, size_t count, const lrp_heatmap_opts *opts, uint8_t *weights);

/* The palette-index image of one sample (0 <= sample < N), H x W, 1 channel;
 * or, with sample == -1, all samples normalized separately and laid out as
 * zennit's imgify(grid=True) does (lrp_gridify with the default layout). */
LRP_API lrp_status lrp_heatmap_indices(const lrp_tensor *relevance, const lrp_heatmap_opts *opts, int sample,
                                       lrp_raster **out, lrp_error *err);

/* zennit's gridify on n tiles of height x width x channels bytes, stored one
 * after the other (tile k at tiles + k*height*width*channels, row-major,
 * channels last). grid_h, grid_w <= 0 choose zennit's default layout
 * grid_w = int(sqrt(n)), grid_h = ceil(n / grid_w). Tiles fill the grid row by
 * row; with a grid smaller than n the rest are dropped. Empty cells get
 * fill[channel], or with fill == NULL the per-channel minimum over all tiles. */
LRP_API lrp_status lrp_gridify(const uint8_t *tiles, int n, int height, int width, int channels, int grid_h,
                               int grid_w, const uint8_t *fill, lrp_raster **out, lrp_error *err);

/* The default grid layout for n tiles. */
LRP_API void lrp_grid_shape(int n, int *grid_h, int *grid_w);

/* Palette indices (1 channel) -> RGB through pal. */
LRP_API lrp_status lrp_raster_colorize(const lrp_raster *indices, const uint8_t pal[256][3], lrp_raster **rgb,
                                       lrp_error *err);

typedef enum lrp_scale_filter {
    LRP_SCALE_NEAREST = 0, /* pixel centres: source x = floor((x + 0.5)*sw/dw); keeps exact palette values */
    LRP_SCALE_BILINEAR     /* pixel centres aligned (half-pixel, clamped edges), rounded to nearest;
                              no area averaging, so meant for enlarging */
} lrp_scale_filter;

/* Scales any raster (indices or RGB) to width x height. Nearest is the right
 * choice for an index image shown at the original image size (every pixel
 * stays a palette colour); bilinear on indices also works because zennit's
 * palettes are ordered along the value axis, and is smoother. */
LRP_API lrp_status lrp_raster_scale(const lrp_raster *src, int width, int height, lrp_scale_filter filter,
                                    lrp_raster **out, lrp_error *err);

/* Blends the heatmap over an RGB image of the same size:
 *   out = round(image*(1 - alpha) + colour*alpha), alpha in [0, 1],
 * colour being pal[index] for a 1-channel heat (pal required) or the pixel
 * itself for a 3-channel heat. The image may have 1 channel (gray, expanded). */
LRP_API lrp_status lrp_heatmap_overlay(const lrp_raster *image, const lrp_raster *heat, const uint8_t pal[256][3],
                                       double alpha, lrp_raster **out, lrp_error *err);

/* ------------------------------------------------------------ compositing */

/* The image's channel mean round((R + G + B)/3) as a gray RGB raster (Captum's
 * blended_heat_map underlay, np.mean over the channels; without matplotlib's
 * min-max stretch of it). */
LRP_API lrp_status lrp_raster_gray_mean(const lrp_raster *image, lrp_raster **out, lrp_error *err);

/* out = round(underlay*(1 - a) + colour*a) per pixel, a = alpha, or with
 * weights (1 channel, same size) a = alpha*w/255. colour: pal[index] for a
 * 1-channel heat, else its RGB. Without weights this is lrp_heatmap_overlay. */
LRP_API lrp_status lrp_heatmap_blend(const lrp_raster *underlay, const lrp_raster *heat, const uint8_t pal[256][3],
                                     const lrp_raster *weights, double alpha, lrp_raster **out, lrp_error *err);

/* left | right in one RGB raster (equal heights; 1-channel rasters through pal,
 * or as gray with pal NULL). */
LRP_API lrp_status lrp_raster_side_by_side(const lrp_raster *left, const lrp_raster *right, const uint8_t pal[256][3],
                                           lrp_raster **out, lrp_error *err);

/* A colour bar at the right of a heatmap of height H: a white gap of
 * max(2, H/32) columns, then max(4, H/16) columns where row y has
 * pal[lrp_colorbar_index(y, H)] = round((H-1-y)*255/(H-1)) (top 255, bottom
 * 0; 255 for H = 1). The result is RGB (1-channel heat through pal). */
LRP_API lrp_status lrp_raster_colorbar(const lrp_raster *heat, const uint8_t pal[256][3], lrp_raster **out,
                                       lrp_error *err);
LRP_API void lrp_colorbar_size(int height, int *gap, int *bar);
LRP_API int lrp_colorbar_index(int y, int height);

#ifdef __cplusplus
}
#endif

#endif /* LRP_RENDER_H */
