/* Fuzzes the PNG decoders: the image input path (lrp_image_load_memory, from
 * memory) and the raster reader (lrp_png_read_rgb, from a file). The input
 * always starts with the PNG signature, so every execution reaches libpng. */
#include "fuzz_util.h"

#include "image/image.h"
#include "render/png_io.h"

volatile unsigned fuzz_sink;

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size < 8 || size > (1 << 20))
        return 0;
    uint8_t *buf = malloc(size);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    memcpy(buf, sig, sizeof sig);

    lrp_image img;
    lrp_error err = {0};
    if (lrp_image_load_memory(buf, size, "fuzz.png", &img, &err) == LRP_OK) {
        for (int64_t i = 0; i < (int64_t)img.width * img.height * 3; i += 97)
            fuzz_sink += img.rgb[i];
        lrp_image_free(&img);
    } else {
        fuzz_check_message(err.message);
    }

    const char *path = fuzz_scratch(buf, size, ".png");
    lrp_raster *r = NULL;
    if (lrp_png_read_rgb(path, &r, &err) == LRP_OK) {
        if (!r || r->channels != 3)
            fuzz_fail("lrp_png_read_rgb: not an RGB raster");
        lrp_raster_free(r);
    } else {
        fuzz_check_message(err.message);
    }
    free(buf);
    return 0;
}
