#!/usr/bin/env bash
# The command line on bad input: missing, corrupt and unsupported models
# (exit 3), missing/corrupt/truncated/wrong-shape inputs to predict, explain
# and preprocess (exit 4, one stderr line naming the file and the problem),
# bad options and values (exit 2), outputs that cannot be written (exit 5,
# nothing left behind), and a batch with one corrupt file (the rest is done,
# exit 4, exactly the expected files, no temporary files).
. "$(dirname "$0")/lib.sh"

W=$WORK
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
CIFAR=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
have_jq=1
command -v jq > /dev/null || { have_jq=; echo "SKIP: jq is missing: the --json checks are skipped"; }
jq_ok() { jq -e "$@" > /dev/null 2>&1; }

# stderr_says NAME TEXT: stderr of the last expect_exit contains TEXT
stderr_says() {
    if printf '%s' "$ERR" | grep -qiF -- "$2"; then ok "$1: says '$2'"; else not_ok "$1: stderr should say '$2': $ERR"; fi
}

# nothing_left NAME DIR: no temporary files (".tmp-") anywhere under DIR
nothing_left() {
    local left
    left=$(find "$2" -name '*.tmp-*' 2> /dev/null)
    if [ -z "$left" ]; then ok "$1: no temporary files"; else not_ok "$1: left behind: $left"; fi
}

# ------------------------------------------------------------------------
# models
expect_exit 3 "predict: missing model" "$LRP" predict "$W/absent.onnx" "$HORSE"
one_line_error "missing model" "absent.onnx"
stderr_says "missing model" "No such file"
head -c 5000 "$R20" > "$W/truncated.onnx"
for cmd in predict explain; do
    expect_exit 3 "$cmd: truncated model" "$LRP" $cmd "$W/truncated.onnx" "$HORSE"
    one_line_error "$cmd: truncated model" "truncated.onnx"
done
expect_exit 3 "preprocess: truncated model" "$LRP" preprocess "$W/truncated.onnx" "$HORSE" -o "$W/p.npy"
one_line_error "preprocess: truncated model" "truncated.onnx"
check "preprocess: truncated model: no output" test ! -e "$W/p.npy"
printf 'This is not a model.\n' > "$W/text.onnx"
expect_exit 3 "predict: a text file as the model" "$LRP" predict "$W/text.onnx" "$HORSE"
one_line_error "text model" "text.onnx"
expect_exit 3 "predict: an image as the model" "$LRP" predict "$HORSE" "$HORSE"
one_line_error "image as model" "horse5.png"
expect_exit 3 "inspect: corrupt model" "$LRP" inspect "$W/truncated.onnx"
one_line_error "inspect: corrupt model" "truncated.onnx"
expect_exit 3 "predict: a directory as the model" "$LRP" predict "$W" "$HORSE"
one_line_error "directory as model" "$W"

# An unsupported operator: the first Relu of ResNet-20 renamed "Zorp" (its
# NodeProto op_type field: tag 0x22, length 4)
perl -0777 -pe 's/\x22\x04Relu/\x22\x04Zorp/' < "$R20" > "$W/zorp.onnx"
check "made the unsupported-op model (4 bytes differ)" test "$(cmp -l "$R20" "$W/zorp.onnx" | wc -l)" -eq 4
for cmd in predict explain; do
    expect_exit 3 "$cmd: unsupported op" "$LRP" $cmd "$W/zorp.onnx" "$HORSE" "${CIFAR[@]}"
    one_line_error "$cmd: unsupported op" "Zorp"
    stderr_says "$cmd: unsupported op" "zorp.onnx"
    stderr_says "$cmd: unsupported op" "opset 7"
done
expect_exit 0 "inspect: unsupported op is not an error" "$LRP" inspect "$W/zorp.onnx"
check "inspect lists it under unsupported" eval 'printf "%s\n" "$OUT" | grep -q "^unsupported *Zorp$"'

# ------------------------------------------------------------------------
# inputs: missing, corrupt JPEG, truncated JPEG, truncated PNG, not an
# image, wrong-shape .npy, truncated .npy, int32 .npy
printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00garbage garbage' > "$W/corrupt.jpg"
head -c 400 "$TESTDATA/images/rgb420.jpg" > "$W/cut.jpg"
head -c 1000 "$HORSE" > "$W/cut.png"
printf 'plain text\n' > "$W/text.png"
cp "$TESTDATA/refset/inputs/chelsea-16.npy" "$W/small.npy"    # (1, 3, 16, 16) for a 32x32 model
head -c 100 "$TESTDATA/refset/inputs/chelsea-32.npy" > "$W/cut.npy"
perl -e '
    my $d = "{\x27descr\x27: \x27<i4\x27, \x27fortran_order\x27: False, \x27shape\x27: (1, 3, 32, 32), }";
    $d .= " " x ((64 - (10 + length($d) + 1) % 64) % 64) . "\n";
    binmode STDOUT; print "\x93NUMPY\x01\x00", pack("v", length $d), $d, pack("l<*", (7) x 3072);' > "$W/int.npy"

# bad_input NAME FILE WORD: predict, explain and preprocess each exit 4 with
# one stderr line naming the file and saying WORD; nothing written
bad_input() {
    local n=$1 f=$2 word=$3 base
    base=$(basename "$f")
    rm -rf "$W/o" && mkdir -p "$W/o"
    expect_exit 4 "predict: $n" "$LRP" predict "$R20" "$f" "${CIFAR[@]}"
    one_line_error "predict: $n" "$base"
    stderr_says "predict: $n" "$word"
    check "predict: $n: nothing on stdout" test -z "$OUT"
    expect_exit 4 "explain: $n" "$LRP" explain "$R20" "$f" "${CIFAR[@]}" -o "$W/o/h.png" -r "$W/o/r.npy"
    one_line_error "explain: $n" "$base"
    stderr_says "explain: $n" "$word"
    expect_exit 4 "preprocess: $n" "$LRP" preprocess "$R20" "$f" "${CIFAR[@]}" -o "$W/o/p.npy"
    one_line_error "preprocess: $n" "$base"
    stderr_says "preprocess: $n" "$word"
    check "$n: no output files" test -z "$(ls -A "$W/o")"
}
bad_input "missing image" "$W/absent.png" "No such file"
bad_input "corrupt JPEG" "$W/corrupt.jpg" "JPEG"
bad_input "truncated JPEG" "$W/cut.jpg" "truncated"
bad_input "truncated PNG" "$W/cut.png" "truncated PNG"
bad_input "a text file named .png" "$W/text.png" "not"
bad_input "wrong-shape .npy" "$W/small.npy" "(1, 3, 16, 16)"
bad_input "truncated .npy" "$W/cut.npy" "truncated"
bad_input "int32 .npy" "$W/int.npy" "<i4"
# the wrong shape message also shows the model's shape
expect_exit 4 "predict: wrong-shape .npy" "$LRP" predict "$R20" "$W/small.npy"
stderr_says "wrong-shape .npy" "(1, 3, 32, 32)"

# ------------------------------------------------------------------------
# options (exit 2, one line)
usage() {
    local n=$1 word=$2; shift 2
    expect_exit 2 "$n" "$LRP" "$@"
    one_line_error "$n" "$word"
}
usage "unknown option" "--bogus" predict "$R20" "$HORSE" --bogus
usage "unknown short option" "-Z" predict "$R20" "$HORSE" -Z
usage "unknown command" "frobnicate" frobnicate "$R20"
usage "--top 0" "--top" predict "$R20" "$HORSE" --top 0
usage "--top abc" "abc" predict "$R20" "$HORSE" --top abc
usage "--top without a value" "--top" predict "$R20" "$HORSE" --top
usage "--resize foo" "foo" predict "$R20" "$HORSE" --resize foo
usage "--mean with 2 values" "--mean" predict "$R20" "$HORSE" --mean 1,2
usage "--mean with 4 values" "--mean" predict "$R20" "$HORSE" --mean 1,2,3,4
usage "--mean not a number" "--mean" predict "$R20" "$HORSE" --mean a,b,c
usage "--std 0" "--std" predict "$R20" "$HORSE" --std 0
usage "--threads 0" "--threads" predict "$R20" "$HORSE" --threads 0
usage "--layout abc" "abc" predict "$R20" "$HORSE" --layout abc
usage "--pixel-range 7" "--pixel-range" predict "$R20" "$HORSE" --pixel-range 7
usage "--shard 3/2" "--shard" predict "$R20" "$HORSE" --shard 3/2
usage "an option of another command" "--tolerance" explain "$R20" "$HORSE" --tolerance 3
usage "--json takes no value" "--json" predict "$R20" "$HORSE" --json=yes
usage "predict without an input" "predict" predict "$R20"
usage "preprocess without -o" "-o" preprocess "$R20" "$HORSE"
usage "missing labels file" "absent.txt" predict "$R20" "$HORSE" --labels "$W/absent.txt"
usage "missing --list file" "absent.txt" predict "$R20" --list "$W/absent.txt"
usage "unknown template field" "{foo}" explain "$R20" "$HORSE" -o "$W/{foo}.png"
usage "several inputs and a plain -o" "template" explain "$R20" "$HORSE" "$HORSE" -o "$W/h.png"
usage "--epsilon -1" "--epsilon" explain "$R20" "$HORSE" --epsilon -1
usage "--norm sideways" "sideways" explain "$R20" "$HORSE" --norm sideways
usage "--target -3" "--target" explain "$R20" "$HORSE" --target -3
check "no files from usage errors" test ! -e "$W/h.png"

# ------------------------------------------------------------------------
# outputs that cannot be written (exit 5, nothing left behind)
mkdir -p "$W/out5"
echo "a file" > "$W/out5/afile"
expect_exit 5 "preprocess -o under a regular file" "$LRP" preprocess "$R20" "$HORSE" "${CIFAR[@]}" \
    -o "$W/out5/afile/x.npy"
one_line_error "preprocess -o under a regular file" "afile"
stderr_says "preprocess -o under a regular file" "not a directory"
if [ -d /proc/self ]; then # procfs refuses new directories, even to root
    expect_exit 5 "preprocess -o in /proc" "$LRP" preprocess "$R20" "$HORSE" "${CIFAR[@]}" -o /proc/lrp-test-dir/x.npy
    one_line_error "preprocess -o in /proc" "/proc/lrp-test-dir"
fi
expect_exit 5 "explain -o under a regular file" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" \
    -o "$W/out5/afile/h.png"
one_line_error "explain -o under a regular file" "afile"
expect_exit 5 "explain -r under a regular file" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" \
    -r "$W/out5/afile/r.npy"
one_line_error "explain -r under a regular file" "afile"
# an output that is a directory is refused before the run (a usage error, see test_outputs.sh)
expect_exit 2 "explain -o into a directory path" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/out5"
check "the output directory still holds just the file" test "$(ls -A "$W/out5")" = "afile"
nothing_left "unwritable outputs" "$W/out5"
# a directory without write permission (not for root, who may write anyway)
mkdir -p "$W/ro"
chmod 555 "$W/ro"
if ! touch "$W/ro/probe" 2> /dev/null; then
    expect_exit 5 "preprocess -o in a read-only directory" "$LRP" preprocess "$R20" "$HORSE" "${CIFAR[@]}" \
        -o "$W/ro/x.npy"
    one_line_error "read-only directory" "$W/ro/x.npy"
    expect_exit 5 "explain -o in a read-only directory" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/ro/h.png"
    check "read-only directory: still empty" test -z "$(ls -A "$W/ro")"
else
    rm -f "$W/ro/probe"
    echo "note: running as root: the read-only directory case is skipped"
fi
chmod 755 "$W/ro"
# standard output that cannot be written
if [ -w /dev/full ]; then
    "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" > /dev/full 2> "$W/err"
    rc=$?
    check "predict > /dev/full: exit 5 ($rc)" test "$rc" -eq 5
    ERR=$(cat "$W/err")
    one_line_error "predict > /dev/full" "write error"
fi

# ------------------------------------------------------------------------
# a batch with one corrupt image: the rest is done, exit 4, exactly the
# expected outputs, no temporary files
mkdir -p "$W/batch/in/sub" "$W/batch/out"
cp "$HORSE" "$W/batch/in/a.png"
head -c 1200 "$HORSE" > "$W/batch/in/b.png"
cp "$HORSE" "$W/batch/in/sub/c.png"
"$LRP" preprocess "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/batch/in/d.npy"
cp "$W/corrupt.jpg" "$W/batch/in/sub/e.jpg"
expect_exit 4 "explain a batch with two bad files" "$LRP" explain "$R20" "$W/batch/in" "${CIFAR[@]}" \
    -o "$W/batch/out/{stem}.png" -r "$W/batch/out/{stem}.npy"
check "stderr names b.png once" test "$(printf '%s\n' "$ERR" | grep -c 'b\.png')" -eq 1
check "stderr names e.jpg once" test "$(printf '%s\n' "$ERR" | grep -c 'e\.jpg')" -eq 1
stderr_says "batch" "2 of 5 inputs failed"
check "stdout reports the three good inputs" test "$(printf '%s\n' "$OUT" | grep -c 'predicted 7')" -eq 3
got=$(cd "$W/batch/out" && find . -type f | sort | paste -sd' ')
check "exactly the outputs of the good inputs ($got)" \
    test "$got" = "./a.npy ./a.png ./c.npy ./c.png ./d.npy ./d.png"
nothing_left "batch" "$W/batch"
if [ -n "$have_jq" ]; then
    expect_exit 4 "predict --json on the batch" "$LRP" predict "$R20" "$W/batch/in" "${CIFAR[@]}" --json
    printf '%s\n' "$OUT" > "$W/bj"
    check "predict --json: one line per input, in order" \
        test "$(jq -r '.input | sub(".*/in/"; "")' "$W/bj" | paste -sd' ')" = "a.png b.png d.npy sub/c.png sub/e.jpg"
    check "predict --json: status error for the bad ones, with the message" jq_ok -s \
        '[.[] | select(.status == "error") | .input | sub(".*/in/"; "")] == ["b.png", "sub/e.jpg"]
         and all(.[] | select(.status == "error"); (.error | test("truncated|JPEG")) and (has("logits") | not))' \
        "$W/bj"
    check "predict --json: the good ones predict 7" jq_ok -s \
        '[.[] | select(.status == "ok") | .top[0].class] == [7, 7, 7]' "$W/bj"
fi

# --baseline and --fill files: missing, empty, corrupt, wrong size (bad option values: exit 2)
: > "$W/empty-opt.npy"
printf 'not a numpy file at all' > "$W/corrupt-opt.npy"
for f in "$W/missing-opt.npy" "$W/empty-opt.npy" "$W/corrupt-opt.npy"; do
    for opt in "--attributor integrated-gradients --baseline" "--attributor occlusion --fill"; do
        expect_exit 2 "explain $opt ${f##*/}" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" $opt "$f" -q
        one_line_error "explain $opt ${f##*/}" "${f##*/}"
    done
done
expect_exit 4 "explain --baseline of the wrong size fails the item" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" \
    --attributor integrated-gradients --baseline "$TESTDATA/refset/inputs/chelsea-16.npy" -q
one_line_error "baseline size" "values"

finish
