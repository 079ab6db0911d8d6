/* Internal helpers for filling an lrp_error. */
#ifndef LRP_ERROR_H
#define LRP_ERROR_H

#include "lrp.h"

#if defined(__GNUC__)
#define LRP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LRP_PRINTF(a, b)
#endif

/* Sets err (if not NULL) and returns status, so callers can write
 * `return lrp_fail(err, LRP_ERR_FORMAT, "...", ...);`. */
lrp_status lrp_fail(lrp_error *err, lrp_status status, const char *fmt, ...) LRP_PRINTF(3, 4);

/* Prefixes the message already in err with "prefix: ". */
void lrp_error_prefix(lrp_error *err, const char *fmt, ...) LRP_PRINTF(2, 3);

void lrp_error_clear(lrp_error *err);

#endif
