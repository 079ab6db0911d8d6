/* Heatmap rendering for the library's sources. The API is public:
 * include/lrp_render.h. */
#ifndef LRP_HEATMAP_H
#define LRP_HEATMAP_H

#include "lrp_render.h"

#endif
