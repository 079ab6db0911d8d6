/* The monotonic clock and the LRP_PROFILE timing table. */
#include "base/clock.h"

#include <pthread.h>
#include <stdbool.h>
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

/* Profiling: a small table of labels and accumulated seconds, shared by
 * every thread under a lock (taken only when LRP_PROFILE is set). */
static struct {
    const char *what;
    double s;
    long calls;
} prof[64];
static int prof_n;
static bool prof_on;
static pthread_once_t prof_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t prof_lock = PTHREAD_MUTEX_INITIALIZER;

static void prof_dump(void)
{
    pthread_mutex_lock(&prof_lock);
    for (int i = 0; i < prof_n; i++)
        fprintf(stderr, "lrp profile: %-28s %9.4f s %6ld calls\n", prof[i].what, prof[i].s, prof[i].calls);
    pthread_mutex_unlock(&prof_lock);
}

static void prof_init(void)
{
    prof_on = getenv("LRP_PROFILE") != NULL;
    if (prof_on)
        atexit(prof_dump);
}

void lrp_profile_add(const char *what, double seconds)
{
    pthread_once(&prof_once, prof_init);
    if (!prof_on)
        return;
    pthread_mutex_lock(&prof_lock);
    int i;
    for (i = 0; i < prof_n; i++)
        if (!strcmp(prof[i].what, what))
            break;
    if (i == prof_n && prof_n < 64)
        prof[prof_n++].what = what;
    if (i < prof_n) {
        prof[i].s += seconds;
        prof[i].calls++;
    }
    pthread_mutex_unlock(&prof_lock);
}
