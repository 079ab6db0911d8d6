/* Internal tensor helpers beyond the public lrp_tensor calls of lrp.h. */
#ifndef LRP_TENSOR_H
#define LRP_TENSOR_H

#include "base/real.h"
#include "lrp.h"

#include <stdbool.h>

/* Product of dims with overflow and limit checks; -1 when refused. */
int64_t lrp_numel_checked(int ndim, const int64_t *dims);

static inline lrp_real *lrp_reals(const lrp_tensor *t) { return (lrp_real *)t->data; }
static inline int64_t *lrp_i64(const lrp_tensor *t) { return (int64_t *)t->data; }
/* Bytes per element: int64, or lrp_real for floating-point tensors. */
static inline size_t lrp_dtype_size(lrp_dtype dt) { return dt == LRP_INT64 ? 8 : sizeof(lrp_real); }
static inline size_t lrp_elem_size(const lrp_tensor *t) { return lrp_dtype_size(t->dtype); }

/* The first NaN or infinity of n floats; -1 if none (lrp_find_nonfinite of a
 * tensor and lrp_nonfinite_name are public, in lrp.h). */
int64_t lrp_find_nonfinite_r(const lrp_real *p, int64_t n);

bool lrp_same_shape(const lrp_tensor *a, const lrp_tensor *b);
bool lrp_dims_equal(int na, const int64_t *a, int nb, const int64_t *b);

/* A tensor whose data is not initialized (for outputs a kernel fills). */
lrp_tensor *lrp_tensor_new_uninit(lrp_dtype dtype, int ndim, const int64_t *dims, lrp_error *err);

/* New tensor shaped like t (same dtype), zero-filled. */
lrp_tensor *lrp_tensor_like(const lrp_tensor *t, lrp_error *err);

/* Scalar float tensor or 1-D of n values. */
lrp_tensor *lrp_tensor_from_floats(const lrp_real *v, int ndim, const int64_t *dims, lrp_error *err);

/* Allocation that refuses absurd sizes; zero-filled. */
void *lrp_calloc_checked(size_t n, size_t size);
/* malloc (zero: calloc) of bytes, large blocks in transparent huge pages
 * where the system has them; free() frees it. */
void *lrp_alloc_big(size_t bytes, bool zero);

/* IEEE half to float, and back (round to nearest even). */
lrp_real lrp_half_to_float(uint16_t h);

#endif
