/* Fuzzes the colour-map parser (lrp_cmap_parse: built-in names and CMSL). */
#include "fuzz_util.h"

#include "render/cmap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strdup(data, size);
    lrp_cmap *c = malloc(sizeof *c);
    if (!c)
        abort();
    lrp_error err = {0};
    if (lrp_cmap_parse(s, c, &err) == LRP_OK) {
        /* the documented invariants of a compiled map */
        if (c->n < 3 || c->n > LRP_CMAP_MAX_NODES || c->index[0] != 0 || c->index[c->n - 1] != 256)
            fuzz_fail("compiled map: bad node count or end indices");
        for (int i = 1; i < c->n; i++)
            if (c->index[i] < c->index[i - 1])
                fuzz_fail("compiled map: node indices decrease");
        uint8_t pal[256][3];
        lrp_cmap_palette(c, 1.0, pal);
        lrp_cmap_palette(c, 2.5, pal);
    } else {
        fuzz_check_message(err.message);
    }
    free(c);
    free(s);
    return 0;
}
