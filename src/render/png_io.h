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
#ifndef LRP_PNG_IO_H
#define LRP_PNG_IO_H

#include "lrp.h"

#include <stdint.h>

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
lrp_raster *lrp_raster_new(int width, int height, int channels, lrp_error *err);
void lrp_raster_free(lrp_raster *r);

/* Colour type 3 (palette), bit depth 8, a 256-entry PLTE from pal, one byte per
 * pixel (indices must have 1 channel). */
lrp_status lrp_png_write_palette(const char *path, const lrp_raster *indices, const uint8_t pal[256][3],
                                 lrp_error *err);

/* Colour type 2 (RGB), bit depth 8 (rgb must have 3 channels). */
lrp_status lrp_png_write_rgb(const char *path, const lrp_raster *rgb, lrp_error *err);

/* Any PNG, decoded to 8-bit RGB: palette resolved, gray expanded to RGB, 16-bit
 * reduced to 8 (high byte), alpha and tRNS dropped (not composited), gamma
 * ignored, interlacing undone. */
lrp_status lrp_png_read_rgb(const char *path, lrp_raster **out, lrp_error *err);

#endif
