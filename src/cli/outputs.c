/* The paths of a run: inputs and claimed outputs, and the checks between them. */
#include "cli/outputs.h"

#include "cli/options.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* ------------------------------------------------------------ canonical */

static bool canonical_walk(const char *path, char *out, size_t size);

bool cli_canonical_path(const char *path, char *out, size_t size)
{
    /* the common cases in one or two system calls: the file exists, or its
     * directory is the one of the previous call (outputs of one template) */
    char real[PATH_MAX];
    if (realpath(path, real))
        return snprintf(out, size, "%s", real) < (int)size;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || strchr(path, CLI_WILD) ||
        strchr(path, CLI_WILD_LABEL) || (size_t)(base - path) >= PATH_MAX)
        return canonical_walk(path, out, size);
    static char last_dir[PATH_MAX], last_canon[PATH_MAX];
    static bool have_last;
    char dir[PATH_MAX];
    size_t dl = (size_t)(base - path);
    memcpy(dir, path, dl);
    dir[dl] = '\0';
    if (!have_last || strcmp(dir, last_dir)) {
        if (!canonical_walk(dl ? dir : ".", last_canon, sizeof last_canon)) {
            have_last = false;
            return false;
        }
        memcpy(last_dir, dir, dl + 1);
        have_last = true;
    }
    bool root = !strcmp(last_canon, "/");
    return snprintf(out, size, "%s%s%s", last_canon, root ? "" : "/", base) < (int)size;
}

static bool canonical_walk(const char *path, char *out, size_t size)
{
    char buf[PATH_MAX * 2];
    if (path[0] == '/') {
        if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
            return false;
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return false;
        if (snprintf(buf, sizeof buf, "%s/%s", cwd, path) >= (int)sizeof buf)
            return false;
    }
    /* walk the components: physically (realpath) while the path exists,
     * lexically from the first component that does not */
    char res[PATH_MAX * 2] = "";
    size_t rl = 0;
    bool exists = true;
    char *save = NULL;
    for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (exists) {
            char cand[PATH_MAX * 2 + 2], real[PATH_MAX];
            if (snprintf(cand, sizeof cand, "%s/%s", res, c) >= (int)sizeof cand)
                return false;
            if (realpath(cand, real)) {
                size_t n = strlen(real);
                if (n == 1) /* "/" */
                    n = 0;
                memcpy(res, real, n);
                res[rl = n] = '\0';
                continue;
            }
            exists = false;
        }
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            char *sl = strrchr(res, '/');
            rl = sl ? (size_t)(sl - res) : 0;
            res[rl] = '\0';
            continue;
        }
        size_t n = strlen(c);
        if (rl + 1 + n + 1 > sizeof res)
            return false;
        res[rl++] = '/';
        memcpy(res + rl, c, n + 1);
        rl += n;
    }
    if (rl == 0)
        return snprintf(out, size, "/") < (int)size;
    return snprintf(out, size, "%s", res) < (int)size;
}

const char *cli_path_shown(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (; *s && o + 1 < size; s++) {
        if (*s == CLI_WILD || *s == CLI_WILD_LABEL) {
            int n = snprintf(out + o, size - o, *s == CLI_WILD ? "{target}" : "{label}");
            if (n < 0 || (size_t)n >= size - o)
                break;
            o += (size_t)n;
        } else {
            out[o++] = *s;
        }
    }
    out[o < size ? o : size - 1] = '\0';
    return out;
}

int cli_output_fd(const char *path)
{
    if (!strcmp(path, "-") || !strcmp(path, "/dev/stdout") || !strcmp(path, "/proc/self/fd/1"))
        return 1;
    if (!strcmp(path, "/dev/stderr") || !strcmp(path, "/proc/self/fd/2"))
        return 2;
    const char *num = !strncmp(path, "/dev/fd/", 8)          ? path + 8
                      : !strncmp(path, "/proc/self/fd/", 14) ? path + 14
                                                             : NULL;
    if (num && *num) {
        char *end;
        errno = 0;
        long v = strtol(num, &end, 10);
        if (!errno && !*end && v >= 0 && v <= INT_MAX && num[0] != '-' && num[0] != '+')
            return (int)v;
    }
    return -1;
}

/* ----------------------------------------------------------------- sets */

typedef struct entry {
    char *key;   /* "p" + canonical path, or "i" + device:inode */
    char *path;  /* as given */
    char *opt;   /* the option (outputs) */
    char *owner; /* the input it is written for (outputs) */
} entry;

typedef struct set {
    entry *v;
    size_t n, cap;
    size_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t n_slots;
} set;

struct cli_guard {
    set inputs, outputs;
    int n_stdout;
    const char *not_written;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static const entry *set_find(const set *s, const char *key)
{
    if (!s->n_slots)
        return NULL;
    for (size_t i = hash(key) & (s->n_slots - 1);; i = (i + 1) & (s->n_slots - 1)) {
        size_t k = s->slots[i];
        if (!k)
            return NULL;
        if (!strcmp(s->v[k - 1].key, key))
            return &s->v[k - 1];
    }
}

static void set_place(set *s, size_t idx)
{
    size_t i = hash(s->v[idx].key) & (s->n_slots - 1);
    while (s->slots[i])
        i = (i + 1) & (s->n_slots - 1);
    s->slots[i] = idx + 1;
}

static char *dup_or_null(const char *s, bool *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = true;
    return d;
}

static bool set_add(set *s, const char *key, const char *path, const char *opt, const char *owner)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        entry *v = realloc(s->v, sizeof *v * cap);
        if (!v)
            return false;
        s->v = v;
        s->cap = cap;
    }
    if ((s->n + 1) * 2 > s->n_slots) {
        size_t ns = s->n_slots ? s->n_slots * 2 : 128;
        size_t *slots = calloc(ns, sizeof *slots);
        if (!slots)
            return false;
        free(s->slots);
        s->slots = slots;
        s->n_slots = ns;
        for (size_t i = 0; i < s->n; i++)
            set_place(s, i);
    }
    bool fail = false;
    entry e = {dup_or_null(key, &fail), dup_or_null(path, &fail), dup_or_null(opt, &fail), dup_or_null(owner, &fail)};
    if (fail) {
        free(e.key);
        free(e.path);
        free(e.opt);
        free(e.owner);
        return false;
    }
    s->v[s->n] = e;
    set_place(s, s->n);
    s->n++;
    return true;
}

static void set_free(set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        free(s->v[i].path);
        free(s->v[i].opt);
        free(s->v[i].owner);
    }
    free(s->v);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

cli_guard *cli_guard_new(void)
{
    cli_guard *g = calloc(1, sizeof(cli_guard));
    if (g)
        g->not_written = "nothing was written";
    return g;
}

void cli_guard_set_running(cli_guard *g) { g->not_written = "not written"; }

void cli_guard_free(cli_guard *g)
{
    if (!g)
        return;
    set_free(&g->inputs);
    set_free(&g->outputs);
    free(g);
}

int cli_guard_stdout_outputs(const cli_guard *g) { return g->n_stdout; }

/* The keys of a path: by canonical path, and by device and inode when it
 * exists. Returns false when the path is too long. */
static bool keys_of(const char *path, char *pkey, size_t psize, char *ikey, size_t isize, struct stat *st,
                    bool *exists)
{
    *exists = stat(path, st) == 0;
    ikey[0] = '\0';
    if (*exists)
        snprintf(ikey, isize, "i%llu:%llu", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
    pkey[0] = 'p';
    return cli_canonical_path(path, pkey + 1, psize - 1);
}

int cli_guard_input(cli_guard *g, const char *path)
{
    char pkey[PATH_MAX * 2 + 2], ikey[64];
    struct stat st;
    bool exists;
    if (!keys_of(path, pkey, sizeof pkey, ikey, sizeof ikey, &st, &exists))
        return EXIT_OK; /* too long to be written either */
    if (exists && S_ISCHR(st.st_mode))
        return EXIT_OK;
    if ((!set_find(&g->inputs, pkey) && !set_add(&g->inputs, pkey, path, NULL, NULL)) ||
        (ikey[0] && !set_find(&g->inputs, ikey) && !set_add(&g->inputs, ikey, path, NULL, NULL))) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    return EXIT_OK;
}

int cli_guard_output(cli_guard *g, const char *opt, const char *path, const char *owner)
{
    char msg[1024];
    int rc = cli_guard_output_msg(g, opt, path, owner, msg, sizeof msg);
    if (rc != EXIT_OK)
        cli_error("%s", msg);
    return rc;
}

int cli_guard_output_msg(cli_guard *g, const char *opt, const char *path, const char *owner, char *msg, size_t msize)
{
    char shown[PATH_MAX], shown2[PATH_MAX];
    cli_path_shown(path, shown, sizeof shown);
    if (cli_output_fd(path) >= 0) {
        if (cli_output_fd(path) == 1)
            g->n_stdout++;
        return EXIT_OK;
    }
    size_t len = strlen(path);
    if (len == 0) {
        snprintf(msg, msize, "%s: an empty output file name", opt);
        return EXIT_USAGE;
    }
    char pkey[PATH_MAX * 2 + 2], ikey[64];
    struct stat st;
    bool exists;
    if (!keys_of(path, pkey, sizeof pkey, ikey, sizeof ikey, &st, &exists)) {
        snprintf(msg, msize, "%s %s: the path is too long", opt, shown);
        return EXIT_USAGE;
    }
    if ((exists && S_ISDIR(st.st_mode)) || path[len - 1] == '/' || (len >= 2 && !strcmp(path + len - 2, "/.")) ||
        (len >= 3 && !strcmp(path + len - 3, "/..")) || !strcmp(path, ".") || !strcmp(path, "..")) {
        snprintf(msg, msize, "%s %s: is a directory, not an output file; %s", opt, shown, g->not_written);
        return EXIT_USAGE;
    }
    if (exists && (S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode))) {
        snprintf(msg, msize, "%s %s: is a %s, not an output file; %s", opt, shown,
                 S_ISBLK(st.st_mode) ? "block device" : "socket", g->not_written);
        return EXIT_USAGE;
    }
    if (exists && S_ISCHR(st.st_mode))
        return EXIT_OK; /* /dev/null and the like: written through, any number of times */
    const entry *e = ikey[0] ? set_find(&g->inputs, ikey) : NULL;
    if (!e)
        e = set_find(&g->inputs, pkey);
    if (e) {
        snprintf(msg, msize, "%s %s would overwrite the input %s (the same file); %s", opt, shown, e->path,
                 g->not_written);
        return EXIT_USAGE;
    }
    if ((e = set_find(&g->outputs, pkey))) {
        cli_path_shown(e->path, shown2, sizeof shown2);
        if (owner && e->owner && strcmp(owner, e->owner))
            snprintf(msg, msize, "%s %s (for %s) and %s %s (for %s) are the same file; %s", e->opt, shown2, e->owner,
                     opt, shown, owner, g->not_written);
        else
            snprintf(msg, msize, "%s %s and %s %s are the same file; %s", e->opt, shown2, opt, shown, g->not_written);
        return EXIT_USAGE;
    }
    if (!set_add(&g->outputs, pkey, path, opt, owner)) {
        snprintf(msg, msize, "out of memory");
        return EXIT_INTERNAL;
    }
    return EXIT_OK;
}
