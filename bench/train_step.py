#!/usr/bin/python3
"""The peer of bench/train_step.cpp: the same models, loss and Adam step in
Python PyTorch (Debian's python3-torch), timed the same way. Prints JSON
{name: median milliseconds}."""
import json
import math
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
torch.manual_seed(0)

def gauss_legendre(n, dtype):
    """n Gauss-Legendre nodes and weights on [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return torch.tensor((nodes + 1) / 2, dtype=dtype), torch.tensor(weights / 2, dtype=dtype)


# gsnn's rules: 8 nodes in float32, 16 in float64
GL_RULES = {torch.float32: gauss_legendre(8, torch.float32),
            torch.float64: gauss_legendre(16, torch.float64)}
C = math.sqrt(math.pi) / 2  # tanh(z) ~ erf(C z), as in gsnn


def probit_variance(m, v):
    """Var[Phi(Z)], Z ~ N(m, v): gsnn's integral (docs/gsnn-maths.md)."""
    a2 = (m * m / (1 + v)).unsqueeze(-1)
    upper = (v / (1 + v + torch.sqrt(1 + 2 * v))).unsqueeze(-1)
    nodes, weights = GL_RULES[m.dtype]
    t = upper * nodes
    t2 = 1 + t * t
    integrand = torch.exp(-a2 * t2 / ((1 + t) * (1 + t))) / t2
    return (upper * integrand * weights).sum(-1) / math.pi


class Gsnn(torch.nn.Module):
    def __init__(self, width=64, depth=2, tau=0.5):
        super().__init__()
        dims = [2] + [width] * depth
        self.hidden = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.readout = torch.nn.Linear(width, 1)
        self.tau2 = tau * tau
        self.noise_rho = torch.nn.Parameter(torch.zeros(1))

    @staticmethod
    def gauss_linear(layer, m, v):
        return layer(m), v @ (layer.weight * layer.weight).t()

    def forward(self, x):
        m, v = x, torch.zeros_like(x)
        for layer in self.hidden:
            m, v = self.gauss_linear(layer, m, v)
            v = v + self.tau2
            m, v = torch.erf(C * m / torch.sqrt(1 + 2 * C * C * v)), 4 * probit_variance(
                math.sqrt(2) * C * m, 2 * C * C * v)
        m, v = self.gauss_linear(self.readout, m, v)
        noise = torch.nn.functional.softplus(self.noise_rho)
        return m, v + noise * noise


class Mlp(torch.nn.Module):
    def __init__(self, act, width=64, depth=2):
        super().__init__()
        dims = [2] + [width] * depth
        layers = []
        for a, b in zip(dims, dims[1:]):
            layers += [torch.nn.Linear(a, b), act()]
        self.net = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))
        self.noise_rho = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        m = self.net(x)
        noise = torch.nn.functional.softplus(self.noise_rho)
        return m, torch.zeros_like(m) + noise * noise


def loss_fn(kind, m, v, y):
    if kind == "mse":
        return ((y - m) ** 2).mean()
    return (0.5 * torch.log(2 * math.pi * v) + 0.5 * (y - m) ** 2 / v).mean()


def median_ms(step, seconds, warmup=20):
    """Median wall time of step() in milliseconds, after `warmup` calls."""
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def time_step(model, kind, seconds=2.0):
    x = torch.rand(1024, 2) * 2 - 1
    y = torch.sin(3 * x[:, :1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = loss_fn(kind, *model(x), y)
        loss.backward()
        opt.step()

    return median_ms(step, seconds)


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    out = {
        "gsnn_tanh_mse": time_step(Gsnn(), "mse", seconds),
        "gsnn_tanh_nll": time_step(Gsnn(), "nll", seconds),
        "mlp_relu_mse": time_step(Mlp(torch.nn.ReLU), "mse", seconds),
        "mlp_tanh_mse": time_step(Mlp(torch.nn.Tanh), "mse", seconds),
        "gsnn_tanh_mse_w256": time_step(Gsnn(256), "mse", seconds),
        "mlp_tanh_mse_w256": time_step(Mlp(torch.nn.Tanh, 256), "mse", seconds),
    }
    print(json.dumps(out))
