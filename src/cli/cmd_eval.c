/* lrp eval: region perturbation (issue 5; see attribution.c). */
#include "common.h"

int cmd_eval(cli_args *a)
{
    (void)a;
    cli_error("eval: not available in this build yet");
    return EXIT_USAGE;
}
