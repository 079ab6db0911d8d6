/* Labels files: text, one name per line, or a JSON class index. The JSON
 * reader is a small recursive-descent parser of the three shapes a class
 * index takes; the file is untrusted input (bounded in size, every byte
 * checked). */
#include "cli/labels.h"

#include "cli/options.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABELS_MAX_BYTES (64 << 20)
#define LABELS_MAX_COUNT (1 << 24)

void cli_labels_free(cli_labels *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->name[i]);
        if (l->alt)
            free(l->alt[i]);
    }
    free(l->name);
    free(l->alt);
    memset(l, 0, sizeof *l);
}

/* The whole file, NUL-terminated; NULL on error (printed). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("--labels %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        if (cap >= LABELS_MAX_BYTES) {
            cli_error("--labels %s: larger than %d MB", path, LABELS_MAX_BYTES >> 20);
            free(buf);
            fclose(f);
            return NULL;
        }
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf) {
        cli_error("out of memory");
        return NULL;
    }
    if (bad) {
        cli_error("--labels %s: cannot read it", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

typedef struct entry {
    long long index; /* -1: by position (a JSON list, a text file) */
    char *name, *alt;
} entry;

typedef struct entries {
    entry *v;
    int n, cap;
} entries;

static bool entries_push(entries *e, long long index, char *name, char *alt)
{
    if (e->n == e->cap) {
        int cap = e->cap ? e->cap * 2 : 1024;
        entry *v = cap <= LABELS_MAX_COUNT ? realloc(e->v, sizeof *v * (size_t)cap) : NULL;
        if (!v)
            return false;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = (entry){index, name, alt};
    return true;
}

static void entries_free(entries *e)
{
    for (int i = 0; i < e->n; i++) {
        free(e->v[i].name);
        free(e->v[i].alt);
    }
    free(e->v);
}

/* ------------------------------------------------------------------ JSON */

typedef struct parser {
    const char *s, *p, *end;
    const char *what; /* what was expected where it failed */
} parser;

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool fail(parser *ps, const char *what)
{
    ps->what = what;
    return false;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at ps->p ('"'), decoded into a new buffer. */
static bool parse_string(parser *ps, char **out)
{
    *out = NULL;
    if (ps->p >= ps->end || *ps->p != '"')
        return fail(ps, "a string");
    const char *q = ++ps->p;
    while (q < ps->end && *q != '"')
        q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
    if (q >= ps->end)
        return fail(ps, "the end of a string");
    /* the decoded string is never longer than the encoded one */
    char *o = malloc((size_t)(q - ps->p) + 1);
    if (!o)
        return fail(ps, "memory");
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            free(o);
            return fail(ps, "no control character in a string");
        }
        if (c != '\\') {
            o[n++] = (char)c;
            ps->p++;
            continue;
        }
        char e = ps->p[1];
        ps->p += 2;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            o[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            continue;
        }
        int cp = e == 'u' && ps->end - ps->p >= 4 ? hex4(ps->p) : -1;
        if (cp < 0) {
            free(o);
            return fail(ps, "a valid escape in a string");
        }
        ps->p += 4;
        unsigned long u = (unsigned long)cp;
        if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
            int lo = hex4(ps->p + 2);
            if (lo >= 0xdc00 && lo < 0xe000) {
                u = 0x10000 + (((unsigned long)cp - 0xd800) << 10) + ((unsigned long)lo - 0xdc00);
                ps->p += 6;
            }
        }
        if (u == 0 || (u >= 0xd800 && u < 0xe000)) {
            free(o);
            return fail(ps, "a valid character escape (no NUL, no lone surrogate)");
        }
        n += put_utf8(o + n, u); /* 6 or 12 bytes of escape give at most 4 */
    }
    ps->p++;
    o[n] = '\0';
    *out = o;
    return true;
}

/* A class: "name" or ["id", ..., "name"] (the first is the other name). */
static bool parse_class(parser *ps, char **name, char **alt)
{
    *name = *alt = NULL;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '"')
        return parse_string(ps, name);
    if (ps->p >= ps->end || *ps->p != '[')
        return fail(ps, "a class name or a list of names");
    ps->p++;
    char *first = NULL, *last = NULL;
    int count = 0;
    for (;;) {
        skip_ws(ps);
        char *s;
        if (!parse_string(ps, &s)) {
            free(first);
            free(last);
            return false;
        }
        if (count++ == 0) {
            first = s;
        } else {
            free(last);
            last = s;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            break;
        }
        free(first);
        free(last);
        return fail(ps, "',' or ']'");
    }
    *name = last ? last : first;
    *alt = last ? first : NULL;
    return true;
}

static bool parse_json(parser *ps, entries *e)
{
    skip_ws(ps);
    bool object = *ps->p == '{';
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == (object ? '}' : ']'))
        return fail(ps, "at least one class");
    for (;;) {
        long long index = -1;
        skip_ws(ps);
        if (object) {
            char *key;
            if (!parse_string(ps, &key))
                return false;
            char *end;
            errno = 0;
            index = strtoll(key, &end, 10);
            bool good = key[0] >= '0' && key[0] <= '9' && !*end && !errno && index < LABELS_MAX_COUNT &&
                        (key[0] != '0' || !key[1]);
            free(key);
            if (!good)
                return fail(ps, "a class number as the key");
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps, "':'");
            ps->p++;
        }
        char *name, *alt;
        if (!(object ? parse_class(ps, &name, &alt) : parse_string(ps, &name)))
            return false;
        if (!object)
            alt = NULL;
        if (!entries_push(e, index, name, alt)) {
            free(name);
            free(alt);
            return fail(ps, "fewer classes");
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
            ps->p++;
            break;
        }
        return fail(ps, object ? "',' or '}'" : "',' or ']'");
    }
    skip_ws(ps);
    return ps->p == ps->end ? true : fail(ps, "the end of the file");
}

/* ------------------------------------------------------------------ text */

static bool parse_text(char *buf, size_t len, entries *e)
{
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        char *s = malloc(n + 1);
        if (!s)
            return false;
        memcpy(s, p, n);
        s[n] = '\0';
        if (!entries_push(e, -1, s, NULL)) {
            free(s);
            return false;
        }
        p = nl ? nl + 1 : end;
    }
    while (e->n > 0 && !e->v[e->n - 1].name[0]) { /* empty lines at the end */
        free(e->v[e->n - 1].name);
        e->n--;
    }
    return true;
}

/* Class names from buf (len bytes, NUL-terminated; consumed), named what in messages. */
static int labels_parse(const char *what, char *buf, size_t len, cli_labels *l)
{
    memset(l, 0, sizeof *l);
    if (memchr(buf, '\0', len)) {
        cli_error("%s: a binary file, not class names", what);
        free(buf);
        return EXIT_USAGE;
    }
    const char *q = buf;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
        q++;
    entries e = {0};
    int rc = EXIT_OK;
    if (*q == '{' || *q == '[') {
        parser ps = {buf, q, buf + len, NULL};
        if (!parse_json(&ps, &e)) {
            cli_error("%s: not a JSON class index: expected %s at byte %lld", what, ps.what, (long long)(ps.p - buf));
            rc = EXIT_USAGE;
        }
    } else if (!parse_text(buf, len, &e)) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
    }
    free(buf);
    if (rc == EXIT_OK && e.n == 0) {
        cli_error("%s: no class names", what);
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK &&
        (!(l->name = calloc((size_t)e.n, sizeof *l->name)) || !(l->alt = calloc((size_t)e.n, sizeof *l->alt)))) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
    }
    /* place every class at its index: each of 0..n-1 exactly once */
    for (int i = 0; i < e.n && rc == EXIT_OK; i++) {
        long long k = e.v[i].index < 0 ? i : e.v[i].index;
        if (k >= e.n) {
            cli_error("%s: class %lld, and the file has %d classes (keys must be 0 to %d)", what, k, e.n, e.n - 1);
            rc = EXIT_USAGE;
        } else if (l->name[k]) {
            cli_error("%s: class %lld is given twice", what, k);
            rc = EXIT_USAGE;
        } else {
            l->name[k] = e.v[i].name;
            l->alt[k] = e.v[i].alt;
            e.v[i].name = e.v[i].alt = NULL;
        }
    }
    if (rc == EXIT_OK) {
        l->n = e.n;
    } else if (l->name) {
        for (int i = 0; i < e.n; i++) {
            free(l->name[i]);
            free(l->alt[i]);
        }
        free(l->name);
        free(l->alt);
        memset(l, 0, sizeof *l);
    }
    entries_free(&e);
    return rc;
}

int cli_labels_read(const char *path, cli_labels *l)
{
    memset(l, 0, sizeof *l);
    size_t len = 0;
    char *buf = slurp(path, &len);
    if (!buf)
        return EXIT_USAGE;
    char what[4200];
    snprintf(what, sizeof what, "--labels %s", path);
    return labels_parse(what, buf, len, l);
}

int cli_labels_open(const char *file, const char *model, cli_labels *l, char *what, size_t size)
{
    memset(l, 0, sizeof *l);
    if (file) {
        snprintf(what, size, "--labels %s", file);
        return cli_labels_read(file, l);
    }
    what[0] = '\0';
    char *v = NULL;
    lrp_error err = {0};
    /* a file that is no model says so when it is loaded: no labels here */
    if (!model || lrp_onnx_metadata_peek(model, "lrp.labels", &v, &err) != LRP_OK || !v)
        return EXIT_OK;
    snprintf(what, size, "%s: metadata lrp.labels", model);
    int rc = labels_parse(what, v, strlen(v), l);
    l->from_model = true;
    return rc == EXIT_USAGE ? EXIT_MODEL : rc; /* a bad value is the model's */
}

int cli_labels_check(const cli_labels *l, const char *what, int64_t classes)
{
    if (classes < 0 || l->n == classes)
        return EXIT_OK;
    bool background = l->n == classes + 1 && !strcmp(l->name[0], "background");
    cli_error("%s has %d class names and the model %lld classes: they must be as many, one per class in "
              "class order%s",
              what, l->n, (long long)classes, background ? " (remove the first one, 'background')" : "");
    return l->from_model ? EXIT_MODEL : EXIT_USAGE;
}

int64_t cli_labels_find(const cli_labels *l, const char *s, int64_t *first, int64_t *second)
{
    int64_t found = -1;
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], s) || (l->alt && l->alt[i] && !strcmp(l->alt[i], s))) {
            if (found >= 0) {
                *first = found;
                *second = i;
                return -2;
            }
            found = i;
        }
    return found;
}
