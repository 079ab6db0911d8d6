#!/usr/bin/env bash
# Outputs a pipeline can trust: an output that is one of the run's inputs
# (directly, through a symlink, a hard link or '..'), another output of the
# run, or a directory is refused before anything is written (exit 2, one
# line naming both paths); FIFOs and character devices are written through
# and stay what they are; -o - writes to standard output; a folder run leaves
# its own earlier outputs out; --skip-existing with {target}; --shard and
# {index:N} limits; the empty-heatmap error names its input.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/png_helpers.sh"

W=$WORK
# a copy of the model: a binary without these checks must not damage testdata/
cp "$TESTDATA/refset/models/tiny-cnn.onnx" "$W/tiny-cnn.onnx"
CNN=$W/tiny-cnn.onnx
IN=$TESTDATA/refset/inputs
have_jq=1
command -v jq > /dev/null || { have_jq=; echo "SKIP: jq missing: JSON checks are skipped"; }
cd "$W" || exit 1

# sums DIR...: checksum, inode and type of every file below, sorted
sums() { find "$@" \( -type f -o -type l -o -type p \) -print | sort | while IFS= read -r f; do
    printf '%s %s %s %s\n' "$f" "$(stat -c '%i %F' "$f")" "$(cksum < "$f" 2> /dev/null)" "$(readlink "$f")"; done; }
# untouched NAME: the tree snapshot in $W/before is unchanged
untouched() {
    sums "${SNAP[@]}" > "$W/after"
    if diff "$W/before" "$W/after" > "$W/diff"; then ok "$1: files untouched"
    else not_ok "$1: files changed:"$'\n'"$(head -10 "$W/diff")"; fi
}
snap() { SNAP=("$@"); sums "$@" > "$W/before"; }
# refused NAME WORD1 WORD2 COMMAND...: exit 2, one stderr line naming both words
refused() {
    local n=$1 w1=$2 w2=$3; shift 3
    expect_exit 2 "$n: refused" "$@"
    one_line_error "$n" "$w1"
    if printf '%s' "$ERR" | grep -qF -- "$w2"; then ok "$n: the line also names $w2"
    else not_ok "$n: the line should also name $w2: $ERR"; fi
}

mkdir -p photos other
cp "$TESTDATA/images/tiny.png" photos/a.png
cp "$TESTDATA/images/rgb8.png" photos/c.png
cp "$IN/camera-32.npy" photos/b.npy
cp "$IN/logo-32.npy" other/a.npy

# ------------------------------------------------------------------------
# 1. an output that is an input
snap photos other
refused "-o '{dir}/{stem}.png' over the input photographs" photos/a.png photos/a.png \
    "$LRP" explain "$CNN" photos -o '{dir}/{stem}.png'
untouched "-o {dir}/{stem}.png"
check "no heatmap of b.npy written either (nothing is written when refused)" test ! -e photos/b.png
refused "-o naming the input" photos/a.png photos/a.png "$LRP" explain "$CNN" photos/a.png -o photos/a.png
refused "--relevance-out naming the input" photos/b.npy photos/b.npy "$LRP" explain "$CNN" photos/b.npy -r photos/b.npy
ln -s photos/a.png link.png
refused "an output through a symlink to the input" link.png photos/a.png "$LRP" explain "$CNN" photos/a.png -o link.png
check "the symlink is still a symlink" test -L link.png
ln -s photos linkdir
refused "the input through a symlinked directory" linkdir/a.png photos/a.png "$LRP" explain "$CNN" photos/a.png -o linkdir/a.png
refused "an output through '..'" other/../photos/a.png photos/a.png "$LRP" explain "$CNN" photos/a.png -o 'other/../photos/a.png'
refused "a template through '..'" photos/a.png photos/a.png "$LRP" explain "$CNN" photos -o '{dir}/../photos/{stem}.png'
ln photos/c.png hard.png
refused "an output hard-linked to the input" hard.png photos/c.png "$LRP" explain "$CNN" photos/c.png -o hard.png
refused "an output that is the model" tiny-cnn.onnx tiny-cnn.onnx "$LRP" explain "$CNN" photos/a.png -o "$CNN"
printf '%s\n' photos/a.png > list.txt
refused "an output that is the --list file" list.txt list.txt "$LRP" explain "$CNN" --list list.txt -o list.txt
refused "render over its relevance" photos/b.npy photos/b.npy "$LRP" render photos/b.npy -o photos/b.npy
refused "preprocess over its image" photos/a.png photos/a.png "$LRP" preprocess "$CNN" photos/a.png -o photos/a.png
refused "preprocess over the model" tiny-cnn.onnx tiny-cnn.onnx "$LRP" preprocess "$CNN" photos/a.png -o "$CNN"
untouched "after every refusal"

# ------------------------------------------------------------------------
# 2. two outputs that are one file, an output that is a directory
refused "two inputs with one stem" other/a.npy photos/a.png "$LRP" explain "$CNN" photos other -o 'o2/{stem}.png'
check "two inputs with one stem: nothing written" test ! -e o2
refused "-o X -r X" o2/x "o2/x" "$LRP" explain "$CNN" photos/a.png -o o2/x -r o2/x
refused "-o X -r ./X" o2/x "./o2/x" "$LRP" explain "$CNN" photos/a.png -o o2/x -r ./o2/x
check "-o X -r X: nothing written" test ! -e o2
refused "-o and -r templates that meet" "o2/a" "--relevance-out" "$LRP" explain "$CNN" photos -o 'o2/{stem}' -r 'o2/{stem}'
refused "-o '{target}' for several inputs without targets" "{target}" "photos/b.npy" \
    "$LRP" explain "$CNN" photos/a.png photos/b.npy -o 'o2/{target}.png'
mkdir -p adir
expect_exit 2 "-o a directory: refused" "$LRP" explain "$CNN" photos/a.png -o adir
one_line_error "-o a directory" adir
check "the directory is still an empty directory" test -d adir -a -z "$(ls -A adir)"
expect_exit 2 "-r a directory: refused" "$LRP" explain "$CNN" photos/a.png -r adir/
one_line_error "-r a directory" adir
expect_exit 2 "render -o a directory: refused" "$LRP" render photos/b.npy -o adir
one_line_error "render -o a directory" adir
expect_exit 2 "preprocess -o '.': refused" "$LRP" preprocess "$CNN" photos/a.png -o .
one_line_error "preprocess -o ." "."
# a clash that depends on a predicted {target} is found when the target is known
printf '%s\t7\n%s\n' "$IN/camera-32.npy" "$IN/logo-32.npy" > clash.txt   # logo-32 is predicted 7
expect_exit 2 "a {target} clash found during the run: exit 2" "$LRP" explain "$CNN" --list clash.txt -o 'late/{target}.png' -q
if printf '%s' "$ERR" | grep -q 'late/7.png.*late/7.png'; then ok "the {target} clash names both"; else not_ok "the {target} clash: $ERR"; fi
check "the first item's heatmap stays the only file" test "$(ls late)" = 7.png
# character devices are no files to protect: -o /dev/null -r /dev/null is fine
expect_exit 0 "-o /dev/null -r /dev/null" "$LRP" explain "$CNN" photos/a.png -o /dev/null -r /dev/null
check "/dev/null is still a character device" test -c /dev/null
# a block device is refused (a node made here, for no existing device: nothing could be written anyway)
if mknod "$W/blk" b 240 123 2> /dev/null; then
    expect_exit 2 "-o a block device: refused" "$LRP" explain "$CNN" photos/a.png -o "$W/blk"
    one_line_error "-o a block device" "blk"
    check "the block device node stays" test -b "$W/blk"
else
    echo "SKIP: mknod unavailable: the block device refusal is not checked"
fi

# ------------------------------------------------------------------------
# 3. FIFOs, devices and standard output
expect_exit 0 "reference heatmap" "$LRP" explain "$CNN" photos/a.png -o ref.png -r ref.npy -q
mkfifo fifo.png
timeout 60 cat fifo.png > fromfifo.png &
reader=$!
expect_exit 0 "-o FIFO" timeout 60 "$LRP" explain "$CNN" photos/a.png -o fifo.png -q
wait $reader
check "the reader got a complete PNG" test "$(png_chunks fromfifo.png | tail -1)" = IEND
check "the PNG from the FIFO is the one a file gets" cmp -s fromfifo.png ref.png
check "the FIFO is still a FIFO" test -p fifo.png
mkfifo fifo.npy
timeout 60 cat fifo.npy > fromfifo.npy &
reader=$!
expect_exit 0 "-r FIFO" timeout 60 "$LRP" explain "$CNN" photos/a.png -r fifo.npy -q
wait $reader
check "the .npy from the FIFO is the one a file gets" cmp -s fromfifo.npy ref.npy
check "the .npy FIFO is still a FIFO" test -p fifo.npy
expect_exit 0 "-o /dev/null" "$LRP" explain "$CNN" photos/a.png -o /dev/null
check "/dev/null stays a character device" test -c /dev/null
expect_exit 5 "-o /dev/full: an output error" "$LRP" explain "$CNN" photos/a.png -o /dev/full
one_line_error "-o /dev/full" /dev/full
check "/dev/full stays a character device" test -c /dev/full
expect_exit 5 "render -o /dev/full: an output error" "$LRP" render ref.npy -o /dev/full
check "/dev/full stays a character device after render" test -c /dev/full
"$LRP" explain "$CNN" photos/a.png -o - > stdout.png 2> stdout.err
check "-o -: exit 0, the PNG on stdout, byte-equal to -o file" cmp -s stdout.png ref.png
check "-o -: the result line went to stderr" grep -q 'predicted' stdout.err
"$LRP" explain "$CNN" photos/a.png -o /dev/stdout -q > devstdout.png
check "-o /dev/stdout into a file: the PNG" cmp -s devstdout.png ref.png
"$LRP" explain "$CNN" photos/a.png -o /dev/stdout -q | cat > devstdout2.png
check "-o /dev/stdout into a pipe: the PNG" cmp -s devstdout2.png ref.png
"$LRP" explain "$CNN" photos/a.png -r - -q > stdout.npy
check "-r -: the .npy on stdout" cmp -s stdout.npy ref.npy
"$LRP" render ref.npy -o - > render-stdout.png
"$LRP" render ref.npy -o render-file.png
check "render -o -: byte-equal to render -o file" cmp -s render-stdout.png render-file.png
"$LRP" explain "$CNN" photos -o - --grid -q > grid-stdout.png
check "-o - --grid of several inputs: exit 0" test $? -eq 0
"$LRP" explain "$CNN" photos -o grid-file.png --grid -q
check "-o - --grid: the montage on stdout, byte-equal to -o file" cmp -s grid-stdout.png grid-file.png
expect_exit 2 "-o - with --json: refused" "$LRP" explain "$CNN" photos/a.png -o - --json
one_line_error "-o - with --json" "--json"
check "-o - with --json: nothing on stdout" test -z "$OUT"
expect_exit 2 "-o - with several inputs: refused" "$LRP" explain "$CNN" photos -o -
one_line_error "-o - with several inputs" "-o -"
check "-o - with several inputs: nothing on stdout" test -z "$OUT"
expect_exit 2 "-o - -r -: refused" "$LRP" explain "$CNN" photos/a.png -o - -r -
one_line_error "-o - -r -" "standard output"
expect_exit 2 "-o - with --check: refused" "$LRP" explain "$CNN" photos/a.png -o - --check
one_line_error "-o - with --check" "--check"

# ------------------------------------------------------------------------
# 4. a folder run leaves its own outputs of an earlier run out
rm -rf f && mkdir -p f/sub && cp photos/a.png photos/b.npy f/ && cp photos/c.png f/sub/
expect_exit 0 "first folder run" "$LRP" explain "$CNN" f -o '{dir}/{stem}_lrp.png' -r '{dir}/{stem}_rel.npy' -q
find f -type f | sort > got1
check "first run: 3 heatmaps and 3 relevances beside 3 inputs" test "$(wc -l < got1)" -eq 9
snap f
expect_exit 0 "second folder run: own outputs are not inputs" "$LRP" explain "$CNN" f -o '{dir}/{stem}_lrp.png' -r '{dir}/{stem}_rel.npy' --json
printf '%s\n' "$OUT" > j2
find f -type f | sort > got2
check "second run: no heatmaps of heatmaps" cmp -s got1 got2
check "second run: one note on stderr naming an excluded file" test "$(printf '%s\n' "$ERR" | grep -c 'note:.*_lrp.png\|note:.*_rel.npy')" -eq 1
if [ -n "$have_jq" ]; then
    check "second run: the 3 inputs only" test "$(jq -r .input j2 | tr '\n' ' ')" = "f/a.png f/b.npy f/sub/c.png "
fi
sums f | awk '{print $1, $4, $5}' > a1
awk '{print $1, $4, $5}' before > b1
check "second run: the outputs are the same bytes" cmp -s a1 b1
expect_exit 0 "-q: the note is quiet" "$LRP" explain "$CNN" f -o '{dir}/{stem}_lrp.png' -r '{dir}/{stem}_rel.npy' -q
check "-q: nothing on stderr" test -z "$ERR"
rm -rf ft && mkdir -p ft/sub && cp photos/a.png photos/b.npy ft/ && cp photos/c.png ft/sub/
expect_exit 0 "{target} templates: a first run" "$LRP" explain "$CNN" ft -o '{dir}/{stem}-{target}.png' -q
expect_exit 0 "{target} templates: the second run" "$LRP" explain "$CNN" ft -o '{dir}/{stem}-{target}.png' --json
if [ -n "$have_jq" ]; then
    check "{target} templates: the second run had the 3 inputs" test "$(printf '%s\n' "$OUT" | jq -r .input | tr '\n' ' ')" = "ft/a.png ft/b.npy ft/sub/c.png "
fi
check "{target} templates: 3 heatmaps beside 3 inputs" test "$(find ft -type f | wc -l)" -eq 6
expect_exit 2 "--include-outputs takes them, and the clash is refused" \
    "$LRP" explain "$CNN" f -o '{dir}/{stem}_lrp.png' --include-outputs
one_line_error "--include-outputs" "_lrp.png"
# a file named explicitly is always an input (and then refused as an output)
refused "a named earlier output is an input" f/a_lrp.png f/a_lrp.png \
    "$LRP" explain "$CNN" f/a.png f/a_lrp.png -o '{dir}/{stem}_lrp.png'
# files that are not this run's outputs stay inputs
expect_exit 0 "another template: the earlier outputs are inputs" "$LRP" explain "$CNN" f -o 'elsewhere/{stem}.png' -q
check "another template: every PNG and .npy of the folder was an input" test "$(find elsewhere -type f | wc -l)" -eq 9

# ------------------------------------------------------------------------
# 5. --skip-existing with {target}: what a fresh run would have written
rm -rf sk so && mkdir sk && cp "$IN/camera-32.npy" "$IN/chelsea-32.npy" "$IN/logo-32.npy" "$IN/rocket-32.npy" sk/
expect_exit 0 "fresh run with {target}" "$LRP" explain "$CNN" sk -o 'so/{stem}-{target}.png' -r 'so/{stem}-{target}.npy' -q
printf '%s\n' so/camera-32-2.npy so/camera-32-2.png so/chelsea-32-3.npy so/chelsea-32-3.png so/logo-32-7.npy \
    so/logo-32-7.png so/rocket-32-2.npy so/rocket-32-2.png > want
find so -type f | sort > got
check "fresh run: the predicted targets in the names" cmp -s got want
touch -d '2001-02-03 04:05:06' so/*
snap so
expect_exit 0 "--skip-existing with {target}" "$LRP" explain "$CNN" sk -o 'so/{stem}-{target}.png' -r 'so/{stem}-{target}.npy' --skip-existing --json
printf '%s\n' "$OUT" > js
untouched "--skip-existing with {target}"
check "--skip-existing with {target}: modification times kept" test "$(stat -c %Y so/logo-32-7.png)" -lt 981300000
if [ -n "$have_jq" ]; then
    check "--skip-existing with {target}: every item skipped" test "$(jq -r .status js | sort | uniq -c | tr -s ' ')" = " 4 skipped"
    check "--skip-existing with {target}: the skipped outputs named" test "$(jq -r 'select(.input == "sk/logo-32.npy") | .outputs.heatmap' js)" = so/logo-32-7.png
fi
rm so/chelsea-32-3.png
expect_exit 0 "--skip-existing after deleting one output" "$LRP" explain "$CNN" sk -o 'so/{stem}-{target}.png' -r 'so/{stem}-{target}.npy' --skip-existing --json
printf '%s\n' "$OUT" > js2
check "the deleted output is re-created under the same name" test -f so/chelsea-32-3.png
find so -type f | sort > got
check "no other file appeared" cmp -s got want
if [ -n "$have_jq" ]; then
    check "only that item ran" test "$(jq -r '"\(.input) \(.status)"' js2 | tr '\n' ',')" = \
        "sk/camera-32.npy skipped,sk/chelsea-32.npy ok,sk/logo-32.npy skipped,sk/rocket-32.npy skipped,"
fi

# ------------------------------------------------------------------------
# 6. --shard and {index:N} limits
mkdir -p sh && for i in 1 2 3; do cp "$IN/camera-32.npy" "sh/in$i.npy"; done
expect_exit 0 "--shard 4294967296/4294967297: exact, an empty shard" "$LRP" explain "$CNN" sh --shard 4294967296/4294967297 -o 'sx/{index}.png' --json
check "--shard 4294967296/4294967297 does not wrap to 0/1 (no items run)" test -z "$OUT" -a ! -e sx
expect_exit 0 "--shard 1/4294967297: item 1 only" "$LRP" explain "$CNN" sh --shard 1/4294967297 -o 'sy/{index}.png' -q
check "--shard 1/4294967297: item 1 only" test "$(ls sy)" = 1.png
for bad in 4294967297/4294967297 99999999999999999999/99999999999999999999 1/99999999999999999999 0/-4294967296 ' 1/2' '1/ 2' +1/2; do
    expect_exit 2 "--shard '$bad' refused" "$LRP" explain "$CNN" sh --shard "$bad" -o 'sz/{index}.png'
    one_line_error "--shard '$bad'" "shard"
done
check "no refused shard wrote anything" test ! -e sz
for w in 65 4294967296 99999999999999999999; do
    expect_exit 2 "{index:$w} refused at the template check" "$LRP" explain "$CNN" sh -o "ix/{index:$w}.png"
    one_line_error "{index:$w}" "{index:$w}"
    if printf '%s' "$ERR" | grep -q "at most 64"; then ok "{index:$w}: the limit is named"; else not_ok "{index:$w}: $ERR"; fi
done
expect_exit 0 "{index:64} is fine" "$LRP" explain "$CNN" sh/in1.npy -o 'ix/{index:64}.png'
check "{index:64}: 64 digits" test "$(ls ix)" = "$(printf '%064d.png' 0)"

# ------------------------------------------------------------------------
# 7. the empty-heatmap error names its input
perl -e 'my $h = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: (1, 1, 0, 4), }";
    $h .= " " x (63 - (10 + length($h)) % 64) . "\n"; print "\x93NUMPY\x01\x00", pack("v", length $h), $h' > empty.npy
expect_exit 4 "render of an empty relevance" "$LRP" render empty.npy -o empty.png
one_line_error "the empty heatmap" "empty.npy"
check "no heatmap written" test ! -e empty.png

finish
