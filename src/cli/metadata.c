/* Preprocessing stored with the model: the keys lrp reads from an ONNX
 * model's metadata_props when the command line does not say otherwise
 * (metadata_write.c stores them). Values are text:
 *   lrp.mean, lrp.std   "R,G,B" or one value
 *   lrp.resize          N, "none" or "exact" (as --resize)
 *   lrp.pixel_range     "1" or "255"
 *   lrp.bgr             "0" or "1"
 *   lrp.layout          "nchw" or "nhwc" */
#include "cli/metadata.h"

#include "cli/common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(const lrp_model_info *info, const char *key, const char *v, const char *want)
{
    cli_error("%s: metadata %s is '%.60s': %s", info->path, key, v, want);
    return EXIT_MODEL;
}

/* 1 or nc comma-separated finite numbers (nonzero for std) into out. */
static int parse_values(const lrp_model_info *info, const char *key, const char *v, int nc, bool nonzero,
                        lrp_real *out)
{
    double d[3];
    int n = 0;
    const char *s = v;
    while (n < 3) {
        char *end;
        errno = 0;
        d[n] = strtod(s, &end);
        if (end == s || errno || !isfinite(d[n]) || (nonzero && d[n] == 0))
            return bad(info, key, v,
                       nonzero ? "want 1 or 3 nonzero numbers, comma-separated"
                               : "want 1 or 3 numbers, comma-separated");
        n++;
        if (*end == '\0')
            break;
        if (*end != ',')
            return bad(info, key, v, "want numbers separated by commas");
        s = end + 1;
    }
    if (*s && n == 3 && strchr(s, ','))
        return bad(info, key, v, "want at most 3 numbers");
    if (n != 1 && n != nc) {
        char want[64];
        snprintf(want, sizeof want, "the model takes %d channel%s", nc, nc == 1 ? "" : "s");
        return bad(info, key, v, want);
    }
    for (int c = 0; c < nc; c++)
        out[c] = (lrp_real)d[n == 1 ? 0 : c];
    return EXIT_OK;
}

int cli_metadata_preprocess(const cli_args *a, const lrp_model_info *info, lrp_preprocess *p)
{
    const char *v;
    int rc;
    if (!a->resize && (v = lrp_model_metadata(info, "lrp.resize"))) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!strcmp(v, "none"))
            p->resize_mode = LRP_RESIZE_NONE;
        else if (!strcmp(v, "exact"))
            p->resize_mode = LRP_RESIZE_EXACT;
        else if (end != v && !*end && n >= 1 && n <= 65536) {
            p->resize_mode = LRP_RESIZE_SHORTER;
            p->resize_to = (int)n;
        } else
            return bad(info, "lrp.resize", v, "want a size from 1 to 65536, 'none' or 'exact'");
    }
    if (!a->n_mean && (v = lrp_model_metadata(info, "lrp.mean")) &&
        (rc = parse_values(info, "lrp.mean", v, p->channels, false, p->mean)) != EXIT_OK)
        return rc;
    if (!a->n_std && (v = lrp_model_metadata(info, "lrp.std")) &&
        (rc = parse_values(info, "lrp.std", v, p->channels, true, p->std)) != EXIT_OK)
        return rc;
    if (!a->has_pixel_range && (v = lrp_model_metadata(info, "lrp.pixel_range"))) {
        if (strcmp(v, "1") && strcmp(v, "255"))
            return bad(info, "lrp.pixel_range", v, "want 1 or 255");
        p->range255 = !strcmp(v, "255");
    }
    if (!a->bgr && (v = lrp_model_metadata(info, "lrp.bgr"))) {
        if (strcmp(v, "0") && strcmp(v, "1"))
            return bad(info, "lrp.bgr", v, "want 0 or 1");
        p->bgr = !strcmp(v, "1");
    }
    return EXIT_OK;
}

int cli_metadata_layout(const lrp_model_info *info, const char **layout)
{
    const char *v = lrp_model_metadata(info, "lrp.layout");
    if (!v)
        return EXIT_OK;
    if (strcmp(v, "nchw") && strcmp(v, "nhwc"))
        return bad(info, "lrp.layout", v, "want nchw or nhwc");
    *layout = v;
    return EXIT_OK;
}
