#!/usr/bin/env bash
# explain --batch N: several inputs per engine pass give the same bytes as one
# at a time (heatmaps, relevances, the JSON figures and the messages) for
# several composites, the gradient and attributors; a bad input or one of
# another shape in the middle of a batch fails or runs alone; a model that
# takes no batch (a Reshape to a batch of 1) falls back to one at a time.
. "$(dirname "$0")/lib.sh"

W=$WORK
CNN=$TESTDATA/refset/models/tiny-cnn.onnx
MLP=$TESTDATA/refset/models/tiny-mlp.onnx
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
CIFAR=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
IN=$TESTDATA/refset/inputs
have_jq=1
command -v jq > /dev/null || { have_jq=; echo "SKIP: jq missing: JSON checks are skipped"; }

# the inputs, in sorted order: images and tensors, a corrupt image and a
# tensor of another shape in the middle
mkdir -p "$W/in"
cp "$IN/camera-32.npy" "$W/in/a1.npy"
cp "$TESTDATA/images/tiny.png" "$W/in/a2.png"
cp "$IN/chelsea-32.npy" "$W/in/a3.npy"
head -c 100 "$TESTDATA/images/tiny.png" > "$W/in/a4-bad.png"
cp "$TESTDATA/images/tiny.jpg" "$W/in/a5.jpg"
cp "$IN/logo-16.npy" "$W/in/a6-small.npy"
cp "$IN/logo-32.npy" "$W/in/a7.npy"
cp "$TESTDATA/images/rgb8.png" "$W/in/a8.png"
cp "$IN/rocket-32.npy" "$W/in/a9.npy"
cd "$W" || exit 1

# run NAME BATCH ARGS...: explain the inputs into NAME/, keeping the exit
# status, stderr and the JSON lines without the fields that may differ
run() {
    local name=$1 batch=$2
    shift 2
    rm -rf "$name"
    mkdir -p "$name"
    "$LRP" explain "$@" --batch "$batch" -o "$name/o/{stem}.png" -r "$name/o/{stem}.npy" --json \
        > "$name/json" 2> "$name/err"
    echo $? > "$name/rc"
    sed -i "s#$name/o/#OUT/#g" "$name/err"
    sed -E "s#$name/o/#OUT/#g; s/,\"(seconds|batch|peak_memory)\":[^,}]*//g" "$name/json" > "$name/figures"
}

# same NAME A B: the runs A and B wrote the same files, bytes, exit status, messages and figures
same() {
    local n=$1 a=$2 b=$3 diffs
    diffs=$(
        diff <(cd "$a/o" && ls) <(cd "$b/o" && ls) > /dev/null || echo "file lists differ"
        for f in "$a"/o/*; do cmp -s "$f" "$b/o/${f##*/}" || echo "${f##*/} differs"; done
        for k in rc err figures; do cmp -s "$a/$k" "$b/$k" || echo "$k differs"; done
    )
    if [ -z "$diffs" ]; then ok "$n"; else not_ok "$n: $(echo "$diffs" | head -5 | tr '\n' ' ')"; fi
}

# ------------------------------------------------------------------------
# 1. composites, the gradient and attributors on a model that batches
for method in "-c epsilon-plus-flat" "-c epsilon-gamma-box" "-c epsilon-alpha2-beta1-flat" "-c excitation-backprop" \
    "-c gradient" "-a input-x-gradient -c epsilon-plus" "-a grad-cam" "-a smoothgrad --samples 3"; do
    read -ra m <<< "$method"
    run one 1 "$CNN" in "${m[@]}"
    run three 3 "$CNN" in "${m[@]}" -j 1
    same "$method: --batch 3 (one pass of 3) = one at a time" one three
    run auto 0 "$CNN" in "${m[@]}" -j 2
    same "$method: the default batch, 2 workers = one at a time" one auto
done
check "the corrupt input fails alone: exit 4" test "$(cat three/rc)" -eq 4
n=$(grep -c 'a4-bad\.png' three/err)
check "one stderr line names the corrupt input ($n)" test "$n" -eq 1
n=$(grep -c 'a6-small\.npy' three/err)
check "the input of another shape fails alone ($n)" test "$n" -eq 1
check "every other input has its outputs" test "$(find three/o -name '*.png' | wc -l)" -eq 7
if [ -n "$have_jq" ]; then
    run three 3 "$CNN" in -j 1
    check "JSON: items in order, the pass sizes (a bad input does not break a batch, another shape does)" \
        test "$(jq -r '"\(.index):\(.status):\(.batch // "-")"' three/json | tr '\n' ' ')" = \
        "0:ok:3 1:ok:3 2:ok:3 3:error:- 4:ok:1 5:error:- 6:ok:3 7:ok:3 8:ok:3 "
    run four 4 "$CNN" in -j 2
    check "JSON: -j 2 --batch 4: two workers, a pass of 2 each, then of 1" \
        test "$(jq -r '"\(.index):\(.status):\(.batch // "-")"' four/json | tr '\n' ' ')" = \
        "0:ok:2 1:ok:2 2:ok:2 3:error:- 4:ok:2 5:error:- 6:ok:1 7:ok:1 8:ok:1 "
    check "JSON: peak_memory in bytes" \
        jq -se 'map(select(.status == "ok") | (.peak_memory | type) == "number" and .peak_memory > 1000000) | all' \
        three/json > /dev/null
fi

# the explicit and --list targets, a flat model, float64
printf '%s\t5\n%s\n%s\t3\n%s\t1\n' in/a1.npy in/a2.png in/a3.npy in/a7.npy > list.txt
run one 1 "$CNN" --list list.txt
run four 4 "$CNN" --list list.txt
same "--list targets: --batch 4 = one at a time" one four
run one 1 "$CNN" in -t 4 --seed-logit
run four 4 "$CNN" in -t 4 --seed-logit
same "-t 4 --seed-logit: --batch 4 = one at a time" one four
run one 1 "$CNN" in --double -c epsilon-gamma-box
run four 4 "$CNN" in --double -c epsilon-gamma-box
same "--double: --batch 4 = one at a time" one four
mkdir -p flat
for f in camera chelsea logo rocket; do cp "$IN/$f-16.npy" flat/; done
run one 1 "$MLP" flat -c epsilon-alpha2-beta1
run three 3 "$MLP" flat -c epsilon-alpha2-beta1
same "a dense model: --batch 3 = one at a time" one three

# the heatmap options that need the image (--overlay, --size input), and --grid
run one 1 "$CNN" in --overlay --size input
run three 3 "$CNN" in --overlay --size input
same "--overlay --size input: --batch 3 = one at a time" one three
for b in 1 3; do "$LRP" explain "$CNN" in --batch $b --grid -o "grid$b.png" > /dev/null 2>&1; done
check "--grid: the same montage with --batch 3" cmp -s grid1.png grid3.png

# --skip-existing with names that only the forward pass tells ({target}):
# one output removed, only that input runs again
for b in 1 3; do
    rm -rf "sk$b"
    "$LRP" explain "$CNN" in --batch $b -o "sk$b/{stem}-{target}.png" > /dev/null 2>&1
    rm "sk$b"/a7-*.png
    "$LRP" explain "$CNN" in --batch $b -o "sk$b/{stem}-{target}.png" --skip-existing --json > "sk$b.json" 2> /dev/null
    sed -i -E "s#sk$b/#SK/#g; s/,\"(seconds|batch|peak_memory)\":[^,}]*//g" "sk$b.json"
done
check "--skip-existing with {target}: the same items run and skipped" cmp -s sk1.json sk3.json
check "--skip-existing with {target}: the removed output is back" test "$(ls sk3/a7-*.png | wc -l)" -eq 1

# several targets per input keep their own pass, in turn with the batches
for b in 1 3; do
    mkdir -p "k$b"
    "$LRP" explain "$CNN" in -k 2 --batch $b -o "k$b/o/{stem}-{rank}.png" -r "k$b/o/{stem}-{rank}.npy" > "k$b/out" 2> "k$b/err"
    echo $? > "k$b/rc"
done
check "--top 2: the same exit status" cmp -s k1/rc k3/rc
check "--top 2: the same files" diff <(cd k1/o && ls) <(cd k3/o && ls)
bad=0
for f in k1/o/*; do cmp -s "$f" "k3/o/${f##*/}" || bad=$((bad + 1)); done
check "--top 2: the same bytes ($bad differ)" test "$bad" -eq 0

# --skip-existing after a batched run: every output is there
if [ -n "$have_jq" ]; then
    run three 3 "$CNN" in
    "$LRP" explain "$CNN" in --batch 3 -o "three/o/{stem}.png" -r "three/o/{stem}.npy" --skip-existing --json \
        > skip.json 2> /dev/null
    check "--skip-existing: the good inputs skipped, the bad ones fail again" \
        test "$(jq -r .status skip.json | tr '\n' ' ')" = \
        "skipped skipped skipped error skipped error skipped skipped skipped "
fi

# ------------------------------------------------------------------------
# 2. a model that takes no batch: one at a time, the same results
mkdir -p rin
for i in 1 2 3; do cp "$HORSE" "rin/h$i.png"; done
head -c 200 "$HORSE" > rin/h2b-bad.png
cp "$TESTDATA/images/rgb8.png" rin/h4.png
for method in "-c epsilon-plus-flat" "-c gradient"; do
    read -ra m <<< "$method"
    run one 1 "$R20" rin "${CIFAR[@]}" "${m[@]}"
    run four 4 "$R20" rin "${CIFAR[@]}" "${m[@]}"
    same "ResNet-20 (no batch) $method: --batch 4 = one at a time" one four
done
check "ResNet-20: the corrupt input fails alone: exit 4" test "$(cat four/rc)" -eq 4
check "ResNet-20: the others written" test "$(find four/o -name '*.png' | wc -l)" -eq 4
if [ -n "$have_jq" ]; then
    check "ResNet-20: every pass holds one input" \
        test "$(jq -r 'select(.status == "ok") | .batch' four/json | sort -u)" = 1
fi

# ------------------------------------------------------------------------
# 3. the option
expect_exit 2 "--batch 65 refused" "$LRP" explain "$CNN" in --batch 65 -o 'x/{stem}.png'
one_line_error "--batch 65" "batch"
expect_exit 2 "--batch -1 refused" "$LRP" explain "$CNN" in --batch -1 -o 'x/{stem}.png'
check "nothing written after a refused --batch" test ! -e x
finish
