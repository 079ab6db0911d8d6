#!/usr/bin/env bash
# Heatmaps on the command line: `lrp render` against zennit's golden PNGs,
# `lrp explain -o` against `lrp render` of its own --relevance-out, colour maps
# (built-in, CMSL, --level), --vmin/--vmax, --overlay, --size input and --grid.
# Expected values come from zennit's files (golden PNGs, palette tables), from
# independent decoders (PIL) or from arithmetic done here (awk, NumPy).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/png_helpers.sh"

W=$WORK
CNN=$TESTDATA/refset/models/tiny-cnn.onnx
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
CIFAR=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
[ -n "$PY" ] || echo "SKIP: no python3 with PIL and NumPy; the independent-decoder cross-checks are skipped"

# pil_equal LISTFILE: every "a<TAB>b" pair decodes (PIL, convert('RGB')) to the
# same pixels. Prints "N M" (pairs, mismatching pairs) and the first mismatches.
pil_equal() {
    "$PY" - "$1" << 'EOF'
import sys
import numpy as np
from PIL import Image
bad = []
n = 0
for line in open(sys.argv[1]):
    a, b = line.rstrip('\n').split('\t')
    n += 1
    x = np.asarray(Image.open(a).convert('RGB'))
    y = np.asarray(Image.open(b).convert('RGB'))
    if x.shape != y.shape or not np.array_equal(x, y):
        bad.append(f'{a} vs {b}')
print(n, len(bad))
for s in bad[:5]:
    print('  differs:', s)
EOF
}

# heat_args SYMMETRIC(true|false) CMAP -> render options zennit's imgify used
heat_args() { if [ "$1" = true ]; then echo "--norm symmetric --cmap $2"; else echo "--norm unaligned --cmap $2"; fi; }

# ------------------------------------------------------------------------
# 1. lrp render of golden relevances = zennit's golden PNGs (testdata subset)
n=0 pass=0
: > "$W/pairs.tsv"
for png in "$TESTDATA"/heatmaps/*.png; do
    base=${png%.png}
    spec=${base##*--}
    rel=${base%--*}.npy
    cmap=${spec%-sym}
    sym=false
    [ "$spec" != "$cmap" ] && sym=true
    out=$W/sub-$n.png
    n=$((n + 1))
    # shellcheck disable=SC2046
    if "$LRP" render "$rel" -o "$out" $(heat_args $sym "$cmap") 2> "$W/err" &&
        "$LRP" compare --tolerance 0 "$out" "$png" > /dev/null 2>> "$W/err"; then
        pass=$((pass + 1))
    else
        echo "  differs: $png ($(head -c 300 "$W/err"))"
    fi
    printf '%s\t%s\n' "$out" "$png" >> "$W/pairs.tsv"
done
echo "heatmaps (testdata): $pass/$n passed"
check "render = zennit golden PNGs, testdata subset ($pass/$n)" test "$n" -gt 0 -a "$pass" -eq "$n"
if [ -n "$PY" ]; then
    read -r pn pbad < <(pil_equal "$W/pairs.tsv")
    check "PIL decodes the rendered and golden PNGs to the same pixels ($pn pairs, $pbad differ)" \
        test "$pn" -eq "$n" -a "$pbad" -eq 0
fi
# the comparison can fail: the wrong normalization must differ
rel=$TESTDATA/heatmaps/tiny-cnn--logo--7--epsilon_gamma_box.npy
"$LRP" render "$rel" -o "$W/wrong.png" --norm symmetric --cmap coldnhot
expect_exit 1 "render with the wrong norm differs from the golden" \
    "$LRP" compare --tolerance 0 "$W/wrong.png" "$TESTDATA/heatmaps/tiny-cnn--logo--7--epsilon_gamma_box--coldnhot.png"

# ------------------------------------------------------------------------
# 2. all heatmaps of ../shared/refset/cases.json
SH=$(shared_dir)
if [ -z "$SH" ]; then
    echo "SKIP: ../shared absent: only the testdata subset of the golden heatmaps was checked"
elif ! command -v jq > /dev/null; then
    echo "SKIP: jq missing: cannot read $SH/refset/cases.json"
else
    jq -r '.[] | .relevance as $r | (.heatmaps // [])[] | [$r, .png, .cmap, (.symmetric | tostring)] | @tsv' \
        "$SH/refset/cases.json" > "$W/all.tsv"
    total=$(wc -l < "$W/all.tsv")
    # With LRP_REFSET_SUBSET=1 (the sanitizer leg: each render a process that AddressSanitizer starts slowly, 191 s
    # for all) every 8th of them; all otherwise.
    step=1
    [ "${LRP_REFSET_SUBSET:-0}" = 1 ] && step=8
    pass=0 k=0 done=0
    : > "$W/allpairs.tsv"
    : > "$W/allfail.txt"
    mkdir -p "$W/all"
    while IFS=$'\t' read -r rel png cmap sym; do
        out=$W/all/$k.png
        k=$((k + 1))
        [ $(((k - 1) % step)) -eq 0 ] || continue
        done=$((done + 1))
        # shellcheck disable=SC2046
        if "$LRP" render "$SH/refset/$rel" -o "$out" $(heat_args "$sym" "$cmap") 2> "$W/err" &&
            "$LRP" compare --tolerance 0 "$out" "$SH/refset/$png" > "$W/cmp" 2>> "$W/err"; then
            pass=$((pass + 1))
        else
            echo "$png ($cmap symmetric=$sym): $(cat "$W/cmp" "$W/err" | head -c 300)" >> "$W/allfail.txt"
        fi
        printf '%s\t%s\n' "$out" "$SH/refset/$png" >> "$W/allpairs.tsv"
    done < "$W/all.tsv"
    echo "heatmaps (refset): $pass/$done passed ($([ "$step" = 1 ] && echo "all $total" || echo "every ${step}th of $total"))"
    head -5 "$W/allfail.txt" | sed 's/^/  differs: /'
    check "render = zennit golden PNGs, cases.json ($pass/$done of $total)" \
        test "$total" -ge 1440 -a "$done" -eq $(((total + step - 1) / step)) -a "$pass" -eq "$done"
    if [ -n "$PY" ]; then
        read -r pn pbad < <(pil_equal "$W/allpairs.tsv")
        check "PIL: rendered = golden pixels for cases.json ($pn pairs, $pbad differ)" \
            test "$pn" -eq "$done" -a "$pbad" -eq 0
    fi
    rm -rf "$W/all"
fi

# ------------------------------------------------------------------------
# 3. lrp explain -o = lrp render of its --relevance-out
# independent expectation (NumPy float32, zennit's arithmetic) for one heatmap
np_heat_check() { # REL.npy NORM PALETTE_FILE PNG
    "$PY" - "$@" << 'EOF'
import sys
import numpy as np
from PIL import Image
rel, norm, palf, png = sys.argv[1:]
r = np.load(rel).astype(np.float32)
s = r[0, 0]
for c in range(1, r.shape[1]):
    s = s + r[0, c]
if norm == 'symmetric':
    a = np.abs(s).max()
    v = (s - (-a)) / (a - (-a))
else:
    v = np.abs(s) / np.abs(s).max()
idx = np.clip(v * np.float32(255), 0, 255).astype(np.uint8)
pal = np.array([[int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in open(palf).read().split()], dtype=np.uint8)
want = pal[idx]
got = np.asarray(Image.open(png).convert('RGB'))
ok = got.shape == want.shape and np.array_equal(got, want)
print('same' if ok else f'differ: {int((got != want).any(-1).sum()) if got.shape == want.shape else got.shape}')
EOF
}
zennit_palette coldnhot > "$W/pal-coldnhot"
zennit_palette hot > "$W/pal-hot"
k=0
for spec in "epsilon-plus-flat camera-32 2" "epsilon-gamma-box logo-32 7" "epsilon-alpha2-beta1 chelsea-32 3" \
    "gradient rocket-32 2" "guided-backprop camera-32 5" "excitation-backprop logo-32 5" \
    "a:integrated-gradients chelsea-32 5" "a:occlusion camera-32 2"; do
    set -- $spec
    meth=$1 in=$TESTDATA/refset/inputs/$2.npy t=$3
    case $meth in
    epsilon-*) norm=symmetric cmap=coldnhot ;;
    *) norm=absolute cmap=hot ;;
    esac
    how=(-c "$meth")
    case $meth in a:*) meth=${meth#a:} how=(-a "$meth") ;; esac
    k=$((k + 1))
    expect_exit 0 "explain ${how[*]} $2 -t $t" "$LRP" explain "$CNN" "$in" "${how[@]}" -t "$t" -o "$W/e$k.png" -r "$W/e$k.npy"
    expect_exit 0 "render its relevance ($norm, $cmap)" "$LRP" render "$W/e$k.npy" -o "$W/r$k.png" --norm $norm --cmap $cmap
    expect_exit 0 "explain ${how[*]} heatmap = render of its relevance" "$LRP" compare --tolerance 0 "$W/e$k.png" "$W/r$k.png"
    if [ -n "$PY" ]; then
        res=$(np_heat_check "$W/e$k.npy" $norm "$W/pal-$cmap" "$W/e$k.png")
        check "explain ${how[*]} heatmap = NumPy $norm + zennit $cmap ($res)" test "$res" = same
    fi
done
# a trained model from an image
expect_exit 0 "explain ResNet-20 horse" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/h.png" -r "$W/h.npy"
expect_exit 0 "render ResNet-20 relevance" "$LRP" render "$W/h.npy" -o "$W/hr.png" --norm symmetric --cmap coldnhot
expect_exit 0 "ResNet-20: explain heatmap = render of its relevance" "$LRP" compare --tolerance 0 "$W/h.png" "$W/hr.png"
expect_exit 0 "explain ResNet-20 -c gradient" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -c gradient -o "$W/hg.png" -r "$W/hg.npy"
expect_exit 0 "render gradient relevance" "$LRP" render "$W/hg.npy" -o "$W/hgr.png" --norm absolute --cmap hot
expect_exit 0 "ResNet-20 gradient: explain = render" "$LRP" compare --tolerance 0 "$W/hg.png" "$W/hgr.png"

# ------------------------------------------------------------------------
# 4. colour maps on a ramp: relevance i + 0.5 with --vmin 0 --vmax 255 is
# palette index i (zennit: trunc((i + 0.5)/255*255))
ramp=()
for i in $(seq 0 255); do ramp+=("$i.5"); done
mk_npy "$W/ramp.npy" "1, 1, 16, 16" "${ramp[@]}"
# expect_pixels PNG PALETTE_FILE [INDEX_FILE]: decoded pixel k (row-major) is
# palette[index k] (index k = k without INDEX_FILE)
expect_pixels() {
    "$PY" - "$@" << 'EOF'
import sys
import numpy as np
from PIL import Image
png, palf = sys.argv[1:3]
pal = np.array([[int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in open(palf).read().split()], dtype=np.uint8)
idx = np.arange(256) if len(sys.argv) < 4 else np.array([int(v) for v in open(sys.argv[3]).read().split()])
got = np.asarray(Image.open(png).convert('RGB')).reshape(-1, 3)
want = pal[idx]
print('same' if got.shape == want.shape and np.array_equal(got, want) else 'differ')
EOF
}
# palette_check NAME PNG PALETTE_FILE
palette_check() {
    local what=$1 png=$2 pal=$3 ihdr
    ihdr=$(png_ihdr "$png")
    if [ "${ihdr##* }" = 3 ]; then
        check "$what: PLTE = zennit's palette" cmp -s <(png_plte "$png") "$pal"
    else
        echo "note: $what: not a palette PNG ($ihdr); PLTE check skipped"
    fi
    if [ -n "$PY" ]; then
        local r
        r=$(expect_pixels "$png" "$pal")
        check "$what: pixel i = palette[i] (PIL) ($r)" test "$r" = same
    fi
}
for name in gray wred wblue hot cold coldnhot bwr france seismic coolio coleus; do
    zennit_palette "$name" > "$W/pal-$name"
    expect_exit 0 "render --cmap $name" "$LRP" render "$W/ramp.npy" -o "$W/ramp-$name.png" --cmap "$name" --vmin 0 --vmax 255
    palette_check "--cmap $name" "$W/ramp-$name.png" "$W/pal-$name"
    # the same map given as its CMSL string
    cmsl=$(zennit_cmsl "$name")
    expect_exit 0 "render --cmap '$cmsl'" "$LRP" render "$W/ramp.npy" -o "$W/rampc-$name.png" --cmap "$cmsl" --vmin 0 --vmax 255
    expect_exit 0 "--cmap '$cmsl' = --cmap $name" "$LRP" compare --tolerance 0 "$W/rampc-$name.png" "$W/ramp-$name.png"
done
# a custom CMSL string: palette from a transcription of zennit's CMSL compiler
# (checked above to reproduce all 11 built-in tables)
for n in gray hot coldnhot bwr seismic; do
    check "awk CMSL model reproduces zennit's $n table" cmp -s <(cmsl_palette "$(zennit_cmsl $n)" 1) "$W/pal-$n"
done
cmsl_palette '000,f00,ff0' 1 > "$W/pal-custom"
check "custom map nodes: 0 black, 127 red, 255 yellow" \
    test "$(sed -n '1p;128p;256p' "$W/pal-custom" | tr '\n' ' ')" = "000000 ff0000 ffff00 "
expect_exit 0 "render --cmap '000,f00,ff0'" "$LRP" render "$W/ramp.npy" -o "$W/ramp-custom.png" --cmap '000,f00,ff0' --vmin 0 --vmax 255
palette_check "--cmap '000,f00,ff0'" "$W/ramp-custom.png" "$W/pal-custom"
expect_exit 0 "render --cmap '0:000,40:00f,c0:0f0,f:f00'" "$LRP" render "$W/ramp.npy" -o "$W/ramp-custom2.png" \
    --cmap '0:000,40:00f,c0:0f0,f:f00' --vmin 0 --vmax 255
cmsl_palette '0:000,40:00f,c0:0f0,f:f00' 1 > "$W/pal-custom2"
palette_check "--cmap with indices" "$W/ramp-custom2.png" "$W/pal-custom2"
# bad colour maps: exit 2, one line
for bad in '000,zzz' '80:000,40:fff' 'fff' 'nosuchmap' '0000,fff' '00f,,f00' '80:,fff'; do
    expect_exit 2 "--cmap '$bad' refused" "$LRP" render "$W/ramp.npy" -o "$W/bad.png" --cmap "$bad"
    one_line_error "--cmap '$bad'" "$bad"
done
check "no output after a refused --cmap" test ! -e "$W/bad.png"
# what zennit's CMSL parser accepts: whitespace, upper case, a trailing comma
for ok in '00F, 80:FFF, F00' '0000ff,80:ffffff,ff0000,'; do
    expect_exit 0 "--cmap '$ok' accepted" "$LRP" render "$W/ramp.npy" -o "$W/ok.png" --cmap "$ok" --vmin 0 --vmax 255
    expect_exit 0 "--cmap '$ok' = bwr" "$LRP" compare --tolerance 0 "$W/ok.png" "$W/ramp-bwr.png"
done

# --level: zennit's palette(level) (reference values from zennit: coldnhot at
# 0.5 gives pal[0]=0000ff, pal[255]=ff8100; at 2.0 pal[128]=030000)
cmsl_palette "$(zennit_cmsl coldnhot)" 0.5 > "$W/pal-l05"
cmsl_palette "$(zennit_cmsl coldnhot)" 2 > "$W/pal-l2"
check "awk model: coldnhot level 0.5 ends 0000ff..ff8100" test "$(sed -n '1p;256p' "$W/pal-l05" | tr '\n' ' ')" = "0000ff ff8100 "
check "awk model: coldnhot level 2 pal[128] = 030000" test "$(sed -n 129p "$W/pal-l2")" = 030000
for lv in 0.5 2; do
    expect_exit 0 "render --level $lv" "$LRP" render "$W/ramp.npy" -o "$W/ramp-l$lv.png" --cmap coldnhot --level $lv --vmin 0 --vmax 255
done
palette_check "--level 0.5" "$W/ramp-l0.5.png" "$W/pal-l05"
palette_check "--level 2" "$W/ramp-l2.png" "$W/pal-l2"
expect_exit 2 "--level x refused" "$LRP" render "$W/ramp.npy" -o "$W/bad.png" --level x
one_line_error "--level x" "level"

# --vmin/--vmax: v = (R - vmin)/(vmax - vmin), index trunc(clip(v*255)); for
# R = i + 0.5, vmin 64, vmax 192 the float32 arithmetic is exact:
# index = trunc(clip((2i - 127)*255/256, 0, 255)). The expected image is the
# ramp render of those indices (ramp index mapping checked above).
awk 'BEGIN { for (i = 0; i < 256; i++) { v = (2 * i - 127) * 255 / 256; if (v < 0) v = 0; if (v > 255) v = 255; print int(v) } }' > "$W/idx-vm"
vals=()
while read -r v; do vals+=("$v.5"); done < "$W/idx-vm"
mk_npy "$W/want-vm.npy" "1, 1, 16, 16" "${vals[@]}"
"$LRP" render "$W/want-vm.npy" -o "$W/want-vm.png" --cmap gray --vmin 0 --vmax 255
expect_exit 0 "render --vmin 64 --vmax 192" "$LRP" render "$W/ramp.npy" -o "$W/vm.png" --cmap gray --vmin 64 --vmax 192
expect_exit 0 "--vmin 64 --vmax 192 gives zennit's indices" "$LRP" compare --tolerance 0 "$W/vm.png" "$W/want-vm.png"
if [ -n "$PY" ]; then
    r=$(expect_pixels "$W/vm.png" "$W/pal-gray" "$W/idx-vm")
    check "--vmin/--vmax pixels (PIL) ($r)" test "$r" = same
fi
# negative bounds: vmin -256 vmax 256: index trunc((i + 0.5 + 256)/512*255)
awk 'BEGIN { for (i = 0; i < 256; i++) print int((i + 0.5 + 256) * 255 / 512) }' > "$W/idx-vm2"
vals=()
while read -r v; do vals+=("$v.5"); done < "$W/idx-vm2"
mk_npy "$W/want-vm2.npy" "1, 1, 16, 16" "${vals[@]}"
"$LRP" render "$W/want-vm2.npy" -o "$W/want-vm2.png" --cmap bwr --vmin 0 --vmax 255
expect_exit 0 "render --vmin -256 --vmax 256" "$LRP" render "$W/ramp.npy" -o "$W/vm2.png" --cmap bwr --vmin -256 --vmax 256
expect_exit 0 "--vmin -256 --vmax 256 gives zennit's indices" "$LRP" compare --tolerance 0 "$W/vm2.png" "$W/want-vm2.png"
# --vmin alone (issue 12): the upper bound stays the norm's own, here max|R| = 255.5
expect_exit 0 "--vmin alone accepted" "$LRP" render "$W/ramp.npy" -o "$W/vmin1.png" --cmap gray --vmin 64
"$LRP" render "$W/ramp.npy" -o "$W/vmin2.png" --cmap gray --vmin 64 --vmax 255.5
expect_exit 0 "--vmin 64 alone = --vmin 64 --vmax max|R|" "$LRP" compare --tolerance 0 "$W/vmin1.png" "$W/vmin2.png"
expect_exit 2 "--vmax <= --vmin refused" "$LRP" render "$W/ramp.npy" -o "$W/bad.png" --vmin 1 --vmax 1
one_line_error "--vmax <= --vmin" "vmax"

# ------------------------------------------------------------------------
# 5. --overlay: RGB PNG of the model input size; blend = image*(1-a) + colour*a
expect_exit 0 "explain --overlay" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/ov.png" --overlay
check "--overlay: 32x32 RGB ($(png_ihdr "$W/ov.png"))" test "$(png_ihdr "$W/ov.png")" = "32 32 8 2"
expect_exit 0 "explain --overlay=0.3" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/ov3.png" --overlay=0.3
check "--overlay=0.3: 32x32 RGB" test "$(png_ihdr "$W/ov3.png")" = "32 32 8 2"
expect_exit 0 "explain --overlay=1" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/ov1.png" --overlay=1
expect_exit 0 "--overlay=1 = the heatmap" "$LRP" compare --tolerance 0 "$W/ov1.png" "$W/h.png"
expect_exit 0 "explain --overlay=0" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/ov0.png" --overlay=0
expect_exit 0 "--overlay=0 = the image (no resize)" "$LRP" compare --tolerance 0 "$W/ov0.png" "$HORSE"
check "--overlay=0.3 differs from plain heatmap and image" \
    sh -c "! '$LRP' compare '$W/ov3.png' '$W/h.png' > /dev/null && ! '$LRP' compare '$W/ov3.png' '$HORSE' > /dev/null"
if [ -n "$PY" ]; then
    blend() { # OVERLAY ALPHA
        "$PY" - "$1" "$2" "$HORSE" "$W/h.png" << 'EOF'
import sys
import numpy as np
from PIL import Image
ov, a, img, heat = sys.argv[1:]
a = float(a)
got = np.asarray(Image.open(ov).convert('RGB')).astype(np.float64)
exact = np.asarray(Image.open(img).convert('RGB')) * (1 - a) + np.asarray(Image.open(heat).convert('RGB')) * a
d = np.abs(got - exact).max()
print('same' if d <= 0.5 + 1e-9 else f'differ by {d}')
EOF
    }
    r=$(blend "$W/ov.png" 0.5)
    check "--overlay pixels = round(image/2 + heat/2) ($r)" test "$r" = same
    r=$(blend "$W/ov3.png" 0.3)
    check "--overlay=0.3 pixels = round(0.7 image + 0.3 heat) ($r)" test "$r" = same
fi
expect_exit 2 "--overlay=1.5 refused" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/bad.png" --overlay=1.5
one_line_error "--overlay=1.5" "overlay"
# a non-square image through the default resize and crop of tiny-cnn (32x32)
TINY=$TESTDATA/images/tiny.png # 40x30
expect_exit 0 "tiny-cnn --overlay on a 40x30 image" "$LRP" explain "$CNN" "$TINY" -o "$W/tov.png" --overlay
check "--overlay: model input size 32x32 RGB ($(png_ihdr "$W/tov.png"))" test "$(png_ihdr "$W/tov.png")" = "32 32 8 2"

# --size input: the original image's size
expect_exit 0 "explain --size input" "$LRP" explain "$CNN" "$TINY" -o "$W/sz.png" --size input
ih=$(png_ihdr "$W/sz.png")
check "--size input: 40x30 ($ih)" test "${ih%% 8 *}" = "40 30"
expect_exit 0 "explain --size model" "$LRP" explain "$CNN" "$TINY" -o "$W/szm.png" --size model
ih=$(png_ihdr "$W/szm.png")
check "--size model: 32x32 ($ih)" test "${ih%% 8 *}" = "32 32"
expect_exit 0 "explain --overlay=0.4 --size input" "$LRP" explain "$CNN" "$TINY" -o "$W/szo.png" --size input --overlay=0.4
check "--overlay --size input: 40x30 RGB ($(png_ihdr "$W/szo.png"))" test "$(png_ihdr "$W/szo.png")" = "40 30 8 2"
expect_exit 0 "explain --overlay=0 --size input" "$LRP" explain "$CNN" "$TINY" -o "$W/szo0.png" --size input --overlay=0
expect_exit 0 "--overlay=0 --size input = the original image" "$LRP" compare --tolerance 0 "$W/szo0.png" "$TINY"
if [ -n "$PY" ]; then
    # The 40x30 image was resized to 48x36 (shorter side 32*256/224 -> 36) and
    # cropped at (8, 2) to 32x32. At the image's size each pixel shows the
    # heatmap pixel its centre falls into; pixels outside the crop show
    # relevance 0 (index 127 of coldnhot under the symmetric norm).
    r=$("$PY" - "$W/sz.png" "$W/szm.png" "$W/pal-coldnhot" << 'EOF'
import sys
import numpy as np
from PIL import Image
big = np.asarray(Image.open(sys.argv[1]).convert('RGB'))
heat = np.asarray(Image.open(sys.argv[2]).convert('RGB'))
pal = np.array([[int(x[i:i + 2], 16) for i in (0, 2, 4)] for x in open(sys.argv[3]).read().split()], np.uint8)
bad = 0
inside = 0
for y in range(30):
    for x in range(40):
        ry = int(np.floor((y + 0.5) * 36 / 30)) - 2
        rx = int(np.floor((x + 0.5) * 48 / 40)) - 8
        if 0 <= ry < 32 and 0 <= rx < 32:
            inside += 1
            want = heat[ry, rx]
        else:
            want = pal[127]
        bad += not np.array_equal(big[y, x], want)
print('same' if bad == 0 and 0 < inside < 1200 else f'differ at {bad} pixels ({inside} inside)')
EOF
)
    check "--size input: each pixel shows the heatmap pixel under its centre ($r)" test "$r" = same
fi
jw=$(png_ihdr "$TESTDATA/images/rgb8.png")
expect_exit 0 "explain --size input on a 29x19 PNG" "$LRP" explain "$CNN" "$TESTDATA/images/rgb8.png" -o "$W/sz2.png" --size input
ih=$(png_ihdr "$W/sz2.png")
check "--size input: 29x19 ($ih)" test "${ih%% 8 *}" = "${jw%% 8 *}"
expect_exit 2 "--size bogus refused" "$LRP" explain "$CNN" "$TINY" -o "$W/bad.png" --size bogus
one_line_error "--size bogus" "size"
expect_exit 2 "render --overlay refused (needs the image)" "$LRP" render "$W/ramp.npy" -o "$W/bad.png" --overlay
one_line_error "render --overlay" "overlay"

# ------------------------------------------------------------------------
# 6. --grid: zennit's layout grid_w = int(sqrt(N)), grid_h = ceil(N/grid_w)
IN=$TESTDATA/refset/inputs
ins=("$IN/camera-32.npy" "$IN/chelsea-32.npy" "$IN/logo-32.npy" "$IN/rocket-32.npy" "$IN/camera-16.npy")
for N in 2 3 4 5; do
    set -- "${ins[@]:0:$N}"
    if [ $N = 5 ]; then set -- "${ins[@]:0:4}" "$IN/logo-32.npy"; fi
    gw=$(awk -v n=$N 'BEGIN { print int(sqrt(n)) }')
    gh=$(( (N + gw - 1) / gw ))
    expect_exit 0 "explain --grid over $N inputs" "$LRP" explain "$CNN" "$@" -o "$W/grid$N.png" --grid
    ih=$(png_ihdr "$W/grid$N.png")
    check "--grid N=$N: $((gw * 32))x$((gh * 32)) ($ih)" test "${ih%% 8 *}" = "$((gw * 32)) $((gh * 32))"
    n=$(find "$W" -maxdepth 1 -name "grid$N*" | wc -l)
    check "--grid N=$N writes one file" test "$n" -eq 1
done
# the tiles are the single heatmaps, row by row; the empty cell is the
# per-channel minimum of all tiles (zennit's gridify fill)
k=0
for f in "${ins[@]:0:4}" "$IN/logo-32.npy"; do
    "$LRP" explain "$CNN" "$f" -o "$W/tile$k.png" > /dev/null 2>&1
    k=$((k + 1))
done
if [ -n "$PY" ]; then
    r=$("$PY" - "$W" << 'EOF'
import sys
import numpy as np
from PIL import Image
w = sys.argv[1]
g = Image.open(f'{w}/grid5.png')
gi = np.asarray(g)  # palette indices
gr = np.asarray(g.convert('RGB'))
msgs = []
mins = []
for k in range(5):
    t = Image.open(f'{w}/tile{k}.png')
    r, c = divmod(k, 2)
    if not np.array_equal(gr[r*32:(r+1)*32, c*32:(c+1)*32], np.asarray(t.convert('RGB'))):
        msgs.append(f'tile {k}')
    if t.mode == 'P':
        mins.append(np.asarray(t).min())
if g.mode == 'P' and mins:
    if not (gi[64:96, 32:64] == min(mins)).all():
        msgs.append('empty cell is not the minimum index')
else:
    msgs.append(f'grid mode {g.mode}')
print('same' if not msgs else 'differ: ' + ', '.join(msgs))
EOF
)
    check "--grid tiles = single heatmaps, empty cell = minimum ($r)" test "$r" = same
fi
# explain --grid = render --grid of the stacked relevances
k=0
rels=()
for f in "${ins[@]:0:4}" "$IN/logo-32.npy"; do
    "$LRP" explain "$CNN" "$f" -r "$W/grel$k.npy" > /dev/null 2>&1
    rels+=("$W/grel$k.npy")
    k=$((k + 1))
done
npy_tool stack "$W/gstack.npy" "${rels[@]}"
expect_exit 0 "render --grid of a batch of 5 relevances" "$LRP" render "$W/gstack.npy" --grid -o "$W/rgrid5.png" --norm symmetric --cmap coldnhot
expect_exit 0 "explain --grid = render --grid of the same relevances" "$LRP" compare --tolerance 0 "$W/grid5.png" "$W/rgrid5.png"
expect_exit 4 "render of a batch without --grid refused" "$LRP" render "$W/gstack.npy" -o "$W/bad.png"
one_line_error "batch without --grid" "--grid"

# render --grid of golden relevances = zennit's golden index images laid out by
# gridify (each sample normalized on its own; empty cells get the minimum)
G=$TESTDATA/heatmaps
GL=$G/tiny-cnn--logo--7--epsilon_gamma_box
GC=$G/tiny-cnn--camera--2--gradient
npy_tool stack "$W/gold3.npy" "$GL.npy" "$GC.npy" "$GL.npy"
npy_tool stack "$W/gold5.npy" "$GL.npy" "$GC.npy" "$GL.npy" "$GC.npy" "$GL.npy"
for N in 3 5; do
    expect_exit 0 "render --grid of $N golden relevances" "$LRP" render "$W/gold$N.npy" --grid -o "$W/ggrid$N.png" \
        --norm symmetric --cmap coldnhot
done
check "render --grid N=3: 32x96 ($(png_ihdr "$W/ggrid3.png"))" test "$(png_ihdr "$W/ggrid3.png" | cut -d' ' -f1,2)" = "32 96"
check "render --grid N=5: 64x96 ($(png_ihdr "$W/ggrid5.png"))" test "$(png_ihdr "$W/ggrid5.png" | cut -d' ' -f1,2)" = "64 96"
if [ -n "$PY" ]; then
    for N in 3 5; do
        r=$("$PY" - "$W/ggrid$N.png" "$N" "$W/pal-coldnhot" "$GL--wred-sym.png" "$GC--gray-sym.png" << 'EOF'
import sys
import numpy as np
from PIL import Image
out, n, palf, gl, gc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
tiles = [np.asarray(Image.open(p)) for p in (gl, gc, gl, gc, gl)[:n]]  # zennit's palette indices
assert all(Image.open(p).mode == 'P' for p in (gl, gc))
gw = int(n ** 0.5)
gh = (n + gw - 1) // gw
h, w = tiles[0].shape
grid = np.full((gh * h, gw * w), min(t.min() for t in tiles), np.uint8)
for k, t in enumerate(tiles):
    r, c = divmod(k, gw)
    grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = t
pal = np.array([[int(x[i:i + 2], 16) for i in (0, 2, 4)] for x in open(palf).read().split()], np.uint8)
got = np.asarray(Image.open(out).convert('RGB'))
print('same' if got.shape == pal[grid].shape and np.array_equal(got, pal[grid]) else 'differ')
EOF
)
        check "render --grid N=$N = zennit's index images in gridify's layout ($r)" test "$r" = same
    done
fi
# a relevance without the batch dimension (C,H,W) and a 2-D map (H,W)
npy_tool reshape "$W/chw.npy" "$GL.npy" "3, 32, 32"
npy_tool chansum "$W/hw.npy" "$GL.npy"
for f in chw hw; do
    expect_exit 0 "render a ${f^^} relevance" "$LRP" render "$W/$f.npy" -o "$W/$f.png" --norm symmetric --cmap wred
    expect_exit 0 "${f^^} render = zennit's golden" "$LRP" compare --tolerance 0 "$W/$f.png" "$GL--wred-sym.png"
done

expect_exit 2 "--grid with a template -o refused" "$LRP" explain "$CNN" "${ins[@]:0:2}" -o "$W/{stem}.png" --grid
one_line_error "--grid template" "grid"
expect_exit 2 "--grid with --size input refused" "$LRP" explain "$CNN" "$TINY" "$TINY" -o "$W/g.png" --grid --size input
one_line_error "--grid --size input" "grid"

finish
