/* matplotlib's colour maps as built-ins: lookup of the generated tables. */
#include "render/cmap_mpl.h"

#include <string.h>

int lrp_cmap_mpl_count(void) { return lrp_mpl_cmap_count; }

const char *lrp_cmap_mpl_name(int i) { return i >= 0 && i < lrp_mpl_cmap_count ? lrp_mpl_cmaps[i].name : NULL; }

static int hex_digit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

int lrp_cmap_mpl_table(const char *name, uint8_t table[256][3])
{
    if (!name)
        return -1;
    if (!strncmp(name, "mpl:", 4))
        name += 4;
    for (int i = 0; i < lrp_mpl_cmap_count; i++) {
        if (strcmp(name, lrp_mpl_cmaps[i].name))
            continue;
        const char *p = lrp_mpl_cmaps[i].rgb;
        for (int k = 0; k < 256; k++)
            for (int ch = 0; ch < 3; ch++, p += 2)
                table[k][ch] = (uint8_t)(hex_digit(p[0]) * 16 + hex_digit(p[1]));
        return 0;
    }
    return -1;
}
