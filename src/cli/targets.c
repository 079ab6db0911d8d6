/* Targets of explain: -t values, --top, and ImageFolder's class folders. */
#include "cli/targets.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cli_targets_free(cli_targets *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

/* One -t piece into a class; prints and returns -1 on error. */
static int64_t one_target(const char *s, size_t n, const cli_labels *labels, const char *labels_path)
{
    char piece[1024];
    snprintf(piece, sizeof piece, "%.*s", (int)(n < sizeof piece - 1 ? n : sizeof piece - 1), s);
    if (all_digits(s, n)) {
        if (n > 10 || strtoll(piece, NULL, 10) > (1LL << 30)) {
            cli_error("--target %s: expected a class from 0 to %lld", piece, 1LL << 30);
            return -1;
        }
        return strtoll(piece, NULL, 10);
    }
    if (!labels) {
        cli_error("--target '%s': not a class number; class names need --labels FILE (or the model's metadata "
                  "lrp.labels)",
                  piece);
        return -1;
    }
    int64_t a = -1, b = -1, k = cli_labels_find(labels, piece, &a, &b);
    if (k == -1)
        cli_error("--target '%s': no class of that name in %s", piece, labels_path);
    else if (k == -2)
        cli_error("--target '%s': names class %lld and class %lld in %s; give the number", piece, (long long)a,
                  (long long)b, labels_path);
    return k;
}

int cli_targets_parse(const cli_args *a, const cli_labels *labels, const char *labels_path, cli_targets *t)
{
    memset(t, 0, sizeof *t);
    t->top = a->explain_top;
    int cap = 0;
    for (int i = 0; i < a->targets.n; i++) {
        const char *v = a->targets.v[i];
        if (!strcmp(v, "from-dir")) {
            t->from_dir = true;
            continue;
        }
        for (const char *p = v; *p;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            if (n == 8 && !strncmp(p, "from-dir", 8)) {
                cli_error("--target from-dir: takes no other class with it");
                return EXIT_USAGE;
            }
            int64_t k = one_target(p, n, labels, labels_path);
            if (k < 0)
                return EXIT_USAGE;
            for (int j = 0; j < t->n; j++)
                if (t->v[j] == k) {
                    cli_error("--target: class %lld is given twice", (long long)k);
                    return EXIT_USAGE;
                }
            if (t->n == cap) {
                cap = cap ? cap * 2 : 8;
                int64_t *nv = realloc(t->v, sizeof *nv * (size_t)cap);
                if (!nv) {
                    cli_error("out of memory");
                    return EXIT_INTERNAL;
                }
                t->v = nv;
            }
            t->v[t->n++] = k;
            p = comma ? comma + 1 : p + n;
        }
    }
    if (t->from_dir && t->n) {
        cli_error("--target from-dir: takes no other class with it");
        return EXIT_USAGE;
    }
    if (t->top && (t->n || t->from_dir)) {
        cli_error("--top %d and --target: give one of them", t->top);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cli_targets_check(const cli_targets *t, int64_t classes)
{
    for (int i = 0; classes >= 0 && i < t->n; i++)
        if (t->v[i] >= classes) {
            cli_error("--target %lld: the model has %lld classes (0 to %lld)", (long long)t->v[i], (long long)classes,
                      (long long)classes - 1);
            return EXIT_USAGE;
        }
    return EXIT_OK;
}

/* ----------------------------------------------------------- ImageFolder */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The folders in root, sorted (all of them, hidden ones too, as
 * torchvision's find_classes). */
typedef struct folders {
    char *root;
    char **v;
    int n;
} folders;

static void folders_free(folders *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->v[i]);
    free(f->v);
    free(f->root);
    memset(f, 0, sizeof *f);
}

static int folders_read(folders *f, const char *root)
{
    folders_free(f);
    if (!(f->root = strdup(root)))
        return -1;
    DIR *d = opendir(root);
    if (!d)
        return 0;
    struct dirent *e;
    int cap = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[8192];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", root, e->d_name);
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (f->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(f->v, sizeof *nv * (size_t)cap);
            if (!nv) {
                closedir(d);
                return -1;
            }
            f->v = nv;
        }
        if (!(f->v[f->n] = strdup(e->d_name))) {
            closedir(d);
            return -1;
        }
        f->n++;
    }
    closedir(d);
    qsort(f->v, (size_t)f->n, sizeof *f->v, cmp_str);
    return 0;
}

/* The class folder of an item: its name into cls, the folder holding it into
 * root. Returns false when the item has none. */
static bool class_folder(const cli_args *a, const cli_item *it, char *cls, size_t csize, char *root, size_t rsize)
{
    const char *path = it->path;
    if (it->found && it->root_arg > 0 && it->root_arg < a->n_pos) {
        const char *r = a->pos[it->root_arg];
        size_t rl = strlen(r);
        while (rl > 1 && r[rl - 1] == '/')
            rl--;
        const char *rest = path + rl;
        while (*rest == '/')
            rest++;
        const char *slash = strchr(rest, '/');
        if (!slash)
            return false;
        snprintf(cls, csize, "%.*s", (int)(slash - rest), rest);
        snprintf(root, rsize, "%.*s", (int)rl, r);
        return true;
    }
    const char *slash = strrchr(path, '/');
    if (!slash)
        return false;
    const char *start = slash;
    while (start > path && start[-1] != '/')
        start--;
    if (start == slash || (slash - start == 1 && start[0] == '.') ||
        (slash - start == 2 && start[0] == '.' && start[1] == '.'))
        return false;
    snprintf(cls, csize, "%.*s", (int)(slash - start), start);
    if (start == path)
        snprintf(root, rsize, ".");
    else if (start - 1 == path)
        snprintf(root, rsize, "/");
    else
        snprintf(root, rsize, "%.*s", (int)(start - 1 - path), path);
    return true;
}

int cli_targets_from_dir(const cli_args *a, cli_items *items, const cli_labels *labels, const char *labels_path)
{
    folders f = {0};
    int rc = EXIT_OK;
    for (int i = 0; i < items->n && rc == EXIT_OK; i++) {
        cli_item *it = &items->v[i];
        if (it->target >= 0 || it->error)
            continue; /* a --list line's target wins */
        char cls[4096], root[4096], msg[8600] = "";
        if (!class_folder(a, it, cls, sizeof cls, root, sizeof root)) {
            snprintf(msg, sizeof msg, "%s: --target from-dir: the input is in no class folder", it->path);
        } else if (labels) {
            int64_t x = -1, y = -1, k = cli_labels_find(labels, cls, &x, &y);
            if (k >= 0)
                it->target = k;
            else
                snprintf(msg, sizeof msg, "%s: --target from-dir: the class folder '%s' is %s in %s", it->path, cls,
                         k == -1 ? "no class name" : "the name of several classes", labels_path);
        } else {
            if ((!f.root || strcmp(f.root, root)) && folders_read(&f, root) != 0) {
                rc = EXIT_INTERNAL;
                break;
            }
            char *key = cls;
            char **hit = bsearch(&key, f.v, (size_t)f.n, sizeof *f.v, cmp_str);
            if (hit)
                it->target = hit - f.v;
            else
                snprintf(msg, sizeof msg, "%s: --target from-dir: no folder '%s' in %s", it->path, cls, root);
        }
        if (msg[0] && !(it->error = strdup(msg)))
            rc = EXIT_INTERNAL;
    }
    folders_free(&f);
    if (rc != EXIT_OK)
        cli_error("out of memory");
    return rc;
}
