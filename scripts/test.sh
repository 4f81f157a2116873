#!/usr/bin/env bash
# Sets everything up, builds, runs the whole test suite with CTest, then the
# sanitizer builds and the fuzzers (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build_dir=${GSNN_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
# Then the sanitizer builds and the fuzzers (docs/security.md); GSNN_SKIP_SANITIZE=1 skips them.
if [ "${GSNN_SKIP_SANITIZE:-0}" != "1" ]; then
  bash scripts/sanitize.sh
fi
