/* Window attributes (Conv, ConvTranspose, pooling). */
#include "ops/conv_attrs.h"
#include "ops/kernels/conv_kernels.h"

#include <string.h>

static lrp_status read_pair(const lrp_node *n, const char *name, int64_t *dst, int *nsp, int64_t dflt, int64_t min,
                            lrp_error *err)
{
    const int64_t *v;
    int c = lrp_attr_ints(n, name, &v);
    dst[0] = dst[1] = dflt;
    if (c < 0)
        return LRP_OK;
    if (c < 1 || c > 2)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "%s has %d entries: only 1-D and 2-D windows are supported",
                             name, c);
    if (*nsp && c != *nsp)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "%s has %d entries but the window has %d dims", name, c, *nsp);
    *nsp = c;
    for (int i = 0; i < c; i++) {
        if (v[i] < min || v[i] > (1 << 20))
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "%s[%d] = %lld is out of range", name, i, (long long)v[i]);
        dst[i] = v[i];
    }
    return LRP_OK;
}

lrp_status lrp_window_parse(const lrp_node *n, lrp_window *w, int need_kernel, lrp_error *err)
{
    memset(w, 0, sizeof *w);
    lrp_status st;
    if ((st = read_pair(n, "kernel_shape", w->kernel, &w->nsp, 0, 1, err)) != LRP_OK)
        return st;
    if (need_kernel && !w->nsp)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "kernel_shape is required");
    if ((st = read_pair(n, "strides", w->stride, &w->nsp, 1, 1, err)) != LRP_OK)
        return st;
    if ((st = read_pair(n, "dilations", w->dilation, &w->nsp, 1, 1, err)) != LRP_OK)
        return st;
    const int64_t *p;
    int c = lrp_attr_ints(n, "pads", &p);
    if (c >= 0) {
        if (c != 2 && c != 4)
            return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "pads has %d entries (2 or 4 supported)", c);
        int ns = c / 2;
        if (w->nsp && ns != w->nsp)
            return lrp_node_fail(err, n, LRP_ERR_FORMAT, "pads has %d entries for a %d-D window", c, w->nsp);
        w->nsp = ns;
        for (int i = 0; i < ns; i++) {
            w->pad_begin[i] = p[i];
            w->pad_end[i] = p[i + ns];
            if (p[i] < 0 || p[i + ns] < 0 || p[i] > (1 << 20) || p[i + ns] > (1 << 20))
                return lrp_node_fail(err, n, LRP_ERR_FORMAT, "pads must be non-negative and sane");
        }
        w->explicit_pads = 1;
    }
    const char *ap = lrp_attr_string(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "NOTSET") || !*ap)
        w->auto_pad = LRP_PAD_NOTSET;
    else if (!strcmp(ap, "SAME_UPPER"))
        w->auto_pad = LRP_PAD_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER"))
        w->auto_pad = LRP_PAD_SAME_LOWER;
    else if (!strcmp(ap, "VALID"))
        w->auto_pad = LRP_PAD_VALID;
    else
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "unknown auto_pad '%s'", ap);
    return LRP_OK;
}

lrp_status lrp_window_resolve(const lrp_node *n, lrp_window *w, int nsp, const int64_t *in, int ceil_mode,
                              int64_t *out, lrp_error *err)
{
    if (nsp < 1 || nsp > 2)
        return lrp_node_fail(err, n, LRP_ERR_UNSUPPORTED, "only 1-D and 2-D inputs are supported (got %d-D)", nsp);
    if (w->nsp && w->nsp != nsp)
        return lrp_node_fail(err, n, LRP_ERR_SHAPE, "attributes describe a %d-D window but the input is %d-D", w->nsp,
                             nsp);
    w->nsp = nsp;
    for (int i = 0; i < nsp; i++) {
        int64_t k = w->kernel[i], s = w->stride[i], d = w->dilation[i];
        int64_t span = d * (k - 1) + 1;
        if (w->auto_pad == LRP_PAD_SAME_UPPER || w->auto_pad == LRP_PAD_SAME_LOWER) {
            int64_t o = (in[i] + s - 1) / s;
            int64_t total = (o - 1) * s + span - in[i];
            if (total < 0)
                total = 0;
            w->pad_begin[i] = w->auto_pad == LRP_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            w->pad_end[i] = total - w->pad_begin[i];
            out[i] = o;
            continue;
        }
        if (w->auto_pad == LRP_PAD_VALID)
            w->pad_begin[i] = w->pad_end[i] = 0;
        int64_t total = in[i] + w->pad_begin[i] + w->pad_end[i] - span;
        if (total < 0)
            return lrp_node_fail(err, n, LRP_ERR_SHAPE,
                                 "window of %lld (dilated) is larger than the padded input %lld", (long long)span,
                                 (long long)(in[i] + w->pad_begin[i] + w->pad_end[i]));
        int64_t o = ceil_mode ? (total + s - 1) / s + 1 : total / s + 1;
        /* with ceil_mode the last window must start inside the input or the left padding */
        if (ceil_mode && (o - 1) * s >= in[i] + w->pad_begin[i])
            o--;
        out[i] = o;
    }
    return LRP_OK;
}

lrp_status lrp_conv_attrs_parse(const lrp_node *n, lrp_window *w, int64_t *group, lrp_error *err)
{
    lrp_status st = lrp_window_parse(n, w, 0, err);
    if (st != LRP_OK)
        return st;
    *group = lrp_attr_int(n, "group", 1);
    if (*group < 1)
        return lrp_node_fail(err, n, LRP_ERR_FORMAT, "group must be positive");
    return LRP_OK;
}

void lrp_conv_geom_window(struct lrp_conv_geom *g, const lrp_window *w, int nsp, const int64_t *in, const int64_t *out)
{
    if (nsp == 1) {
        g->H = 1, g->W = in[0], g->OH = 1, g->OW = out[0];
        g->kh = 1, g->kw = w->kernel[0], g->sh = 1, g->sw = w->stride[0];
        g->dh = 1, g->dw = w->dilation[0], g->ph = 0, g->pw = w->pad_begin[0];
    } else {
        g->H = in[0], g->W = in[1], g->OH = out[0], g->OW = out[1];
        g->kh = w->kernel[0], g->kw = w->kernel[1], g->sh = w->stride[0], g->sw = w->stride[1];
        g->dh = w->dilation[0], g->dw = w->dilation[1], g->ph = w->pad_begin[0], g->pw = w->pad_begin[1];
    }
}
