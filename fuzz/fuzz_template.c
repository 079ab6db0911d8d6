/* Fuzzes output path templates (cli_template_check, cli_template_expand).
 * Input: the template, then after a newline the item's path; the byte after
 * a second newline (if any) sets the item index and output buffer size. The
 * buffer is allocated at its exact size so that overruns are caught. */
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
    char *s = fuzz_strdup(data, size);
    char *path = strchr(s, '\n');
    unsigned extra = 0;
    if (path) {
        *path++ = '\0';
        char *tail = strchr(path, '\n');
        if (tail) {
            *tail = '\0';
            extra = (unsigned char)tail[1];
        }
    } else {
        path = "images/cat.png";
    }
    if (cli_template_check("-o", s) >= 0) {
        cli_item item = {.path = path, .target = -1, .index = (int)(extra * 977u)};
        cli_fields f = {.item = &item, .method = "epsilon-plus-flat", .target = extra & 1 ? 281 : -1};
        size_t sizes[2] = {4096, 1 + extra % 64};
        for (int i = 0; i < 2; i++) {
            char *out = malloc(sizes[i]);
            if (!out)
                abort();
            lrp_error err = {0};
            if (cli_template_expand(s, &f, out, sizes[i], &err) == LRP_OK) {
                if (strlen(out) >= sizes[i])
                    fuzz_fail("expanded path overruns its buffer");
            } else {
                fuzz_check_message(err.message);
            }
            free(out);
        }
    }
    free(s);
    return 0;
}
