/* Error reporting: one line of text and a status code. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *lrp_status_name(lrp_status status)
{
    switch (status) {
    case LRP_OK: return "ok";
    case LRP_ERR_IO: return "I/O error";
    case LRP_ERR_FORMAT: return "format error";
    case LRP_ERR_UNSUPPORTED: return "unsupported";
    case LRP_ERR_SHAPE: return "shape error";
    case LRP_ERR_LIMIT: return "size limit";
    case LRP_ERR_NOMEM: return "out of memory";
    case LRP_ERR_ARG: return "bad argument";
    case LRP_ERR_INTERNAL: return "internal error";
    case LRP_ERR_NUMERIC: return "non-finite result";
    }
    return "unknown error";
}

/* Keeps the message on one line: control characters become spaces. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

lrp_status lrp_fail(lrp_error *err, lrp_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        one_line(err->message);
        err->status = status;
    }
    return status;
}

void lrp_error_prefix(lrp_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[LRP_ERROR_MAX], old[LRP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->message - 3)
        n = sizeof err->message - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 3);
    size_t room = sizeof err->message - n - 3;
    size_t m = strlen(old);
    if (m > room)
        m = room;
    memcpy(err->message + n + 2, old, m);
    err->message[n + 2 + m] = '\0';
    one_line(err->message);
}

void lrp_error_clear(lrp_error *err)
{
    if (err) {
        err->status = LRP_OK;
        err->message[0] = '\0';
    }
}
