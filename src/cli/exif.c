/* EXIF orientation: a bounded walk over the JPEG markers before the first
 * scan to the first APP1 "Exif" segment, then over its TIFF header and IFD0
 * to tag 0x0112. Every offset is checked against the segment before it is
 * read: the file is untrusted (fuzz/fuzz_jpeg.c runs it). */
#include "cli/exif.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIF_READ_MAX (1 << 20) /* the markers before the first scan, read from a file */

static unsigned rd16(const uint8_t *p, bool le)
{
    return le ? p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p, bool le)
{
    return le ? p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The Orientation in a TIFF structure t of n bytes (the APP1 payload after
 * "Exif\0\0"). */
static int tiff_orientation(const uint8_t *t, size_t n)
{
    if (n < 8)
        return 0;
    bool le;
    if (t[0] == 'I' && t[1] == 'I')
        le = true;
    else if (t[0] == 'M' && t[1] == 'M')
        le = false;
    else
        return 0;
    if (rd16(t + 2, le) != 42)
        return 0;
    uint32_t ifd = rd32(t + 4, le);
    if (ifd > n - 2 || ifd < 8)
        return 0;
    unsigned count = rd16(t + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > n)
            return 0;
        if (rd16(t + e, le) != 0x0112)
            continue;
        unsigned type = rd16(t + e + 2, le);
        uint32_t cnt = rd32(t + e + 4, le);
        if (cnt < 1)
            return 0;
        /* SHORT as the standard says; SSHORT, LONG and SLONG as some writers
         * put it (PIL reads those too); the value sits in the entry itself */
        uint32_t v;
        if (type == 3 || type == 8)
            v = rd16(t + e + 8, le);
        else if (type == 4 || type == 9)
            v = rd32(t + e + 8, le);
        else
            return 0;
        return v >= 1 && v <= 8 ? (int)v : 0;
    }
    return 0;
}

int cli_exif_orientation(const uint8_t *d, size_t n)
{
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8)
        return 0;
    size_t p = 2;
    while (p + 4 <= n) {
        if (d[p] != 0xFF)
            return 0;
        uint8_t m = d[p + 1];
        if (m == 0xFF) { /* fill byte */
            p++;
            continue;
        }
        if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) { /* no length */
            p += 2;
            continue;
        }
        if (m == 0xDA || m == 0xD9) /* the scan or the end: no Exif before it */
            return 0;
        size_t len = rd16(d + p + 2, false);
        if (len < 2 || p + 2 + len > n)
            return 0;
        const uint8_t *seg = d + p + 4;
        size_t sl = len - 2;
        if (m == 0xE1 && sl >= 6 && !memcmp(seg, "Exif\0\0", 6))
            return tiff_orientation(seg + 6, sl - 6);
        p += 2 + len;
    }
    return 0;
}

int cli_exif_orientation_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint8_t head[2];
    int o = 0;
    if (fread(head, 1, 2, f) == 2 && head[0] == 0xFF && head[1] == 0xD8) {
        uint8_t *buf = malloc(EXIF_READ_MAX);
        if (buf) {
            memcpy(buf, head, 2);
            size_t n = 2 + fread(buf + 2, 1, EXIF_READ_MAX - 2, f);
            o = cli_exif_orientation(buf, n);
            free(buf);
        }
    }
    fclose(f);
    return o;
}

const char *cli_exif_name(int o)
{
    static const char *const names[9] = {"",
                                         "upright",
                                         "mirrored left to right",
                                         "turned a half",
                                         "mirrored top to bottom",
                                         "transposed",
                                         "to be turned a quarter clockwise",
                                         "transversed",
                                         "to be turned a quarter counter-clockwise"};
    return o >= 1 && o <= 8 ? names[o] : "";
}

lrp_status cli_exif_apply(lrp_image *img, int o, lrp_error *err)
{
    if (o <= 1 || o > 8)
        return LRP_OK;
    int W = img->width, H = img->height;
    bool swap = o >= 5;
    int ow = swap ? H : W, oh = swap ? W : H;
    uint8_t *out = malloc((size_t)W * (size_t)H * 3);
    if (!out)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            int ix, iy;
            switch (o) {
            case 2: ix = W - 1 - ox, iy = oy; break;
            case 3: ix = W - 1 - ox, iy = H - 1 - oy; break;
            case 4: ix = ox, iy = H - 1 - oy; break;
            case 5: ix = oy, iy = ox; break;
            case 6: ix = oy, iy = H - 1 - ox; break;
            case 7: ix = W - 1 - oy, iy = H - 1 - ox; break;
            default: ix = W - 1 - oy, iy = ox; break; /* 8 */
            }
            memcpy(out + ((size_t)oy * ow + ox) * 3, img->rgb + ((size_t)iy * W + ix) * 3, 3);
        }
    free(img->rgb);
    img->rgb = out;
    img->width = ow;
    img->height = oh;
    return LRP_OK;
}
