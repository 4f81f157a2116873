#!/usr/bin/env bash
# Installs gsnn into a temporary prefix, builds examples/ as a separate
# project with find_package(gsnn), trains a tiny model and runs the example.
# usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > /dev/null
cmake -S "$src/examples" -B "$work/ex" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/ex" > /dev/null
printf 'a,b\n0,1\n1,3\n2,5\n3,7\n4,9\n5,11\n' > "$work/line.csv"
"$work/prefix/bin/gsnn" fit --data "$work/line.csv" --inputs a --target b --model mlp-tanh \
  --steps 300 --validation 0 --out "$work/model" -q > /dev/null
out=$("$work/ex/predict_example" "$work/model" 2.5)
echo "$out"
echo "$out" | grep -q "^b = " || { echo "FAIL: unexpected output"; exit 1; }
# GMNM as a layer of a user's own LibTorch model: the loss must fall.
out=$("$work/ex/gmnm_layer_example")
echo "$out"
first=$(echo "$out" | head -1 | sed 's/.*mse //')
last=$(echo "$out" | tail -1 | sed 's/.*mse //')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a && b < 0.01) }' ||
  { echo "FAIL: the GMNM head did not learn (mse $first -> $last)"; exit 1; }
