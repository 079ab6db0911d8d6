# Helpers for the heatmap, batch, determinism and compare tests: PNG chunk
# parsing with od/awk, float32 .npy writing with perl, zennit palettes, and an
# optional Python with PIL and NumPy. Sourced after lib.sh; not a test itself.

# Some tests change directory: make $LRP and $TESTDATA absolute.
case $TESTDATA in /*) ;; *) TESTDATA=$(cd "$TESTDATA" && pwd) ;; esac
case $LRP in /*) ;; */*) LRP=$(cd "$(dirname "$LRP")" && pwd)/$(basename "$LRP") ;; esac

# The bytes of a file as decimal numbers, one per line.
png_bytes() { od -An -v -tu1 "$1" | tr -s ' \n' '\n\n' | sed '/^$/d'; }

# png_chunks FILE: the chunk types in order, one per line ("NOTPNG" if the
# signature is wrong, "TRUNCATED" if the last chunk runs past the end).
png_chunks() {
    png_bytes "$1" | awk '{ b[NR - 1] = $1 }
    END {
        s = ""; for (i = 0; i < 8; i++) s = s (i ? " " : "") b[i]
        if (s != "137 80 78 71 13 10 26 10") { print "NOTPNG"; exit }
        p = 8
        while (p + 12 <= NR) {
            len = b[p] * 16777216 + b[p + 1] * 65536 + b[p + 2] * 256 + b[p + 3]
            printf "%c%c%c%c\n", b[p + 4], b[p + 5], b[p + 6], b[p + 7]
            p += 12 + len
        }
        if (p != NR) print "TRUNCATED"
    }'
}

# png_ihdr FILE: "WIDTH HEIGHT BITDEPTH COLORTYPE" from the IHDR chunk.
png_ihdr() {
    png_bytes "$1" | awk '{ b[NR - 1] = $1 }
    END {
        if (NR < 33) { print "NOTPNG"; exit }
        w = b[16] * 16777216 + b[17] * 65536 + b[18] * 256 + b[19]
        h = b[20] * 16777216 + b[21] * 65536 + b[22] * 256 + b[23]
        print w, h, b[24], b[25]
    }'
}

# png_plte FILE: the PLTE entries as rrggbb, one per line (nothing if none).
png_plte() {
    png_bytes "$1" | awk '{ b[NR - 1] = $1 }
    END {
        p = 8
        while (p + 12 <= NR) {
            len = b[p] * 16777216 + b[p + 1] * 65536 + b[p + 2] * 256 + b[p + 3]
            t = sprintf("%c%c%c%c", b[p + 4], b[p + 5], b[p + 6], b[p + 7])
            if (t == "PLTE") {
                for (i = 0; i + 2 < len; i += 3)
                    printf "%02x%02x%02x\n", b[p + 8 + i], b[p + 9 + i], b[p + 10 + i]
                exit
            }
            p += 12 + len
        }
    }'
}

# mk_npy FILE "SHAPE" VALUE...: a float32 little-endian C-order .npy, e.g.
#   mk_npy r.npy "1, 1, 2, 2" 1 2 3 4
# Written with perl, independently of lrp.
mk_npy() {
    local file=$1 shape=$2
    shift 2
    perl -e '
        my ($file, $shape, @v) = @ARGV;
        $shape .= "," if $shape !~ /,/;
        my $h = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: ($shape), }";
        my $total = 10 + length($h) + 1;
        $h .= " " x ((64 - $total % 64) % 64) . "\n";
        open(my $f, ">:raw", $file) or die "$file: $!";
        print $f "\x93NUMPY\x01\x00", pack("v", length($h)), $h, pack("f<*", @v);
        close($f) or die;
    ' "$file" "$shape" "$@"
}

# npy_tool OP OUT IN... (perl, float32 '<f4' C-order .npy files, version 1 headers):
#   npy_tool reshape OUT IN "SHAPE"   same data, another shape
#   npy_tool chansum OUT IN           (1,C,H,W) -> (H,W): channels summed in order,
#                                     rounding to float32 after each addition
#   npy_tool stack OUT IN1 IN2 ...    (1,C,H,W) files -> (N,C,H,W)
npy_tool() {
    perl -e '
        sub rd { my ($p) = @_; open(my $f, "<:raw", $p) or die "$p: $!"; local $/; my $b = <$f>;
                 die "$p: not a v1 .npy" unless substr($b, 0, 8) eq "\x93NUMPY\x01\x00";
                 my $hl = unpack("v", substr($b, 8, 2)); my $h = substr($b, 10, $hl);
                 die "$p: not <f4" unless $h =~ /\x27descr\x27:\s*\x27<f4\x27/;
                 my ($s) = $h =~ /\x27shape\x27:\s*\(([^)]*)\)/; my @d = grep { length } map { s/\s//gr } split(/,/, $s);
                 return (\@d, substr($b, 10 + $hl)); }
        sub wr { my ($p, $shape, $data) = @_; $shape .= "," if $shape !~ /,/;
                 my $h = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: ($shape), }";
                 $h .= " " x ((64 - (10 + length($h) + 1) % 64) % 64) . "\n";
                 open(my $f, ">:raw", $p) or die "$p: $!"; print $f "\x93NUMPY\x01\x00", pack("v", length($h)), $h, $data; close($f); }
        my ($op, $out, @in) = @ARGV;
        if ($op eq "reshape") { my ($d, $data) = rd($in[0]); wr($out, $in[1], $data); }
        elsif ($op eq "chansum") {
            my ($d, $data) = rd($in[0]); my ($n, $c, $h, $w) = @$d; my @v = unpack("f<*", $data); my $hw = $h * $w;
            my @s = @v[0 .. $hw - 1];
            for my $k (1 .. $c - 1) { for my $i (0 .. $hw - 1) { $s[$i] = unpack("f<", pack("f<", $s[$i] + $v[$k * $hw + $i])); } }
            wr($out, "$h, $w", pack("f<*", @s));
        } elsif ($op eq "stack") {
            my ($d0) = rd($in[0]); my $all = "";
            for my $p (@in) { my ($d, $data) = rd($p); $all .= $data; }
            my @d = @$d0; $d[0] = scalar(@in); wr($out, join(", ", @d), $all);
        } else { die "npy_tool: unknown op $op"; }
    ' "$@"
}

# zennit_palette NAME: the 256 entries (rrggbb, one per line) of a built-in
# colour map at level 1, from zennit's own tables (testdata/zennit-palettes.txt).
zennit_palette() {
    awk -v want="$1" '
        /^# / { cur = ($2 == want) ? 1 : 0; next }
        cur { for (i = 1; i <= NF; i++) { split($i, a, ":"); print a[2] } }
    ' "$TESTDATA/zennit-palettes.txt"
}

# zennit_cmsl NAME: the CMSL string of a built-in colour map.
zennit_cmsl() {
    sed -n "s/^# $1  cmsl='\\([^']*\\)'.*/\\1/p" "$TESTDATA/zennit-palettes.txt"
}

# cmsl_palette CMSL LEVEL: the 256-entry palette zennit's ColorMap(CMSL).palette(LEVEL)
# gives, transcribed from zennit's cmap.py (as described in
# ../shared/zennit-reference.md section 6.3) in awk double arithmetic.
cmsl_palette() {
    awk -v cmsl="$1" -v level="$2" '
    function hex(s) { return strtonum_("0x" s) }
    function strtonum_(s,   i, c, v, d) {
        v = 0; s = tolower(substr(s, 3))
        for (i = 1; i <= length(s); i++) { c = substr(s, i, 1); d = index("0123456789abcdef", c) - 1; v = v * 16 + d }
        return v
    }
    function color(s, k,   r, g, b) {
        if (length(s) == 3) { r = substr(s, 1, 1); r = r r; g = substr(s, 2, 1); g = g g; b = substr(s, 3, 1); b = b b }
        else { r = substr(s, 1, 2); g = substr(s, 3, 2); b = substr(s, 5, 2) }
        cr[k] = hex(r); cg[k] = hex(g); cb[k] = hex(b)
    }
    BEGIN {
        n = split(cmsl, parts, ",")
        nn = 0; nq = 0; p = 0
        for (j = 1; j <= n; j++) {
            s = parts[j]; gsub(/ /, "", s)
            ci = index(s, ":")
            if (ci) { ix = substr(s, 1, ci - 1); col = substr(s, ci + 1); if (length(ix) == 1) ix = ix ix; ix = hex(ix) }
            else { ix = -1; col = s }
            if (j == 1) {
                color(col, nn); id[nn] = 0; nn++
                if (ix > 0) { color(col, nn); id[nn] = ix; nn++; p = ix }
                continue
            }
            if (ix < 0 && j == n) ix = 255
            if (ix < 0) { q[nq++] = col; continue }
            for (k = 0; k < nq; k++) {
                a = (k + 1) * (1 / (nq + 1))
                color(q[k], nn); id[nn] = int(p * (1 - a) + ix * a); nn++
            }
            nq = 0
            color(col, nn); id[nn] = ix; nn++; p = ix
        }
        # terminal node
        cr[nn] = cr[nn - 1]; cg[nn] = cg[nn - 1]; cb[nn] = cb[nn - 1]; id[nn] = 256; nn++
        step = 2 / 255
        for (i = 0; i < 256; i++) {
            x = (i * step + (-1)) * level
            x = (x + 1) / 2; if (x < 0) x = 0; if (x > 1) x = 1
            x = x * 255; if (x > 255) x = 255
            # searchsorted(indices[:-1], x, side=right)
            k = 0; while (k < nn - 1 && id[k] <= x) k++
            a = (x - id[k - 1]) / (id[k] - id[k - 1])
            r = (cr[k - 1] * (1 - a) + cr[k] * a) / 255 * 255
            g = (cg[k - 1] * (1 - a) + cg[k] * a) / 255 * 255
            b = (cb[k - 1] * (1 - a) + cb[k] * a) / 255 * 255
            r = int(sprintf("%.12f", r) + 0); g = int(sprintf("%.12f", g) + 0); b = int(sprintf("%.12f", b) + 0)
            if (r > 255) r = 255; if (g > 255) g = 255; if (b > 255) b = 255
            printf "%02x%02x%02x\n", r, g, b
        }
    }'
}

# A Python 3 with PIL and NumPy for independent decoding, or empty.
find_python() {
    local p
    for p in /usr/bin/python3 python3; do
        if command -v "$p" > /dev/null 2>&1 && "$p" -c 'import PIL, numpy' 2> /dev/null; then
            echo "$p"
            return
        fi
    done
}
PY=$(find_python)
[ -n "${LRP_TEST_NO_PYTHON:-}" ] && PY= # to try the paths without Python

# files_with_tmp DIR: leftover temporary files of atomic writes under DIR.
files_with_tmp() { find "$1" -name '*.tmp-*' 2> /dev/null; }
