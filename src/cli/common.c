/* Shared command helpers. */
#include "cli/common.h"
#include "cli/items.h"
#include "cli/json.h"
#include "cli/metadata.h"
#include "cli/progress.h"

#include "cli/outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_need_args(const cli_args *a, int min, int max, const char *what)
{
    if (a->n_pos < min || (max >= 0 && a->n_pos > max)) {
        cli_error("%s: expected %s (try 'lrp %s --help')", cli_command_name(a->command), what,
                  cli_command_name(a->command));
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

lrp_model *cli_load_model(const cli_args *a, bool canonize, bool allow_unsupported, int *rc)
{
    lrp_load_options o;
    lrp_load_options_default(&o);
    o.threads = a->threads;
    o.openblas = a->openblas;
    o.canonize = canonize;
    o.strip_softmax = 1;
    o.allow_unsupported = allow_unsupported;
    o.zero_biases = a->zero_biases;
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(a->pos[0], &o, &err);
    if (!m) {
        cli_error("%s", err.message);
        *rc = err.status == LRP_ERR_NOMEM ? EXIT_INTERNAL : EXIT_MODEL;
        return NULL;
    }
    const char *layout = a->layout;
    if (!layout && (*rc = cli_metadata_layout(lrp_model_get_info(m), &layout)) != EXIT_OK) {
        lrp_model_free(m);
        return NULL;
    }
    if (layout) {
        lrp_layout l = !strcmp(layout, "nhwc") ? LRP_LAYOUT_NHWC : LRP_LAYOUT_NCHW;
        if (lrp_model_set_layout(m, l, &err) != LRP_OK) {
            cli_error("%s", err.message);
            lrp_model_free(m);
            *rc = EXIT_USAGE;
            return NULL;
        }
    }
    *rc = EXIT_OK;
    return m;
}

int cli_item_exit(lrp_status st)
{
    switch (st) {
    case LRP_OK: return EXIT_OK;
    case LRP_ERR_NOMEM:
    case LRP_ERR_INTERNAL: return EXIT_INTERNAL;
    default: return EXIT_INPUT;
    }
}

int cli_check_single_output(const char *opt, const char *out, const char *const *inputs)
{
    cli_guard *g = cli_guard_new();
    if (!g) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    int rc = EXIT_OK;
    for (int i = 0; inputs[i] && rc == EXIT_OK; i++)
        rc = cli_guard_input(g, inputs[i]);
    if (rc == EXIT_OK)
        rc = cli_guard_output(g, opt, out, NULL);
    cli_guard_free(g);
    return rc;
}

void cli_error_at(const char *path, const char *message)
{
    size_t n = strlen(path);
    if (!strncmp(message, path, n) && message[n] == ':')
        cli_error("%s", message);
    else
        cli_error("%s: %s", path, message);
}

void cli_item_failed(const cli_args *a, progress *prog, const cli_item *it, lrp_status st, const lrp_error *err,
                     int *failed, int *internal)
{
    if (a->json)
        json_item_error(stdout, it->path, it->index, err->message);
    progress_clear(prog);
    cli_error("%s", err->message);
    if (cli_item_exit(st) == EXIT_INTERNAL)
        (*internal)++;
    else
        (*failed)++;
}
