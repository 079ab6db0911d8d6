#!/usr/bin/env bash
# The operators of modern classifiers on real models: the opset-17 exports of
# ../shared/refset-modern that use LayerNormalization (tiny-vit, tiny-convnext).
# `lrp predict` gives golden/MODEL--IMAGE--logits.npy within 1e-5 of the
# largest absolute logit (the refset's criterion), and `--composite gradient`
# the `gradient` goldens of cases.tsv within each case's tolerance (rel-L2, by
# `lrp compare`), byte-identical at --threads 1 and 3; zennit's LRP composites
# on tiny-convnext (opsets 17 and 13) within each case's tolerance. Skipped without
# ../shared/refset-modern.
. "$(dirname "$0")/lib.sh"

W=$WORK
SH=$(shared_dir)
RM=${SH:+$SH/refset-modern}
if [ -z "$RM" ] || [ ! -f "$RM/cases.tsv" ]; then
    echo "SKIP: ../shared/refset-modern absent: the LayerNormalization models are not checked"
    finish
    exit
fi
MODELS=(tiny-vit tiny-convnext)


# 1. logits
for name in "${MODELS[@]}"; do
    model=$RM/models/$name-op17.onnx
    for input in "$RM"/inputs/*-64.npy; do
        image=$(basename "$input" -64.npy)
        gold=$RM/golden/$name--$image--logits.npy
        if ! "$LRP" predict "$model" "$input" --json > "$W/pred.json" 2> "$W/perr"; then
            not_ok "$name-op17 $image: lrp predict failed: $(cat "$W/perr")"
            continue
        fi
        json_logits "$W/pred.json" > "$W/got.txt"
        npy_values "$gold" > "$W/want.txt"
        err=$(max_err "$W/got.txt" "$W/want.txt")
        check "$name-op17 $image: logits within 1e-5 of max |logit| ($err)" \
            awk -v e="$err" 'BEGIN { exit !(e != "length" && e <= 1e-5) }'
    done
done

# 2. the plain gradient against the goldens
n=0
while IFS=$'\t' read -r model input method params target rel logits tol opset rest; do
    case $model in models/tiny-vit-op17.onnx | models/tiny-convnext-op17.onnx) ;; *) continue ;; esac
    [ "$method" = gradient ] || continue
    n=$((n + 1))
    tag="$(basename "$model" .onnx) $(basename "$input" -64.npy) target $target"
    if ! "$LRP" explain "$RM/$model" "$RM/$input" -c gradient -t "$target" -q -r "$W/r$n.npy" 2> "$W/err"; then
        not_ok "$tag: lrp explain failed: $(cat "$W/err")"
        continue
    fi
    expect_exit 0 "$tag: gradient within $tol" "$LRP" compare "$W/r$n.npy" "$RM/$rel" --tolerance "$tol"
    echo "  $OUT"
done < "$RM/cases.tsv"
check "gradient cases of the opset-17 LayerNormalization models found ($n)" test "$n" -eq 8

# 3. the same bytes at --threads 1 and 3
for name in "${MODELS[@]}"; do
    for j in 1 3; do
        "$LRP" explain "$RM/models/$name-op17.onnx" "$RM/inputs/skimage_rocket-64.npy" -c gradient -q -j $j \
            -r "$W/$name-t$j.npy"
    done
    check "$name-op17: the gradient at --threads 1 = at --threads 3" cmp -s "$W/$name-t1.npy" "$W/$name-t3.npy"
done

# 4. zennit's LRP composites on tiny-convnext at opsets 17 and 13 (LayerNorm
# rule, LayerScale folded, token-wise Linears with their biases, GELU an
# activation; at 13 the LayerNorm and GELU patterns fused first)
for op in 17 13; do
    "$LRP" inspect "$RM/models/tiny-convnext-op$op.onnx" > "$W/insp.txt" 2>&1
    for what in "fused the bias Add:8" "folded the LayerScale Mul:4" "fused the Erf GELU pattern:4" \
        "fused the LayerNorm pattern:$((op == 13 ? 8 : 0))"; do
        got=$(grep -c "${what%:*}" "$W/insp.txt")
        check "tiny-convnext-op$op: lrp inspect reports ${what#*:} times '${what%:*}' ($got)" test "$got" -eq "${what#*:}"
    done
done
n=0
while IFS=$'\t' read -r model input method params target rel logits tol opset rest; do
    case $model in models/tiny-convnext-op17.onnx | models/tiny-convnext-op13.onnx) ;; *) continue ;; esac
    case $method in epsilon-plus-flat | epsilon-plus | epsilon-gamma-box | epsilon-alpha2-beta1-flat | excitation-backprop) ;;
    *) continue ;;
    esac
    extra=()
    case $params in
    -) ;;
    epsilon=*) extra=(--epsilon "${params#epsilon=}") ;;
    *)
        not_ok "$model $method: unexpected params $params"
        continue
        ;;
    esac
    n=$((n + 1))
    tag="$(basename "$model" .onnx) $(basename "$input" -64.npy) target $target $method${extra[*]:+ ${extra[*]}}"
    if ! "$LRP" explain "$RM/$model" "$RM/$input" -c "$method" "${extra[@]}" -t "$target" -q -r "$W/c$n.npy" \
        2> "$W/err"; then
        not_ok "$tag: lrp explain failed: $(cat "$W/err")"
        continue
    fi
    expect_exit 0 "$tag: within $tol" "$LRP" compare "$W/c$n.npy" "$RM/$rel" --tolerance "$tol"
    echo "  $OUT"
done < "$RM/cases.tsv"
check "LRP composite cases of tiny-convnext found ($n)" test "$n" -eq 48
for j in 1 3; do
    "$LRP" explain "$RM/models/tiny-convnext-op17.onnx" "$RM/inputs/skimage_rocket-64.npy" -c epsilon-gamma-box -q \
        -j $j -r "$W/cx-t$j.npy"
done
check "tiny-convnext-op17: epsilon-gamma-box at --threads 1 = at --threads 3" cmp -s "$W/cx-t1.npy" "$W/cx-t3.npy"

finish
