#!/usr/bin/env bash
# Squeeze-excitation and the SiLU/HardSwish activations on the CNNs of
# ../shared/refset-modern (tiny-regnety, tiny-mobilenetv3, tiny-efficientnet,
# opsets 13 and 17): every case of cases.tsv of the five zennit composites
# (gate signal, and gate uniform with --gate uniform) within its tolerance
# (rel-L2, by `lrp compare`); `lrp inspect` reports the gates; the relevance
# is byte-identical at --threads 1 and 3. Skipped without ../shared/refset-modern.
. "$(dirname "$0")/lib.sh"

W=$WORK
SH=$(shared_dir)
RM=${SH:+$SH/refset-modern}
if [ -z "$RM" ] || [ ! -f "$RM/cases.tsv" ]; then
    echo "SKIP: ../shared/refset-modern absent: the squeeze-excitation models are not checked"
    finish
    exit
fi
MODELS=(tiny-regnety tiny-mobilenetv3 tiny-efficientnet)

# 1. the gates lrp inspect finds (regnety 4, mobilenetv3 3, efficientnet 4 at both opsets)
declare -A GATES=([tiny-regnety]=4 [tiny-mobilenetv3]=3 [tiny-efficientnet]=4)
for name in "${MODELS[@]}"; do
    for op in 13 17; do
        "$LRP" inspect "$RM/models/$name-op$op.onnx" > "$W/inspect" 2>&1
        got=$(grep -c "squeeze-excitation gate" "$W/inspect")
        check "$name-op$op: lrp inspect reports ${GATES[$name]} squeeze-excitation gates ($got)" \
            test "$got" -eq "${GATES[$name]}"
    done
done
# the refset models have none
for m in "$SH"/refset/models/*.onnx; do
    [ -f "$m" ] || continue
    "$LRP" inspect "$m" > "$W/inspect" 2>&1
    check "$(basename "$m"): no squeeze-excitation gate or activation product" \
        sh -c "! grep -q 'squeeze-excitation gate\|taken as activations' '$W/inspect'"
done

# 2. the LRP composites against the goldens
n=0
while IFS=$'\t' read -r model input method params target rel logits tol opset gate rest; do
    case $model in models/tiny-regnety-* | models/tiny-mobilenetv3-* | models/tiny-efficientnet-*) ;; *) continue ;; esac
    case $method in epsilon-plus-flat | epsilon-plus | epsilon-gamma-box | epsilon-alpha2-beta1-flat) ;;
    excitation-backprop) ;; *) continue ;; esac
    [ "$params" = - ] || continue
    n=$((n + 1))
    tag="$(basename "$model" .onnx) $(basename "$input" -64.npy) $method target $target gate $gate"
    if ! "$LRP" explain "$RM/$model" "$RM/$input" -c "$method" -t "$target" --gate "$gate" -q -r "$W/r.npy" \
        2> "$W/err"; then
        not_ok "$tag: lrp explain failed: $(cat "$W/err")"
        continue
    fi
    expect_exit 0 "$tag: within $tol" "$LRP" compare "$W/r.npy" "$RM/$rel" --tolerance "$tol"
    echo "  $OUT"
done < "$RM/cases.tsv"
check "LRP cases of the squeeze-excitation models found ($n)" test "$n" -eq 160

# 3. the same bytes at --threads 1 and 3
for name in "${MODELS[@]}"; do
    for j in 1 3; do
        "$LRP" explain "$RM/models/$name-op13.onnx" "$RM/inputs/skimage_rocket-64.npy" -c epsilon-gamma-box \
            --gate uniform -q -j $j -r "$W/$name-t$j.npy"
    done
    check "$name-op13: epsilon-gamma-box --gate uniform at --threads 1 = at --threads 3" \
        cmp -s "$W/$name-t1.npy" "$W/$name-t3.npy"
done

finish
