#!/usr/bin/env bash
# lrp explain --relevance-grad (the gradient of the explanation, u·dR/dx) and lrp attack: G against a golden of
# testdata/refset-order2 in both modes, the zennit mode differing from the exact one, --json's norm, the usage
# errors, an unsupported rule named in one line, and a few attack steps with their outputs.
. "$(dirname "$0")/lib.sh"

W=$WORK
O2=$TESTDATA/refset-order2
MLP=$TESTDATA/refset/models/tiny-mlp.onnx
X=$O2/inputs/chelsea-16.npy
G=$O2/golden/tiny-mlp--chelsea--3--epsilon_plus_flat--one--ones
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
CIFAR=(--mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010 --resize none)

expect_exit 0 "relevance-grad ones, exact" "$LRP" explain "$MLP" "$X" -t 3 --relevance-grad ones \
    --relevance-grad-out "$W/{stem}-exact.npy" -q
check "exact G matches the golden within 1e-4" "$LRP" compare "$W/chelsea-16-exact.npy" "$G--exact.npy" --tolerance 1e-4
expect_exit 0 "relevance-grad ones, zennit" "$LRP" explain "$MLP" "$X" -t 3 --relevance-grad ones \
    --relevance-grad-out "$W/zennit.npy" --zennit-second-order -q
check "zennit G matches its golden within 1e-4" "$LRP" compare "$W/zennit.npy" "$G--zennit.npy" --tolerance 1e-4
"$LRP" compare "$W/zennit.npy" "$G--exact.npy" --tolerance 1e-2 > /dev/null 2>&1 &&
    not_ok "the zennit mode passes the exact golden" || ok "the zennit mode does not pass the exact golden"
expect_exit 0 "relevance-grad self --json" "$LRP" explain "$MLP" "$X" -t 3 --relevance-grad self --json
case "$OUT" in *'"relevance_grad_norm":'*) ok "--json has relevance_grad_norm" ;;
*) not_ok "--json lacks relevance_grad_norm: $OUT" ;; esac

expect_exit 2 "--zennit-second-order alone" "$LRP" explain "$MLP" "$X" --zennit-second-order
one_line_error "--zennit-second-order alone" "--relevance-grad"
expect_exit 2 "bad cotangent" "$LRP" explain "$MLP" "$X" --relevance-grad twice
one_line_error "bad cotangent" "twice"
expect_exit 2 "with an attributor that has no second order" "$LRP" explain "$MLP" "$X" --relevance-grad ones -a occlusion
one_line_error "with an attributor that has no second order" "occlusion"
# the transformer rules have their second order (checked against finite differences in test_refset_order2)
expect_exit 0 "attnlrp on a ViT" "$LRP" explain "$TESTDATA/shapes/shapes-vit-op17.onnx" \
    "$TESTDATA/shapes/images/shape-001-square.png" --relevance-grad ones -c attnlrp -q \
    --relevance-grad-out "$W/vit-g.npy"
check "attnlrp on a ViT: G written" test -s "$W/vit-g.npy"
# the norm rule on a max pooling has a first order but no second
expect_exit 4 "a rule without a second order" "$LRP" explain "$TESTDATA/refset/models/tiny-cnn.onnx" \
    "$O2/inputs/chelsea-32.npy" --rule MaxPool=norm --relevance-grad ones \
    --relevance-grad-out "$W/unsupported-g.npy"
one_line_error "a rule without a second order" "second order"
check "a rule without a second order: no G written" test ! -e "$W/unsupported-g.npy"

# mask:M.png: u = M on every channel (white = 1), the gradient of the relevance inside the mask. An all-white
# mask is ones exactly; a mask and its complement add up to ones (G is linear in u); a mask of another size is
# an error of the input.
CNN=$TESTDATA/refset/models/tiny-cnn.onnx
X32=$TESTDATA/refset/inputs/chelsea-32.npy
mask_npy() { # mask_npy OUT EXPR: a (1, 1, 32, 32) float32 .npy of EXPR in $_ (the pixel index)
    perl -e 'my $e = $ARGV[1]; my $d = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: (1, 1, 32, 32), }";
        $d .= " " x ((64 - (10 + length($d) + 1) % 64) % 64) . "\n"; open my $o, ">", $ARGV[0] or die; binmode $o;
        print $o "\x93NUMPY\x01\x00", pack("v", length $d), $d, pack("f<*", map { eval $e } 0 .. 1023);' "$1" "$2"
}
mask_npy "$W/m-all.npy" '1'
mask_npy "$W/m-left.npy" '($_ % 32) < 16 ? 1 : 0'
mask_npy "$W/m-right.npy" '($_ % 32) < 16 ? 0 : 1'
for m in all left right; do
    expect_exit 0 "render the $m mask" "$LRP" render "$W/m-$m.npy" --cmap gray --vmin 0 --vmax 1 -o "$W/m-$m.png"
done
expect_exit 0 "G for ones" "$LRP" explain "$CNN" "$X32" --relevance-grad ones --relevance-grad-out "$W/g-ones.npy" -q
for m in all left right; do
    expect_exit 0 "G for the $m mask" "$LRP" explain "$CNN" "$X32" --relevance-grad "mask:$W/m-$m.png" \
        --relevance-grad-out "$W/g-$m.npy" -q
done
check "an all-white mask gives ones' G exactly" cmp -s "$W/g-ones.npy" "$W/g-all.npy"
rel=$(paste <(npy_values "$W/g-ones.npy") <(npy_values "$W/g-left.npy") <(npy_values "$W/g-right.npy") |
    awk '{ d = $1 - $2 - $3; e += d * d; n += $1 * $1 } END { printf "%.3g", sqrt(e / n) }')
awk -v r="$rel" 'BEGIN { exit !(r < 1e-5) }' && ok "a mask and its complement add up to ones (rel-L2 $rel)" ||
    not_ok "mask + complement != ones: rel-L2 $rel"
expect_exit 4 "a mask of another size" "$LRP" explain "$MLP" "$X" --relevance-grad "mask:$W/m-all.png" \
    --relevance-grad-out "$W/g-bad.npy"
one_line_error "a mask of another size" "mask"
expect_exit 4 "a missing mask" "$LRP" explain "$CNN" "$X32" --relevance-grad "mask:$W/none.png" \
    --relevance-grad-out "$W/g-bad.npy"
one_line_error "a missing mask" "none.png"

# input-x-gradient: A = x R, G = u_A R + (u_A x) dR/dx. On a linear model y = x W (R = W's column, constant)
# G is W's column for ones and x W^2 for self, exactly; a central difference on tiny-cnn in float64 agreed
# to 4.6e-8 (epsilon-plus-flat) when this was written.
wv=$(perl -e 'print join(",", map { 0.5 + ($_ % 7) * 0.25 - ($_ % 2) } 0 .. 95)')
perl "$(dirname "$0")/mkonnx.pl" "$W/lin.onnx" in=x:1,3,4,4 init=w:48,2:"$wv" node=Flatten:x:f node=MatMul:f,w:y \
    out=y:1,2
perl -e 'my $d = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: (1, 3, 4, 4), }";
    $d .= " " x ((64 - (10 + length($d) + 1) % 64) % 64) . "\n"; binmode STDOUT;
    print "\x93NUMPY\x01\x00", pack("v", length $d), $d, pack("f<*", map { 0.1 * ($_ % 5) - 0.2 } 0 .. 47);' \
    > "$W/lin-x.npy"
expect_exit 0 "linear: W's column" "$LRP" explain "$W/lin.onnx" "$W/lin-x.npy" -t 0 -c gradient -q -r "$W/lin-w.npy"
for u in ones self; do
    expect_exit 0 "linear: input-x-gradient, --relevance-grad $u" "$LRP" explain "$W/lin.onnx" "$W/lin-x.npy" -t 0 \
        -a input-x-gradient --relevance-grad $u --relevance-grad-out "$W/lin-g-$u.npy" -r "$W/lin-a-$u.npy" -q
done
d=$(paste <(npy_values "$W/lin-w.npy") <(npy_values "$W/lin-x.npy") <(npy_values "$W/lin-a-ones.npy") \
    <(npy_values "$W/lin-g-ones.npy") <(npy_values "$W/lin-g-self.npy") |
    awk '{ a = $3 - $2 * $1; g = $4 - $1; s = $5 - $2 * $1 * $1; m = a * a + g * g + s * s; if (m > mx) mx = m }
         END { printf "%.3g", sqrt(mx) }')
awk -v d="$d" 'BEGIN { exit !(d < 1e-6) }' && ok "linear: A = x W, G(ones) = W, G(self) = x W^2 (largest error $d)" ||
    not_ok "linear: input-x-gradient's second order is off by $d"
expect_exit 0 "--relevance-grad with smoothgrad" "$LRP" explain "$W/lin.onnx" "$W/lin-x.npy" -a smoothgrad \
    --relevance-grad ones --relevance-grad-out "$W/lin-sg.npy"
check "linear: smoothgrad's A is W whatever the noise, so G = 0" \
    test "$(npy_values "$W/lin-sg.npy" | awk '$1 != 0' | wc -l)" -eq 0 -a -s "$W/lin-sg.npy"

expect_exit 0 "attack, 3 steps" "$LRP" attack "$R20" "$HORSE" --target-image "$HORSE" "${CIFAR[@]}" \
    --steps 3 --json -o "$W/adv.png" --tensor-out "$W/adv.npy" -r "$W/adv-rel.npy" --heatmap-out "$W/adv-heatmap.png"
n=$(printf '%s\n' "$OUT" | grep -c '"step":')
[ "$n" -eq 4 ] && ok "attack --json: one line per step ($n)" || not_ok "attack --json: $n lines, wanted 4: $OUT"
for f in adv.png adv.npy adv-rel.npy adv-heatmap.png; do
    [ -s "$W/$f" ] && ok "attack wrote $f" || not_ok "attack did not write $f"
done
expect_exit 2 "attack without a target" "$LRP" attack "$R20" "$HORSE" "${CIFAR[@]}"
one_line_error "attack without a target" "--target-explanation"
finish
