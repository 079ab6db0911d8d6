/* Pad: constant, reflect, edge and wrap modes; pads from the attribute
 * (`paddings` in opset 1, `pads` to opset 10, with the `value` attribute) or
 * the constant input (opset 11; optional constant_value input; axes input
 * from opset 18). Negative pads crop. Float or int64 data. */
#include "ops/kernels/bcast_kernels.h"
#include "ops/kernels/eltwise_kernels.h"

#include <stdlib.h>
#include <string.h>

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct {
    int mode;
    int legacy; /* opset < 11: attributes */
    lrp_real value;
    int r;
    int64_t pb[LRP_MAX_DIMS], pe[LRP_MAX_DIMS]; /* resolved for the current input */
} pad_state;

static lrp_status pad_init(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    pad_state *s = lrp_node_state_new(n, sizeof *s, err);
    if (!s)
        return LRP_ERR_NOMEM;
    const char *m = lrp_attr_string(n, "mode", "constant");
    if (!strcmp(m, "constant"))
        s->mode = PAD_CONSTANT;
    else if (!strcmp(m, "reflect"))
        s->mode = PAD_REFLECT;
    else if (!strcmp(m, "edge"))
        s->mode = PAD_EDGE;
    else if (!strcmp(m, "wrap"))
        s->mode = PAD_WRAP;
    else
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "unknown padding mode '%s'", m);
    s->legacy = g->opset < 11;
    if (s->legacy) {
        const int64_t *p;
        if (lrp_attr_ints(n, g->opset < 2 ? "paddings" : "pads", &p) < 0 && lrp_attr_ints(n, "pads", &p) < 0)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the pads attribute is missing");
        if (n->n_inputs > 1)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "Pad takes one input before opset 11");
        s->value = lrp_attr_float(n, "value", 0.0f);
    } else if (n->n_inputs < 2 || n->inputs[1] < 0) {
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "the pads input is missing");
    }
    return LRP_OK;
}

static lrp_status pad_infer(lrp_graph *g, lrp_node *n, lrp_error *err)
{
    pad_state *s = n->state;
    const lrp_value *x = lrp_node_in(g, n, 0);
    int r = x->ndim;
    const int64_t *p, *axes = NULL;
    int cnt, na = -1;
    char sb[160];
    if (s->legacy) {
        cnt = lrp_attr_ints(n, "pads", &p);
        if (cnt < 0)
            cnt = lrp_attr_ints(n, "paddings", &p);
    } else {
        lrp_status st = lrp_const_ints(g, n, 1, "pads", &p, &cnt, err);
        if (st == LRP_OK && lrp_node_in(g, n, 3))
            st = lrp_const_ints(g, n, 3, "axes", &axes, &na, err);
        if (st != LRP_OK)
            return st;
        const lrp_value *cv = lrp_node_in(g, n, 2);
        if (cv && (cv->dtype != x->dtype || lrp_numel_checked(cv->ndim, cv->dims) > 1))
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "constant_value must be a scalar of the input's type");
    }
    int ax[LRP_MAX_DIMS];
    if (na < 0) {
        na = r;
        for (int d = 0; d < r; d++)
            ax[d] = d;
    } else {
        lrp_status st = lrp_norm_axes(n, axes, na, r, false, ax, err);
        if (st != LRP_OK)
            return st;
    }
    if (cnt != 2 * na)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "%d pads for %d axes of the input %s", cnt, na,
                             lrp_shape_str(r, x->dims, sb, sizeof sb));
    s->r = r;
    memset(s->pb, 0, sizeof s->pb);
    memset(s->pe, 0, sizeof s->pe);
    for (int i = 0; i < na; i++) {
        if (p[i] > LRP_MAX_ELEMENTS || p[i] < -LRP_MAX_ELEMENTS || p[i + na] > LRP_MAX_ELEMENTS ||
            p[i + na] < -LRP_MAX_ELEMENTS)
            return lrp_node_fail(err, n, LRP_ERR_LIMIT, "pads of %lld and %lld are too large", (long long)p[i],
                                 (long long)p[i + na]);
        s->pb[ax[i]] = p[i];
        s->pe[ax[i]] = p[i + na];
    }
    int64_t out[LRP_MAX_DIMS];
    for (int d = 0; d < r; d++) {
        out[d] = x->dims[d] + s->pb[d] + s->pe[d];
        if (out[d] < 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "pads %lld and %lld crop more than dim %d of %s",
                                 (long long)s->pb[d], (long long)s->pe[d], d,
                                 lrp_shape_str(r, x->dims, sb, sizeof sb));
        if (s->mode != PAD_CONSTANT && x->dims[d] == 0 && out[d] > 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE, "cannot pad the empty dim %d in this mode", d);
    }
    lrp_set_output(g, n, 0, x->dtype, r, out);
    return LRP_OK;
}

/* Source index along a dim of size len for the position i (before padding
 * removed), or -1 for the constant. */
static int64_t source(int mode, int64_t i, int64_t len)
{
    if (i >= 0 && i < len)
        return i;
    switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : len - 1;
    case PAD_WRAP: return ((i % len) + len) % len;
    case PAD_REFLECT: {
        if (len == 1)
            return 0;
        int64_t period = 2 * (len - 1), m = ((i % period) + period) % period;
        return m < len ? m : period - m;
    }
    default: return -1;
    }
}

/* Per-dim source maps (-1: constant) for every output position. */
static int64_t *make_maps(const pad_state *s, const lrp_tensor *x, const lrp_tensor *y, int64_t **maps)
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
            maps[d][o] = source(s->mode, o - s->pb[d], x->dims[d]);
        at += y->dims[d];
    }
    return buf;
}

/* Offset in x of output row `row` (all dims but the last), or -1 when the
 * row lies in the constant padding. */
static int64_t row_offset(const pad_state *s, const lrp_tensor *x, const lrp_tensor *y, int64_t *const *maps,
                          int64_t row)
{
    int64_t off = 0, stride = x->dims[s->r - 1];
    for (int d = s->r - 2; d >= 0; d--) {
        int64_t o = row % y->dims[d];
        row /= y->dims[d];
        int64_t src = maps[d][o];
        if (src < 0)
            return -1;
        off += src * stride;
        stride *= x->dims[d];
    }
    return off;
}

static lrp_status pad_forward(const lrp_node *n, const lrp_tensor *const *in, lrp_tensor *const *out, lrp_error *err)
{
    const pad_state *s = n->state;
    const lrp_tensor *x = in[0], *cvt = n->n_inputs > 2 ? in[2] : NULL;
    lrp_tensor *y = out[0];
    if (s->r == 0)
        return lrp_copy_forward(n, in, out, err);
    int64_t *maps[LRP_MAX_DIMS];
    int64_t *buf = make_maps(s, x, y, maps);
    if (!buf)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    const int64_t len = y->dims[s->r - 1], rows = len ? y->numel / len : 0;
    const int64_t *lm = maps[s->r - 1];
    const bool isint = x->dtype == LRP_INT64;
    const lrp_real cf = s->legacy ? s->value : (cvt && cvt->numel && !isint ? lrp_reals(cvt)[0] : 0.0f);
    const int64_t ci = cvt && cvt->numel && isint ? lrp_i64(cvt)[0] : 0;
#pragma omp parallel for schedule(static) num_threads(lrp_num_threads) if (y->numel > LRP_PAR_MIN)
    for (int64_t row = 0; row < rows; row++) {
        int64_t off = row_offset(s, x, y, maps, row);
        if (isint) {
            int64_t *yr = lrp_i64(y) + row * len;
            const int64_t *xd = lrp_i64(x);
            for (int64_t i = 0; i < len; i++)
                yr[i] = (off < 0 || lm[i] < 0) ? ci : xd[off + lm[i]];
        } else {
            lrp_real *yr = lrp_reals(y) + row * len;
            const lrp_real *xd = lrp_reals(x);
            for (int64_t i = 0; i < len; i++)
                yr[i] = (off < 0 || lm[i] < 0) ? cf : xd[off + lm[i]];
        }
    }
    free(buf);
    return LRP_OK;
}

/* gx += g at each output's source (summed where reflect/edge/wrap repeat
 * an element); the constant value's gradient is the sum over the padding. */
static lrp_status pad_backward(const lrp_node *n, const lrp_tensor *const *in, const lrp_tensor *out,
                               const lrp_tensor *gout, lrp_tensor *const *gin, lrp_error *err)
{
    const pad_state *s = n->state;
    lrp_tensor *gx = gin[0], *gc = n->n_inputs > 2 ? gin[2] : NULL;
    if (!gx && !gc)
        return LRP_OK;
    const lrp_tensor *xs = gx ? gx : in[0];
    if (!xs)
        return lrp_node_fail(err, n, LRP_ERR_INTERNAL, "backward lacks the input's shape");
    if (s->r == 0) {
        if (gx)
            lrp_add_to(lrp_reals(gx), lrp_reals(gout), gout->numel);
        return LRP_OK;
    }
    int64_t *maps[LRP_MAX_DIMS];
    int64_t *buf = make_maps(s, xs, gout, maps);
    if (!buf)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    const int64_t len = gout->dims[s->r - 1], rows = len ? gout->numel / len : 0;
    const int64_t *lm = maps[s->r - 1];
    const lrp_real *g = lrp_reals(gout);
    double csum = 0;
    for (int64_t row = 0; row < rows; row++) {
        int64_t off = row_offset(s, xs, gout, maps, row);
        const lrp_real *gr = g + row * len;
        for (int64_t i = 0; i < len; i++) {
            if (off < 0 || lm[i] < 0)
                csum += gr[i];
            else if (gx)
                lrp_reals(gx)[off + lm[i]] += gr[i];
        }
    }
    if (gc && gc->numel)
        lrp_reals(gc)[0] += (lrp_real)csum;
    free(buf);
    return LRP_OK;
}

const lrp_op lrp_op_pad = {
    .type = "Pad",
    .min_inputs = 1,
    .max_inputs = 4,
    .init = pad_init,
    .destroy = free,
    .infer = pad_infer,
    .forward = pad_forward,
    .backward = pad_backward,
    .keep = 0,
};
