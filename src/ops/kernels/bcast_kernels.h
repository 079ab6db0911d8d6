/* Numpy-style broadcasting for elementwise ops: an iteration over the output
 * in rows (the innermost collapsed dim) with each operand's offset, the
 * arithmetic of the binary ops, and the reduction of a gradient back onto a
 * broadcast operand. Shared by Add, Sub, Mul, Div, Pow, Sum, Mean, Min, Max,
 * Equal, Where, Expand, PRelu and the reductions. */
#ifndef LRP_BCAST_KERNELS_H
#define LRP_BCAST_KERNELS_H

#include "ops/op.h"

#include <stdbool.h>

#define LRP_BC_MAX 4 /* operands, the output (operand 0) included */

/* Below this many elements our loops stay single-threaded. */
#ifndef LRP_PAR_MIN
#define LRP_PAR_MIN 65536
#endif

typedef struct lrp_bcast {
    int nops;
    int nd; /* collapsed rank, >= 1 */
    int64_t dims[LRP_MAX_DIMS];
    int64_t st[LRP_BC_MAX][LRP_MAX_DIMS]; /* element strides, 0 along broadcast dims */
    int64_t rows, len;                    /* rows of len elements each */
} lrp_bcast;

/* Operand 0 has the full shape (nd0, d0); operands 1..nin are broadcast into
 * it (right-aligned, each dim equal to d0's or 1). Returns -1 when an operand
 * does not broadcast into operand 0. */
int lrp_bcast_init(lrp_bcast *bc, int nd0, const int64_t *d0, int nin, const int *nds, const int64_t *const *ds);

/* Offsets of every operand at the start of row r. */
static inline void lrp_bcast_row(const lrp_bcast *bc, int64_t r, int64_t *off)
{
    for (int k = 0; k < bc->nops; k++)
        off[k] = 0;
    for (int d = bc->nd - 2; d >= 0 && r; d--) {
        int64_t i = r % bc->dims[d];
        r /= bc->dims[d];
        for (int k = 0; k < bc->nops; k++)
            off[k] += i * bc->st[k][d];
    }
}

/* Stride of operand k along the rows (0 or 1). */
static inline int64_t lrp_bcast_inner(const lrp_bcast *bc, int k) { return bc->st[k][bc->nd - 1]; }

/* True when operand k is not broadcast (every output element has its own). */
bool lrp_bcast_full(const lrp_bcast *bc, int k);

/* gk[...] += scale * g[...] summed over the dims operand k is broadcast along
 * (g has operand 0's shape). Deterministic: fixed summation order. */
void lrp_bcast_reduce(const lrp_bcast *bc, int k, const lrp_real *g, lrp_real scale, lrp_real *gk);

typedef enum {
    LRP_BIN_ADD,
    LRP_BIN_SUB,
    LRP_BIN_MUL,
    LRP_BIN_DIV,
    LRP_BIN_POW,
    LRP_BIN_MIN,
    LRP_BIN_MAX,
    LRP_BIN_EQUAL,
    LRP_BIN_LESS,
    LRP_BIN_GREATER,
} lrp_binop;

/* y = a (op) b elementwise over the broadcast of operands (y, a, b), in float
 * (EQUAL/LESS/GREATER write 0/1 as int64 into y when y is int64). */
void lrp_binary_f32(const lrp_bcast *bc, lrp_binop op, const lrp_real *a, const lrp_real *b, void *y);
/* The same in int64 (wrapping add/sub/mul; DIV truncates). Fails only on an
 * integer division by zero (returns -1). */
int lrp_binary_i64(const lrp_bcast *bc, lrp_binop op, const int64_t *a, const int64_t *b, int64_t *y);

/* gk += the gradient of y = a (op) b with respect to operand k (1: a, 2: b)
 * for the upstream gradient g, summed over the dims operand k is broadcast
 * along. op is ADD, SUB, MUL, DIV or POW; a and b may be NULL when op does
 * not read them (ADD, SUB; MUL reads the other operand only). */
void lrp_binary_grad(const lrp_bcast *bc, lrp_binop op, int k, const lrp_real *g, const lrp_real *a, const lrp_real *b,
                     lrp_real *gk);

/* Binary-op attributes: the legacy (opset < 7) `broadcast` and `axis`. */
typedef struct lrp_binary_state {
    int legacy_axis; /* 1 when B is aligned at `axis` rather than at the end */
    int64_t axis;
} lrp_binary_state;

lrp_status lrp_binary_init(lrp_graph *g, lrp_node *n, lrp_error *err);

/* Shape inference of a two-input broadcasting op: both float or both int64
 * (ints only when allow_int), output dtype out_dt (0: the inputs'). */
lrp_status lrp_binary_infer(lrp_graph *g, lrp_node *n, bool allow_int, lrp_dtype out_dt, lrp_error *err);

/* The broadcast of (y, a, b) for a binary node, honouring the legacy axis. */
int lrp_binary_bcast(const lrp_node *n, const lrp_tensor *y, const lrp_tensor *a, const lrp_tensor *b, lrp_bcast *bc);

/* Forward of a plain binary op (float or int64). */
lrp_status lrp_binary_forward(const lrp_node *n, lrp_binop op, const lrp_tensor *const *in, lrp_tensor *const *out,
                              lrp_error *err);

/* Infer of an arithmetic op (Add, Sub, Mul, Div): float or int64, refusing
 * narrow integer types whose wraparound lrp cannot reproduce. */
lrp_status lrp_arith_infer(lrp_graph *g, lrp_node *n, lrp_error *err);

/* Backward of ADD, SUB, MUL, DIV, POW: in[] holds the inputs when the op
 * reads them (MUL, DIV, POW keep them); shapes come from in[] or gin[]. */
lrp_status lrp_binary_backward(const lrp_node *n, lrp_binop op, const lrp_tensor *const *in, const lrp_tensor *gout,
                               lrp_tensor *const *gin, lrp_error *err);

/* Variadic broadcasting ops (Sum, Mean, Max, Min): inputs of one dtype
 * (ints when allow_int), output the broadcast of all. */
lrp_status lrp_variadic_infer(lrp_graph *g, lrp_node *n, bool allow_int, lrp_error *err);
/* y = in0 (op) in1 (op) ... for op ADD, MAX or MIN, then times scale. */
lrp_status lrp_variadic_forward(const lrp_node *n, lrp_binop op, lrp_real scale, const lrp_tensor *const *in,
                                lrp_tensor *const *out, lrp_error *err);
/* ADD: gin[k] += scale g (summed over broadcast dims). MAX, MIN: the
 * gradient goes to the inputs equal to the output, shared among ties (as
 * PyTorch's maximum and minimum); needs in[] and out. */
lrp_status lrp_variadic_backward(const lrp_node *n, lrp_binop op, lrp_real scale, const lrp_tensor *const *in,
                                 const lrp_tensor *out, const lrp_tensor *gout, lrp_tensor *const *gin,
                                 lrp_error *err);

#endif
