/* Image input for the library's sources. The API (decoding, resizing,
 * preprocessing) is public: include/lrp_image.h. */
#ifndef LRP_SRC_IMAGE_H
#define LRP_SRC_IMAGE_H

#include "lrp_image.h"

#endif
