#!/usr/bin/env bash
# Preprocessing stored in the model (ONNX metadata_props, lrp(1) MODEL
# METADATA): the shipped ResNet-20 carries CIFAR-10's mean and std and no
# resize, so the README's first command needs no flags and gives the heatmap
# the flags give; the command line still wins; `preprocess --write-metadata`
# writes a copy that computes the same logits; values lrp cannot read are
# errors of the model naming the key; control characters are not printed.
. "$(dirname "$0")/lib.sh"

W=$WORK/m
mkdir -p "$W"
D=$TESTDATA/models/cifar10-resnet20
R20=$D/cifar10-resnet20.onnx
HORSE=$D/horse5.png
PRE=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
# add_meta IN OUT KEY VALUE: IN with one more metadata_props entry (field 14 of
# ModelProto, appended: protobuf merges fields that come later)
add_meta() {
    perl -e 'sub v { my $n = shift; my $s = ""; while ($n >= 0x80) { $s .= chr(($n & 0x7f) | 0x80); $n >>= 7 } $s . chr($n) }
        my ($in, $out, $k, $val) = @ARGV; local $/; open my $f, "<", $in or die; binmode $f; my $d = <$f>;
        my $e = "\x0a" . v(length $k) . $k . "\x12" . v(length $val) . $val;
        open my $o, ">", $out or die; binmode $o; print $o $d, "\x72", v(length $e), $e;' "$@"
}

expect_exit 0 "inspect the shipped ResNet-20" "$LRP" inspect "$R20"
printf '%s\n' "$OUT" | grep -q '^metadata    lrp.mean = 0.4914,0.4822,0.4465$' && ok "inspect shows lrp.mean" ||
    not_ok "inspect: no lrp.mean line: $OUT"
printf '%s\n' "$OUT" | grep -q '^ *lrp.std = 0.2023,0.1994,0.201$' && ok "inspect shows lrp.std" ||
    not_ok "inspect: no lrp.std line"
printf '%s\n' "$OUT" | grep -q '^ *lrp.resize = none$' && ok "inspect shows lrp.resize" || not_ok "inspect: no lrp.resize"

# the README's first command: no flags, the flags' heatmap
expect_exit 0 "explain without flags" "$LRP" explain "$R20" "$HORSE" -o "$W/plain.png" -r "$W/plain.npy"
expect_exit 0 "explain with the flags" "$LRP" explain "$R20" "$HORSE" "${PRE[@]}" -o "$W/flags.png" -r "$W/flags.npy"
check "the same heatmap without flags as with them" cmp -s "$W/plain.png" "$W/flags.png"
check "the same relevance" cmp -s "$W/plain.npy" "$W/flags.npy"
expect_exit 0 "preprocess without flags" "$LRP" preprocess "$R20" "$HORSE" -o "$W/x-plain.npy"
expect_exit 0 "preprocess with the flags" "$LRP" preprocess "$R20" "$HORSE" "${PRE[@]}" -o "$W/x-flags.npy"
check "the same input tensor" cmp -s "$W/x-plain.npy" "$W/x-flags.npy"
# the command line wins
expect_exit 0 "explain with --mean 0 --std 1" "$LRP" explain "$R20" "$HORSE" --mean 0 --std 1 -r "$W/other.npy"
check "a --mean on the command line overrides the metadata" bash -c "! cmp -s '$W/other.npy' '$W/plain.npy'"
expect_exit 0 "preprocess with --resize 40" "$LRP" preprocess "$R20" "$HORSE" --resize 40 -o "$W/x40.npy"
check "a --resize on the command line overrides the metadata" bash -c "! cmp -s '$W/x40.npy' '$W/x-plain.npy'"

# --write-metadata: a copy, the same computation, keys replaced
expect_exit 0 "write metadata into a copy" "$LRP" preprocess "$R20" --write-metadata --pixel-range 255 \
    --mean 125,123,114 -o "$W/copy.onnx"
expect_exit 0 "inspect the copy" "$LRP" inspect "$W/copy.onnx"
printf '%s\n' "$OUT" | grep -q 'lrp.mean = 125,123,114$' && ok "the copy's lrp.mean is replaced" ||
    not_ok "the copy's lrp.mean: $OUT"
printf '%s\n' "$OUT" | grep -q 'lrp.std = 0.2023,0.1994,0.201$' && ok "the copy keeps lrp.std" || not_ok "lrp.std lost"
printf '%s\n' "$OUT" | grep -q 'lrp.pixel_range = 255$' && ok "the copy has lrp.pixel_range" ||
    not_ok "no lrp.pixel_range"
expect_exit 0 "predict with the original" "$LRP" predict "$R20" "$W/x-plain.npy" --json
a=$OUT
expect_exit 0 "predict with the copy" "$LRP" predict "$W/copy.onnx" "$W/x-plain.npy" --json
check "the copy computes the same logits" test "$a" = "${OUT//$W\/copy.onnx/$R20}"
expect_exit 2 "--write-metadata onto the model itself" "$LRP" preprocess "$R20" --write-metadata --bgr -o "$R20"
expect_exit 2 "--write-metadata with nothing to store" "$LRP" preprocess "$R20" --write-metadata -o "$W/n.onnx"
one_line_error "--write-metadata with nothing to store" "nothing to store"
check "no file written" test ! -e "$W/n.onnx"
expect_exit 2 "--write-metadata without -o" "$LRP" preprocess "$R20" --write-metadata --bgr
expect_exit 3 "--write-metadata of a missing model" "$LRP" preprocess "$W/none.onnx" --write-metadata --bgr \
    -o "$W/n.onnx"
one_line_error "--write-metadata of a missing model" "none.onnx"

# values lrp cannot read
add_meta "$R20" "$W/bad-mean.onnx" lrp.mean "0.5,zebra,0.5"
expect_exit 3 "a bad lrp.mean" "$LRP" explain "$W/bad-mean.onnx" "$HORSE" -o "$W/b.png"
one_line_error "a bad lrp.mean" "lrp.mean"
check "no heatmap written" test ! -e "$W/b.png"
expect_exit 0 "a bad lrp.mean is not read when --mean is given" "$LRP" explain "$W/bad-mean.onnx" "$HORSE" \
    --mean 0.4914,0.4822,0.4465 -r "$W/b.npy"
check "... and then gives the metadata's result" cmp -s "$W/b.npy" "$W/plain.npy"
add_meta "$R20" "$W/bad-std.onnx" lrp.std "0"
expect_exit 3 "lrp.std 0" "$LRP" predict "$W/bad-std.onnx" "$HORSE"
one_line_error "lrp.std 0" "lrp.std"
add_meta "$R20" "$W/bad-resize.onnx" lrp.resize "-3"
expect_exit 3 "a bad lrp.resize" "$LRP" preprocess "$W/bad-resize.onnx" "$HORSE" -o "$W/b2.npy"
one_line_error "a bad lrp.resize" "lrp.resize"
add_meta "$R20" "$W/bad-layout.onnx" lrp.layout "hwcn"
expect_exit 3 "a bad lrp.layout" "$LRP" explain "$W/bad-layout.onnx" "$HORSE"
one_line_error "a bad lrp.layout" "lrp.layout"
add_meta "$R20" "$W/ctl.onnx" note $'a\033[2Jb'
expect_exit 0 "inspect a value with control characters" "$LRP" inspect "$W/ctl.onnx"
printf '%s\n' "$OUT" | grep -q '^ *note = a?\[2Jb$' && ok "control characters shown as ?" ||
    not_ok "control characters: $(printf '%s\n' "$OUT" | grep note | od -c | head -3)"

# class names stored with the model (lrp.labels): written by --write-metadata --labels (a text file or a JSON
# class index), read by predict and explain (and -t LABEL, {label}) without --labels; read by a scan of the
# file's top level before the model loads; a --labels file still wins; a wrong count is the model's error
printf '%s\n' plane car bird cat deer dog frog horse ship truck > "$W/cifar.txt"
expect_exit 0 "--write-metadata --labels" "$LRP" preprocess "$R20" --write-metadata --labels "$W/cifar.txt" \
    -o "$W/r20-labels.onnx"
expect_exit 0 "inspect the labelled copy" "$LRP" inspect "$W/r20-labels.onnx"
printf '%s\n' "$OUT" | grep -q '^ *lrp.labels = (10 lines)$' && ok "inspect: lrp.labels of 10 lines" ||
    not_ok "inspect: no lrp.labels line: $OUT"
printf '%s\n' "$OUT" | grep -q ' lrp.mean = 0.4914,0.4822,0.4465$' && ok "the labels kept lrp.mean" ||
    not_ok "lrp.mean lost"
expect_exit 0 "predict without --labels" "$LRP" predict "$W/r20-labels.onnx" "$HORSE" -k 2
check "predict names the classes from the metadata" eval 'printf "%s\n" "$OUT" | grep -q "logit= *20.0788  horse$"'
expect_exit 0 "explain -t horse -o {label} without --labels" "$LRP" explain "$W/r20-labels.onnx" "$HORSE" \
    -t horse,deer -q -r "$W/lab-{label}.npy"
"$LRP" explain "$R20" "$HORSE" -t 7 -q -r "$W/t7.npy"
check "-t horse from the metadata is class 7, byte for byte" cmp -s "$W/lab-horse.npy" "$W/t7.npy"
check "{label} from the metadata" test -f "$W/lab-deer.npy"
printf '%s\n' p0 p1 p2 p3 p4 p5 p6 p7 p8 p9 > "$W/other.txt"
expect_exit 0 "--labels wins over the metadata" "$LRP" predict "$W/r20-labels.onnx" "$HORSE" -k 1 \
    --labels "$W/other.txt"
check "--labels' names shown" eval 'printf "%s\n" "$OUT" | grep -q "  p7$"'
printf '{"0": ["n0", "plane"], "1": ["n1", "car"], "2": ["n2", "bird"], "3": ["n3", "cat"], "4": ["n4", "deer"], "5": ["n5", "dog"], "6": ["n6", "frog"], "7": ["n7", "horse"], "8": ["n8", "ship"], "9": ["n9", "truck"]}\n' > "$W/idx.json"
expect_exit 0 "--write-metadata --labels with a JSON class index" "$LRP" preprocess "$R20" --write-metadata \
    --labels "$W/idx.json" -o "$W/r20-json.onnx"
expect_exit 0 "predict the JSON-labelled copy" "$LRP" predict "$W/r20-json.onnx" "$HORSE" -k 1
check "a JSON class index stores its names" eval 'printf "%s\n" "$OUT" | grep -q "  horse$"'
printf '%s\n' a b c > "$W/three.txt"
expect_exit 2 "--write-metadata with 3 names for 10 classes" "$LRP" preprocess "$R20" --write-metadata \
    --labels "$W/three.txt" -o "$W/r20-3.onnx"
one_line_error "3 names for 10 classes" "has 3 class names and the model 10 classes"
check "nothing written for a wrong count" test ! -e "$W/r20-3.onnx"
expect_exit 2 "preprocess to a tensor with --labels" "$LRP" preprocess "$R20" "$HORSE" --labels "$W/cifar.txt" \
    -o "$W/x.npy"
one_line_error "preprocess --labels without --write-metadata" "--write-metadata"
add_meta "$R20" "$W/r20-bad-labels.onnx" lrp.labels $'a\nb\nc'
expect_exit 3 "a model whose lrp.labels has 3 names for 10 classes" "$LRP" explain "$W/r20-bad-labels.onnx" "$HORSE" \
    -o "$W/bl.png"
one_line_error "the model's wrong count" "metadata lrp.labels has 3 class names and the model 10 classes"
check "nothing written for the model's wrong count" test ! -e "$W/bl.png"
add_meta "$W/r20-bad-labels.onnx" "$W/r20-later.onnx" lrp.labels "$(cat "$W/other.txt")"
expect_exit 0 "a later lrp.labels entry counts" "$LRP" predict "$W/r20-later.onnx" "$HORSE" -k 1
check "the later entry's names" eval 'printf "%s\n" "$OUT" | grep -q "  p7$"'
head -c 300 "$W/r20-labels.onnx" > "$W/trunc.onnx"
expect_exit 3 "a truncated model (with labels before the cut or not)" "$LRP" predict "$W/trunc.onnx" "$HORSE"
one_line_error "a truncated model" "trunc.onnx"

finish
