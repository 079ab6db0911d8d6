#!/usr/bin/env bash
# Relevance inside the network on the command line (issue 14): explain
# --relevance-at against refset-layers' golden (the testdata copy of its
# tiny-cnn cases), --condition against crp's conditional relevance,
# `lrp concepts` (crp's ranking, its batched conditional heatmaps equal to
# explain --condition, --json, --double), --check's R(output) equal to the
# sum of --relevance-at, and the usage errors (one line, exit 2).
. "$(dirname "$0")/lib.sh"

W=$WORK
M=$TESTDATA/refset/models/tiny-cnn.onnx
L=$TESTDATA/refset-layers
X=$L/inputs/chelsea-32.npy
G=$L/relevance-at/tiny-cnn--chelsea--3--epsilon_plus_flat

expect_exit 0 "explain --relevance-at at two nodes" "$LRP" explain "$M" "$X" -t 3 -q \
    --relevance-at "/4/Conv=$W/{stem}-4.npy" --relevance-at /8/Flatten="$W/flat.npy"
expect_exit 0 "relevance at /4/Conv matches zennit's" "$LRP" compare "$W/chelsea-32-4.npy" "$G--4_Conv.npy" --tolerance 1e-4
expect_exit 0 "relevance at /8/Flatten matches zennit's" "$LRP" compare "$W/flat.npy" "$G--8_Flatten.npy" --tolerance 1e-4
expect_exit 0 "explain --relevance-at --double" "$LRP" explain "$M" "$X" -t 3 -q --double \
    --relevance-at "/0/Conv=$W/c0-64.npy"
expect_exit 0 "float64 relevance at /0/Conv matches zennit's" "$LRP" compare "$W/c0-64.npy" "$G--0_Conv.npy" --tolerance 1e-4

# --check prints R(output) = the sum of the relevance recorded there
"$LRP" explain "$M" "$X" -t 3 --check --relevance-at "/4/Conv=$W/at4.npy" > "$W/check.txt"
chk=$(awk '$1 == "/4/Conv" { print $4 }' "$W/check.txt")
sum=$(npy_values "$W/at4.npy" | awk '{ s += $1 } END { printf "%.6g\n", s }')
check "--check's R(output) of /4/Conv ($chk) is the sum of --relevance-at ($sum)" \
    awk -v a="$chk" -v b="$sum" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(a != "" && d <= 1e-5 * m + 1e-9) }'

C=$L/crp/tiny-cnn--chelsea--3--epsilon_plus_flat
expect_exit 0 "explain --condition (crp)" "$LRP" explain "$M" "$X" -t 3 --seed-logit -q \
    --condition /4/Conv:10,6 -r "$W/crp.npy"
expect_exit 0 "conditional relevance matches zennit-crp's" "$LRP" compare "$W/crp.npy" "$C--4_Conv-10-6--relevance.npy" \
    --tolerance 1e-4
expect_exit 0 "explain with two conditions" "$LRP" explain "$M" "$X" -t 3 --seed-logit -q \
    --condition /4/Conv:10 --condition /0/Conv:0 -r "$W/crp2.npy"
expect_exit 0 "two-layer condition matches zennit-crp's" "$LRP" compare "$W/crp2.npy" \
    "$C--4_Conv-10--0_Conv-0--relevance.npy" --tolerance 1e-4

expect_exit 0 "concepts --json" "$LRP" concepts "$M" "$X" --layer /4/Conv --top 3 --json \
    -o "$W/{stem}-{concept}.png" -r "$W/{stem}-{concept}.npy"
first=$(printf '%s' "$OUT" | grep -oE '"channel":[0-9]+' | head -3 | tr -d '"channel:' | tr '\n' ' ')
check "concepts ranks channels 10 6 14 first, as zennit-crp ($first)" test "$first" = "10 6 14 "
check "concepts writes a heatmap per concept" test -s "$W/chelsea-32-6.png" -a -s "$W/chelsea-32-14.png"
"$LRP" explain "$M" "$X" --seed-logit -q --condition /4/Conv:6 -r "$W/one6.npy"
expect_exit 0 "the batched concept 6 equals explain --condition /4/Conv:6" "$LRP" compare "$W/chelsea-32-6.npy" \
    "$W/one6.npy" --tolerance 0
expect_exit 0 "concepts text output" "$LRP" concepts "$M" "$X" --layer /0/Conv --condition /4/Conv:10 --top 2
check "concepts given /4/Conv:10 ranks /0/Conv's channels 0 1 first" \
    bash -c "printf '%s\n' \"\$1\" | awk 'NR > 2 { print \$1 }' | tr '\n' ' ' | grep -qx '0 1 '" _ "$OUT"
expect_exit 0 "concepts --double" "$LRP" concepts "$M" "$X" --layer /4/Conv --top 1 --double --json

expect_exit 2 "unknown node" "$LRP" explain "$M" "$X" --condition /nope/Conv:1
one_line_error "unknown node" "/nope/Conv"
expect_exit 2 "channel out of range" "$LRP" explain "$M" "$X" --condition /4/Conv:16
one_line_error "channel out of range" "channel 16"
expect_exit 2 "malformed condition" "$LRP" explain "$M" "$X" --condition /4/Conv:a
one_line_error "malformed condition" "--condition"
expect_exit 2 "unknown --relevance-at node" "$LRP" explain "$M" "$X" --relevance-at /x=$W/x.npy
one_line_error "unknown --relevance-at node" "/x"
expect_exit 2 "concepts without --layer" "$LRP" concepts "$M" "$X"
one_line_error "concepts without --layer" "--layer"
expect_exit 2 "concepts -o without {concept}" "$LRP" concepts "$M" "$X" --layer /4/Conv -o "$W/a.png"
one_line_error "concepts -o without {concept}" "{concept}"
expect_exit 2 "concepts unknown layer" "$LRP" concepts "$M" "$X" --layer /nope
one_line_error "concepts unknown layer" "/nope"
expect_exit 2 "--relevance-at to one file for two inputs" "$LRP" explain "$M" "$X" "$TESTDATA/refset/inputs/logo-32.npy" \
    --relevance-at "/4/Conv=$W/one.npy"
one_line_error "--relevance-at to one file for two inputs" "template"
expect_exit 0 "--relevance-at with a template for two inputs" "$LRP" explain "$M" "$X" "$TESTDATA/refset/inputs/logo-32.npy" \
    -q --relevance-at "/4/Conv=$W/{stem}-at.npy"
check "one --relevance-at file per input" test -s "$W/chelsea-32-at.npy" -a -s "$W/logo-32-at.npy"
# --relevance-at files are outputs like the others: never an input, never another output
cp "$X" "$W/in-copy.npy"
expect_exit 2 "--relevance-at onto the input" "$LRP" explain "$M" "$W/in-copy.npy" --relevance-at "/4/Conv=$W/in-copy.npy"
one_line_error "--relevance-at onto the input" "in-copy.npy"
check "--relevance-at onto the input: the input is intact" cmp -s "$X" "$W/in-copy.npy"
expect_exit 2 "--relevance-at and -r on one file" "$LRP" explain "$M" "$X" --relevance-at "/4/Conv=$W/same.npy" \
    -r "$W/same.npy"
check "--relevance-at and -r on one file: nothing written" test ! -e "$W/same.npy"

# a model that takes no batch (ResNet-20 reshapes to (1, -1) before its classifier): one condition at a time,
# each heatmap the one explain --condition writes
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
mkdir -p "$W/r20"
expect_exit 0 "concepts on a model without batches" "$LRP" concepts "$R20" "$HORSE" --layer Relu_69 --top 3 \
    -o "$W/r20/{stem}-{concept}.png" --json
c1=$(printf '%s\n' "$OUT" | grep -o '"channel":[0-9]*' | head -1 | cut -d: -f2)
check "concepts on a model without batches: three heatmaps" test "$(ls "$W/r20" | wc -l)" -eq 3
expect_exit 0 "explain --condition on its first concept" "$LRP" explain "$R20" "$HORSE" --condition "Relu_69:$c1" \
    --seed-logit -q -o "$W/r20-explain.png"
check "the concept's heatmap is explain --condition's" cmp -s "$W/r20-explain.png" "$W/r20/horse5-$c1.png"

finish
