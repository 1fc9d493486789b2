#!/usr/bin/env python3
"""mlp's ONNX files checked in ONNX Runtime, and PyTorch's ONNX files read by mlp.

usage: /usr/bin/python3 tests/onnx/check.py --mlp build/mlp --data data/mnist [--keep DIR]

  export    for every hidden activation (relu, sigmoid, tanh, linear) and task (binary "is it a
            3", multiclass, regression with 3 outputs) a 784-12-9-k model with random weights
            written by PyTorch in the mlp layout, plus a one-layer 784-10 tanh model and a
            features model 8-6-5-2 (CSV input): `mlp export`, then
              - onnx.checker.check_model(full_check=True) passes;
              - ONNX Runtime (onnxruntime-node, CPU, tests/onnx/run_ort.js) on the raw pixels
                (or CSV features) gives `mlp predict --json`'s outputs:
                max|ort - mlp| / max|mlp| over all outputs <= 1e-5;
              - `mlp import` of the exported file gives back every tensor with the same bits, and
                the metadata (tests/test_onnx.cpp checks that a file mlp wrote comes back byte
                for byte).
  table     models trained by `mlp train` on a CSV whose 4 columns differ in scale by up to 1e7
            (a header, text class names): the default --scale standard, --scale minmax, and
            --impute median on a copy with empty fields; `mlp export` puts the scaling (and the
            fill) in the graph, so ONNX Runtime on the raw features (NaN where a field is empty)
            gives `mlp predict --json`'s outputs on the same CSV, <= 1e-5 relative; `mlp import`
            gives back every tensor and the metadata (the preprocessing) the same. A model with a
            --categorical column: `mlp export` refuses it in one line.
  torch     nn.Sequential(Linear, act, Linear, act, Linear[, Softmax(dim=1) | Sigmoid]) for act
            in ReLU, Sigmoid, Tanh, Identity, exported by torch.onnx.export (opset 13, dynamic
            batch; one at opset 17 with nn.Flatten in front, one with bias-free layers), then
            `mlp import` and `mlp predict --json` on the MNIST test images: PyTorch's outputs on
            pixels/255, max|mlp - torch| / max|torch| <= 1e-5. The first one also goes on
            `mlp import --input pixels` -> `mlp export` -> ONNX Runtime on raw pixels, against
            PyTorch on pixels/255.
  refuse    a torch export with LeakyReLU, with two different hidden activations and with ReLU
            after the last layer: `mlp import` ends with one line naming the node, exit status 1.
            (Other bad files, a Conv among them, are crafted byte by byte in tests/test_onnx.cpp.)

Prints one line per case with the measure, and a summary. Exits 0 when all pass, 1 otherwise,
77 (CTest SKIP_RETURN_CODE) when torch/onnx cannot be imported or tests/onnx/node_modules is
missing (run `npm ci` in tests/onnx; scripts/test.sh does).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOLERANCE = 1e-5

try:
    import numpy as np
    import onnx
    import torch
    from torch import nn
except ImportError as e:
    print(f"SKIP: {e} (python3-torch, python3-onnx)")
    sys.exit(77)
if not os.path.isdir(os.path.join(HERE, "node_modules", "onnxruntime-node")):
    print("SKIP: no onnxruntime-node: run `npm ci` in tests/onnx")
    sys.exit(77)
sys.path.insert(0, os.path.join(ROOT, "python"))
import mlp_torch  # noqa: E402

failures = []


def report(name, measure, ok, note=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name:44s} {measure:.3g}{' ' + note if note else ''}")
    if not ok:
        failures.append(name)


def run(args, expect=0):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != expect:
        raise RuntimeError(f"{' '.join(args)}: exit {result.returncode}, expected {expect}\n{result.stdout}{result.stderr}")
    return result


def mlp_outputs(mlp, model, inputs):
    """`mlp predict --json` as an array [m, k]."""
    predictions = json.loads(run([mlp, "predict", "--model", model, "--input", inputs, "--json"]).stdout)["predictions"]
    rows = []
    for p in predictions:
        rows.append(p["probabilities"] if "probabilities" in p else [p["probability"]] if "probability" in p else p["output"])
    return np.array(rows, dtype=np.float64)


def ort_outputs(onnx_path, x, work):
    """ONNX Runtime's outputs for the float32 rows x."""
    x_path, y_path = os.path.join(work, "x.f32"), os.path.join(work, "y.f32")
    np.ascontiguousarray(x, dtype="<f4").tofile(x_path)
    info = json.loads(run(["node", os.path.join(HERE, "run_ort.js"), onnx_path, x_path, str(x.shape[1]), y_path]).stdout)
    return np.fromfile(y_path, dtype="<f4").astype(np.float64).reshape(info["dims"]), info


def relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def linears(sizes, bias=True):
    return [nn.Linear(a, b, bias=bias) for a, b in zip(sizes, sizes[1:])]


def check_export(mlp, images, pixels, work):
    outputs = {"binary": 1, "multiclass": 10, "regression": 3}
    cases = [(act, task, [784, 12, 9, outputs[task]]) for act in ("relu", "sigmoid", "tanh", "linear")
             for task in ("binary", "multiclass", "regression")]
    cases.append(("tanh", "multiclass", [784, 10]))
    cases.append(("sigmoid", "regression", [8, 6, 5, 2]))
    rng = np.random.default_rng(5)
    features = rng.normal(size=(300, 8)).astype(np.float32)
    csv = os.path.join(work, "features.csv")
    np.savetxt(csv, features, delimiter=",", fmt="%.9g")
    for i, (act, task, sizes) in enumerate(cases):
        torch.manual_seed(100 + i)
        name = f"export {'-'.join(map(str, sizes))} {act} {task}"
        model = os.path.join(work, f"e{i}.safetensors")
        exported = os.path.join(work, f"e{i}.onnx")
        back = os.path.join(work, f"e{i}.back.safetensors")
        is_features = sizes[0] == 8
        mlp_torch.save_model(model, linears(sizes), act, task, positive=3 if task == "binary" else None,
                             input="features" if is_features else "pixels")
        run([mlp, "export", "--model", model, "--onnx", exported, "-q"])
        try:
            onnx.checker.check_model(onnx.load(exported), full_check=True)
        except onnx.checker.ValidationError as e:
            report(name + " (checker)", 1, False, str(e).splitlines()[0])
            continue
        ours = mlp_outputs(mlp, model, csv if is_features else images)
        theirs, info = ort_outputs(exported, features if is_features else pixels, work)
        measure = relative(theirs, ours)
        expected_input = "features" if is_features else "pixels"
        report(name, measure, measure <= TOLERANCE and info["input"] == expected_input,
               f"checker ok, ORT input '{info['input']}' output '{info['output']}' {info['dims']}")
        run([mlp, "import", "--onnx", exported, "--out", back, "-q"])
        differing = same_state(model, back)
        report(f"round trip {'-'.join(map(str, sizes))} {act} {task}", len(differing), not differing,
               "ONNX -> mlp import: every tensor the same bits, the metadata kept" if not differing
               else "differ: " + ", ".join(differing))


def same_state(before_path, after_path):
    """What differs between two model files: tensors (bits) and metadata entries."""
    (before, meta_before), (after, meta_after) = mlp_torch.load_state(before_path), mlp_torch.load_state(after_path)
    differing = [n for n in before if n not in after or before[n].numpy().tobytes() != after[n].numpy().tobytes()]
    differing += [f"metadata {k}" for k, v in meta_before.items() if meta_after.get(k) != v]
    differing += [n for n in after if n not in before]
    return differing


def check_table(mlp, work):
    rng = np.random.default_rng(19)
    n = 240
    raw = np.stack([rng.normal(52000, 15000, n), rng.normal(0.004, 0.001, n), rng.uniform(-40, 45, n),
                    rng.integers(0, 6, n).astype(np.float64)], axis=1)
    score = (raw[:, 0] - 52000) / 15000 + (raw[:, 1] - 0.004) / 0.001 + raw[:, 2] / 40
    kind = np.where(score < -0.7, "low", np.where(score > 0.7, "high", "mid"))

    def write(path, values, kinds):
        with open(path, "w") as f:
            f.write("income,ratio,temperature,rooms,kind\n")
            for row, k in zip(values, kinds):
                f.write(",".join("" if np.isnan(v) else f"{v:.9g}" for v in row) + f",{k}\n")

    # The features as the CSV holds them, as float32 (what ONNX Runtime gets).
    csv = os.path.join(work, "table.csv")
    write(csv, raw, kind)
    holes = raw.copy()
    holes[rng.random(holes.shape) < 0.08] = np.nan
    holes_csv = os.path.join(work, "holes.csv")
    write(holes_csv, holes, kind)
    cases = [("standard (default)", csv, raw, []), ("minmax", csv, raw, ["--scale", "minmax"]),
             ("standard, --impute median", holes_csv, holes, ["--impute", "median"])]
    for i, (what, data, x, options) in enumerate(cases):
        x = np.array([[float(f"{v:.9g}") for v in row] for row in x], dtype=np.float32)
        model, exported, back = (os.path.join(work, f"s{i}{ext}") for ext in (".safetensors", ".onnx", ".back.safetensors"))
        run([mlp, "train", "--data", data, "--label-column", "kind", "--layers", "4-16-3", "--epochs", "30",
             "--seed", str(i + 1), "--out", model, "--quiet", *options])
        run([mlp, "export", "--model", model, "--onnx", exported, "-q"])
        graph = onnx.load(exported)
        onnx.checker.check_model(graph, full_check=True)
        ops = [node.op_type for node in graph.graph.node]
        ours = mlp_outputs(mlp, model, data)
        theirs, info = ort_outputs(exported, x, work)
        measure = relative(theirs, ours)
        report(f"table {what}", measure, measure <= TOLERANCE and info["input"] == "features",
               f"ORT on raw features, graph {' '.join(ops[:ops.index('Gemm')])} Gemm ...")
        run([mlp, "import", "--onnx", exported, "--out", back, "-q"])
        differing = same_state(model, back)
        report(f"round trip table {what}", len(differing), not differing,
               "every tensor the same bits, preprocessing kept" if not differing else "differ: " + ", ".join(differing))
    categorical = os.path.join(work, "cat.csv")
    with open(categorical, "w") as f:
        f.write("income,city,kind\n")
        for j in range(60):
            f.write(f"{raw[j, 0]:.9g},{('paris', 'oslo', 'rome')[j % 3]},{kind[j]}\n")
    model = os.path.join(work, "cat.safetensors")
    run([mlp, "train", "--data", categorical, "--label-column", "kind", "--categorical", "city", "--layers", "4-3",
         "--epochs", "2", "--out", model, "--quiet"])
    result = run([mlp, "export", "--model", model, "--onnx", os.path.join(work, "cat.onnx")], expect=1)
    lines = (result.stdout + result.stderr).splitlines()
    ok = len(lines) == 1 and "column 'city' is categorical (one-hot)" in lines[0]
    report("refuse export of a --categorical model", len(lines), ok, lines[0] if lines else "no message")


def torch_export(module, path, opset=13):
    module.eval()
    torch.onnx.export(module, torch.zeros(2, 784), path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=opset)


def check_torch(mlp, images, pixels, work):
    x = torch.from_numpy(pixels) / 255
    acts = {"ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "Identity": nn.Identity}
    ends = {"Softmax": (10, lambda: [nn.Softmax(dim=1)]), "Sigmoid": (1, lambda: [nn.Sigmoid()]),
            "none": (3, lambda: [])}
    cases = [(a, e, 13, False, False) for a in acts for e in ends]
    cases.append(("Tanh", "Softmax", 17, True, False))
    cases.append(("ReLU", "none", 13, False, True))
    for i, (act, end, opset, flatten, no_bias) in enumerate(cases):
        torch.manual_seed(200 + i)
        k, end_modules = ends[end]
        layers = linears([784, 12, 9, k], bias=not no_bias)
        module = nn.Sequential(*([nn.Flatten()] if flatten else []), layers[0], acts[act](), layers[1], acts[act](),
                               layers[2], *end_modules())
        name = (f"torch {act} -> {end}, opset {opset}" + (", Flatten" if flatten else "")
                + (", no bias" if no_bias else ""))
        path, out = os.path.join(work, f"t{i}.onnx"), os.path.join(work, f"t{i}.safetensors")
        torch_export(module, path, opset)
        run([mlp, "import", "--onnx", path, "--out", out, "-q"])
        with torch.no_grad():
            expected = module(x).double().numpy()
        measure = relative(mlp_outputs(mlp, out, images), expected)
        meta = mlp_torch.load_state(out)[1]
        report(name, measure, measure <= TOLERANCE, f"imported as {meta['layers']} {meta['activation']} {meta['task']}")
        if i == 0:
            # PyTorch -> ONNX -> mlp (marked as taking pixels) -> ONNX -> ONNX Runtime on raw pixels.
            marked, again = os.path.join(work, "t0.pixels.safetensors"), os.path.join(work, "t0.again.onnx")
            run([mlp, "import", "--onnx", path, "--out", marked, "--input", "pixels", "-q"])
            run([mlp, "export", "--model", marked, "--onnx", again, "-q"])
            theirs, info = ort_outputs(again, pixels, work)
            measure = relative(theirs, expected)
            report("torch -> mlp --input pixels -> ONNX Runtime", measure,
                   measure <= TOLERANCE and info["input"] == "pixels", f"ORT input '{info['input']}' on raw pixels")


def check_refusals(mlp, work):
    cases = [
        ("LeakyReLU", nn.Sequential(nn.Linear(784, 12), nn.LeakyReLU(), nn.Linear(12, 10)), "(LeakyRelu): unsupported op"),
        ("two activations", nn.Sequential(nn.Linear(784, 12), nn.ReLU(), nn.Linear(12, 9), nn.Tanh(), nn.Linear(9, 10)),
         "(Tanh): a different activation"),
        ("ReLU at the output", nn.Sequential(nn.Linear(784, 12), nn.ReLU(), nn.Linear(12, 10), nn.ReLU()),
         "(Relu): Relu at the output"),
    ]
    for i, (what, module, needle) in enumerate(cases):
        path = os.path.join(work, f"r{i}.onnx")
        torch_export(module, path)
        result = run([mlp, "import", "--onnx", path, "--out", os.path.join(work, f"r{i}.safetensors")], expect=1)
        lines = (result.stdout + result.stderr).splitlines()
        ok = len(lines) == 1 and lines[0].startswith(f"mlp: {path}: node ") and needle in lines[0]
        report(f"refuse {what}", len(lines), ok, lines[0] if lines else "no message")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp", required=True)
    parser.add_argument("--data", required=True, help="folder with t10k-images-idx3-ubyte")
    parser.add_argument("--keep", help="write the files here instead of a temporary folder")
    args = parser.parse_args()
    images = os.path.join(args.data, "t10k-images-idx3-ubyte")
    if not os.path.exists(images):
        print(f"SKIP: no {images} (scripts/fetch-mnist.sh)")
        return 77
    pixels = mlp_torch.read_idx(images).reshape(-1, 784).numpy().astype(np.float32)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or scratch
        os.makedirs(work, exist_ok=True)
        check_export(args.mlp, images, pixels, work)
        check_table(args.mlp, work)
        check_torch(args.mlp, images, pixels, work)
        check_refusals(args.mlp, work)
    print(f"{'FAILED: ' + ', '.join(failures) if failures else 'all passed'} (tolerance {TOLERANCE:g})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
