/* Filling an lrp_error: lrp_fail, lrp_error_prefix and lrp_error_clear are
 * public API, declared in lrp.h (with LRP_PRINTF). */
#ifndef LRP_ERROR_H
#define LRP_ERROR_H

#include "lrp.h"

#endif
