#!/usr/bin/env bash
# --relevance-grad with Integrated Gradients and SmoothGrad around an LRP composite (issue 13): G = u·dA/dx
# against central finite differences of the attribution A itself (float64, --double), at a few input elements,
# for the cotangents ones (L = sum A) and self (L = |A|^2 / 2); the attribution written beside G is the one
# explain writes without --relevance-grad; SmoothGrad of the plain gradient of a ReLU network has G = 0 (its
# gradient is piecewise constant).
. "$(dirname "$0")/lib.sh"

W=$WORK
M=$TESTDATA/refset/models/tiny-cnn.onnx
X=$TESTDATA/refset/inputs/chelsea-32.npy

# f64_npy OUT IN INDEX DELTA: IN (a float32 .npy) as float64, element INDEX moved by DELTA
f64_npy() {
    perl -e '
        local $/; open my $f, "<", $ARGV[1] or die; binmode $f; my $t = <$f>;
        my $hl = unpack("v", substr($t, 8, 2)); my $h = substr($t, 10, $hl);
        my @v = unpack("f<*", substr($t, 10 + $hl)); $v[$ARGV[2]] += $ARGV[3] if $ARGV[2] >= 0;
        $h =~ s/<f4/<f8/; open my $o, ">", $ARGV[0] or die; binmode $o;
        print $o "\x93NUMPY\x01\x00", pack("v", length $h), $h, pack("d<*", @v);' "$1" "$2" "$3" "$4"
}
# f64_values FILE: the values of a float64 .npy, one per line
f64_values() {
    perl -e '
        local $/; open my $f, "<", $ARGV[0] or die; binmode $f; my $t = <$f>;
        my $hl = unpack("v", substr($t, 8, 2)); substr($t, 10, $hl) =~ /<f8/ or die "not float64";
        printf "%.17g\n", $_ for unpack("d<*", substr($t, 10 + $hl));' "$1"
}
f64_npy "$W/x.npy" "$X" -1 0
H=1e-5
# fd_check LABEL COT ARGS...: G of explain ARGS (--double, target 3) for cotangent COT against central finite
# differences of L(A) (ones: sum A; self: |A|^2 / 2) at three input elements, within 1e-5 relative
fd_check() {
    local label=$1 cot=$2 i s d fd g
    shift 2
    expect_exit 0 "$label $cot: G" "$LRP" explain "$M" "$W/x.npy" -t 3 --double -q "$@" \
        --relevance-grad $cot --relevance-grad-out "$W/g.npy" -r "$W/a.npy"
    f64_values "$W/g.npy" > "$W/g.txt"
    for i in 828 1569 2610; do
        for s in p m; do
            d=$H
            [ $s = m ] && d=-$H
            f64_npy "$W/x$s.npy" "$X" $i $d
            "$LRP" explain "$M" "$W/x$s.npy" -t 3 --double -q "$@" -r "$W/a$s.npy"
            f64_values "$W/a$s.npy" | awk -v c=$cot '{ s += c == "ones" ? $1 : $1 * $1 / 2 } END { printf "%.17g\n", s }' \
                > "$W/l$s.txt"
        done
        fd=$(awk -v h=$H 'NR == FNR { p = $1; next } { printf "%.12g\n", (p - $1) / (2 * h) }' "$W/lp.txt" "$W/lm.txt")
        g=$(sed -n "$((i + 1))p" "$W/g.txt")
        check "$label $cot: G[$i] = $g agrees with the finite difference $fd (1e-5)" \
            awk -v a="$g" -v b="$fd" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(a != "" && b != 0 && d <= 1e-5 * m) }'
    done
}
for method in "integrated-gradients --steps 4" "smoothgrad --samples 3"; do
    set -- $method
    a=$1
    shift
    for cot in ones self; do
        fd_check "$a" $cot -a "$a" "$@" -c epsilon-plus-flat
    done
    "$LRP" explain "$M" "$W/x.npy" -t 3 --double -q -a "$a" "$@" -c epsilon-plus-flat -r "$W/a-plain.npy"
    check "$a: the attribution beside G is explain's own" cmp -s "$W/a.npy" "$W/a-plain.npy"
done

# guided backpropagation and DeconvNet (their ReLU rules' adjoints): with the logit as the seed, R(x) is the
# logit times a piecewise-constant map, so G is that map's product with the logit's gradient, nonzero
for comp in guided-backprop deconvnet; do
    for cot in ones self; do
        fd_check $comp $cot --seed-logit -c $comp
    done
done

# SmoothGrad of the plain gradient of a ReLU network: piecewise constant, so G = 0
expect_exit 0 "smoothgrad of the gradient: G" "$LRP" explain "$M" "$X" -t 3 -q -a smoothgrad --samples 4 \
    --relevance-grad ones --relevance-grad-out "$W/g0.npy"
check "its G is 0 everywhere" test "$(npy_values "$W/g0.npy" | awk '$1 != 0' | wc -l)" -eq 0

# Integrated Gradients from a baseline (0.3 x): the factor x - b and the path points move with it
perl -e '
    local $/; open my $f, "<", $ARGV[1] or die; binmode $f; my $t = <$f>;
    my $hl = unpack("v", substr($t, 8, 2)); my $h = substr($t, 10, $hl); my @v = unpack("f<*", substr($t, 10 + $hl));
    $h =~ s/<f4/<f8/; open my $o, ">", $ARGV[0] or die; binmode $o;
    print $o "\x93NUMPY\x01\x00", pack("v", length $h), $h, pack("d<*", map { 0.3 * $_ } @v);' "$W/base.npy" "$X"
IGB=(-a integrated-gradients --steps 3 --baseline "$W/base.npy" -c epsilon-plus-flat)
expect_exit 0 "integrated-gradients from a baseline: G" "$LRP" explain "$M" "$W/x.npy" -t 3 --double -q "${IGB[@]}" \
    --relevance-grad ones --relevance-grad-out "$W/gb.npy"
i=1955
for s in p m; do
    d=$H
    [ $s = m ] && d=-$H
    f64_npy "$W/x$s.npy" "$X" $i $d
    "$LRP" explain "$M" "$W/x$s.npy" -t 3 --double -q "${IGB[@]}" -r "$W/a$s.npy"
    f64_values "$W/a$s.npy" | awk '{ s += $1 } END { printf "%.17g\n", s }' > "$W/l$s.txt"
done
fd=$(awk -v h=$H 'NR == FNR { p = $1; next } { printf "%.12g\n", (p - $1) / (2 * h) }' "$W/lp.txt" "$W/lm.txt")
g=$(f64_values "$W/gb.npy" | sed -n "$((i + 1))p")
check "from a baseline: G[$i] = $g agrees with the finite difference $fd (1e-5)" \
    awk -v a="$g" -v b="$fd" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(a != "" && b != 0 && d <= 1e-5 * m) }'

# an attributor without a second order, a missing baseline
expect_exit 2 "occlusion has no second order" "$LRP" explain "$M" "$X" -a occlusion --relevance-grad ones
one_line_error "occlusion has no second order" "occlusion"
expect_exit 4 "a missing --baseline file" "$LRP" explain "$M" "$X" -a integrated-gradients --baseline "$W/none.npy" \
    --relevance-grad ones
one_line_error "a missing --baseline file" "none.npy"
finish
