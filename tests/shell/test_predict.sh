#!/usr/bin/env bash
# `lrp predict`: the trained third-party models classify their documented
# inputs as documented (ResNet-20 and mnist-8 from testdata, the rest from
# ../shared/refdata); the zennit reference set's logits (every model of
# ../shared/refset, or the testdata subset) within 1e-5 of the largest
# absolute logit; --top, --labels, --json (input, index, status, logits in
# class order, top list of class/logit/probability[/label]); several inputs,
# a directory, --list - and --list FILE.
# Expected values come from the third-party files (SOURCES.md, output_0.*,
# golden/*.npy), never from lrp itself.
. "$(dirname "$0")/lib.sh"

W=$WORK
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
MNIST=$TESTDATA/models/mnist-8
CIFAR=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
SHARED=$(shared_dir)
have_jq=1
command -v jq > /dev/null || { have_jq=; echo "SKIP: jq is missing: the --json checks and the refset logits are skipped"; }
jq_ok() { jq -e "$@" > /dev/null 2>&1; }

# write_npy OUT SHAPE: numbers on stdin (separated by spaces, commas or
# newlines) -> a float32 C-order .npy of that shape, e.g. "(1, 784)"
write_npy() {
    perl -e '
        my $shape = shift; local $/; my $t = <STDIN>;
        my @v = grep { length } split /[\s,]+/, $t;
        my $d = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: $shape, }";
        $d .= " " x ((64 - (10 + length($d) + 1) % 64) % 64) . "\n";
        binmode STDOUT;
        print "\x93NUMPY\x01\x00", pack("v", length $d), $d, pack("f<*", @v);' "$2" > "$1"
}


# pb_floats FILE: the raw_data floats of a serialized float TensorProto
# whose raw_data field comes last (ONNX's test data), one per line
pb_floats() {
    perl -e '
        my ($path, $n) = @ARGV; local $/; open my $f, "<", $path or die; binmode $f; my $t = <$f>;
        my $len = 4 * $n; my $v = $len; my $tag = "\x4a";
        while ($v >= 128) { $tag .= chr(($v & 127) | 128); $v >>= 7 } $tag .= chr($v);
        substr($t, -$len - length($tag), length $tag) eq $tag or die "$path: raw_data is not last";
        printf "%.9g\n", $_ for unpack("f<*", substr($t, -$len));' "$1" "$2"
}

# as_json_array: lines of numbers on stdin -> [a,b,...]
as_json_array() { printf '[%s]' "$(paste -sd, -)"; }

# ------------------------------------------------------------------------
# 1. ResNet-20 on horse5.png with upstream's preprocessing (SOURCES.md M4:
#    class 7 "horse", logit 20.08, next best 6.92)
printf '%s\n' plane car bird cat deer dog frog horse ship truck > "$W/cifar.txt"
expect_exit 0 "resnet-20 horse5.png with --labels" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels "$W/cifar.txt"
first=$(printf '%s\n' "$OUT" | sed -n 1p)
best=$(printf '%s\n' "$OUT" | sed -n 2p)
check "the first line names the input" test "$first" = "$HORSE"
check "the top class is 7 (horse): '$best'" eval 'printf "%s\n" "$best" | grep -Eq "^ +7 .* horse\$"'
logit=$(printf '%s\n' "$best" | sed -n 's/.*logit= *\([-0-9.]*\).*/\1/p')
check "its logit is 20.08 ($logit)" awk -v l="$logit" 'BEGIN { exit !(l > 20.07 && l < 20.09) }'
second=$(printf '%s\n' "$OUT" | sed -n 3p | sed -n 's/.*logit= *\([-0-9.]*\).*/\1/p')
check "the next best logit is 6.92 ($second)" awk -v l="$second" 'BEGIN { exit !(l > 6.91 && l < 6.93) }'
check "five classes by default" test "$(printf '%s\n' "$OUT" | grep -c 'p=')" -eq 5
check "nothing on stderr" test -z "$ERR"

expect_exit 0 "--top 3" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --top 3
check "--top 3 prints 3 classes" test "$(printf '%s\n' "$OUT" | grep -c 'p=')" -eq 3
expect_exit 0 "-k 50 on a 10-class model" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" -k 50
check "-k 50 prints the 10 classes" test "$(printf '%s\n' "$OUT" | grep -c 'p=')" -eq 10
classes=$(printf '%s\n' "$OUT" | awk '/p=/ { print $1 }' | sort -n | paste -sd' ')
check "each class once ($classes)" test "$classes" = "0 1 2 3 4 5 6 7 8 9"
expect_exit 0 "--quiet prints nothing" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" -q
check "--quiet: empty stdout" test -z "$OUT"
# a labels file shorter than the class list: refused (issue 12), naming both counts
printf '%s\n' plane car bird > "$W/short.txt"
expect_exit 2 "a labels file with 3 names" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --labels "$W/short.txt"
one_line_error "a labels file with 3 names" "has 3 class names and the model 10 classes"
check "a refused labels file prints no class" test -z "$OUT"

if [ -n "$have_jq" ]; then
    expect_exit 0 "--json --top 4 --labels" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --json --top 4 \
        --labels "$W/cifar.txt"
    printf '%s\n' "$OUT" > "$W/j"
    check "--json: one line" test "$(wc -l < "$W/j")" -eq 1
    check "--json: input, index, status" jq_ok --arg p "$HORSE" '.input == $p and .index == 0 and .status == "ok"' "$W/j"
    check "--json: 10 logits, class 7 the largest at 20.08" jq_ok \
        '(.logits | length == 10) and (.logits | max == .[7]) and (.logits[7] - 20.08 | fabs < 0.01)' "$W/j"
    check "--json: the second largest logit is 6.92" jq_ok '(.logits | sort | .[-2]) - 6.92 | fabs < 0.01' "$W/j"
    check "--json: top has 4 entries with class, logit, probability, label" jq_ok \
        '(.top | length == 4) and all(.top[]; (keys == ["class", "label", "logit", "probability"]))' "$W/j"
    check "--json: top[i].logit is logits[top[i].class] (class order)" jq_ok \
        '. as $o | all(.top[]; .logit == $o.logits[.class])' "$W/j"
    check "--json: top is sorted by logit" jq_ok '[.top[].logit] == ([.top[].logit] | sort | reverse)' "$W/j"
    check "--json: top is the 4 largest logits" jq_ok '[.top[].logit] == (.logits | sort | reverse | .[:4])' "$W/j"
    check "--json: probabilities are the softmax of the logits" jq_ok \
        '(.logits | max) as $m | (.logits | map(. - $m | exp) | add) as $s
         | all(.top[]; (.probability - ((.logit - $m | exp) / $s)) | fabs < 1e-6)' "$W/j"
    check "--json: labels by class" jq_ok --rawfile l "$W/cifar.txt" \
        '($l | split("\n")) as $n | all(.top[]; .label == $n[.class]) and .top[0].label == "horse"' "$W/j"
    expect_exit 0 "--json without --labels" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --json
    check "--json: no label key without --labels, top 5 by default" jq_ok \
        '(.top | length == 5) and all(.top[]; has("label") | not)' <(printf '%s\n' "$OUT")
    expect_exit 2 "--json with a short labels file" "$LRP" predict "$R20" "$HORSE" "${CIFAR[@]}" --json \
        --labels "$W/short.txt"
    check "--json: a short labels file writes no JSON line" test -z "$OUT"
fi

# ------------------------------------------------------------------------
# 2. several inputs, a directory, --list
mkdir -p "$W/dir/sub"
cp "$HORSE" "$W/dir/b.png"
cp "$HORSE" "$W/dir/sub/c.png"
echo "not an input" > "$W/dir/notes.txt"
expect_exit 0 "preprocess horse5.png to .npy" "$LRP" preprocess "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/dir/a.npy"
cp "$HORSE" "$W/h2.png"
expect_exit 0 "two inputs" "$LRP" predict "$R20" "$HORSE" "$W/h2.png" "${CIFAR[@]}" --top 1
check "two inputs: two results in order" test "$(printf '%s\n' "$OUT" | grep -v 'p=' | paste -sd' ')" = \
    "$HORSE $W/h2.png"
check "two inputs: class 7 twice" test "$(printf '%s\n' "$OUT" | grep -Ec '^ +7 ')" -eq 2
if [ -n "$have_jq" ]; then
    expect_exit 0 "a directory, --json" "$LRP" predict "$R20" "$W/dir" "${CIFAR[@]}" --json
    printf '%s\n' "$OUT" > "$W/jd"
    check "directory: the .npy and images, recursively, in sorted order" \
        test "$(jq -r '.input' "$W/jd" | paste -sd' ')" = "$W/dir/a.npy $W/dir/b.png $W/dir/sub/c.png"
    check "directory: indices 0, 1, 2" test "$(jq -r '.index' "$W/jd" | paste -sd' ')" = "0 1 2"
    check "directory: the preprocessed .npy predicts as the image" jq_ok -s \
        '.[0].logits as $a | all(.[]; [.logits, $a] | transpose | all(.[0] - .[1] | fabs < 1e-5))' "$W/jd"
    check "directory: all class 7" jq_ok -s 'all(.[]; .top[0].class == 7)' "$W/jd"
    printf '# a comment\n%s\n\n%s\n' "$HORSE" "$W/dir/a.npy" > "$W/list.txt"
    expect_exit 0 "--list - (stdin)" "$LRP" predict "$R20" --list - "${CIFAR[@]}" --json < "$W/list.txt"
    check "--list -: the two listed inputs, comments and blank lines skipped" \
        test "$(printf '%s\n' "$OUT" | jq -r '.input' | paste -sd' ')" = "$HORSE $W/dir/a.npy"
    expect_exit 0 "--list FILE after an argument" "$LRP" predict "$R20" "$W/h2.png" --list "$W/list.txt" \
        "${CIFAR[@]}" --json
    check "--list FILE: arguments first, then the list" \
        test "$(printf '%s\n' "$OUT" | jq -r '.input' | paste -sd' ')" = "$W/h2.png $HORSE $W/dir/a.npy"
    check "--list FILE: all class 7" jq_ok -s 'length == 3 and all(.[]; .top[0].class == 7)' <(printf '%s\n' "$OUT")
fi

# ------------------------------------------------------------------------
# 3. mnist-8 on its three test sets, as .npy made from the TensorProtos:
#    classes 2, 0, 9 (SOURCES.md) and output_0.pb within 1e-6 of the largest
#    |logit| (they reach 6575, where float32 steps are 4.9e-4)
digits=(2 0 9)
for k in 0 1 2; do
    if ! pb_floats "$MNIST/test_data_set_$k/input_0.pb" 784 > "$W/m$k.txt" 2> "$W/perr"; then
        not_ok "mnist-8 set $k: cannot read input_0.pb: $(cat "$W/perr")"; continue
    fi
    write_npy "$W/mnist$k.npy" "(1, 1, 28, 28)" < "$W/m$k.txt"
    expect_exit 0 "mnist-8 set $k" "$LRP" predict "$MNIST/model.onnx" "$W/mnist$k.npy" --top 1
    check "mnist-8 set $k: class ${digits[$k]}" eval 'printf "%s\n" "$OUT" | grep -Eq "^ +${digits[$k]} "'
    if [ -n "$have_jq" ]; then
        pb_floats "$MNIST/test_data_set_$k/output_0.pb" 10 | as_json_array > "$W/want$k.json"
        "$LRP" predict "$MNIST/model.onnx" "$W/mnist$k.npy" --json > "$W/got$k.json"
        check "mnist-8 set $k: output_0.pb within 1e-6 of max |logit|" jq_ok --slurpfile g "$W/want$k.json" \
            '($g[0] | map(fabs) | max) as $m | [.logits, $g[0]] | transpose | all((.[0] - .[1]) | fabs <= 1e-6 * $m)' \
            "$W/got$k.json"
    fi
done

# ------------------------------------------------------------------------
# 4. the refset logits criterion: every model, every input of its size,
#    against golden/MODEL--IMAGE--logits.npy within 1e-5 of max |logit|
if [ -n "$have_jq" ]; then
    if [ -n "$SHARED" ] && [ -d "$SHARED/refset/models" ]; then REFSET=$SHARED/refset
    else REFSET=$TESTDATA/refset; echo "note: no ../shared/refset, using the testdata subset"; fi
    n_cases=0 worst=0
    for model in "$REFSET"/models/*.onnx; do
        name=$(basename "$model" .onnx)
        side=$("$LRP" inspect "$model" | sed -n 's/^input .*([0-9N]*, 3, \([0-9]*\), \([0-9]*\)).*/\1/p')
        if [ -z "$side" ]; then not_ok "refset $name: no (N, 3, S, S) input in lrp inspect"; continue; fi
        found=0
        for input in "$REFSET"/inputs/*-"$side".npy; do
            [ -f "$input" ] || continue
            image=$(basename "$input" "-$side.npy")
            gold=$REFSET/golden/$name--$image--logits.npy
            found=$((found + 1))
            if [ ! -f "$gold" ]; then not_ok "refset $name $image: no golden logits $gold"; continue; fi
            npy_values "$gold" | as_json_array > "$W/gold.json"
            if ! "$LRP" predict "$model" "$input" --json > "$W/pred.json" 2> "$W/perr"; then
                not_ok "refset $name $image: lrp predict failed: $(cat "$W/perr")"; continue
            fi
            err=$(jq -r --slurpfile g "$W/gold.json" \
                '($g[0] | map(fabs) | max) as $m
                 | if (.logits | length) != ($g[0] | length) then "length"
                   else [[.logits, $g[0]] | transpose[] | (.[0] - .[1]) | fabs] | max / $m end' "$W/pred.json")
            n_cases=$((n_cases + 1))
            echo "  refset $name $image: logits error $err of max |logit|"
            if awk -v e="$err" 'BEGIN { exit !(e != "length" && e <= 1e-5) }'; then
                worst=$(awk -v a="$worst" -v b="$err" 'BEGIN { print (b > a ? b : a) }')
            else
                not_ok "refset $name $image: logits differ by $err of max |logit|"
            fi
        done
        check "refset $name: inputs of side $side found ($found)" test "$found" -gt 0
    done
    check "refset logits: $n_cases cases within 1e-5 (worst $worst)" test "$n_cases" -gt 0
    echo "refset logits: $n_cases cases, largest error $worst of max |logit|"
fi

# ------------------------------------------------------------------------
# 5. the other trained models (../shared/refdata)
if [ -n "$SHARED" ] && [ -d "$SHARED/refdata/models" ]; then
    RD=$SHARED/refdata/models
    # SqueezeNet 1.0 fp16 on fish.csv (NCHW, BGR, raw 0..255): class 0 "tench"
    # at probability 0.7378 (WinMLRunner: 0.737793)
    SQ=$RD/winml-squeezenet1.0-fp16/SqueezeNet_fp16.onnx
    write_npy "$W/fish.npy" "(1, 3, 224, 224)" < "$RD/winml-squeezenet1.0-fp16/fish.csv"
    expect_exit 0 "squeezenet fp16 on fish.csv" "$LRP" predict "$SQ" "$W/fish.npy" --top 2
    line=$(printf '%s\n' "$OUT" | sed -n 2p)
    p=$(printf '%s\n' "$line" | sed -n 's/.*p=\([0-9.]*\).*/\1/p')
    check "squeezenet: class 0 first ('$line')" eval 'printf "%s\n" "$line" | grep -Eq "^ +0 "'
    check "squeezenet: probability 0.7378 +- 0.002 ($p)" awk -v p="$p" 'BEGIN { exit !(p >= 0.7358 && p <= 0.7398) }'
    check "squeezenet: then class 389 (WinMLRunner 0.255859)" eval \
        'printf "%s\n" "$OUT" | sed -n 3p | grep -Eq "^ +389 +p=0\.25[5-6]"'
    # the same from winml_fish.png, which fish.csv is made from
    expect_exit 0 "squeezenet fp16 on winml_fish.png (--bgr --pixel-range 255)" "$LRP" predict "$SQ" \
        "$SHARED/refdata/images/winml_fish.png" --bgr --pixel-range 255 --mean 0 --std 1 --resize none --top 1
    check "squeezenet on the PNG: class 0 at p=0.737/0.738" eval \
        'printf "%s\n" "$OUT" | sed -n 2p | grep -Eq "^ +0 +p=0\.73[78]"'

    # the BatchNorm MLP: output_0.txt within 1e-5, class 7
    BN=$RD/onnx2c-mnist-pytorch-bn
    write_npy "$W/bn.npy" "(1, 784)" < "$BN/input_0.txt"
    expect_exit 0 "BN MLP on input_0.txt" "$LRP" predict "$BN/model.onnx" "$W/bn.npy" --top 1
    check "BN MLP: class 7" eval 'printf "%s\n" "$OUT" | grep -Eq "^ +7 "'
    if [ -n "$have_jq" ]; then
        tr -s ' \n' '\n\n' < "$BN/output_0.txt" | sed '/^$/d' | as_json_array > "$W/bnwant.json"
        "$LRP" predict "$BN/model.onnx" "$W/bn.npy" --json > "$W/bngot.json"
        check "BN MLP: logits within 1e-5 of output_0.txt" jq_ok --slurpfile g "$W/bnwant.json" \
            '[.logits, $g[0]] | transpose | length == 10 and all((.[0] - .[1]) | fabs <= 1e-5)' "$W/bngot.json"
    fi

    # CIFAR-10 models on horse5.png, each with its documented normalization
    VNN=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2471,0.2435,0.2616)
    for m in resnet_2b resnet_4b; do
        expect_exit 0 "$m on horse5.png" "$LRP" predict "$RD/vnncomp2021-cifar10-resnet/$m.onnx" "$HORSE" "${VNN[@]}" \
            --labels "$W/cifar.txt" --top 1
        check "$m: horse" eval 'printf "%s\n" "$OUT" | grep -Eq "^ +7 .* horse\$"'
    done
    expect_exit 0 "ImageClassifier on horse5.png" "$LRP" predict \
        "$RD/winml-pytorch-cifar10-imageclassifier/ImageClassifier.onnx" "$HORSE" --resize none --mean 0.5 --std 0.5 \
        --labels "$W/cifar.txt" --top 1
    check "ImageClassifier: horse" eval 'printf "%s\n" "$OUT" | grep -Eq "^ +7 .* horse\$"'
    expect_exit 0 "cifar10_small (NHWC) on horse5.png" "$LRP" predict \
        "$RD/vnncomp2021-marabou-cifar10/cifar10_small.onnx" "$HORSE" --resize none --mean 0 --std 1 \
        --labels "$W/cifar.txt" --top 1
    check "cifar10_small: horse" eval 'printf "%s\n" "$OUT" | grep -Eq "^ +7 .* horse\$"'

    # the verivital MNIST nets (inputs in [0, 1]) on mnist-8's digits
    for k in 0 1 2; do
        [ -f "$W/m$k.txt" ] || continue
        awk '{ printf "%.9g\n", $1 / 255 }' "$W/m$k.txt" | write_npy "$W/v$k.npy" "(1, 1, 28, 28)"
        for m in Convnet_avgpool Convnet_maxpool; do
            expect_exit 0 "$m on mnist-8 digit ${digits[$k]}" "$LRP" predict \
                "$RD/vnncomp2021-verivital-mnist/$m.onnx" "$W/v$k.npy" --top 1
            check "$m: class ${digits[$k]}" eval 'printf "%s\n" "$OUT" | grep -Eq "^ +${digits[$k]} "'
        done
    done
else
    echo "SKIP: no ../shared/refdata: SqueezeNet, the BN MLP and the vnncomp/WinML models are skipped"
fi

finish
