/* Heatmap extensions of issue 12 in the library: sign selection, Captum's
 * clip threshold, one-sided bounds, relevance weights, the colour bar. */
#include "testutil.h"

#include "render/heatmap.h"

#include <math.h>
#include <string.h>

static void expect_indices(const lrp_real *v, size_t n, const lrp_heatmap_opts *o, const uint8_t *want,
                           const char *what)
{
    uint8_t got[16];
    lrp_heatmap_quantize(v, n, o, got);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s: [%zu] = %u, expected %u", what, i, got[i], want[i]);
}

/* Captum's _cumulative_sum_threshold by hand. */
static void test_clip_threshold(void **state)
{
    (void)state;
    lrp_heatmap_opts o;
    lrp_heatmap_opts_init(&o);
    /* magnitudes 1..10 (total 55); P = 20: target 44, sorted cumulative sums
     * 1 3 6 10 15 21 28 36 45: the threshold is 9; -10 clips to index 0 */
    const lrp_real v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, -10};
    o.clip_percent = 20;
    /* (R + 9)/18*255 truncated: 1 -> 141.67, 9 -> 255, 2 -> 155.8, -10 -> 0 */
    const uint8_t want[] = {141, 155, 170, 184, 198, 212, 226, 240, 255, 0};
    expect_indices(v, 10, &o, want, "clip 20%, symmetric");
    /* P = 2: target 53.9 is reached only by the largest value: no clipping */
    uint8_t a[10], b[10];
    o.clip_percent = 2;
    lrp_heatmap_quantize(v, 10, &o, a);
    o.clip_percent = 0;
    lrp_heatmap_quantize(v, 10, &o, b);
    assert_memory_equal(a, b, 10);
    /* ties: five 2s, P = 50: the threshold is 2 */
    const lrp_real t[] = {2, -2, 2, -2, 2};
    o.clip_percent = 50;
    o.norm = LRP_NORM_ABSOLUTE;
    const uint8_t wt[] = {255, 255, 255, 255, 255};
    expect_indices(t, 5, &o, wt, "ties");
}

static void test_sign_and_bounds(void **state)
{
    (void)state;
    lrp_heatmap_opts o;
    lrp_heatmap_opts_init(&o);
    const lrp_real v[] = {-4, 2, -2, 0};
    o.norm = LRP_NORM_ABSOLUTE;
    o.sign = LRP_SIGN_NEGATIVE; /* |min(R, 0)| / 4 */
    const uint8_t wn[] = {255, 0, 127, 0};
    expect_indices(v, 4, &o, wn, "negative, absolute");
    o.sign = LRP_SIGN_POSITIVE; /* max(R, 0) / 2 */
    const uint8_t wp[] = {0, 255, 0, 0};
    expect_indices(v, 4, &o, wp, "positive, absolute");
    o.norm = LRP_NORM_SYMMETRIC;
    o.sign = LRP_SIGN_NEGATIVE; /* (D + 4)/8: the lower half */
    const uint8_t ws[] = {0, 127, 63, 127};
    expect_indices(v, 4, &o, ws, "negative, symmetric");
    /* one bound given: unaligned 1..3 with vmin 0 */
    const lrp_real u[] = {1, 2, 3};
    lrp_heatmap_opts_init(&o);
    o.norm = LRP_NORM_UNALIGNED;
    o.fix_vmin = 1;
    o.vmin = 0;
    const uint8_t wu[] = {85, 170, 255};
    expect_indices(u, 3, &o, wu, "vmin 0 alone");
    o.fix_vmin = 0;
    o.fix_vmax = 1;
    o.vmax = 5; /* (R - 1)/4 */
    const uint8_t wv[] = {0, 63, 127};
    expect_indices(u, 3, &o, wv, "vmax 5 alone");
    assert_int_equal(lrp_heatmap_sign_from_name("negative"), LRP_SIGN_NEGATIVE);
    assert_int_equal(lrp_heatmap_sign_from_name("none"), -1);
}

static void test_weights_colorbar(void **state)
{
    (void)state;
    lrp_heatmap_opts o;
    lrp_heatmap_opts_init(&o);
    const lrp_real v[] = {-4, 2, 1, 0};
    uint8_t w[4];
    lrp_heatmap_weights(v, 4, &o, w); /* |R|/4: 255, 127.5 -> 128, 63.75 -> 64, 0 */
    const uint8_t want[] = {255, 128, 64, 0};
    assert_memory_equal(w, want, 4);
    const lrp_real z[] = {0, 0};
    lrp_heatmap_weights(z, 2, &o, w); /* 0/0: weight 0 */
    assert_int_equal(w[0], 0);
    assert_int_equal(lrp_colorbar_index(0, 32), 255);
    assert_int_equal(lrp_colorbar_index(31, 32), 0);
    assert_int_equal(lrp_colorbar_index(16, 32), 123); /* (15*255 + 15)/31 */
    assert_int_equal(lrp_colorbar_index(0, 1), 255);
    int gap, bar;
    lrp_colorbar_size(224, &gap, &bar);
    assert_int_equal(gap, 7);
    assert_int_equal(bar, 14);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clip_threshold),
        cmocka_unit_test(test_sign_and_bounds),
        cmocka_unit_test(test_weights_colorbar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
