#!/usr/bin/env bash
# Assembles each harness's seed corpus into build-fuzz/corpus/NAME (run from
# anywhere; needs build-fuzz/onnx_seeds, which `make fuzz` builds):
#   onnx      testdata models (the small ones) + the tiny models onnx_seeds writes
#   npy       testdata/refset/inputs/*.npy and a few testdata/images/*.npy
#   png, jpeg testdata/images (jpeg also fuzz/seeds/jpeg: EXIF segments)
#   cmap, rule, template, list, labels   fuzz/seeds/NAME (hand-made)
# Files already in a corpus (what earlier runs found) are kept.
set -eu
cd "$(dirname "$0")/.."
C=build-fuzz/corpus
mkdir -p "$C"/{onnx,npy,png,jpeg,cmap,rule,template,list,labels}
cp testdata/models/mnist-8/model.onnx "$C/onnx/mnist-8.onnx"
cp testdata/refset/models/tiny-cnn.onnx testdata/refset/models/tiny-mlp.onnx "$C/onnx/"
[ -x build-fuzz/onnx_seeds ] || make -s build-fuzz/onnx_seeds
build-fuzz/onnx_seeds "$C/onnx"
cp testdata/refset/inputs/*.npy "$C/npy/"
cp testdata/images/pre-png-16.npy testdata/images/expect-gray.npy testdata/images/pre-png-gray-28.npy "$C/npy/"
cp testdata/images/*.png "$C/png/"
cp testdata/images/*.jpg fuzz/seeds/jpeg/* "$C/jpeg/"
for h in cmap rule template list labels; do cp fuzz/seeds/$h/* "$C/$h/"; done
for h in onnx npy png jpeg cmap rule template list labels; do
    printf '%-9s %3d seeds\n' "$h" "$(ls "$C/$h" | wc -l)"
done
