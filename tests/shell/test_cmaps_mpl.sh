#!/usr/bin/env bash
# matplotlib's colour maps as built-ins: entries checked by hand from
# matplotlib's published definitions, zennit's names unchanged, and (when a
# Python with matplotlib is at hand) every table against matplotlib itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/png_helpers.sh"

W=$WORK
# relevance i + 0.5 with --vmin 0 --vmax 255 is palette index i (as test_heatmaps.sh)
ramp=()
for i in $(seq 0 255); do ramp+=("$i.5"); done
mk_npy "$W/ramp.npy" "1, 1, 16, 16" "${ramp[@]}"
# entry NAME INDEX: the PLTE entry INDEX (0-based) of a ramp rendered with NAME
entry() {
    "$LRP" render "$W/ramp.npy" -o "$W/e.png" --cmap "$1" --vmin 0 --vmax 255 2> /dev/null && png_plte "$W/e.png" | sed -n "$(($2 + 1))p"
}

# By hand, bytes = trunc(255*value) (matplotlib's bytes=True):
# - jet (_jet_data, piecewise linear, LUT x = i/255): red 0 up to 0.35, up to 1
#   at 0.66, 0.5 at 1; green 0 to 0.125, 1 from 0.375 to 0.64, 0 from 0.91; blue
#   0.5 at 0, 1 from 0.11 to 0.34, 0 from 0.65. Entry 0: (0, 0, 0.5) = 00007f;
#   255: (0.5, 0, 0) = 7f0000; 32 (x*255 = 32): green (32 - 31.875)/63.75 -> 0.5
#   -> 0, blue 1: 0000ff; 100: red (100 - 89.25)/79.05*255 = 34.68, green 255,
#   blue 255 - (100 - 86.7)/79.05*255 = 212.10: 22ffd4.
# - viridis (_viridis_data): first (0.267004, 0.004874, 0.329415) = 440154,
#   last (0.993248, 0.906157, 0.143936) = fde724 (trunc, not fde725); viridis_r
#   starts with the last.
# - plasma first (0.050383, 0.029803, 0.527975) = 0c0786; inferno and magma
#   first (0.001462, 0.000466, 0.013866) = 000003; cividis first (0, 0.135112,
#   0.304751) = 00224d.
# - Greys (ColorBrewer, white to black): ffffff .. 000000; Greys_r the other way.
# - matplotlib's bwr ((0,0,1), (1,1,1), (1,0,0)): 0000ff .. ff0000; seismic
#   ((0,0,0.3), (0,0,1), (1,1,1), (1,0,0), (0.5,0,0)): 00004c .. 7f0000.
for spec in jet:0:00007f jet:255:7f0000 jet:32:0000ff jet:100:22ffd4 \
    viridis:0:440154 viridis:255:fde724 viridis_r:0:fde724 viridis_r:255:440154 \
    plasma:0:0c0786 inferno:0:000003 magma:0:000003 cividis:0:00224d \
    Greys:0:ffffff Greys:255:000000 Greys_r:0:000000 Greys_r:255:ffffff \
    mpl:bwr:0:0000ff mpl:bwr:255:ff0000 mpl:seismic:0:00004c mpl:seismic:255:7f0000; do
    want=${spec##*:} rest=${spec%:*}
    idx=${rest##*:} name=${rest%:*}
    got=$(entry "$name" "$idx")
    check "--cmap $name entry $idx = $want (by hand) ($got)" test "$got" = "$want"
done
# the required names all exist (each also reversed), and render as palette PNGs
for n in viridis plasma inferno magma cividis RdBu bwr seismic coolwarm jet Reds Blues Greys gray turbo; do
    for v in "$n" "${n}_r" "mpl:$n"; do
        case $v in bwr | seismic | gray) continue ;; esac # zennit's, checked below
        expect_exit 0 "render --cmap $v" "$LRP" render "$W/ramp.npy" -o "$W/m.png" --cmap "$v" --vmin 0 --vmax 255
        check "--cmap $v: a palette PNG with 256 entries" test "$(png_plte "$W/m.png" | wc -l)" = 256
    done
done
check "mpl:viridis = viridis" test "$(entry mpl:viridis 77)" = "$(entry viridis 77)"
# zennit's names stay zennit's (defaults unchanged); mpl:NAME is matplotlib's
for n in gray bwr seismic hot; do
    zennit_palette "$n" > "$W/z-$n"
    "$LRP" render "$W/ramp.npy" -o "$W/z.png" --cmap "$n" --vmin 0 --vmax 255
    check "--cmap $n is still zennit's table" cmp -s <(png_plte "$W/z.png") "$W/z-$n"
    "$LRP" render "$W/ramp.npy" -o "$W/m.png" --cmap "mpl:$n" --vmin 0 --vmax 255
    check "--cmap mpl:$n differs from zennit's $n" sh -c "! cmp -s '$W/z.png' '$W/m.png'"
done
# matplotlib's gray truncates i/255*255: entry 33 is 32 there, 33 in zennit's
check "mpl:gray entry 33 = 202020, zennit's gray 212121" test "$(entry mpl:gray 33) $(entry gray 33)" = "202020 212121"
# --level interpolates between the table's entries; level 1 is the table
"$LRP" render "$W/ramp.npy" -o "$W/l1.png" --cmap viridis --vmin 0 --vmax 255
"$LRP" render "$W/ramp.npy" -o "$W/l1b.png" --cmap viridis --vmin 0 --vmax 255 --level 1
check "--level 1 = the table" cmp -s "$W/l1.png" "$W/l1b.png"
expect_exit 0 "render --cmap viridis --level 0.5" "$LRP" render "$W/ramp.npy" -o "$W/l05.png" --cmap viridis --vmin 0 --vmax 255 --level 0.5
check "--level 0.5 compresses viridis around its middle entry" \
    test "$(png_plte "$W/l05.png" | sed -n '1p;256p' | tr '\n' ' ')" != "$(png_plte "$W/l1.png" | sed -n '1p;256p' | tr '\n' ' ')"
# bad names: exit 2, one line
for bad in mpl:nope viridiss mpl: Viridis; do
    expect_exit 2 "--cmap $bad refused" "$LRP" render "$W/ramp.npy" -o "$W/bad.png" --cmap "$bad"
    one_line_error "--cmap $bad" "$bad"
done
# the help lists the names
check "lrp render --help names viridis, RdBu and jet" sh -c "'$LRP' render --help | tr -s ' \n' ' ' | grep -q 'viridis, plasma' && '$LRP' render --help | grep -q RdBu && '$LRP' render --help | grep -q jet"

# every table against matplotlib itself (Debian's python3-matplotlib), if present
MPL=
for p in /usr/bin/python3 python3; do
    if command -v "$p" > /dev/null 2>&1 && "$p" -c 'import matplotlib, numpy' 2> /dev/null; then MPL=$p; break; fi
done
if [ -z "$MPL" ]; then
    echo "SKIP: no Python with matplotlib: the full tables are not compared"
else
    names=$("$LRP" render --help | tr -s ' \n' ' ' | sed 's/.*colour map: //; s/ (zennit.*//' | tr -d ',' | cut -d' ' -f12-)
    n=0 bad=0
    for name in $names; do
        for v in "$name" "${name}_r"; do
            n=$((n + 1))
            "$LRP" render "$W/ramp.npy" -o "$W/t.png" --cmap "$v" --vmin 0 --vmax 255
            png_plte "$W/t.png" > "$W/got"
            "$MPL" -c "
import numpy as np
from matplotlib import colormaps
t = colormaps['$v'](np.linspace(0, 1, 256), bytes=True)[:, :3]
print('\n'.join('%02x%02x%02x' % tuple(int(c) for c in r) for r in t))" > "$W/want"
            cmp -s "$W/got" "$W/want" || { bad=$((bad + 1)); echo "  differs: $v"; }
        done
    done
    for v in gray gray_r bwr bwr_r seismic seismic_r hot hot_r; do
        n=$((n + 1))
        "$LRP" render "$W/ramp.npy" -o "$W/t.png" --cmap "mpl:$v" --vmin 0 --vmax 255
        png_plte "$W/t.png" > "$W/got"
        "$MPL" -c "
import numpy as np
from matplotlib import colormaps
t = colormaps['$v'](np.linspace(0, 1, 256), bytes=True)[:, :3]
print('\n'.join('%02x%02x%02x' % tuple(int(c) for c in r) for r in t))" > "$W/want"
        cmp -s "$W/got" "$W/want" || { bad=$((bad + 1)); echo "  differs: mpl:$v"; }
    done
    echo "matplotlib tables: $((n - bad))/$n equal"
    check "every built-in matplotlib table = matplotlib's bytes ($((n - bad))/$n)" test "$n" -ge 70 -a "$bad" -eq 0
fi
finish
