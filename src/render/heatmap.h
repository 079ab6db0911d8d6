/*
 * Heatmap rendering as zennit does it (zennit/image.py imgify and gridify,
 * share/example/feed_forward.py).
 *
 * Pipeline: relevance -> channel sum (float32) -> per-sample normalization to
 * [0, 1] (float32) -> palette index u8 = trunc(clip(v*255, 0, 255)) -> palette
 * (cmap.h) -> PNG (png_io.h). Optionally several samples go into one grid, the
 * heatmap is scaled to another size, or blended over the input image.
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
#ifndef LRP_HEATMAP_H
#define LRP_HEATMAP_H

#include "lrp.h"
#include "render/png_io.h"

#include <stddef.h>
#include <stdint.h>

typedef enum lrp_heatmap_norm {
    LRP_NORM_SYMMETRIC = 0, /* bounds -max|R| .. max|R|: relevance 0 -> index 127 */
    LRP_NORM_ABSOLUTE,      /* |R| / max|R| */
    LRP_NORM_UNALIGNED,     /* bounds min .. max */
    LRP_NORM_RANGE          /* bounds opts.vmin .. opts.vmax */
} lrp_heatmap_norm;

typedef struct lrp_heatmap_opts {
    lrp_heatmap_norm norm;
    double vmin, vmax; /* LRP_NORM_RANGE only */
    int channels_last; /* a 4-D relevance is (N,H,W,C) rather than (N,C,H,W) */
} lrp_heatmap_opts;

/* symmetric, vmin 0, vmax 1, channels first. */
void lrp_heatmap_opts_init(lrp_heatmap_opts *opts);

/* "symmetric", "absolute", "unaligned" (and "range") -> norm; -1 if unknown. */
int lrp_heatmap_norm_from_name(const char *name);
const char *lrp_heatmap_norm_name(lrp_heatmap_norm norm);

/* Channel sum of a relevance tensor, float32 (N,H,W):
 *   4-D (N,C,H,W), or (N,H,W,C) with channels_last: summed over C in order;
 *   3-D (N,H,W): already one map per sample, copied;
 *   2-D (H,W): one sample. */
lrp_status lrp_heatmap_channel_sum(const lrp_tensor *relevance, int channels_last, lrp_tensor **out,
                                   lrp_error *err);

/* Normalizes one map of count values (one sample) and quantizes it to palette
 * indices, as described above. */
void lrp_heatmap_quantize(const float *map, size_t count, const lrp_heatmap_opts *opts, uint8_t *indices);

/* The palette-index image of one sample (0 <= sample < N), H x W, 1 channel;
 * or, with sample == -1, all samples normalized separately and laid out as
 * zennit's imgify(grid=True) does (lrp_gridify with the default layout). */
lrp_status lrp_heatmap_indices(const lrp_tensor *relevance, const lrp_heatmap_opts *opts, int sample,
                               lrp_raster **out, lrp_error *err);

/* zennit's gridify on n tiles of height x width x channels bytes, stored one
 * after the other (tile k at tiles + k*height*width*channels, row-major,
 * channels last). grid_h, grid_w <= 0 choose zennit's default layout
 * grid_w = int(sqrt(n)), grid_h = ceil(n / grid_w). Tiles fill the grid row by
 * row; with a grid smaller than n the rest are dropped. Empty cells get
 * fill[channel], or with fill == NULL the per-channel minimum over all tiles. */
lrp_status lrp_gridify(const uint8_t *tiles, int n, int height, int width, int channels, int grid_h, int grid_w,
                       const uint8_t *fill, lrp_raster **out, lrp_error *err);

/* The default grid layout for n tiles. */
void lrp_grid_shape(int n, int *grid_h, int *grid_w);

/* Palette indices (1 channel) -> RGB through pal. */
lrp_status lrp_raster_colorize(const lrp_raster *indices, const uint8_t pal[256][3], lrp_raster **rgb,
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
lrp_status lrp_raster_scale(const lrp_raster *src, int width, int height, lrp_scale_filter filter,
                            lrp_raster **out, lrp_error *err);

/* Blends the heatmap over an RGB image of the same size:
 *   out = round(image*(1 - alpha) + colour*alpha), alpha in [0, 1],
 * colour being pal[index] for a 1-channel heat (pal required) or the pixel
 * itself for a 3-channel heat. The image may have 1 channel (gray, expanded). */
lrp_status lrp_heatmap_overlay(const lrp_raster *image, const lrp_raster *heat, const uint8_t pal[256][3],
                               double alpha, lrp_raster **out, lrp_error *err);

#endif
