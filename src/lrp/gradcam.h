/* Grad-CAM and Grad-CAM++ (gradcam.c), the attributors that look at one
 * layer's activation and the gradient arriving there. */
#ifndef LRP_GRADCAM_H
#define LRP_GRADCAM_H

#include "lrp.h"

/* lrp_attribute for o->kind LRP_ATTRIBUTOR_GRAD_CAM or _GRAD_CAM_PP (the
 * explainer's execution choices already installed). */
lrp_status lrp_gradcam_attribute(lrp_explainer *e, const lrp_attributor_options *o, const lrp_tensor *input,
                                 const int64_t *targets, lrp_tensor **map, lrp_tensor **logits_out,
                                 int64_t *targets_out, lrp_error *err);

/* The bilinear resize of pytorch-grad-cam (OpenCV INTER_LINEAR: half-pixel
 * centres, clamped edges, no antialiasing) of an h x w map to H x W, in double. */
void lrp_cam_resize(const double *src, int h, int w, double *dst, int H, int W);

#endif
