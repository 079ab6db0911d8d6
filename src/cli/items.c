/* Items of a run, inputs, output templates and atomic writes. */
#include "items.h"

#include "error.h"
#include "tensor.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
        else if (wanted_file(names[i]))
            rc = push(it, p, -1, NULL);
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

int cli_gather_items(const cli_args *a, int first, cli_items *out)
{
    cli_items all = {0};
    for (int i = first; i < a->n_pos; i++) {
        struct stat st;
        int rc = (stat(a->pos[i], &st) == 0 && S_ISDIR(st.st_mode)) ? scan_dir(&all, a->pos[i], 0)
                                                                      : push(&all, a->pos[i], -1, NULL);
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
    for (int i = 0; i < all.n; i++)
        all.v[i].index = i;
    /* this shard's share */
    memset(out, 0, sizeof *out);
    int keep = 0;
    for (int i = 0; i < all.n; i++) {
        if (i % a->shard_n == a->shard_k)
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

int cli_preprocess_config(const cli_args *a, const lrp_model_info *info, lrp_preprocess *p)
{
    lrp_preprocess_defaults(p, info->height > 0 ? info->height : 224, info->width > 0 ? info->width : 224);
    p->nhwc = info->layout == LRP_LAYOUT_NHWC;
    p->channels = info->channels == 1 ? 1 : 3;
    if (p->channels == 1) {
        /* ImageNet statistics make no sense for gray models: default to none */
        p->mean[0] = 0.0f;
        p->std[0] = 1.0f;
    }
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
    p->bgr = a->bgr;
    p->range255 = a->pixel_range == 255;
    return EXIT_OK;
}

int cli_default_bounds(const lrp_preprocess *p, float *low, float *high)
{
    int nc = p->channels;
    float top = p->range255 ? 255.0f : 1.0f;
    for (int c = 0; c < nc; c++) {
        low[c] = (float)((0.0 - (double)p->mean[c]) / (double)p->std[c]);
        high[c] = (float)(((double)top - (double)p->mean[c]) / (double)p->std[c]);
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
    if (info->layout == LRP_LAYOUT_FLAT || info->height <= 0 || info->width <= 0)
        return lrp_fail(err, LRP_ERR_SHAPE,
                        "%s: the model's input %s is not an image with a known size; give a .npy tensor instead",
                        path, info->input_name);
    lrp_image img = {0};
    lrp_status st = lrp_image_load(path, &img, err);
    if (st != LRP_OK)
        return st;
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

static const char *const fields[] = {"stem", "name", "dir", "index", "target", "method"};

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
            for (const char *q = p + 7; q < e; q++)
                ok = ok && isdigit((unsigned char)*q);
        }
        if (!ok) {
            cli_error("%s: unknown field '{%.*s}' in '%s' (fields: {stem} {name} {dir} {index} {index:N} {target} "
                      "{method})",
                      opt, (int)len, p + 1, tmpl);
            return -1;
        }
        any = 1;
        p = e;
    }
    return any;
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
            else if (e && len == 6 && !strncmp(p + 1, "target", 6)) {
                snprintf(piece, sizeof piece, "%lld", (long long)f->target);
                add = piece;
            } else if (e && len >= 5 && !strncmp(p + 1, "index", 5)) {
                int width = 0; /* the digits after "index:" (checked), saturating: atoi overflows */
                for (const char *q = p + 7; len > 6 && q < e && isdigit((unsigned char)*q) && width <= 64; q++)
                    width = width * 10 + (*q - '0');
                snprintf(piece, sizeof piece, "%0*d", width > 64 ? 64 : width, f->item->index);
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
    return stat(path, &st) == 0;
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
    for (char *p = buf + 1; ; p++) {
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

lrp_status cli_write_atomic(const char *path, cli_writer write, void *ctx, lrp_error *err)
{
    lrp_status st = make_parent_dirs(path, err);
    if (st != LRP_OK)
        return st;
    /* The temporary name is chosen here and published to the signal handler
     * before the file is created, so that an interruption at any moment
     * leaves nothing behind (a handler running before the file exists just
     * fails to unlink it). */
    static unsigned long counter;
    char tmp[4200];
    const char *slash = strrchr(path, '/');
    int fd = -1;
    for (int attempt = 0; attempt < 1000 && fd < 0; attempt++) {
        if (slash)
            snprintf(tmp, sizeof tmp, "%.*s.%s.tmp-%ld-%lu", (int)(slash - path + 1), path, slash + 1, (long)getpid(),
                     counter++);
        else
            snprintf(tmp, sizeof tmp, ".%s.tmp-%ld-%lu", path, (long)getpid(), counter++);
        have_tmp = 0;
        memcpy(current_tmp, tmp, sizeof current_tmp < sizeof tmp ? sizeof current_tmp : sizeof tmp);
        current_tmp[sizeof current_tmp - 1] = '\0';
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
    st = write(tmp, ctx, err);
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
