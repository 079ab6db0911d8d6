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
expect_exit 2 "with an attributor" "$LRP" explain "$MLP" "$X" --relevance-grad ones -a smoothgrad
one_line_error "with an attributor" "smoothgrad"
expect_exit 4 "a rule without a second order" "$LRP" explain "$MLP" "$X" --relevance-grad ones -c guided-backprop \
    --relevance-grad-out "$W/unsupported-g.npy"
one_line_error "a rule without a second order" "no second order"
check "a rule without a second order: no G written" test ! -e "$W/unsupported-g.npy"

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
