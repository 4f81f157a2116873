#!/usr/bin/env bash
# Times gsnn's models in C++ against their Python peers (PyTorch, scikit-learn)
# in one run per section, writes each section to bench/results/SECTION.md and
# assembles docs/benchmarks.md from them and the hand-written readings
# bench/results/gp-notes.md and speed-notes.md.
# usage: bench/run.sh [BUILD_DIR [SECTION...]]   sections: train basis gp hybrid predict arch
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(train basis gp hybrid predict arch)
[ -x "$build/bench/bench_train_step" ] || { echo "build first: scripts/build.sh"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=bench/results
mkdir -p "$results"

google_benchmark() {  # BINARY: median of 5 repetitions, JSON on stdout
  "$1" --benchmark_repetitions=5 --benchmark_min_time=1 \
    --benchmark_report_aggregates_only=true --benchmark_format=json
}

# One training step of the GSNN and MLPs against Python PyTorch; the fused kernels' targets.
train() {
  google_benchmark "$build/bench/bench_train_step" > "$tmp/cpp.json"
  /usr/bin/python3 bench/train_step.py 3 > "$tmp/py.json"
  # The same Python run with the allocator thresholds gsnn sets in init_runtime
  # (glibc tunables through the environment), to separate allocator from engine.
  MALLOC_MMAP_THRESHOLD_=67108864 MALLOC_TRIM_THRESHOLD_=268435456 \
    /usr/bin/python3 bench/train_step.py 3 > "$tmp/py_tuned.json"
  /usr/bin/python3 - "$tmp/cpp.json" "$tmp/py.json" "$tmp/py_tuned.json" "$(nproc)" <<'PY'
import json, sys, datetime, platform
cpp = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        cpp[b["run_name"].split("/")[1]] = b["real_time"]
py = json.load(open(sys.argv[2]))
tuned = json.load(open(sys.argv[3]))
print("\n## Training steps against Python PyTorch\n")
print("One full-batch Adam training step (forward, backward, update): 2 -> 64 -> 64 -> 1,")
print("batch 1024, float32, one intra-op thread. gsnn (C++, LibTorch) against the same")
print("models written in Python PyTorch (Debian's python3-torch, the same LibTorch), in one run.")
print("Median milliseconds per step; ratio < 1 means gsnn is faster.")
print("'PyTorch + malloc' runs Python with the glibc allocator thresholds gsnn sets at start-up")
print("(MALLOC_MMAP_THRESHOLD_=64 MiB, MALLOC_TRIM_THRESHOLD_=256 MiB).\n")
print(f"Command: `bench/run.sh build train` ({datetime.date.today()}, {platform.processor() or platform.machine()}, {sys.argv[4]} cores)\n")
print("| model | gsnn C++ (ms) | PyTorch (ms) | ratio | PyTorch + malloc (ms) | ratio |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name, c in cpp.items():
    if name not in py:
        continue
    p, t = py[name], tuned[name]
    print(f"| {name} | {c:.3f} | {p:.3f} | {c/p:.2f} | {t:.3f} | {c/t:.2f} |")
g64, g256 = cpp["gsnn_tanh_mse"], cpp["gsnn_tanh_mse_w256"]
m64, m256 = cpp["mlp_tanh_mse"], cpp["mlp_tanh_mse_w256"]
print("\n### Fused smoothed activations (speed issue, part 1)\n")
print("`_reference`: the same GSNN step with the fused kernels off (the ATen chain of")
print("src/moments/moments.cpp, differentiated by autograd). Targets: GSNN step <= 2x the MLP-tanh")
print("step at width 64, <= 2.5x at width 256, and <= 0.1x the Python PyTorch GSNN step.\n")
print("| measure | ratio | target | met |")
print("| --- | ---: | ---: | --- |")
rows = [("GSNN / MLP-tanh step, width 64", g64 / m64, 2.0),
        ("GSNN / MLP-tanh step, width 256", g256 / m256, 2.5),
        ("GSNN C++ / PyTorch + malloc, width 64", g64 / tuned["gsnn_tanh_mse"], 0.1),
        ("GSNN C++ / PyTorch + malloc, width 256", g256 / tuned["gsnn_tanh_mse_w256"], 0.1),
        ("fused / reference GSNN step, width 64", g64 / cpp["gsnn_tanh_mse_reference"], None),
        ("fused / reference GSNN step, width 256", g256 / cpp["gsnn_tanh_mse_w256_reference"], None)]
for name, r, target in rows:
    met = "—" if target is None else ("yes" if r <= target else "**no**")
    print(f"| {name} | {r:.2f} | {'—' if target is None else f'<= {target}'} | {met} |")
PY
}

# Seed 002's models: GMNM and KAN fitting steps, physics-informed steps.
basis() {
  google_benchmark "$build/bench/bench_basis_step" > "$tmp/basis_cpp.json"
  /usr/bin/python3 bench/basis_step.py 3 > "$tmp/basis_py.json"
  /usr/bin/python3 - "$tmp/basis_cpp.json" "$tmp/basis_py.json" <<'PY'
import datetime, json, sys
cpp = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        cpp[b["run_name"].split("/")[1]] = b["real_time"]
py = json.load(open(sys.argv[2]))
print("\n## GMNM, KAN and physics-informed steps (seed 002)\n")
print("One Adam step, one thread. `*_fit`: MSE on 4000 points in 2-D, float32 (GMNM with 200")
print("full-rank components; KAN [2,10,10,1], G = 5, cubic). `*_pde`: the poisson2d loss on 2500")
print("interior + 400 boundary points, float64, for the PINN [2,50,50,50,1] tanh, the KAN, GMNM")
print("with 900 rank-1 components and fixed centres, and the GSNN [2,32,32,1] erf-tanh (its mean).")
print("PyTorch takes the Laplacian by nested autograd, as a PyTorch user writes it; gsnn by nested")
print("autograd (`_autograd`) and by its forward Laplacian (`_forward`, what the pde objective uses")
print("for these families). Ratios against the PyTorch autograd step; < 1 means gsnn is faster.")
print("Sources: bench/basis_step.cpp, bench/basis_step.py.\n")
print(f"Command: `bench/run.sh build basis` ({datetime.date.today()})\n")
print("| step | gsnn C++ (ms) | PyTorch (ms) | ratio |")
print("| --- | ---: | ---: | ---: |")
for name, c in cpp.items():
    peer = name.replace("_forward", "_autograd")
    p = py.get(peer)
    print(f"| {name} | {c:.2f} | {p:.2f} | {c/p:.2f} |" if p else f"| {name} | {c:.2f} | — | — |")
PY
}

# Seed 004: exact GP regression against scikit-learn (fit + predict, LML, predictions).
gp() { /usr/bin/python3 bench/gp_fit.py "$build/bench/bench_gp_fit"; }

# Seed 001: hybrid Gaussian-ReLU steps against GSNN and MLP steps at equal parameter count.
hybrid() {
  google_benchmark "$build/bench/bench_hybrid_step" > "$tmp/hybrid.json"
  /usr/bin/python3 - "$tmp/hybrid.json" <<'PY'
import datetime, json, sys
rows = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        rows[b["run_name"].split("/")[1]] = (b["real_time"], b["parameters"])
print("\n## Hybrid Gaussian-ReLU steps (seed 001)\n")
print("One full-batch Adam step, 2 inputs, depth 2, batch 1024, float32, one thread, every model")
print("at the parameter count of the GSNN of width 64 (each hybrid at its nearest width).")
print("`experts_moe` is trained by the mixture NLL; `_smoothness` adds the ReLU path's")
print("input-gradient penalty (a double backward). Ratios against the GSNN and the MLP steps of")
print("the same run; no Python peer (the hybrid has no PyTorch counterpart to run). Source:")
print("bench/hybrid_step.cpp.\n")
print(f"Command: `bench/run.sh build hybrid` ({datetime.date.today()}, 2-core machine, one thread)\n")
print("| step | parameters | ms | / gsnn | / mlp_relu |")
print("| --- | ---: | ---: | ---: | ---: |")
g, m = rows["gsnn"][0], rows["mlp_relu"][0]
for name, (t, n) in rows.items():
    print(f"| {name} | {n:.0f} | {t:.3f} | {t/g:.2f} | {t/m:.2f} |")
PY
}

# The speed issue's inference targets: the Predictor against Python PyTorch.
predict() { /usr/bin/python3 bench/predict.py "$build/bench/bench_predict"; }

# Seed 002 section 5's CNN, autoencoder and LSTM variants against the same models in PyTorch.
arch() {
  google_benchmark "$build/bench/bench_arch_step" > "$tmp/arch_cpp.json"
  /usr/bin/python3 bench/arch_step.py 5 > "$tmp/arch_py.json"
  /usr/bin/python3 - "$tmp/arch_cpp.json" "$tmp/arch_py.json" <<'PY'
import datetime, json, sys
cpp = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        cpp[b["run_name"].split("/")[1]] = (b["real_time"], b["parameters"])
py = json.load(open(sys.argv[2]))
print("\n## CNN, autoencoder and LSTM steps (seed 002 section 5)\n")
print("One Adam step at batch 128, float32, one thread, registry defaults: the image classifiers")
print("and autoencoders on 28 x 28 images, the LSTMs on [10, 4] sequences. gsnn (C++) against the")
print("same models written in Python PyTorch, layer by layer, in one run (bench/arch_step.cpp,")
print("bench/arch_step.py; the script asserts equal parameter counts). `/ base`: the step against")
print("the same family's plain variant (cnn, ae, lstm3) in the same language: the cost of")
print("attention and GMNM. Ratio < 1 means gsnn is faster.\n")
print(f"Command: `bench/run.sh build arch` ({datetime.date.today()})\n")
print("| model | parameters | gsnn C++ (ms) | / base | PyTorch (ms) | / base | C++ / PyTorch |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, (c, n) in cpp.items():
    base = "lstm3" if name.startswith("lstm") else name.split("_")[0]
    p, cb, pb = py[name], cpp[base][0], py[base]
    print(f"| {name} | {n:.0f} | {c:.2f} | {c/cb:.2f} | {p:.2f} | {p/pb:.2f} | {c/p:.2f} |")
PY
}

for section in "${sections[@]}"; do
  case "$section" in
    train | basis | gp | hybrid | predict | arch)
      "$section" > "$tmp/$section.md"
      mv "$tmp/$section.md" "$results/$section.md" ;;
    *) echo "unknown section '$section' (train basis gp hybrid predict arch)"; exit 2 ;;
  esac
done
{
  echo "# Benchmarks"
  echo
  echo "Each section below is written by \`bench/run.sh BUILD_DIR SECTION\` to bench/results/ and"
  echo "collected here; each states its own command and date. Machines differ and are noisy: read the"
  echo "ratios of one run, not absolute times across runs."
  for section in train basis gp gp-notes hybrid predict arch speed-notes; do
    if [ -f "$results/$section.md" ]; then cat "$results/$section.md"; fi
  done
} > docs/benchmarks.md
cat docs/benchmarks.md
