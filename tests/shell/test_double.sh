#!/usr/bin/env bash
# --double: the whole command in float64 (the second build of the source).
# Its .npy outputs are float64 ('<f8'), its relevance is the float32 one's
# within lrp compare's default tolerance (and not the same bytes: it really
# is another computation), it is byte-identical at --threads 1 and 3, and
# the preprocessed float64 input of `lrp preprocess --double` explains to
# the same bytes as the image itself. With ../shared/refset-modern: on
# tiny-vit (opset 17, attnlrp) the float64 relevance is closer to the
# float64 golden than the float32 one.
. "$(dirname "$0")/lib.sh"

W=$WORK
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
PRE=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)

# npy_descr FILE: the descr of a .npy header ('<f4', '<f8', ...)
npy_descr() { head -c 128 "$1" | LC_ALL=C grep -ao "'descr': '[<>=|][a-z][0-9]'" | sed "s/.*: '\(.*\)'/\1/"; }

expect_exit 0 "explain in float32" "$LRP" explain "$R20" "$HORSE" "${PRE[@]}" -q -r "$W/r32.npy" -o "$W/h32.png"
for j in 1 3; do
    expect_exit 0 "explain --double -j$j" "$LRP" explain "$R20" "$HORSE" "${PRE[@]}" -q --double -j$j \
        -r "$W/r64-$j.npy" -o "$W/h64-$j.png"
done
[ "$(npy_descr "$W/r64-1.npy")" = "<f8" ] && ok "--double writes float64 relevance" ||
    not_ok "--double relevance descr is '$(npy_descr "$W/r64-1.npy")', not <f8"
[ "$(npy_descr "$W/r32.npy")" = "<f4" ] && ok "float32 relevance stays <f4" || not_ok "float32 relevance descr"
cmp -s "$W/r64-1.npy" "$W/r64-3.npy" && ok "--double relevance byte-identical at -j1 and -j3" ||
    not_ok "--double relevance differs between -j1 and -j3"
cmp -s "$W/h64-1.png" "$W/h64-3.png" && ok "--double heatmap byte-identical at -j1 and -j3" ||
    not_ok "--double heatmap differs between -j1 and -j3"
expect_exit 0 "float32 relevance within lrp compare's tolerance of the float64 one" \
    "$LRP" compare "$W/r32.npy" "$W/r64-1.npy"
expect_exit 1 "... but not the same values (tolerance 0)" "$LRP" compare --tolerance 0 "$W/r32.npy" "$W/r64-1.npy"

# predict: the same class, logits as numbers
expect_exit 0 "predict --double" "$LRP" predict "$R20" "$HORSE" "${PRE[@]}" --double --json
printf '%s' "$OUT" | grep -q '"class":7' && ok "predict --double: class 7" || not_ok "predict --double: $OUT"
# its numbers are float64 ones, printed in full: some need more than the 9 digits of a float
printf '%s\n' "$OUT" > "$W/p64.json"
long=$(json_logits "$W/p64.json" | sed 's/e.*//; s/[-.]//g; s/^0*//' | awk 'length($0) > 9' | wc -l)
[ "$long" -gt 0 ] && ok "predict --double --json: logits with more than 9 digits ($long of 10)" ||
    not_ok "predict --double --json prints float32 digits: $(json_logits "$W/p64.json" | head -3 | tr '\n' ' ')"

# preprocess --double writes the float64 input; explaining it gives the image's bytes
expect_exit 0 "preprocess --double" "$LRP" preprocess "$R20" "$HORSE" "${PRE[@]}" --double -o "$W/x64.npy"
[ "$(npy_descr "$W/x64.npy")" = "<f8" ] && ok "preprocess --double writes float64" || not_ok "preprocess descr"
expect_exit 0 "explain --double of the float64 input" "$LRP" explain "$R20" "$W/x64.npy" -q --double -r "$W/rx.npy"
cmp -s "$W/rx.npy" "$W/r64-1.npy" && ok "float64 input explains to the image's float64 bytes" ||
    not_ok "float64 input and image give other float64 relevance"

# an unknown option after --double is still refused once, by the float32 parser
expect_exit 2 "--double with a bad option" "$LRP" explain "$R20" "$HORSE" --double --no-such-option
one_line_error "--double with a bad option" "no-such-option"

SH=$(shared_dir)
RM=${SH:+$SH/refset-modern}
if [ -n "$RM" ] && [ -f "$RM/cases.tsv" ]; then
    M=$RM/models/tiny-vit-op17.onnx
    X=$RM/inputs/skimage_chelsea-64.npy
    G=$(ls "$RM"/golden/tiny-vit--skimage_chelsea--*--attnlrp.npy 2>/dev/null | head -1)
    t=${G##*--skimage_chelsea--}
    t=${t%%--*}
    if [ -n "$G" ]; then
        "$LRP" explain "$M" "$X" -q --composite attnlrp -t "$t" -r "$W/v32.npy" &&
            "$LRP" explain "$M" "$X" -q --composite attnlrp -t "$t" --double -r "$W/v64.npy" &&
            ok "tiny-vit attnlrp in float32 and float64" || not_ok "tiny-vit attnlrp runs"
        e32=$("$LRP" compare "$W/v32.npy" "$G" --json | sed 's/.*"difference":\([^,}]*\).*/\1/')
        e64=$("$LRP" compare "$W/v64.npy" "$G" --json | sed 's/.*"difference":\([^,}]*\).*/\1/')
        awk -v a="$e64" -v b="$e32" 'BEGIN { exit !(a < b && a < 1e-6) }' &&
            ok "tiny-vit attnlrp: float64 error $e64 < float32 error $e32" ||
            not_ok "tiny-vit attnlrp: float64 error $e64, float32 error $e32"
    else
        not_ok "no tiny-vit attnlrp golden in $RM"
    fi
else
    echo "SKIP: ../shared/refset-modern absent: tiny-vit not checked in float64"
fi
finish
