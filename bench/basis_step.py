#!/usr/bin/python3
"""The peer of bench/basis_step.cpp: GMNM, KAN and PINN steps written from
the same formulas in Python PyTorch (Debian's python3-torch), the Laplacian
by nested autograd (what a PyTorch user writes). Prints JSON
{name: median milliseconds}."""
import json
import math
import sys

import torch

from train_step import Gsnn, median_ms

torch.set_num_threads(1)
torch.manual_seed(0)


class Gmnm(torch.nn.Module):
    """sum_j pi_j exp(-|alpha_j (A_j (x - mu_j) + b_j)|^2 / 2) + beta."""

    def __init__(self, d, m, k, learn_centres=True):
        super().__init__()
        centres = torch.rand(m, d) * 2 - 1
        if learn_centres:
            self.centres = torch.nn.Parameter(centres)
        else:
            self.register_buffer("centres", centres)
        self.projection = torch.nn.Parameter(torch.randn(m, k, d))
        self.offset = torch.nn.Parameter(torch.zeros(m, k))
        self.alpha = torch.nn.Parameter(torch.ones(m, k))
        self.mixing = torch.nn.Parameter(torch.rand(m, 1) / math.sqrt(m))
        self.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        m, k, d = self.projection.shape
        shift = self.offset - torch.einsum("mkd,md->mk", self.projection, self.centres)
        r = (x @ self.projection.reshape(m * k, d).t()).reshape(-1, m, k) + shift
        f = torch.exp(-0.5 * (r * r * self.alpha ** 2).sum(-1))
        return torch.addmm(self.bias, f, self.mixing)


class KanLayer(torch.nn.Module):
    """silu base branch plus order-k B-splines on G intervals over [-1, 1]."""

    def __init__(self, d_in, d_out, g=5, k=3):
        super().__init__()
        h = 2.0 / g
        grid = torch.arange(-k, g + k + 1) * h - 1
        self.register_buffer("grid", grid.expand(d_in, -1).contiguous())
        self.k = k
        self.base = torch.nn.Parameter(torch.rand(d_out, d_in) - 0.5)
        self.coef = torch.nn.Parameter(torch.rand(d_out, d_in, g + k) * 0.01)
        self.scale = torch.nn.Parameter(torch.rand(d_out, d_in) - 0.5)

    def basis(self, x):
        g = self.grid
        x = x.unsqueeze(-1)
        b = ((x >= g[:, :-1]) & (x < g[:, 1:])).to(x.dtype)
        for p in range(1, self.k + 1):
            b = (x - g[:, : -(p + 1)]) / (g[:, p:-1] - g[:, : -(p + 1)]) * b[:, :, :-1] + (
                g[:, p + 1:] - x) / (g[:, p + 1:] - g[:, 1:(-p)]) * b[:, :, 1:]
        return b

    def forward(self, x):
        c = self.coef * self.scale.unsqueeze(-1)
        return torch.nn.functional.silu(x) @ self.base.t() + self.basis(x).reshape(
            x.shape[0], -1) @ c.reshape(c.shape[0], -1).t()


class MeanOf(torch.nn.Module):
    """The mean output of a model returning (mean, variance): what a PDE solves for."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[0]


def pinn():
    layers = []
    for a, b in [(2, 50), (50, 50), (50, 50)]:
        layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(50, 1))


def laplacian(u, x):
    g = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
    return sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i:i + 1]
               for i in range(x.shape[1]))


def collocation():
    """poisson2d's sizes: 2500 interior and 400 boundary points (float64)."""
    inside = torch.rand(2500, 2, dtype=torch.float64) * 2 - 1
    s = torch.rand(400, 1, dtype=torch.float64) * 2 - 1
    side = torch.randint(0, 4, (400, 1))
    edge = torch.where(side < 2, torch.cat([s, torch.where(side == 0, -1.0, 1.0)], 1),
                       torch.cat([torch.where(side == 2, -1.0, 1.0), s], 1))
    f = 2 * math.pi ** 2 * torch.sin(math.pi * inside[:, :1]) * torch.sin(math.pi * inside[:, 1:])
    return inside, f, edge


def time_steps(model, loss, seconds):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()

    return median_ms(step, seconds, warmup=5)


def fit(model, seconds):
    x = torch.rand(4000, 2) * 2 - 1
    y = torch.sin(3 * x[:, :1])
    return time_steps(model, lambda: ((model(x) - y) ** 2).mean(), seconds)


def pde(model, seconds):
    model = model.double()
    inside, f, edge = collocation()

    def loss():
        x = inside.clone().requires_grad_(True)
        u = model(x)
        return ((-laplacian(u, x) - f) ** 2).mean() + (model(edge) ** 2).mean()

    return time_steps(model, loss, seconds)


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    out = {
        "gmnm200_fit": fit(Gmnm(2, 200, 2), seconds),
        "kan_2_10_10_1_fit": fit(torch.nn.Sequential(KanLayer(2, 10), KanLayer(10, 10),
                                                     KanLayer(10, 1)), seconds),
        "pinn_pde_autograd": pde(pinn(), seconds),
        "kan_2_10_10_1_pde_autograd": pde(torch.nn.Sequential(KanLayer(2, 10), KanLayer(10, 10),
                                                              KanLayer(10, 1)), seconds),
        "gmnm900_pde_autograd": pde(Gmnm(2, 900, 1, learn_centres=False), seconds),
        "gsnn_pde_autograd": pde(MeanOf(Gsnn(width=32, depth=2)), seconds),
    }
    print(json.dumps(out))
