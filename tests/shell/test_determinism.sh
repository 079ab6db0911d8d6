#!/usr/bin/env bash
# Determinism: the same inputs give byte-identical PNG and .npy outputs run
# after run, with --threads 1 and --threads 2, alone or within a batch; and
# the PNGs carry no time stamps or text chunks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/png_helpers.sh"

W=$WORK
CNN=$TESTDATA/refset/models/tiny-cnn.onnx
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
CIFAR=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
IN=$TESTDATA/refset/inputs
CNN_INPUTS=("$IN/camera-32.npy" "$IN/logo-32.npy" "$TESTDATA/images/tiny.png" "$TESTDATA/images/rgb420.jpg")

# same_tree NAME DIR_A DIR_B: the same file names, byte for byte
same_tree() {
    local n=$1 a=$2 b=$3 bad=0 f cnt=0
    if [ "$(cd "$a" && find . -type f | sort)" != "$(cd "$b" && find . -type f | sort)" ]; then
        not_ok "$n: different file lists"
        return
    fi
    while IFS= read -r f; do
        cnt=$((cnt + 1))
        cmp -s "$a/$f" "$b/$f" || { bad=$((bad + 1)); echo "  differs: $f"; }
    done < <(cd "$a" && find . -type f | sort)
    if [ "$cnt" -gt 0 ] && [ $bad -eq 0 ]; then ok "$n ($cnt files)"; else not_ok "$n: $bad of $cnt files differ"; fi
}

# run_set TAG METHOD_ARGS...: explains the inputs four times (twice with the
# default threads, --threads 1, --threads 2) into $W/TAG/{a,b,t1,t2}
run_set() {
    local tag=$1
    shift
    local v okc=0
    for v in a b t1 t2; do
        local thr=()
        [ $v = t1 ] && thr=(--threads 1)
        [ $v = t2 ] && thr=(--threads 2)
        if "$LRP" explain "$@" "${thr[@]}" -q -o "$W/$tag/$v/{stem}.png" -r "$W/$tag/$v/{stem}.npy" 2> "$W/err"; then
            okc=$((okc + 1))
        else
            echo "  $tag/$v: $(head -c 300 "$W/err")"
        fi
    done
    if [ $okc -ne 4 ]; then
        not_ok "$tag: $((4 - okc)) of 4 runs failed; nothing to compare"
        return
    fi
    ok "$tag: all four runs succeed"
    same_tree "$tag: run after run" "$W/$tag/a" "$W/$tag/b"
    same_tree "$tag: --threads 1 = --threads 2" "$W/$tag/t1" "$W/$tag/t2"
    same_tree "$tag: --threads 1 = default threads" "$W/$tag/t1" "$W/$tag/a"
}

for m in epsilon-plus-flat epsilon-gamma-box gradient guided-backprop; do
    run_set "cnn-$m" "$CNN" "${CNN_INPUTS[@]}" -c $m
done
run_set "cnn-integrated-gradients" "$CNN" "${CNN_INPUTS[@]}" -a integrated-gradients --steps 10
run_set "cnn-occlusion" "$CNN" "${CNN_INPUTS[@]}" -a occlusion
run_set "cnn-smoothgrad" "$CNN" "${CNN_INPUTS[@]}" -a smoothgrad --samples 5 --seed 7
for m in epsilon-plus-flat gradient; do
    run_set "r20-$m" "$R20" "$HORSE" "${CIFAR[@]}" -c $m
done
# larger models, where the threads share real work (when ../shared exists)
SH=$(shared_dir)
if [ -n "$SH" ] && [ -f "$SH/refset/models/vgg-lite-bn.onnx" ]; then
    run_set "vgg-epsilon-plus-flat" "$SH/refset/models/vgg-lite-bn.onnx" "$SH/refset/inputs/rocket-224.npy" -c epsilon-plus-flat
    run_set "vgg-gradient" "$SH/refset/models/vgg-lite-bn.onnx" "$SH/refset/inputs/chelsea-224.npy" -c gradient
    run_set "tiny-resnet-epsilon-gamma-box" "$SH/refset/models/tiny-resnet.onnx" "$SH/refset/inputs/camera-64.npy" \
        "$SH/refset/inputs/logo-64.npy" -c epsilon-gamma-box
    run_set "mobilenet-epsilon-plus" "$SH/refset/models/mobilenet-v2.onnx" "$SH/refset/inputs/rocket-224.npy" -c epsilon-plus
else
    echo "SKIP: ../shared absent: larger models not checked"
fi
# overlays and heatmaps at the image's size
run_set "cnn-overlay" "$CNN" "${CNN_INPUTS[@]}" --overlay
run_set "cnn-overlay-0.3-size" "$CNN" "$TESTDATA/images/tiny.png" "$TESTDATA/images/rgb8.png" --overlay=0.3 --size input
run_set "r20-overlay" "$R20" "$HORSE" "${CIFAR[@]}" --overlay=0.7 -c epsilon-gamma-box

# an input gives the same bytes alone and within a batch
"$LRP" explain "$CNN" "$IN/logo-32.npy" -q -o "$W/alone/{stem}.png" -r "$W/alone/{stem}.npy"
check "alone = within a batch (heatmap)" cmp -s "$W/alone/logo-32.png" "$W/cnn-epsilon-plus-flat/a/logo-32.png"
check "alone = within a batch (relevance)" cmp -s "$W/alone/logo-32.npy" "$W/cnn-epsilon-plus-flat/a/logo-32.npy"

# grids
for v in a b; do
    "$LRP" explain "$CNN" "${CNN_INPUTS[@]}" -q -o "$W/grid-$v.png" --grid
done
"$LRP" explain "$CNN" "${CNN_INPUTS[@]}" -q -o "$W/grid-t1.png" --grid --threads 1
check "--grid run after run" cmp -s "$W/grid-a.png" "$W/grid-b.png"
check "--grid --threads 1 = default" cmp -s "$W/grid-a.png" "$W/grid-t1.png"
# render
for v in a b; do "$LRP" render "$W/cnn-gradient/a/camera-32.npy" -o "$W/render-$v.png" --cmap hot --norm absolute; done
check "render run after run" cmp -s "$W/render-a.png" "$W/render-b.png"

# PNG chunks: only IHDR, PLTE, IDAT, IEND (no tIME, tEXt, zTXt, iTXt, ...)
bad=0 n=0
while IFS= read -r f; do
    n=$((n + 1))
    chunks=$(png_chunks "$f" | sort -u | tr '\n' ' ')
    first=$(png_chunks "$f" | head -1)
    last=$(png_chunks "$f" | tail -1)
    extra=$(png_chunks "$f" | grep -vxE 'IHDR|PLTE|IDAT|IEND' | sort -u | tr '\n' ' ')
    if [ "$first" != IHDR ] || [ "$last" != IEND ] || [ -n "$extra" ]; then
        bad=$((bad + 1))
        echo "  $f: chunks $chunks"
    fi
done < <(find "$W" -name '*.png' | sort)
check "PNG chunks are only IHDR, PLTE, IDAT, IEND ($n files checked)" test "$n" -gt 20 -a $bad -eq 0
if command -v pngcheck > /dev/null; then
    f=$(find "$W" -name '*.png' | head -1)
    check "pngcheck -v: no tIME or tEXt chunk" sh -c "pngcheck -v '$f' | grep -qE 'tIME|tEXt|zTXt|iTXt' && exit 1; pngcheck -q '$f'"
fi
# the chunk parser itself: a PNG with a tEXt chunk (made with PIL) is caught
if [ -n "$PY" ]; then
    "$PY" -c '
import sys
from PIL import Image, PngImagePlugin
m = PngImagePlugin.PngInfo(); m.add_text("Software", "x")
Image.new("RGB", (2, 2)).save(sys.argv[1], pnginfo=m)' "$W/withtext.png"
    check "the chunk parser sees the tEXt chunk of a PIL PNG" grep -qx tEXt <(png_chunks "$W/withtext.png")
fi

finish
