#!/usr/bin/env bash
# make install: the binary, man page, header, static and shared library and
# pkg-config file land under PREFIX (or DESTDIR/PREFIX); a C program built
# with `pkg-config --cflags --libs lrp` compiles, links (shared and static)
# and runs; make uninstall removes it all again.
. "$(dirname "$0")/lib.sh"

W=$WORK
P=$W/prefix
R20=$TESTDATA/models/cifar10-resnet20/cifar10-resnet20.onnx
CNN=$TESTDATA/refset/models/tiny-cnn.onnx

if ! make -s install PREFIX="$P" > "$W/make.log" 2>&1; then
    not_ok "make install PREFIX=\$tmp failed: $(tail -5 "$W/make.log")"
fi
for f in bin/lrp share/man/man1/lrp.1 include/lrp.h lib/liblrp.a lib/liblrp.so lib/pkgconfig/lrp.pc; do
    check "installed $f" test -s "$P/$f"
done
check "bin/lrp is executable" test -x "$P/bin/lrp"
check "installed lrp runs" sh -c "'$P/bin/lrp' version | grep -q '^lrp '"
check "installed lrp.h = include/lrp.h" cmp -s "$P/include/lrp.h" include/lrp.h
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
