#!/usr/bin/env bash
# --rule and `lrp inspect --composite` on a residual network (the CIFAR-10
# ResNet-20: residual Adds, a Gemm head), and --check's conservation figures.
. "$(dirname "$0")/lib.sh"
M=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
IMG=$TESTDATA/models/cifar10-resnet20/horse5.png
PRE=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
rule_of() { printf '%s\n' "$1" | awk -v n="$2" '$1 == n { $1 = $2 = $3 = ""; sub(/^ +/, ""); print; exit }'; }

expect_exit 0 "inspect --composite epsilon-plus-flat" "$LRP" inspect "$M" --composite epsilon-plus-flat
base=$OUT
check "first conv gets flat" test "$(rule_of "$base" Conv_0)" = "flat(stabilizer=1e-06)"
check "other convs get zplus" test "$(rule_of "$base" Conv_3)" = "zplus(stabilizer=1e-06)"
check "residual Add gets norm" test "$(rule_of "$base" Add_8)" = "norm(stabilizer=1e-06)"
check "Relu passes" test "$(rule_of "$base" Relu_2)" = "pass"
check "global average pooling gets norm" test "$(rule_of "$base" GlobalAveragePool_70)" = "norm(stabilizer=1e-06)"
check "the dense head gets epsilon" test "$(rule_of "$base" Gemm_81)" = "epsilon(epsilon=1e-06)"
check "Reshape is the plain gradient" test "$(rule_of "$base" Reshape_80)" = "gradient"
n_rules=$(printf '%s\n' "$base" | grep -cE '^  [A-Za-z_0-9]+ +[A-Za-z]+ ')
check "every node is listed ($n_rules)" test "$n_rules" -eq 52

expect_exit 0 "an op-type rule" "$LRP" inspect "$M" --composite epsilon-plus-flat --rule Conv=gamma:gamma=0.5
check "op-type rule applies to convs" test "$(rule_of "$OUT" Conv_3)" = "gamma(gamma=0.5, stabilizer=1e-06)"
check "the first-layer rule wins over an op-type rule (as zennit's first_map)" test "$(rule_of "$OUT" Conv_0)" = "flat(stabilizer=1e-06)"
expect_exit 0 "a node-name rule" "$LRP" inspect "$M" --composite epsilon-plus-flat --rule Conv_0=zbox:low=-2,high=2 --rule Add_8=gradient
check "a node name wins over the first layer" test "$(rule_of "$OUT" Conv_0)" = "zbox(low=-2, high=2, stabilizer=1e-06)"
check "a node name for one residual Add" test "$(rule_of "$OUT" Add_8)" = "gradient"
check "other Adds keep norm" test "$(rule_of "$OUT" Add_68)" = "norm(stabilizer=1e-06)"
expect_exit 2 "pass on a two-input Add is refused" "$LRP" inspect "$M" --composite epsilon-plus --rule Add_8=pass
expect_exit 0 "gradient composite: no rules" "$LRP" inspect "$M" --composite gradient
check "gradient composite gives gradient everywhere" bash -c '! printf "%s\n" "$0" | sed -n "/^composite/,\$p" | grep -E "^  " | grep -vqE " gradient$"' "$OUT"
expect_exit 0 "guided-backprop" "$LRP" inspect "$M" --composite guided-backprop
check "guided backprop on Relu only" test "$(rule_of "$OUT" Relu_2)" = "guided-backprop"
check "Add gets the gradient in guided backprop" test "$(rule_of "$OUT" Add_8)" = "gradient"
expect_exit 0 "--no-canonize: Adds are not Sums" "$LRP" inspect "$M" --composite epsilon-plus --no-canonize
check "without canonizers the residual Add gets the gradient" test "$(rule_of "$OUT" Add_8)" = "gradient"

expect_exit 2 "unknown node or op type" "$LRP" inspect "$M" --composite epsilon-plus --rule NoSuchNode=epsilon
one_line_error "unknown key" "NoSuchNode"
expect_exit 2 "a weight rule on a Relu" "$LRP" explain "$M" "$IMG" --rule Relu=zplus -q
one_line_error "zplus needs weights" "zplus"
expect_exit 2 "alpha - beta must be 1" "$LRP" explain "$M" "$IMG" --rule Conv=alpha-beta:alpha=2,beta=2 -q
expect_exit 2 "unknown rule parameter" "$LRP" explain "$M" "$IMG" --rule Conv=gamma:delta=1 -q
expect_exit 2 "unknown composite" "$LRP" explain "$M" "$IMG" --composite epsilon-minus -q
one_line_error "unknown composite" "epsilon-minus"

# rules change the numbers as they should
r() { "$LRP" explain "$M" "$IMG" "${PRE[@]}" -q --relevance-out "$WORK/$1.npy" "${@:2}"; }
r default
r conv-zplus --rule Conv=zplus
r conv-gamma --rule Conv=gamma
r first-zplus --rule Conv_0=zplus
check "restating the composite's own rule changes nothing" "$LRP" compare "$WORK/conv-zplus.npy" "$WORK/default.npy" --tolerance 0 -q
check "gamma on convs changes the relevance" bash -c '! "$0" compare "$1" "$2" -q' "$LRP" "$WORK/conv-gamma.npy" "$WORK/default.npy"
check "a node-name rule on the first conv changes it" bash -c '! "$0" compare "$1" "$2" -q' "$LRP" "$WORK/first-zplus.npy" "$WORK/default.npy"
r eps-plus --composite epsilon-plus
check "zplus on the first conv by name = epsilon-plus" "$LRP" compare "$WORK/first-zplus.npy" "$WORK/eps-plus.npy" --tolerance 0 -q

# conservation through the residual network without biases
expect_exit 0 "--check with --no-bias" "$LRP" explain "$M" "$IMG" "${PRE[@]}" --composite epsilon-plus --no-bias --check
last=$(printf '%s\n' "$OUT" | grep -E '^  Conv_0 ' | awk '{ print $NF }')
check "cut/seed at the input is 1 within 1e-4 ($last)" awk -v v="$last" 'BEGIN { exit !(v > 0.9999 && v < 1.0001) }'
worst=$(printf '%s\n' "$OUT" | awk '$1 ~ /^[A-Z]/ && NF >= 7 { v = $NF; d = v - 1; if (d < 0) d = -d; if (d > m) m = d } END { print m + 0 }')
check "the cut stays within 1e-4 of the seed after every node (worst $worst)" awk -v w="$worst" 'BEGIN { exit !(w < 1e-4) }'
expect_exit 0 "--check with biases" "$LRP" explain "$M" "$IMG" "${PRE[@]}" --composite epsilon-plus --check
last=$(printf '%s\n' "$OUT" | grep -E '^  Conv_0 ' | awk '{ print $NF }')
check "with biases relevance leaks ($last of the seed reaches the input)" awk -v v="$last" 'BEGIN { exit !(v < 0.99 || v > 1.01) }'
finish
