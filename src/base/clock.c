/* The monotonic clock and the LRP_PROFILE timing table. */
#include "base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double lrp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Profiling: a small table of labels and accumulated seconds. */
static struct {
    const char *what;
    double s;
    long calls;
} prof[64];
static int prof_n, prof_on = -1;

static void prof_dump(void)
{
    for (int i = 0; i < prof_n; i++)
        fprintf(stderr, "lrp profile: %-28s %9.4f s %6ld calls\n", prof[i].what, prof[i].s, prof[i].calls);
}

void lrp_profile_add(const char *what, double seconds)
{
    if (prof_on < 0) {
        prof_on = getenv("LRP_PROFILE") != NULL;
        if (prof_on)
            atexit(prof_dump);
    }
    if (!prof_on)
        return;
    int i;
    for (i = 0; i < prof_n; i++)
        if (!strcmp(prof[i].what, what))
            break;
    if (i == prof_n) {
        if (prof_n == 64)
            return;
        prof[prof_n++].what = what;
    }
    prof[i].s += seconds;
    prof[i].calls++;
}
