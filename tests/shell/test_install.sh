#!/usr/bin/env bash
# make install: the binary, man page, public headers, static and shared
# library and pkg-config file land under PREFIX (or DESTDIR/PREFIX); every
# installed header compiles on its own; liblrp.so exports exactly the lrp_*
# functions the installed headers declare (LRP_API), and the CLI calls no
# other library function; C programs built with `pkg-config --cflags --libs
# lrp` compile, link (shared and static) and run, one of them loading an
# image, explaining it and writing the heatmap PNG `lrp explain` writes; make
# uninstall removes it all again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/png_helpers.sh"

W=$WORK
P=$W/prefix
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
CNN=$TESTDATA/refset/models/tiny-cnn.onnx

if ! make -s install PREFIX="$P" > "$W/make.log" 2>&1; then
    not_ok "make install PREFIX=\$tmp failed: $(tail -5 "$W/make.log")"
fi
HEADERS="lrp.h lrp_image.h lrp_metrics.h lrp_render.h"
for f in bin/lrp share/man/man1/lrp.1 $(printf 'include/%s ' $HEADERS) lib/liblrp.a lib/liblrp.so lib/pkgconfig/lrp.pc
do
    check "installed $f" test -s "$P/$f"
done
check "bin/lrp is executable" test -x "$P/bin/lrp"
check "installed lrp runs" sh -c "'$P/bin/lrp' version | grep -q '^lrp '"
for h in include/*.h; do
    check "installed ${h#include/} = $h" cmp -s "$P/$h" "$h"
done
check "the installed headers are include/'s ($HEADERS)" \
    test "$(cd "$P/include" && ls *.h | tr '\n' ' ')" = "$HEADERS "

# every installed header compiles alone, in C and C++
for h in $HEADERS; do
    printf '#include <%s>\n' "$h" > "$W/alone.c"
    check "$h compiles on its own" cc -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$P/include" "$W/alone.c"
    if command -v c++ > /dev/null; then
        check "$h compiles on its own as C++" c++ -Wall -Wextra -Werror -fsyntax-only -x c++ -I"$P/include" "$W/alone.c"
    fi
done

# liblrp.so exports the API and nothing else: every exported symbol is an
# lrp_* function declared LRP_API in an installed header, and every such
# declaration is exported
nm -D --defined-only build/liblrp.so | awk '{ print $3 }' | sort > "$W/exported"
cat "$P"/include/*.h | perl -0ne 's{/\*.*?\*/}{}gs; s{^\s*#.*$}{}mg; print "$1\n" while /\bLRP_API\b[^;(]*?\b(\w+)\s*\(/g' |
    sort -u > "$W/api"
bare=$(cat "$P"/include/*.h | perl -0ne 's{/\*.*?\*/}{}gs; print "$1 " while /^(?!LRP_API|typedef|static)[a-z][^\n;{}]*?\b(lrp_\w+)\s*\(/mg')
check "every function the installed headers declare is LRP_API (not: $bare)" test -z "$bare"
check "installed liblrp.so is build/liblrp.so" cmp -s build/liblrp.so "$P/lib/liblrp.so.0"
check "liblrp.so exports $(wc -l < "$W/exported") symbols, all lrp_* (others: $(grep -v '^lrp_' "$W/exported" | head -5 | tr '\n' ' '))" \
    sh -c "test -s '$W/exported' && ! grep -qv '^lrp_' '$W/exported'"
check "every exported symbol is declared LRP_API in an installed header (not: $(comm -23 "$W/exported" "$W/api" | head -5 | tr '\n' ' '))" \
    test -z "$(comm -23 "$W/exported" "$W/api")"
check "every LRP_API function of the installed headers is exported (not: $(comm -13 "$W/exported" "$W/api" | head -5 | tr '\n' ' '))" \
    test -z "$(comm -13 "$W/exported" "$W/api")"
# the command-line tool is built on that API: the library functions its
# objects call are all in it
nm -u build/src/cli/*.o | awk '$2 ~ /^lrp_/ { print $2 }' | sort -u > "$W/cli-calls"
nm --defined-only build/src/cli/*.o | awk '{ print $3 }' | sort -u > "$W/cli-defines"
comm -23 "$W/cli-calls" "$W/cli-defines" > "$W/cli-lib"
private=$(comm -23 "$W/cli-lib" "$W/api" | tr '\n' ' ')
check "the CLI calls $(wc -l < "$W/cli-lib") library functions, all public (private: $private)" \
    test -s "$W/cli-lib" -a -z "$private"
if [ -f "$P/share/man/man1/lrp.1" ]; then
    check "man page starts like a man page (.TH)" grep -q '^\.TH' "$P/share/man/man1/lrp.1"
    if command -v man > /dev/null; then
        check "man -l renders it" sh -c "MANWIDTH=80 man -l '$P/share/man/man1/lrp.1' 2> /dev/null | grep -q lrp"
    fi
fi
check "lrp.pc: prefix is the install prefix" grep -qx "prefix=$P" "$P/lib/pkgconfig/lrp.pc"
check "lrp.pc: version is LRP_VERSION" test "$(PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --modversion lrp 2> /dev/null)" = \
    "$(sed -n 's/^#define LRP_VERSION "\(.*\)"/\1/p' include/lrp.h)"

cat > "$W/prog.c" << 'EOF'
/* Uses the installed library: loads a model, prints its input, and with an
 * input .npy runs it and writes the logits. */
#include <lrp.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    lrp_error err = {0};
    lrp_load_options o;
    lrp_load_options_default(&o);
    lrp_model *m = lrp_model_load(argv[1], &o, &err);
    if (!m) {
        fprintf(stderr, "load: %s\n", err.message);
        return 1;
    }
    const lrp_model_info *in = lrp_model_get_info(m);
    printf("version %s\n", LRP_VERSION);
    printf("input");
    for (int i = 0; i < in->input_ndim; i++)
        printf(" %lld", (long long)in->input_dims[i]);
    printf("\nimage %d %d %d\n", in->channels, in->height, in->width);
    int rc = 0;
    if (argc > 3) {
        lrp_tensor *x = NULL, *logits = NULL;
        if (lrp_npy_read(argv[2], &x, &err) != LRP_OK || lrp_model_run(m, x, &logits, &err) != LRP_OK ||
            lrp_npy_write(argv[3], logits, &err) != LRP_OK) {
            fprintf(stderr, "run: %s\n", err.message);
            rc = 1;
        }
        lrp_tensor_free(x);
        lrp_tensor_free(logits);
    }
    lrp_model_free(m);
    return rc;
}
EOF
export PKG_CONFIG_PATH=$P/lib/pkgconfig
if flags=$(pkg-config --cflags --libs lrp 2> "$W/pc.err"); then
    ok "pkg-config --cflags --libs lrp: $flags"
else
    not_ok "pkg-config --cflags --libs lrp: $(cat "$W/pc.err")"
fi
# shellcheck disable=SC2086
check "compiles and links against the shared library" cc -std=c11 -Wall -Werror -o "$W/prog" "$W/prog.c" $flags
if [ -x "$W/prog" ]; then
    LD_LIBRARY_PATH=$P/lib "$W/prog" "$R20" > "$W/out" 2> "$W/err"
    check "runs: ResNet-20 input (1, 3, 32, 32), 3 channels 32x32 ($(tr '\n' ' ' < "$W/out")$(cat "$W/err"))" \
        test "$(sed -n 2,3p "$W/out" | tr '\n' ' ')" = "input 1 3 32 32 image 3 32 32 "
    check "uses the installed liblrp.so" sh -c "LD_LIBRARY_PATH='$P/lib' ldd '$W/prog' | grep -q '$P/lib/liblrp.so'"
    LD_LIBRARY_PATH=$P/lib "$W/prog" "$CNN" "$TESTDATA/refset/inputs/camera-32.npy" "$W/logits.npy" > /dev/null 2> "$W/err"
    check "runs tiny-cnn: logits = zennit's ($(cat "$W/err"))" \
        "$LRP" compare -q --tolerance 1e-5 "$W/logits.npy" "$TESTDATA/refset/golden/tiny-cnn--camera--logits.npy"
fi
# static: liblrp.a with the private dependencies from --static
sflags=$(pkg-config --cflags --static --libs lrp 2> /dev/null | sed "s#-llrp#$P/lib/liblrp.a#")
# shellcheck disable=SC2086
check "compiles and links against liblrp.a (pkg-config --static)" cc -std=c11 -o "$W/prog-static" "$W/prog.c" $sflags
if [ -x "$W/prog-static" ]; then
    check "static program does not need liblrp.so" sh -c "! ldd '$W/prog-static' | grep -q liblrp"
    "$W/prog-static" "$CNN" "$TESTDATA/refset/inputs/logo-32.npy" "$W/logits2.npy" > "$W/out2" 2> "$W/err"
    check "static program runs tiny-cnn: logits = zennit's ($(cat "$W/err"))" \
        "$LRP" compare -q --tolerance 1e-5 "$W/logits2.npy" "$TESTDATA/refset/golden/tiny-cnn--logo--logits.npy"
fi

cat > "$W/heat.c" << 'EOF'
/* Uses the installed headers and library only: loads an image, preprocesses
 * it for the model, explains the predicted class with the default composite
 * and writes the heatmap as `lrp explain MODEL IMAGE -o OUT` does (symmetric,
 * coldnhot), then reads the PNG back. */
#include <lrp.h>
#include <lrp_image.h>
#include <lrp_render.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: heat MODEL IMAGE OUT.png\n");
        return 2;
    }
    lrp_error err = {0};
    lrp_load_options lo;
    lrp_load_options_default(&lo);
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    lrp_heatmap_opts ho;
    lrp_heatmap_opts_init(&ho);
    lrp_preprocess pp;
    lrp_image img = {0};
    lrp_model *m = NULL;
    lrp_explainer *e = NULL;
    lrp_tensor *x = NULL, *rel = NULL;
    lrp_raster *idx = NULL, *back = NULL;
    uint8_t pal[256][3];
    int64_t target = -1;
    int rc = 1;
    if (!(m = lrp_model_load(argv[1], &lo, &err)))
        goto done;
    const lrp_model_info *in = lrp_model_get_info(m);
    lrp_preprocess_defaults(&pp, in->height, in->width);
    if (lrp_image_load(argv[2], &img, &err) != LRP_OK || lrp_preprocess_image(&img, &pp, &x, &err) != LRP_OK ||
        !(e = lrp_explainer_new(m, &eo, &err)) ||
        lrp_explain(e, x, NULL, LRP_SEED_ONE, &rel, NULL, &target, &err) != LRP_OK ||
        lrp_heatmap_indices(rel, &ho, 0, &idx, &err) != LRP_OK ||
        lrp_palette_for("coldnhot", 1.0, pal, &err) != LRP_OK ||
        lrp_png_write_palette(argv[3], idx, pal, &err) != LRP_OK || lrp_png_read_rgb(argv[3], &back, &err) != LRP_OK)
        goto done;
    if (back->width != idx->width || back->height != idx->height || back->channels != 3) {
        lrp_fail(&err, LRP_ERR_FORMAT, "%s reads back as %dx%d", argv[3], back->width, back->height);
        goto done;
    }
    printf("%s: class %lld, %s %dx%d\n", argv[2], (long long)target, argv[3], idx->width, idx->height);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "heat: %s (%s)\n", err.message, lrp_status_name(err.status));
    lrp_raster_free(back);
    lrp_raster_free(idx);
    lrp_tensor_free(rel);
    lrp_tensor_free(x);
    lrp_explainer_free(e);
    lrp_model_free(m);
    lrp_image_free(&img);
    return rc;
}
EOF
HORSE=$TESTDATA/models/cifar10-resnet20/horse5.png
# shellcheck disable=SC2086
check "an image-to-heatmap program compiles and links against the installed headers and liblrp.so" \
    cc -std=c11 -Wall -Wextra -Werror -o "$W/heat" "$W/heat.c" $flags
if [ -x "$W/heat" ]; then
    LD_LIBRARY_PATH=$P/lib "$W/heat" "$R20" "$HORSE" "$W/heat.png" > "$W/out" 2> "$W/err"
    check "it explains horse5.png with ResNet-20 and writes a heatmap ($(cat "$W/out" "$W/err"))" test -s "$W/heat.png"
    check "the heatmap is a 32x32 palette PNG" test "$(png_ihdr "$W/heat.png")" = "32 32 8 3"
    check "its chunks are IHDR PLTE IDAT IEND" test "$(png_chunks "$W/heat.png" | tr '\n' ' ')" = "IHDR PLTE IDAT IEND "
    # the program preprocesses with the library's defaults (ImageNet's); the command line would take the
    # model's own metadata (CIFAR-10's) unless told these
    "$LRP" explain -q "$R20" "$HORSE" --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --resize 36 \
        -o "$W/cli.png" 2> "$W/err"
    check "it is the heatmap lrp explain writes, byte for byte ($(cat "$W/err"))" cmp -s "$W/heat.png" "$W/cli.png"
fi
unset PKG_CONFIG_PATH

# DESTDIR: files under DESTDIR/PREFIX, paths inside without DESTDIR
D=$W/dest
if make -s install DESTDIR="$D" PREFIX=/opt/lrp-test > "$W/make2.log" 2>&1; then
    check "DESTDIR: bin/lrp under DESTDIR/PREFIX" test -x "$D/opt/lrp-test/bin/lrp"
    check "DESTDIR: lrp.pc says prefix=/opt/lrp-test" grep -qx "prefix=/opt/lrp-test" "$D/opt/lrp-test/lib/pkgconfig/lrp.pc"
else
    not_ok "make install DESTDIR=... failed: $(tail -3 "$W/make2.log")"
fi

# uninstall
make -s uninstall PREFIX="$P" > "$W/make3.log" 2>&1
left=$(find "$P" -type f -o -type l | sort | tr '\n' ' ')
check "make uninstall removes every installed file (left: $left)" test -z "$left"

finish
