/* lrp preprocess --write-metadata: a copy of the model with the preprocessing
 * of the command line stored in its metadata_props (keys in metadata.c). */
#include "cli/metadata.h"

#include "cli/common.h"
#include "cli/items.h"
#include "cli/labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes_ctx {
    const void *data;
    size_t len;
} bytes_ctx;

static lrp_status write_bytes(const char *path, void *ctx, lrp_error *err)
{
    const bytes_ctx *b = ctx;
    FILE *f = fopen(path, "wb");
    if (!f)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    bool ok = fwrite(b->data, 1, b->len, f) == b->len;
    ok = (fclose(f) == 0) && ok;
    return ok ? LRP_OK : lrp_fail(err, LRP_ERR_IO, "%s: write failed", path);
}

/* The values as the shortest numbers that read back to them ("0.4914", not "0.491400003"). */
static void fmt_values(char *buf, size_t size, const lrp_real *v, int n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k < size; i++) {
        char t[40];
        for (int digits = 1; digits <= 17; digits++) {
            snprintf(t, sizeof t, "%.*g", digits, (double)v[i]);
            if ((lrp_real)strtod(t, NULL) == v[i])
                break;
        }
        k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? "," : "", t);
    }
}

static int write_metadata(const cli_args *a, const cli_labels *lab, int n, const char *const *keys,
                          const char *const *values);

int cli_write_metadata(const cli_args *a)
{
    if (!a->out) {
        cli_error("preprocess --write-metadata: give the new model file with -o OUT.onnx");
        return EXIT_USAGE;
    }
    const char *inputs[] = {a->pos[0], NULL};
    int rc = cli_check_single_output("-o", a->out, inputs);
    if (rc != EXIT_OK)
        return rc;
    const char *keys[8], *values[8];
    char mean[96], std[96], range[8];
    int n = 0;
    /* --labels: the names, one per line (a JSON class index's names) */
    cli_labels lab = {0};
    char *names = NULL;
    if (a->labels && (rc = cli_labels_read(a->labels, &lab)) != EXIT_OK)
        return rc;
    size_t total = 1;
    for (int i = 0; i < lab.n; i++) {
        if (strchr(lab.name[i], '\n') || strchr(lab.name[i], '\r')) {
            cli_error("--labels %s: class %d's name has a line break, which one name per line cannot store", a->labels,
                      i);
            cli_labels_free(&lab);
            return EXIT_USAGE;
        }
        total += strlen(lab.name[i]) + 1;
    }
    if (lab.n && !(names = malloc(total))) {
        cli_labels_free(&lab);
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    for (size_t i = 0, at = 0; i < (size_t)lab.n; i++) {
        size_t k = strlen(lab.name[i]);
        memcpy(names + at, lab.name[i], k);
        at += k;
        names[at++] = i + 1 < (size_t)lab.n ? '\n' : '\0';
    }
    if (names)
        keys[n] = "lrp.labels", values[n++] = names;
    if (a->n_mean) {
        fmt_values(mean, sizeof mean, a->mean, a->n_mean);
        keys[n] = "lrp.mean", values[n++] = mean;
    }
    if (a->n_std) {
        fmt_values(std, sizeof std, a->std, a->n_std);
        keys[n] = "lrp.std", values[n++] = std;
    }
    if (a->resize)
        keys[n] = "lrp.resize", values[n++] = a->resize;
    if (a->has_pixel_range) {
        snprintf(range, sizeof range, "%d", a->pixel_range);
        keys[n] = "lrp.pixel_range", values[n++] = range;
    }
    if (a->bgr)
        keys[n] = "lrp.bgr", values[n++] = "1";
    if (a->layout)
        keys[n] = "lrp.layout", values[n++] = a->layout;
    if (!n) {
        cli_error("preprocess --write-metadata: nothing to store: give --mean, --std, --resize, --pixel-range, "
                  "--bgr, --layout or --labels");
        return EXIT_USAGE;
    }
    rc = write_metadata(a, &lab, n, keys, values);
    free(names);
    cli_labels_free(&lab);
    return rc;
}

/* The copy of the model with the n entries, once the model loads (and has
 * as many classes as lab has names, when it has any). */
static int write_metadata(const cli_args *a, const cli_labels *lab, int n, const char *const *keys,
                          const char *const *values)
{
    int rc;
    /* the model must load: a file lrp cannot read gets no metadata either */
    lrp_model *m = cli_load_model(a, false, true, &rc);
    if (!m)
        return rc;
    int64_t classes = lab->n ? lrp_model_classes(m) : -1;
    lrp_model_free(m);
    char what[4200];
    snprintf(what, sizeof what, "--labels %s", a->labels ? a->labels : "");
    if (lab->n && (rc = cli_labels_check(lab, what, classes)) != EXIT_OK)
        return rc;
    lrp_error err = {0};
    void *bytes = NULL;
    size_t len = 0;
    lrp_status st = lrp_onnx_set_metadata(a->pos[0], a->out, n, keys, values, &bytes, &len, &err);
    if (st != LRP_OK) {
        cli_error("%s", err.message);
        return st == LRP_ERR_NOMEM ? EXIT_INTERNAL : EXIT_MODEL;
    }
    bytes_ctx b = {bytes, len};
    st = cli_write_output(a->out, write_bytes, &b, &err);
    free(bytes);
    if (st != LRP_OK) {
        cli_error("%s", err.message);
        return EXIT_OUTPUT;
    }
    return EXIT_OK;
}
