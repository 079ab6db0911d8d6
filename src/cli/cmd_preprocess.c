/* lrp preprocess: the tensor the model would get for an image. */
#include "cli/common.h"
#include "lrp.h"
#include "cli/items.h"
#include "cli/metadata.h"

#include <stdio.h>

static lrp_status write_npy(const char *path, void *ctx, lrp_error *err) { return lrp_npy_write(path, ctx, err); }

int cmd_preprocess(cli_args *a)
{
    cli_install_signal_cleanup(); /* no temporary file left behind */
    if (a->write_metadata) {
        int rc = cli_need_args(a, 1, 1, "MODEL (with --write-metadata)");
        return rc ? rc : cli_write_metadata(a);
    }
    int rc = cli_need_args(a, 2, 2, "MODEL IMAGE");
    if (rc)
        return rc;
    if (a->labels) {
        cli_error("preprocess: --labels is stored with --write-metadata; a tensor has no class names");
        return EXIT_USAGE;
    }
    if (!a->out) {
        cli_error("preprocess: give the output file with -o OUT.npy");
        return EXIT_USAGE;
    }
    const char *inputs[] = {a->pos[0], a->pos[1], NULL};
    if ((rc = cli_check_single_output("-o", a->out, inputs)) != EXIT_OK)
        return rc;
    lrp_model *m = cli_load_model(a, false, false, &rc);
    if (!m)
        return rc;
    const lrp_model_info *info = lrp_model_get_info(m);
    lrp_preprocess pp;
    if ((rc = cli_preprocess_config(a, info, &pp)) != EXIT_OK) {
        lrp_model_free(m);
        return rc;
    }
    lrp_error err = {0};
    lrp_tensor *x = NULL;
    lrp_status st = cli_load_input(a->pos[1], &pp, info, &x, NULL, NULL, &err);
    if (st == LRP_OK) { /* a .npy is taken as is: it must fit the model */
        lrp_tensor *fit = NULL;
        st = lrp_model_conform_input(m, x, &fit, &err);
        lrp_tensor_free(fit);
        if (st != LRP_OK)
            lrp_error_prefix(&err, "%s", a->pos[1]);
    }
    if (st != LRP_OK) {
        cli_error("%s", err.message);
        rc = cli_item_exit(st);
    } else if ((st = cli_write_output(a->out, write_npy, x, &err)) != LRP_OK) {
        cli_error("%s", err.message);
        rc = EXIT_OUTPUT;
    }
    lrp_tensor_free(x);
    lrp_model_free(m);
    return rc;
}
