#!/usr/bin/env bash
# lrp compare: .npy files by relative L2 (‖A − B‖ / ‖B‖) against --tolerance,
# PNGs by decoded pixels (palettes resolved, bit depths and alpha folded the
# way PIL's convert('RGB') does), the verdict line and --json, and the errors:
# shape or size mismatch (exit 1), missing file (exit 4), PNG vs .npy (exit 2).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/png_helpers.sh"

W=$WORK
IMG=$TESTDATA/images
have_jq=1
command -v jq > /dev/null || { have_jq=; echo "SKIP: jq missing: --json checks are skipped"; }
jq_ok() { jq -e "$@" > /dev/null; }

# f32 X: X rounded to float32, as a decimal with 17 digits (perl, not lrp)
f32() { perl -e 'printf "%.17g", unpack("f<", pack("f<", $ARGV[0]))' "$1"; }
# rel_l2 "A values" "B values": ‖a − b‖/‖b‖ of the float32-rounded values, in awk
rel_l2() {
    local a=() b=() v
    for v in $1; do a+=("$(f32 "$v")"); done
    for v in $2; do b+=("$(f32 "$v")"); done
    awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
        n = split(a, x, " "); split(b, y, " "); num = 0; den = 0
        for (i = 1; i <= n; i++) { d = x[i] - y[i]; num += d * d; den += y[i] * y[i] }
        printf "%.10g\n", sqrt(num / den) }'
}
# figure_of: the number after "relative L2" in $OUT
figure_of() { printf '%s\n' "$OUT" | sed -n 's/.*relative L2 \([^ ]*\).*/\1/p'; }
# close_to X Y REL: |x - y| <= rel*|y|
close_to() { awk -v x="$1" -v y="$2" -v r="$3" 'BEGIN { d = x - y; if (d < 0) d = -d; m = y < 0 ? -y : y; exit !(d <= r * m) }'; }

# ------------------------------------------------------------------------
# 1. .npy files
mk_npy "$W/a.npy" "4" 1 2 3 4
mk_npy "$W/a2.npy" "4" 1 2 3 4
mk_npy "$W/b.npy" "4" 1 2 3 4.1
mk_npy "$W/m.npy" "2, 2" 1 2 3 4
mk_npy "$W/a4.npy" "1, 1, 2, 2" 1 2 3 4
mk_npy "$W/nan.npy" "4" 1 2 nan 4
mk_npy "$W/zero.npy" "4" 0 0 0 0
mk_npy "$W/zero2.npy" "4" 0 0 0 0
# the same values stored as float64
perl -e '
    my $h = "{\x27descr\x27: \x27<f8\x27, \x27fortran_order\x27: False, \x27shape\x27: (4,), }";
    $h .= " " x ((64 - (10 + length($h) + 1) % 64) % 64) . "\n";
    open(my $f, ">:raw", $ARGV[0]) or die; print $f "\x93NUMPY\x01\x00", pack("v", length($h)), $h, pack("d<*", 1, 2, 3, 4);
' "$W/a64.npy"

expect_exit 0 "identical .npy files: exit 0" "$LRP" compare "$W/a.npy" "$W/a2.npy"
check "identical: one verdict line" test "$(printf '%s\n' "$OUT" | grep -c .)" -eq 1
check "identical: relative L2 0 in the verdict ($OUT)" test "$(figure_of)" = 0
expect_exit 0 "a file with itself: exit 0" "$LRP" compare "$W/a.npy" "$W/a.npy"
expect_exit 0 "float64 and float32 files of the same values: exit 0" "$LRP" compare "$W/a64.npy" "$W/a.npy"

want=$(rel_l2 "1 2 3 4" "1 2 3 4.1")
expect_exit 1 "different .npy files, default tolerance 1e-5: exit 1" "$LRP" compare "$W/a.npy" "$W/b.npy"
check "different: one verdict line" test "$(printf '%s\n' "$OUT" | grep -c .)" -eq 1
check "different: the verdict says so ($OUT)" sh -c "printf '%s' \"\$1\" | grep -qi different" _ "$OUT"
got=$(figure_of)
check "different: the figure is ‖a−b‖/‖b‖ = $want (printed $got)" close_to "$got" "$want" 1e-5
expect_exit 0 "--tolerance 0.02 accepts it" "$LRP" compare "$W/a.npy" "$W/b.npy" --tolerance 0.02
expect_exit 1 "--tolerance 0.018 does not" "$LRP" compare "$W/a.npy" "$W/b.npy" --tolerance 0.018
# the second file is the reference: ‖a−b‖/‖a‖ would be larger
want2=$(rel_l2 "1 2 3 4.1" "1 2 3 4")
expect_exit 1 "swapped: relative to the second file" "$LRP" compare "$W/b.npy" "$W/a.npy" --tolerance 0.0181
check "swapped figure = $want2 ($(figure_of))" close_to "$(figure_of)" "$want2" 1e-5
expect_exit 0 "tolerance between the two figures" "$LRP" compare "$W/a.npy" "$W/b.npy" --tolerance 0.0181
expect_exit 0 "--tolerance equal to the figure passes (<=)" "$LRP" compare "$W/a.npy" "$W/a2.npy" --tolerance 0
expect_exit 2 "negative --tolerance refused" "$LRP" compare "$W/a.npy" "$W/b.npy" --tolerance -1
one_line_error "negative tolerance" "tolerance"
expect_exit 2 "--tolerance abc refused" "$LRP" compare "$W/a.npy" "$W/b.npy" --tolerance abc
one_line_error "bad tolerance" "tolerance"
if [ -n "$have_jq" ]; then
    expect_exit 1 "--json on different files" "$LRP" compare --json "$W/a.npy" "$W/b.npy"
    printf '%s\n' "$OUT" > "$W/j"
    check "--json: one object with kind, equal, difference, tolerance" jq_ok \
        '.kind == "relevance" and .equal == false and (.difference | type) == "number" and .tolerance == 0.00001' "$W/j"
    check "--json: the difference is $want" close_to "$(jq .difference "$W/j")" "$want" 1e-6
    check "--json: a and b are the file names" jq_ok --arg a "$W/a.npy" --arg b "$W/b.npy" '.a == $a and .b == $b' "$W/j"
    expect_exit 0 "--json on identical files" "$LRP" compare --json "$W/a.npy" "$W/a2.npy"
    check "--json identical: equal true, difference 0" jq_ok '.equal == true and .difference == 0' <(printf '%s\n' "$OUT")
fi
expect_exit 0 "-q: nothing printed" "$LRP" compare -q "$W/a.npy" "$W/a2.npy"
check "-q: stdout empty" test -z "$OUT"
expect_exit 1 "-q still exits 1 on a difference" "$LRP" compare -q "$W/a.npy" "$W/b.npy"

# shapes
expect_exit 1 "shapes (4,) and (2, 2): exit 1" "$LRP" compare "$W/a.npy" "$W/m.npy"
check "shape mismatch: one line naming both shapes ($OUT$ERR)" \
    sh -c "printf '%s\n' \"\$1\" | grep -c . | grep -qx 1 && printf '%s' \"\$1\" | grep -q '(4' && printf '%s' \"\$1\" | grep -q '(2, 2)'" _ "$OUT$ERR"
expect_exit 1 "shapes (2, 2) and (1, 1, 2, 2), same values: exit 1" "$LRP" compare "$W/m.npy" "$W/a4.npy"
if [ -n "$have_jq" ]; then
    expect_exit 1 "--json on a shape mismatch" "$LRP" compare --json "$W/a.npy" "$W/m.npy"
    check "--json shape mismatch: equal false" jq_ok '.equal == false' <(printf '%s\n' "$OUT")
fi
# NaN and zeros
expect_exit 1 "a NaN never compares equal" "$LRP" compare "$W/nan.npy" "$W/a.npy" --tolerance 1e9
expect_exit 1 "a NaN in the reference never compares equal" "$LRP" compare "$W/a.npy" "$W/nan.npy" --tolerance 1e9
expect_exit 0 "two all-zero files are equal" "$LRP" compare "$W/zero.npy" "$W/zero2.npy"
expect_exit 1 "nonzero against an all-zero reference differs" "$LRP" compare "$W/a.npy" "$W/zero.npy" --tolerance 1e9

# ------------------------------------------------------------------------
# 2. PNG files: decoded pixels
# PIL decodes these to the same RGB pixels (testdata/images/README.md)
for f in rgb8_adam7.png rgb16.png rgba8.png rgba16_adam7.png; do
    expect_exit 0 "rgb8.png = $f (decoded)" "$LRP" compare "$IMG/rgb8.png" "$IMG/$f"
done
for f in gray8_trns.png graya8.png graya16.png; do
    expect_exit 0 "gray8.png = $f (decoded)" "$LRP" compare "$IMG/gray8.png" "$IMG/$f"
done
expect_exit 1 "rgb8.png and gray8.png differ" "$LRP" compare "$IMG/rgb8.png" "$IMG/gray8.png"
check "verdict: every pixel differs (fraction 1)" sh -c "printf '%s' \"\$1\" | grep -q '551 of 551'" _ "$OUT"

# a palette PNG and an RGB PNG of the same pixels: lrp's heatmap (palette)
# and the same heatmap blended at alpha 1 over the image (RGB)
CNN=$TESTDATA/refset/models/tiny-cnn.onnx
"$LRP" explain "$CNN" "$IMG/tiny.png" -o "$W/pal.png" -q
"$LRP" explain "$CNN" "$IMG/tiny.png" -o "$W/rgb.png" -q --overlay=1
check "heatmap is a palette PNG ($(png_ihdr "$W/pal.png"))" test "$(png_ihdr "$W/pal.png" | cut -d' ' -f4)" = 3
check "overlay is an RGB PNG ($(png_ihdr "$W/rgb.png"))" test "$(png_ihdr "$W/rgb.png" | cut -d' ' -f4)" = 2
expect_exit 0 "palette PNG = RGB PNG of the same pixels" "$LRP" compare "$W/pal.png" "$W/rgb.png"
if [ -n "$PY" ]; then
    "$PY" -W ignore -c '
import sys
import numpy as np
from PIL import Image
Image.open(sys.argv[1]).convert("RGB").save(sys.argv[2])
Image.open(sys.argv[3]).convert("RGB").save(sys.argv[4])
# a 7-colour picture saved as RGB and as a palette PNG by PIL
cols = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [12, 34, 56], [200, 100, 50]], np.uint8)
idx = (np.arange(15 * 11).reshape(11, 15) * 5) % 7
rgb = Image.fromarray(cols[idx])
rgb.save(sys.argv[5])
pal = Image.fromarray(idx.astype(np.uint8), "P")
pal.putpalette(cols.reshape(-1).tolist())
pal.save(sys.argv[6])
other = Image.fromarray(((idx + 1) % 7).astype(np.uint8), "P")
other.putpalette(cols[np.r_[6, 0:6]].reshape(-1).tolist())  # other indices, same colours
other.save(sys.argv[7])
' "$W/pal.png" "$W/pil-rgb.png" "$IMG/pal8_trns.png" "$W/pil-pal8.png" "$W/seven-rgb.png" "$W/seven-pal.png" "$W/seven-pal2.png"
    expect_exit 0 "lrp heatmap = its RGB conversion by PIL" "$LRP" compare "$W/pal.png" "$W/pil-rgb.png"
    expect_exit 0 "pal8_trns.png = its RGB conversion by PIL" "$LRP" compare "$IMG/pal8_trns.png" "$W/pil-pal8.png"
    check "PIL wrote a palette PNG ($(png_ihdr "$W/seven-pal.png"))" test "$(png_ihdr "$W/seven-pal.png" | cut -d' ' -f4)" = 3
    expect_exit 0 "PIL palette PNG = PIL RGB PNG of the same pixels" "$LRP" compare "$W/seven-pal.png" "$W/seven-rgb.png"
    expect_exit 0 "palettes resolved: other indices, same colours" "$LRP" compare "$W/seven-pal.png" "$W/seven-pal2.png"
else
    echo "SKIP: no python3 with PIL: PIL-made PNGs not compared"
fi

# counting differing pixels: ramps through the gray map (relevance i + 0.5,
# bounds 0..255, gives index i), three of 256 changed
vals=() vals2=()
for i in $(seq 0 255); do
    vals+=("$i.5")
    case $i in 10 | 100 | 200) vals2+=("$(((i + 7) % 256)).5") ;; *) vals2+=("$i.5") ;; esac
done
mk_npy "$W/r1.npy" "1, 1, 16, 16" "${vals[@]}"
mk_npy "$W/r2.npy" "1, 1, 16, 16" "${vals2[@]}"
"$LRP" render "$W/r1.npy" -o "$W/r1.png" --cmap gray --vmin 0 --vmax 255
"$LRP" render "$W/r2.npy" -o "$W/r2.png" --cmap gray --vmin 0 --vmax 255
expect_exit 1 "3 of 256 pixels differ: exit 1 at tolerance 0" "$LRP" compare "$W/r1.png" "$W/r2.png"
check "verdict counts 3 of 256 pixels, by up to 7 levels ($OUT)" sh -c "printf '%s' \"\$1\" | grep -q '3 of 256 pixels differ, by up to 7 levels'" _ "$OUT"
check "verdict figure is 3/256 = 0.0117188 ($OUT)" sh -c "printf '%s' \"\$1\" | grep -q '0.0117188'" _ "$OUT"
expect_exit 0 "--tolerance 0.012 (a fraction of pixels) accepts it" "$LRP" compare "$W/r1.png" "$W/r2.png" --tolerance 0.012
expect_exit 1 "--tolerance 0.0117 does not" "$LRP" compare "$W/r1.png" "$W/r2.png" --tolerance 0.0117
if [ -n "$have_jq" ]; then
    expect_exit 1 "--json on PNGs" "$LRP" compare --json "$W/r1.png" "$W/r2.png"
    check "--json PNG: kind heatmap, difference 3/256" jq_ok '.kind == "heatmap" and .equal == false and .difference == 0.01171875' <(printf '%s\n' "$OUT")
fi
# sizes
"$LRP" render "$TESTDATA/heatmaps/tiny-cnn--camera--2--gradient.npy" -o "$W/32.png"
expect_exit 1 "PNGs of different sizes: exit 1" "$LRP" compare "$W/r1.png" "$W/32.png"
check "size mismatch: one line naming both sizes ($OUT$ERR)" \
    sh -c "printf '%s\n' \"\$1\" | grep -c . | grep -qx 1 && printf '%s' \"\$1\" | grep -q '16x16' && printf '%s' \"\$1\" | grep -q '32x32'" _ "$OUT$ERR"

# ------------------------------------------------------------------------
# 3. errors
expect_exit 4 "missing first file: exit 4" "$LRP" compare "$W/nosuch.npy" "$W/a.npy"
one_line_error "missing first file" "nosuch.npy"
expect_exit 4 "missing second file: exit 4" "$LRP" compare "$W/a.npy" "$W/nosuch2.png"
one_line_error "missing second file" "nosuch2.png"
expect_exit 2 "a PNG and a .npy: exit 2" "$LRP" compare "$W/r1.png" "$W/a.npy"
one_line_error "PNG vs .npy" "r1.png"
expect_exit 2 "a .npy and a PNG: exit 2" "$LRP" compare "$W/a.npy" "$W/r1.png"
one_line_error ".npy vs PNG" "a.npy"
echo "just text" > "$W/t.txt"
expect_exit 4 "neither PNG nor .npy: exit 4" "$LRP" compare "$W/t.txt" "$W/a.npy"
one_line_error "neither kind" "t.txt"
head -c 60 "$W/r1.png" > "$W/trunc.png"
expect_exit 4 "truncated PNG: exit 4" "$LRP" compare "$W/trunc.png" "$W/r1.png"
one_line_error "truncated PNG" "trunc.png"
head -c 100 "$W/a.npy" > "$W/trunc.npy"
expect_exit 4 "truncated .npy: exit 4" "$LRP" compare "$W/trunc.npy" "$W/a.npy"
one_line_error "truncated .npy" "trunc.npy"
expect_exit 2 "one file only: exit 2" "$LRP" compare "$W/a.npy"
one_line_error "one file" "compare"
expect_exit 2 "three files: exit 2" "$LRP" compare "$W/a.npy" "$W/a2.npy" "$W/b.npy"
one_line_error "three files" "compare"

finish
