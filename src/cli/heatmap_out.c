/* Heatmap rendering and writing for the command line. */
#include "cli/heatmap_out.h"

#include "lrp_render.h"
#include "lrp.h"
#include "cli/items.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_heat_setup(const cli_heat_args *a, bool lrp_method, cli_heat *h)
{
    memset(h, 0, sizeof *h);
    lrp_heatmap_opts_init(&h->opts);
    /* a part of the relevance (--sign) is drawn as magnitudes by default */
    int sign = a->sign ? lrp_heatmap_sign_from_name(a->sign) : LRP_SIGN_ALL;
    bool part = sign != LRP_SIGN_ALL;
    const char *norm = a->norm ? a->norm : lrp_method && !part ? "symmetric" : "absolute";
    const char *cmap = a->cmap ? a->cmap : lrp_method && !part ? "coldnhot" : "hot";
    h->opts.norm = (lrp_heatmap_norm)lrp_heatmap_norm_from_name(norm);
    h->opts.sign = (lrp_heatmap_sign)sign;
    if (a->has_vmin && a->has_vmax) {
        if (!(a->vmax > a->vmin)) {
            cli_error("--vmax must be larger than --vmin");
            return EXIT_USAGE;
        }
        h->opts.norm = LRP_NORM_RANGE;
        h->opts.vmin = a->vmin;
        h->opts.vmax = a->vmax;
    } else if (a->has_vmin || a->has_vmax) {
        /* one bound given: the other is the norm's own */
        h->opts.fix_vmin = a->has_vmin;
        h->opts.fix_vmax = a->has_vmax;
        h->opts.vmin = a->vmin;
        h->opts.vmax = a->vmax;
    }
    if (a->clip > 0) {
        if (!(a->clip < 100)) {
            cli_error("--clip-percentile: P must be below 100");
            return EXIT_USAGE;
        }
        if (h->opts.norm == LRP_NORM_RANGE) {
            cli_error("--clip-percentile does nothing with both --vmin and --vmax given");
            return EXIT_USAGE;
        }
        if (h->opts.norm == LRP_NORM_UNALIGNED) {
            cli_error("--clip-percentile needs --norm symmetric or absolute, not unaligned");
            return EXIT_USAGE;
        }
        h->opts.clip_percent = a->clip;
    }
    h->underlay = a->underlay;
    h->alpha_relevance = a->alpha_mode == 1;
    h->side_by_side = a->side_by_side;
    h->colorbar = a->colorbar;
    lrp_error err = {0};
    if (lrp_palette_for(cmap, a->level, h->pal, &err) != LRP_OK) {
        cli_error("--cmap: %s", err.message);
        return EXIT_USAGE;
    }
    /* --underlay and --alpha are ways of overlaying: they imply --overlay */
    h->overlay = a->overlay || a->has_underlay || a->has_alpha;
    h->alpha = a->overlay_alpha;
    h->size_input = a->size && !strcmp(a->size, "input");
    h->grid = a->grid;
    if (h->grid && h->size_input) {
        cli_error("--grid needs all heatmaps at the model's size; drop --size input");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

bool cli_heat_needs_image(const cli_heat_args *a)
{
    return a->overlay || a->has_underlay || a->has_alpha || a->side_by_side || (a->size && !strcmp(a->size, "input"));
}

lrp_status cli_heat_finish(const cli_heat *h, lrp_raster *r, lrp_raster **out, lrp_error *err)
{
    *out = r;
    if (!h->colorbar)
        return LRP_OK;
    lrp_raster *b = NULL;
    lrp_status st = lrp_raster_colorbar(r, h->pal, &b, err);
    if (st == LRP_OK)
        *out = b;
    return st;
}

void cli_heat_free(cli_heat *h)
{
    free(h->tiles);
    h->tiles = NULL;
}

/* Round half to even, as Python's round(). */
static long round_even(double v)
{
    double r = nearbyint(v);
    return (long)r;
}

/* Maps the model-size raster back onto the original image: each original
 * pixel takes the heatmap pixel it was resized and cropped into (nearest);
 * pixels outside the crop get `outside` (1 channel) or stay the image's. */
static lrp_status to_input_size(const lrp_raster *heat, const lrp_image *orig, const lrp_preprocess *pp,
                                uint8_t outside, lrp_raster **out, lrp_error *err)
{
    int ow = orig->width, oh = orig->height, W = heat->width, H = heat->height;
    long nw = ow, nh = oh;
    if (pp->resize_mode == LRP_RESIZE_SHORTER) {
        long s = lrp_preprocess_resize_size(pp);
        if (ow <= oh) {
            nw = s;
            nh = (long)((double)s * oh / ow);
        } else {
            nh = s;
            nw = (long)((double)s * ow / oh);
        }
    } else if (pp->resize_mode == LRP_RESIZE_EXACT) {
        nw = W;
        nh = H;
    }
    /* torchvision's center crop: pad first when the image is smaller */
    long padl = nw < W ? (W - nw) / 2 : 0, padt = nh < H ? (H - nh) / 2 : 0;
    long left = nw < W ? -padl : round_even((nw - W) / 2.0);
    long top = nh < H ? -padt : round_even((nh - H) / 2.0);
    lrp_raster *r = lrp_raster_new(ow, oh, heat->channels, err);
    if (!r)
        return err ? err->status : LRP_ERR_NOMEM;
    int c = heat->channels;
    for (int y = 0; y < oh; y++) {
        long ry = (long)floor((y + 0.5) * (double)nh / oh) - top;
        for (int x = 0; x < ow; x++) {
            long rx = (long)floor((x + 0.5) * (double)nw / ow) - left;
            uint8_t *d = r->data + ((size_t)y * ow + x) * (size_t)c;
            if (rx >= 0 && rx < W && ry >= 0 && ry < H)
                memcpy(d, heat->data + ((size_t)ry * W + rx) * (size_t)c, (size_t)c);
            else if (c == 1)
                d[0] = outside;
            else
                memcpy(d, orig->rgb + ((size_t)y * ow + x) * 3, 3);
        }
    }
    *out = r;
    return LRP_OK;
}

static lrp_raster *image_raster(const lrp_image *img, lrp_error *err)
{
    lrp_raster *r = lrp_raster_new(img->width, img->height, 3, err);
    if (r)
        memcpy(r->data, img->rgb, (size_t)img->width * img->height * 3);
    return r;
}

/* The underlay --underlay asks for (a new raster). */
static lrp_raster *underlay_raster(const cli_heat *h, const lrp_raster *img, lrp_error *err)
{
    lrp_raster *u = NULL;
    if (h->underlay == 1) {
        lrp_raster_gray_mean(img, &u, err);
    } else if ((u = lrp_raster_new(img->width, img->height, 3, err)) != NULL) {
        if (h->underlay == 2)
            memset(u->data, 255, (size_t)img->width * img->height * 3);
        else
            memcpy(u->data, img->data, (size_t)img->width * img->height * 3);
    }
    return u;
}

/* --alpha relevance: the per-pixel weights of sample 0 at the model's size. */
static lrp_status weight_raster(const cli_heat *h, const lrp_tensor *rel, lrp_raster **out, lrp_error *err)
{
    *out = NULL;
    lrp_tensor *maps = NULL;
    lrp_status st = lrp_heatmap_channel_sum(rel, h->channels_last, &maps, err);
    if (st != LRP_OK)
        return st;
    lrp_raster *w = lrp_raster_new((int)maps->dims[2], (int)maps->dims[1], 1, err);
    if (w)
        lrp_heatmap_weights((const lrp_real *)maps->data, (size_t)maps->dims[1] * (size_t)maps->dims[2], &h->opts,
                            w->data);
    lrp_tensor_free(maps);
    if (!w)
        return err ? err->status : LRP_ERR_NOMEM;
    *out = w;
    return LRP_OK;
}

lrp_status cli_heat_render(const cli_heat *h, const lrp_tensor *rel, const lrp_image *view, const lrp_image *orig,
                           const lrp_preprocess *pp, lrp_raster **out, lrp_error *err)
{
    *out = NULL;
    lrp_heatmap_opts o = h->opts;
    o.channels_last = h->channels_last;
    lrp_raster *idx = NULL, *res = NULL, *img = NULL, *big = NULL;
    lrp_status st = lrp_heatmap_indices(rel, &o, 0, &idx, err);
    if (st != LRP_OK)
        return st;
    /* the palette index relevance 0 gets (for pixels outside the crop) */
    uint8_t zero = 0;
    {
        lrp_real zv[2] = {0.0f, 0.0f};
        uint8_t zi[2];
        if (o.norm == LRP_NORM_SYMMETRIC)
            zv[1] = 1.0f;
        lrp_heatmap_quantize(zv, o.norm == LRP_NORM_SYMMETRIC ? 2 : 1, &o, zi);
        zero = zi[0];
    }
    if (h->size_input && (o.sign != LRP_SIGN_ALL || o.clip_percent > 0 || o.fix_vmin || o.fix_vmax)) {
        /* bounds that depend on the map: relevance 0 under this map's scale */
        lrp_tensor *maps = NULL;
        if ((st = lrp_heatmap_channel_sum(rel, o.channels_last, &maps, err)) != LRP_OK)
            goto done;
        zero = lrp_heatmap_index_of((const lrp_real *)maps->data, (size_t)maps->dims[1] * (size_t)maps->dims[2], &o,
                                    0.0f);
        lrp_tensor_free(maps);
    }
    bool at_input = h->size_input && orig && pp;
    bool plain_overlay = h->underlay == 0 && !h->alpha_relevance;
    if ((h->overlay || h->side_by_side) && view) {
        img = image_raster(at_input ? orig : view, err);
        if (!img) {
            st = err ? err->status : LRP_ERR_NOMEM;
            goto done;
        }
    }
    if (h->overlay && view) {
        lrp_raster *heat = idx;
        if (at_input) {
            if ((st = to_input_size(idx, orig, pp, zero, &big, err)) != LRP_OK)
                goto done;
            heat = big;
        }
        if (img->width != heat->width || img->height != heat->height) {
            st = lrp_fail(err, LRP_ERR_SHAPE, "the heatmap (%dx%d) and the image (%dx%d) differ in size", heat->width,
                          heat->height, img->width, img->height);
            goto done;
        }
        if (!plain_overlay) {
            lrp_raster *under = underlay_raster(h, img, err), *w = NULL, *wbig = NULL;
            st = under ? LRP_OK : err ? err->status : LRP_ERR_NOMEM;
            if (st == LRP_OK && h->alpha_relevance && (st = weight_raster(h, rel, &w, err)) == LRP_OK && at_input) {
                /* outside the crop: weight 0, the underlay itself */
                st = to_input_size(w, orig, pp, 0, &wbig, err);
            }
            if (st == LRP_OK)
                st = lrp_heatmap_blend(under, heat, h->pal, wbig ? wbig : w, h->alpha, &res, err);
            lrp_raster_free(under);
            lrp_raster_free(w);
            lrp_raster_free(wbig);
        } else if (at_input) {
            /* outside the crop: show the image itself */
            lrp_raster *heat_rgb = NULL;
            if ((st = lrp_raster_colorize(heat, h->pal, &heat_rgb, err)) != LRP_OK)
                goto done;
            st = lrp_heatmap_overlay(img, heat_rgb, NULL, h->alpha, &res, err);
            lrp_raster_free(heat_rgb);
        } else {
            st = lrp_heatmap_overlay(img, heat, h->pal, h->alpha, &res, err);
        }
    } else if (at_input) {
        st = to_input_size(idx, orig, pp, zero, &res, err);
    } else {
        res = idx;
        idx = NULL;
    }
    if (st == LRP_OK && h->side_by_side && img) {
        lrp_raster *pair = NULL;
        st = lrp_raster_side_by_side(img, res, h->pal, &pair, err);
        lrp_raster_free(res);
        res = pair;
    }
    if (st == LRP_OK && !h->grid && h->colorbar) {
        lrp_raster *bar = NULL;
        st = cli_heat_finish(h, res, &bar, err);
        if (bar != res)
            lrp_raster_free(res);
        res = bar;
    }
done:
    lrp_raster_free(idx);
    lrp_raster_free(img);
    lrp_raster_free(big);
    if (st == LRP_OK)
        *out = res;
    else
        lrp_raster_free(res);
    return st;
}

typedef struct write_ctx {
    const cli_heat *h;
    const lrp_raster *r;
} write_ctx;

static lrp_status write_png(const char *path, void *ctx, lrp_error *err)
{
    const write_ctx *w = ctx;
    if (w->r->channels == 1)
        return lrp_png_write_palette(path, w->r, w->h->pal, err);
    return lrp_png_write_rgb(path, w->r, err);
}

lrp_status cli_heat_write(const cli_heat *h, const char *path, const lrp_raster *r, lrp_error *err)
{
    write_ctx w = {h, r};
    return cli_write_output(path, write_png, &w, err);
}

lrp_status cli_heat_add_tile(cli_heat *h, const lrp_raster *r, lrp_error *err)
{
    if (h->n_tiles > 0 && (r->width != h->tile_w || r->height != h->tile_h || r->channels != h->tile_c))
        return lrp_fail(err, LRP_ERR_SHAPE, "--grid: heatmaps of different sizes (%dx%d and %dx%d)", r->width,
                        r->height, h->tile_w, h->tile_h);
    size_t tile = (size_t)r->width * r->height * r->channels;
    uint8_t *t = realloc(h->tiles, tile * (size_t)(h->n_tiles + 1));
    if (!t)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    h->tiles = t;
    memcpy(t + tile * (size_t)h->n_tiles, r->data, tile);
    h->tile_w = r->width;
    h->tile_h = r->height;
    h->tile_c = r->channels;
    h->n_tiles++;
    return LRP_OK;
}

lrp_status cli_heat_write_grid(cli_heat *h, const char *path, lrp_error *err)
{
    if (h->n_tiles == 0)
        return lrp_fail(err, LRP_ERR_ARG, "--grid: no heatmaps to put into %s", path);
    lrp_raster *g = NULL;
    lrp_status st = lrp_gridify(h->tiles, h->n_tiles, h->tile_h, h->tile_w, h->tile_c, 0, 0, NULL, &g, err);
    lrp_raster *f = NULL;
    if (st == LRP_OK)
        st = cli_heat_finish(h, g, &f, err); /* one colour bar for the montage */
    if (st == LRP_OK)
        st = cli_heat_write(h, path, f, err);
    if (f != g)
        lrp_raster_free(f);
    lrp_raster_free(g);
    return st;
}
