/* Fuzzes --list files (read_list, through cli_gather_items) via a scratch
 * file: one path per line, optionally a tab and a target class. */
#include "fuzz_util.h"

#include "cli/items.h"

#include <stdarg.h>

/* The CLI's error printer (src/cli/options.c), silent here. */
void cli_error(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch(data, size, ".txt");
    cli_args a;
    memset(&a, 0, sizeof a);
    a.list = path;
    a.shard_k = 0;
    a.shard_n = 1;
    cli_items items;
    if (cli_gather_items(&a, 0, NULL, &items) == EXIT_OK) {
        for (int i = 0; i < items.n; i++) {
            if (!items.v[i].path || items.v[i].index != i || items.v[i].target < -1)
                fuzz_fail("bad item (path, index or target)");
            if (items.v[i].error)
                fuzz_check_message(items.v[i].error);
        }
        cli_items_free(&items);
    }
    return 0;
}
