/* Rasters and PNG files for the library's sources. The API is public:
 * include/lrp_render.h. */
#ifndef LRP_PNG_IO_H
#define LRP_PNG_IO_H

#include "lrp_render.h"

#endif
