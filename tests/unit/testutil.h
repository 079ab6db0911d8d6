/* Shared helpers for the cmocka test programs. */
#ifndef LRP_TESTUTIL_H
#define LRP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lrp.h"

/* Directory of the shared reference material (../shared next to the repo, or
 * $LRP_SHARED); NULL when it is absent, in which case tests that need it skip
 * with a message. */
const char *tu_shared_dir(void);

/* A file under testdata/, found from the repository root (or from a build
 * directory two levels down). */
const char *tu_testdata(const char *rel);

/* Joins into a static rotating buffer: tu_path("a", "b") -> "a/b". */
const char *tu_path(const char *dir, const char *rel);

/* Prints "SKIP: why" and calls cmocka's skip(). */
#define TU_SKIP(...)                                                                                                  \
    do {                                                                                                              \
        print_message("SKIP: ");                                                                                      \
        print_message(__VA_ARGS__);                                                                                   \
        print_message("\n");                                                                                          \
        skip();                                                                                                       \
    } while (0)

/* ||a-b||_2 / ||b||_2 over n floats (double accumulation). */
double tu_rel_l2(const lrp_real *a, const lrp_real *b, size_t n);

/* Largest |a-b|. */
double tu_max_abs_diff(const lrp_real *a, const lrp_real *b, size_t n);

/* Reads a whole file; NULL if missing. */
unsigned char *tu_read_file(const char *path, size_t *len);

/* Writes len bytes to a fresh temporary file and returns its path (static buffer). */
const char *tu_temp_file(const void *data, size_t len, const char *suffix);

#endif
