#!/usr/bin/env bash
# Targets of `lrp explain` (issue 12): --top K, -t a,b,c and -t repeated, -t LABEL,
# -t from-dir (ImageFolder's class folders), the {rank} and {label} fields, one
# batched pass giving the bytes of single runs; labels files (the count must be
# the model's classes, JSON class indexes); the checks made before the first
# input (target range), --input-size for dynamic models, the note when nothing
# is written, --overlay 0.3 with a space, and --exif-orientation.
. "$(dirname "$0")/lib.sh"

W=$WORK
HERE=$(cd "$(dirname "$0")" && pwd)
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
CIFAR=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
Z=$TESTDATA/zoo
have_jq=1
jq_ok() { jq -e "$@" > /dev/null; }
command -v jq > /dev/null || { have_jq=; echo "SKIP: jq missing: JSON checks are skipped"; }
cd "$W" || exit 1
printf '%s\n' plane car bird cat deer dog frog horse ship truck > cifar.txt
# horse5.png: 7 (horse) 20.08, then 4 (deer) 6.92, then 1 (car)

# ------------------------------------------------------------------------
# 1. --top K: one output per class, named by rank, target and label
expect_exit 0 "--top 3" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 3 --labels cifar.txt \
    -o 'top/{stem}-{rank}-{target}-{label}.png' -r 'top/{stem}-{rank}.npy'
check "--top 3 writes the 3 best classes by rank" test -f top/horse5-1-7-horse.png -a -f top/horse5-2-4-deer.png \
    -a -f top/horse5-3-1-car.png -a -f top/horse5-1.npy -a -f top/horse5-3.npy
check "--top 3: one line per target" test "$(printf '%s\n' "$OUT" | grep -c 'rank')" -eq 3
check "--top 3: the lines name target, label and rank" eval 'printf "%s\n" "$OUT" | grep -q "target 4 (deer) rank 2"'
for t in 7 4 1; do "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t $t -q -r one$t.npy -o one$t.png; done
check "--top: rank 1 is byte-identical to -t 7 alone" cmp -s top/horse5-1.npy one7.npy
check "--top: rank 2 is byte-identical to -t 4 alone" cmp -s top/horse5-2.npy one4.npy
check "--top: the heatmap of rank 3 is -t 1's" cmp -s top/horse5-3-1-car.png one1.png
expect_exit 0 "-k 50 on a 10-class model" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -k 50 -r 'k50/{rank}.npy' -q
check "-k 50 explains the 10 classes" test "$(ls k50 | wc -l)" -eq 10
expect_exit 0 "--top 1 is the predicted class" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 1 -r top1.npy -q
check "--top 1 with a plain name: the predicted class" cmp -s top1.npy one7.npy

# ------------------------------------------------------------------------
# 2. several classes: -t a,b and -t repeated (the last one used to win)
expect_exit 0 "-t 7,4,1" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t 7,4,1 -r 'm/{target}.npy' -q
check "-t 7,4,1 writes each class" test -f m/7.npy -a -f m/4.npy -a -f m/1.npy
for t in 7 4 1; do check "-t 7,4,1: class $t is byte-identical to a run of its own" cmp -s m/$t.npy one$t.npy; done
expect_exit 0 "-t 1 -t 4" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t 1 -t 4 -r 'rep/{target}.npy' -q
check "-t 1 -t 4 explains both" test -f rep/1.npy -a -f rep/4.npy
check "-t 1 -t 4: each as alone" sh -c 'cmp -s rep/1.npy one1.npy && cmp -s rep/4.npy one4.npy'
expect_exit 2 "-t 1 -t 4 with one output name" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t 1 -t 4 -o x.png
one_line_error "several targets need a template" "{target}, {rank} or {label}"
check "nothing written" test ! -e x.png
expect_exit 2 "--top 2 to standard output" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 2 -o -
one_line_error "--top 2 -o -" "several targets"
expect_exit 2 "a class given twice" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t 3,3 -o '{target}.png'
one_line_error "a class given twice" "class 3 is given twice"
expect_exit 2 "-t 3, (empty class)" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t 3, -o '{target}.png'
one_line_error "-t 3," "--target"
expect_exit 2 "--top with -t" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 2 -t 3 -o '{target}.png'
one_line_error "--top with -t" "--top 2 and --target"
expect_exit 2 "--check with several targets" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 2 --check
one_line_error "--check --top 2" "--check"
expect_exit 2 "eval: -t twice" "$LRP" eval "$R20" "$HORSE" "${CIFAR[@]}" -t 1 -t 2
one_line_error "eval: -t twice" "given twice"
expect_exit 0 "--grid with --top 2" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 2 --grid -o grid.png
check "--grid: one montage of the 2 targets" eval 'printf "%s\n" "$OUT" | grep -q "grid of 2 heatmaps"'

# ------------------------------------------------------------------------
# 3. classes by name (--labels)
expect_exit 0 "-t horse,deer --labels" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t horse,deer --labels cifar.txt \
    -r 'lab/{label}.npy' -q
check "-t horse,deer: the classes 7 and 4" sh -c 'cmp -s lab/horse.npy one7.npy && cmp -s lab/deer.npy one4.npy'
expect_exit 2 "-t LABEL without --labels" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t horse -o x.png
one_line_error "-t horse without --labels" "need --labels"
expect_exit 2 "an unknown label" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t hrose --labels cifar.txt -o x.png
one_line_error "an unknown label" "'hrose'"
sed 's/^car$/ship/' cifar.txt > twice.txt
expect_exit 2 "a label two classes share" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t ship --labels twice.txt \
    -o x.png
one_line_error "a label two classes share" "class 1 and class 8"
expect_exit 2 "{label} without --labels" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o '{label}.png'
one_line_error "{label} without --labels" "{label} needs --labels"
printf '%s\n' plane 'car/truck' bird cat deer dog frog '.horse' ship truck > odd.txt
expect_exit 0 "{label} as a file name" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --labels odd.txt -t 1,7 \
    -o 'odd/{label}.png' -q
check "{label}: '/' and a leading '.' become '_'" test -f odd/car_truck.png -a -f odd/_horse.png

# ------------------------------------------------------------------------
# 4. JSON lines: target, rank, target_label
if [ -n "$have_jq" ]; then
    expect_exit 0 "--top 2 --json" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 2 --labels cifar.txt --json \
        -o 'j/{rank}.png'
    printf '%s\n' "$OUT" > j.txt
    check "--json: one line per target" test "$(wc -l < j.txt)" -eq 2
    check "--json: target, rank, target_label, label" jq_ok -s '
        .[0].target == 7 and .[0].rank == 1 and .[0].target_label == "horse" and .[0].label == "horse" and
        .[1].target == 4 and .[1].rank == 2 and .[1].target_label == "deer" and .[1].label == "horse" and
        .[1].predicted == 7 and .[1].outputs.heatmap == "j/2.png"' j.txt
    expect_exit 0 "-t 1 --json: the rank of a given class" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -t 1 --json
    check "--json: class 1 is ranked 3rd" jq_ok '.target == 1 and .rank == 3' <(printf '%s\n' "$OUT")
    # --skip-existing: the names by rank are known, the second run skips both
    expect_exit 0 "--top 2 --skip-existing" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 2 --json \
        -o 'j/{rank}.png' --skip-existing
    check "--skip-existing: both targets skipped" jq_ok -s 'length == 2 and all(.[]; .status == "skipped")' \
        <(printf '%s\n' "$OUT")
    expect_exit 0 "--top 2 {target} --skip-existing (first)" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 2 \
        -o 'jt/{target}.png' --json --skip-existing
    expect_exit 0 "--top 2 {target} --skip-existing (again)" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --top 2 \
        -o 'jt/{target}.png' --json --skip-existing
    check "--skip-existing with {target} of --top: skipped" jq_ok -s \
        'length == 2 and all(.[]; .status == "skipped") and .[1].outputs.heatmap == "jt/4.png"' <(printf '%s\n' "$OUT")
fi

# ------------------------------------------------------------------------
# 5. -t from-dir: ImageFolder's classes
mkdir -p data/cat data/horse data/truck data/.cache
cp "$HORSE" data/horse/a.png
cp "$HORSE" data/cat/b.png
cp "$HORSE" data/truck/c.png
expect_exit 0 "from-dir without --labels" "$LRP" explain "$R20" data "${CIFAR[@]}" -t from-dir -r 'fd/{stem}-{target}.npy' -q
# sorted folders: .cache 0, cat 1, horse 2, truck 3 (hidden ones count, as in ImageFolder)
check "from-dir: a folder's place among the sorted folders" test -f fd/b-1.npy -a -f fd/a-2.npy -a -f fd/c-3.npy
expect_exit 0 "from-dir with --labels" "$LRP" explain "$R20" data "${CIFAR[@]}" -t from-dir --labels cifar.txt \
    -r 'fl/{stem}-{target}.npy' -q
check "from-dir --labels: the label's class" test -f fl/b-3.npy -a -f fl/a-7.npy -a -f fl/c-9.npy
check "from-dir: the class explained is the folder's" cmp -s fl/a-7.npy one7.npy
expect_exit 0 "from-dir: a file named directly" "$LRP" explain "$R20" data/truck/c.png "${CIFAR[@]}" -t from-dir \
    --labels cifar.txt -r 'fn/{target}.npy' -q
check "from-dir: the folder holding a named file" test -f fn/9.npy
cp "$HORSE" data/loose.png
mkdir -p data/wolf
cp "$HORSE" data/wolf/d.png
expect_exit 4 "from-dir: a file in no class folder, a folder no label names" "$LRP" explain "$R20" data "${CIFAR[@]}" \
    -t from-dir --labels cifar.txt -r 'fx/{stem}.npy' -q
check "from-dir: the others are explained" test -f fx/b.npy -a -f fx/a.npy -a ! -f fx/loose.npy -a ! -f fx/d.npy
check "from-dir: the errors name the input and the folder" sh -c \
    "printf '%s\n' \"\$1\" | grep -q 'loose.png: --target from-dir: the input is in no class folder' &&
     printf '%s\n' \"\$1\" | grep -q \"the class folder 'wolf' is no class name\"" _ "$ERR"
expect_exit 2 "from-dir with a class" "$LRP" explain "$R20" data "${CIFAR[@]}" -t from-dir,3 -r 'x/{stem}.npy'
one_line_error "from-dir with a class" "from-dir"

# ------------------------------------------------------------------------
# 6. labels files: the count, JSON class indexes
head -3 cifar.txt > short.txt
expect_exit 2 "explain: 3 labels for 10 classes" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --labels short.txt -o x.png
one_line_error "explain: 3 labels for 10 classes" "short.txt has 3 class names and the model 10 classes"
check "nothing written" test ! -e x.png
{ echo background; cat cifar.txt; } > bg.txt
expect_exit 2 "predict: 11 labels with background first" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels bg.txt
one_line_error "predict: background first" "'background'"
printf '\n\n' >> cifar.txt
expect_exit 0 "empty lines at the end do not count" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels cifar.txt -k 1
check "the label shown" eval 'printf "%s\n" "$OUT" | grep -q "7 .* horse$"'
{
    printf '{'
    i=0
    for n in plane car bird cat deer dog frog horse ship truck; do
        [ $i -gt 0 ] && printf ', '
        printf '"%d": ["n0%d", "%s"]' $i $i $n
        i=$((i + 1))
    done
    printf '}\n'
} > index.json
expect_exit 0 "predict: a JSON class index" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels index.json -k 2
check "JSON class index: the names" eval 'printf "%s\n" "$OUT" | grep -q "7 .* horse$" && printf "%s\n" "$OUT" | grep -q "4 .* deer$"'
expect_exit 0 "-t by a class index's id" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --labels index.json -t n07,n04 \
    -r 'id/{label}.npy' -q
check "-t n07,n04: horse and deer" sh -c 'cmp -s id/horse.npy one7.npy && cmp -s id/deer.npy one4.npy'
printf '["plane", "car", "bird", "cat", "deer", "dog", "frog", "hor\\u0073e", "ship", "truck"]' > list.json
expect_exit 0 "predict: a JSON list (with an escape)" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels list.json -k 1
check "JSON list: the names" eval 'printf "%s\n" "$OUT" | grep -q "7 .* horse$"'
printf '{"0": "a", "2": "b"}' > gap.json
expect_exit 2 "a JSON class index with a gap" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels gap.json
one_line_error "a JSON class index with a gap" "gap.json"
printf '{"0": "a", "1": "b"' > cut.json
expect_exit 2 "a truncated JSON file" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels cut.json
one_line_error "a truncated JSON file" "not a JSON class index"
printf '["a", "b\x01"]' > ctl.json
expect_exit 2 "a control character in a JSON string" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels ctl.json
one_line_error "a control character in a JSON string" "ctl.json"
printf '{"0": "a", "0": "b"}' > dup.json
expect_exit 2 "a class given twice in JSON" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels dup.json
one_line_error "a class given twice in JSON" "class 0 is given twice"

# ------------------------------------------------------------------------
# 7. checks before the first input: the target's range
expect_exit 2 "-t 10 on a 10-class model" "$LRP" explain "$R20" "$HORSE" absent.png "${CIFAR[@]}" -t 10 -o 'o10/{stem}.png'
one_line_error "-t 10: once, before any input" "--target 10: the model has 10 classes (0 to 9)"
printf '%s\t12\n' "$HORSE" > list12.txt
expect_exit 4 "a --list target out of range" "$LRP" explain "$R20" --list list12.txt "${CIFAR[@]}" -o l12.png
one_line_error "a --list target out of range" "target 12 is out of range"

# ------------------------------------------------------------------------
# 8. --input-size for a model with a dynamic height and width
perl "$HERE/mkonnx.pl" dyn.onnx in=x:N,3,H,W node=GlobalAveragePool:x:y node=Flatten:y:z out=z:N,3
expect_exit 4 "a dynamic model and an image" "$LRP" explain dyn.onnx "$HORSE" -o dyn.png
one_line_error "a dynamic model and an image" "--input-size"
expect_exit 0 "--input-size 20x24" "$LRP" explain dyn.onnx "$HORSE" -o dyn.png -r dyn.npy --input-size 20x24
check "--input-size: the relevance is 20x24" sh -c "head -c 128 dyn.npy | grep -q \"(1, 3, 20, 24)\""
expect_exit 0 "predict --input-size" "$LRP" predict dyn.onnx "$HORSE" --input-size 20x24
expect_exit 2 "--input-size against a fixed size" "$LRP" predict "$R20" "$HORSE" --input-size 20x24
one_line_error "--input-size against a fixed size" "is 32x32"
expect_exit 2 "--input-size 20" "$LRP" predict dyn.onnx "$HORSE" --input-size 20
one_line_error "--input-size 20" "HEIGHTxWIDTH"
expect_exit 2 "-t 3 on the 3-class dynamic model" "$LRP" explain dyn.onnx "$HORSE" --input-size 20x24 -t 3 -o x.png
one_line_error "-t 3: the declared output tells the classes" "the model has 3 classes"

# ------------------------------------------------------------------------
# 9. the note when nothing is written; --overlay 0.3
expect_exit 0 "no -o" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}"
one_line_error "no -o: a note" "nothing will be written"
expect_exit 0 "no -o, --quiet" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -q
check "--quiet: no note" test -z "$ERR"
expect_exit 0 "-o: no note" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o note.png
check "with -o: no note" test -z "$ERR"
expect_exit 0 "--overlay 0.3 (a space)" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --overlay 0.3 -o ov1.png
"$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --overlay=0.3 -o ov2.png -q
check "--overlay 0.3 is --overlay=0.3" cmp -s ov1.png ov2.png
"$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" --overlay -o ov3.png -q
check "--overlay alone stays 0.5" sh -c '! cmp -s ov1.png ov3.png'

# ------------------------------------------------------------------------
# 10. a bigger model: the batch of targets gives the bytes of single runs
for t in 1 5; do "$LRP" explain "$Z/resnet-op17.onnx" "$Z/resnet-input.npy" -t $t -q -r z$t.npy; done
expect_exit 0 "zoo resnet: -t 1,5" "$LRP" explain "$Z/resnet-op17.onnx" "$Z/resnet-input.npy" -t 1,5 -q -r 'zb{target}.npy'
check "zoo resnet: batched targets are byte-identical" sh -c 'cmp -s z1.npy zb1.npy && cmp -s z5.npy zb5.npy'
# one forward pass for the targets of an input, the rules' products of forward values shared among them
# (lrp_explain_targets): each target's relevance and heatmap are those of a run of its own, under every
# composite, on grouped convolutions (MobileNetV2), concatenations (DenseNet) and attention (a ViT)
# same_as_alone MODEL INPUT ARGS...: --top 3 against -t of each of its classes alone
same_as_alone() {
    local m=$1 x=$2 name tag
    shift 2
    tag=$(basename "$m" .onnx)
    rm -rf sa && mkdir sa
    "$LRP" explain "$m" "$x" "$@" --top 3 -q -r 'sa/{rank}-{target}.npy' -o 'sa/{rank}.png' || return 1
    for f in sa/*-*.npy; do
        name=${f#sa/}
        "$LRP" explain "$m" "$x" "$@" -t "$(basename "${name#*-}" .npy)" -q -r sa/one.npy -o sa/one.png || return 1
        cmp -s sa/one.npy "$f" && cmp -s sa/one.png "sa/${name%%-*}.png" || { echo "$tag $*: $f differs"; return 1; }
    done
    [ "$(ls sa/*-*.npy | wc -l)" -eq 3 ]
}
for c in epsilon-plus-flat epsilon-plus epsilon-alpha2-beta1 epsilon-alpha2-beta1-flat epsilon-gamma-box \
    guided-backprop excitation-backprop deconvnet beta-smooth gradient; do
    check "--top 3 with $c (MobileNetV2): each target as alone" same_as_alone "$Z/mobilenet-v2-op17.onnx" \
        "$Z/mobilenet-v2-input.npy" -c $c
done
for c in epsilon-plus-flat epsilon-gamma-box; do
    check "--top 3 with $c (DenseNet): each target as alone" same_as_alone "$Z/densenet-op11.onnx" \
        "$Z/densenet-input.npy" -c $c
done
check "--top 3 -a input-x-gradient (DenseNet): each target as alone" same_as_alone "$Z/densenet-op11.onnx" \
    "$Z/densenet-input.npy" -c epsilon-plus -a input-x-gradient
for c in attnlrp cp-lrp epsilon-gamma-box; do
    check "--top 3 with $c (ViT): each target as alone" same_as_alone "$TESTDATA/shapes/shapes-vit-op17.onnx" \
        "$TESTDATA/shapes/images/shape-001-square.png" -c $c
done
check "--top 3 --double (MobileNetV2): each target as alone" same_as_alone "$Z/mobilenet-v2-op17.onnx" \
    "$Z/mobilenet-v2-input.npy" --double
# ------------------------------------------------------------------------
# 11. --exif-orientation: JPEG photos with an EXIF Orientation (rgb420.jpg is 29x19)
# with_exif IN OUT ORIENTATION [TYPE]: IN with an Exif APP1 segment after SOI
with_exif() {
    perl -e '
        my ($in, $out, $o, $type) = @ARGV;
        open my $f, "<", $in or die; binmode $f; local $/; my $d = <$f>;
        my $val = $type == 3 ? pack("v", $o) . "\0\0" : pack("V", $o);
        my $tiff = "MM" . pack("n", 42) . pack("N", 8) . pack("n", 1) . pack("nnN", 0x0112, $type, 1);
        $tiff = "II" . pack("v", 42) . pack("V", 8) . pack("v", 1) . pack("vvV", 0x0112, $type, 1) if $type != 3;
        $tiff .= ($type == 3 ? pack("n", $o) . "\0\0" : $val) . pack("V", 0);
        my $app = "Exif\0\0" . $tiff;
        open my $g, ">", $out or die; binmode $g;
        print $g substr($d, 0, 2), "\xff\xe1", pack("n", 2 + length $app), $app, substr($d, 2);' "$@"
}
JPG=$TESTDATA/images/rgb420.jpg
for o in 2 3 6 8; do with_exif "$JPG" e$o.jpg $o 3; done
with_exif "$JPG" e6l.jpg 6 4
perl "$HERE/mkonnx.pl" g19x29.onnx in=x:N,1,19,29 node=GlobalAveragePool:x:y node=Flatten:y:z out=z:N,1
perl "$HERE/mkonnx.pl" g29x19.onnx in=x:N,1,29,19 node=GlobalAveragePool:x:y node=Flatten:y:z out=z:N,1
PRE=(--resize none --mean 0 --std 1)
"$LRP" preprocess g19x29.onnx "$JPG" "${PRE[@]}" -o plain.npy
expect_exit 0 "an EXIF-turned photo, ignored" "$LRP" preprocess g19x29.onnx e3.jpg "${PRE[@]}" -o e3-ignore.npy
check "ignore: taken as stored" cmp -s plain.npy e3-ignore.npy
one_line_error "ignore: a note" "EXIF orientation 3"
expect_exit 0 "--exif-orientation ignore -q" "$LRP" explain g19x29.onnx e3.jpg "${PRE[@]}" -q -r q.npy
check "--quiet: no note" test -z "$ERR"
npy_values plain.npy > plain.txt
# turned by awk from the plain image: out(x, y) = in(ix, iy)
turn() { awk -v o="$1" -v W=29 -v H=19 '{ v[NR - 1] = $1 }
    END { ow = o >= 5 ? H : W; oh = o >= 5 ? W : H
          for (y = 0; y < oh; y++) for (x = 0; x < ow; x++) {
              if (o == 2) { ix = W - 1 - x; iy = y } else if (o == 3) { ix = W - 1 - x; iy = H - 1 - y }
              else if (o == 6) { ix = y; iy = H - 1 - x } else { ix = W - 1 - y; iy = x }
              print v[iy * W + ix] } }' plain.txt; }
for o in 2 3 6 8; do
    m=g19x29.onnx; [ $o -ge 5 ] && m=g29x19.onnx
    expect_exit 0 "--exif-orientation apply ($o)" "$LRP" preprocess $m e$o.jpg "${PRE[@]}" -o a$o.npy \
        --exif-orientation apply
    check "apply ($o): no note" test -z "$ERR"
    npy_values a$o.npy > a$o.txt
    turn $o > t$o.txt
    check "apply ($o): the photo turned as EXIF says" cmp -s a$o.txt t$o.txt
done
"$LRP" preprocess g29x19.onnx e6l.jpg "${PRE[@]}" -o a6l.npy --exif-orientation apply
check "an Orientation written as LONG" cmp -s a6.npy a6l.npy
expect_exit 2 "--exif-orientation turn" "$LRP" preprocess g19x29.onnx e3.jpg --exif-orientation turn -o x.npy
one_line_error "--exif-orientation turn" "ignore or apply"
finish
