#!/usr/bin/env bash
# Installs everything gsnn needs from Debian 12's packages. Idempotent: packages
# already present are skipped, so it is cheap to run before every build.
set -euo pipefail

packages=(
  build-essential cmake ninja-build clang-format
  libtorch-dev libopenblas0-openmp libsleef-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev libmuparser-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  gnuplot-nox
  python3-numpy python3-torch python3-sklearn
  dataset-fashion-mnist
)

# --dev: what scripts/sanitize.sh needs besides (clang with its sanitizer and
# libFuzzer runtimes).
if [ "${1:-}" = "--dev" ]; then
  packages+=(clang libclang-rt-14-dev libfuzzer-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "gsnn setup: installing ${missing[*]}"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "gsnn setup: all dependencies present"
fi
