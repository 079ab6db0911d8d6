/* The conformance sets of ../shared: refset (zennit on small CNNs,
 * test_refset.c) and refset-modern (transformers and post-2018 CNNs,
 * test_refset_modern.c). Reading their cases, running lrp on one case the
 * way the sets' README.md says, and rendering relevance like their golden
 * heatmaps (also used by test_heatmap.c). Public API only (lrp.h,
 * lrp_render.h). */
#ifndef LRP_REFSET_COMMON_H
#define LRP_REFSET_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "lrp.h"

#define RS_MAX_HEATMAPS 4

typedef struct rs_heatmap {
    char png[320], cmap[32];
    int symmetric;
} rs_heatmap;

typedef struct rs_case {
    /* the eight columns of every cases.tsv */
    char model[256], input[256], method[64], params[256], relevance[256], logits[256];
    int64_t target;
    double tolerance;
    /* refset-modern's three more: opset (0 when absent), gate and attention ("-" when absent or empty) */
    int opset;
    char gate[16], attention[16];
    /* from cases.json (rs_read_case_json): the reference's own float32-vs-float64 error (NAN when unknown) and
     * the golden heatmaps of the case's relevance */
    double f32err;
    int n_heatmaps;
    rs_heatmap heatmaps[RS_MAX_HEATMAPS];
} rs_case;

/* DIR/cases.tsv -> *out (malloc'ed); the number of cases, -1 without the file. */
int rs_read_cases(const char *dir, rs_case **out);

/* Fills f32err and the heatmaps of every case from DIR/cases.json (the entry after the case's "relevance" key;
 * every golden relevance has one entry, or one per opset with the same values). Leaves NAN and none without it. */
void rs_read_case_json(const char *dir, rs_case *cases, int n);

/* "key=value,key=value" lookup; dflt when absent or params is "-". */
double rs_param(const char *params, const char *key, double dflt);

/* A case's name: the model file's stem and the golden relevance's name without its model part, e.g.
 * "tiny-vit-op13--skimage_chelsea--7--gradient" (models/tiny-vit-op13.onnx, golden/tiny-vit--skimage_chelsea--7--
 * gradient.npy). Unique within a set. */
const char *rs_case_id(const rs_case *c, char *buf, size_t size);

/* A model of the set loaded twice: with canonizers (for the composites) and as exported (the plain gradient, the
 * attributors without a composite, the logits). */
typedef struct rs_model {
    char path[1200];
    lrp_model *canon, *plain;
    char why[LRP_ERROR_MAX]; /* why it did not load */
} rs_model;

/* Loads PATH into ms unless ms holds it already (freeing what it held); 0, or -1 with ms->why. */
int rs_model_open(rs_model *ms, const char *path);
void rs_model_close(rs_model *ms);

typedef struct rs_result {
    double rel_l2;         /* ||R - G|| / ||G||; INFINITY when lrp gave no relevance */
    double logit_err;      /* max |logit - golden| / max |golden|; INFINITY when unknown */
    lrp_tensor *relevance; /* lrp's, or NULL; rs_result_clear frees it */
    char why[600];         /* why there is no relevance: lrp's message, or what the case asks that lrp lacks */
} rs_result;

/* Runs lrp on case c of the set in DIR with ms (loaded, see rs_model_open) and scores it. Cases asking for a
 * parameter or a squeeze-excitation gate lrp has no option for give no relevance and say so in why. */
void rs_run_case(rs_model *ms, const char *dir, const rs_case *c, rs_result *r);
void rs_result_clear(rs_result *r);

/* ||a - b|| / ||b|| of a float32 tensor (the float32 build's relevance) and a float64 one (the float64 build's,
 * rs_run_case_f64) of one size; INFINITY when either is missing or they do not fit. */
double rs_rel_l2_32_64(const lrp_tensor *a, const lrp_tensor *b);

/* The float64 build of this file, the library and testutil.c (liblrp64.a and the helpers built for it; the
 * Makefile links them into test_refset and test_refset_modern): the same functions, for lrp in float64. */
void lrp_set_threads_f64(int n);
int rs_model_open_f64(rs_model *ms, const char *path);
void rs_model_close_f64(rs_model *ms);
void rs_run_case_f64(rs_model *ms, const char *dir, const rs_case *c, rs_result *r);
void rs_result_clear_f64(rs_result *r);

/* Renders rel like the sets' heatmaps (zennit's imgify of the channel sum: min..max, or +-max|R| when symmetric,
 * colour map cmap) and compares the decoded RGB with the PNG; 1 if identical, else 0 with why. */
int rs_heatmap_matches(const lrp_tensor *rel, const char *cmap, int symmetric, const char *png, char *why,
                       size_t why_size);
/* The same comparison: the number of pixels that differ (0 when identical), or -1 with why when it cannot be made. */
long rs_heatmap_diff(const lrp_tensor *rel, const char *cmap, int symmetric, const char *png, char *why,
                     size_t why_size);

#endif
