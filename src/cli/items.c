/* Items of a run, inputs, output templates and atomic writes. */
#include "cli/items.h"
#include "cli/metadata.h"

#include "lrp.h"
#include "cli/exif.h"
#include "cli/outputs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ items */

static int push(cli_items *it, const char *path, int64_t target, const char *error)
{
    if (it->n == it->cap) {
        int cap = it->cap ? it->cap * 2 : 64;
        cli_item *v = realloc(it->v, sizeof *v * (size_t)cap);
        if (!v)
            return -1;
        it->v = v;
        it->cap = cap;
    }
    cli_item *x = &it->v[it->n];
    memset(x, 0, sizeof *x);
    x->path = strdup(path);
    x->target = target;
    x->index = it->n;
    if (error)
        x->error = strdup(error);
    if (!x->path || (error && !x->error)) {
        free(x->path);
        free(x->error);
        return -1;
    }
    it->n++;
    return 0;
}

void cli_items_free(cli_items *items)
{
    for (int i = 0; i < items->n; i++) {
        free(items->v[i].path);
        free(items->v[i].error);
    }
    free(items->v);
    memset(items, 0, sizeof *items);
}

static bool wanted_file(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") ||
                   !strcasecmp(dot, ".npy"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds the image and .npy files under dir, sorted by name, recursively. */
static int scan_dir(cli_items *it, const char *dir, int depth)
{
    if (depth > 64)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return push(it, dir, -1, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, sizeof(char *) * (size_t)cap);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = -1;
            break;
        }
        size_t dl = strlen(dir);
        snprintf(p, len, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rc = scan_dir(it, p, depth + 1);
        else if (wanted_file(names[i])) {
            rc = push(it, p, -1, NULL);
            if (rc == 0)
                it->v[it->n - 1].found = true;
        }
        free(p);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int read_list(cli_items *it, const char *list)
{
    FILE *f = strcmp(list, "-") ? fopen(list, "r") : stdin;
    if (!f) {
        cli_error("%s: %s", list, strerror(errno));
        return EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = EXIT_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        int64_t target = -1;
        char msg[600] = "";
        if (tab) {
            *tab = '\0';
            char *end;
            errno = 0;
            long long t = strtoll(tab + 1, &end, 10);
            while (*end == ' ')
                end++;
            if (errno || end == tab + 1 || *end || t < 0)
                snprintf(msg, sizeof msg, "%s line %ld (%.200s): bad target '%.100s'",
                         strcmp(list, "-") ? list : "stdin", lineno, line, tab + 1);
            else
                target = t;
        }
        if (push(it, line, target, msg[0] ? msg : NULL) != 0) {
            cli_error("out of memory");
            rc = EXIT_INTERNAL;
            break;
        }
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* ------------------------------------------------ a run's own outputs */

typedef struct own_key {
    char *key; /* exact: the canonical path; wild: the canonical pattern without digits and wildcards */
    char *pat; /* wild: the canonical pattern (NULL for exact) */
    int item;  /* the item whose output it is */
} own_key;

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const own_key *)a)->key, ((const own_key *)b)->key);
}

static char *strip_digits(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (!d)
        return NULL;
    size_t n = 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && *s != CLI_WILD)
            d[n++] = *s;
    d[n] = '\0';
    return d;
}

/* p with CLI_WILD standing for one or more digits matches s. */
static bool wild_match(const char *p, const char *s)
{
    for (; *p; p++, s++) {
        if (*p == CLI_WILD) {
            if (!isdigit((unsigned char)*s))
                return false;
            const char *e = s;
            while (isdigit((unsigned char)*e))
                e++;
            for (const char *q = e; q > s; q--) /* longest run first */
                if (wild_match(p + 1, q))
                    return true;
            return false;
        }
        if (*p != *s)
            return false;
    }
    return *s == '\0';
}

/* Flags the items found in directories that are outputs of other items. */
static int find_own_outputs(const cli_items *all, const cli_own_outputs *own, bool *drop)
{
    bool any_found = false;
    for (int i = 0; i < all->n && !any_found; i++)
        any_found = all->v[i].found;
    if (!any_found || !own || own->n == 0)
        return 0;
    size_t n_keys = 0, cap = (size_t)all->n * (size_t)own->n;
    own_key *keys = calloc(cap ? cap : 1, sizeof *keys);
    int rc = keys ? 0 : -1;
    char exp[4200], canon[8400];
    for (int t = 0; t < own->n && rc == 0; t++)
        for (int i = 0; i < all->n && rc == 0; i++) {
            const cli_item *it = &all->v[i];
            int64_t target = it->target >= 0 ? it->target : own->target >= 0 ? own->target : CLI_TARGET_WILD;
            cli_fields f = {it, own->method, target, true, 0, NULL};
            if (cli_template_expand(own->tmpl[t], &f, exp, sizeof exp, NULL) != LRP_OK ||
                !cli_canonical_path(exp, canon, sizeof canon))
                continue;
            own_key *k = &keys[n_keys];
            k->item = i;
            if (strchr(canon, CLI_WILD)) {
                k->pat = strdup(canon);
                k->key = strip_digits(canon);
            } else {
                k->key = strdup(canon);
            }
            if (!k->key || (strchr(canon, CLI_WILD) && !k->pat)) {
                free(k->key);
                free(k->pat);
                rc = -1;
                break;
            }
            n_keys++;
        }
    if (rc == 0)
        qsort(keys, n_keys, sizeof *keys, cmp_key);
    for (int i = 0; i < all->n && rc == 0; i++) {
        if (!all->v[i].found || !cli_canonical_path(all->v[i].path, canon, sizeof canon))
            continue;
        char *stripped = strip_digits(canon);
        if (!stripped) {
            rc = -1;
            break;
        }
        for (int pass = 0; pass < 2 && !drop[i]; pass++) {
            own_key probe = {pass ? stripped : canon, NULL, 0};
            own_key *hit = bsearch(&probe, keys, n_keys, sizeof *keys, cmp_key);
            if (!hit)
                continue;
            while (hit > keys && !strcmp(hit[-1].key, probe.key))
                hit--;
            for (; hit < keys + n_keys && !strcmp(hit->key, probe.key) && !drop[i]; hit++)
                if (hit->item != i && (pass ? hit->pat && wild_match(hit->pat, canon) : !hit->pat))
                    drop[i] = true;
        }
        free(stripped);
    }
    for (size_t k = 0; k < n_keys; k++) {
        free(keys[k].key);
        free(keys[k].pat);
    }
    free(keys);
    return rc;
}

int cli_gather_items(const cli_args *a, int first, const cli_own_outputs *own, cli_items *out)
{
    cli_items all = {0};
    for (int i = first; i < a->n_pos; i++) {
        struct stat st;
        int first_new = all.n;
        int rc = (stat(a->pos[i], &st) == 0 && S_ISDIR(st.st_mode)) ? scan_dir(&all, a->pos[i], 0)
                                                                    : push(&all, a->pos[i], -1, NULL);
        for (int k = first_new; k < all.n; k++)
            all.v[k].root_arg = i;
        if (rc != 0) {
            cli_items_free(&all);
            cli_error("out of memory");
            return EXIT_INTERNAL;
        }
    }
    if (a->list) {
        int rc = read_list(&all, a->list);
        if (rc != EXIT_OK) {
            cli_items_free(&all);
            return rc;
        }
    }
    /* lrp's own outputs of an earlier run in a searched directory */
    if (!a->include_outputs && own && own->n > 0 && all.n > 0) {
        bool *drop = calloc((size_t)all.n, sizeof *drop);
        if (!drop || find_own_outputs(&all, own, drop) != 0) {
            free(drop);
            cli_items_free(&all);
            cli_error("out of memory");
            return EXIT_INTERNAL;
        }
        int keep = 0;
        bool noted = false;
        for (int i = 0; i < all.n; i++) {
            if (!drop[i]) {
                all.v[keep++] = all.v[i];
                continue;
            }
            if (!noted && !a->quiet)
                cli_error("note: %s and any other file found in the input directories that this run writes as an "
                          "output for another input are not inputs (--include-outputs takes them)",
                          all.v[i].path);
            noted = true;
            free(all.v[i].path);
            free(all.v[i].error);
        }
        all.n = keep;
        free(drop);
    }
    for (int i = 0; i < all.n; i++)
        all.v[i].index = i;
    /* this shard's share */
    memset(out, 0, sizeof *out);
    int keep = 0;
    for (int i = 0; i < all.n; i++) {
        if ((int64_t)i % a->shard_n == a->shard_k)
            all.v[keep++] = all.v[i];
        else {
            free(all.v[i].path);
            free(all.v[i].error);
        }
    }
    all.n = keep;
    *out = all;
    return EXIT_OK;
}

/* ------------------------------------------------------------------ inputs */

/* --exif-orientation apply, for cli_load_input (set with the preprocessing);
 * with ignore, a note once per run when a turned photo is met. */
static int exif_apply;
static bool exif_noted;

int cli_preprocess_config(const cli_args *a, const lrp_model_info *info, lrp_preprocess *p)
{
    exif_apply = a->exif_apply;
    exif_noted = a->quiet;
    lrp_preprocess_defaults(p, info->height > 0 ? info->height : 224, info->width > 0 ? info->width : 224);
    /* --input-size for a model whose height and width are dynamic; without
     * it, images are refused (cli_load_input) */
    if (a->input_h && info->layout == LRP_LAYOUT_FLAT) {
        cli_error("--input-size %dx%d: the model's input '%s' is not an image", a->input_h, a->input_w,
                  info->input_name);
        return EXIT_USAGE;
    }
    if (a->input_h &&
        ((info->height > 0 && info->height != a->input_h) || (info->width > 0 && info->width != a->input_w))) {
        cli_error("--input-size %dx%d: the model's input '%s' is %dx%d", a->input_h, a->input_w, info->input_name,
                  info->height, info->width);
        return EXIT_USAGE;
    }
    if (a->input_h) {
        p->height = a->input_h;
        p->width = a->input_w;
    } else if (info->layout != LRP_LAYOUT_FLAT && (info->height < 0 || info->width < 0)) {
        p->height = p->width = 0;
    }
    p->nhwc = info->layout == LRP_LAYOUT_NHWC;
    p->channels = info->channels == 1 ? 1 : 3;
    if (p->channels == 1) {
        /* ImageNet statistics make no sense for gray models: default to none */
        p->mean[0] = 0.0f;
        p->std[0] = 1.0f;
    }
    /* the model's own metadata, then what the command line says */
    int rc = cli_metadata_preprocess(a, info, p);
    if (rc != EXIT_OK)
        return rc;
    if (a->resize) {
        if (!strcmp(a->resize, "none"))
            p->resize_mode = LRP_RESIZE_NONE;
        else if (!strcmp(a->resize, "exact"))
            p->resize_mode = LRP_RESIZE_EXACT;
        else {
            p->resize_mode = LRP_RESIZE_SHORTER;
            p->resize_to = atoi(a->resize);
        }
    }
    int nc = p->channels;
    if (a->n_mean) {
        if (a->n_mean != 1 && a->n_mean != nc) {
            cli_error("--mean: the model takes %d channel%s, got %d values", nc, nc == 1 ? "" : "s", a->n_mean);
            return EXIT_USAGE;
        }
        for (int c = 0; c < nc; c++)
            p->mean[c] = a->mean[a->n_mean == 1 ? 0 : c];
    }
    if (a->n_std) {
        if (a->n_std != 1 && a->n_std != nc) {
            cli_error("--std: the model takes %d channel%s, got %d values", nc, nc == 1 ? "" : "s", a->n_std);
            return EXIT_USAGE;
        }
        for (int c = 0; c < nc; c++)
            p->std[c] = a->std[a->n_std == 1 ? 0 : c];
    }
    if (a->bgr)
        p->bgr = 1;
    if (a->has_pixel_range)
        p->range255 = a->pixel_range == 255;
    return EXIT_OK;
}

int cli_default_bounds(const lrp_preprocess *p, lrp_real *low, lrp_real *high)
{
    int nc = p->channels;
    lrp_real top = p->range255 ? 255.0f : 1.0f;
    for (int c = 0; c < nc; c++) {
        low[c] = (lrp_real)((0.0 - (double)p->mean[c]) / (double)p->std[c]);
        high[c] = (lrp_real)(((double)top - (double)p->mean[c]) / (double)p->std[c]);
    }
    return nc;
}

static bool is_npy(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char m[6];
    bool yes = fread(m, 1, 6, f) == 6 && !memcmp(m, "\x93NUMPY", 6);
    fclose(f);
    return yes;
}

lrp_status cli_load_input(const char *path, const lrp_preprocess *p, const lrp_model_info *info, lrp_tensor **x,
                          lrp_image *view, lrp_image *orig, lrp_error *err)
{
    *x = NULL;
    if (is_npy(path))
        return lrp_npy_read(path, x, err);
    if (access(path, R_OK) != 0)
        return lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    if (info->layout != LRP_LAYOUT_FLAT && (info->height < 0 || info->width < 0) && (p->height <= 0 || p->width <= 0))
        return lrp_fail(err, LRP_ERR_SHAPE,
                        "%s: the model's input %s has a dynamic height or width: give --input-size HxW (such as "
                        "224x224) to resize images to, or a .npy tensor",
                        path, info->input_name);
    if (info->layout == LRP_LAYOUT_FLAT || info->height == 0 || info->width == 0)
        return lrp_fail(err, LRP_ERR_SHAPE,
                        "%s: the model's input %s is not an image with a known size; give a .npy tensor instead", path,
                        info->input_name);
    lrp_image img = {0};
    lrp_status st = lrp_image_load(path, &img, err);
    if (st != LRP_OK)
        return st;
    int orientation = cli_exif_orientation_file(path);
    if (orientation > 1 && exif_apply) {
        st = cli_exif_apply(&img, orientation, err);
    } else if (orientation > 1 && !exif_noted) {
        cli_error("note: %s is %s (EXIF orientation %d), and is taken as stored, as PIL and torchvision do "
                  "(--exif-orientation apply turns it)",
                  path, cli_exif_name(orientation), orientation);
        exif_noted = true;
    }
    if (st == LRP_OK)
        st = lrp_preprocess_image(&img, p, x, err);
    if (st == LRP_OK && view)
        st = lrp_preprocess_view(&img, p, view, err);
    if (st == LRP_OK && orig) {
        *orig = img;
        img.rgb = NULL;
    }
    lrp_image_free(&img);
    if (st != LRP_OK) {
        lrp_tensor_free(*x);
        *x = NULL;
        if (view)
            lrp_image_free(view);
        lrp_error_prefix(err, "%s", path);
    }
    return st;
}

/* --------------------------------------------------------------- templates */

static const char *const fields[] = {"stem", "name", "dir", "index", "target", "method", "rank", "label"};

int cli_template_check(const char *opt, const char *tmpl)
{
    int any = 0;
    for (const char *p = tmpl; *p; p++) {
        if (*p != '{')
            continue;
        const char *e = strchr(p, '}');
        if (!e) {
            cli_error("%s: unclosed '{' in '%s'", opt, tmpl);
            return -1;
        }
        size_t len = (size_t)(e - p - 1);
        bool ok = false;
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
            if (strlen(fields[i]) == len && !strncmp(p + 1, fields[i], len))
                ok = true;
        if (!ok && len > 6 && !strncmp(p + 1, "index:", 6)) {
            ok = true;
            long width = 0;
            for (const char *q = p + 7; q < e && ok; q++) {
                ok = isdigit((unsigned char)*q);
                if (ok && width <= CLI_INDEX_WIDTH_MAX)
                    width = width * 10 + (*q - '0');
            }
            if (ok && width > CLI_INDEX_WIDTH_MAX) {
                cli_error("%s: {%.*s} in '%s': the index can be padded to at most %d digits", opt, (int)len, p + 1,
                          tmpl, CLI_INDEX_WIDTH_MAX);
                return -1;
            }
        }
        if (!ok) {
            cli_error("%s: unknown field '{%.*s}' in '%s' (fields: {stem} {name} {dir} {index} {index:N} {target} "
                      "{method} {rank} {label})",
                      opt, (int)len, p + 1, tmpl);
            return -1;
        }
        any = 1;
        p = e;
    }
    return any;
}

bool cli_template_has_target(const char *tmpl) { return strstr(tmpl, "{target}") != NULL; }

bool cli_template_has(const char *tmpl, const char *field) { return strstr(tmpl, field) != NULL; }

void cli_label_filename(const char *label, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = label; *p && n + 1 < size; p++) {
        unsigned char c = (unsigned char)*p;
        bool keep = isalnum(c) || c == '-' || c == '_' || c >= 0x80 || (c == '.' && n > 0);
        out[n++] = keep ? (char)c : '_';
    }
    if (n == 0 && size > 1)
        out[n++] = '_';
    out[n] = '\0';
}

lrp_status cli_template_expand(const char *tmpl, const cli_fields *f, char *out, size_t size, lrp_error *err)
{
    const char *path = f->item->path;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    char dir[4096];
    if (slash) {
        size_t dl = (size_t)(slash - path);
        if (dl >= sizeof dir)
            dl = sizeof dir - 1;
        memcpy(dir, path, dl);
        dir[dl] = '\0';
        if (dl == 0)
            snprintf(dir, sizeof dir, "/");
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    char stem[1024];
    snprintf(stem, sizeof stem, "%s", name);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    size_t used = 0;
    for (const char *p = tmpl; *p; p++) {
        char piece[4200];
        const char *add = NULL;
        if (*p == '{') {
            const char *e = strchr(p, '}');
            size_t len = e ? (size_t)(e - p - 1) : 0;
            if (e && len == 4 && !strncmp(p + 1, "stem", 4))
                add = stem;
            else if (e && len == 4 && !strncmp(p + 1, "name", 4))
                add = name;
            else if (e && len == 3 && !strncmp(p + 1, "dir", 3))
                add = dir;
            else if (e && len == 6 && !strncmp(p + 1, "method", 6))
                add = f->method ? f->method : "";
            else if (e && len == 4 && !strncmp(p + 1, "rank", 4)) {
                if (f->rank <= 0)
                    snprintf(piece, sizeof piece, "%c", CLI_WILD);
                else
                    snprintf(piece, sizeof piece, "%lld", (long long)f->rank);
                add = piece;
            } else if (e && len == 5 && !strncmp(p + 1, "label", 5)) {
                if (!f->label)
                    snprintf(piece, sizeof piece, "%c", CLI_WILD_LABEL);
                else
                    cli_label_filename(f->label, piece, sizeof piece);
                add = piece;
            } else if (e && len == 6 && !strncmp(p + 1, "target", 6)) {
                if (f->target == CLI_TARGET_WILD)
                    snprintf(piece, sizeof piece, "%c", CLI_WILD);
                else
                    snprintf(piece, sizeof piece, "%lld", (long long)f->target);
                add = piece;
            } else if (e && len >= 5 && !strncmp(p + 1, "index", 5)) {
                /* cli_template_check bounds the width; the clamp guards other callers */
                int width = 0;
                for (const char *q = p + 7;
                     len > 6 && q < e && isdigit((unsigned char)*q) && width <= CLI_INDEX_WIDTH_MAX; q++)
                    width = width * 10 + (*q - '0');
                if (width > CLI_INDEX_WIDTH_MAX)
                    width = CLI_INDEX_WIDTH_MAX;
                if (f->wild_index)
                    snprintf(piece, sizeof piece, "%c", CLI_WILD);
                else
                    snprintf(piece, sizeof piece, "%0*d", width, f->item->index);
                add = piece;
            }
            if (add) {
                size_t n = strlen(add);
                if (used + n >= size)
                    return lrp_fail(err, LRP_ERR_ARG, "output path from '%s' is too long", tmpl);
                memcpy(out + used, add, n);
                used += n;
                p = e;
                continue;
            }
        }
        if (used + 1 >= size)
            return lrp_fail(err, LRP_ERR_ARG, "output path from '%s' is too long", tmpl);
        out[used++] = *p;
    }
    out[used] = '\0';
    return LRP_OK;
}

/* ----------------------------------------------------------- atomic writes */

static char current_tmp[4200];
static volatile sig_atomic_t have_tmp;

static void on_signal(int sig)
{
    if (have_tmp)
        unlink(current_tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_install_signal_cleanup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
}

bool cli_file_exists(const char *path)
{
    struct stat st;
    return cli_output_fd(path) < 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* mkdir -p of the directory part of path. */
static lrp_status make_parent_dirs(const char *path, lrp_error *err)
{
    char buf[4200];
    snprintf(buf, sizeof buf, "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf)
        return LRP_OK;
    *slash = '\0';
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return lrp_fail(err, LRP_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return lrp_fail(err, LRP_ERR_IO, "%s: not a directory", buf);
    return LRP_OK;
}

/* Creates an empty temporary file "DIR/.BASE.tmp-PID-N" (dir_len bytes of
 * prefix give DIR/, none for the current directory); its name is published to
 * the signal handler before the file is created, so that an interruption at
 * any moment leaves nothing behind (a handler running before the file exists
 * just fails to unlink it). */
static lrp_status make_temp(const char *prefix, int prefix_len, const char *base, const char *path, char *tmp,
                            size_t size, lrp_error *err)
{
    static unsigned long counter;
    int fd = -1;
    for (int attempt = 0; attempt < 1000 && fd < 0; attempt++) {
        snprintf(tmp, size, "%.*s.%s.tmp-%ld-%lu", prefix_len, prefix, base, (long)getpid(), counter++);
        have_tmp = 0;
        snprintf(current_tmp, sizeof current_tmp, "%s", tmp);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        have_tmp = 1;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            have_tmp = 0;
            return lrp_fail(err, LRP_ERR_IO, "%s: cannot create a file here: %s", path, strerror(errno));
        }
    }
    if (fd < 0) {
        have_tmp = 0;
        return lrp_fail(err, LRP_ERR_IO, "%s: cannot find a free temporary name", path);
    }
    close(fd);
    return LRP_OK;
}

static lrp_status write_atomic(const char *path, cli_writer writer, void *ctx, lrp_error *err)
{
    lrp_status st = make_parent_dirs(path, err);
    if (st != LRP_OK)
        return st;
    char tmp[4200];
    const char *slash = strrchr(path, '/');
    st = slash ? make_temp(path, (int)(slash - path + 1), slash + 1, path, tmp, sizeof tmp, err)
               : make_temp("", 0, path, path, tmp, sizeof tmp, err);
    if (st != LRP_OK)
        return st;
    st = writer(tmp, ctx, err);
    if (st == LRP_OK) {
        /* the file was created 0600; give it the usual permissions */
        mode_t mask = umask(0);
        umask(mask);
        chmod(tmp, 0666 & ~mask);
        if (rename(tmp, path) != 0)
            st = lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (st != LRP_OK) {
        unlink(tmp);
        if (err && !strstr(err->message, path))
            lrp_error_prefix(err, "%s", path);
    }
    have_tmp = 0;
    return st;
}

/* Standard output, a FIFO or a device: the file is made in the temporary
 * directory, then copied into the destination as it is (opened without
 * creating, truncating or replacing it). fd >= 0: that descriptor. */
static lrp_status write_through(const char *path, int fd, cli_writer writer, void *ctx, lrp_error *err)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char prefix[4200];
    int pl = snprintf(prefix, sizeof prefix, "%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/");
    if (pl < 0 || (size_t)pl >= sizeof prefix)
        return lrp_fail(err, LRP_ERR_IO, "%s: the temporary directory name is too long", path);
    char tmp[4200];
    lrp_status st = make_temp(prefix, pl, "lrp-out", path, tmp, sizeof tmp, err);
    if (st != LRP_OK)
        return st;
    st = writer(tmp, ctx, err);
    int in = -1, out = fd;
    if (st == LRP_OK && (in = open(tmp, O_RDONLY | O_CLOEXEC)) < 0)
        st = lrp_fail(err, LRP_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (st == LRP_OK && out < 0 && (out = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0)
        st = lrp_fail(err, LRP_ERR_IO, "%s: %s", path, strerror(errno));
    if (st == LRP_OK && fd == 1)
        fflush(stdout);
    char buf[65536];
    while (st == LRP_OK) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = lrp_fail(err, LRP_ERR_IO, "%s: %s", tmp, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n && st == LRP_OK;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                st = lrp_fail(err, LRP_ERR_IO, "%s: cannot write: %s", fd == 1 ? "standard output" : path,
                              w < 0 ? strerror(errno) : "nothing written");
            else
                done += w;
        }
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && fd < 0 && close(out) != 0 && st == LRP_OK)
        st = lrp_fail(err, LRP_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    unlink(tmp);
    have_tmp = 0;
    if (st != LRP_OK && err && !strstr(err->message, path) && fd != 1)
        lrp_error_prefix(err, "%s", path);
    return st;
}

lrp_status cli_write_output(const char *path, cli_writer writer, void *ctx, lrp_error *err)
{
    int fd = cli_output_fd(path);
    struct stat st;
    if (fd >= 0)
        return write_through(path, fd, writer, ctx, err);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return lrp_fail(err, LRP_ERR_IO, "%s: is a directory", path);
        return write_through(path, -1, writer, ctx, err);
    }
    /* a symbolic link to a file: replace the file, keep the link */
    struct stat lst;
    char real[PATH_MAX];
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && realpath(path, real))
        return write_atomic(real, writer, ctx, err);
    return write_atomic(path, writer, ctx, err);
}
