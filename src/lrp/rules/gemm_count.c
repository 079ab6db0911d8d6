/* LRP_GEMM_COUNT: a count, per rule, of the layer products the rules run
 * (forward-like f(x; W, b) and transposed Wᵀg) and their multiply-adds, in
 * units of the layers' own forward products, printed to stderr at exit.
 * Off unless the variable is set (one getenv, then a flag test per product). */
#include "lrp/rules/rule.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static struct {
    long nodes, fwd, tr, cached;
    double layer_macs, macs;
} tab[LRP_RULE_COUNT];
static bool count_on;
static pthread_once_t count_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void count_dump(void)
{
    pthread_mutex_lock(&count_lock);
    for (int k = 0; k < LRP_RULE_COUNT; k++) {
        if (!tab[k].nodes)
            continue;
        fprintf(stderr,
                "lrp gemm: %-12s %6ld layers %7ld products %7ld transposed %5ld cached  %10.4g MACs  %.3f x the "
                "layers' forward\n",
                lrp_rule_name((lrp_rule_kind)k), tab[k].nodes, tab[k].fwd, tab[k].tr, tab[k].cached, tab[k].macs,
                tab[k].layer_macs > 0 ? tab[k].macs / tab[k].layer_macs : 0.0);
    }
    pthread_mutex_unlock(&count_lock);
}

static void count_init(void)
{
    const char *v = getenv("LRP_GEMM_COUNT");
    count_on = v && *v;
    if (count_on)
        atexit(count_dump);
}

bool lrp_gemm_count_on(void)
{
    pthread_once(&count_once, count_init);
    return count_on;
}

/* The multiply-adds of the node's forward product for the relevance's batch. */
static double layer_macs(const lrp_rule_call *c)
{
    const lrp_tensor *W = lrp_layer_weight(c);
    int od = c->n->op->linear->out_channel_dim ? c->n->op->linear->out_channel_dim(c->n) : 0;
    if (od < 0 || od >= W->ndim || W->dims[od] <= 0)
        od = 0;
    return (double)c->R->numel * (double)W->numel / (double)(W->dims[od] > 0 ? W->dims[od] : 1);
}

void lrp_gemm_count_layer(const lrp_rule_call *c)
{
    if (!lrp_gemm_count_on() || !lrp_rule_on_layer(c) || (unsigned)c->rule->kind >= LRP_RULE_COUNT)
        return;
    double m = layer_macs(c);
    pthread_mutex_lock(&count_lock);
    tab[c->rule->kind].nodes++;
    tab[c->rule->kind].layer_macs += m;
    pthread_mutex_unlock(&count_lock);
}

void lrp_gemm_count(const lrp_rule_call *c, int what, double units)
{
    if (!lrp_gemm_count_on() || !lrp_rule_on_layer(c) || (unsigned)c->rule->kind >= LRP_RULE_COUNT)
        return;
    double m = what == LRP_COUNT_CACHED ? 0.0 : units * layer_macs(c);
    pthread_mutex_lock(&count_lock);
    if (what == LRP_COUNT_FWD)
        tab[c->rule->kind].fwd++;
    else if (what == LRP_COUNT_T)
        tab[c->rule->kind].tr++;
    else
        tab[c->rule->kind].cached++;
    tab[c->rule->kind].macs += m;
    pthread_mutex_unlock(&count_lock);
}
