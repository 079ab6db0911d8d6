#!/usr/bin/env bash
# Thread-count independence: every composite and every attributor gives
# byte-identical .npy and PNG files at --threads 1, 2, 3 and 8, on ResNet-20
# (testdata) and, when ../shared exists, on MobileNetV2 (depthwise
# convolutions, Clip) and a VGG with max pooling; lrp eval's curves likewise.
# (Under the sanitizer leg, LRP_REFSET_SUBSET=1, only ResNet-20 runs.)
. "$(dirname "$0")/lib.sh"

W=$WORK
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
CIFAR=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
COMPOSITES=(epsilon-plus-flat epsilon-plus epsilon-alpha2-beta1 epsilon-alpha2-beta1-flat epsilon-gamma-box
            guided-backprop excitation-backprop deconvnet beta-smooth gradient)
ATTRIBUTORS=(input-x-gradient "smoothgrad --samples 3 --seed 5" "integrated-gradients --steps 3" occlusion
             "random --seed 2")
THREADS=(1 2 3 8)

# same_files TAG: every thread count's files equal --threads 1's, byte for byte
same_files() {
    local tag=$1 j f bad=0 cnt=0
    for j in "${THREADS[@]:1}"; do
        for f in "$W/$tag/1"/*; do
            cnt=$((cnt + 1))
            if ! cmp -s "$f" "$W/$tag/$j/${f##*/}"; then
                bad=$((bad + 1))
                echo "  differs at --threads $j: ${f##*/}"
            fi
        done
    done
    if [ "$cnt" -ge 6 ] && [ $bad -eq 0 ]; then ok "$tag: --threads 2, 3, 8 = --threads 1 ($cnt files)"
    else not_ok "$tag: $bad of $cnt files differ (or too few files)"; fi
}

# run_model TAG MODEL INPUT [ARGS...]: each method at each thread count
run_model() {
    local tag=$1 model=$2 input=$3 j m failed=0
    shift 3
    for j in "${THREADS[@]}"; do
        for m in "${COMPOSITES[@]}"; do
            "$LRP" explain "$model" "$input" "$@" -c "$m" -j "$j" -q -o "$W/$tag/$j/$m.png" \
                -r "$W/$tag/$j/$m.npy" 2> "$W/err" || { failed=$((failed + 1)); head -c 300 "$W/err"; }
        done
        for m in "${ATTRIBUTORS[@]}"; do
            local name=${m%% *}
            # shellcheck disable=SC2086
            "$LRP" explain "$model" "$input" "$@" -a $m -j "$j" -q -o "$W/$tag/$j/a-$name.png" \
                -r "$W/$tag/$j/a-$name.npy" 2> "$W/err" || { failed=$((failed + 1)); head -c 300 "$W/err"; }
        done
        "$LRP" eval "$model" "$input" "$@" -c epsilon-plus -j "$j" --steps 4 --json > "$W/$tag/$j/eval.json" \
            2> "$W/err" || { failed=$((failed + 1)); head -c 300 "$W/err"; }
    done
    if [ $failed -eq 0 ]; then ok "$tag: all runs succeed"; else not_ok "$tag: $failed runs failed"; fi
    same_files "$tag"
}

run_model resnet20 "$R20" "$HORSE" "${CIFAR[@]}"
SH=$(shared_dir)
if [ "${LRP_REFSET_SUBSET:-0}" = 1 ]; then
    echo "SKIP: LRP_REFSET_SUBSET=1: MobileNetV2 and VGG not checked in this leg"
elif [ -n "$SH" ] && [ -f "$SH/refset/models/vgg-lite-bn.onnx" ]; then
    run_model mobilenet-v2 "$SH/refset/models/mobilenet-v2.onnx" "$SH/refset/inputs/rocket-224.npy"
    run_model vgg-lite-bn "$SH/refset/models/vgg-lite-bn.onnx" "$SH/refset/inputs/chelsea-224.npy"
else
    echo "SKIP: ../shared absent: MobileNetV2 and VGG not checked"
fi

finish
