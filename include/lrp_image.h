/*
 * lrp: image input, part of liblrp's public C interface (with lrp.h): PNG/JPEG
 * decoding, PIL's bilinear resize and torchvision-style preprocessing into an
 * lrp_tensor.
 *
 * Everything here reproduces what Pillow 9.4 + torchvision 0.14 compute, bit for
 * bit: decoding like PIL's Image.open(...).convert('RGB'), resizing like
 * Image.resize((w, h), Image.BILINEAR), and Resize/CenterCrop/ToTensor/Normalize.
 */
#ifndef LRP_IMAGE_H
#define LRP_IMAGE_H

#include "lrp.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Images with more pixels than this, or a side longer than LRP_IMAGE_MAX_SIDE,
 * are refused (LRP_ERR_LIMIT) before any pixel memory is allocated. */
#define LRP_IMAGE_MAX_PIXELS ((int64_t)1 << 28)
#define LRP_IMAGE_MAX_SIDE (1 << 20)
/* Larger files are refused by lrp_image_load (LRP_ERR_LIMIT). */
#define LRP_IMAGE_MAX_FILE_BYTES ((int64_t)1 << 30)

typedef struct lrp_image {
    int width, height;
    uint8_t *rgb; /* width*height*3, row-major RGB */
} lrp_image;

/* Decodes a PNG or JPEG file (detected by its first bytes, not its name) into
 * 8-bit RGB, as PIL's Image.open(path).convert('RGB') does:
 *  - grayscale is replicated to R=G=B; 1/2/4-bit gray is scaled to 0..255;
 *  - alpha (RGBA, LA, palette or tRNS transparency) is dropped, not composited;
 *  - palette images go through their palette;
 *  - 16-bit samples keep their high byte (see src/image/image_decode.c for the
 *    one case where PIL differs: 16-bit grayscale);
 *  - JPEG: libjpeg-turbo defaults (ISLOW IDCT, fancy upsampling); CMYK/YCCK as
 *    Adobe-inverted CMYK through Pillow's CMYK->RGB formula;
 *  - embedded colour profiles, gamma and EXIF orientation are ignored, like PIL.
 * Errors: LRP_ERR_IO (missing/unreadable), LRP_ERR_FORMAT (corrupt, truncated,
 * not an image), LRP_ERR_UNSUPPORTED (valid but not handled, e.g. GIF or
 * 12-bit JPEG), LRP_ERR_LIMIT (too large), LRP_ERR_NOMEM. On error *out is
 * zeroed. */
LRP_API lrp_status lrp_image_load(const char *path, lrp_image *out, lrp_error *err);
LRP_API lrp_status lrp_image_load_memory(const unsigned char *data, size_t len, const char *name_for_errors,
                                         lrp_image *out, lrp_error *err);

/* Frees the pixels and zeroes the struct; safe on a zeroed struct and NULL. */
LRP_API void lrp_image_free(lrp_image *img);

/* A mask for the localisation metrics of lrp_metrics.h (PNG or JPEG; white =
 * inside: gray value > 127, the mean of R, G, B for colour files) as
 * width*height bytes 0/1, row-major (free()). width and height > 0: the size
 * it must have (LRP_ERR_SHAPE otherwise, naming both sizes). */
LRP_API lrp_status lrp_mask_load(const char *path, int width, int height, unsigned char **mask, lrp_error *err);

/* PIL's Image.resize((width, height), Image.BILINEAR) on 8-bit RGB: the
 * antialiasing convolution resampler, bit-exact with Pillow 9.4. dst must not
 * be src; it is allocated here (free with lrp_image_free). */
LRP_API lrp_status lrp_image_resize(const lrp_image *src, int width, int height, lrp_image *dst, lrp_error *err);

/* PIL's convert('L') luma, replicated into R=G=B (so resizing it afterwards is
 * the same as resizing the L image). dst is allocated here. */
LRP_API lrp_status lrp_image_to_gray(const lrp_image *src, lrp_image *dst, lrp_error *err);

typedef enum lrp_resize_mode { LRP_RESIZE_SHORTER, LRP_RESIZE_EXACT, LRP_RESIZE_NONE } lrp_resize_mode;

typedef struct lrp_preprocess {
    int height, width;           /* the model's spatial input size (crop size) */
    lrp_resize_mode resize_mode; /* SHORTER: shorter side -> resize_to, then center crop (torchvision
                                    Resize(int) + CenterCrop); EXACT: resize to height x width directly
                                    (no crop); NONE: center crop only (zero padding if too small) */
    int resize_to;               /* for SHORTER; 0 means the default int(S*256/224), S = min(height,width) */
    int channels;                /* 3 (RGB) or 1 (PIL convert('L') luma, for MNIST-like models) */
    int bgr;                     /* 1: channel order B,G,R */
    int range255;                /* 1: pixel values 0..255 instead of 0..1 (before mean/std) */
    lrp_real mean[3], std[3];    /* (x - mean[c]) / std[c] in lrp_real; c is the OUTPUT channel
                                    (after the BGR swap); with channels == 1 only [0] is used */
    int nhwc;                    /* 1: output (1,H,W,C) instead of (1,C,H,W) */
} lrp_preprocess;

/* ImageNet mean (0.485,0.456,0.406), std (0.229,0.224,0.225), SHORTER with the
 * default resize_to, 3 channels RGB, values 0..1, NCHW. */
LRP_API void lrp_preprocess_defaults(lrp_preprocess *p, int height, int width);

/* The shorter-side size SHORTER mode resizes to (resize_to or its default). */
LRP_API int lrp_preprocess_resize_size(const lrp_preprocess *p);

/* The float32 input tensor, (1,C,H,W) or (1,H,W,C). */
LRP_API lrp_status lrp_preprocess_image(const lrp_image *img, const lrp_preprocess *p, lrp_tensor **out,
                                        lrp_error *err);

/* The cropped, resized RGB image before normalization (for heatmap overlays),
 * height x width; with channels == 1 it is the luma replicated to R=G=B. */
LRP_API lrp_status lrp_preprocess_view(const lrp_image *img, const lrp_preprocess *p, lrp_image *out, lrp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LRP_IMAGE_H */
