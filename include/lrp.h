/*
 * lrp: Layer-wise Relevance Propagation for ONNX image classifiers.
 *
 * Public C interface of liblrp. Everything the command-line tool does is built
 * on these calls: load a model, build its input from an image or a .npy file,
 * run it, explain a prediction with an LRP composite or an attributor, and
 * render the relevance as a heatmap.
 *
 * Conventions
 *  - Functions that can fail return an lrp_status (LRP_OK == 0) or NULL, and
 *    fill the lrp_error passed as their last argument (which may be NULL).
 *  - Objects returned by *_new / *_load / *_read are owned by the caller and
 *    released with the matching *_free, which accepts NULL.
 *  - All arithmetic is float32. Tensors are dense, C order.
 */
#ifndef LRP_H
#define LRP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LRP_VERSION "0.1.0"

/* ------------------------------------------------------------------ errors */

typedef enum lrp_status {
    LRP_OK = 0,
    LRP_ERR_IO,          /* missing or unreadable file, failed write */
    LRP_ERR_FORMAT,      /* malformed file: ONNX, image, npy, PNG */
    LRP_ERR_UNSUPPORTED, /* valid but not supported: op, dtype, feature */
    LRP_ERR_SHAPE,       /* shapes that do not fit together */
    LRP_ERR_LIMIT,       /* absurd sizes refused before allocating */
    LRP_ERR_NOMEM,       /* allocation failed */
    LRP_ERR_ARG,         /* bad argument from the caller */
    LRP_ERR_INTERNAL
} lrp_status;

#define LRP_ERROR_MAX 512

typedef struct lrp_error {
    lrp_status status;
    char message[LRP_ERROR_MAX]; /* one line, no trailing newline */
} lrp_error;

/* A short English name of a status ("format error", ...). */
const char *lrp_status_name(lrp_status status);

/* ----------------------------------------------------------------- tensors */

typedef enum lrp_dtype {
    LRP_FLOAT32 = 1, /* values are ONNX TensorProto.DataType codes */
    LRP_INT64 = 7
} lrp_dtype;

#define LRP_MAX_DIMS 8

/* The largest tensor lrp agrees to allocate, in elements. */
#define LRP_MAX_ELEMENTS ((int64_t)1 << 31)

typedef struct lrp_tensor {
    lrp_dtype dtype;
    int ndim;
    int64_t dims[LRP_MAX_DIMS];
    int64_t numel;
    void *data; /* float or int64_t, numel elements, owned by the tensor */
} lrp_tensor;

/* A zero-filled tensor; refuses negative dims and more than LRP_MAX_ELEMENTS. */
lrp_tensor *lrp_tensor_new(lrp_dtype dtype, int ndim, const int64_t *dims, lrp_error *err);
lrp_tensor *lrp_tensor_clone(const lrp_tensor *t, lrp_error *err);
void lrp_tensor_free(lrp_tensor *t);
/* "(1, 3, 224, 224)" into buf. Returns buf. */
const char *lrp_shape_str(int ndim, const int64_t *dims, char *buf, size_t size);

/* NumPy .npy files: float32/float64 (read as float32), C order. */
lrp_status lrp_npy_read(const char *path, lrp_tensor **out, lrp_error *err);
/* Writes float32 '<f4' (or int64 '<i8'), byte-identical for identical tensors. */
lrp_status lrp_npy_write(const char *path, const lrp_tensor *t, lrp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LRP_H */
