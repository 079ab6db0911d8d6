#!/usr/bin/env bash
# Batch runs of `lrp explain`: directories with a bad file, --list (stdin and
# file, tab targets), output templates, --skip-existing, --shard, --json (with
# awkward file names), progress and quiet output, and interruption (no partial
# or temporary files left behind).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/png_helpers.sh"

W=$WORK
CNN=$TESTDATA/refset/models/tiny-cnn.onnx
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
CIFAR=(--resize none --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
IN=$TESTDATA/refset/inputs
GOLD=$TESTDATA/refset/golden
have_jq=1
jq_ok() { jq -e "$@" > /dev/null; }
command -v jq > /dev/null || { have_jq=; echo "SKIP: jq missing: JSON checks are skipped"; }

# same_lines NAME FILE_A FILE_B: the two files hold the same sorted lines
same_lines() {
    local n=$1
    if diff <(sort "$2") <(sort "$3") > "$W/diff"; then ok "$n"; else not_ok "$n:"$'\n'"$(head -20 "$W/diff")"; fi
}

# ------------------------------------------------------------------------
# 1. a directory with one corrupt image
mkdir -p "$W/d1/in/sub" "$W/d1/in/.hidden"
cp "$TESTDATA/images/tiny.png" "$W/d1/in/a.png"
head -c 100 "$TESTDATA/images/tiny.png" > "$W/d1/in/bad.png"   # truncated
cp "$TESTDATA/images/tiny.jpg" "$W/d1/in/c.jpg"
cp "$TESTDATA/images/rgb8.png" "$W/d1/in/sub/d.png"
cp "$IN/logo-32.npy" "$W/d1/in/sub/e.npy"
cp "$TESTDATA/images/tiny.png" "$W/d1/in/.hidden/skip.png"    # hidden: not an input
echo "not an image" > "$W/d1/in/notes.txt"                     # not an input
cd "$W/d1" || exit 1
expect_exit 4 "directory with a corrupt image: exit 4" "$LRP" explain "$CNN" in -o 'out/{stem}.png' -r 'out/{stem}.npy'
n=$(printf '%s\n' "$ERR" | grep -c 'bad\.png')
check "one stderr line names the bad file ($n)" test "$n" -eq 1
printf '%s\n' "$ERR" | grep -q 'bad\.png' || echo "  stderr: $ERR"
find out -type f | sort > "$W/got"
printf 'out/%s\n' a.png a.npy c.png c.npy d.png d.npy e.png e.npy | sort > "$W/want"
same_lines "exactly the outputs of the good inputs exist" "$W/got" "$W/want"
check "no temporary files left" test -z "$(files_with_tmp "$W/d1")"
good=0
for f in out/*.png; do [ "$(png_chunks "$f" | tail -1)" = IEND ] && good=$((good + 1)); done
check "every PNG written is complete ($good of 4)" test "$good" -eq 4
# the items ran in sorted order, recursively: a, bad, c, sub/d, sub/e
if [ -n "$have_jq" ]; then
    "$LRP" explain "$CNN" in -o 'out2/{index}-{stem}.png' --json > "$W/j1" 2> /dev/null
    check "directory items in sorted order, recursive" \
        test "$(jq -r '"\(.index):\(.input):\(.status)"' "$W/j1" | tr '\n' ' ')" = \
        "0:in/a.png:ok 1:in/bad.png:error 2:in/c.jpg:ok 3:in/sub/d.png:ok 4:in/sub/e.npy:ok "
    check "the error item's JSON names the file" test "$(jq -r 'select(.status == "error") | .error' "$W/j1" | grep -c bad.png)" -eq 1
fi
# a missing file among the arguments fails that item only
expect_exit 4 "missing input among arguments: exit 4" "$LRP" explain "$CNN" in/a.png in/missing.png in/c.jpg -o 'out3/{stem}.png'
check "missing input: the others written" test -f out3/a.png -a -f out3/c.png -a "$(find out3 -type f | wc -l)" -eq 2
n=$(printf '%s\n' "$ERR" | grep -c 'missing\.png')
check "one stderr line names the missing file ($n)" test "$n" -eq 1
# an output that cannot be written: exit 5
echo x > afile
expect_exit 5 "output under a regular file: exit 5" "$LRP" explain "$CNN" in/a.png -o afile/x.png
one_line_error "unwritable output" "afile"
cd - > /dev/null || exit 1

# ------------------------------------------------------------------------
# 2. --list FILE and --list - with tab targets
cd "$W" || exit 1
{
    echo "# a comment line"
    printf '%s\t5\n' "$IN/camera-32.npy"
    echo
    printf '%s\n' "$IN/logo-32.npy"
    printf '%s\tseven\n' "$IN/chelsea-32.npy"
    echo "#another"
    printf '%s\t3\n' "$IN/rocket-32.npy"
    echo
} > list.txt
for how in file stdin; do
    rm -rf lo
    if [ $how = file ]; then
        expect_exit 4 "--list FILE with a bad target: exit 4" "$LRP" explain "$CNN" --list list.txt -o 'lo/{stem}-{target}.png' -r 'lo/{stem}-{target}.npy' --json
    else
        expect_exit 4 "--list - with a bad target: exit 4" sh -c "'$LRP' explain '$CNN' --list - -o 'lo/{stem}-{target}.png' -r 'lo/{stem}-{target}.npy' --json < list.txt"
    fi
    printf '%s\n' "$OUT" > "$W/jl"
    find lo -type f | sort > "$W/got"
    printf 'lo/%s\n' camera-32-5.png camera-32-5.npy logo-32-7.png logo-32-7.npy rocket-32-3.png rocket-32-3.npy | sort > "$W/want"
    same_lines "--list $how: {target} from the list, predicted class otherwise" "$W/got" "$W/want"
    n=$(printf '%s\n' "$ERR" | grep -c seven)
    check "--list $how: one stderr line for the bad target ($n)" test "$n" -eq 1
    if [ -n "$have_jq" ]; then
        check "--list $how: JSON targets and statuses" \
            test "$(jq -r '"\(.index) \(.status) \(.target)"' "$W/jl" | tr '\n' ',')" = "0 ok 5,1 ok 7,2 error null,3 ok 3,"
        check "--list $how: 4 items (comments and blank lines ignored)" test "$(grep -c . "$W/jl")" -eq 4
    fi
    # the list's target is the one explained: zennit's relevance for that class
    expect_exit 0 "--list $how: camera target 5 = zennit's relevance" \
        "$LRP" compare --tolerance 1e-4 lo/camera-32-5.npy "$GOLD/tiny-cnn--camera--5--epsilon_plus_flat.npy"
    expect_exit 0 "--list $how: rocket target 3 is not the predicted class 2" \
        sh -c "! '$LRP' compare --tolerance 1e-4 lo/rocket-32-3.npy '$GOLD/tiny-cnn--rocket--2--epsilon_plus_flat.npy' > /dev/null"
done
# a list target overrides -t; -t applies to lines without one
rm -rf lt
printf '%s\t5\n%s\n' "$IN/camera-32.npy" "$IN/chelsea-32.npy" > list2.txt
expect_exit 0 "--list with -t 3" "$LRP" explain "$CNN" --list list2.txt -t 3 -o 'lt/{stem}-{target}.png'
check "list target wins over -t, -t fills the rest" test -f lt/camera-32-5.png -a -f lt/chelsea-32-3.png
expect_exit 2 "--list of a missing file: exit 2" "$LRP" explain "$CNN" --list nosuchlist.txt -o 'x/{stem}.png'
one_line_error "--list missing" "nosuchlist.txt"
# arguments and a list together
rm -rf la
expect_exit 0 "arguments and --list together" "$LRP" explain "$CNN" "$IN/logo-32.npy" --list list2.txt -o 'la/{index}-{stem}.png'
check "arguments first, then the list" test -f la/0-logo-32.png -a -f la/1-camera-32.png -a -f la/2-chelsea-32.png

# ------------------------------------------------------------------------
# 3. templates
mkdir -p tin/x/y
cp "$IN/camera-32.npy" tin/cam.npy
cp "$IN/logo-32.npy" tin/x/y/logo.npy
cp "$TESTDATA/images/tiny.png" tin/x/pic.png
expect_exit 0 "-o 'out/{dir}/{stem}_{method}.png'" "$LRP" explain "$CNN" tin -o 'tout/{dir}/{stem}_{method}.png' -c epsilon-gamma-box
find tout -type f | sort > got
printf '%s\n' tout/tin/cam_epsilon-gamma-box.png tout/tin/x/pic_epsilon-gamma-box.png tout/tin/x/y/logo_epsilon-gamma-box.png | sort > want
same_lines "{dir}/{stem}_{method}: directories created as needed" got want
expect_exit 0 "-o '{index:04}_{name}.png' -r '{index}-{target}.npy'" "$LRP" explain "$CNN" tin -o 'ti/{index:04}_{name}.png' -r 'ti/{index}-{target}.npy' -c gradient
find ti -type f | sort > got
# items in sorted order: tin/cam.npy, tin/x/pic.png, tin/x/y/logo.npy; predicted classes 2, 2, 7
printf '%s\n' ti/0000_cam.npy.png ti/0001_pic.png.png ti/0002_logo.npy.png ti/0-2.npy ti/1-2.npy ti/2-7.npy | sort > want
same_lines "{index:04}, {name}, {index}, {target}" got want
check "{method} of -c gradient" test "$("$LRP" explain "$CNN" tin/cam.npy -c gradient -o 'tm/{method}.png' > /dev/null 2>&1; ls tm)" = gradient.png
expect_exit 2 "unknown template field: exit 2" "$LRP" explain "$CNN" tin -o 'bad/{colour}.png'
one_line_error "unknown field" "{colour}"
check "nothing written after a usage error" test ! -e bad
expect_exit 2 "several inputs with a plain -o: exit 2" "$LRP" explain "$CNN" tin -o plain.png
one_line_error "plain -o with several inputs" "plain.png"
expect_exit 2 "several inputs with a plain -r: exit 2" "$LRP" explain "$CNN" tin -r plain.npy
one_line_error "plain -r with several inputs" "plain.npy"
check "no plain.png or plain.npy written" test ! -e plain.png -a ! -e plain.npy
expect_exit 0 "one input with a plain -o is fine" "$LRP" explain "$CNN" tin/cam.npy -o single.png
check "single.png written" test -f single.png

# ------------------------------------------------------------------------
# 4. --skip-existing
rm -rf sk
expect_exit 0 "first run" "$LRP" explain "$CNN" tin -o 'sk/{stem}.png' -r 'sk/{stem}.npy'
touch -d '2001-02-03 04:05:06' sk/*
snap() { for f in sk/*; do printf '%s %s %s %s\n' "$f" "$(stat -c '%Y %i' "$f")" "$(cksum < "$f")"; done; }
snap > before
expect_exit 0 "second run with --skip-existing" "$LRP" explain "$CNN" tin -o 'sk/{stem}.png' -r 'sk/{stem}.npy' --skip-existing --json
printf '%s\n' "$OUT" > js
snap > after
same_lines "--skip-existing leaves files untouched (mtime, inode, bytes)" before after
if [ -n "$have_jq" ]; then
    check "--skip-existing: every item reported skipped" \
        test "$(jq -r .status js | sort | uniq -c | tr -s ' ')" = " 3 skipped"
fi
rm sk/logo.png
expect_exit 0 "--skip-existing after deleting one output" "$LRP" explain "$CNN" tin -o 'sk/{stem}.png' -r 'sk/{stem}.npy' --skip-existing --json
printf '%s\n' "$OUT" > js2
check "the deleted output is re-created" test -f sk/logo.png
if [ -n "$have_jq" ]; then
    check "only that item ran" test "$(jq -r '"\(.input) \(.status)"' js2 | sort | tr '\n' ',')" = \
        "tin/cam.npy skipped,tin/x/pic.png skipped,tin/x/y/logo.npy ok,"
fi
grep -v 'sk/logo' before > b2
snap | grep -v 'sk/logo' > a2
same_lines "the other outputs stay untouched" b2 a2
expect_exit 0 "without --skip-existing everything is rewritten" "$LRP" explain "$CNN" tin -o 'sk/{stem}.png' -r 'sk/{stem}.npy'
check "rewritten outputs have new mtimes" test "$(stat -c %Y sk/cam.png)" -gt 981172000

# ------------------------------------------------------------------------
# 5. --shard K/N
mkdir -p sh
for i in $(seq 1 7); do cp "$IN/camera-32.npy" "sh/in$i.npy"; done
if [ -n "$have_jq" ]; then
    : > shard-all
    for k in 0 1 2; do
        expect_exit 0 "--shard $k/3" "$LRP" explain "$CNN" sh --shard $k/3 -o "so/{index}.png" --json
        printf '%s\n' "$OUT" | jq -r .index > "shard$k"
        cat "shard$k" >> shard-all
        check "--shard $k/3 takes items k, k+3, ..." test "$(tr '\n' ' ' < shard$k)" = \
            "$(seq $k 3 6 | tr '\n' ' ')"
    done
    seq 0 6 > want
    same_lines "shards 0/3, 1/3, 2/3 cover every item exactly once" shard-all want
    check "one output per item" test "$(find so -type f | wc -l)" -eq 7
fi
expect_exit 0 "--shard 4/5 of 7 items" "$LRP" explain "$CNN" sh --shard 4/5 -o "s5/{index}.png"
check "--shard 4/5: only item 4" test "$(ls s5)" = 4.png
for bad in 3/3 -1/2 1/0 1 a/b 1/2x; do
    expect_exit 2 "--shard $bad refused" "$LRP" explain "$CNN" sh --shard "$bad" -o "sx/{index}.png"
    one_line_error "--shard $bad" "shard"
done

# ------------------------------------------------------------------------
# 6. --json: fields, and file names that need escaping
if [ -n "$have_jq" ]; then
    expect_exit 0 "--json run" "$LRP" explain "$CNN" "$IN/camera-32.npy" -o jo.png -r jo.npy --json
    printf '%s\n' "$OUT" > j
    check "--json: one line that parses" test "$(wc -l < j)" -eq 1 -a "$(jq -c . j | wc -l)" -eq 1
    check "--json: all fields with their types" jq_ok '
        (.input | type) == "string" and .index == 0 and .status == "ok" and .method == "epsilon-plus-flat" and
        .outputs.heatmap == "jo.png" and .outputs.relevance == "jo.npy" and .predicted == 2 and
        (.logit | type) == "number" and .target == 2 and (.relevance_sum | type) == "number" and
        (.seconds | type) == "number" and .seconds >= 0' j
    # the logit and relevance sum are the golden ones (zennit)
    check "--json: relevance_sum matches the relevance file" sh -c \
        "'$LRP' compare --tolerance 1e-4 jo.npy '$GOLD/tiny-cnn--camera--2--epsilon_plus_flat.npy' > /dev/null"
    # awkward names: space, quotes, backslash, UTF-8, a tab, and a byte that is not UTF-8
    mkdir -p odd
    names=("a b.npy" "q\"uote's.npy" 'back\slash.npy' "ünïcødé-→.npy" $'tab\there.npy' "semi;colon&amp.npy")
    for nm in "${names[@]}"; do cp "$IN/logo-32.npy" "odd/$nm"; done
    args=()
    for nm in "${names[@]}"; do args+=("odd/$nm"); done
    expect_exit 0 "--json with awkward file names" "$LRP" explain "$CNN" "${args[@]}" -o 'oddout/{stem}.png' --json
    printf '%s\n' "$OUT" > jodd
    check "awkward names: every line parses as JSON" test "$(jq -c . jodd | wc -l)" -eq ${#names[@]}
    printf '%s\n' "${args[@]}" > want
    jq -r .input jodd > got
    same_lines "awkward names round-trip through jq (input)" got want
    for nm in "${names[@]}"; do printf 'oddout/%s.png\n' "${nm%.npy}"; done > want
    jq -r .outputs.heatmap jodd > got
    same_lines "awkward names round-trip through jq (outputs.heatmap)" got want
    n=0
    while IFS= read -r f; do [ -f "$f" ] && n=$((n + 1)); done < got
    check "the named outputs exist ($n)" test $n -eq ${#names[@]}
    cp "$IN/logo-32.npy" odd/$'bad\xffbyte.npy'
    "$LRP" explain "$CNN" odd/$'bad\xffbyte.npy' -o 'oddout2/x.png' --json > jbad 2> /dev/null
    check "a file name that is not UTF-8 still gives valid JSON" jq_ok '.input | contains("byte")' jbad
    # strictly valid UTF-8 for every kind of bad sequence: a stray continuation
    # byte, leads F5-FF, overlong forms, a surrogate, beyond U+10FFFF, a
    # truncated sequence; valid multibyte characters pass unchanged
    mkdir -p utf
    bads=($'a\x80b' $'b\xff\x80\x80' $'c\xf8\x88\x80\x80\x80' $'d\xc0\xaf' $'e\xe0\x80\xaf' $'f\xf0\x80\x80\xaf'
        $'g\xed\xa0\x80' $'h\xf4\x90\x80\x80' $'i\xe2\x82' $'j\xc3')
    for b in "${bads[@]}"; do cp "$IN/logo-32.npy" "utf/$b.npy"; done
    cp "$IN/logo-32.npy" "utf/ok-€-😀-ß.npy"
    "$LRP" explain "$CNN" utf -o 'utfout/{index}.png' --json > jutf 2> /dev/null
    if [ -n "$PY" ]; then
        r=$("$PY" -c '
import json, sys
bad = 0
names = []
for line in open(sys.argv[1], "rb"):
    try:
        names.append(json.loads(line.decode("utf-8", errors="strict"))["input"])
    except Exception as e:
        bad += 1
ok = [n for n in names if n == "utf/ok-€-😀-ß.npy"]
print(f"{len(names)} {bad} {len(ok)}")' jutf)
        check "JSON is strict UTF-8 for invalid names; valid ones unchanged (lines ok/bad/valid-name: $r)" \
            test "$r" = "$(( ${#bads[@]} + 1 )) 0 1"
    elif iconv -f UTF-8 -t UTF-8 < /dev/null > /dev/null 2>&1; then
        check "JSON is valid UTF-8 for invalid names (iconv)" sh -c "iconv -f UTF-8 -t UTF-8 < jutf > /dev/null"
    fi
    # error items are JSON too, with the error text
    printf '%s\n' "$IN/camera-32.npy" "$W/nope\"\\.npy" > l3
    "$LRP" explain "$CNN" --list l3 -o 'e3/{stem}.png' --json > je 2> /dev/null
    check "error items are valid JSON with status and error" \
        jq_ok -s 'length == 2 and .[1].status == "error" and (.[1].error | contains("nope\"\\.npy")) and .[1].input == "'"$W"'/nope\"\\.npy"' je
fi

# ------------------------------------------------------------------------
# 7. progress and quiet output
"$LRP" explain "$CNN" sh -o 'pq/{stem}.png' > pout 2> perr
check "success with stderr not a terminal: stderr empty" test ! -s perr
check "success: one stdout line per item" test "$(wc -l < pout)" -eq 7
"$LRP" explain "$CNN" sh -o 'pq2/{stem}.png' -q > qout 2> qerr
check "-q: nothing on stdout" test ! -s qout
check "-q: nothing on stderr" test ! -s qerr
check "-q: outputs still written" test "$(find pq2 -type f | wc -l)" -eq 7
if [ -n "$have_jq" ]; then
    "$LRP" explain "$CNN" sh -o 'pq3/{stem}.png' -q --json > qjout 2> qjerr
    check "-q --json: only the JSON lines" test "$(jq -c . qjout | wc -l)" -eq 7 -a ! -s qjerr
fi
if command -v script > /dev/null && script -qec true /dev/null > /dev/null 2>&1; then
    # stderr on a pseudo-terminal, stdout to a file
    script -qec "'$LRP' explain '$CNN' sh -o 'pt/{stem}.png' > '$W/term-out' 2> /dev/tty" "$W/typescript" > /dev/null 2>&1
    tr '\r' '\n' < "$W/typescript" > "$W/ts"
    check "progress on a terminal: a k/7 progress line on stderr" grep -qE '\b[0-6]/7\b' "$W/ts"
    check "progress goes to stderr, not stdout" sh -c "! grep -qE '\\b[0-6]/7\\b' '$W/term-out'"
    check "stdout still has the 7 result lines" test "$(grep -c 'predicted' "$W/term-out")" -eq 7
    script -qec "'$LRP' explain '$CNN' sh -o 'pt2/{stem}.png' -q > '$W/term-out2' 2> /dev/tty" "$W/typescript2" > /dev/null 2>&1
    tr '\r' '\n' < "$W/typescript2" > "$W/ts2"
    check "-q on a terminal: no progress" sh -c "! grep -qE '[0-9]/7' '$W/ts2'"
    # a resumed run: the time left comes from the items done, not from those skipped (which took no time)
    mkdir -p pt3
    cp pt/* pt3/ && rm -f "pt3/$(ls pt3 | sort | tail -1)"
    script -qec "'$LRP' explain '$CNN' sh -o 'pt3/{stem}.png' --skip-existing > /dev/null 2> /dev/tty" \
        "$W/typescript3" > /dev/null 2>&1
    tr '\r' '\n' < "$W/typescript3" | sed 's/\x1b\[K//g' > "$W/ts3"
    check "--skip-existing on a terminal: the skipped items do not promise 0s left" \
        sh -c "grep -qE '6/7  \\? left' '$W/ts3' && ! grep -qE '[1-6]/7  0s left' '$W/ts3'"
    check "--skip-existing: the missing output is written" test "$(find pt3 -type f | wc -l)" -eq 7
else
    echo "SKIP: script (util-linux) unavailable: the progress line on a terminal is not checked"
fi

# ------------------------------------------------------------------------
# 8. interruption: SIGINT / SIGTERM leave no partial or temporary files
mkdir -p many
for i in $(seq -w 1 400); do cp "$HORSE" "many/h$i.png"; done
# a slow method when the attributors exist, else ResNet-20 (about 25 ms a horse)
slow=("$R20" many "${CIFAR[@]}")
if "$LRP" explain "$CNN" "$HORSE" -a integrated-gradients --steps 50 -o ig-probe.png > /dev/null 2>&1; then
    slow=("$CNN" many -a integrated-gradients --steps 200)
else
    echo "note: integrated-gradients unavailable; interrupting a ResNet-20 batch instead"
fi
full=$("$LRP" explain "${slow[@]:0:1}" "$HORSE" "${slow[@]:2}" -r full.npy -q && stat -c %s full.npy)
for sig in INT TERM; do
    rm -rf "int$sig"
    "$LRP" explain "${slow[@]}" -o "int$sig/{stem}.png" -r "int$sig/{stem}.npy" -q &
    pid=$!
    # wait until some outputs exist, then interrupt
    for _ in $(seq 1 100); do
        [ "$(find "int$sig" -name '*.png' 2> /dev/null | wc -l)" -ge 5 ] && break
        sleep 0.05
    done
    kill -s $sig $pid
    wait $pid
    rc=$?
    check "SIG$sig: the run stopped by the signal (exit $rc)" test $rc -ge 128
    check "SIG$sig: no temporary files left" test -z "$(files_with_tmp "int$sig")"
    npng=$(find "int$sig" -name '*.png' | wc -l)
    nnpy=$(find "int$sig" -name '*.npy' | wc -l)
    check "SIG$sig: stopped part-way ($npng of 400 heatmaps)" test "$npng" -gt 0 -a "$npng" -lt 400
    bad=0
    for f in "int$sig"/*.png; do [ "$(png_chunks "$f" | tail -1)" = IEND ] || bad=$((bad + 1)); done
    check "SIG$sig: every PNG present is complete" test $bad -eq 0
    sizes=$(find "int$sig" -name '*.npy' -exec stat -c %s {} + | sort -u | tr '\n' ' ')
    check "SIG$sig: every .npy present is complete ($sizes; whole: $full)" test "$sizes" = "$full "
    check "SIG$sig: heatmaps and relevances pair up (png $npng, npy $nnpy)" test $((npng - nnpy)) -ge -1 -a $((npng - nnpy)) -le 0
done

# many interruptions of a fast batch, at random moments: creating the
# temporary file is a large part of each item's time here, so a signal that
# arrives while the file is being created must not leave it behind either
for i in $(seq 1 3000); do printf '%s\n' "$IN/camera-32.npy"; done > fast.list
left=0 stopped=0 rounds=12
for r in $(seq 1 $rounds); do
    rm -rf fast
    sig=INT
    [ $((r % 2)) = 0 ] && sig=TERM
    "$LRP" explain "$CNN" --list fast.list -o 'fast/{index}.png' -r 'fast/{index}.npy' -q &
    pid=$!
    sleep "0.$((RANDOM % 25 + 5))"
    kill -s $sig $pid
    wait $pid
    [ $? -ge 128 ] && stopped=$((stopped + 1))
    if [ -n "$(files_with_tmp fast)" ]; then
        left=$((left + 1))
        echo "  round $r (SIG$sig): left $(files_with_tmp fast | head -3 | tr '\n' ' ')"
    fi
done
check "$rounds interruptions at random moments stopped the run ($stopped)" test $stopped -eq $rounds
check "$rounds interruptions at random moments leave no temporary file (left in $left)" test $left -eq 0

cd - > /dev/null || true
finish
