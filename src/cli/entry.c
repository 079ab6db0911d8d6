/* lrp: the command-line tool's entry point (the commands are in main.c). */
#include "cli/common.h"

#include <malloc.h>
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
    return cli_main(argc, argv);
}
