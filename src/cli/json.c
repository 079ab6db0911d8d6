/* JSON output. */
#include "cli/json.h"

#include <math.h>
#include <stdlib.h>

void json_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            p++;
        } else if (c < 0x80) {
            fputc(c, f);
            p++;
        } else {
            /* validate one UTF-8 sequence (RFC 3629: no overlong forms,
             * no surrogates, nothing above U+10FFFF) */
            int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            int ok = n > 0;
            for (int i = 1; ok && i < n; i++)
                ok = (p[i] & 0xc0) == 0x80;
            if (ok && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
                       (c == 0xf4 && p[1] > 0x8f)))
                ok = 0;
            if (ok) {
                fwrite(p, 1, (size_t)n, f);
                p += n;
            } else {
                fputs("\\ufffd", f);
                p++;
            }
        }
    }
    fputc('"', f);
}

static void sep(json *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = 0;
    if (key) {
        json_write_string(j->f, key);
        fputc(':', j->f);
    }
}

void json_begin(json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = 1;
    fputc('{', f);
}

void json_end(json *j)
{
    fputs("}\n", j->f);
    fflush(j->f);
}

void json_key(json *j, const char *key) { sep(j, key); }

static void open_(json *j, const char *key, char c)
{
    sep(j, key);
    fputc(c, j->f);
    if (j->depth < 31)
        j->depth++;
    j->first[j->depth] = 1;
}

void json_obj(json *j, const char *key) { open_(j, key, '{'); }
void json_arr(json *j, const char *key) { open_(j, key, '['); }

void json_obj_end(json *j)
{
    fputc('}', j->f);
    if (j->depth > 0)
        j->depth--;
}

void json_arr_end(json *j)
{
    fputc(']', j->f);
    if (j->depth > 0)
        j->depth--;
}

void json_str(json *j, const char *key, const char *v)
{
    sep(j, key);
    if (v)
        json_write_string(j->f, v);
    else
        fputs("null", j->f);
}

void json_int(json *j, const char *key, int64_t v)
{
    sep(j, key);
    fprintf(j->f, "%lld", (long long)v);
}

void json_num(json *j, const char *key, double v)
{
    sep(j, key);
    if (isfinite(v)) {
#ifdef LRP_REAL_DOUBLE
        /* the float64 build: as few digits (at least 9) as give v back */
        char buf[32];
        for (int digits = 9; digits <= 17; digits++) {
            snprintf(buf, sizeof buf, "%.*g", digits, v);
            if (strtod(buf, NULL) == v)
                break;
        }
        fputs(buf, j->f);
#else
        fprintf(j->f, "%.9g", v); /* enough for every float */
#endif
    } else
        fputs("null", j->f);
}

void json_bool(json *j, const char *key, int v)
{
    sep(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_null(json *j, const char *key)
{
    sep(j, key);
    fputs("null", j->f);
}

void json_item_error(FILE *f, const char *input, int64_t index, const char *message)
{
    json j;
    json_begin(&j, f);
    json_str(&j, "input", input);
    json_int(&j, "index", index);
    json_str(&j, "status", "error");
    json_str(&j, "error", message);
    json_end(&j);
}
