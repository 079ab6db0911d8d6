/* Helper of make.py: writes a YCCK JPEG (Adobe APP14 transform 2), which
 * PIL cannot write. Usage: make_ycck W H IN.cmyk OUT.jpg, where IN holds
 * W*H*4 bytes of CMYK in Adobe's inverted polarity (as PIL's "CMYK;I").
 * Build: cc -o make_ycck make_ycck.c -ljpeg */
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    int w = atoi(argv[1]), h = atoi(argv[2]);
    unsigned char *px = malloc((size_t)w * h * 4);
    FILE *in = fopen(argv[3], "rb"), *out = fopen(argv[4], "wb");
    if (!px || !in || !out || fread(px, 4, (size_t)w * h, in) != (size_t)w * h)
        return 1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, out);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, JCS_YCCK); /* writes an Adobe marker with transform 2 */
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = px + (size_t)c.next_scanline * w * 4;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(out);
    fclose(in);
    free(px);
    return 0;
}
