#!/usr/bin/env bash
# Installs dependencies (idempotent) and builds gsnn into build/ (or $GSNN_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir=${GSNN_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${GSNN_CMAKE_ARGS:-}
# Each LibTorch translation unit needs ~1 GB to compile: cap jobs at the core count.
cmake --build "$build_dir" -j "$(nproc)"
