#!/usr/bin/env bash
# lrp eval --sensitivity: Quantus' MaxSensitivity of a method (the largest
# ||A(x') - A(x)|| / ||A(x)|| over noisy copies x' = x + U[-R, R]), beside the
# plain gradient's and the gradient's norm.
#  - on a linear model y = x W (written by mkonnx.pl; W's class-0 column all
#    ones, x all ones, 48 values) the gradient is constant: its sensitivity is
#    exactly 0 and its norm sqrt(48); input-x-gradient gives A = x, so its
#    sensitivity is max ||d|| / ||x|| over the copies: at most R, and above
#    0.8 R / sqrt(3) (the root mean square of ||d|| / ||x|| is R / sqrt(3));
#  - radius 0 gives 0; the gradient composite's value is the gradient column;
#    the gradient norm is that of explain's gradient relevance;
#  - the same bytes twice and at -j1 and -j3; bad values are usage errors.
. "$(dirname "$0")/lib.sh"

W=$WORK/s
mkdir -p "$W"
MK="perl $(dirname "$0")/mkonnx.pl"
# mknpy SHAPE VALUES...: a float32 .npy on stdout
mknpy() {
    perl -e 'my ($shape, @v) = @ARGV;
        my $d = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: ($shape), }";
        $d .= " " x ((64 - (10 + length($d) + 1) % 64) % 64) . "\n";
        binmode STDOUT; print "\x93NUMPY\x01\x00", pack("v", length $d), $d, pack("f<*", @v);' "$@"
}
# field NAME: the number NAME in the first line of $OUT (JSON)
field() { printf '%s\n' "$OUT" | head -1 | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
between() { awk -v lo="$1" -v x="$2" -v hi="$3" 'BEGIN { exit !(lo < x && x <= hi) }'; }

# W (48, 2): column 0 all ones, column 1 0.5
wv=$(perl -e 'print join(",", map { ($_ % 2) ? 0.5 : 1 } 0 .. 95)')
$MK "$W/lin.onnx" in=x:1,3,4,4 init=w:48,2:"$wv" node=Flatten:x:f node=MatMul:f,w:y out=y:1,2
mknpy "1, 3, 4, 4" $(perl -e 'print join(" ", (1) x 48)') > "$W/ones.npy"
check "made the linear model and input" test -s "$W/lin.onnx" -a -s "$W/ones.npy"

R=0.2
expect_exit 0 "linear: input-x-gradient --sensitivity" "$LRP" eval "$W/lin.onnx" "$W/ones.npy" -t 0 \
    -a input-x-gradient --sensitivity --json
s=$(field max_sensitivity) gs=$(field gradient_max_sensitivity) gn=$(field gradient_norm)
check "linear: the constant gradient does not move (sensitivity $gs)" test "$gs" = 0
near "$gn" 6.92820323 1e-6 && ok "linear: gradient norm sqrt(48) ($gn)" || not_ok "linear: gradient norm $gn"
between "$(awk -v r=$R 'BEGIN { print 0.8 * r / sqrt(3) }')" "$s" "$R" &&
    ok "linear: input-x-gradient sensitivity $s in (0.8 R/sqrt(3), R]" || not_ok "linear: sensitivity $s"
printf '%s\n' "$OUT" | tail -1 | grep -q '"summary":"input-x-gradient","images":1,' &&
    ok "linear: a summary line" || not_ok "linear: no summary: $OUT"

expect_exit 0 "radius 0" "$LRP" eval "$W/lin.onnx" "$W/ones.npy" -t 0 -a input-x-gradient --sensitivity \
    --radius 0 --perturbations 3 --json
check "radius 0: sensitivity 0" test "$(field max_sensitivity)" = 0

# ResNet-20: LRP, the gradient, determinism
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
PRE=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
expect_exit 0 "resnet-20: gradient --sensitivity" "$LRP" eval "$R20" "$HORSE" "${PRE[@]}" -c gradient \
    --sensitivity --perturbations 8 --json
check "resnet-20: the gradient composite's value is the gradient column" \
    test "$(field max_sensitivity)" = "$(field gradient_max_sensitivity)"
gn=$(field gradient_norm)
expect_exit 0 "resnet-20: the gradient" "$LRP" explain "$R20" "$HORSE" "${PRE[@]}" -c gradient -t 7 -q \
    -r "$W/g.npy"
n=$(npy_values "$W/g.npy" | awk '{ s += $1 * $1 } END { printf "%.9g", sqrt(s) }')
near "$gn" "$n" "$(awk -v n="$n" 'BEGIN { print 1e-6 * n }')" && ok "resnet-20: gradient norm as explain's ($gn)" ||
    not_ok "resnet-20: gradient norm $gn, explain's $n"

expect_exit 0 "resnet-20: epsilon-plus-flat -j1" "$LRP" eval "$R20" "$HORSE" "${PRE[@]}" --sensitivity \
    --perturbations 6 -j1
a=$OUT
expect_exit 0 "resnet-20: epsilon-plus-flat -j3" "$LRP" eval "$R20" "$HORSE" "${PRE[@]}" --sensitivity \
    --perturbations 6 -j3
check "resnet-20: the same text at -j1 and -j3" test "$a" = "$OUT"
printf '%s\n' "$OUT" | grep -q '^input,method,target,max_sensitivity,gradient_max_sensitivity,gradient_norm$' &&
    ok "resnet-20: a CSV header" || not_ok "resnet-20: no CSV header: $OUT"
row=$(printf '%s\n' "$OUT" | grep "^$HORSE,epsilon-plus-flat,7,")
lrp_s=$(printf '%s' "$row" | cut -d, -f4) grad_s=$(printf '%s' "$row" | cut -d, -f5)
awk -v a="$lrp_s" -v b="$grad_s" 'BEGIN { exit !(a > 0 && a < b) }' &&
    ok "resnet-20: epsilon-plus-flat moves less than the gradient ($lrp_s < $grad_s)" ||
    not_ok "resnet-20: epsilon-plus-flat $lrp_s, gradient $grad_s"

expect_exit 0 "resnet-20: another seed" "$LRP" eval "$R20" "$HORSE" "${PRE[@]}" --sensitivity --perturbations 6 \
    --seed 7
check "resnet-20: another seed, other noise" test "$a" != "$OUT"

# bad values
expect_exit 2 "--radius -1" "$LRP" eval "$R20" "$HORSE" --sensitivity --radius -1
one_line_error "--radius -1" "radius"
expect_exit 2 "--perturbations 0" "$LRP" eval "$R20" "$HORSE" --sensitivity --perturbations 0
one_line_error "--perturbations 0" "perturbations"
expect_exit 4 "a missing input" "$LRP" eval "$R20" "$W/none.png" --sensitivity --perturbations 2
one_line_error "a missing input" "none.png"

finish
