/* lrp compare: two heatmaps (decoded pixels) or two .npy files (relative L2). */
#include "cli/common.h"
#include "cli/json.h"
#include "lrp_render.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum { KIND_ERR, KIND_NPY, KIND_PNG, KIND_OTHER } file_kind;

static file_kind kind_of(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return KIND_ERR;
    unsigned char m[8] = {0};
    size_t n = fread(m, 1, 8, f);
    fclose(f);
    if (n >= 6 && !memcmp(m, "\x93NUMPY", 6))
        return KIND_NPY;
    if (n == 8 && !memcmp(m, "\x89PNG\r\n\x1a\n", 8))
        return KIND_PNG;
    return KIND_OTHER;
}

static void verdict(const cli_args *a, bool same, const char *what, double figure, double tol, const char *detail)
{
    if (a->json) {
        json j;
        json_begin(&j, stdout);
        json_str(&j, "a", a->pos[0]);
        json_str(&j, "b", a->pos[1]);
        json_str(&j, "kind", what);
        json_bool(&j, "equal", same);
        json_num(&j, "difference", figure);
        json_num(&j, "tolerance", tol);
        if (detail)
            json_str(&j, "detail", detail);
        json_end(&j);
    } else if (!a->quiet) {
        printf("%s: %s %s and %s: %s %.6g (tolerance %.6g)%s%s\n", same ? "same" : "DIFFERENT", what, a->pos[0],
               a->pos[1], !strcmp(what, "relevance") ? "relative L2" : "differing pixels", figure, tol,
               detail ? "; " : "", detail ? detail : "");
    }
}

static int compare_npy(const cli_args *a)
{
    lrp_error err = {0};
    lrp_tensor *x = NULL, *y = NULL;
    if (lrp_npy_read(a->pos[0], &x, &err) != LRP_OK || lrp_npy_read(a->pos[1], &y, &err) != LRP_OK) {
        cli_error("%s", err.message);
        lrp_tensor_free(x);
        return EXIT_INPUT;
    }
    double tol = a->has_tolerance ? a->tolerance : 1e-5;
    int rc;
    char sa[128], sb[128], detail[300];
    if (x->numel != y->numel || x->ndim != y->ndim || memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)x->ndim)) {
        snprintf(detail, sizeof detail, "shapes %s and %s differ", lrp_shape_str(x->ndim, x->dims, sa, sizeof sa),
                 lrp_shape_str(y->ndim, y->dims, sb, sizeof sb));
        verdict(a, false, "relevance", INFINITY, tol, detail);
        rc = EXIT_DIFFER;
    } else {
        double num = 0, den = 0, mx = 0;
        const lrp_real *p = x->data, *q = y->data;
        for (int64_t i = 0; i < x->numel; i++) {
            double d = (double)p[i] - (double)q[i];
            num += d * d;
            den += (double)q[i] * (double)q[i];
            if (!(fabs(d) <= mx))
                mx = fabs(d);
        }
        double rel = den > 0 ? sqrt(num / den) : (num > 0 ? INFINITY : 0.0);
        if (num != num)
            rel = NAN;
        bool same = rel <= tol;
        snprintf(detail, sizeof detail, "max abs difference %.6g", mx);
        verdict(a, same, "relevance", rel, tol, detail);
        rc = same ? EXIT_OK : EXIT_DIFFER;
    }
    lrp_tensor_free(x);
    lrp_tensor_free(y);
    return rc;
}

static int compare_png(const cli_args *a)
{
    lrp_error err = {0};
    lrp_raster *x = NULL, *y = NULL;
    if (lrp_png_read_rgb(a->pos[0], &x, &err) != LRP_OK || lrp_png_read_rgb(a->pos[1], &y, &err) != LRP_OK) {
        cli_error("%s", err.message);
        lrp_raster_free(x);
        return EXIT_INPUT;
    }
    double tol = a->has_tolerance ? a->tolerance : 0.0;
    int rc;
    char detail[200];
    if (x->width != y->width || x->height != y->height) {
        snprintf(detail, sizeof detail, "sizes %dx%d and %dx%d differ", x->width, x->height, y->width, y->height);
        verdict(a, false, "heatmap", 1.0, tol, detail);
        rc = EXIT_DIFFER;
    } else {
        size_t n = (size_t)x->width * x->height, diff = 0;
        int maxd = 0;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = x->data + 3 * i, *q = y->data + 3 * i;
            if (memcmp(p, q, 3)) {
                diff++;
                for (int c = 0; c < 3; c++) {
                    int d = p[c] > q[c] ? p[c] - q[c] : q[c] - p[c];
                    maxd = d > maxd ? d : maxd;
                }
            }
        }
        double frac = n ? (double)diff / (double)n : 0.0;
        bool same = frac <= tol;
        snprintf(detail, sizeof detail, "%zu of %zu pixels differ, by up to %d levels", diff, n, maxd);
        verdict(a, same, "heatmap", frac, tol, detail);
        rc = same ? EXIT_OK : EXIT_DIFFER;
    }
    lrp_raster_free(x);
    lrp_raster_free(y);
    return rc;
}

int cmd_compare(cli_args *a)
{
    int rc = cli_need_args(a, 2, 2, "two files, A and B");
    if (rc)
        return rc;
    file_kind k[2];
    for (int i = 0; i < 2; i++) {
        k[i] = kind_of(a->pos[i]);
        if (k[i] == KIND_ERR) {
            cli_error("%s: %s", a->pos[i], strerror(errno));
            return EXIT_INPUT;
        }
        if (k[i] == KIND_OTHER) {
            cli_error("%s: neither a .npy file nor a PNG image", a->pos[i]);
            return EXIT_INPUT;
        }
    }
    if (k[0] != k[1]) {
        cli_error("compare: %s and %s are of different kinds (a .npy and a PNG)", a->pos[0], a->pos[1]);
        return EXIT_USAGE;
    }
    return k[0] == KIND_NPY ? compare_npy(a) : compare_png(a);
}
