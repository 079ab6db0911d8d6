/* --relevance-at and --condition. */
#include "cli/inside.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cli_inside_free(cli_inside *in)
{
    for (int i = 0; i < in->n_records; i++)
        free(in->nodes[i]);
    for (int i = 0; i < in->n_conditions; i++) {
        free(in->cond_nodes[i]);
        free(in->channels[i]);
    }
    free(in->nodes);
    free(in->files);
    free(in->conds);
    free(in->cond_nodes);
    free(in->channels);
    memset(in, 0, sizeof *in);
}

int cli_channel_list(const char *s, int64_t **out)
{
    int n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    int64_t *v = malloc(sizeof(int64_t) * (size_t)n);
    if (!v)
        return -1;
    const char *p = s;
    for (int k = 0; k < n; k++) {
        char *end;
        errno = 0;
        long long c = strtoll(p, &end, 10);
        if (errno || end == p || c < 0 || (*end && *end != ',') || p[0] == '-' || p[0] == '+') {
            free(v);
            return -2;
        }
        v[k] = c;
        p = *end ? end + 1 : end;
    }
    *out = v;
    return n;
}

/* "CH[,CH...]" into a fresh array; -1 (printed) when bad. */
static int parse_channels(const char *opt, const char *arg, const char *s, int64_t **out)
{
    int n = cli_channel_list(s, out);
    if (n == -1)
        cli_error("out of memory");
    else if (n < 0)
        cli_error("%s %s: expected NODE:CH[,CH...] with channel numbers from 0, got '%s'", opt, arg, s);
    return n < 0 ? -1 : n;
}

int cli_inside_parse(const cli_args *a, cli_inside *in)
{
    memset(in, 0, sizeof *in);
    int nr = a->relevance_at.n, nc = a->conditions.n;
    in->nodes = calloc((size_t)nr + 1, sizeof(char *));
    in->files = calloc((size_t)nr + 1, sizeof(char *));
    in->conds = calloc((size_t)nc + 1, sizeof *in->conds);
    in->cond_nodes = calloc((size_t)nc + 1, sizeof(char *));
    in->channels = calloc((size_t)nc + 1, sizeof(int64_t *));
    if (!in->nodes || !in->files || !in->conds || !in->cond_nodes || !in->channels) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    for (int i = 0; i < nr; i++) {
        const char *s = a->relevance_at.v[i], *eq = strchr(s, '=');
        if (!eq || eq == s || !eq[1]) {
            cli_error("--relevance-at: expected NODE=FILE.npy, got '%s'", s);
            return EXIT_USAGE;
        }
        if (cli_template_check("--relevance-at", eq + 1) < 0)
            return EXIT_USAGE;
        if (!(in->nodes[i] = strndup(s, (size_t)(eq - s)))) {
            cli_error("out of memory");
            return EXIT_INTERNAL;
        }
        in->files[i] = eq + 1;
        in->n_records = i + 1;
    }
    for (int i = 0; i < nc; i++) {
        const char *s = a->conditions.v[i], *colon = strrchr(s, ':');
        if (!colon || colon == s || !colon[1]) {
            cli_error("--condition: expected NODE:CH[,CH...], got '%s'", s);
            return EXIT_USAGE;
        }
        if (!(in->cond_nodes[i] = strndup(s, (size_t)(colon - s)))) {
            cli_error("out of memory");
            return EXIT_INTERNAL;
        }
        in->n_conditions = i + 1;
        int n = parse_channels("--condition", s, colon + 1, &in->channels[i]);
        if (n < 0)
            return EXIT_USAGE;
        in->conds[i] = (lrp_condition){in->cond_nodes[i], n, in->channels[i], -1};
    }
    return EXIT_OK;
}

int cli_inside_check_count(const cli_inside *in, int n_items)
{
    for (int i = 0; i < in->n_records && n_items > 1; i++)
        if (cli_template_check("--relevance-at", in->files[i]) == 0) {
            cli_error("--relevance-at %s=%s: with several inputs, use a template such as 'out/{stem}-at.npy'",
                      in->nodes[i], in->files[i]);
            return EXIT_USAGE;
        }
    return EXIT_OK;
}

void cli_inside_options(const cli_inside *in, const cli_args *a, lrp_inside_options *o)
{
    lrp_inside_options_default(o);
    o->n_records = in->n_records;
    o->records = (const char *const *)in->nodes;
    o->n_conditions = in->n_conditions;
    o->conditions = in->conds;
    o->exclude_parallel = !a->with_parallel;
}

static lrp_status write_npy(const char *path, void *ctx, lrp_error *err) { return lrp_npy_write(path, ctx, err); }

lrp_status cli_inside_write(const cli_inside *in, const lrp_explainer *e, int first, const cli_fields *f,
                            lrp_error *err)
{
    for (int i = 0; i < in->n_records; i++) {
        char path[4200];
        const lrp_tensor *R = lrp_explainer_recorded(e, first + i);
        lrp_status st = cli_template_expand(in->files[i], f, path, sizeof path, err);
        if (st == LRP_OK && !R)
            st = lrp_fail(err, LRP_ERR_INTERNAL, "no relevance was recorded at %s", in->nodes[i]);
        if (st == LRP_OK)
            st = cli_write_output(path, write_npy, (void *)R, err);
        if (st != LRP_OK)
            return st;
    }
    return LRP_OK;
}
