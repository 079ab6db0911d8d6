#!/usr/bin/env bash
# Degenerate inputs and non-finite results on the command line, with tiny
# models written by mkonnx.pl:
#  - an empty (1, 3, 0, 0) input for a model with a dynamic height and width
#    is an error of that item (exit 4, one line naming it) for every
#    attributor, predict and eval -- not a SIGFPE that ends a folder run;
#  - a .npy declaring 8 GiB in a small file is a format error even under a
#    memory limit; a malformed header dict is one too;
#  - inspect names symbolic dims (dim_param) instead of printing -1;
#  - a NaN or infinite logit or relevance is an error of that item: exit 4,
#    one line naming the input and the first node that went non-finite,
#    "status":"error" in --json, and no output file; the other items of a
#    folder are done.
. "$(dirname "$0")/lib.sh"

W=$WORK/t
mkdir -p "$W"
MK="perl $(dirname "$0")/mkonnx.pl"
have_jq=1
command -v jq > /dev/null || { have_jq=; echo "SKIP: jq is missing: the --json checks are skipped"; }
jq_ok() { jq -e "$@" > /dev/null 2>&1; }
says() { if printf '%s' "$ERR" | grep -qF -- "$2"; then ok "$1: says '$2'"; else not_ok "$1: stderr should say '$2': $ERR"; fi; }
# mknpy SHAPE VALUES...: a float32 .npy on stdout
mknpy() {
    perl -e 'my ($shape, @v) = @ARGV;
        my $d = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: ($shape), }";
        $d .= " " x ((64 - (10 + length($d) + 1) % 64) % 64) . "\n";
        binmode STDOUT; print "\x93NUMPY\x01\x00", pack("v", length $d), $d, pack("f<*", @v);' "$@"
}

$MK "$W/dyn.onnx" in=x:1,3,H,W node=GlobalAveragePool:x:g node=Flatten:g:y out=y:1,3
$MK "$W/log.onnx" in=x:1,4 node=Log:x:l node=Neg:l:y out=y:1,4
$MK "$W/sqrt.onnx" in=x:1,4 node=Sqrt:x:s node=Relu:s:y out=y:1,4
check "made the test models" test -s "$W/dyn.onnx" -a -s "$W/log.onnx" -a -s "$W/sqrt.onnx"

# ------------------------------------------------------------------------
# an empty input
mkdir -p "$W/empty" "$W/out"
mknpy "1, 3, 0, 0" > "$W/empty/a-empty.npy"
mknpy "1, 3, 2, 2" 1 2 3 4 5 6 7 8 9 10 11 12 > "$W/empty/b-ok.npy"
for attr in gradient input-x-gradient smoothgrad integrated-gradients occlusion random; do
    expect_exit 4 "explain --attributor $attr: empty input" "$LRP" explain "$W/dyn.onnx" "$W/empty/a-empty.npy" \
        --attributor $attr -o "$W/out/e.png"
    one_line_error "$attr: empty input" "a-empty.npy"
    says "$attr: empty input" "empty"
done
check "empty input: no heatmap" test ! -e "$W/out/e.png"
expect_exit 4 "predict: empty input" "$LRP" predict "$W/dyn.onnx" "$W/empty/a-empty.npy"
one_line_error "predict: empty input" "a-empty.npy"
expect_exit 4 "eval --attributor occlusion: empty input" "$LRP" eval "$W/dyn.onnx" "$W/empty/a-empty.npy" \
    --attributor occlusion
one_line_error "eval: empty input" "a-empty.npy"
# a folder: the empty input fails, the next one is done
expect_exit 4 "explain --attributor occlusion: a folder with an empty input" "$LRP" explain "$W/dyn.onnx" \
    "$W/empty" --attributor occlusion -o "$W/out/{stem}.png" --relevance-out "$W/out/{stem}.npy"
says "folder" "a-empty.npy"
says "folder" "1 of 2 inputs failed"
check "folder: the good input's heatmap" test -s "$W/out/b-ok.png"
check "folder: the good input's relevance" test -s "$W/out/b-ok.npy"
check "folder: nothing for the empty one" test ! -e "$W/out/a-empty.png" -a ! -e "$W/out/a-empty.npy"
expect_exit 4 "eval --attributor occlusion: a folder with an empty input" "$LRP" eval "$W/dyn.onnx" "$W/empty" \
    --attributor occlusion --steps 2
check "eval folder: the good input is scored" eval 'printf "%s\n" "$OUT" | grep -q "^.*b-ok.npy,occlusion,"'

# ------------------------------------------------------------------------
# .npy files: 8 GiB declared in a 128-byte file (under a 2 GiB memory
# limit), a header without a comma, and Falsehood for False
perl -e '
    my $d = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: (1, 2, 32768, 32768), }";
    $d .= " " x ((64 - (10 + length($d) + 1) % 64) % 64) . "\n";
    binmode STDOUT; print "\x93NUMPY\x01\x00", pack("v", length $d), $d, "\0" x (128 - 10 - length $d);' \
    > "$W/huge.npy"
check "huge.npy is 128 bytes" test "$(wc -c < "$W/huge.npy")" -eq 128
# AddressSanitizer reserves terabytes of address space for its shadow memory
# and cannot start under ulimit -v: the sanitizer build runs without it.
limit='ulimit -v 2097152 &&'
if ldd "$LRP" 2> /dev/null | grep -q libasan; then limit=; fi
expect_exit 4 "predict: 8 GiB declared${limit:+, under ulimit -v 2 GiB}" bash -c \
    "$limit"' exec "$0" predict "$1" "$2"' "$LRP" "$W/dyn.onnx" "$W/huge.npy"
one_line_error "8 GiB declared" "huge.npy"
says "8 GiB declared" "shorter than its shape"
mknpy "1 4" 1 2 3 4 > "$W/nocomma.npy"
expect_exit 4 "predict: shape (1 4)" "$LRP" predict "$W/log.onnx" "$W/nocomma.npy"
one_line_error "shape (1 4)" "nocomma.npy"
says "shape (1 4)" "malformed .npy header"
mknpy "1, 4" 1 2 3 4 | perl -pe 's/False/Falsehood/; s/    \n$/\n/' > "$W/falsehood.npy"
expect_exit 4 "predict: Falsehood" "$LRP" predict "$W/log.onnx" "$W/falsehood.npy"
one_line_error "Falsehood" "falsehood.npy"
says "Falsehood" "fortran_order"

# ------------------------------------------------------------------------
# inspect: symbolic dims by name
expect_exit 0 "inspect: a dynamic height and width" "$LRP" inspect "$W/dyn.onnx"
check "inspect: (1, 3, H, W), H x W" eval 'printf "%s\n" "$OUT" | grep -q "^input .*(1, 3, H, W)  NCHW, 3 channels, H x W$"'
check "inspect: no -1" eval '! printf "%s\n" "$OUT" | grep -q -- "-1"'
$MK "$W/anon.onnx" in=x:?,3,?,? node=GlobalAveragePool:x:g node=Flatten:g:y out=y:?,3
expect_exit 0 "inspect: unnamed symbolic dims" "$LRP" inspect "$W/anon.onnx"
check "inspect: (N, 3, ?, ?), ?x?" eval 'printf "%s\n" "$OUT" | grep -q "^input .*(N, 3, ?, ?)  NCHW, 3 channels, ?x?$"'

# ------------------------------------------------------------------------
# non-finite results
mkdir -p "$W/nan" "$W/nout"
mknpy "1, 4" -1 1 2 3 > "$W/nan/a-neg.npy"   # Log(-1) = NaN
mknpy "1, 4" 1 1 2 3 > "$W/nan/b-pos.npy"
for attr in gradient occlusion smoothgrad; do
    expect_exit 4 "explain --attributor $attr: NaN logits" "$LRP" explain "$W/log.onnx" "$W/nan/a-neg.npy" \
        --attributor $attr -o "$W/nout/neg.png" --relevance-out "$W/nout/neg.npy"
    one_line_error "$attr: NaN logits" "a-neg.npy"
    says "$attr: NaN logits" "node l (Log)"
done
check "NaN logits: no PNG, no .npy" test ! -e "$W/nout/neg.png" -a ! -e "$W/nout/neg.npy"
expect_exit 4 "predict: NaN logits" "$LRP" predict "$W/log.onnx" "$W/nan/a-neg.npy"
one_line_error "predict: NaN logits" "a-neg.npy"
says "predict: NaN logits" "node l (Log)"
expect_exit 4 "eval: NaN logits" "$LRP" eval "$W/log.onnx" "$W/nan/a-neg.npy" --steps 2
one_line_error "eval: NaN logits" "a-neg.npy"
# the relevance: Sqrt is finite at 0, its gradient is not
mknpy "1, 4" 0 1 4 9 > "$W/zero.npy"
expect_exit 4 "explain: infinite relevance" "$LRP" explain "$W/sqrt.onnx" "$W/zero.npy" --target 0 \
    -o "$W/nout/z.png"
one_line_error "infinite relevance" "zero.npy"
says "infinite relevance" "node s (Sqrt)"
says "infinite relevance" "relevance goes non-finite"
check "infinite relevance: no PNG" test ! -e "$W/nout/z.png"
# a folder: the NaN item fails, the other is done
expect_exit 4 "explain: a folder with a NaN item" "$LRP" explain "$W/log.onnx" "$W/nan" -o "$W/nout/{stem}.png"
check "folder: the finite item's heatmap" test -s "$W/nout/b-pos.png"
check "folder: nothing for the NaN item" test ! -e "$W/nout/a-neg.png"
if [ -n "$have_jq" ]; then
    expect_exit 4 "explain --json: a folder with a NaN item" "$LRP" explain "$W/log.onnx" "$W/nan" \
        -o "$W/nout/j-{stem}.png" --json
    check "json: the NaN item is an error naming the node" \
        jq_ok -s '.[0].status == "error" and (.[0].error | test("node l \\(Log\\)")) and .[0].input == "'"$W/nan/a-neg.npy"'"' \
        <<< "$OUT"
    check "json: the finite item is ok" jq_ok -s '.[1].status == "ok" and (.[1].relevance_sum | type) == "number"' \
        <<< "$OUT"
    expect_exit 4 "predict --json: a folder with a NaN item" "$LRP" predict "$W/log.onnx" "$W/nan" --json
    check "predict json: error, then ok" jq_ok -s '.[0].status == "error" and .[1].status == "ok"' <<< "$OUT"
    expect_exit 4 "eval --json: a folder with a NaN item" "$LRP" eval "$W/log.onnx" "$W/nan" --json --steps 2
    check "eval json: error (and no ok on it), then ok" \
        jq_ok -s '.[0].status == "error" and (.[0] | has("aopc_morf") | not) and .[1].status == "ok"' <<< "$OUT"
fi

# render: a relevance holding NaN or an infinity gets no heatmap
mknpy "1, 1, 2, 2" 0.5 nan 1 2 > "$W/rnan.npy"
mknpy "1, 1, 2, 2" 0.5 inf 1 2 > "$W/rinf.npy"
for f in rnan rinf; do
    expect_exit 4 "render of $f.npy" "$LRP" render "$W/$f.npy" -o "$W/$f.png"
    one_line_error "render of $f.npy" "$f.npy"
    check "render of $f.npy: no PNG" test ! -e "$W/$f.png"
done
mknpy "1, 1, 2, 2" 0.5 -1 1 2 > "$W/rok.npy"
expect_exit 0 "render of a finite relevance" "$LRP" render "$W/rok.npy" -o "$W/rok.png"
finish
