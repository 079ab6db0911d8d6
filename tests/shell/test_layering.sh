#!/usr/bin/env bash
# The layering of src/: every #include "..." of a folder names a header the
# folder may use. The pipeline runs base -> onnx/graph/ops -> engine -> lrp,
# with image and render beside it and cli on top, which sees only the public
# headers of include/. Includes name their folder ("graph/graph.h"); system
# headers (<...>) are not checked. Prints which file breaks which rule.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 2

# What each folder may include: folders (any header in them), single headers
# ("ops/op.h") and the public headers (include/). ops/kernels counts as ops.
# graph/ needs the operator registry (ops/op.h) to look ops up by type, and
# nothing else of ops/; onnx.pb-c.h (generated from onnx.proto) stays in onnx/.
# lrp/ gets models through engine/, never from the ONNX loader directly.
declare -A ALLOW=(
    [include]="lrp.h"
    [base]="base lrp.h"
    [graph]="base graph ops/op.h lrp.h"
    [ops]="base graph ops lrp.h"
    [onnx]="base graph ops onnx onnx.pb-c.h lrp.h"
    [engine]="base graph ops onnx engine lrp.h"
    [lrp]="base graph ops engine lrp lrp.h lrp_metrics.h"
    [image]="base image lrp.h lrp_image.h"
    [render]="base render lrp.h lrp_render.h"
    [cli]="cli lrp.h lrp_image.h lrp_render.h lrp_metrics.h"
)

# layer_violations ROOT: one line "FILE: #include "X" (RULE)" per include of
# ROOT/src and ROOT/include that its folder may not use.
layer_violations() {
    local root=$1 f rel folder inc target allowed ok a
    while IFS= read -r f; do
        rel=${f#"$root"/}
        case $rel in
        include/*) folder=include ;;
        src/*/*) folder=${rel#src/}; folder=${folder%%/*} ;;
        *) folder= ;;
        esac
        allowed=${ALLOW[$folder]-}
        if [ -z "$allowed" ]; then
            echo "$rel: src/$folder/ has no layering rule (add one to tests/shell/test_layering.sh)"
            continue
        fi
        while IFS= read -r inc; do
            ok=0
            case $inc in
            */*) target=${inc%%/*} ;;
            *) target=$inc ;;
            esac
            for a in $allowed; do
                if [ "$a" = "$inc" ]; then
                    ok=1 # the header itself
                elif [ "${a%.h}" = "$a" ] && [ "$inc" != "$target" ] && [ "$a" = "$target" ]; then
                    ok=1 # a header of an allowed folder
                fi
            done
            if [ $ok = 0 ]; then
                case $inc in
                */*) echo "$rel: #include \"$inc\" ($folder/ may include only: $allowed)" ;;
                *) if [ -f "$root/include/$inc" ] || [ "$inc" = onnx.pb-c.h ]; then
                       echo "$rel: #include \"$inc\" ($folder/ may include only: $allowed)"
                   else
                       echo "$rel: #include \"$inc\" (name the folder: \"FOLDER/$inc\")"
                   fi ;;
                esac
            fi
        done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
    done < <(find "$root/src" "$root/include" -name '*.[ch]' | sort)
}

# The checker itself: a tree with one file breaking each kind of rule.
S=$WORK/tree
mkdir -p "$S/include" "$S/src/ops/kernels" "$S/src/base" "$S/src/cli" "$S/src/graph" "$S/src/extra"
printf '#include "lrp.h"\n#include "base/error.h"\n' > "$S/src/base/fine.c"
printf '#include "ops/op.h"\n#include "lrp/rules.h"\n' > "$S/src/ops/kernels/up.c"
printf '#include "ops/conv_attrs.h"\n' > "$S/src/graph/deep.c"
printf '#include "lrp.h"\n#include "image/image.h"\n#include "items.h"\n' > "$S/src/cli/private.c"
printf '#include <stdio.h>\n' > "$S/src/extra/new.c"
printf '#include <stddef.h>\n' > "$S/include/lrp.h"
printf '#include "graph/graph.h"\n' > "$S/include/lrp_x.h"
layer_violations "$S" > "$WORK/selftest"
for want in 'src/ops/kernels/up.c: #include "lrp/rules.h"' 'src/graph/deep.c: #include "ops/conv_attrs.h"' \
    'src/cli/private.c: #include "image/image.h"' 'src/cli/private.c: #include "items.h" (name the folder' \
    'src/extra/new.c: src/extra/ has no layering rule' 'include/lrp_x.h: #include "graph/graph.h"'; do
    check "the checker reports $want" grep -qF "$want" "$WORK/selftest"
done
check "the checker reports nothing else ($(grep -c . "$WORK/selftest") lines: $(tr '\n' ';' < "$WORK/selftest"))" \
    test "$(grep -c . "$WORK/selftest")" -eq 6

# The real tree.
layer_violations "$PWD" > "$WORK/violations"
while IFS= read -r v; do
    not_ok "layering: $v"
done < "$WORK/violations"
for folder in include $(cd src && ls -d -- */ | tr -d /); do
    dir=src/$folder
    [ "$folder" = include ] && dir=include
    n=$(find "$dir" -name '*.[ch]' | wc -l)
    bad=$(grep -c "^$dir/" "$WORK/violations")
    check "$dir/: $n files include only ${ALLOW[$folder]-(no rule)}" test "$bad" -eq 0 -a -n "${ALLOW[$folder]-}"
done
finish
