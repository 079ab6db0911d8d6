/* lrp concepts --reference-images DIR: for each channel of a layer, the
 * images of DIR on which it matters most (zennit-crp's FeatureVisualization
 * with its defaults: relevance maximisation, max_target "sum", abs_norm).
 * Per image, the relevance arriving at the layer for the image's target
 * (LRP_SEED_LOGIT, as lrp concepts) or the layer's activation; per channel c
 * its sum over the positions (or its value at its largest position),
 * divided by the sum of the absolute values over all channels plus 1e-10;
 * per channel the N largest, ties to the earlier image. One engine pass per
 * image (for the relevance, the sweep stops at the layer); the montages
 * reload their images afterwards, so memory does not grow with DIR. */
#include "cli/cmd_concepts_refs.h"

#include "cli/common.h"
#include "cli/inside.h"
#include "cli/json.h"
#include "lrp_render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct refs {
    const cli_args *a;
    cli_method *cm;
    const cli_items *items;
    int64_t C;   /* channels of the layer; -1 before the first image */
    int nch;     /* channels ranked */
    int64_t *ch; /* their numbers */
    int N;       /* images kept per channel */
    double *val; /* nch x N, descending */
    int *img;    /* nch x N item indices, -1 empty */
    int images_ok;
} refs;

static lrp_status refs_setup(refs *r, int64_t C, lrp_error *err)
{
    const cli_args *a = r->a;
    r->C = C;
    if (a->channels) {
        int n = cli_channel_list(a->channels, &r->ch);
        if (n == -1)
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        r->nch = n;
        for (int k = 0; k < n; k++)
            if (r->ch[k] >= C)
                return lrp_fail(err, LRP_ERR_ARG, "--channels: channel %lld is out of range: %s has %lld channels",
                                (long long)r->ch[k], a->concept_layer, (long long)C);
    } else {
        if (C > (1 << 20))
            return lrp_fail(err, LRP_ERR_LIMIT, "%s has %lld channels: choose some with --channels", a->concept_layer,
                            (long long)C);
        r->nch = (int)C;
        if (!(r->ch = malloc(sizeof(int64_t) * (size_t)(C + 1))))
            return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        for (int64_t c = 0; c < C; c++)
            r->ch[c] = c;
    }
    size_t cells = (size_t)r->nch * (size_t)r->N;
    r->val = malloc(sizeof(double) * (cells + 1));
    r->img = malloc(sizeof(int) * (cells + 1));
    if (!r->val || !r->img)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cells; i++)
        r->img[i] = -1;
    return LRP_OK;
}

/* Channel values of sample 0 of T (C first after the batch), normalised. */
static lrp_status channel_values(const refs *r, const lrp_tensor *T, double *v, lrp_error *err)
{
    int64_t C = T->ndim >= 2 ? T->dims[1] : 0, inner = C ? T->numel / (T->dims[0] * C) : 0;
    if (C != r->C || inner < 1)
        return lrp_fail(err, LRP_ERR_SHAPE, "the layer's output has another shape for this input");
    const lrp_real *p = T->data;
    double total = 0;
    for (int64_t c = 0; c < C; c++) {
        const lrp_real *q = p + c * inner;
        double s = 0;
        if (r->a->reference_max == 1) {
            s = q[0];
            for (int64_t i = 1; i < inner; i++)
                if (q[i] > s)
                    s = q[i];
        } else {
            for (int64_t i = 0; i < inner; i++)
                s += q[i];
        }
        v[c] = s;
        total += fabs(s);
    }
    for (int64_t c = 0; c < C; c++)
        v[c] /= total + 1e-10;
    return LRP_OK;
}

/* Item i's values into every ranked channel's list. */
static void refs_insert(refs *r, const double *v, int item)
{
    for (int k = 0; k < r->nch; k++) {
        double x = v[r->ch[k]];
        if (isnan(x))
            continue;
        double *val = r->val + (size_t)k * r->N;
        int *img = r->img + (size_t)k * r->N;
        int pos = r->N;
        while (pos > 0 && (img[pos - 1] < 0 || val[pos - 1] < x))
            pos--;
        if (pos >= r->N)
            continue;
        for (int j = r->N - 1; j > pos; j--) {
            val[j] = val[j - 1];
            img[j] = img[j - 1];
        }
        val[pos] = x;
        img[pos] = item;
    }
}

/* The layer's relevance (or activation) for one image. */
static lrp_status one_image(refs *r, const cli_item *it, double **v, lrp_error *err)
{
    const cli_args *a = r->a;
    lrp_tensor *x = NULL, *T = NULL, *logits = NULL, *rel = NULL;
    lrp_status st = it->error ? lrp_fail(err, LRP_ERR_ARG, "%s", it->error) : LRP_OK;
    if (st == LRP_OK)
        st = cli_load_input(it->path, &r->cm->pp, lrp_model_get_info(r->cm->model), &x, NULL, NULL, err);
    int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : -1, used = -1;
    if (st == LRP_OK && a->reference_mode == 1) {
        st = lrp_explainer_activation(r->cm->ex, x, a->concept_layer, &T, NULL, err);
    } else if (st == LRP_OK) {
        int64_t none[1] = {-1};
        st = lrp_explain_channels(r->cm->ex, x, target, LRP_SEED_LOGIT, a->concept_layer, 0, none, 0, &T, NULL, NULL,
                                  &used, err);
        if (st == LRP_ERR_UNSUPPORTED || st == LRP_ERR_SHAPE) {
            /* a model whose values do not carry the batch first: the whole explanation, the layer recorded */
            *err = (lrp_error){0};
            int64_t tg[1] = {target};
            if ((st = lrp_explain(r->cm->ex, x, tg, LRP_SEED_LOGIT, &rel, &logits, NULL, err)) == LRP_OK &&
                !(T = lrp_tensor_clone(lrp_explainer_recorded(r->cm->ex, 0), err)))
                st = err->status;
        }
    }
    if (st == LRP_OK && r->C < 0)
        st = refs_setup(r, T->ndim >= 2 ? T->dims[1] : 0, err);
    if (st == LRP_OK && !*v && !(*v = malloc(sizeof(double) * (size_t)(r->C + 1))))
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    if (st == LRP_OK)
        st = channel_values(r, T, *v, err);
    lrp_tensor_free(x);
    lrp_tensor_free(T);
    lrp_tensor_free(logits);
    lrp_tensor_free(rel);
    return st;
}

typedef struct png_ctx {
    const lrp_raster *r;
} png_ctx;

static lrp_status write_png(const char *path, void *ctx, lrp_error *err)
{
    return lrp_png_write_rgb(path, ((png_ctx *)ctx)->r, err);
}

/* Channel k's images, as the model sees them, in one montage. */
static lrp_status write_montage(const refs *r, int k, char *path, size_t size, lrp_error *err)
{
    const cli_args *a = r->a;
    const int *img = r->img + (size_t)k * r->N;
    int n = 0;
    while (n < r->N && img[n] >= 0)
        n++;
    if (n == 0)
        return LRP_OK;
    char tmpl[4200];
    size_t used = 0;
    for (const char *p = a->out; *p && used + 1 < sizeof tmpl;) { /* {concept} */
        if (!strncmp(p, "{concept}", 9)) {
            used += (size_t)snprintf(tmpl + used, sizeof tmpl - used, "%lld", (long long)r->ch[k]);
            p += 9;
        } else {
            tmpl[used++] = *p++;
        }
    }
    tmpl[used < sizeof tmpl ? used : sizeof tmpl - 1] = '\0';
    cli_fields f = {&r->items->v[img[0]], NULL, -1, false, 0, NULL};
    lrp_status st = cli_template_expand(tmpl, &f, path, size, err);
    uint8_t *tiles = NULL;
    int th = 0, tw = 0;
    for (int j = 0; j < n && st == LRP_OK; j++) {
        lrp_tensor *x = NULL;
        lrp_image view = {0};
        const char *ip = r->items->v[img[j]].path;
        st = cli_load_input(ip, &r->cm->pp, lrp_model_get_info(r->cm->model), &x, &view, NULL, err);
        if (st == LRP_OK && !view.rgb)
            st = lrp_fail(err, LRP_ERR_ARG, "%s: not an image, so not in a montage", ip);
        if (st == LRP_OK && j > 0 && (view.width != tw || view.height != th))
            st = lrp_fail(err, LRP_ERR_SHAPE, "%s: %dx%d, where the montage's images are %dx%d", ip, view.width,
                          view.height, tw, th);
        if (st == LRP_OK && j == 0) {
            tw = view.width;
            th = view.height;
            if (!(tiles = malloc((size_t)tw * (size_t)th * 3 * (size_t)n)))
                st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        }
        if (st == LRP_OK)
            memcpy(tiles + (size_t)tw * (size_t)th * 3 * (size_t)j, view.rgb, (size_t)tw * (size_t)th * 3);
        lrp_tensor_free(x);
        lrp_image_free(&view);
    }
    lrp_raster *grid = NULL;
    if (st == LRP_OK)
        st = lrp_gridify(tiles, n, th, tw, 3, 0, 0, NULL, &grid, err);
    png_ctx pc = {grid};
    if (st == LRP_OK)
        st = cli_write_output(path, write_png, &pc, err);
    lrp_raster_free(grid);
    free(tiles);
    return st;
}

static void print_results(const refs *r, char (*montage)[4200])
{
    const cli_args *a = r->a;
    const char *mode = a->reference_mode == 1 ? "activation" : "relevance";
    for (int k = 0; k < r->nch; k++) {
        const double *val = r->val + (size_t)k * r->N;
        const int *img = r->img + (size_t)k * r->N;
        if (a->json) {
            json j;
            json_begin(&j, stdout);
            json_str(&j, "layer", a->concept_layer);
            json_int(&j, "channel", r->ch[k]);
            json_str(&j, "mode", mode);
            json_str(&j, "max_target", a->reference_max == 1 ? "max" : "sum");
            json_arr(&j, "images");
            for (int i = 0; i < r->N && img[i] >= 0; i++) {
                json_obj(&j, NULL);
                json_str(&j, "input", r->items->v[img[i]].path);
                json_int(&j, "index", r->items->v[img[i]].index);
                json_num(&j, "value", val[i]);
                json_obj_end(&j);
            }
            json_arr_end(&j);
            json_str(&j, "montage", montage && montage[k][0] ? montage[k] : NULL);
            json_end(&j);
            continue;
        }
        if (a->quiet)
            continue;
        printf("  channel %lld:", (long long)r->ch[k]);
        for (int i = 0; i < r->N && img[i] >= 0; i++)
            printf("%s %.6f %s", i ? "," : "", val[i], r->items->v[img[i]].path);
        if (montage && montage[k][0])
            printf(" -> %s", montage[k]);
        putchar('\n');
    }
    fflush(stdout);
}

int cli_concepts_references(const cli_args *a, cli_method *cm, const cli_items *items)
{
    refs r = {.a = a, .cm = cm, .items = items, .C = -1, .N = a->reference_top > 0 ? a->reference_top : 8};
    if (a->channels) {
        int64_t *tmp = NULL;
        int n = cli_channel_list(a->channels, &tmp);
        free(tmp);
        if (n == -2) {
            cli_error("--channels %s: give channel numbers as 3,17,42", a->channels);
            return EXIT_USAGE;
        }
    }
    double *v = NULL;
    int failed_input = 0, failed_output = 0, rc = EXIT_OK;
    char(*montage)[4200] = NULL;
    for (int i = 0; i < items->n; i++) {
        lrp_error err = {0};
        lrp_status st = one_image(&r, &items->v[i], &v, &err);
        if (st == LRP_OK) {
            refs_insert(&r, v, i);
            r.images_ok++;
            continue;
        }
        if (r.C >= 0 && !r.val) { /* the setup itself failed (--channels out of range, memory) */
            cli_error("%s", err.message);
            rc = st == LRP_ERR_ARG ? EXIT_USAGE : EXIT_INTERNAL;
            goto done;
        }
        cli_error_at(items->v[i].path, err.message);
        failed_input++;
        if (a->json)
            json_item_error(stdout, items->v[i].path, items->v[i].index, err.message);
    }
    if (r.images_ok == 0) {
        if (!failed_input)
            cli_error("--reference-images %s: no images found", a->reference_images);
        rc = failed_input ? EXIT_INPUT : EXIT_USAGE;
        goto done;
    }
    if (a->out && !(montage = calloc((size_t)r.nch + 1, sizeof *montage))) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (int k = 0; a->out && k < r.nch; k++) {
        lrp_error err = {0};
        if (write_montage(&r, k, montage[k], sizeof montage[k], &err) != LRP_OK) {
            cli_error("%s", err.message);
            montage[k][0] = '\0';
            failed_output++;
        }
    }
    if (!a->quiet && !a->json)
        printf("%s: layer %s (%lld channels), %d images, by %s (%s, normalised over the channels), top %d:\n",
               a->reference_images, a->concept_layer, (long long)r.C, r.images_ok,
               a->reference_mode == 1 ? "activation" : "relevance", a->reference_max == 1 ? "max" : "sum", r.N);
    print_results(&r, montage);
    rc = failed_input ? EXIT_INPUT : failed_output ? EXIT_OUTPUT : EXIT_OK;
done:
    free(montage);
    free(v);
    free(r.ch);
    free(r.val);
    free(r.img);
    return rc;
}
