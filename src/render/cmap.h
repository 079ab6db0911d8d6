/* zennit's colour maps for the library's sources. The API is public:
 * include/lrp_render.h. */
#ifndef LRP_CMAP_H
#define LRP_CMAP_H

#include "lrp_render.h"

#endif
