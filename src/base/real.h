/* The arithmetic of lrp_real (include/lrp.h): float, or double in the second
 * build behind the CLI's --double. Code writes lrp_exp(x), LRP_R(0.1), ...
 * and gets expf(x) and 0.1f in the float build, exp(x) and 0.1 in the double
 * one. (A literal that a float represents exactly, such as 0.5f, needs no
 * LRP_R: it has the same value as a double.) */
#ifndef LRP_REAL_H
#define LRP_REAL_H

#include "lrp.h"

#include <float.h>
#include <math.h>

#ifdef LRP_REAL_DOUBLE
#define LRP_R(x) x
#define LRP_REAL_MAX DBL_MAX
#define LRP_REAL_FN(name) name
#define lrp_strtor strtod
#else
#define LRP_R(x) x##f
#define LRP_REAL_MAX FLT_MAX
#define LRP_REAL_FN(name) name##f
#define lrp_strtor strtof
#endif

#define lrp_exp LRP_REAL_FN(exp)
#define lrp_log LRP_REAL_FN(log)
#define lrp_sqrt LRP_REAL_FN(sqrt)
#define lrp_fabs LRP_REAL_FN(fabs)
#define lrp_fmax LRP_REAL_FN(fmax)
#define lrp_fmin LRP_REAL_FN(fmin)
#define lrp_pow LRP_REAL_FN(pow)
#define lrp_tanh LRP_REAL_FN(tanh)
#define lrp_erf LRP_REAL_FN(erf)
#define lrp_floor LRP_REAL_FN(floor)
#define lrp_ceil LRP_REAL_FN(ceil)
#define lrp_round LRP_REAL_FN(round)
#define lrp_nearbyint LRP_REAL_FN(nearbyint)
#define lrp_rint LRP_REAL_FN(rint)
#define lrp_trunc LRP_REAL_FN(trunc)
#define lrp_fmod LRP_REAL_FN(fmod)
#define lrp_log1p LRP_REAL_FN(log1p)
#define lrp_expm1 LRP_REAL_FN(expm1)
#define lrp_ldexp LRP_REAL_FN(ldexp)
#define lrp_frexp LRP_REAL_FN(frexp)
#define lrp_copysign LRP_REAL_FN(copysign)

#endif
