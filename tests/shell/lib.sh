# Helpers for the command-line tests. Each test script sources this, runs
# checks, and ends with `finish`. $LRP is the binary, $TESTDATA the test data.
set -u
: "${LRP:?set LRP to the lrp binary}" "${TESTDATA:?set TESTDATA}"
T_PASS=0
T_FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lrp-shell.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

ok() { T_PASS=$((T_PASS + 1)); echo "ok $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $*"; }

# check NAME COMMAND...: the command must succeed
check() { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; fi; }

# expect_exit CODE NAME COMMAND...: runs the command, checks its exit status,
# and keeps its stdout and stderr in $OUT and $ERR.
expect_exit() {
    local want=$1 n=$2; shift 2
    "$@" > "$WORK/out" 2> "$WORK/err"
    local got=$?
    OUT=$(cat "$WORK/out"); ERR=$(cat "$WORK/err")
    if [ "$got" -eq "$want" ]; then ok "$n (exit $got)"; else not_ok "$n: exit $got, wanted $want; stderr: $ERR"; fi
}

# one_line_error NAME WORD: stderr from the last expect_exit is one line naming WORD
one_line_error() {
    local n=$1 word=$2 lines
    lines=$(printf '%s' "$ERR" | grep -c .)
    if [ "$lines" -eq 1 ] && printf '%s' "$ERR" | grep -qF -- "$word"; then ok "$n: one line naming $word"
    else not_ok "$n: stderr should be one line naming $word, got: $ERR"; fi
}

finish() {
    echo "$T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ]
}

shared_dir() {
    if [ -n "${LRP_SHARED:-}" ]; then [ -d "$LRP_SHARED" ] && echo "$LRP_SHARED"; return; fi
    [ -d ../shared/refset ] && (cd ../shared && pwd)
}

# npy_values FILE: the float32 values of a .npy (version 1), one per line
npy_values() {
    perl -e '
        local $/; open my $f, "<", $ARGV[0] or die; binmode $f; my $t = <$f>;
        substr($t, 0, 6) eq "\x93NUMPY" or die "not npy";
        my $hl = unpack("v", substr($t, 8, 2));
        substr($t, 10, $hl) =~ /<f4/ or die "not float32";
        printf "%.9g\n", $_ for unpack("f<*", substr($t, 10 + $hl));' "$1"
}
# json_logits FILE: the numbers of "logits":[...] in lrp predict --json output, one per line
json_logits() { perl -ne 'if (/"logits":\[([^\]]*)\]/) { print "$_\n" for split /,/, $1 }' "$1"; }
# max_err A B: max |a - b| / max |b| over two files of numbers, line by line ("length" when they differ)
max_err() {
    paste -d' ' "$1" "$2" | awk '
        NF != 2 { bad = 1 }
        { d = $1 - $2; if (d < 0) d = -d; if (d > e) e = d; m2 = $2 < 0 ? -$2 : $2; if (m2 > m) m = m2 }
        END { if (bad || NR == 0 || m == 0) print "length"; else printf "%.3g\n", e / m }'
}
