/* Outputs a pipeline can trust: every path a run writes is claimed before
 * anything is written and refused when it is one of the run's inputs, another
 * output of the run, or a directory; standard output and files that are not
 * regular (FIFOs, devices) are written through, regular files atomically
 * (see cli_write_output in items.h). */
#ifndef LRP_CLI_OUTPUTS_H
#define LRP_CLI_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>

/* In an expanded template, a field whose value is not known yet ({target}
 * before the forward pass): it stands for a run of digits. */
#define CLI_WILD '\x01'
/* A {label} not known yet; it is not matched against found files. */
#define CLI_WILD_LABEL '\x02'

typedef struct cli_guard cli_guard;

cli_guard *cli_guard_new(void);
void cli_guard_free(cli_guard *g);

/* Records a file the run reads (model, image, list, labels, baseline...).
 * Returns EXIT_OK, or EXIT_INTERNAL (out of memory, printed). */
int cli_guard_input(cli_guard *g, const char *path);

/* Claims an output path for the option opt ("-o"), written for the input
 * owner (NULL: for the whole run). Refuses, with one line on stderr naming
 * both paths, and returns EXIT_USAGE when the path is a directory, one of the
 * run's inputs (the same file: device and inode where it exists, the canonical
 * path otherwise) or already claimed by this run. Character devices
 * (/dev/null, a terminal) are exempt. Returns EXIT_OK or EXIT_INTERNAL. */
int cli_guard_output(cli_guard *g, const char *opt, const char *path, const char *owner);
/* The same, with the message in msg instead of on stderr. */
int cli_guard_output_msg(cli_guard *g, const char *opt, const char *path, const char *owner, char *msg, size_t msize);

/* After this, refusals say the output was not written (rather than that
 * nothing was): for the checks made while the run goes on. */
void cli_guard_set_running(cli_guard *g);

/* How many claimed outputs go to standard output. */
int cli_guard_stdout_outputs(const cli_guard *g);

/* The file descriptor a path names directly: 1 for "-", /dev/stdout,
 * /dev/fd/1 and /proc/self/fd/1, 2 for the stderr forms, N for /dev/fd/N;
 * -1 for any other path. */
int cli_output_fd(const char *path);

/* The absolute path with symbolic links, "." and ".." resolved as far as the
 * path exists and lexically beyond. Returns false if it does not fit. */
bool cli_canonical_path(const char *path, char *out, size_t size);

/* Copies s into out with CLI_WILD shown as "{target}" (for messages). */
const char *cli_path_shown(const char *s, char *out, size_t size);

#endif
