/* A progress line on stderr, only when stderr is a terminal. */
#ifndef LRP_CLI_PROGRESS_H
#define LRP_CLI_PROGRESS_H

#include <stdbool.h>

typedef struct progress {
    bool on;
    bool tty;
    int total;
    int skipped; /* items passed over (--skip-existing): not counted in the time per item */
    double start;
} progress;

void progress_start(progress *p, int total, bool quiet);
void progress_update(progress *p, int done, const char *what);
void progress_done(progress *p);
/* Also show progress for a single item (its inner steps). */
void progress_set_steps(progress *p, bool single);
/* Progress inside item `index`: step done of total. */
void progress_sub(progress *p, int index, int done, int total, const char *what);
/* One more item passed over without work (--skip-existing), so that the
 * time left is estimated from the items actually done. */
void progress_skipped(progress *p);
/* Clears the progress line before other stderr output. */
void progress_clear(progress *p);

#endif
