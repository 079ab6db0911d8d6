/* Shared pieces of the fuzz harnesses (fuzz/fuzz_*.c). Each harness defines
 * LLVMFuzzerInitialize and LLVMFuzzerTestOneInput; it is linked either with
 * libFuzzer (make fuzz) or with fuzz/replay_main.c (a plain program that runs
 * the files given on its command line: the regression test). */
#ifndef LRP_FUZZ_UTIL_H
#define LRP_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where harnesses add up what they read, so that the reads are not optimized away. */
extern volatile unsigned fuzz_sink;

/* A NUL-terminated copy of the input (caller frees). */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Writes the input to this process's scratch file (created once, in /dev/shm
 * when there is one) and returns its path; suffix is the file extension. */
static inline const char *fuzz_scratch(const uint8_t *data, size_t size, const char *suffix)
{
    static char path[256];
    if (!path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/lrp-fuzz-%ld%s", dir, (long)getpid(), suffix);
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* A broken invariant: says which, and aborts (a crash for libFuzzer). */
static inline void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

/* An error must be one line: non-empty, no newline (the CLI prints it as is). */
static inline void fuzz_check_message(const char *msg)
{
    if (!msg[0] || strchr(msg, '\n')) {
        fprintf(stderr, "fuzz: bad error message: '%s'\n", msg);
        abort();
    }
}

/* The test data directory: $TESTDATA, else the source tree's. */
static inline const char *fuzz_testdata(void)
{
    const char *t = getenv("TESTDATA");
#ifdef FUZZ_TESTDATA
    if (!t || !*t)
        t = FUZZ_TESTDATA;
#endif
    return t && *t ? t : "testdata";
}

#endif
