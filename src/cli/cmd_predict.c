/* lrp predict: top-K classes with logits and softmax probabilities. */
#include "cli/common.h"
#include "lrp.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/labels.h"
#include "cli/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ranked {
    int64_t cls;
    lrp_real logit;
    double prob;
} ranked;

static int by_logit(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit < y->logit ? 1 : -1;
    return x->cls < y->cls ? -1 : x->cls > y->cls;
}

/* The logits of one input (errors name the input). */
static lrp_status predict_item(lrp_model *m, const lrp_preprocess *pp, const cli_item *it, lrp_tensor **logits,
                               lrp_error *err)
{
    lrp_tensor *x = NULL;
    lrp_status st = it->error ? lrp_fail(err, LRP_ERR_ARG, "%s", it->error) : LRP_OK;
    if (st == LRP_OK)
        st = cli_load_input(it->path, pp, lrp_model_get_info(m), &x, NULL, NULL, err);
    if (st == LRP_OK) {
        st = lrp_model_run(m, x, logits, err);
        if (st != LRP_OK && !strstr(err->message, it->path))
            lrp_error_prefix(err, "%s", it->path); /* name the input, as explain does */
        if (st == LRP_OK && (*logits)->dims[0] != 1) {
            st = lrp_fail(err, LRP_ERR_SHAPE, "%s: a batch of %lld; predict takes one input per file", it->path,
                          (long long)(*logits)->dims[0]);
        }
    }
    lrp_tensor_free(x);
    return st;
}

/* The classes by logit, with their softmax probabilities; NULL when out of memory. */
static ranked *rank(const lrp_tensor *logits)
{
    int64_t C = logits->dims[1];
    const lrp_real *l = (const lrp_real *)logits->data;
    ranked *r = malloc(sizeof *r * (size_t)(C ? C : 1));
    if (!r)
        return NULL;
    double mx = -INFINITY, sum = 0;
    for (int64_t c = 0; c < C; c++)
        mx = l[c] > mx ? l[c] : mx;
    for (int64_t c = 0; c < C; c++)
        sum += exp((double)l[c] - mx);
    for (int64_t c = 0; c < C; c++) {
        r[c].cls = c;
        r[c].logit = l[c];
        r[c].prob = exp((double)l[c] - mx) / sum;
    }
    qsort(r, (size_t)C, sizeof *r, by_logit);
    return r;
}

static void print_top(const cli_args *a, const cli_item *it, const lrp_tensor *logits, const ranked *r, char **labels,
                      int n_labels, progress *prog)
{
    int64_t C = logits->dims[1];
    const lrp_real *l = (const lrp_real *)logits->data;
    int64_t k = a->top < C ? a->top : C;
    if (a->json) {
        json j;
        json_begin(&j, stdout);
        json_str(&j, "input", it->path);
        json_int(&j, "index", it->index);
        json_str(&j, "status", "ok");
        json_arr(&j, "logits");
        for (int64_t c = 0; c < C; c++)
            json_num(&j, NULL, l[c]);
        json_arr_end(&j);
        json_arr(&j, "top");
        for (int64_t q = 0; q < k; q++) {
            json_obj(&j, NULL);
            json_int(&j, "class", r[q].cls);
            json_num(&j, "logit", r[q].logit);
            json_num(&j, "probability", r[q].prob);
            if (labels)
                json_str(&j, "label", r[q].cls < n_labels ? labels[r[q].cls] : NULL);
            json_obj_end(&j);
        }
        json_arr_end(&j);
        json_end(&j);
    } else if (!a->quiet) {
        progress_clear(prog);
        printf("%s\n", it->path);
        for (int64_t q = 0; q < k; q++) {
            printf("  %5lld  p=%.4f  logit=%9.4f", (long long)r[q].cls, r[q].prob, r[q].logit);
            if (labels && r[q].cls < n_labels)
                printf("  %s", labels[r[q].cls]);
            putchar('\n');
        }
        fflush(stdout);
    }
}

int cmd_predict(cli_args *a)
{
    int rc = cli_need_args(a, a->list ? 1 : 2, -1, "MODEL INPUT...");
    if (rc)
        return rc;
    cli_labels lab = {0};
    char what[4200];
    if ((rc = cli_labels_open(a->labels, a->pos[0], &lab, what, sizeof what)) != EXIT_OK)
        return rc;
    char **labels = lab.n ? lab.name : NULL;
    int n_labels = lab.n;
    cli_items items;
    if ((rc = cli_gather_items(a, 1, NULL, &items)) != EXIT_OK) {
        cli_labels_free(&lab);
        return rc;
    }
    lrp_model *m = cli_load_model(a, false, false, &rc);
    lrp_preprocess pp;
    /* the labels must name every class: checked once the count is known */
    int64_t classes = m ? lrp_model_classes(m) : -1;
    if (m && lab.n && (rc = cli_labels_check(&lab, what, classes)) != EXIT_OK) {
        lrp_model_free(m);
        m = NULL;
    }
    if (m && (rc = cli_preprocess_config(a, lrp_model_get_info(m), &pp)) == EXIT_OK) {
        progress prog;
        progress_start(&prog, items.n, a->quiet || a->json);
        for (int i = 0; i < items.n; i++) {
            cli_item *it = &items.v[i];
            progress_update(&prog, i, it->path);
            lrp_error err = {0};
            lrp_tensor *logits = NULL;
            lrp_status st = predict_item(m, &pp, it, &logits, &err);
            ranked *r = NULL;
            int lrc;
            if (st == LRP_OK && lab.n && classes < 0 &&
                (lrc = cli_labels_check(&lab, what, classes = logits->dims[1])) != EXIT_OK) {
                lrp_tensor_free(logits);
                rc = lrc;
                break;
            }
            if (st != LRP_OK) {
                progress_clear(&prog);
                cli_error("%s", err.message);
                int e = cli_item_exit(st);
                if (e > rc || rc == EXIT_OK)
                    rc = e;
                if (a->json)
                    json_item_error(stdout, it->path, it->index, err.message);
            } else if ((r = rank(logits))) {
                print_top(a, it, logits, r, labels, n_labels, &prog);
            }
            free(r);
            lrp_tensor_free(logits);
            if (st == LRP_OK && !r) {
                cli_error("out of memory");
                rc = EXIT_INTERNAL;
                break;
            }
        }
        progress_done(&prog);
    }
    lrp_model_free(m);
    cli_items_free(&items);
    cli_labels_free(&lab);
    return rc;
}
