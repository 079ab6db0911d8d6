/* Colour maps: zennit's built-in maps, the CMSL compiler and palette generation. */
#include "render/cmap.h"
#include "render/cmap_mpl.h"
#include "base/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Exactness needs one rounding per operation: no fused multiply-add. GCC does
 * not contract under -std=c11 (the Makefile's mode); clang needs the pragma. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ------------------------------------------------------------- built-ins */

static const struct {
    const char *name;
    const char *cmsl;
} builtins[] = {
    {"gray", "000,fff"},
    {"wred", "fff,f00"},
    {"wblue", "fff,00f"},
    {"hot", "000,f00,ff0,fff"},
    {"cold", "000,00f,0ff"},
    {"coldnhot", "0ff,00f,80:000,f00,ff0,fff"},
    {"bwr", "00f,80:fff,f00"},
    {"france", "0055a4,80:fff,ef4135"},
    {"seismic", "0000d0,80:d0d0d0,d00000"},
    {"coolio", "00d0d0,80:d0d0d0,d000d0"},
    {"coleus", "00d000,80:d0d0d0,d000d0"},
};

#define N_BUILTIN ((int)(sizeof builtins / sizeof builtins[0]))

int lrp_cmap_builtin_count(void) { return N_BUILTIN; }

const char *lrp_cmap_builtin_name(int i) { return i >= 0 && i < N_BUILTIN ? builtins[i].name : NULL; }

const char *lrp_cmap_builtin_source(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < N_BUILTIN; i++)
        if (!strcmp(name, builtins[i].name))
            return builtins[i].cmsl;
    return NULL;
}

/* ---------------------------------------------------------------- lexer */

typedef enum { TK_LONG, TK_SHORT, TK_INDEX, TK_COLON, TK_SEP, TK_SPACE, TK_ERROR, TK_END } tok_type;

typedef struct {
    tok_type type;
    size_t pos; /* 0-based offset */
    size_t len;
} token;

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* ASCII part of Python's \s (str patterns): space, \t \n \v \f \r and \x1c-\x1f. */
static int is_space(char c)
{
    unsigned char u = (unsigned char)c;
    return u == ' ' || (u >= 0x09 && u <= 0x0d) || (u >= 0x1c && u <= 0x1f);
}

/* Next token at s[pos]: the alternatives of zennit's regex, tried in its order. */
static token next_token(const char *s, size_t pos)
{
    token t = {TK_END, pos, 0};
    if (!s[pos])
        return t;
    size_t h = 0;
    while (h < 6 && is_hex(s[pos + h]))
        h++;
    if (h == 6) {
        t.type = TK_LONG;
        t.len = 6;
    } else if (h >= 3) {
        t.type = TK_SHORT;
        t.len = 3;
    } else if (h >= 1) {
        t.type = TK_INDEX;
        t.len = h;
    } else if (s[pos] == ':') {
        t.type = TK_COLON;
        t.len = 1;
    } else if (s[pos] == ',') {
        t.type = TK_SEP;
        t.len = 1;
    } else if (is_space(s[pos])) {
        t.type = TK_SPACE;
        while (is_space(s[pos + t.len]))
            t.len++;
    } else {
        t.type = TK_ERROR;
        while (s[pos + t.len] && s[pos + t.len] != '\n')
            t.len++;
    }
    return t;
}

/* --------------------------------------------------------------- parser */

typedef struct {
    int index; /* -1: none given */
    uint8_t rgb[3];
    size_t pos; /* where the node starts, 0-based */
} cnode;

typedef struct {
    const char *src;
    lrp_error *err;
} ctx;

/* The source as shown in messages: quoted, shortened when long. */
static void shown_source(const char *src, char *buf, size_t size)
{
    size_t n = strlen(src);
    if (n > 64)
        snprintf(buf, size, "%.60s...", src);
    else
        snprintf(buf, size, "%s", src);
}

static lrp_status cfail(const ctx *c, const char *fmt, ...) LRP_PRINTF(2, 3);

static lrp_status cfail(const ctx *c, const char *fmt, ...)
{
    char what[320], shown[80];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    shown_source(c->src, shown, sizeof shown);
    return lrp_fail(c->err, LRP_ERR_ARG, "invalid colour map \"%s\": %s", shown, what);
}

/* A token's text for messages (shortened). */
static const char *tok_text(const ctx *c, token t, char *buf, size_t size)
{
    if (t.type == TK_END)
        return "end of input";
    int n = (int)(t.len > 16 ? 16 : t.len);
    snprintf(buf, size, "\"%.*s%s\"", n, c->src + t.pos, t.len > 16 ? "..." : "");
    return buf;
}

static void read_color(const char *p, size_t len, uint8_t rgb[3])
{
    for (int k = 0; k < 3; k++) {
        if (len == 3)
            rgb[k] = (uint8_t)(hex_val(p[k]) * 17);
        else
            rgb[k] = (uint8_t)(hex_val(p[2 * k]) * 16 + hex_val(p[2 * k + 1]));
    }
}

/* Does the string look like a (misspelt) name rather than CMSL? */
static int looks_like_name(const char *s)
{
    int non_hex_letter = 0;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        int alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        if (!alnum && ch != '_' && ch != '-')
            return 0;
        if (alnum && !is_hex(ch) && !(ch >= '0' && ch <= '9'))
            non_hex_letter = 1;
    }
    return non_hex_letter;
}

static lrp_status unknown_name(const ctx *c)
{
    char list[160];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < N_BUILTIN && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", builtins[i].name);
    char shown[80];
    shown_source(c->src, shown, sizeof shown);
    return lrp_fail(c->err, LRP_ERR_ARG,
                    "invalid colour map \"%s\": not a built-in name (%s; matplotlib's viridis, RdBu, jet, Reds, "
                    "..., mpl:NAME) nor a CMSL string such as \"00f,80:fff,f00\"",
                    shown, list);
}

static lrp_status parse_nodes(const ctx *c, cnode *nodes, int *count)
{
    enum { WANT_NODE, WANT_COLON, WANT_COLOR, WANT_SEP } state = WANT_NODE;
    const char *s = c->src;
    token idx_tok = {TK_END, 0, 0}, last_color = {TK_END, 0, 0};
    char b1[40], b2[40];
    int n = 0;
    size_t pos = 0;
    for (;;) {
        token t = next_token(s, pos);
        if (t.type == TK_SPACE) {
            pos += t.len;
            continue;
        }
        if (t.type == TK_END) {
            if (state == WANT_COLON)
                return cfail(c, "index %s at position %zu must be followed by ':' and a colour (end of input)",
                             tok_text(c, idx_tok, b1, sizeof b1), idx_tok.pos + 1);
            if (state == WANT_COLOR)
                return cfail(c, "expected a colour after \"%.*s:\" at position %zu (end of input)", (int)idx_tok.len,
                             s + idx_tok.pos, pos + 1);
            break;
        }
        if (t.type == TK_ERROR) {
            if (looks_like_name(s))
                return unknown_name(c);
            unsigned char ch = (unsigned char)s[t.pos];
            char shown[16];
            if (ch >= 0x20 && ch < 0x7f)
                snprintf(shown, sizeof shown, "'%c'", ch);
            else
                snprintf(shown, sizeof shown, "byte 0x%02x", ch);
            return cfail(c, "unexpected character %s at position %zu (a colour is 3 or 6 hex digits)", shown,
                         t.pos + 1);
        }
        switch (state) {
        case WANT_NODE:
            if (t.type == TK_INDEX) {
                idx_tok = t;
                state = WANT_COLON;
                break;
            }
            if (t.type == TK_LONG || t.type == TK_SHORT)
                goto color;
            return cfail(c, "unexpected %s at position %zu (expected a colour or an index)",
                         tok_text(c, t, b1, sizeof b1), t.pos + 1);
        case WANT_COLON:
            if (t.type == TK_COLON) {
                state = WANT_COLOR;
                break;
            }
            return cfail(c,
                         "%s at position %zu is not a colour (3 or 6 hex digits); as an index it must be "
                         "followed by ':'",
                         tok_text(c, idx_tok, b1, sizeof b1), idx_tok.pos + 1);
        case WANT_COLOR:
            if (t.type == TK_LONG || t.type == TK_SHORT)
                goto color;
            return cfail(c, "expected a colour after index %s, got %s at position %zu",
                         tok_text(c, idx_tok, b1, sizeof b1), tok_text(c, t, b2, sizeof b2), t.pos + 1);
        case WANT_SEP:
            if (t.type == TK_SEP) {
                state = WANT_NODE;
                break;
            }
            return cfail(c, "expected ',' after colour %s, got %s at position %zu",
                         tok_text(c, last_color, b1, sizeof b1), tok_text(c, t, b2, sizeof b2), t.pos + 1);
        }
        pos += t.len;
        continue;
    color:
        if (n >= LRP_CMAP_MAX_NODES - 2)
            return cfail(c, "too many colours (at most %d)", LRP_CMAP_MAX_NODES - 2);
        nodes[n].index = -1;
        nodes[n].pos = t.pos;
        if (state == WANT_COLOR) {
            const char *ip = s + idx_tok.pos;
            nodes[n].index = idx_tok.len == 1 ? hex_val(ip[0]) * 17 : hex_val(ip[0]) * 16 + hex_val(ip[1]);
            nodes[n].pos = idx_tok.pos;
        }
        read_color(s + t.pos, t.len, nodes[n].rgb);
        n++;
        last_color = t;
        state = WANT_SEP;
        pos += t.len;
    }
    *count = n;
    return LRP_OK;
}

static void put(lrp_cmap *m, int index, const uint8_t rgb[3])
{
    m->index[m->n] = index;
    memcpy(m->color[m->n], rgb, 3);
    m->n++;
}

/* zennit's _make_palette. */
static lrp_status place_nodes(const ctx *c, const cnode *nodes, int count, lrp_cmap *m)
{
    if (count < 2)
        return cfail(c, "a colour map needs at least 2 colours, got %d", count);
    m->n = 0;
    put(m, 0, nodes[0].rgb);
    if (nodes[0].index > 0)
        put(m, nodes[0].index, nodes[0].rgb);
    int queued_from = 1, queued = 0; /* un-indexed nodes waiting for their right neighbour */
    for (int i = 1; i < count; i++) {
        int index = nodes[i].index;
        if (index < 0) {
            if (i < count - 1) {
                if (queued == 0)
                    queued_from = i;
                queued++;
                continue;
            }
            index = 255;
        } else if (index < m->index[m->n - 1]) {
            return cfail(c,
                         "index %02x at position %zu is lower than the previous index %02x (indices must "
                         "ascend)",
                         (unsigned)index, nodes[i].pos + 1, (unsigned)m->index[m->n - 1]);
        }
        if (queued) {
            /* alpha = linspace(0, 1, queued + 2)[1:-1], computed as numpy does: k * (1 / div) */
            double p = m->index[m->n - 1], q = index;
            double step = 1.0 / (double)(queued + 1);
            for (int k = 1; k <= queued; k++) {
                double alpha = (double)k * step;
                double at = p * (1.0 - alpha) + q * alpha;
                if (at < p) /* p == q: rounding gave p - 1 ulp, and int() a lower index */
                    at = p;
                put(m, (int)at, nodes[queued_from + k - 1].rgb);
            }
            queued = 0;
        }
        put(m, index, nodes[i].rgb);
    }
    put(m, 256, m->color[m->n - 1]);
    return LRP_OK;
}

lrp_status lrp_cmap_parse(const char *name_or_cmsl, lrp_cmap *out, lrp_error *err)
{
    if (!name_or_cmsl)
        return lrp_fail(err, LRP_ERR_ARG, "no colour map given");
    const char *builtin = lrp_cmap_builtin_source(name_or_cmsl);
    uint8_t table[256][3];
    if (!builtin && lrp_cmap_mpl_table(name_or_cmsl, table) == 0) {
        /* matplotlib's table: a node at every index */
        out->n = 0;
        for (int i = 0; i < 256; i++)
            put(out, i, table[i]);
        put(out, 256, table[255]);
        return LRP_OK;
    }
    if (!strncmp(name_or_cmsl, "mpl:", 4))
        return lrp_fail(err, LRP_ERR_ARG,
                        "invalid colour map \"%.60s\": matplotlib has no map of that name that lrp knows",
                        name_or_cmsl);
    ctx c = {builtin ? builtin : name_or_cmsl, err};
    cnode nodes[LRP_CMAP_MAX_NODES];
    int count = 0;
    lrp_status st = parse_nodes(&c, nodes, &count);
    if (st != LRP_OK)
        return st;
    return place_nodes(&c, nodes, count, out);
}

/* ------------------------------------------------------------ evaluation */

/* Returns rgb*255 before the final /255 of zennit's __call__ is undone. */
static void eval_raw(const lrp_cmap *c, double x, double rgb[3])
{
    /* x = clip(x*255, 0, 255) */
    x = x * 255.0;
    if (!(x >= 0.0)) /* also NaN, which zennit cannot handle: treat as 0 */
        x = 0.0;
    if (x > 255.0)
        x = 255.0;
    /* k = searchsorted(index[:-1], x, side='right'): nodes with index <= x */
    int k = 0;
    while (k < c->n - 1 && (double)c->index[k] <= x)
        k++;
    double i0 = c->index[k - 1], i1 = c->index[k];
    double alpha = (x - i0) / (i1 - i0);
    for (int ch = 0; ch < 3; ch++)
        rgb[ch] = ((double)c->color[k - 1][ch] * (1.0 - alpha) + (double)c->color[k][ch] * alpha) / 255.0;
}

void lrp_cmap_eval(const lrp_cmap *c, double x, double rgb[3]) { eval_raw(c, x, rgb); }

/* numpy.round(v, 12) = rint(v * 1e12) / 1e12 */
static double round12(double v) { return nearbyint(v * 1e12) / 1e12; }

void lrp_cmap_palette(const lrp_cmap *c, double level, uint8_t pal[256][3])
{
    const double step = 2.0 / 255.0; /* linspace(-1, 1, 256) as numpy computes it */
    for (int i = 0; i < 256; i++) {
        double x = i == 255 ? 1.0 : (double)i * step + -1.0;
        x *= level;
        x = (x + 1.0) / 2.0;
        if (!(x >= 0.0))
            x = 0.0;
        if (x > 1.0)
            x = 1.0;
        double rgb[3];
        eval_raw(c, x, rgb);
        for (int ch = 0; ch < 3; ch++) {
            double v = round12(rgb[ch] * 255.0);
            if (!(v >= 0.0))
                v = 0.0;
            if (v > 255.0)
                v = 255.0;
            pal[i][ch] = (uint8_t)v;
        }
    }
}

lrp_status lrp_palette_for(const char *name_or_cmsl, double level, uint8_t pal[256][3], lrp_error *err)
{
    if (!isfinite(level))
        return lrp_fail(err, LRP_ERR_ARG, "colour map level must be a finite number");
    lrp_cmap c;
    lrp_status st = lrp_cmap_parse(name_or_cmsl, &c, err);
    if (st == LRP_OK)
        lrp_cmap_palette(&c, level, pal);
    return st;
}
