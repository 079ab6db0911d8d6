#!/usr/bin/env bash
# `lrp inspect`: input and output shapes, opset, IR version, producer, node
# counts, parameters and canonizer notes of the trained models, against
# ../shared/refdata/SOURCES.md (ResNet-20 and mnist-8 from testdata always);
# an unsupported operator is listed (exit 0); --composite NAME prints a rule
# for every node, the rule zennit's composite gives that kind of layer
# (../shared/zennit-reference.md, section 2).
#
# Parameters: SOURCES.md counts every initializer element, lrp counts float
# weights. ResNet-20's 271,692 include the 2 int64 values of its Reshape
# target shape (271,690 floats), mnist-8's 5,998 the 4 of its two Reshapes
# (5,994), cifar10_small's 85,220 the 2 of its Reshape (85,218); the BN
# MLP's 55,168 leave out its four 64-value Constant nodes (BN scale and
# bias), which lrp counts (55,424).
. "$(dirname "$0")/lib.sh"

W=$WORK
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
MNIST=$TESTDATA/models/mnist-8/model.onnx
SHARED=$(shared_dir)

# field KEY: the value of the report line starting with KEY (first line only)
field() { printf '%s\n' "$OUT" | sed -n "s/^$1  *//p" | head -1; }

# has_line NAME REGEX: the last output has a line matching REGEX
has_line() {
    if printf '%s\n' "$OUT" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1: no line matching /$2/ in:"$'\n'"$OUT"; fi
}

# op_counts NAME "Op n, Op n, ...": the nodes line lists exactly these counts
op_counts() {
    local n=$1 want got
    want=$(printf '%s\n' "$2" | tr ',' '\n' | sed 's/^ *//' | sort | paste -sd,)
    got=$(field nodes | sed 's/^[0-9]*: //' | tr ',' '\n' | sed 's/^ *//' | sort | paste -sd,)
    if [ "$got" = "$want" ]; then ok "$n: op counts $2"; else not_ok "$n: op counts '$got', wanted '$want'"; fi
}

# inspect_model NAME MODEL PRODUCER INPUT OUTPUT NODES "OPS" PARAMS
inspect_model() {
    local n=$1 m=$2 producer=$3 input=$4 output=$5 nodes=$6 ops=$7 params=$8
    expect_exit 0 "$n: inspect" "$LRP" inspect "$m"
    check "$n: model line" test "$(field model)" = "$m"
    check "$n: producer, IR version, opset: $(field producer)" test "$(field producer)" = "$producer"
    check "$n: input: $(field input)" test "$(field input)" = "$input"
    check "$n: output: $(field output)" test "$(field output)" = "$output"
    check "$n: $nodes nodes" eval 'field nodes | grep -q "^$nodes: "'
    op_counts "$n" "$ops"
    check "$n: parameters $params ($(field parameters))" test "$(field parameters)" = "$params"
    check "$n: unsupported none" test "$(field unsupported)" = "none"
    check "$n: nothing on stderr" test -z "$ERR"
}

# ------------------------------------------------------------------------
# ResNet-20 (M4) and mnist-8 (M1), from testdata
inspect_model "resnet-20" "$R20" "pytorch 1.5, IR version 3, opset 7" \
    "input float32 (1, 3, 32, 32)  NCHW, 3 channels, 32x32" "output (1, 10)  (explained)" 52 \
    "Conv 21, Relu 19, Add 9, GlobalAveragePool 1, Reshape 1, Gemm 1" 271690
has_line "resnet-20: BN already folded: the canonizers have nothing to fold" '^canonizers  nothing to do$'
has_line "resnet-20: the 9 residual Adds become zennit Sums" '^ +9 residual Add/Sum nodes treated as zennit Sum$'

inspect_model "mnist-8" "$MNIST" "CNTK 2.5.1, IR version 3, opset 8" \
    "Input3 float32 (1, 1, 28, 28)  NCHW, 1 channel, 28x28" "Times212_Output_0 (1, 10)  (explained)" 12 \
    "Conv 2, Add 3, Relu 2, MaxPool 2, Reshape 2, MatMul 1" 5994
# its three Adds are biases (SOURCES.md): fused into the two Convs and the MatMul
check "mnist-8: three bias Adds fused" test "$(printf '%s\n' "$OUT" | grep -c 'fused the bias Add')" -eq 3
has_line "mnist-8: Plus30 into Convolution28" 'fused the bias Add Plus30 into Conv Convolution28$'
has_line "mnist-8: Plus112 into Convolution110" 'fused the bias Add Plus112 into Conv Convolution110$'
has_line "mnist-8: Plus214 into the MatMul" 'fused the bias Add Plus214 into MatMul .*Times212$'
check "mnist-8: no residual Sums" eval '! printf "%s\n" "$OUT" | grep -q residual'
# without canonizers the declared output (SOURCES.md: Plus214_Output_0) is the one explained
expect_exit 0 "mnist-8: inspect --no-canonize" "$LRP" inspect "$MNIST" --no-canonize
check "mnist-8 --no-canonize: output Plus214_Output_0" eval 'field output | grep -q "^Plus214_Output_0 (1, 10)"'
check "mnist-8 --no-canonize: no bias fused" eval '! printf "%s\n" "$OUT" | grep -q "fused"'

# ------------------------------------------------------------------------
# an unsupported operator: the first Relu of ResNet-20 renamed Zorp
perl -0777 -pe 's/\x22\x04Relu/\x22\x04Zorp/' < "$R20" > "$W/zorp.onnx"
expect_exit 0 "unsupported op: inspect exits 0" "$LRP" inspect "$W/zorp.onnx"
check "unsupported op: listed under unsupported" test "$(field unsupported)" = "Zorp"
op_counts "unsupported op" "Conv 21, Relu 18, Zorp 1, Add 9, GlobalAveragePool 1, Reshape 1, Gemm 1"
check "unsupported op: still reports the input" test "$(field input)" = \
    "input float32 (1, 3, 32, 32)  NCHW, 3 channels, 32x32"
check "unsupported op: nothing on stderr" test -z "$ERR"
check "unsupported op: the canonizers did not run, for that reason" \
    test "$(field canonizers)" = "not run (the model has unsupported operators)"
# rules cannot be shown for it: a model error naming the op, not a usage error
expect_exit 3 "unsupported op: inspect --composite" "$LRP" inspect "$W/zorp.onnx" --composite epsilon-plus
one_line_error "unsupported op: inspect --composite" "Zorp"
# two unsupported types: rename a second op type (the Gemm) too
perl -0777 -pe 's/\x22\x04Relu/\x22\x04Zorp/; s/\x22\x04Gemm/\x22\x04Blip/' < "$R20" > "$W/two.onnx"
expect_exit 0 "two unsupported ops: inspect exits 0" "$LRP" inspect "$W/two.onnx"
check "two unsupported ops: both listed ($(field unsupported))" eval \
    'field unsupported | tr "," "\n" | sed "s/^ *//" | sort | paste -sd" " | grep -qx "Blip Zorp"'
expect_exit 3 "predict on it: exit 3" "$LRP" predict "$W/two.onnx" "$TESTDATA/models/cifar10-resnet20/horse5.png"
one_line_error "predict on it" "two.onnx"

# ------------------------------------------------------------------------
# --composite NAME: one rule line per node, the rule zennit gives its kind
# rules_by_op: "Op rule count" lines (rule name without its parameters)
rules_by_op() {
    printf '%s\n' "$OUT" | awk '
        /^composite / { on = 1; next }
        on && /^  [^ ]/ {
            if (!match($0, /[a-z][a-z0-9-]*(\([^)]*\))?$/)) { print "UNPARSED " $0; next }
            r = substr($0, RSTART, RLENGTH); sub(/\(.*/, "", r); print $2, r
        }' | sort | uniq -c | awk '{ print $2, $3, $1 }' | sort
}
# expect_rules COMPOSITE "Op rule n; Op rule n; ..."
expect_rules() {
    local c=$1 want got nodes
    want=$(printf '%s\n' "$2" | tr ';' '\n' | sed 's/^ *//; /^$/d' | sort)
    expect_exit 0 "resnet-20 --composite $c" "$LRP" inspect "$R20" --composite "$c"
    has_line "$c: header" "^composite $c: "
    got=$(rules_by_op)
    nodes=$(printf '%s\n' "$got" | awk '{ s += $3 } END { print s }')
    check "$c: 52 node lines ($nodes)" test "$nodes" = 52
    if [ "$got" = "$want" ]; then ok "$c: the rules zennit's composite assigns"
    else not_ok "$c: rules by op:"$'\n'"$got"$'\n'"wanted:"$'\n'"$want"; fi
}
common="Relu pass 19; Add norm 9; GlobalAveragePool norm 1; Reshape gradient 1; Gemm epsilon 1"
expect_rules epsilon-plus-flat "Conv flat 1; Conv zplus 20; $common"
expect_rules epsilon-plus "Conv zplus 21; $common"
expect_rules epsilon-alpha2-beta1 "Conv alpha-beta 21; $common"
expect_rules epsilon-alpha2-beta1-flat "Conv flat 1; Conv alpha-beta 20; $common"
expect_rules epsilon-gamma-box "Conv zbox 1; Conv gamma 20; $common"
plain="Conv gradient 21; Add gradient 9; GlobalAveragePool gradient 1; Reshape gradient 1; Gemm gradient 1"
expect_rules guided-backprop "Relu guided-backprop 19; $plain"
expect_rules deconvnet "Relu deconvnet 19; $plain"
expect_rules beta-smooth "Relu beta-smooth 19; $plain"
expect_rules gradient "Relu gradient 19; $plain"
expect_rules excitation-backprop \
    "Conv zplus 21; Gemm zplus 1; Relu gradient 19; Add norm 9; GlobalAveragePool norm 1; Reshape gradient 1"
# the first layer is the first in topological order: Conv_0 gets Flat / ZBox
expect_exit 0 "resnet-20 --composite epsilon-gamma-box" "$LRP" inspect "$R20" --composite epsilon-gamma-box
has_line "epsilon-gamma-box: ZBox on Conv_0" '^  Conv_0 +Conv .* zbox\('
has_line "epsilon-gamma-box: gamma 0.25 elsewhere" '^  Conv_3 +Conv .* gamma\(gamma=0\.25'
# mnist-8: the fused bias Adds are gone, MaxPool gets the gradient
expect_exit 0 "mnist-8 --composite epsilon-plus" "$LRP" inspect "$MNIST" --composite epsilon-plus
OUT_M=$OUT
got=$(rules_by_op)
want=$(printf '%s\n' "Conv zplus 2" "Relu pass 2" "MaxPool gradient 2" "Reshape gradient 1" "Gemm epsilon 1" | sort)
if [ "$got" = "$want" ]; then ok "mnist-8 epsilon-plus: rules by op"; else not_ok "mnist-8 epsilon-plus:"$'\n'"$got"; fi
check "mnist-8: the bias Adds have no rule line" eval '! printf "%s\n" "$OUT_M" | grep -Eq "^  Plus(30|112|214) "'
# a --rule override shows up
expect_exit 0 "--rule Conv=epsilon" "$LRP" inspect "$MNIST" --composite epsilon-plus --rule Conv=epsilon
check "--rule Conv=epsilon: both Convs epsilon" \
    test "$(printf '%s\n' "$OUT" | grep -Ec '^  Convolution(28|110) +Conv .* epsilon\(')" -eq 2
expect_exit 2 "--composite nonsense" "$LRP" inspect "$MNIST" --composite nonsense
one_line_error "--composite nonsense" "nonsense"
expect_exit 3 "inspect: missing model" "$LRP" inspect "$W/absent.onnx"
one_line_error "inspect: missing model" "absent.onnx"
expect_exit 2 "inspect: two models" "$LRP" inspect "$MNIST" "$R20"
one_line_error "inspect: two models" "inspect"

# ------------------------------------------------------------------------
# the other trained models (../shared/refdata)
if [ -n "$SHARED" ] && [ -d "$SHARED/refdata/models" ]; then
    RD=$SHARED/refdata/models
    inspect_model "squeezenet fp16" "$RD/winml-squeezenet1.0-fp16/SqueezeNet_fp16.onnx" \
        "onnx-caffe2, IR version 3, opset 7" "data_0 float16 (1, 3, 224, 224)  NCHW, 3 channels, 224x224" \
        "pool10_1 (1, 1000, 1, 1)  (explained)" 66 \
        "Conv 26, Relu 26, MaxPool 3, Concat 8, Dropout 1, GlobalAveragePool 1, Softmax 1" 1235496
    has_line "squeezenet: Dropout dropped" 'dropped 1 Identity/Dropout node'
    has_line "squeezenet: the final Softmax stripped" 'stripped the final Softmax'
    inspect_model "BN MLP" "$RD/onnx2c-mnist-pytorch-bn/model.onnx" "pytorch 1.7, IR version 6, opset 9" \
        "network_input float32 (1, 784)  flat" "network_output (1, 10)  (explained)" 5 \
        "MatMul 3, BatchNormalization 2" 55424
    check "BN MLP: both BatchNormalizations folded" \
        test "$(printf '%s\n' "$OUT" | grep -c 'folded BatchNormalization')" -eq 2
    inspect_model "resnet_2b" "$RD/vnncomp2021-cifar10-resnet/resnet_2b.onnx" "pytorch 1.8, IR version 6, opset 9" \
        "input.1 float32 (1, 3, 32, 32)  NCHW, 3 channels, 32x32" "33 (1, 10)  (explained)" 17 \
        "Conv 6, Relu 6, Add 2, Flatten 1, Gemm 2" 112006
    has_line "resnet_2b: 2 residual Sums" '^ +2 residual Add/Sum nodes'
    inspect_model "resnet_4b" "$RD/vnncomp2021-cifar10-resnet/resnet_4b.onnx" "pytorch 1.8, IR version 6, opset 9" \
        "input.1 float32 (1, 3, 32, 32)  NCHW, 3 channels, 32x32" "54 (1, 10)  (explained)" 28 \
        "Conv 11, Relu 10, Add 4, Flatten 1, Gemm 2" 123734
    has_line "resnet_4b: 4 residual Sums" '^ +4 residual Add/Sum nodes'
    inspect_model "Convnet_avgpool" "$RD/vnncomp2021-verivital-mnist/Convnet_avgpool.onnx" \
        "pytorch 1.6, IR version 6, opset 9" "input float32 (1, 1, 28, 28)  NCHW, 1 channel, 28x28" \
        "output (1, 10)  (explained)" 6 "Conv 1, Relu 1, Pad 1, AveragePool 1, Flatten 1, Gemm 1" 11690
    inspect_model "Convnet_maxpool" "$RD/vnncomp2021-verivital-mnist/Convnet_maxpool.onnx" \
        "pytorch 1.6, IR version 6, opset 9" "input float32 (1, 1, 28, 28)  NCHW, 1 channel, 28x28" \
        "output (1, 10)  (explained)" 5 "Conv 1, Relu 1, MaxPool 1, Flatten 1, Gemm 1" 11690
    # NHWC with a symbolic batch (tf2onnx): the three bias Adds are fused
    inspect_model "cifar10_small" "$RD/vnncomp2021-marabou-cifar10/cifar10_small.onnx" \
        "tf2onnx 1.8.2, IR version 4, opset 9" "x:0 float32 (N, 32, 32, 3)  NHWC, 3 channels, 32x32" \
        "sequential/dense_2/MatMul:0 (1, 10)  (explained)" 15 \
        "Transpose 2, Conv 2, Relu 4, Reshape 1, MatMul 3, Add 3" 85218
    check "cifar10_small: three bias Adds fused" test "$(printf '%s\n' "$OUT" | grep -c 'fused the bias Add')" -eq 3
    # a Constant node is a constant, not a node: 11 of the 12 ONNX nodes
    inspect_model "ImageClassifier" "$RD/winml-pytorch-cifar10-imageclassifier/ImageClassifier.onnx" \
        "pytorch 1.7, IR version 6, opset 10" "modelInput float32 (N, 3, 32, 32)  NCHW, 3 channels, 32x32" \
        "modelOutput (1, 10)  (explained)" 11 "Conv 4, Relu 4, MaxPool 1, Reshape 1, Gemm 1" 50182
    # composites on a model with a Pad + AveragePool: zennit's AvgPool -> Norm
    expect_exit 0 "Convnet_avgpool --composite epsilon-plus" "$LRP" inspect \
        "$RD/vnncomp2021-verivital-mnist/Convnet_avgpool.onnx" --composite epsilon-plus
    got=$(rules_by_op)
    want=$(printf '%s\n' "Conv zplus 1" "Relu pass 1" "Pad gradient 1" "AveragePool norm 1" "Flatten gradient 1" \
        "Gemm epsilon 1" | sort)
    if [ "$got" = "$want" ]; then ok "Convnet_avgpool epsilon-plus: rules by op"
    else not_ok "Convnet_avgpool epsilon-plus:"$'\n'"$got"; fi
else
    echo "SKIP: no ../shared/refdata: only ResNet-20 and mnist-8 are inspected"
fi

# constant subgraphs (shapes, position indices; Swin's shift masks) are computed once when the shapes are known
expect_exit 0 "maxvit: inspect" "$LRP" inspect "$TESTDATA/zoo/maxvit-op17.onnx"
has_line "maxvit: its 181 shape nodes are folded into constants" \
    '^ +181 nodes folded into constants at load: Unsqueeze 80, Gather 24, Shape 22, Concat 16, Transpose 11,'
if [ -f "$SHARED/refset-modern/models/tiny-swin-op17.onnx" ]; then
    expect_exit 0 "swin: inspect" "$LRP" inspect "$SHARED/refset-modern/models/tiny-swin-op17.onnx"
    has_line "swin: the shift-mask subgraphs (Mod, ScatterND, Where, Not) are folded at load" \
        '^ +1249 nodes folded into constants at load: .* Where 40, Range 36, .* Mod 18, ScatterND 18, .* Not 2$'
    expect_exit 0 "swin: inspect --composite attnlrp" "$LRP" inspect \
        "$SHARED/refset-modern/models/tiny-swin-op17.onnx" --composite attnlrp
    check "swin: no mask-building node is left to explain" \
        eval '! printf "%s\n" "$OUT" | grep -Eq "^  [^ ].* (Mod|ScatterND|Where|Not|Range|Equal) "'
else
    echo "SKIP: no ../shared/refset-modern: Swin's shift masks not inspected"
fi

finish
