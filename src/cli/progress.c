/* Progress bar. */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(progress *p, int total, bool quiet)
{
    p->tty = !quiet && isatty(STDERR_FILENO);
    p->on = p->tty && total > 1;
    p->total = total;
    p->skipped = 0;
    p->start = now();
}

void progress_skipped(progress *p) { p->skipped++; }

void progress_update(progress *p, int done, const char *what)
{
    if (!p->on)
        return;
    int width = 30, fill = p->total ? done * width / p->total : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    /* the time per item from the items done, not those skipped (a resumed run) */
    double el = now() - p->start;
    int worked = done - p->skipped;
    char left[32];
    if (worked > 0)
        snprintf(left, sizeof left, "%.0fs left", el * (p->total - done) / worked);
    else
        snprintf(left, sizeof left, "%s", done > 0 ? "? left" : "");
    const char *name = what ? what : "";
    size_t len = strlen(name);
    if (len > 30)
        name += len - 30;
    fprintf(stderr, "\r\033[K[%s] %d/%d  %s  %s", bar, done, p->total, left, name);
    fflush(stderr);
}

void progress_clear(progress *p)
{
    if (p->on) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

void progress_done(progress *p)
{
    progress_clear(p);
    p->on = false;
}

void progress_set_steps(progress *p, bool single)
{
    if (single && p->tty)
        p->on = true;
}

void progress_sub(progress *p, int index, int done, int total, const char *what)
{
    if (!p->on || total <= 1)
        return;
    char buf[96];
    const char *name = what ? what : "";
    size_t len = strlen(name);
    if (len > 40)
        name += len - 40;
    snprintf(buf, sizeof buf, "%s [%d/%d]", name, done, total);
    fprintf(stderr, "\r\033[K[%d/%d] %s", index + 1, p->total, buf);
    fflush(stderr);
}
