#!/usr/bin/env bash
# lrp concepts --reference-images (issue 14): each channel's best images of a
# folder by zennit-crp's relevance maximisation (sum over positions, divided
# by the sum of |.| over the channels) or by the activation. The expected
# values come from other lrp paths checked against zennit elsewhere: explain
# --relevance-at (test_concepts.sh against refset-layers) and predict's
# logits; the no-batch fallback (ResNet-20) agrees with them too. Montages,
# JSON and the usage errors.
. "$(dirname "$0")/lib.sh"

W=$WORK
M=$TESTDATA/refset/models/tiny-cnn.onnx
D=$TESTDATA/shapes/images
L=/4/Conv

# expected: for every image, the normalised channel sums of explain --relevance-at (its predicted class, crp's seed)
: > "$W/expect.txt"
for f in "$D"/*.png; do
    "$LRP" explain "$M" "$f" --seed-logit -q --relevance-at "$L=$W/at.npy" || not_ok "explain --relevance-at $f"
    npy_values "$W/at.npy" | awk -v f="$f" '
        { v[NR - 1] = $1 } END { n = NR / 16; for (c = 0; c < 16; c++) { s = 0; for (i = 0; i < n; i++) s += v[c * n + i]; r[c] = s; t += s < 0 ? -s : s }
                                 for (c = 0; c < 16; c++) printf "%d %.9g %s\n", c, r[c] / (t + 1e-10), f }' >> "$W/expect.txt"
done
# lrp's ranking of channels 3 and 10: the top 3 images of each, best first
expect_exit 0 "concepts --reference-images --json" "$LRP" concepts "$M" --layer "$L" --reference-images "$D" \
    --channels 3,10 --reference-top 3 --json
"$LRP" concepts "$M" --layer "$L" --reference-images "$D" --channels 3,10 --reference-top 3 --json > "$W/refs.json"
got=$(perl -ne 'while (/"input":"([^"]*)","index":\d+,"value":([-0-9.e+]+)/g) { print "$1 $2\n" }' "$W/refs.json")
for c in 3 10; do
    want=$(awk -v c=$c '$1 == c { print $3, $2 }' "$W/expect.txt" | sort -k2,2gr | head -3)
    g=$(perl -ne 'if (/"channel":'$c',/) { while (/"input":"([^"]*)","index":\d+,"value":([-0-9.e+]+)/g) { print "$1 $2\n" } }' "$W/refs.json")
    check "channel $c: the same three images in the same order as --relevance-at's sums" \
        test "$(echo "$want" | cut -d' ' -f1)" = "$(echo "$g" | cut -d' ' -f1)"
    check "channel $c: the values agree with --relevance-at's to 1e-5" \
        awk 'NR == FNR { w[FNR] = $2; next } { d = $2 - w[FNR]; if (d < 0) d = -d; if (d > 1e-5 * (w[FNR] < 0 ? -w[FNR] : w[FNR]) + 1e-9) bad = 1 } END { exit bad || FNR != 3 }' \
        <(echo "$want") <(echo "$g")
done
check "the JSON has one line per channel" test "$(wc -l < "$W/refs.json")" -eq 2

# --reference-max max: the value at the largest position
: > "$W/expect-max.txt"
for f in "$D"/shape-00[0-3]*.png; do
    "$LRP" explain "$M" "$f" --seed-logit -q --relevance-at "$L=$W/at.npy"
    npy_values "$W/at.npy" | awk -v f="$f" '
        { v[NR - 1] = $1 } END { n = NR / 16; for (c = 0; c < 16; c++) { m = v[c * n]; for (i = 1; i < n; i++) if (v[c * n + i] > m) m = v[c * n + i]; r[c] = m; t += m < 0 ? -m : m }
                                 printf "%s %.9g\n", f, r[7] / (t + 1e-10) }' >> "$W/expect-max.txt"
done
mkdir -p "$W/four"
cp "$D"/shape-00[0-3]*.png "$W/four/"
"$LRP" concepts "$M" --layer "$L" --reference-images "$W/four" --channels 7 --reference-top 4 --reference-max max --json \
    | perl -ne 'while (/"input":"[^"]*\/([^"\/]*)","index":\d+,"value":([-0-9.e+]+)/g) { print "$1 $2\n" }' | sort > "$W/got-max.txt"
sed 's|^.*/||' "$W/expect-max.txt" | sort > "$W/want-max.txt"
check "--reference-max max equals the largest position's share ($(tr '\n' ' ' < "$W/got-max.txt"))" \
    awk 'NR == FNR { w[$1] = $2; next } { d = $2 - w[$1]; if (d < 0) d = -d; if (!($1 in w) || d > 1e-5 * (w[$1] < 0 ? -w[$1] : w[$1]) + 1e-9) bad = 1; n++ } END { exit bad || n != 4 }' \
    "$W/want-max.txt" "$W/got-max.txt"

# --reference-mode activation at the logits layer: logit_c / sum |logits|, as predict prints them
"$LRP" predict "$M" "$D/shape-002-triangle.png" --json > "$W/pred.json"
json_logits "$W/pred.json" > "$W/logits.txt"
want=$(awk '{ v[NR] = $1; t += $1 < 0 ? -$1 : $1 } END { printf "%.9g\n", v[5] / (t + 1e-10) }' "$W/logits.txt")
mkdir -p "$W/one"
cp "$D/shape-002-triangle.png" "$W/one/"
got=$("$LRP" concepts "$M" --layer /12/Gemm --reference-images "$W/one" --reference-mode activation --channels 4 --json |
    perl -ne 'print "$1\n" if /"value":([-0-9.e+]+)/')
check "activation of /12/Gemm channel 4 is logit 4 over sum |logits| ($got vs $want)" \
    awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-6 * (b < 0 ? -b : b) + 1e-9) }'

# a model that takes no batch (ResNet-20 reshapes to a batch of 1): the fallback, the same values as --relevance-at
R=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
"$LRP" explain "$R" "$D/shape-006-circle.png" --seed-logit -q --relevance-at "Conv_63=$W/r20.npy"
want=$(npy_values "$W/r20.npy" | awk '{ v[NR - 1] = $1 } END { n = NR / 64; for (c = 0; c < 64; c++) { s = 0; for (i = 0; i < n; i++) s += v[c * n + i]; r[c] = s; t += s < 0 ? -s : s } printf "%.9g\n", r[63] / (t + 1e-10) }')
cp "$D/shape-006-circle.png" "$W/one/" && rm "$W/one/shape-002-triangle.png"
got=$("$LRP" concepts "$R" --layer Conv_63 --reference-images "$W/one" --channels 63 --json |
    perl -ne 'print "$1\n" if /"value":([-0-9.e+]+)/')
check "no-batch model: the value agrees with --relevance-at ($got vs $want)" \
    awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-5 * (b < 0 ? -b : b) + 1e-9) }'

# montages: one per channel, the top images of 32x32 in zennit's grid (2x2 for 4)
expect_exit 0 "concepts --reference-images -o --grid" "$LRP" concepts "$M" --layer "$L" --reference-images "$D" \
    --channels 3,10 --reference-top 4 -o "$W/refs/{concept}.png" --grid -q
check "a montage per channel" test -s "$W/refs/3.png" -a -s "$W/refs/10.png"
check "the montage is 2x2 tiles of 32x32 (64x64 PNG)" \
    test "$(od -An -tu1 -j16 -N8 "$W/refs/3.png" | tr -s ' ' | sed 's/^ //')" = "0 0 0 64 0 0 0 64"
cp "$W/refs/3.png" "$W/refs-3-first.png"
"$LRP" concepts "$M" --layer "$L" --reference-images "$D" --channels 3,10 --reference-top 4 -o "$W/refs/{concept}.png" \
    --grid -q -j1
check "the montage is the same bytes at -j1" cmp -s "$W/refs/3.png" "$W/refs-3-first.png"

# a bad image among the references: reported, the others still ranked, exit 4
mkdir -p "$W/bad"
cp "$D"/shape-00[0-2]*.png "$W/bad/"
printf 'not a png' > "$W/bad/shape-009-broken.png"
expect_exit 4 "a corrupt reference image: exit 4" "$LRP" concepts "$M" --layer "$L" --reference-images "$W/bad" \
    --channels 3 -q
n=$("$LRP" concepts "$M" --layer "$L" --reference-images "$W/bad" --channels 3 --reference-top 8 --json 2>/dev/null |
    grep '"channel"' | grep -o '"input"' | wc -l)
check "the three good images are still ranked ($n)" test "$n" -eq 3

# usage errors: one line, exit 2
expect_exit 2 "--reference-images with an INPUT" "$LRP" concepts "$M" "$D/shape-000-cross.png" --layer "$L" \
    --reference-images "$D"
one_line_error "--reference-images with an INPUT" "MODEL"
expect_exit 2 "-o without --grid" "$LRP" concepts "$M" --layer "$L" --reference-images "$D" -o "$W/x-{concept}.png"
one_line_error "-o without --grid" "--grid"
expect_exit 2 "--channels without --reference-images" "$LRP" concepts "$M" "$D/shape-000-cross.png" --layer "$L" \
    --channels 3
one_line_error "--channels without --reference-images" "--reference-images"
expect_exit 2 "--channels out of range" "$LRP" concepts "$M" --layer "$L" --reference-images "$D" --channels 99
one_line_error "--channels out of range" "99"
expect_exit 2 "--channels not numbers" "$LRP" concepts "$M" --layer "$L" --reference-images "$D" --channels a,b
one_line_error "--channels not numbers" "a,b"
expect_exit 4 "a corrupt image names its path once" "$LRP" concepts "$M" --layer "$L" --reference-images "$W/bad" \
    --channels 3 -q
check "the error line names the path once" test "$(printf '%s' "$ERR" | grep -o 'shape-009-broken.png' | wc -l)" -eq 1
finish
