/* lrp concepts: the channels of a layer most relevant to the target
 * (Concept Relevance Propagation, zennit-crp's ChannelConcept with
 * abs_norm), and the heatmap conditioned on each of them. Per input,
 * CONCEPT_BATCH concepts at a time, lrp_explain_channels (zennit-crp's
 * logit seed): one forward pass, the sweep down to the layer once, the part
 * below it for the batch of conditions. For a model whose values do not
 * all carry the batch first, a batch of copies of the input, each copy
 * conditioned on its own channel, through lrp_explain. */
#include "cli/attribution.h"
#include "cli/cmd_concepts_refs.h"
#include "cli/common.h"
#include "lrp.h"
#include "cli/heatmap_out.h"
#include "cli/inside.h"
#include "cli/items.h"
#include "cli/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The copies of an input per engine pass (K conditions take ceil(K / this) passes). */
#define CONCEPT_BATCH 8

typedef struct concepts_run {
    const cli_args *a;
    cli_inside inside; /* --condition (on the layers above) */
    attribution_config ac;
    cli_method cm;
    cli_heat heat;
    bool heat_ready, need_view;
    int failed_input, failed_output;
} concepts_run;

typedef struct concept {
    int64_t channel;
    double share, raw;
    char heat_path[4200], rel_path[4200];
}
concept;

/* tmpl with every {concept} replaced by the channel number (c < 0: by 0, for checks). */
static const char *with_concept(const char *tmpl, int64_t c, char *buf, size_t size)
{
    size_t used = 0;
    for (const char *p = tmpl; *p && used + 1 < size;) {
        if (!strncmp(p, "{concept}", 9)) {
            used += (size_t)snprintf(buf + used, size - used, "%lld", (long long)(c < 0 ? 0 : c));
            p += 9;
        } else {
            buf[used++] = *p++;
        }
    }
    buf[used < size ? used : size - 1] = '\0';
    return buf;
}

/* r_c (sum over positions of channel c of sample 0) and r_c / (sum |r_c| + 1e-10). */
static int64_t concept_relevance(const lrp_tensor *R, double **raw, double **share)
{
    int64_t C = R->ndim >= 2 ? R->dims[1] : R->numel, inner = R->numel / (R->dims[0] * (C ? C : 1));
    *raw = calloc((size_t)C + 1, sizeof(double));
    *share = calloc((size_t)C + 1, sizeof(double));
    if (!*raw || !*share)
        return -1;
    double total = 0;
    const lrp_real *p = R->data;
    for (int64_t c = 0; c < C; c++) {
        for (int64_t q = 0; q < inner; q++)
            (*raw)[c] += p[c * inner + q];
        total += fabs((*raw)[c]);
    }
    for (int64_t c = 0; c < C; c++)
        (*share)[c] = (*raw)[c] / (total + 1e-10);
    return C;
}

/* The K largest shares, largest first (ties: the lower channel). */
static int top_channels(const double *share, int64_t C, int K, concept *out)
{
    if (K > C)
        K = (int)C;
    bool *used = calloc((size_t)C + 1, 1);
    if (!used)
        return -1;
    for (int k = 0; k < K; k++) {
        int64_t best = -1;
        for (int64_t c = 0; c < C; c++)
            if (!used[c] && (best < 0 || share[c] > share[best]))
                best = c;
        used[best] = true;
        out[k].channel = best;
    }
    free(used);
    return K;
}

/* Explains x (a batch of n copies) with the conditions of the command line
 * and, when per is not NULL, sample b also conditioned on channel per[b] of
 * the layer; records the layer. */
static lrp_status explain_conditioned(concepts_run *r, const lrp_tensor *x, int64_t target, const concept *per, int n,
                                      lrp_tensor **rel, lrp_tensor **logits, int64_t *used, lrp_error *err)
{
    const cli_args *a = r->a;
    int nc = r->inside.n_conditions;
    lrp_condition *conds = calloc((size_t)(nc + n + 1), sizeof *conds);
    int64_t *targets = malloc(sizeof(int64_t) * (size_t)(n + 1));
    if (!conds || !targets) {
        free(conds);
        free(targets);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    memcpy(conds, r->inside.conds, sizeof *conds * (size_t)nc);
    for (int b = 0; per && b < n; b++)
        conds[nc + b] = (lrp_condition){a->concept_layer, 1, &per[b].channel, b};
    for (int b = 0; b < n; b++)
        targets[b] = target;
    lrp_inside_options io;
    cli_inside_options(&r->inside, a, &io);
    io.n_records = 1;
    io.records = &a->concept_layer;
    io.n_conditions = nc + (per ? n : 0);
    io.conditions = conds;
    lrp_status st = lrp_explainer_set_inside(r->cm.ex, &io, err);
    if (st == LRP_OK)
        st = lrp_explain(r->cm.ex, x, targets, LRP_SEED_LOGIT, rel, logits, used, err);
    free(conds);
    free(targets);
    return st;
}

/* n copies of x along the batch dimension. */
static lrp_tensor *copies(const lrp_tensor *x, int n, lrp_error *err)
{
    int64_t dims[LRP_MAX_DIMS];
    memcpy(dims, x->dims, sizeof dims);
    dims[0] = n;
    lrp_tensor *t = lrp_tensor_new(x->dtype, x->ndim, dims, err);
    if (!t)
        return NULL;
    size_t bytes = (size_t)x->numel * sizeof(lrp_real);
    for (int b = 0; b < n; b++)
        memcpy((char *)t->data + (size_t)b * bytes, x->data, bytes);
    return t;
}

static lrp_status write_npy(const char *path, void *ctx, lrp_error *err) { return lrp_npy_write(path, ctx, err); }

/* The heatmap and the relevance of one concept: sample b of rel. */
static lrp_status write_concept(concepts_run *r, const lrp_tensor *rel, int b, concept *c, const cli_fields *f,
                                const lrp_image *view, const lrp_image *orig, lrp_error *err)
{
    const cli_args *a = r->a;
    lrp_tensor one = *rel;
    one.dims[0] = 1;
    one.numel = rel->numel / rel->dims[0];
    one.data = (char *)rel->data + (size_t)b * (size_t)one.numel * sizeof(lrp_real);
    char tmpl[4200];
    lrp_status st = LRP_OK;
    if (a->relevance_out) {
        with_concept(a->relevance_out, c->channel, tmpl, sizeof tmpl);
        if ((st = cli_template_expand(tmpl, f, c->rel_path, sizeof c->rel_path, err)) == LRP_OK &&
            (st = cli_write_output(c->rel_path, write_npy, &one, err)) != LRP_OK)
            r->failed_output++;
    }
    if (st != LRP_OK || !a->out)
        return st;
    lrp_raster *img = NULL;
    if ((st = cli_heat_render(&r->heat, &one, view && view->rgb ? view : NULL, orig && orig->rgb ? orig : NULL,
                              &r->cm.pp, &img, err)) != LRP_OK)
        return st;
    if (a->heat.grid) {
        st = cli_heat_add_tile(&r->heat, img, err);
    } else {
        with_concept(a->out, c->channel, tmpl, sizeof tmpl);
        if ((st = cli_template_expand(tmpl, f, c->heat_path, sizeof c->heat_path, err)) == LRP_OK &&
            (st = cli_heat_write(&r->heat, c->heat_path, img, err)) != LRP_OK)
            r->failed_output++;
    }
    lrp_raster_free(img);
    return st;
}

static void report(const concepts_run *r, const cli_item *it, int64_t target, double logit, int64_t C,
                   const concept *cs, int K)
{
    const cli_args *a = r->a;
    if (a->json) {
        json j;
        json_begin(&j, stdout);
        json_str(&j, "input", it->path);
        json_int(&j, "index", it->index);
        json_str(&j, "status", "ok");
        json_str(&j, "layer", a->concept_layer);
        json_int(&j, "channels", C);
        json_int(&j, "target", target);
        json_num(&j, "target_logit", logit);
        json_arr(&j, "concepts");
        for (int k = 0; k < K; k++) {
            json_obj(&j, NULL);
            json_int(&j, "channel", cs[k].channel);
            json_num(&j, "relevance", cs[k].share);
            json_num(&j, "raw", cs[k].raw);
            json_str(&j, "heatmap", cs[k].heat_path[0] ? cs[k].heat_path : NULL);
            json_str(&j, "relevance_file", cs[k].rel_path[0] ? cs[k].rel_path : NULL);
            json_obj_end(&j);
        }
        json_arr_end(&j);
        json_end(&j);
        return;
    }
    if (a->quiet)
        return;
    printf("%s: target %lld (logit %.4f), layer %s (%lld channels), top %d\n", it->path, (long long)target, logit,
           a->concept_layer, (long long)C, K);
    printf("  %8s %12s %14s\n", "channel", "relevance", "raw");
    for (int k = 0; k < K; k++) {
        printf("  %8lld %12.6f %14.6g", (long long)cs[k].channel, cs[k].share, cs[k].raw);
        if (cs[k].heat_path[0])
            printf(" -> %s", cs[k].heat_path);
        if (cs[k].rel_path[0])
            printf("%s%s", cs[k].heat_path[0] ? ", " : " -> ", cs[k].rel_path);
        putchar('\n');
    }
    fflush(stdout);
}

/* One input: the concept relevances, the top K, their heatmaps. */
static lrp_status concepts_one(concepts_run *r, const cli_item *it, lrp_error *err)
{
    const cli_args *a = r->a;
    lrp_tensor *x = NULL, *rel = NULL, *logits = NULL, *xk = NULL;
    lrp_image view = {0}, orig = {0};
    double *raw = NULL, *share = NULL;
    concept *cs = NULL;
    int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : -1, used = -1;
    lrp_status st = it->error ? lrp_fail(err, LRP_ERR_ARG, "%s", it->error) : LRP_OK;
    if (st == LRP_OK)
        st = cli_load_input(it->path, &r->cm.pp, lrp_model_get_info(r->cm.model), &x, r->need_view ? &view : NULL,
                            r->need_view ? &orig : NULL, err);
    if (st == LRP_OK && x->ndim >= 1 && x->dims[0] != 1 && x->ndim == lrp_model_get_info(r->cm.model)->input_ndim)
        st = lrp_fail(err, LRP_ERR_SHAPE, "holds a batch of %lld; concepts takes one input per file",
                      (long long)x->dims[0]);
    if (st == LRP_OK && (st = lrp_model_conform_input(r->cm.model, x, &xk, err)) == LRP_OK) { /* with a batch dim */
        lrp_tensor_free(x);
        x = xk;
        xk = NULL;
    }
    /* the first batch of concepts with the relevance at the layer, in one call */
    bool writes = a->out || a->relevance_out, fast = true, single = false;
    int n1 = writes ? (a->concept_top < CONCEPT_BATCH ? a->concept_top : CONCEPT_BATCH) : 0;
    int64_t picked[CONCEPT_BATCH];
    lrp_tensor *R = NULL;
    if (st == LRP_OK &&
        (st = lrp_explain_channels(r->cm.ex, x, target, LRP_SEED_LOGIT, a->concept_layer, n1, picked, 1, &R,
                                   writes ? &rel : NULL, &logits, &used, err)) != LRP_OK &&
        (st == LRP_ERR_UNSUPPORTED || st == LRP_ERR_SHAPE)) {
        /* values without the batch first, or a model that takes no batch (a Reshape to (1, -1)): copies of the
         * input, or one condition at a time */
        fast = false;
        *err = (lrp_error){0};
        st = explain_conditioned(r, x, target, NULL, 1, &rel, &logits, &used, err);
        if (st == LRP_OK && !(R = lrp_tensor_clone(lrp_explainer_recorded(r->cm.ex, 0), err)))
            st = err->status;
    }
    int64_t C = -1;
    if (st == LRP_OK && (C = concept_relevance(R, &raw, &share)) < 0)
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    lrp_tensor_free(R);
    int K = 0;
    if (st == LRP_OK && (!(cs = calloc((size_t)a->concept_top + 1, sizeof *cs)) ||
                         (K = top_channels(share, C, a->concept_top, cs)) < 0))
        st = lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int k = 0; fast && st == LRP_OK && k < n1 && k < K; k++)
        cs[k].channel = picked[k]; /* the same ranking, as the heatmaps have it */
    double logit = st == LRP_OK ? ((const lrp_real *)logits->data)[used] : 0;
    for (int k = 0; k < K && st == LRP_OK; k++) {
        cs[k].raw = raw[cs[k].channel];
        cs[k].share = share[cs[k].channel];
    }
    cli_fields f = {it, attribution_method_name(&r->ac, r->cm.eo.composite), used, false, 0, NULL};
    /* the conditional heatmaps, CONCEPT_BATCH at a time (the first batch is there already) */
    for (int k0 = 0; k0 < K && st == LRP_OK && writes; k0 += CONCEPT_BATCH) {
        int n = K - k0 < CONCEPT_BATCH ? K - k0 : CONCEPT_BATCH;
        int64_t chans[CONCEPT_BATCH];
        for (int b = 0; b < n; b++)
            chans[b] = cs[k0 + b].channel;
        if (k0 > 0 || !fast) {
            lrp_tensor_free(rel);
            lrp_tensor_free(xk);
            rel = xk = NULL;
        }
        if (fast && k0 > 0)
            st = lrp_explain_channels(r->cm.ex, x, used, LRP_SEED_LOGIT, a->concept_layer, n, chans, 0, NULL, &rel,
                                      NULL, NULL, err);
        if (!fast && !single) {
            lrp_tensor *lg2 = NULL;
            if (!(xk = copies(x, n, err)))
                st = err->status;
            if (st == LRP_OK)
                st = explain_conditioned(r, xk, used, cs + k0, n, &rel, &lg2, NULL, err);
            lrp_tensor_free(lg2);
            if (st == LRP_ERR_SHAPE && n > 1) {
                single = true;
                *err = (lrp_error){0};
                st = LRP_OK;
            }
        }
        for (int b = 0; b < n && st == LRP_OK; b++) {
            if (single) {
                lrp_tensor *lg2 = NULL;
                lrp_tensor_free(rel);
                rel = NULL;
                st = explain_conditioned(r, x, used, cs + k0 + b, 1, &rel, &lg2, NULL, err);
                lrp_tensor_free(lg2);
                if (st == LRP_OK)
                    st = write_concept(r, rel, 0, &cs[k0 + b], &f, &view, &orig, err);
                continue;
            }
            st = write_concept(r, rel, b, &cs[k0 + b], &f, &view, &orig, err);
        }
    }
    if (st == LRP_OK)
        report(r, it, used, logit, C, cs, K);
    free(raw);
    free(share);
    free(cs);
    lrp_tensor_free(x);
    lrp_tensor_free(xk);
    lrp_tensor_free(rel);
    lrp_tensor_free(logits);
    lrp_image_free(&view);
    lrp_image_free(&orig);
    return st;
}

static int concepts_check(const cli_args *a)
{
    char buf[4200];
    if (!a->concept_layer) {
        cli_error("concepts: --layer NODE is required (lrp inspect MODEL --composite NAME lists the nodes)");
        return EXIT_USAGE;
    }
    if (a->reference_images) {
        if (a->relevance_out) {
            cli_error("--reference-images ranks images: it writes no relevance (--relevance-out)");
            return EXIT_USAGE;
        }
        if (a->out && (!a->heat.grid || !strstr(a->out, "{concept}"))) {
            cli_error("-o %s: --reference-images writes one montage per channel: use --grid and put {concept} in the "
                      "name",
                      a->out);
            return EXIT_USAGE;
        }
        return a->out ? (cli_template_check("-o", with_concept(a->out, -1, buf, sizeof buf)) < 0 ? EXIT_USAGE : 0)
                      : EXIT_OK;
    }
    if (a->channels || a->has_reference_opts) {
        cli_error("--channels, --reference-mode, --reference-max and --reference-top go with --reference-images DIR");
        return EXIT_USAGE;
    }
    if (a->heat.grid && !a->out) {
        cli_error("--grid needs -o FILE.png");
        return EXIT_USAGE;
    }
    if (a->out && cli_template_check("-o", with_concept(a->out, -1, buf, sizeof buf)) < 0)
        return EXIT_USAGE;
    if (a->relevance_out &&
        cli_template_check("--relevance-out", with_concept(a->relevance_out, -1, buf, sizeof buf)) < 0)
        return EXIT_USAGE;
    if (a->out && !a->heat.grid && !strstr(a->out, "{concept}")) {
        cli_error("-o %s: concepts writes one heatmap per channel: put {concept} in the name", a->out);
        return EXIT_USAGE;
    }
    if (a->relevance_out && !strstr(a->relevance_out, "{concept}")) {
        cli_error("--relevance-out %s: concepts writes one relevance per channel: put {concept} in the name",
                  a->relevance_out);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cmd_concepts(cli_args *a)
{
    int rc = a->reference_images ? cli_need_args(a, 1, 1, "MODEL (the images come from --reference-images DIR)")
                                 : cli_need_args(a, 2, -1, "MODEL INPUT...");
    if (rc || (rc = concepts_check(a)) != EXIT_OK)
        return rc;
    concepts_run r = {.a = a};
    cli_items items = {0};
    if ((rc = attribution_config_from_args(a, &r.ac)) != EXIT_OK || (rc = cli_inside_parse(a, &r.inside)) != EXIT_OK)
        goto done;
    if (r.ac.o.kind != LRP_ATTRIBUTOR_GRADIENT) {
        cli_error("concepts: --attributor %s does not apply (concepts use the composite alone)", r.ac.name);
        rc = EXIT_USAGE;
        goto done;
    }
    cli_own_outputs own = {0, {NULL, NULL}, NULL, -1};
    cli_args refs_args = *a; /* --reference-images DIR: the folder as the one input argument */
    char *refs_pos[2] = {a->pos[0], (char *)a->reference_images};
    if (a->reference_images) {
        refs_args.pos = refs_pos;
        refs_args.n_pos = 2;
    }
    if ((rc = cli_gather_items(a->reference_images ? &refs_args : a, 1, &own, &items)) != EXIT_OK)
        goto done;
    if (items.n > 1 && a->out && !a->heat.grid) {
        char buf[4200];
        if (cli_template_check("-o", with_concept(a->out, -1, buf, sizeof buf)) == 0) {
            cli_error("-o %s: with several inputs, use a template such as 'out/{stem}-{concept}.png'", a->out);
            rc = EXIT_USAGE;
            goto done;
        }
    }
    if ((rc = cli_method_open(a, &r.ac, &r.cm)) != EXIT_OK)
        goto done;
    /* the layer and the conditions, checked before any input is read */
    lrp_inside_options io;
    lrp_error err = {0};
    cli_inside_options(&r.inside, a, &io);
    io.n_records = 1;
    io.records = &a->concept_layer;
    if (lrp_explainer_set_inside(r.cm.ex, &io, &err) != LRP_OK) {
        cli_error("%s", err.message);
        rc = err.status == LRP_ERR_ARG ? EXIT_USAGE : EXIT_INTERNAL;
        goto done;
    }
    if (a->reference_images) {
        rc = cli_concepts_references(a, &r.cm, &items);
        goto done;
    }
    if ((rc = cli_heat_setup(&a->heat, attribution_is_signed(&r.ac, r.cm.eo.composite), &r.heat)) != EXIT_OK)
        goto done;
    r.heat_ready = true;
    r.heat.channels_last = lrp_model_get_info(r.cm.model)->layout == LRP_LAYOUT_NHWC;
    r.need_view = a->heat.overlay || (a->heat.size && !strcmp(a->heat.size, "input"));
    for (int i = 0; i < items.n; i++) {
        err = (lrp_error){0};
        int out_before = r.failed_output;
        if (concepts_one(&r, &items.v[i], &err) != LRP_OK) {
            cli_error_at(items.v[i].path, err.message);
            if (r.failed_output == out_before)
                r.failed_input++;
            if (a->json)
                json_item_error(stdout, items.v[i].path, items.v[i].index, err.message);
        }
    }
    if (a->heat.grid && r.heat.n_tiles > 0) {
        if (cli_heat_write_grid(&r.heat, a->out, &err) != LRP_OK) {
            cli_error("%s", err.message);
            r.failed_output++;
        } else if (!a->quiet && !a->json) {
            printf("grid of %d heatmaps -> %s\n", r.heat.n_tiles, a->out);
        }
    }
    rc = r.failed_input ? EXIT_INPUT : r.failed_output ? EXIT_OUTPUT : EXIT_OK;
done:
    if (r.heat_ready)
        cli_heat_free(&r.heat);
    cli_method_close(&r.cm);
    cli_items_free(&items);
    cli_inside_free(&r.inside);
    return rc;
}
