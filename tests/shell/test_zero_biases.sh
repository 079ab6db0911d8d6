#!/usr/bin/env bash
# --zero-biases: every bias of the model set to zero (Conv, Gemm and MatMul
# layers, LayerNorm, BatchNorm's shift). On that model --no-bias --check must
# show the relevance reaching the input within 1e-4 of the seed under
# epsilon-gamma-box on the CIFAR ResNet-20 and every reduced family of
# testdata/zoo, and under attnlrp on all of them but MaxViT (its softmax rule
# and the constant relative-position bias Add inside the softmax input do not
# conserve). Without it, the biased ResNet-20 under epsilon-gamma-box is far
# off: --no-bias leaves the biases in the forward pass, so a unit active
# through its bias gets a rule denominator near zero.
. "$(dirname "$0")/lib.sh"

W=$WORK
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
Z=$TESTDATA/zoo

# input_sum ARGS...: the relevance sum of `lrp explain ARGS --no-bias --check` (the seed is 1)
input_sum() { "$LRP" explain "$@" --no-bias --check 2>&1 | sed -n 's/.*relevance sum \([^ ]*\).*/\1/p' | tail -1; }
within() { awk -v s="$1" -v t="$2" 'BEGIN { d = s - 1; if (d < 0) d = -d; exit !(s != "" && d <= t) }'; }

s=$(input_sum "$R20" "$HORSE" --resize none -c epsilon-gamma-box)
within "$s" 0.01 && not_ok "resnet20 epsilon-gamma-box without --zero-biases conserves ($s): the test shows nothing" ||
    ok "resnet20 epsilon-gamma-box --no-bias keeps the model's biases in the forward pass: input sum $s"
s=$(input_sum "$R20" "$HORSE" --resize none -c epsilon-gamma-box --zero-biases)
check "resnet20 epsilon-gamma-box --zero-biases: input sum $s within 1e-4 of the seed" within "$s" 1e-4
s=$(input_sum "$R20" "$HORSE" --resize none -c epsilon-gamma-box --zero-biases --double)
check "resnet20 epsilon-gamma-box --zero-biases --double: input sum $s within 1e-4 of the seed" within "$s" 1e-4

"$LRP" predict "$R20" "$HORSE" --resize none --json > "$W/a.json" &&
    "$LRP" predict "$R20" "$HORSE" --resize none --json --zero-biases > "$W/b.json"
cmp -s "$W/a.json" "$W/b.json" && not_ok "predict --zero-biases gives the same logits" ||
    ok "predict --zero-biases runs another model (other logits)"

n=0
for m in "$Z"/*-op17.onnx; do
    name=$(basename "$m" -op17.onnx)
    x=$Z/${name%-nobias}-input.npy
    n=$((n + 1))
    s=$(input_sum "$m" "$x" -c epsilon-gamma-box --zero-biases)
    check "$name epsilon-gamma-box --zero-biases: input sum $s within 1e-4 of the seed" within "$s" 1e-4
    s=$(input_sum "$m" "$x" -c attnlrp --zero-biases)
    if [ "$name" = maxvit ]; then
        within "$s" 0.01 && not_ok "maxvit attnlrp conserves ($s): update this test" ||
            ok "maxvit attnlrp does not conserve (softmax rule, position bias): $s"
    else
        check "$name attnlrp --zero-biases: input sum $s within 1e-4 of the seed" within "$s" 1e-4
    fi
done
check "the zoo models found ($n)" test "$n" -ge 15

# the modern families of ../shared/refset-modern: the CNNs and Swin conserve under epsilon-gamma-box, ConvNeXt under
# attnlrp too; ViT's class token and position embedding (constants) keep their share
SH=$(shared_dir)
RM=${SH:+$SH/refset-modern}
if [ -n "$RM" ] && [ -f "$RM/cases.tsv" ]; then
    X=$RM/inputs/skimage_chelsea-64.npy
    for name in convnext swin efficientnet mobilenetv3 regnety; do
        s=$(input_sum "$RM/models/tiny-$name-op17.onnx" "$X" -c epsilon-gamma-box --zero-biases)
        check "tiny-$name epsilon-gamma-box --zero-biases: input sum $s within 1e-4 of the seed" within "$s" 1e-4
    done
    s=$(input_sum "$RM/models/tiny-convnext-op17.onnx" "$X" -c attnlrp --zero-biases)
    check "tiny-convnext attnlrp --zero-biases: input sum $s within 1e-4 of the seed" within "$s" 1e-4
    s=$(input_sum "$RM/models/tiny-vit-op17.onnx" "$X" -c epsilon-gamma-box --zero-biases)
    awk -v s="$s" 'BEGIN { exit !(s > 0.5 && s < 0.99) }' &&
        ok "tiny-vit epsilon-gamma-box --zero-biases: the constants keep their share (input sum $s)" ||
        not_ok "tiny-vit epsilon-gamma-box --zero-biases: input sum $s"
else
    echo "SKIP: ../shared/refset-modern absent: the modern families are not checked"
fi
finish
