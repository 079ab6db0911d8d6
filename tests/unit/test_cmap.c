/* Colour maps: zennit's palettes, node tables, CMSL syntax and errors. */
#include "testutil.h"

#include "render/cmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void compile_ok(const char *src, lrp_cmap *c)
{
    lrp_error err = {0};
    lrp_status st = lrp_cmap_parse(src, c, &err);
    if (st != LRP_OK)
        fail_msg("\"%s\" should compile: %s", src, err.message);
}

/* ------------------------------------------------ palettes of zennit's maps */

/* Reads the section of testdata/zennit-palettes.txt for name: its cmsl and 256 entries. */
static int load_reference_palette(const char *path, const char *name, char *cmsl, size_t cmsl_size,
                                  uint8_t pal[256][3])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512], head[64];
    int in = 0, got = 0;
    snprintf(head, sizeof head, "# %s ", name);
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') {
            if (in)
                break;
            if (!strncmp(line, head, strlen(head)) && strstr(line, "cmsl='")) {
                in = 1;
                const char *q = strstr(line, "cmsl='") + 6;
                const char *e = strchr(q, '\'');
                snprintf(cmsl, cmsl_size, "%.*s", e ? (int)(e - q) : 0, q);
            }
            continue;
        }
        if (!in)
            continue;
        const char *p = line;
        unsigned idx, rgb;
        int used;
        while (sscanf(p, " %u:%6x%n", &idx, &rgb, &used) == 2) {
            if (idx < 256) {
                pal[idx][0] = (uint8_t)(rgb >> 16);
                pal[idx][1] = (uint8_t)(rgb >> 8);
                pal[idx][2] = (uint8_t)rgb;
                got++;
            }
            p += used;
        }
    }
    fclose(f);
    return got;
}

static void test_builtin_palettes(void **state)
{
    (void)state;
    const char *path = tu_testdata("zennit-palettes.txt");
    assert_int_equal(lrp_cmap_builtin_count(), 11);
    int checked = 0;
    for (int i = 0; i < lrp_cmap_builtin_count(); i++) {
        const char *name = lrp_cmap_builtin_name(i);
        char cmsl[128] = "";
        uint8_t want[256][3];
        memset(want, 0, sizeof want);
        int got = load_reference_palette(path, name, cmsl, sizeof cmsl, want);
        if (got < 0)
            fail_msg("cannot read %s", path);
        if (got != 256)
            fail_msg("%s: %d palette entries for %s", path, got, name);
        assert_string_equal(lrp_cmap_builtin_source(name), cmsl);
        lrp_cmap c;
        compile_ok(name, &c);
        uint8_t pal[256][3];
        lrp_cmap_palette(&c, 1.0, pal);
        for (int k = 0; k < 256; k++)
            if (memcmp(pal[k], want[k], 3))
                fail_msg("%s pal[%d] = %02x%02x%02x, zennit has %02x%02x%02x", name, k, pal[k][0], pal[k][1],
                         pal[k][2], want[k][0], want[k][1], want[k][2]);
        /* the CMSL source itself compiles to the same palette */
        lrp_cmap c2;
        uint8_t pal2[256][3];
        compile_ok(cmsl, &c2);
        lrp_cmap_palette(&c2, 1.0, pal2);
        assert_memory_equal(pal, pal2, sizeof pal);
        checked++;
    }
    assert_int_equal(checked, 11);
    assert_null(lrp_cmap_builtin_name(11));
    assert_null(lrp_cmap_builtin_name(-1));
    assert_null(lrp_cmap_builtin_source("nope"));
}

static void test_gray_is_identity(void **state)
{
    (void)state;
    uint8_t pal[256][3];
    lrp_error err;
    assert_int_equal(lrp_palette_for("gray", 1.0, pal, &err), LRP_OK);
    for (int i = 0; i < 256; i++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(pal[i][k], i);
}

static void expect_rgb(const uint8_t rgb[3], unsigned hex)
{
    unsigned got = (unsigned)rgb[0] << 16 | (unsigned)rgb[1] << 8 | rgb[2];
    if (got != hex)
        fail_msg("got %06x, expected %06x", got, hex);
}

/* zennit-reference.md §6.3 reference values. */
static void test_levels(void **state)
{
    (void)state;
    uint8_t pal[256][3];
    lrp_error err;
    assert_int_equal(lrp_palette_for("coldnhot", 0.5, pal, &err), LRP_OK);
    expect_rgb(pal[0], 0x0000ff);
    expect_rgb(pal[255], 0xff8100);
    assert_int_equal(lrp_palette_for("coldnhot", 2.0, pal, &err), LRP_OK);
    expect_rgb(pal[128], 0x030000);
    assert_int_equal(lrp_palette_for("coldnhot", 1.0, pal, &err), LRP_OK);
    expect_rgb(pal[127], 0x000003);
    /* level 0: every entry is the colour at 0.5 */
    assert_int_equal(lrp_palette_for("gray", 0.0, pal, &err), LRP_OK);
    for (int i = 0; i < 256; i++)
        expect_rgb(pal[i], 0x7f7f7f);
    assert_int_equal(lrp_palette_for("gray", INFINITY, pal, &err), LRP_ERR_ARG);
}

/* ------------------------------------------------------ node tables (§6.2) */

static const struct {
    const char *name;
    const char *nodes;
} node_tables[] = {
    {"gray", "0:000000 255:ffffff"},
    {"wred", "0:ffffff 255:ff0000"},
    {"wblue", "0:ffffff 255:0000ff"},
    {"hot", "0:000000 85:ff0000 170:ffff00 255:ffffff"},
    {"cold", "0:000000 127:0000ff 255:00ffff"},
    {"coldnhot", "0:00ffff 64:0000ff 128:000000 170:ff0000 212:ffff00 255:ffffff"},
    {"bwr", "0:0000ff 128:ffffff 255:ff0000"},
    {"france", "0:0055a4 128:ffffff 255:ef4135"},
    {"seismic", "0:0000d0 128:d0d0d0 255:d00000"},
    {"coolio", "0:00d0d0 128:d0d0d0 255:d000d0"},
    {"coleus", "0:00d000 128:d0d0d0 255:d000d0"},
};

/* Compares the compiled nodes with "i:rrggbb ..." plus the terminal node (256, last colour). */
static void expect_nodes(const char *src, const char *table)
{
    lrp_cmap c;
    compile_ok(src, &c);
    int idx[64];
    unsigned col[64];
    int n = 0, used;
    const char *p = table;
    while (n < 63 && sscanf(p, " %d:%6x%n", &idx[n], &col[n], &used) == 2) {
        n++;
        p += used;
    }
    idx[n] = 256;
    col[n] = col[n - 1];
    n++;
    if (c.n != n)
        fail_msg("\"%s\": %d nodes, expected %d (%s)", src, c.n, n, table);
    for (int i = 0; i < n; i++) {
        if (c.index[i] != idx[i])
            fail_msg("\"%s\": node %d at %d, expected %d", src, i, c.index[i], idx[i]);
        expect_rgb(c.color[i], col[i]);
    }
}

static void test_node_tables(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof node_tables / sizeof node_tables[0]; i++)
        expect_nodes(node_tables[i].name, node_tables[i].nodes);
}

/* Placement rules of §6.3, on hand-derived examples. */
static void test_cmsl_syntax(void **state)
{
    (void)state;
    /* whitespace anywhere between tokens, a trailing comma, upper case */
    expect_nodes("  00F , 80 :\tFFF,\nf00 ,", "0:0000ff 128:ffffff 255:ff0000");
    /* a 1-digit index is doubled: 8 -> 0x88 */
    expect_nodes("000,8:fff,f00", "0:000000 136:ffffff 255:ff0000");
    /* 6-digit colours are read as pairs, 3-digit ones double each digit */
    expect_nodes("123456,f0a", "0:123456 255:ff00aa");
    /* an indexed first node is also placed at 0: constant colour before it */
    expect_nodes("40:123,fff", "0:112233 64:112233 255:ffffff");
    /* an indexed last node below 255: constant after it (until the terminal node) */
    expect_nodes("000,c0:fff", "0:000000 192:ffffff");
    /* un-indexed nodes spread evenly: int(p*(1-a) + q*a) for a = k/(n+1) */
    expect_nodes("000,111,222,333,ff:fff", "0:000000 63:111111 127:222222 191:333333 255:ffffff");
    expect_nodes("000,111,222,10:fff", "0:000000 5:111111 10:222222 16:ffffff");
    /* equal indices are allowed (a step) */
    expect_nodes("000,80:f00,80:0f0,fff", "0:000000 128:ff0000 128:00ff00 255:ffffff");
    /* explicit 00 and ff */
    expect_nodes("00:000,ff:fff", "0:000000 255:ffffff");
}

/* §7: zennit's invalid CMSL examples, and a few more. */
static void test_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "this",
        "fff",
        ",,,",
        "111:111:111",
        "fffff,fffff",
        "f,f",
        "fffffffff",
        "ff:",
        "ff:fff,00:000",
        /* more */
        "",
        " ",
        "000,,fff",
        ",000,fff",
        "000 fff",
        "000,80fff",
        "000,80:",
        "000,:fff",
        "000,fff,80",
        "000;fff",
        "000,fff\xc3\xa9",
        "hott",
        "000,80:80:fff",
        "000,100:fff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lrp_cmap c;
        lrp_error err;
        memset(&err, 0, sizeof err);
        lrp_status st = lrp_cmap_parse(bad[i], &c, &err);
        if (st != LRP_ERR_ARG)
            fail_msg("\"%s\" should fail, got status %d", bad[i], (int)st);
        if (strncmp(err.message, "invalid colour map \"", 20) != 0 || strchr(err.message, '\n'))
            fail_msg("\"%s\": message is not one 'invalid colour map' line: %s", bad[i], err.message);
        print_message("  %s\n", err.message);
    }
    lrp_cmap c;
    lrp_error err;
    assert_int_equal(lrp_cmap_parse("ff:", &c, &err), LRP_ERR_ARG);
    assert_non_null(strstr(err.message, "position 4"));
    assert_int_equal(lrp_cmap_parse("ff:fff,00:000", &c, &err), LRP_ERR_ARG);
    assert_non_null(strstr(err.message, "position 8"));
    assert_non_null(strstr(err.message, "ascend"));
    assert_int_equal(lrp_cmap_parse("hott", &c, &err), LRP_ERR_ARG);
    assert_non_null(strstr(err.message, "coldnhot"));
    assert_int_equal(lrp_cmap_parse(NULL, &c, &err), LRP_ERR_ARG);
    /* far too many colours is refused, not overflowed */
    size_t n = 4 * (LRP_CMAP_MAX_NODES + 10);
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i += 4)
        memcpy(big + i, "fff,", 4);
    big[n] = '\0';
    assert_int_equal(lrp_cmap_parse(big, &c, &err), LRP_ERR_ARG);
    assert_non_null(strstr(err.message, "too many"));
    assert_true(strlen(err.message) < 200);
    free(big);
}

static void test_eval(void **state)
{
    (void)state;
    lrp_cmap c;
    compile_ok("bwr", &c);
    double rgb[3];
    lrp_cmap_eval(&c, 0.0, rgb);
    assert_true(rgb[0] == 0.0 && rgb[1] == 0.0 && rgb[2] == 1.0);
    lrp_cmap_eval(&c, 2.0, rgb); /* clipped */
    assert_true(rgb[0] == 1.0 && rgb[1] == 0.0 && rgb[2] == 0.0);
    lrp_cmap_eval(&c, 128.0 / 255.0, rgb);
    assert_true(rgb[0] == 1.0 && rgb[1] == 1.0 && rgb[2] == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_palettes),
        cmocka_unit_test(test_gray_is_identity),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_node_tables),
        cmocka_unit_test(test_cmsl_syntax),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
