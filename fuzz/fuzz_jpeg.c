/* Fuzzes the JPEG decoder (lrp_image_load_memory) and the CLI's EXIF
 * orientation parser (cli_exif_orientation, cli_exif_apply on the decoded
 * image). The input always starts with the JPEG SOI marker, so every
 * execution reaches libjpeg. */
#include "fuzz_util.h"

#include "cli/exif.h"
#include "image/image.h"

volatile unsigned fuzz_sink;

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > (1 << 20))
        return 0;
    uint8_t *buf = malloc(size);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[0] = 0xFF;
    buf[1] = 0xD8;
    buf[2] = 0xFF;
    lrp_image img;
    lrp_error err = {0};
    int orientation = cli_exif_orientation(buf, size);
    if (orientation < 0 || orientation > 8)
        abort();
    if (lrp_image_load_memory(buf, size, "fuzz.jpg", &img, &err) == LRP_OK) {
        int w = img.width, h = img.height;
        if (cli_exif_apply(&img, orientation, &err) != LRP_OK)
            abort();
        if ((orientation >= 5 && (img.width != h || img.height != w)) ||
            (orientation < 5 && (img.width != w || img.height != h)))
            abort();
        for (int64_t i = 0; i < (int64_t)img.width * img.height * 3; i += 97)
            fuzz_sink += img.rgb[i];
        lrp_image_free(&img);
    } else {
        fuzz_check_message(err.message);
    }
    free(buf);
    return 0;
}
