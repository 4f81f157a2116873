#!/usr/bin/python3
"""Reads a gsnn model directory with only the standard library and numpy,
recomputes an MLP's predictions from the safetensors weights (the data
scaling included), and compares them with `gsnn predict` output.

usage: read_model.py MODEL_DIR PREDICTIONS_CSV
"""
import csv
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
    return tensors


def mlp_forward(tensors, x, activation):
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[activation]
    layers = sorted({int(k.split(".")[2]) for k in tensors if k.startswith("body.net.")})
    for i, layer in enumerate(layers):
        w = tensors[f"body.net.{layer}.weight"].astype(np.float64)
        b = tensors[f"body.net.{layer}.bias"].astype(np.float64)
        x = x @ w.T + b
        if i < len(layers) - 1:
            x = act(x)
    return x


def main(model_dir, predictions_csv):
    desc = json.load(open(f"{model_dir}/model.json"))
    assert desc["format"] == "gsnn-model" and desc["format_version"] == 2
    assert desc["kind"] == "regression" and desc["outputs"] == desc["targets"]
    tensors = read_safetensors(f"{model_dir}/{desc['weights']}")
    noise = np.log1p(np.exp(tensors["noise_rho"].astype(np.float64)))[0]
    assert abs(noise - desc["noise_std"]) < 1e-6 * max(1.0, noise), (noise, desc["noise_std"])
    if desc["family"] != "mlp":
        print(f"read {len(tensors)} tensors of a {desc['family']} model")
        return
    rows = list(csv.DictReader(open(predictions_csv)))
    x = np.array([[float(r[c]) for c in desc["inputs"]] for r in rows])
    s = {k: tensors[k].astype(np.float64) for k in
         ("input_mean", "input_scale", "target_mean", "target_scale")}
    z = (x - s["input_mean"]) / s["input_scale"]
    y = mlp_forward(tensors, z, desc["options"]["activation"])
    mean = y[:, 0] * s["target_scale"][0] + s["target_mean"][0]
    std = noise * s["target_scale"][0]
    got_mean = np.array([float(r["mean"]) for r in rows])
    got_std = np.array([float(r["std"]) for r in rows])
    err = np.max(np.abs(mean - got_mean))
    assert err < 1e-4 * (1 + np.max(np.abs(mean))), f"mean mismatch {err}"
    assert np.allclose(got_std, std, rtol=1e-4), "std mismatch"
    print(f"numpy recomputed {len(rows)} predictions, max |diff| = {err:.2e}")


if __name__ == "__main__":
    main(*sys.argv[1:])
