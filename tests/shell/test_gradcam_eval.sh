#!/usr/bin/env bash
# The command line of grad-cam (explain --attributor grad-cam, --layer,
# --cam-convention, --overlay) and of eval --mask (metrics in text and JSON,
# --attribution, --no-model, --fail-below as a CI gate), and their errors.
. "$(dirname "$0")/lib.sh"

R="$TESTDATA/refset-layers"
M="$R/models/tiny-cnn.onnx"
X="$R/inputs/chelsea-32.npy"
Z="$TESTDATA/models/cifar10-resnet20"

# grad-cam: the default layer is the last Conv followed through its ReLU (/6/Relu)
expect_exit 0 "grad-cam, default layer" "$LRP" explain "$M" "$X" -a grad-cam -q -r "$WORK/def.npy"
expect_exit 0 "grad-cam --layer /6/Relu" "$LRP" explain "$M" "$X" -a grad-cam --layer /6/Relu -q -r "$WORK/relu.npy"
check "default layer is /6/Relu" cmp -s "$WORK/def.npy" "$WORK/relu.npy"
expect_exit 0 "grad-cam++ captum" "$LRP" explain "$M" "$X" -a grad-cam++ --layer /4/Conv --cam-convention captum -q \
    -r "$WORK/cap.npy"
check "captum map at the layer's resolution (1, 1, 16, 16)" \
    grep -qa "'shape': (1, 1, 16, 16)" "$WORK/cap.npy"
check "pytorch-grad-cam map at the input's size (1, 32, 32)" grep -qa "'shape': (1, 32, 32)" "$WORK/def.npy"
# values in [0, 1)
in_unit() { npy_values "$1" | awk '$1 < 0 || $1 >= 1 { bad = 1 } END { exit bad }'; }
check "pytorch-grad-cam map in [0, 1)" in_unit "$WORK/def.npy"

# an image: heatmap and overlay at the input's size
expect_exit 0 "grad-cam --overlay on an image" "$LRP" explain "$Z/cifar10-resnet20.onnx" "$Z/horse5.png" -a grad-cam \
    --overlay -o "$WORK/ov.png" -q
check "overlay written" test -s "$WORK/ov.png"

# region perturbation of a grad-cam map (the map in every channel)
expect_exit 0 "eval -a grad-cam (region perturbation)" "$LRP" eval "$M" "$X" -a grad-cam --steps 4 --json
check "eval -a grad-cam: an AOPC" bash -c "printf '%s\n' \"\$1\" | head -1 | grep -q '\"aopc_morf\":[-0-9]'" _ "$OUT"

# errors: one line, exit 2, before any input
expect_exit 2 "unknown --layer" "$LRP" explain "$M" "$X" -a grad-cam --layer /nope -r "$WORK/x.npy"
one_line_error "unknown --layer" "/nope"
expect_exit 2 "folded BatchNorm as --layer" "$LRP" explain "$M" "$X" -a grad-cam --layer /5/BatchNormalization \
    -r "$WORK/x.npy"
one_line_error "folded BatchNorm as --layer" "canonizers removed"
expect_exit 2 "2-D --layer" "$LRP" explain "$M" "$X" -a grad-cam --layer /8/Flatten -r "$WORK/x.npy"
one_line_error "2-D --layer" "4-D"
expect_exit 2 "bad --cam-convention" "$LRP" explain "$M" "$X" -a grad-cam --cam-convention zennit -r "$WORK/x.npy"
one_line_error "bad --cam-convention" "cam-convention"

# eval --mask: text (CSV with a mean row) and JSON
L="$R/inputs/logo-32.npy"
MASK="$R/metrics/mask-blob2-32.png"
expect_exit 0 "eval --mask text" "$LRP" eval "$M" "$L" --mask "$MASK"
check "eval --mask: header and mean row" bash -c "printf '%s\n' \"\$1\" | grep -q '^input,method,target,pointing_game,' \
    && printf '%s\n' \"\$1\" | grep -q '^mean,'" _ "$OUT"
expect_exit 0 "eval --mask --json" "$LRP" eval "$M" "$L" --mask "$MASK" --json
check "eval --mask --json: metrics and summary" bash -c "printf '%s\n' \"\$1\" | grep -q '\"rrr_penalty\":' && \
    printf '%s\n' \"\$1\" | grep -q '\"summary\":'" _ "$OUT"
# a stored map gives the same metrics through --attribution and --no-model
A="$R/metrics/tiny-cnn--logo--7--epsilon_alpha2_beta1_flat--channel-sum.npy"
expect_exit 0 "eval --attribution" "$LRP" eval "$M" "$L" --mask "$MASK" --attribution "$A" --json
with_model=$(printf '%s\n' "$OUT" | head -1 | sed 's/.*"pointing_game"/"pointing_game"/; s/,"rrr_penalty".*//')
expect_exit 0 "eval --no-model" "$LRP" eval --no-model "$A" --mask "$MASK" --json
no_model=$(printf '%s\n' "$OUT" | head -1 | sed 's/.*"pointing_game"/"pointing_game"/; s/,"rrr_penalty".*//')
check "--attribution and --no-model agree" test "$with_model" = "$no_model"
check "--no-model: the penalty is null" bash -c "printf '%s\n' \"\$1\" | head -1 | grep -q '\"rrr_penalty\":null'" _ "$OUT"
# the mask template
mkdir -p "$WORK/masks" && cp "$MASK" "$WORK/masks/logo-32.png"
expect_exit 0 "--mask template {stem}" "$LRP" eval "$M" "$L" --mask "$WORK/masks/{stem}.png" -q

# --fail-below: the CI gate
expect_exit 0 "--fail-below passed" "$LRP" eval --no-model "$A" --mask "$MASK" -q --fail-below pointing_game=1 \
    --fail-below relevance_mass_accuracy=0.5
expect_exit 1 "--fail-below failed" "$LRP" eval --no-model "$A" --mask "$MASK" -q --fail-below auc=0.9
one_line_error "--fail-below failed" "logo--7--epsilon_alpha2_beta1_flat--channel-sum.npy (auc"
expect_exit 2 "--fail-below unknown metric" "$LRP" eval --no-model "$A" --mask "$MASK" --fail-below iou=0.5
one_line_error "--fail-below unknown metric" "iou"
expect_exit 2 "--fail-below without a value" "$LRP" eval --no-model "$A" --mask "$MASK" --fail-below auc
one_line_error "--fail-below without a value" "METRIC=VALUE"
expect_exit 2 "--fail-below without --mask" "$LRP" eval "$M" "$L" --fail-below auc=0.5
one_line_error "--fail-below without --mask" "--mask"

# a mask of the wrong size: that input fails (exit 4), named with the sizes
expect_exit 4 "mask of the wrong size" "$LRP" eval --no-model "$A" --mask "$R/metrics/mask-rect-64.png"
one_line_error "mask of the wrong size" "64x64"
expect_exit 4 "missing mask" "$LRP" eval --no-model "$A" --mask "$WORK/none.png"
one_line_error "missing mask" "none.png"

finish
