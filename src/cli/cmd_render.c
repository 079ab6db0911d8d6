/* lrp render: a saved relevance as a heatmap. */
#include "cli/common.h"
#include "lrp.h"
#include "cli/heatmap_out.h"
#include "cli/items.h"

#include <string.h>

int cmd_render(cli_args *a)
{
    cli_install_signal_cleanup(); /* no temporary file left behind */
    int rc = cli_need_args(a, 1, 1, "RELEVANCE.npy");
    if (rc)
        return rc;
    if (!a->out) {
        cli_error("render: give the output file with -o OUT.png");
        return EXIT_USAGE;
    }
    const char *inputs[] = {a->pos[0], NULL};
    if ((rc = cli_check_single_output("-o", a->out, inputs)) != EXIT_OK)
        return rc;
    cli_heat h;
    if ((rc = cli_heat_setup(&a->heat, true, &h)) != EXIT_OK)
        return rc;
    lrp_error err = {0};
    lrp_tensor *r = NULL;
    lrp_status st = lrp_npy_read(a->pos[0], &r, &err);
    if (st != LRP_OK) {
        cli_error("%s", err.message);
        cli_heat_free(&h);
        return cli_item_exit(st);
    }
    /* (C,H,W) without a batch dim: one sample */
    if (r->ndim == 3 && (r->dims[0] == 1 || r->dims[0] == 3)) {
        memmove(r->dims + 1, r->dims, 3 * sizeof(int64_t));
        r->dims[0] = 1;
        r->ndim = 4;
    }
    if (r->ndim == 4 && r->dims[3] <= 4 && r->dims[1] > 4)
        h.channels_last = true; /* (N,H,W,C) */
    int64_t n = r->ndim >= 3 ? r->dims[0] : 1;
    lrp_raster *img = NULL;
    int64_t bad = lrp_find_nonfinite(r);
    if (bad >= 0) {
        /* a NaN would normalise the whole map to nothing: no heatmap, as explain gives none */
        st = lrp_fail(&err, LRP_ERR_NUMERIC, "%s: not finite (%s at element %lld): no heatmap made", a->pos[0],
                      lrp_nonfinite_name(((const lrp_real *)r->data)[bad]), (long long)bad);
    } else if (r->ndim < 2 || r->ndim > 4) {
        st = lrp_fail(&err, LRP_ERR_SHAPE, "%s: expected a relevance of rank 2 to 4", a->pos[0]);
    } else if (n > 1 && !a->heat.grid) {
        st = lrp_fail(&err, LRP_ERR_SHAPE, "%s: holds %lld samples; use --grid to render them all", a->pos[0],
                      (long long)n);
    } else {
        lrp_heatmap_opts o = h.opts;
        o.channels_last = h.channels_last;
        st = lrp_heatmap_indices(r, &o, a->heat.grid ? -1 : 0, &img, &err);
        if (st != LRP_OK)
            lrp_error_prefix(&err, "%s", a->pos[0]);
    }
    lrp_raster *fin = NULL;
    if (st == LRP_OK && (st = cli_heat_finish(&h, img, &fin, &err)) == LRP_OK && fin != img) {
        lrp_raster_free(img); /* --colorbar */
        img = fin;
    }
    if (st != LRP_OK) {
        cli_error("%s", err.message);
        rc = cli_item_exit(st);
    } else if (cli_heat_write(&h, a->out, img, &err) != LRP_OK) {
        cli_error("%s", err.message);
        rc = EXIT_OUTPUT;
    }
    lrp_raster_free(img);
    lrp_tensor_free(r);
    cli_heat_free(&h);
    return rc;
}
