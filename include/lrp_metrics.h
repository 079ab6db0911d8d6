/*
 * lrp: localisation metrics of an attribution against a mask, and the
 * right-for-the-right-reasons penalty (Ross, Hughes & Doshi-Velez 2017).
 *
 * The metrics follow Quantus 0.6.0 on a flattened map a and mask s (s[i] != 0:
 * inside the object), with no normalisation and no abs unless asked for (the
 * caller normalises; dividing a by a positive constant changes none of them
 * but attribution localisation's 1e-9). A metric that is undefined (an empty
 * mask, a mask that covers everything for the AUC, a zero sum) is NaN.
 */
#ifndef LRP_METRICS_H
#define LRP_METRICS_H

#include "lrp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if any position holding the maximum of a lies in s (ties count), else 0. */
LRP_API double lrp_pointing_game(const lrp_real *a, const unsigned char *s, int64_t n);
/* sum(a over s) / sum(a), signed (may leave [0, 1]). */
LRP_API double lrp_relevance_mass_accuracy(const lrp_real *a, const unsigned char *s, int64_t n);
/* K = |s|: the fraction of the K largest entries of a (ties by position, as a
 * stable argsort(-a)) that lie in s. */
LRP_API double lrp_relevance_rank_accuracy(const lrp_real *a, const unsigned char *s, int64_t n);
/* mu = sum(a over s) / (sum(a) + 1e-9); NaN when mu > 1 (Quantus). */
LRP_API double lrp_attribution_localisation(const lrp_real *a, const unsigned char *s, int64_t n);
/* |the k largest entries of a (argsort(a)[-k:], ties: the later position
 * first) in s| / k (Quantus: over k even when n < k). */
LRP_API double lrp_top_k_intersection(const lrp_real *a, const unsigned char *s, int64_t n, int64_t k);
/* ROC AUC of s as labels and a as scores (sklearn's roc_curve and auc: tied
 * scores count one half). */
LRP_API double lrp_roc_auc(const lrp_real *a, const unsigned char *s, int64_t n);

typedef struct lrp_localisation {
    double pointing_game, relevance_mass_accuracy, relevance_rank_accuracy, attribution_localisation,
        top_k_intersection, auc;
    int64_t pixels, mask_pixels, k;
} lrp_localisation;

/* All six on a (|a| with use_abs). */
LRP_API lrp_status lrp_localisation_metrics(const lrp_real *a, const unsigned char *s, int64_t n, int64_t k,
                                            int use_abs, lrp_localisation *out, lrp_error *err);

/* Masks: lrp_mask_load in lrp_image.h. */

/* The right-for-the-right-reasons penalty of one input (batch of one, an image
 * input): g = d/dx sum_k log softmax(f(x))_k (the plain gradient, = J^T (1 - K p)
 * for K classes), *penalty = sum over channels and positions of (A g)^2 with A
 * = mask (H*W bytes, broadcast over channels), *complement the same with
 * A = 1 - mask. *gradient (may be NULL): g, shaped like the input. */
LRP_API lrp_status lrp_rrr_penalty(lrp_model *m, const lrp_tensor *input, const unsigned char *mask, double *penalty,
                                   double *complement, lrp_tensor **gradient, lrp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LRP_METRICS_H */
