#!/usr/bin/env bash
# Localisation on trained modern models: testdata/shapes holds a small ViT and
# a small ConvNeXt trained by tools/train-shapes to tell the kind of one
# geometric shape on a smooth random background (circle, square, triangle,
# cross; 99.75% and 99.85% right on 2000 held-out images), the first 8
# held-out images and each shape's mask (masks/*.npy). Both models classify the
# 8 images right. On the ViT, attnlrp puts more than half of the positive
# relevance on the 8x8 patches (the ViT's tokens) that the shape touches, 13%
# of the image, on every image; a random attribution puts about 13% there and
# fails. On the ConvNeXt the LRP maps are diffuse (the shape's 8x8 cells get
# about 23% of the positive relevance of epsilon-plus-flat: less than half,
# see README "Comparing methods"), so there the check is only that they hold
# at least 1.5 times their share of the image on average, which random fails.
. "$(dirname "$0")/lib.sh"
S=$TESTDATA/shapes
W=$WORK
CLASSES=(circle square triangle cross)
PRE=(--resize none)

# on_shape RELEVANCE.npy MASK.npy CELL: the share of the positive pixel
# relevance (summed over channels) that lies on the CELLxCELL cells the mask
# touches, and the share of the image those cells cover
on_shape() {
    perl -e '
        sub npy { my ($p) = @_; local $/; open my $f, "<", $p or die "$p"; binmode $f; my $t = <$f>;
            substr($t, 0, 6) eq "\x93NUMPY" or die "$p: not npy"; my $hl = unpack("v", substr($t, 8, 2));
            return (substr($t, 10, $hl), substr($t, 10 + $hl)); }
        my ($rh, $rd) = npy($ARGV[0]); my ($mh, $md) = npy($ARGV[1]); my $cell = $ARGV[2];
        $rh =~ /<f4/ or die "relevance not float32"; $mh =~ /\|u1/ or die "mask not uint8";
        my ($h, $w) = $mh =~ /\((\d+), (\d+)\)/ or die "mask shape";
        my @r = unpack("f<*", $rd); my @m = unpack("C*", $md); my $hw = $h * $w;
        @m == $hw && @r % $hw == 0 or die "sizes"; my $c = @r / $hw;
        my %touched; for my $p (0 .. $hw - 1) { $touched{int($p / $w / $cell) . "," . int($p % $w / $cell)} = 1 if $m[$p]; }
        my ($on, $all, $area) = (0, 0, 0);
        for my $p (0 .. $hw - 1) {
            my $in = $touched{int($p / $w / $cell) . "," . int($p % $w / $cell)} ? 1 : 0; $area += $in;
            my $v = 0; $v += $r[$_ * $hw + $p] for 0 .. $c - 1;
            next if $v <= 0; $all += $v; $on += $v if $in;
        }
        printf "%.4f %.4f\n", $all > 0 ? $on / $all : 0, $area / $hw;' "$1" "$2" "$3"
}
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

imgs=("$S"/images/shape-*.png)
check "test images found (${#imgs[@]})" test "${#imgs[@]}" -eq 8
for model in vit convnext; do
    M=$S/shapes-$model-op17.onnx
    case $model in vit) method=attnlrp ;; *) method=epsilon-plus-flat ;; esac
    sum=0 rsum=0 asum=0 n=0
    for img in "${imgs[@]}"; do
        stem=${img%.png}
        name=$(basename "$stem")
        want=${name##*-}
        if ! "$LRP" predict "$M" "$img" "${PRE[@]}" --json > "$W/pred.json" 2> "$W/err"; then
            not_ok "$model $name: lrp predict failed: $(cat "$W/err")"
            continue
        fi
        got=$(perl -ne 'print $1 if /"class":(\d+)/' "$W/pred.json")
        check "$model $name: classified as ${CLASSES[$got]:-$got}" test "${CLASSES[$got]:-}" = "$want"
        if ! "$LRP" explain "$M" "$img" "${PRE[@]}" -c $method -q -r "$W/r.npy" 2> "$W/err" ||
            ! "$LRP" explain "$M" "$img" "${PRE[@]}" -a random --seed 1 -q -r "$W/rnd.npy" 2> "$W/err"; then
            not_ok "$model $name: lrp explain failed: $(cat "$W/err")"
            continue
        fi
        read -r share area < <(on_shape "$W/r.npy" "$S/masks/$name.npy" 8)
        read -r rshare _ < <(on_shape "$W/rnd.npy" "$S/masks/$name.npy" 8)
        echo "  $model $name: $method $share, random $rshare of the positive relevance on the shape's cells ($area)"
        if [ $model = vit ]; then
            check "vit $name: attnlrp puts most positive relevance on the shape's patches ($share > 0.5)" \
                above "$share" 0.5
            check "vit $name: a random attribution does not ($rshare <= 0.5)" above 0.5 "$rshare"
        fi
        sum=$(awk -v a="$sum" -v b="$share" 'BEGIN { print a + b }')
        rsum=$(awk -v a="$rsum" -v b="$rshare" 'BEGIN { print a + b }')
        asum=$(awk -v a="$asum" -v b="$area" 'BEGIN { print a + b }')
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] || continue
    mean=$(awk -v a="$sum" -v n="$n" 'BEGIN { printf "%.4f", a / n }')
    rmean=$(awk -v a="$rsum" -v n="$n" 'BEGIN { printf "%.4f", a / n }')
    amean=$(awk -v a="$asum" -v n="$n" 'BEGIN { printf "%.4f", a / n }')
    want=$(awk -v a="$amean" 'BEGIN { printf "%.4f", 1.5 * a }')
    check "$model: $method's mean share on the shape's cells is at least 1.5 times their area ($mean >= $want)" \
        above "$mean" "$want"
    check "$model: a random attribution's is not ($rmean < $want)" above "$want" "$rmean"
done

finish
