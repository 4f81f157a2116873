#!/usr/bin/python3
"""The peer of bench/arch_step.cpp: seed 002 section 5's architectures (the
cnn and autoencoder variants of figure 4, the LSTM forecasters of 5.3)
re-written layer by layer as plain torch.nn.Modules in Python PyTorch
(Debian's python3-torch), and the time of one Adam step (zero_grad, loss,
backward, update): batch 128, float32, one thread, lr 1e-3, fixed seeds.
bench/run.sh runs both as section "arch".

usage: arch_step.py [REPETITIONS]  (default 5). After 20 warm-up steps, each
repetition runs steps for at least a second and takes their mean time, as
google benchmark's --benchmark_min_time=1 does; the median over the
repetitions is reported. Prints only JSON {name: median milliseconds per
step} on stdout, with the names of the C++ cases.

Differences from gsnn's Network, left out as what gsnn itself costs: gsnn
scales inputs (and regression targets) in float64 before the body (identity
scaling here), and its cross_entropy objective converts float class labels to
integers each step. The regression models' learned noise is a parameter (so
that the counts match) whose variance is returned next to the mean, as gsnn's
Network does; mse is gsnn's form, mean((y - mean)^2), which never reads it.
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

torch.set_num_threads(1)
BATCH = 128


def standardise_rows(h):
    """Each row less its mean, over its spread (gsnn's standardise_rows)."""
    centred = h - h.mean(1, keepdim=True)
    return centred / centred.square().mean(1, keepdim=True).add(1e-5).sqrt()


def kmeans_pp(x, count):
    """k-means++ seeding on the rows of x (gsnn's choose_centres)."""
    x = x.detach()
    centres = [x[torch.randint(len(x), (1,)).item()]]
    nearest = (x - centres[0]).square().sum(1)
    for _ in range(1, count):
        weights = nearest if nearest.sum() > 0 else torch.ones_like(nearest)
        centres.append(x[torch.multinomial(weights.double(), 1).item()])
        nearest = torch.minimum(nearest, (x - centres[-1]).square().sum(1))
    return torch.stack(centres)


class Gmnm(nn.Module):
    """r = A x + (b - A mu) per component, q = sum alpha^2 r^2, f = exp(-q/2),
    y = f @ mixing + bias (src/nn/gmnm.cpp), with gsnn's initialisation."""

    def __init__(self, d, outputs, m, rank=0, learn_centres=True):
        super().__init__()
        k = rank or d
        scale = m ** (1 / d) / (2 * math.sqrt(3))
        a = torch.eye(d).expand(m, d, d).clone() if k == d else torch.randn(m, k, d)
        start = torch.rand(m, d) * 2 - 1
        if learn_centres:
            self.centres = nn.Parameter(start)
        else:
            self.register_buffer("centres", start)
        self.projection = nn.Parameter(a / a.norm(dim=-1, keepdim=True) * scale)
        self.offset = nn.Parameter(torch.zeros(m, k))
        self.alpha = nn.Parameter(torch.ones(m, k))
        bound = 1 / math.sqrt(m)
        self.mixing = nn.Parameter(torch.empty(m, outputs).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(outputs))

    def initialise(self, x):
        with torch.no_grad():
            self.centres.copy_(kmeans_pp(x, self.centres.shape[0]))

    def forward(self, x):
        m, k, d = self.projection.shape
        shift = self.offset - torch.einsum("mkd,md->mk", self.projection, self.centres)
        r = torch.matmul(x, self.projection.reshape(m * k, d).t()).reshape(x.shape[0], m, k) + shift
        f = torch.exp(-0.5 * (r.square() * self.alpha.square()).sum(-1))
        return torch.addmm(self.bias, f, self.mixing)


class SpatialAttention(nn.Module):
    """One-head self-attention over a feature map's positions, with a residual
    connection (src/nn/attention.cpp)."""

    def __init__(self, channels):
        super().__init__()
        self.query = nn.Linear(channels, channels)
        self.key = nn.Linear(channels, channels)
        self.value = nn.Linear(channels, channels)

    def forward(self, x):
        t = x.flatten(2).transpose(1, 2)  # [n, HW, C]
        scores = torch.matmul(self.query(t), self.key(t).transpose(1, 2)) / math.sqrt(x.shape[1])
        out = t + torch.matmul(torch.softmax(scores, -1), self.value(t))
        return out.transpose(1, 2).reshape(x.shape)


class Cnn(nn.Module):
    """src/nn/cnn.cpp: conv 3x3 - relu - pool - conv 3x3 - relu - pool
    [- attention] - dense - relu - linear or GMNM head (fixed centres, on the
    standardised hidden features)."""

    def __init__(self, attention=False, head="linear", channels=16, hidden=28, classes=10,
                 components=16):
        super().__init__()
        c = channels
        self.conv1 = nn.Conv2d(1, c, 3)
        self.conv2 = nn.Conv2d(c, 2 * c, 3)
        self.attention = SpatialAttention(2 * c) if attention else None
        self.dense = nn.Linear(2 * c * 5 * 5, hidden)
        self.gmnm = head == "gmnm"
        self.head = (Gmnm(hidden, classes, components, rank=1, learn_centres=False) if self.gmnm
                     else nn.Linear(hidden, classes))

    def features(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        if self.attention is not None:
            x = self.attention(x)
        return torch.relu(self.dense(x.flatten(1)))

    def forward(self, x):
        h = self.features(x)
        return self.head(standardise_rows(h)) if self.gmnm else self.head(h)

    def initialise(self, x):
        if self.gmnm:
            with torch.no_grad():
                self.head.initialise(standardise_rows(self.features(x)))


class Autoencoder(nn.Module):
    """src/nn/autoencoder.cpp: strided conv encoder [- attention] - latent z,
    linear - transposed-conv decoder, [GMNM(standardised z) as one multiplier
    per decoder channel], output conv; He initialisation as gsnn's."""

    def __init__(self, attention=False, gmnm=False, channels=16, latent=32, components=16):
        super().__init__()
        c = channels
        self.c = c
        self.encode1 = nn.Conv2d(1, c, 3, stride=2, padding=1)
        self.encode2 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.attention = SpatialAttention(2 * c) if attention else None
        flat = 2 * c * 7 * 7
        self.to_latent = nn.Linear(flat, latent)
        self.from_latent = nn.Linear(latent, flat)
        self.decode1 = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1)
        self.decode2 = nn.ConvTranspose2d(c, c, 4, stride=2, padding=1)
        self.output = nn.Conv2d(c, 1, 3, padding=1)
        with torch.no_grad():
            for layer, fan_in in [(self.encode1, 9.0), (self.encode2, c * 9.0),
                                  (self.from_latent, latent), (self.decode1, 2.0 * c * 4),
                                  (self.decode2, c * 4.0)]:
                layer.weight.normal_(0, math.sqrt(2 / fan_in))
                layer.bias.zero_()
        self.gmnm = Gmnm(latent, c, components, rank=1, learn_centres=False) if gmnm else None

    def encode(self, x):
        x = torch.relu(self.encode2(torch.relu(self.encode1(x))))
        if self.attention is not None:
            x = self.attention(x)
        return self.to_latent(x.flatten(1))

    def forward(self, x):
        z = self.encode(x)
        maps = torch.relu(self.from_latent(z)).view(z.shape[0], 2 * self.c, 7, 7)
        maps = torch.relu(self.decode2(torch.relu(self.decode1(maps))))
        if self.gmnm is not None:
            maps = maps * self.gmnm(standardise_rows(z)).unsqueeze(-1).unsqueeze(-1)
        return self.output(maps).flatten(1)

    def initialise(self, x):
        if self.gmnm is not None:
            with torch.no_grad():
                self.gmnm.initialise(standardise_rows(self.encode(x)))


class Lstm(nn.Module):
    """src/nn/lstm.cpp: LSTM over the steps, linear or GMNM head (full rank,
    trained centres) on the last hidden state."""

    def __init__(self, hidden, head="linear", components=100, features=4, outputs=1):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.gmnm = head == "gmnm"
        self.head = Gmnm(hidden, outputs, components) if self.gmnm else nn.Linear(hidden, outputs)

    def last_hidden(self, x):
        out = self.lstm(x)[0]
        return out.select(1, out.shape[1] - 1)

    def forward(self, x):
        return self.head(self.last_hidden(x))

    def initialise(self, x):
        if self.gmnm:
            with torch.no_grad():
                self.head.initialise(self.last_hidden(x))


class Regressor(nn.Module):
    """The body plus gsnn's learned noise sigma = softplus(rho), started at 0.1."""

    def __init__(self, body, noise=0.1):
        super().__init__()
        self.body = body
        self.noise_rho = nn.Parameter(torch.full((1,), math.log(math.expm1(noise))))

    def initialise(self, x):
        self.body.initialise(x)

    def forward(self, x):
        mean = self.body(x)
        noise = F.softplus(self.noise_rho)
        return mean, (noise * noise).expand_as(mean)


def mse(model, x, y):
    return (y - model(x)[0]).square().mean()


def cross_entropy(model, x, y):
    return F.cross_entropy(model(x), y)


# name: (constructor, data, loss, trainable scalars by hand as in tests/cnn_test.cpp,
# tests/autoencoder_test.cpp and tests/lstm_test.cpp; ae and lstm with the 1 noise).
CNN = 160 + 4640 + 22428  # conv1, conv2, dense
AE = 160 + 4640 + 50208 + 51744 + 8208 + 4112 + 145 + 1  # layers + noise
ATTENTION, CNN_GMNM, AE_GMNM = 3168, 650, 816
LSTM3 = 4 * 3 * 7 + 24
CASES = {
    "cnn": (lambda: Cnn(), "images", cross_entropy, CNN + 290),
    "cnn_attention": (lambda: Cnn(attention=True), "images", cross_entropy,
                      CNN + 290 + ATTENTION),
    "cnn_gmnm": (lambda: Cnn(head="gmnm"), "images", cross_entropy, CNN + CNN_GMNM),
    "cnn_gmnm_attention": (lambda: Cnn(attention=True, head="gmnm"), "images", cross_entropy,
                           CNN + CNN_GMNM + ATTENTION),
    "ae": (lambda: Regressor(Autoencoder()), "pixels", mse, AE),
    "ae_attention": (lambda: Regressor(Autoencoder(attention=True)), "pixels", mse,
                     AE + ATTENTION),
    "ae_gmnm": (lambda: Regressor(Autoencoder(gmnm=True)), "pixels", mse, AE + AE_GMNM),
    "ae_attention_gmnm": (lambda: Regressor(Autoencoder(attention=True, gmnm=True)), "pixels",
                          mse, AE + ATTENTION + AE_GMNM),
    "lstm3": (lambda: Regressor(Lstm(3)), "sequences", mse, LSTM3 + 4 + 1),
    "lstm3_gmnm100": (lambda: Regressor(Lstm(3, head="gmnm", components=100)), "sequences", mse,
                      LSTM3 + 100 * (3 + 9 + 6 + 1) + 1 + 1),
    "lstm32": (lambda: Regressor(Lstm(32)), "sequences", mse, 4 * 32 * 36 + 256 + 33 + 1),
}


def data(kind):
    if kind == "sequences":
        x = torch.randn(BATCH, 10, 4)
        return x, torch.sin(x.sum((1, 2))).unsqueeze(1)
    x = torch.rand(BATCH, 1, 28, 28)
    return x, (torch.randint(0, 10, (BATCH,)) if kind == "images" else x.flatten(1))


def median_of_means(step, repetitions, min_seconds=1.0, warmup=20):
    """Median over repetitions of the mean step time (ms) of >= min_seconds of steps."""
    for _ in range(warmup):
        step()
    means = []
    for _ in range(repetitions):
        steps, start = 0, time.perf_counter()
        while True:
            step()
            steps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        means.append(elapsed / steps)
    return 1e3 * statistics.median(means)


def time_case(make, kind, loss, parameters, repetitions):
    torch.manual_seed(0)
    model = make()
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count == parameters, f"{count} trainable scalars, gsnn has {parameters}"
    x, y = data(kind)
    model.initialise(x)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        value = loss(model, x, y)
        value.backward()
        opt.step()

    return median_of_means(step, repetitions)


if __name__ == "__main__":
    repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    out = {name: time_case(*case, repetitions) for name, case in CASES.items()}
    print(json.dumps(out))
