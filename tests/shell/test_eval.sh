#!/usr/bin/env bash
# lrp eval on the trained CIFAR-10 ResNet-20: the MoRF curve of
# epsilon-plus-flat falls faster than that of a random attribution, the AOPC
# printed is the one defined by Samek et al. (recomputed here from the curve),
# and the output is well-formed CSV / JSON.
. "$(dirname "$0")/lib.sh"
M=$TESTDATA/models/cifar10-resnet20
PRE=(--resize exact --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010 --patch 4 --steps 64)
imgs=("$M/horse5.png")
sh=$(shared_dir)
if [ -n "$sh" ]; then
    for f in skimage_chelsea.png skimage_coffee.png winml_fish.png winml_kitten_224_rgba.png opencv_fruits.jpg; do
        imgs+=("$sh/refdata/images/$f")
    done
else
    echo "SKIP: ../shared absent: one image only"
fi

expect_exit 0 "eval epsilon-plus-flat" "$LRP" eval "$M/cifar10-resnet20.onnx" "${imgs[@]}" "${PRE[@]}"
lrp_csv=$OUT
expect_exit 0 "eval random" "$LRP" eval "$M/cifar10-resnet20.onnx" "${imgs[@]}" "${PRE[@]}" --attributor random --seed 1
rnd_csv=$OUT

mean_col() { printf '%s\n' "$1" | awk -F, -v c="$2" '$1 == "mean" { print $c }'; }
lrp_morf=$(mean_col "$lrp_csv" 4)
rnd_morf=$(mean_col "$rnd_csv" 4)
echo "mean AOPC (MoRF): epsilon-plus-flat $lrp_morf, random $rnd_morf"
check "epsilon-plus-flat's MoRF curve falls faster than random's (AOPC $lrp_morf > $rnd_morf)" \
    awk -v a="$lrp_morf" -v b="$rnd_morf" 'BEGIN { exit !(a > b) }'
# also per image, on average over seeds of the random baseline
for s in 2 3; do
    expect_exit 0 "eval random seed $s" "$LRP" eval "$M/cifar10-resnet20.onnx" "${imgs[@]}" "${PRE[@]}" \
        --attributor random --seed $s --order morf
    r=$(mean_col "$OUT" 4)
    check "beats random with seed $s ($lrp_morf > $r)" awk -v a="$lrp_morf" -v b="$r" 'BEGIN { exit !(a > b) }'
done

# AOPC = 1/(K+1) * sum_{k=0..K} (f_0 - f_k), recomputed from the curve rows
aopc_check=$(printf '%s\n' "$lrp_csv" | awk -F, '
    /^input,method,target,order,step/ { curves = 1; next }
    /^input,method,target,aopc/ { curves = 0; summary = 1; next }
    curves && NF == 7 { key = $1 "|" $4; if ($5 == 0) f0[key] = $6; s[key] += f0[key] - $6; n[key]++ }
    summary && NF == 6 && $1 != "mean" {
        m = s[$1 "|morf"] / n[$1 "|morf"]; l = s[$1 "|lerf"] / n[$1 "|lerf"]
        if (m - $4 > 1e-4 || $4 - m > 1e-4 || l - $5 > 1e-4 || $5 - l > 1e-4 || (m - l) - $6 > 1e-4 || $6 - (m - l) > 1e-4) bad++
        good++
    }
    END { print good + 0, bad + 0 }')
set -- $aopc_check
check "AOPC and area between curves recomputed from the curves ($1 images)" test "$1" -ge 1 -a "$2" -eq 0
steps=$(printf '%s\n' "$lrp_csv" | awk -F, '$4 == "morf" && $1 ~ /horse5/ { n++ } END { print n }')
check "64 steps + the unperturbed input per curve ($steps rows)" test "$steps" -eq 65
check "the curve drop column is f_0 - f_k" bash -c "printf '%s\n' \"\$0\" | awk -F, 'NF == 7 && \$5 == 0 { f0 = \$6 } NF == 7 && \$5 > 0 { d = f0 - \$6 - \$7; if (d > 1e-4 || d < -1e-4) exit 1 }'" "$lrp_csv"

if command -v jq >/dev/null; then
    expect_exit 0 "eval --json" "$LRP" eval "$M/cifar10-resnet20.onnx" "$M/horse5.png" "${PRE[@]}" --json
    check "json lines parse, with curves and AOPC" bash -c 'printf "%s\n" "$0" | jq -se "[.[] | select(.status == \"ok\")] | length == 1 and all(.[]; (.morf | length) == 65 and (.lerf | length) == 65 and (.aopc_morf | type) == \"number\")" >/dev/null' "$OUT"
    check "json summary line" bash -c 'printf "%s\n" "$0" | tail -1 | jq -e ".summary == \"epsilon-plus-flat\" and .images == 1" >/dev/null' "$OUT"
else
    echo "SKIP: jq not installed"
fi
expect_exit 0 "eval with the mean baseline and lerf only" "$LRP" eval "$M/cifar10-resnet20.onnx" "$M/horse5.png" \
    "${PRE[@]}" --baseline mean --order lerf
check "lerf only: no morf rows" bash -c '! printf "%s\n" "$0" | grep -q ",morf,"' "$OUT"
expect_exit 2 "bad --order" "$LRP" eval "$M/cifar10-resnet20.onnx" "$M/horse5.png" --order sideways
expect_exit 4 "missing input" "$LRP" eval "$M/cifar10-resnet20.onnx" "$WORK/nope.png"
finish
