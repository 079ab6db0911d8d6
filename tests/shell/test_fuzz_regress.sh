#!/usr/bin/env bash
# The fuzzers' findings stay fixed: every reproducer in fuzz/regress/NAME/
# (and every hand-made seed in fuzz/seeds/NAME/) runs through the plain build
# of harness NAME (BUILD/fuzz/replay_NAME, see fuzz/fuzz.mk) without a crash,
# an abort, a sanitizer report (in a sanitizer build) or a hang.
. "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=$(cd "$(dirname "$LRP")" && pwd)
# ./lrp is the `build` build's binary; BUILD/lrp for any other BUILD
if [ -n "${FUZZ_REPLAY_DIR:-}" ]; then dir=$FUZZ_REPLAY_DIR
elif [ "$bin_dir" = "$root" ]; then dir=$root/build/fuzz
else dir=$bin_dir/fuzz; fi

n_files=0
for sub in "$root"/fuzz/regress/* "$root"/fuzz/seeds/*; do
    [ -d "$sub" ] || continue
    name=${sub##*/}
    bin=$dir/replay_$name
    if [ ! -x "$bin" ]; then not_ok "$name: no replay program $bin (make tests builds it)"; continue; fi
    for f in "$sub"/*; do
        [ -f "$f" ] || continue
        n_files=$((n_files + 1))
        out=$(timeout 120 "$bin" "$f" 2> "$WORK/err"); rc=$?
        if [ $rc -eq 0 ] && [ "$out" = "1 inputs ran" ]; then ok "$name: ${f#"$root"/}"
        else not_ok "$name: ${f#"$root"/}: exit $rc ($([ $rc -eq 124 ] && echo hang)); $(head -c 600 "$WORK/err")"; fi
    done
done
[ $n_files -gt 0 ] && ok "ran $n_files inputs" || not_ok "no reproducers found under $root/fuzz"
finish
