/* lrp: the command-line tool. */
#include "cli/common.h"
#include "cli/options.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* OpenMP's worker threads busy-wait between parallel regions by default
 * (libgomp spins about 300000 times before sleeping). On a machine whose
 * cores other processes use too, the spinning workers take the cores from
 * the thread doing the work: measured 3-4x slower than --threads 1 under
 * load. libgomp reads its wait policy once, when it is loaded, so the
 * command runs itself again with OMP_WAIT_POLICY=PASSIVE unless the user
 * chose a policy or a spin count. (If /proc/self/exe cannot be executed,
 * the run simply goes on with the default policy.) */
static void passive_wait_policy(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    unsetenv("OMP_WAIT_POLICY");
}

int main(int argc, char **argv)
{
    passive_wait_policy(argv);
    /* Activations of a few MB are allocated and freed layer after layer:
     * keep them in the heap (up to glibc's 32 MB mmap limit) instead of
     * mapping fresh zero pages from the kernel for every one. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    cli_args a;
    int rc = cli_parse(argc - 1, argv + 1, &a);
    if (rc != EXIT_OK) {
        cli_args_free(&a);
        return rc;
    }
    if (a.help) {
        cli_print_command_help(stdout, a.command);
        cli_args_free(&a);
        return EXIT_OK;
    }
    switch (a.command) {
    case CMD_HELP:
        if (a.n_pos > 1) {
            cli_error("help: give at most one command");
            rc = EXIT_USAGE;
        } else if (a.n_pos == 1) {
            cli_args b;
            char *one[1] = {a.pos[0]};
            if (cli_parse(1, one, &b) != EXIT_OK)
                rc = EXIT_USAGE;
            else
                cli_print_command_help(stdout, b.command);
            cli_args_free(&b);
        } else {
            cli_print_usage(stdout);
        }
        break;
    case CMD_VERSION: printf("lrp %s\n", LRP_VERSION); break;
    case CMD_EXPLAIN: rc = cmd_explain(&a); break;
    case CMD_PREDICT: rc = cmd_predict(&a); break;
    case CMD_INSPECT: rc = cmd_inspect(&a); break;
    case CMD_PREPROCESS: rc = cmd_preprocess(&a); break;
    case CMD_RENDER: rc = cmd_render(&a); break;
    case CMD_COMPARE: rc = cmd_compare(&a); break;
    case CMD_EVAL: rc = cmd_eval(&a); break;
    default:
        cli_print_usage(stderr);
        rc = EXIT_USAGE;
        break;
    }
    /* ferror too: a failed write may have happened at an earlier fflush */
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == EXIT_OK) {
        cli_error("write error on standard output");
        rc = EXIT_OUTPUT;
    }
    cli_args_free(&a);
    return rc;
}
