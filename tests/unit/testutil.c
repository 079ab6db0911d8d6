#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *tu_shared_dir(void)
{
    const char *env = getenv("LRP_SHARED");
    if (env && *env)
        return is_dir(env) ? env : NULL;
    return is_dir("../shared/refset") ? "../shared" : NULL;
}

const char *tu_path(const char *dir, const char *rel)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 4096, "%s/%s", dir, rel);
    return b;
}

double tu_rel_l2(const lrp_real *a, const lrp_real *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    if (den == 0)
        return num == 0 ? 0 : INFINITY;
    return sqrt(num / den);
}

double tu_max_abs_diff(const lrp_real *a, const lrp_real *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d)
            m = d;
    }
    return m;
}

unsigned char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf && len)
        *len = (size_t)n;
    return buf;
}

const char *tu_temp_file(const void *data, size_t len, const char *suffix)
{
    static char path[8][256];
    static int next;
    char *p = path[next++ % 8];
    const char *tmp = getenv("TMPDIR");
    snprintf(p, 256, "%s/lrp-test-XXXXXX%s", tmp && *tmp ? tmp : "/tmp", suffix ? suffix : "");
    int fd = mkstemps(p, suffix ? (int)strlen(suffix) : 0);
    if (fd < 0)
        return NULL;
    if (len && write(fd, data, len) != (ssize_t)len) {
        close(fd);
        return NULL;
    }
    close(fd);
    return p;
}

const char *tu_testdata(const char *rel)
{
    static const char *const roots[] = {"testdata", "../testdata", "../../testdata"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        const char *p = tu_path(roots[i], rel);
        FILE *f = fopen(p, "rb");
        if (f) {
            fclose(f);
            return p;
        }
    }
    return tu_path("testdata", rel);
}
