/* The table of supported operators: one entry per ONNX op type, each defined
 * in its own file under src/ops/. */
#include "op.h"

#include <string.h>

extern const lrp_op lrp_op_conv;

static const lrp_op *const registry[] = {
    &lrp_op_conv,
};

#define N_OPS ((int)(sizeof registry / sizeof *registry))

const lrp_op *lrp_op_find(const char *type)
{
    for (int i = 0; i < N_OPS; i++)
        if (!strcmp(registry[i]->type, type))
            return registry[i];
    return NULL;
}

int lrp_op_count(void) { return N_OPS; }

const lrp_op *lrp_op_at(int i) { return i >= 0 && i < N_OPS ? registry[i] : NULL; }
