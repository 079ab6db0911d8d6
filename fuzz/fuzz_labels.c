/* Fuzzes --labels files (cli_labels_read) via a scratch file: class names one
 * per line, or a JSON class index ({"0": ["n01440764", "tench"], ...},
 * {"0": "tench"}, ["tench", ...]). Every accepted file has its classes 0..n-1
 * each named once; a refused one gets one clean message. */
#include "fuzz_util.h"

#include "cli/labels.h"
#include "cli/options.h"

#include <stdarg.h>

static char last_message[1024];

/* The CLI's error printer (src/cli/options.c): kept for the checks. */
void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch(data, size, ".txt");
    cli_labels l;
    last_message[0] = '\0';
    if (cli_labels_read(path, &l) == EXIT_OK) {
        if (l.n <= 0 || !l.name)
            fuzz_fail("labels accepted without classes");
        for (int i = 0; i < l.n; i++)
            if (!l.name[i])
                fuzz_fail("a class without a name");
        int64_t a = -1, b = -1;
        (void)cli_labels_find(&l, l.name[0], &a, &b);
        cli_labels_free(&l);
    } else {
        fuzz_check_message(last_message);
    }
    return 0;
}
