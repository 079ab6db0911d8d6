/* The EXIF Orientation tag of a JPEG file, and the turn it asks for. */
#ifndef LRP_CLI_EXIF_H
#define LRP_CLI_EXIF_H

#include "lrp_image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Orientation (1 to 8) of the first Exif APP1 segment of a JPEG held in
 * data; 0 when there is none or it is malformed (any input is safe). */
int cli_exif_orientation(const uint8_t *data, size_t size);

/* The same for a file (its first segments); 0 for a file that is not a JPEG. */
int cli_exif_orientation_file(const char *path);

/* Turns and mirrors img as orientation asks (as PIL's ImageOps.exif_transpose:
 * 6 turns it a quarter clockwise, 8 counter-clockwise, 3 a half, 2 and 4
 * mirror, 5 and 7 transpose). */
lrp_status cli_exif_apply(lrp_image *img, int orientation, lrp_error *err);

/* "turned a quarter clockwise" and the like. */
const char *cli_exif_name(int orientation);

#endif
