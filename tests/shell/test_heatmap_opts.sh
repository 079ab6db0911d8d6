#!/usr/bin/env bash
# Heatmap options of issue 12: --sign, --clip-percentile, --vmin/--vmax alone,
# --underlay, --alpha relevance, --side-by-side, --colorbar. The defaults stay
# zennit's (byte-identical files); expected pixels come from NumPy/PIL doing
# the arithmetic the man page documents.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/png_helpers.sh"

W=$WORK
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
CNN=$TESTDATA/refset/models/tiny-cnn.onnx
TINY=$TESTDATA/images/tiny.png # 40x30
CIFAR=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
[ -n "$PY" ] || echo "SKIP: no python3 with PIL and NumPy; the pixel checks are skipped"

# a signed map with two outliers (multiples of 1/4: exact in float32)
vals=()
for k in $(seq 0 255); do
    case $k in 5) vals+=(400) ;; 77) vals+=(-300) ;; *) vals+=("$(( (k * 37) % 101 - 50 )).25") ;; esac
done
mk_npy "$W/s.npy" "1, 1, 16, 16" "${vals[@]}"
"$LRP" render "$W/s.npy" -o "$W/def.png" --cmap gray

# ------------------------------------------------------------------------
# 1. the defaults are zennit's: the new options at their defaults change no byte
for extra in "--sign all" "--clip-percentile 0"; do
    # shellcheck disable=SC2086
    expect_exit 0 "render $extra" "$LRP" render "$W/s.npy" -o "$W/x.png" --cmap gray $extra
    check "render $extra = the default file" cmp -s "$W/x.png" "$W/def.png"
done
"$LRP" render "$W/s.npy" -o "$W/abs0.png" --cmap gray --norm absolute
expect_exit 0 "render --sign absolute --norm absolute" "$LRP" render "$W/s.npy" -o "$W/abs1.png" --cmap gray --norm absolute --sign absolute
check "--sign absolute --norm absolute = --norm absolute" cmp -s "$W/abs0.png" "$W/abs1.png"
# --sign alone defaults to the absolute norm and hot
"$LRP" render "$W/s.npy" -o "$W/p1.png" --sign positive
"$LRP" render "$W/s.npy" -o "$W/p2.png" --sign positive --norm absolute --cmap hot
check "--sign positive defaults to --norm absolute --cmap hot" cmp -s "$W/p1.png" "$W/p2.png"

# ------------------------------------------------------------------------
# 2. --sign, --clip-percentile, --vmin/--vmax alone: palette indices (gray map)
# against NumPy float32 doing what the man page says
expect_idx() { # PNG NPY SIGN NORM CLIP VMIN VMAX  (VMIN/VMAX: - for automatic)
    "$PY" - "$@" << 'PYEOF'
import sys
import numpy as np
from PIL import Image
png, npy, sign, norm, clip, vmin, vmax = sys.argv[1:]
s = np.load(npy).astype(np.float32).reshape(-1)
d = {'all': s, 'positive': np.where(s > 0, s, np.float32(0)), 'negative': np.where(s < 0, s, np.float32(0)),
     'absolute': np.abs(s)}[sign].astype(np.float32)
clip = float(clip)
m = np.abs(d)
if clip > 0:
    srt = np.sort(m)
    cs = np.cumsum(srt.astype(np.float64))
    a = srt[np.where(cs >= cs[-1] * 0.01 * (100 - clip))[0][0]]
else:
    a = m.max()
if norm == 'symmetric':
    lo, hi = -a, a
elif norm == 'absolute':
    lo, hi, d = np.float32(0), a, m
else:
    lo, hi = d.min(), d.max()
if vmin == '-' and vmax == '-':
    span = np.float32(hi - lo)
else:
    dlo = float(vmin) if vmin != '-' else float(lo)
    dhi = float(vmax) if vmax != '-' else float(hi)
    lo, span = np.float32(dlo), np.float32(dhi - dlo)
v = (d - np.float32(lo)) / span
with np.errstate(invalid='ignore'):
    u = np.clip(v * np.float32(255), 0, 255)
u = np.where(np.isnan(u), 0, u).astype(np.uint8)
got = np.asarray(Image.open(png)).reshape(-1)
print('same' if np.array_equal(got, u) else f'differ at {int((got != u).sum())} pixels, threshold {a}')
PYEOF
}
if [ -n "$PY" ]; then
    for sign in all positive negative absolute; do
        for norm in symmetric absolute; do
            for clip in 0 2 10; do
                expect_exit 0 "render --sign $sign --norm $norm --clip-percentile $clip" "$LRP" render "$W/s.npy" \
                    -o "$W/c.png" --cmap gray --sign $sign --norm $norm --clip-percentile $clip
                r=$(expect_idx "$W/c.png" "$W/s.npy" $sign $norm $clip - -)
                check "--sign $sign --norm $norm --clip-percentile $clip: indices ($r)" test "$r" = same
            done
        done
        expect_exit 0 "render --sign $sign --norm unaligned" "$LRP" render "$W/s.npy" -o "$W/c.png" --cmap gray \
            --sign $sign --norm unaligned
        r=$(expect_idx "$W/c.png" "$W/s.npy" $sign unaligned 0 - -)
        check "--sign $sign --norm unaligned: indices ($r)" test "$r" = same
    done
    # the test map by hand: magnitudes 400, 300 and 254 values of at most 50.25;
    # the outliers hold more than 2% of the mass each and less than 10% together
    r=$("$PY" -c "
import numpy as np
s = np.load('$W/s.npy').reshape(-1); m = np.sort(np.abs(s))
tot = m.sum(); print(int(m[-1]), int(m[-2]), m[-3], round(float(m[-2] / tot * 100), 1), round(float((m[-1] + m[-2]) / tot * 100), 1))")
    check "test map: outliers 400, 300, then 50.25; 300 holds > 2%, both < 10% of the mass ($r)" \
        awk -v r="$r" 'BEGIN { split(r, a, " "); exit !(a[1] == 400 && a[2] == 300 && a[3] == 50.25 && a[4] > 2 && a[5] < 10) }'
    for spec in "symmetric 10 -" "symmetric - 20" "absolute 5 -" "absolute - 100" "unaligned -40 -" "unaligned - 30"; do
        set -- $spec
        args=(--norm "$1")
        [ "$2" != - ] && args+=(--vmin "$2")
        [ "$3" != - ] && args+=(--vmax "$3")
        expect_exit 0 "render ${args[*]}" "$LRP" render "$W/s.npy" -o "$W/v.png" --cmap gray "${args[@]}"
        r=$(expect_idx "$W/v.png" "$W/s.npy" all "$1" 0 "$2" "$3")
        check "${args[*]}: the other bound automatic ($r)" test "$r" = same
    done
    expect_exit 0 "render --vmax 20 --clip-percentile 5" "$LRP" render "$W/s.npy" -o "$W/v.png" --cmap gray --vmax 20 --clip-percentile 5 --sign negative
    r=$(expect_idx "$W/v.png" "$W/s.npy" negative absolute 5 - 20)
    check "--sign negative --vmax 20 --clip-percentile 5 ($r)" test "$r" = same
fi
# Captum's threshold is a data value where the cumulative mass crosses 100-P:
# at P = 2 that is the largest value itself (it holds more than 2% alone), so
# nothing is clipped; at P = 10 both outliers are, and the scale ends at 50.25
"$LRP" render "$W/s.npy" -o "$W/c2.png" --cmap gray --clip-percentile 2
check "--clip-percentile 2 = no clipping here (the maximum holds > 2% of the mass)" cmp -s "$W/c2.png" "$W/def.png"
"$LRP" render "$W/s.npy" -o "$W/c10.png" --cmap gray --clip-percentile 10
"$LRP" render "$W/s.npy" -o "$W/c10b.png" --cmap gray --vmin -50.25 --vmax 50.25
expect_exit 0 "--clip-percentile 10 = --vmin -50.25 --vmax 50.25 here" "$LRP" compare --tolerance 0 "$W/c10.png" "$W/c10b.png"
check "--clip-percentile 10 differs from no clipping" sh -c "! cmp -s '$W/c10.png' '$W/def.png'"
# bad values: exit 2, one line naming the option
for bad in "--sign bogus:sign" "--sign:sign" "--clip-percentile 100:clip-percentile" "--clip-percentile -1:clip-percentile" \
    "--clip-percentile x:clip-percentile" "--clip-percentile 2 --norm unaligned:unaligned" \
    "--clip-percentile 2 --vmin 0 --vmax 1:clip-percentile" "--vmin 1 --vmax 0:vmax" "--vmin nan:vmin"; do
    args=${bad%:*} word=${bad##*:}
    # shellcheck disable=SC2086
    expect_exit 2 "render $args refused" "$LRP" render "$W/s.npy" -o "$W/bad.png" $args
    one_line_error "render $args" "$word"
done
check "no output after refused options" test ! -e "$W/bad.png"

# ------------------------------------------------------------------------
# 3. --underlay, --alpha relevance
zennit_palette coldnhot > "$W/pal-coldnhot"
expect_exit 0 "explain ResNet-20 horse" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/h.png" -r "$W/h.npy"
"$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/ov.png" --overlay
for extra in "--underlay color" "--alpha constant"; do
    # shellcheck disable=SC2086
    expect_exit 0 "explain --overlay $extra" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/x.png" --overlay $extra
    check "--overlay $extra = --overlay (same bytes)" cmp -s "$W/x.png" "$W/ov.png"
done
expect_exit 0 "explain --underlay gray (implies --overlay)" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/ug.png" --underlay gray
check "--underlay gray: 32x32 RGB ($(png_ihdr "$W/ug.png"))" test "$(png_ihdr "$W/ug.png")" = "32 32 8 2"
expect_exit 0 "explain --underlay none --overlay=1" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/un1.png" --underlay none --overlay=1
expect_exit 0 "--underlay none --overlay=1 = the heatmap" "$LRP" compare --tolerance 0 "$W/un1.png" "$W/h.png"
expect_exit 0 "explain --alpha relevance --overlay=0.8" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/ar.png" --alpha relevance --overlay=0.8
expect_exit 0 "explain --alpha relevance --underlay gray" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/arg.png" --alpha relevance --underlay gray
expect_exit 0 "explain --alpha relevance --underlay none --sign positive --clip-percentile 2" "$LRP" explain "$R20" "$HORSE" \
    "${CIFAR[@]}" -o "$W/arn.png" --alpha relevance --underlay none --sign positive --clip-percentile 2
"$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/hp.png" --sign positive --clip-percentile 2
if [ -n "$PY" ]; then
    blend_check() { # OUT UNDERLAY(color|gray|none) ALPHA WEIGHTED(0|1) HEAT.png SIGN CLIP NORM
        "$PY" - "$@" "$HORSE" "$W/h.npy" << 'PYEOF'
import sys
import numpy as np
from PIL import Image
out, under, alpha, weighted, heat, sign, clip, norm, img, rel = sys.argv[1:]
alpha, clip = float(alpha), float(clip)
im = np.asarray(Image.open(img).convert('RGB')).astype(np.int64)
if under == 'gray':
    u = np.repeat(((im.sum(-1) + 1) // 3)[..., None], 3, -1).astype(np.float64)
elif under == 'none':
    u = np.full(im.shape, 255.0)
else:
    u = im.astype(np.float64)
h = np.asarray(Image.open(heat).convert('RGB')).astype(np.float64)
a = np.full(im.shape[:2], alpha)
if weighted == '1':
    r = np.load(rel).astype(np.float32)[0]
    s = r[0]
    for c in range(1, r.shape[0]):
        s = s + r[c]
    d = {'all': s, 'positive': np.where(s > 0, s, np.float32(0))}[sign]
    m = np.abs(d)
    if clip > 0:
        srt = np.sort(m.reshape(-1)); cs = np.cumsum(srt.astype(np.float64))
        t = srt[np.where(cs >= cs[-1] * 0.01 * (100 - clip))[0][0]]
    else:
        t = m.max()
    w = np.floor(np.minimum(1.0, m.astype(np.float64) / float(t)) * 255.0 + 0.5)
    a = alpha * w / 255.0
want = np.floor(u * (1 - a[..., None]) + h * a[..., None] + 0.5)
got = np.asarray(Image.open(out).convert('RGB')).astype(np.float64)
d = np.abs(got - want).max()
print('same' if d == 0 else f'differ by up to {d} at {int((got != want).any(-1).sum())} pixels')
PYEOF
    }
    r=$(blend_check "$W/ug.png" gray 0.5 0 "$W/h.png" all 0 symmetric)
    check "--underlay gray: round(mean(R,G,B)/2 + heat/2) ($r)" test "$r" = same
    r=$(blend_check "$W/ar.png" color 0.8 1 "$W/h.png" all 0 symmetric)
    check "--alpha relevance: opacity 0.8*|R|/max|R| ($r)" test "$r" = same
    r=$(blend_check "$W/arg.png" gray 0.5 1 "$W/h.png" all 0 symmetric)
    check "--alpha relevance --underlay gray ($r)" test "$r" = same
    r=$(blend_check "$W/arn.png" none 0.5 1 "$W/hp.png" positive 2 absolute)
    check "--alpha relevance --underlay none --sign positive --clip-percentile 2 ($r)" test "$r" = same
fi
# at the original image's size: 40x30 RGB
expect_exit 0 "explain --size input --alpha relevance --underlay gray" "$LRP" explain "$CNN" "$TINY" -o "$W/sz.png" \
    --size input --alpha relevance --underlay gray
check "--size input --alpha relevance: 40x30 RGB ($(png_ihdr "$W/sz.png"))" test "$(png_ihdr "$W/sz.png")" = "40 30 8 2"
# outside the crop, the colour of relevance 0 under this map's scale: with
# --sign positive (absolute norm, hot) index 0; with --vmin -1 alone (symmetric,
# upper bound max|R|) the index of 0 on -1..max|R|
expect_exit 0 "explain --size input --sign positive" "$LRP" explain "$CNN" "$TINY" -o "$W/szp.png" --size input --sign positive -r "$W/tiny.npy"
expect_exit 0 "explain --size input --vmin -1" "$LRP" explain "$CNN" "$TINY" -o "$W/szv.png" --size input --vmin -1
if [ -n "$PY" ]; then
    zennit_palette hot > "$W/pal-hot"
    r=$("$PY" - "$W/szp.png" "$W/szv.png" "$W/tiny.npy" "$W/pal-hot" "$W/pal-coldnhot" << 'PYEOF'
import sys
import numpy as np
from PIL import Image
p, v, rel, hot, cnh = sys.argv[1:]
pal = lambda f: np.array([[int(x[i:i + 2], 16) for i in (0, 2, 4)] for x in open(f).read().split()], np.uint8)
r = np.load(rel).astype(np.float32)[0]
s = r[0]
for c in range(1, r.shape[0]):
    s = s + r[c]
a = np.abs(s).max()
i = int(np.clip(((np.float32(0) - np.float32(-1)) / np.float32(float(a) + 1)) * np.float32(255), 0, 255))
ok = np.array_equal(np.asarray(Image.open(p).convert('RGB'))[0, 0], pal(hot)[0])
ok = ok and np.array_equal(np.asarray(Image.open(v).convert('RGB'))[0, 0], pal(cnh)[i])
print('same' if ok else 'differ')
PYEOF
)
    check "--size input: outside the crop, relevance 0 under the map's own scale ($r)" test "$r" = same
fi
for bad in "--underlay bogus:underlay" "--alpha bogus:alpha" "--alpha:alpha"; do
    args=${bad%:*} word=${bad##*:}
    # shellcheck disable=SC2086
    expect_exit 2 "explain $args refused" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/bad.png" $args
    one_line_error "explain $args" "$word"
done
for args in "--underlay gray" "--alpha relevance" "--side-by-side"; do
    # shellcheck disable=SC2086
    expect_exit 2 "render $args refused (needs the image)" "$LRP" render "$W/s.npy" -o "$W/bad.png" $args
    one_line_error "render $args" "${args%% *}"
done

# ------------------------------------------------------------------------
# 4. --side-by-side: image | heatmap
expect_exit 0 "explain --side-by-side" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/sbs.png" --side-by-side
check "--side-by-side: 64x32 RGB ($(png_ihdr "$W/sbs.png"))" test "$(png_ihdr "$W/sbs.png")" = "64 32 8 2"
expect_exit 0 "explain --side-by-side --overlay" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/sbso.png" --side-by-side --overlay
expect_exit 0 "explain --side-by-side --size input" "$LRP" explain "$CNN" "$TINY" -o "$W/sbsi.png" --side-by-side --size input
check "--side-by-side --size input: 80x30 ($(png_ihdr "$W/sbsi.png"))" test "$(png_ihdr "$W/sbsi.png")" = "80 30 8 2"
if [ -n "$PY" ]; then
    r=$("$PY" - "$W/sbs.png" "$HORSE" "$W/h.png" "$W/sbso.png" "$W/ov.png" << 'PYEOF'
import sys
import numpy as np
from PIL import Image
sbs, img, heat, sbso, ov = [np.asarray(Image.open(p).convert('RGB')) for p in sys.argv[1:]]
ok = np.array_equal(sbs[:, :32], img) and np.array_equal(sbs[:, 32:], heat)
ok = ok and np.array_equal(sbso[:, :32], img) and np.array_equal(sbso[:, 32:], ov)
print('same' if ok else 'differ')
PYEOF
)
    check "--side-by-side: left the image, right the heatmap (or the overlay) ($r)" test "$r" = same
fi

# ------------------------------------------------------------------------
# 5. --colorbar: gap max(2, H/32) white, bar max(4, H/16), row y = pal[round((H-1-y)*255/(H-1))]
colorbar_check() { # PNG HEAT_PNG (or -) PALETTE_FILE HEAT_WIDTH
    "$PY" - "$@" << 'PYEOF'
import sys
import numpy as np
from PIL import Image
png, heat, palf, hw = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pal = np.array([[int(x[i:i + 2], 16) for i in (0, 2, 4)] for x in open(palf).read().split()], np.uint8)
got = np.asarray(Image.open(png).convert('RGB'))
H = got.shape[0]
gap, bar = max(2, H // 32), max(4, H // 16)
msgs = []
if got.shape[1] != hw + gap + bar:
    msgs.append(f'width {got.shape[1]}')
else:
    if heat != '-' and not np.array_equal(got[:, :hw], np.asarray(Image.open(heat).convert('RGB'))):
        msgs.append('heatmap part')
    if not (got[:, hw:hw + gap] == 255).all():
        msgs.append('gap')
    for y in range(H):
        i = ((H - 1 - y) * 255 + (H - 1) // 2) // (H - 1) if H > 1 else 255
        if not (got[y, hw + gap:] == pal[i]).all():
            msgs.append(f'bar row {y}')
            break
    if not (np.array_equal(got[0, -1], pal[255]) and np.array_equal(got[-1, -1], pal[0])):
        msgs.append('bar ends')
print('same' if not msgs else 'differ: ' + ', '.join(msgs))
PYEOF
}
zennit_palette coldnhot > "$W/pal-coldnhot"
zennit_palette gray > "$W/pal-gray"
expect_exit 0 "render --colorbar" "$LRP" render "$W/s.npy" -o "$W/cb.png" --cmap gray --colorbar
check "render --colorbar: 16+2+4 x 16 RGB ($(png_ihdr "$W/cb.png"))" test "$(png_ihdr "$W/cb.png")" = "22 16 8 2"
expect_exit 0 "explain --colorbar" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/cbe.png" --colorbar
check "explain --colorbar: 32+2+4 x 32 RGB ($(png_ihdr "$W/cbe.png"))" test "$(png_ihdr "$W/cbe.png")" = "38 32 8 2"
expect_exit 0 "explain --colorbar --side-by-side" "$LRP" explain "$R20" "$HORSE" "${CIFAR[@]}" -o "$W/cbs.png" --colorbar --side-by-side
check "--colorbar --side-by-side: 64+2+4 x 32 ($(png_ihdr "$W/cbs.png"))" test "$(png_ihdr "$W/cbs.png")" = "70 32 8 2"
# a taller map: 100 rows (gap 3, bar 6)
big=()
for k in $(seq 0 4999); do big+=("$(( k % 7 - 3 ))"); done
mk_npy "$W/big.npy" "1, 1, 100, 50" "${big[@]}"
expect_exit 0 "render --colorbar of 50x100" "$LRP" render "$W/big.npy" -o "$W/cbb.png" --colorbar --cmap coldnhot
"$LRP" render "$W/big.npy" -o "$W/cbb0.png" --cmap coldnhot
if [ -n "$PY" ]; then
    r=$(colorbar_check "$W/cb.png" "$W/def.png" "$W/pal-gray" 16)
    check "render --colorbar: heatmap, white gap, palette bar ($r)" test "$r" = same
    r=$(colorbar_check "$W/cbe.png" "$W/h.png" "$W/pal-coldnhot" 32)
    check "explain --colorbar: heatmap, white gap, palette bar ($r)" test "$r" = same
    r=$(colorbar_check "$W/cbb.png" "$W/cbb0.png" "$W/pal-coldnhot" 50)
    check "render --colorbar, 100 rows ($r)" test "$r" = same
fi
# --grid: one bar for the montage
npy_tool stack "$W/st.npy" "$W/h.npy" "$W/h.npy" "$W/h.npy"
expect_exit 0 "render --grid --colorbar" "$LRP" render "$W/st.npy" --grid -o "$W/gcb.png" --colorbar
check "render --grid --colorbar: 32x96 montage + 3 + 6 ($(png_ihdr "$W/gcb.png"))" test "$(png_ihdr "$W/gcb.png")" = "41 96 8 2"
expect_exit 0 "explain --grid --colorbar" "$LRP" explain "$R20" "$HORSE" "$HORSE" "$HORSE" "${CIFAR[@]}" --grid -o "$W/egcb.png" --colorbar
expect_exit 0 "explain --grid --colorbar = render --grid --colorbar" "$LRP" compare --tolerance 0 "$W/egcb.png" "$W/gcb.png"

# every new option is in --help of the commands it applies to
for o in sign clip-percentile colorbar; do
    check "lrp render --help shows --$o" sh -c "'$LRP' render --help | grep -q -- '--$o'"
done
for o in sign clip-percentile colorbar underlay alpha side-by-side; do
    check "lrp explain --help shows --$o" sh -c "'$LRP' explain --help | grep -q -- '--$o'"
done
finish
