/* Nearest-neighbour resizing through per-axis index maps. */
#include "ops/kernels/resize_kernels.h"

#include "ops/kernels/bcast_kernels.h"
#include "base/tensor.h"

#include <math.h>
#include <stdlib.h>

lrp_status lrp_resize_set(lrp_graph *g, lrp_node *n, const lrp_real *scales, const int64_t *sizes, int count,
                          lrp_error *err)
{
    lrp_resize_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    if (count != x->ndim)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "%d %s for an input of rank %d", count, sizes ? "sizes" : "scales",
                             x->ndim);
    int64_t out[LRP_MAX_DIMS];
    s->r = x->ndim;
    for (int d = 0; d < count; d++) {
        if (sizes) {
            if (sizes[d] < 0 || sizes[d] > LRP_MAX_ELEMENTS)
                return lrp_node_fail(err, n, LRP_ERR_SHAPE, "size %lld is out of range", (long long)sizes[d]);
            out[d] = sizes[d];
            s->scale[d] = x->dims[d] ? (double)sizes[d] / (double)x->dims[d] : 1.0;
        } else {
            double o = floor((double)x->dims[d] * (double)scales[d]);
            if (!(scales[d] > 0) || !isfinite(scales[d]) || o > (double)LRP_MAX_ELEMENTS)
                return lrp_node_fail(err, n, LRP_ERR_SHAPE, "scale %g is out of range", (double)scales[d]);
            out[d] = (int64_t)o;
            s->scale[d] = scales[d];
        }
        if (out[d] > 0 && x->dims[d] == 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "cannot resize an empty dim");
    }
    if (lrp_numel_checked(count, out) < 0)
        return lrp_node_fail(err, n, LRP_ERR_LIMIT, "the resized tensor is too large");
    lrp_set_output(g, n, 0, x->dtype, count, out);
    return LRP_OK;
}

/* Input index of output index o along a dim (in -> out elements). */
static int64_t source(const lrp_resize_state *s, int d, int64_t o, int64_t in, int64_t out)
{
    const double sc = s->scale[d];
    double v;
    switch (s->coord) {
    case LRP_CT_HALF_PIXEL: v = ((double)o + 0.5) / sc - 0.5; break;
    case LRP_CT_PYTORCH_HALF_PIXEL: v = out > 1 ? ((double)o + 0.5) / sc - 0.5 : 0.0; break;
    case LRP_CT_ALIGN_CORNERS: v = out > 1 ? (double)o * (double)(in - 1) / (double)(out - 1) : 0.0; break;
    case LRP_CT_TF_HALF_PIXEL_FOR_NN: v = ((double)o + 0.5) / sc; break;
    default: v = (double)o / sc; break;
    }
    double r;
    switch (s->nearest) {
    case LRP_NEAREST_FLOOR: r = floor(v); break;
    case LRP_NEAREST_CEIL: r = ceil(v); break;
    case LRP_NEAREST_ROUND_PREFER_CEIL: r = (v - floor(v) == 0.5) ? ceil(v) : round(v); break;
    default: r = (v - floor(v) == 0.5) ? floor(v) : round(v); break;
    }
    int64_t k = r < 0 ? 0 : (r > (double)(in - 1) ? in - 1 : (int64_t)r);
    return k;
}

/* Per-dim source maps; NULL on allocation failure. */
static int64_t *make_maps(const lrp_resize_state *s, const lrp_tensor *x, const lrp_tensor *y, int64_t **maps)
{
    int64_t total = 0;
    for (int d = 0; d < s->r; d++)
        total += y->dims[d];
    int64_t *buf = malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
    if (!buf)
        return NULL;
    int64_t at = 0;
    for (int d = 0; d < s->r; d++) {
        maps[d] = buf + at;
        for (int64_t o = 0; o < y->dims[d]; o++)
            maps[d][o] = source(s, d, o, x->dims[d], y->dims[d]);
        at += y->dims[d];
    }
    return buf;
}

static int64_t row_offset(const lrp_resize_state *s, const lrp_tensor *x, const lrp_tensor *y, int64_t *const *maps,
                          int64_t row)
{
    int64_t off = 0, stride = x->dims[s->r - 1];
    for (int d = s->r - 2; d >= 0; d--) {
        int64_t o = row % y->dims[d];
        row /= y->dims[d];
        off += maps[d][o] * stride;
        stride *= x->dims[d];
    }
    return off;
}

/* mode 0: copy float, 1: copy int64, 2: gx += g (serial: maps repeat). */
static lrp_status run(const lrp_node *n, const lrp_tensor *x, const lrp_tensor *y, const void *src, void *dst,
                      int mode, lrp_error *err)
{
    const lrp_resize_state *s = n->state;
    if (y->numel == 0)
        return LRP_OK;
    if (s->r == 0) { /* a scalar */
        if (mode == 0)
            *(lrp_real *)dst = *(const lrp_real *)src;
        else if (mode == 1)
            *(int64_t *)dst = *(const int64_t *)src;
        else
            *(lrp_real *)dst += *(const lrp_real *)src;
        return LRP_OK;
    }
    int64_t *maps[LRP_MAX_DIMS];
    int64_t *buf = make_maps(s, x, y, maps);
    if (!buf)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    const int64_t len = y->dims[s->r - 1], rows = y->numel / len, *lm = maps[s->r - 1];
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (mode < 2 && y->numel > LRP_PAR_MIN)
    for (int64_t row = 0; row < rows; row++) {
        const int64_t off = row_offset(s, x, y, maps, row), o = row * len;
        if (mode == 0)
            for (int64_t i = 0; i < len; i++)
                ((lrp_real *)dst)[o + i] = ((const lrp_real *)src)[off + lm[i]];
        else if (mode == 1)
            for (int64_t i = 0; i < len; i++)
                ((int64_t *)dst)[o + i] = ((const int64_t *)src)[off + lm[i]];
        else
            for (int64_t i = 0; i < len; i++)
                ((lrp_real *)dst)[off + lm[i]] += ((const lrp_real *)src)[o + i];
    }
    free(buf);
    return LRP_OK;
}

lrp_status lrp_resize_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    return run(n, in[0], out[0], in[0]->data, out[0]->data, in[0]->dtype == LRP_INT64, err);
}

lrp_status lrp_resize_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    if (!gin[0])
        return LRP_OK;
    return run(n, gin[0], gout, gout->data, gin[0]->data, 2, err);
}
