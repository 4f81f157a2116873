#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job: `gsnn demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build_dir=${GSNN_BUILD_DIR:-build}
"$build_dir/gsnn" demo "$@"
