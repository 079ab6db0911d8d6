#!/usr/bin/env bash
# man/lrp.1 documents every command and option that `lrp help` shows, documents
# no option that does not exist, and lists the operators the registry has.
. "$(dirname "$0")/lib.sh"
man=man/lrp.1
check "man page exists" test -f "$man"
help_opts() { "$LRP" help "$1" | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'; }
all=""
for c in explain predict inspect preprocess render compare eval attack concepts; do
    check "man page has the command $c" grep -q "^\.B lrp $c" "$man"
    check "'lrp $c --help' agrees with 'lrp help $c'" cmp -s <("$LRP" $c --help) <("$LRP" help $c)
    for o in $(help_opts $c); do
        all="$all $o"
        esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        if grep -q -- "$esc" "$man"; then ok "man page documents $c $o"; else not_ok "man page lacks $o (lrp $c)"; fi
    done
done
# every long option the man page names exists in some command
for o in $(grep -oE '\\-\\-[a-z][a-z\\-]*' "$man" | sed 's/\\-/-/g' | sort -u); do
    case " $all " in *" $o "*) ok "option $o exists" ;; *) not_ok "man page names $o, which no command has" ;; esac
done
# operators: the registry's list against the man page's FILES section
ops=$(sed -n 's/^ *&lrp_op_\([a-z_0-9]*\),.*/\1/p' src/ops/op_registry.c | wc -l)
listed=$(sed -n '/^Supported operators:/,/^\.SH/p' "$man" | tr ',' '\n' | grep -cE '[A-Z]')
if [ "$ops" -gt 0 ] && [ "$listed" -ge "$ops" ]; then ok "man page lists $listed operators (registry: $ops)"
else not_ok "man page lists $listed operators, the registry has $ops"; fi
for t in $(grep -oE '"[A-Z][A-Za-z]*"' src/ops/*.c | grep -B0 'type' | true); do :; done
for f in src/ops/*.c; do
    t=$(sed -n 's/^ *\.type = "\([A-Za-z]*\)",.*/\1/p' "$f")
    [ -n "$t" ] || continue
    if sed -n '/^Supported operators:/,/^\.SH/p' "$man" | grep -qw "$t"; then ok "man page lists $t"
    else not_ok "man page does not list the operator $t ($f)"; fi
done
check "lrp --help mentions every command" bash -c '"$LRP" --help | grep -q "eval" && "$LRP" --help | grep -q render'
finish
