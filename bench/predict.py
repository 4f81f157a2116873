#!/usr/bin/python3
"""Inference speed of gsnn's C++ Predictor against the same models in Python
PyTorch (torch.inference_mode, float32 inputs prepared once), in one run:
points per second for 2 -> 64 -> 64 -> 1 MLP-tanh and GSNN (mean and
variance) at several batch sizes on 1 and 2 threads, median latency per call,
and each process's peak resident memory. Every configuration runs in its own
process so that peak memory is its own. Prints a markdown section.
usage: bench/predict.py BUILD/bench/bench_predict [SECONDS]
       bench/predict.py --one FAMILY BATCH THREADS SECONDS   (one Python measurement)"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

BATCHES = [1, 64, 10_000, 1_000_000]
THREADS = [1, 2]
FAMILIES = {"mlp-tanh": "MLP-tanh", "gsnn": "GSNN"}


def python_one(family, batch, threads, seconds):
    import numpy as np
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from train_step import Gsnn, Mlp

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Gsnn(64) if family == "gsnn" else Mlp(torch.nn.Tanh, 64)
    x = torch.rand(batch, 2) * 2 - 1
    times = []
    start = time.perf_counter()
    with torch.inference_mode():
        while len(times) < 3 or time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            mean, var = model(x)
            std = var.sqrt()
            times.append(time.perf_counter() - t0)
    median = float(np.median(times))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"points_per_s": batch / median, "latency_us": median * 1e6, "max_rss_mb": rss}


def run_json(cmd):
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main(binary, seconds):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in FAMILIES:
            model_dir = os.path.join(tmp, family)
            subprocess.run([binary, "make", model_dir, family], check=True, capture_output=True)
            for threads in THREADS:
                for batch in BATCHES:
                    cpp = run_json([binary, "time", model_dir, str(batch), str(threads), str(seconds)])
                    py = run_json([sys.executable, __file__, "--one", family, str(batch),
                                   str(threads), str(seconds)])
                    rows.append((family, threads, batch, cpp, py))
    print("\n## Inference through the Predictor (speed issue, part 3)\n")
    print("`Predictor::predict` (float64 arrays in and out, mean and standard deviation) on")
    print("2 -> 64 -> 64 -> 1 models against the same models in Python PyTorch under")
    print("`torch.inference_mode` (float32 input tensor prepared once), each configuration in its")
    print("own process. M points/s from the median call; latency = median time per call; peak RSS")
    print("of the whole process (LibTorch itself takes ~100-300 MiB). Sources: bench/predict.cpp,")
    print("bench/predict.py.\n")
    print(f"Command: `bench/run.sh` or `/usr/bin/python3 bench/predict.py build/bench/bench_predict`"
          f" ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n")
    print("| model | threads | batch | gsnn M pts/s | PyTorch M pts/s | ratio | gsnn µs/call | "
          "PyTorch µs/call | gsnn peak MiB | PyTorch peak MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for family, threads, batch, c, p in rows:
        print(f"| {FAMILIES[family]} | {threads} | {batch} | {c['points_per_s'] / 1e6:.3f} | "
              f"{p['points_per_s'] / 1e6:.3f} | {c['points_per_s'] / p['points_per_s']:.2f} | "
              f"{c['latency_us']:.1f} | {p['latency_us']:.1f} | {c['max_rss_mb']:.0f} | "
              f"{p['max_rss_mb']:.0f} |")
    at = {(f, t, b): (c, p) for f, t, b, c, p in rows}
    mlp, gsnn = at[("mlp-tanh", 2, 1_000_000)][0], at[("gsnn", 2, 1_000_000)][0]
    print("\n| target | measured | met |")
    print("| --- | ---: | --- |")
    checks = [("MLP at batch 10^6, 2 threads: >= 10 M points/s",
               f"{mlp['points_per_s'] / 1e6:.2f} M", mlp["points_per_s"] >= 10e6),
              ("GSNN mean + variance at batch 10^6, 2 threads: >= 5 M points/s",
               f"{gsnn['points_per_s'] / 1e6:.2f} M", gsnn["points_per_s"] >= 5e6)]
    for family in FAMILIES:
        c, p = at[(family, 1, 1)]
        checks.append((f"{FAMILIES[family]} latency at batch 1 below PyTorch's",
                       f"{c['latency_us']:.1f} vs {p['latency_us']:.1f} µs",
                       c["latency_us"] < p["latency_us"]))
    for name, value, met in checks:
        print(f"| {name} | {value} | {'yes' if met else '**no**'} |")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--one":
        print(json.dumps(python_one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                    float(sys.argv[5]))))
    elif len(sys.argv) in (2, 3):
        main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) == 3 else 1.0)
    else:
        sys.exit(__doc__)
