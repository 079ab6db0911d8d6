/* Masks for the localisation metrics (lrp_metrics.h): an image, white =
 * inside. */
#include "lrp_image.h"

#include <stdlib.h>

lrp_status lrp_mask_load(const char *path, int width, int height, unsigned char **mask, lrp_error *err)
{
    *mask = NULL;
    lrp_image img = {0};
    lrp_status st = lrp_image_load(path, &img, err);
    if (st != LRP_OK)
        return st;
    if (width > 0 && height > 0 && (img.width != width || img.height != height)) {
        st = lrp_fail(err, LRP_ERR_SHAPE, "%s: the mask is %dx%d, the attribution %dx%d", path, img.width, img.height,
                      width, height);
        lrp_image_free(&img);
        return st;
    }
    size_t n = (size_t)img.width * (size_t)img.height;
    unsigned char *m = malloc(n ? n : 1);
    if (!m) {
        lrp_image_free(&img);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img.rgb + 3 * i;
        m[i] = (p[0] + p[1] + p[2]) > 3 * 127; /* gray: R = G = B, so the gray value > 127 */
    }
    lrp_image_free(&img);
    *mask = m;
    return LRP_OK;
}
