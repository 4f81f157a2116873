"""Exact GP regression: gsnn (bench/gp_fit.cpp) against scikit-learn on the
same data, in one run; prints a markdown section for docs/benchmarks.md.
usage: gp_fit.py BENCH_GP_FIT_BINARY [N...]
Data: y = sin(3 x1) + cos(2 x2) + 0.1 e on uniform [-1, 1]^2 (numpy seed 0),
n = 500, 2000, 5000 training points, 1000 test points. Both sides use their
default threads (numpy's BLAS and LibTorch's intra-op pool)."""
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

SIZES = [int(s) for s in sys.argv[2:]] or [500, 2000, 5000]


def data(n, rng):
    x = rng.uniform(-1, 1, (n, 2))
    return x, np.sin(3 * x[:, 0]) + np.cos(2 * x[:, 1]) + 0.1 * rng.normal(size=n)


def save(path, x, y):
    np.savetxt(path, np.c_[x, y], delimiter=",", header="x1,x2,y", comments="", fmt="%.17g")


def sklearn_fit(kernel, x, y, xt, restarts, optimizer):
    start = time.perf_counter()
    gp = GaussianProcessRegressor(kernel, alpha=0.0 if optimizer else 1e-2,
                                  optimizer="fmin_l_bfgs_b" if optimizer else None,
                                  n_restarts_optimizer=restarts, random_state=0).fit(x, y)
    mean, std = gp.predict(xt, return_std=True)
    return time.perf_counter() - start, gp, mean, std


def main():
    binary = sys.argv[1]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        sets = {n: data(n, rng) for n in SIZES}
        xt, _ = data(1000, rng)
        for n, (x, y) in sets.items():
            save(f"{tmp}/train_{n}.csv", x, y)
        save(f"{tmp}/test.csv", xt, np.zeros(len(xt)))
        ours = json.loads(subprocess.run([binary, tmp] + [str(n) for n in SIZES], check=True,
                                         capture_output=True, text=True).stdout)
        rows = []
        for n, (x, y) in sets.items():
            o = ours[str(n)]
            # Fixed: RBF(0.5) with s2 = 1 and the noise 1e-2 as sklearn's alpha (median of 3).
            runs = sorted((sklearn_fit(RBF([0.5, 0.5]), x, y, xt, 0, False) for _ in range(3)),
                          key=lambda r: r[0])
            t, gp, mean, std = runs[1]
            g = np.loadtxt(f"{tmp}/gsnn_fixed_{n}.csv", delimiter=",", skiprows=1)
            # sklearn's predictive std with alpha excludes the noise; gsnn's var includes it.
            var_rel = np.max(np.abs(g[:, 1] - 1e-2 - std ** 2) / np.maximum(std ** 2, 1e-12))
            lml = gp.log_marginal_likelihood_value_
            rows.append((n, "fixed", o["fixed"]["seconds"], t, o["fixed"]["lml"], lml,
                         abs(o["fixed"]["lml"] - lml) / abs(lml),
                         np.max(np.abs(g[:, 0] - mean)) / np.max(np.abs(mean)), var_rel))
            # ML-II: s2 * RBF(ARD) + white noise, from (1, [1, 1], 1e-2).
            kernel = ConstantKernel(1.0) * RBF([1.0, 1.0]) + WhiteKernel(1e-2)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, gp, mean, _ = sklearn_fit(kernel, x, y, xt, 2 if n < 5000 else 0, True)
            lml = gp.log_marginal_likelihood_value_
            rows.append((n, "ML-II", o["ml2"]["seconds"], t, o["ml2"]["lml"], lml,
                         (o["ml2"]["lml"] - lml) / abs(lml), None, None))
    print("\n## Exact GP regression against scikit-learn (seed 004)\n")
    print("Fit + predict of 1000 points, y = sin(3x1) + cos(2x2) + 0.1 noise on [-1,1]^2, float64,")
    print("default threads on both sides. `fixed`: RBF l = 0.5 (per input), s2 = 1, noise 1e-2")
    print("(sklearn: alpha = 1e-2, optimizer=None); median of 3 runs. `ML-II`: s2 x RBF(ARD) +")
    print("white noise maximised from (1, [1,1], 1e-2) with 2 random restarts (none at n = 5000),")
    print("one run; gsnn's L-BFGS (strong Wolfe, analytic gradient) against sklearn's L-BFGS-B.")
    print("LML difference: relative, (gsnn - sklearn)/|sklearn| for ML-II (> 0: gsnn found a higher")
    print("likelihood). Sources: bench/gp_fit.cpp, bench/gp_fit.py.\n")
    print(f"Command: `bench/run.sh` or `/usr/bin/python3 bench/gp_fit.py build/bench/bench_gp_fit`"
          f" ({datetime.date.today()}, {os.cpu_count()} cores)\n")
    print("| n | hyperparameters | gsnn (s) | sklearn (s) | ratio | gsnn LML | sklearn LML | LML diff |"
          " mean rel. diff | var rel. diff |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, kind, a, b, la, lb, dl, dm, dv in rows:
        extra = f"{dm:.1e} | {dv:.1e}" if dm is not None else "— | —"
        print(f"| {n} | {kind} | {a:.3f} | {b:.3f} | {a / b:.2f} | {la:.6f} | {lb:.6f} | {dl:.1e} |"
              f" {extra} |")


if __name__ == "__main__":
    main()
