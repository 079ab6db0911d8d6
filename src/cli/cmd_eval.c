/* lrp eval: region perturbation curves and AOPC for an attribution method. */
#include "cli/attribution.h"
#include "cli/common.h"
#include "lrp.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cmd_eval(cli_args *a)
{
    int rc = cli_need_args(a, a->list ? 1 : 2, -1, "MODEL INPUT...");
    if (rc)
        return rc;
    attribution_config ac;
    if ((rc = attribution_config_from_args(a, &ac)) != EXIT_OK)
        return rc;
    int orders[2], n_orders = 0;
    const char *ord = a->order ? a->order : "both";
    if (strcmp(ord, "lerf"))
        orders[n_orders++] = LRP_MORF;
    if (strcmp(ord, "morf"))
        orders[n_orders++] = LRP_LERF;
    lrp_perturb_options po;
    lrp_perturb_options_default(&po);
    po.patch = a->patch;
    po.steps = a->eval_steps;
    po.seed = a->seed;
    if (a->eval_baseline)
        po.baseline = !strcmp(a->eval_baseline, "zero") ? LRP_PERTURB_ZERO
                      : !strcmp(a->eval_baseline, "mean") ? LRP_PERTURB_MEAN
                                                          : LRP_PERTURB_UNIFORM;
    cli_items items = {0};
    cli_method cm = {0};
    float *curve = NULL;
    double sums[2] = {0, 0};
    int n_ok = 0, failed = 0, internal = 0;
    if ((rc = cli_gather_items(a, 1, NULL, &items)) != EXIT_OK)
        goto done;
    if ((rc = cli_method_open(a, &ac, &cm)) != EXIT_OK)
        goto done;
    lrp_model *m = cm.model;
    const lrp_model_info *info = lrp_model_get_info(m);
    lrp_error err = {0};
    if (!(curve = malloc(sizeof(float) * 2 * (size_t)(po.steps + 1)))) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    const char *method = attribution_method_name(&ac, cm.eo.composite);
    static const char *const order_names[2] = {"morf", "lerf"};
    if (!a->json && !a->quiet) {
        printf("# lrp eval: region perturbation, %dx%d regions, up to %d steps, baseline %s%s\n", po.patch, po.patch,
               po.steps, po.baseline == LRP_PERTURB_ZERO ? "zero" : po.baseline == LRP_PERTURB_MEAN ? "mean" : "uniform",
               po.baseline == LRP_PERTURB_UNIFORM ? " (seeded by --seed)" : "");
        printf("input,method,target,order,step,logit,drop\n");
    }
    progress prog;
    progress_start(&prog, items.n, a->quiet || a->json);
    double *aopc = calloc((size_t)(items.n ? items.n : 1) * 2, sizeof(double));
    int64_t *tgt = calloc((size_t)(items.n ? items.n : 1), sizeof(int64_t));
    bool *ok = calloc((size_t)(items.n ? items.n : 1), sizeof(bool));
    if (!aopc || !tgt || !ok) {
        free(aopc);
        free(tgt);
        free(ok);
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (int i = 0; i < items.n; i++) {
        cli_item *it = &items.v[i];
        progress_update(&prog, i, it->path);
        lrp_tensor *x = NULL, *rel = NULL, *logits = NULL;
        int64_t target = it->target >= 0 ? it->target : a->has_target ? a->target : -1;
        lrp_status st = it->error ? lrp_fail(&err, LRP_ERR_ARG, "%s", it->error) : LRP_OK;
        if (st == LRP_OK)
            st = cli_load_input(it->path, &cm.pp, info, &x, NULL, NULL, &err);
        if (st == LRP_OK && x->ndim == info->input_ndim && x->dims[0] != 1)
            st = lrp_fail(&err, LRP_ERR_SHAPE, "%s: holds a batch; eval takes one input per file", it->path);
        if (st == LRP_OK)
            st = attribution_run(cm.attr, x, target, a->seed_logit ? LRP_SEED_LOGIT : LRP_SEED_ONE, &rel, &logits,
                                 &tgt[i], NULL, &err);
        /* both curves first, so that an item is reported as ok or as an
         * error, never as a half-written ok */
        int Ks[2] = {0, 0};
        for (int oi = 0; oi < n_orders && st == LRP_OK; oi++) {
            po.order = (lrp_perturb_order)orders[oi];
            st = lrp_region_perturbation(m, x, rel, tgt[i], &po, curve + (size_t)oi * (size_t)(po.steps + 1), &Ks[oi],
                                         &err);
            if (st == LRP_OK)
                aopc[2 * i + orders[oi]] = lrp_aopc(curve + (size_t)oi * (size_t)(po.steps + 1), Ks[oi]);
        }
        if (st != LRP_OK && !strstr(err.message, it->path))
            lrp_error_prefix(&err, "%s", it->path); /* name the input, as explain does */
        json j;
        if (st == LRP_OK && a->json) {
            json_begin(&j, stdout);
            json_str(&j, "input", it->path);
            json_int(&j, "index", it->index);
            json_str(&j, "status", "ok");
            json_str(&j, "method", method);
            json_int(&j, "target", tgt[i]);
        }
        for (int oi = 0; oi < n_orders && st == LRP_OK; oi++) {
            const float *cv = curve + (size_t)oi * (size_t)(po.steps + 1);
            int K = Ks[oi];
            if (a->json) {
                json_arr(&j, order_names[orders[oi]]);
                for (int k = 0; k <= K; k++)
                    json_num(&j, NULL, cv[k]);
                json_arr_end(&j);
                char key[32];
                snprintf(key, sizeof key, "aopc_%s", order_names[orders[oi]]);
                json_num(&j, key, aopc[2 * i + orders[oi]]);
            } else if (!a->quiet) {
                progress_clear(&prog);
                for (int k = 0; k <= K; k++)
                    printf("%s,%s,%lld,%s,%d,%.7g,%.7g\n", it->path, method, (long long)tgt[i],
                           order_names[orders[oi]], k, cv[k], cv[0] - cv[k]);
            }
        }
        if (st == LRP_OK) {
            ok[i] = true;
            n_ok++;
            for (int oi = 0; oi < n_orders; oi++)
                sums[orders[oi]] += aopc[2 * i + orders[oi]];
            if (a->json) {
                if (n_orders == 2)
                    json_num(&j, "abpc", aopc[2 * i] - aopc[2 * i + 1]);
                json_end(&j);
            }
        } else {
            if (a->json) {
                json_begin(&j, stdout);
                json_str(&j, "input", it->path);
                json_int(&j, "index", it->index);
                json_str(&j, "status", "error");
                json_str(&j, "error", err.message);
                json_end(&j);
            }
            progress_clear(&prog);
            cli_error("%s", err.message);
            if (cli_item_exit(st) == EXIT_INTERNAL)
                internal++;
            else
                failed++;
        }
        lrp_tensor_free(x);
        lrp_tensor_free(rel);
        lrp_tensor_free(logits);
    }
    progress_done(&prog);
    /* summary */
    if (a->json) {
        json j;
        json_begin(&j, stdout);
        json_str(&j, "summary", method);
        json_int(&j, "images", n_ok);
        for (int oi = 0; oi < n_orders; oi++) {
            char key[32];
            snprintf(key, sizeof key, "aopc_%s", order_names[orders[oi]]);
            json_num(&j, key, n_ok ? sums[orders[oi]] / n_ok : NAN);
        }
        if (n_orders == 2)
            json_num(&j, "abpc", n_ok ? (sums[0] - sums[1]) / n_ok : NAN);
        json_end(&j);
    } else if (!a->quiet) {
        printf("\ninput,method,target,aopc_morf,aopc_lerf,abpc\n");
        for (int i = 0; i < items.n; i++) {
            if (!ok[i])
                continue;
            printf("%s,%s,%lld", items.v[i].path, method, (long long)tgt[i]);
            for (int o = 0; o < 2; o++) {
                bool have = (o == 0 && strcmp(ord, "lerf")) || (o == 1 && strcmp(ord, "morf"));
                if (have)
                    printf(",%.7g", aopc[2 * i + o]);
                else
                    printf(",");
            }
            printf(n_orders == 2 ? ",%.7g\n" : ",\n", aopc[2 * i] - aopc[2 * i + 1]);
        }
        if (n_ok) {
            printf("mean,%s,", method);
            for (int o = 0; o < 2; o++) {
                bool have = (o == 0 && strcmp(ord, "lerf")) || (o == 1 && strcmp(ord, "morf"));
                if (have)
                    printf(",%.7g", sums[o] / n_ok);
                else
                    printf(",");
            }
            printf(n_orders == 2 ? ",%.7g\n" : ",\n", (sums[0] - sums[1]) / n_ok);
        }
    }
    free(aopc);
    free(tgt);
    free(ok);
    rc = internal ? EXIT_INTERNAL : failed ? EXIT_INPUT : EXIT_OK;
done:
    free(curve);
    cli_method_close(&cm);
    cli_items_free(&items);
    return rc;
}
