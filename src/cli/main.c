/* lrp: the command-line tool. */
#include "cli/common.h"
#include "cli/options.h"

#include <stdio.h>
#include <stdlib.h>

/* The commands: parse the options and run one. In the float32 build, --double
 * runs the whole command again in the float64 build (cli_main_f64: the same
 * source, see the Makefile), and so does compare, which then reads float32
 * and float64 files alike without rounding either. */
int cli_main(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(argc - 1, argv + 1, &a);
    if (rc != EXIT_OK) {
        cli_args_free(&a);
        return rc;
    }
#ifndef LRP_REAL_DOUBLE
    if (a.double_precision || a.command == CMD_COMPARE) {
        cli_args_free(&a);
        return cli_main_f64(argc, argv);
    }
#endif
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
    case CMD_ATTACK: rc = cmd_attack(&a); break;
    case CMD_CONCEPTS: rc = cmd_concepts(&a); break;
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
