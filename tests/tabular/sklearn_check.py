#!/usr/bin/python3
"""mlp on scikit-learn's bundled tables, as a new user would run it, and its scaling against PyTorch.

usage: /usr/bin/python3 tests/tabular/sklearn_check.py --mlp build/mlp

  files     iris.csv, wine_data.csv and breast_cancer.csv exactly as python3-sklearn ships them
            (first line: sample count, feature count, class names; the class index last),
            trained with the label's index said as '#N' (in iris, "4" is also the name of
            column 1), to a validation accuracy >= 0.9.
  pandas    the same tables written by pandas (header of feature names, "target" last; and
            with header=None, whose header is 0..n-1), trained with default options: features
            standardized by mlp, a seeded stratified --val-split, a network of as many outputs as
            classes. Each must reach the validation accuracy of a model on standardized data
            (>= 0.9), where unscaled wine sat at chance (36%).
  scaling   a wine model trained with --scale standard: its stored centers and scales are the
            training rows' float32 mean and population std; python/mlp_torch.preprocess on the
            raw rows gives exactly (x - center) / scale in float32, bit for bit; PyTorch fed
            those inputs gives `mlp predict --json`'s probabilities on the raw rows within
            1e-5 (the tolerance of the PyTorch cross-check) and the same classes; `mlp eval`
            on the raw file gives the accuracy those classes give.
  names     iris with the species as text: predict prints the names, eval labels the
            confusion matrix with them.

Exits 0 when every check passes, 1 otherwise, 77 (CTest's SKIP_RETURN_CODE) when scikit-learn,
pandas or PyTorch cannot be imported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SKLEARN_DATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data"

try:
    import numpy as np
    import pandas  # noqa: F401
    import torch
    from sklearn import datasets
except ImportError as e:
    print(f"SKIP: {e}; install python3-sklearn python3-pandas python3-torch (scripts/install-deps.sh)")
    sys.exit(SKIP)

sys.path.insert(0, os.path.join(REPO, "python"))
import mlp_torch  # noqa: E402

failures: list[str] = []


def check(condition: bool, what: str):
    print(("ok    " if condition else "FAIL  ") + what, flush=True)
    if not condition:
        failures.append(what)


def mlp(binary, *args) -> str:
    result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"mlp {' '.join(map(str, args))}: exit {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def last_metrics(path) -> dict:
    with open(path) as f:
        return json.loads(f.read().strip().split("\n")[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mlp", required=True)
    p.add_argument("--keep", help="keep the files here")
    args = p.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="mlp-tabular-")
    os.makedirs(folder, exist_ok=True)
    try:
        run(args.mlp, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


def run(binary, folder):
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    common = ["--epochs", 60, "--lr", 0.05, "--val-split", 0.3, "--seed", 1, "--quiet"]

    # The files as shipped: the label's index said as '#N'.
    for name, columns in [("iris.csv", 5), ("wine_data.csv", 14), ("breast_cancer.csv", 31)]:
        shipped = os.path.join(SKLEARN_DATA, name)
        if not os.path.exists(shipped):
            check(False, f"files: {shipped} exists")
            continue
        mlp(binary, "train", "--data", shipped, "--label-column", f"#{columns - 1}", *common, "--metrics", path("m.jsonl"))
        accuracy = last_metrics(path("m.jsonl"))["val_accuracy"]
        check(accuracy >= 0.9, f"files: {name} as shipped, validation accuracy {accuracy:.4f} >= 0.9")

    # Written by pandas, default options.
    loaders = {"iris": datasets.load_iris, "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer}
    for name, load in loaders.items():
        frame = load(as_frame=True).frame
        frame.to_csv(path(f"{name}.csv"), index=False)
        frame.to_csv(path(f"{name}-noheader.csv"), index=False, header=False)
        frame.T.reset_index(drop=True).T.to_csv(path(f"{name}-numbered.csv"), index=False)  # header 0..n-1
        for variant, label in [("", "target"), ("-noheader", "-1"), ("-numbered", str(frame.shape[1] - 1))]:
            out = mlp(binary, "train", "--data", path(f"{name}{variant}.csv"), "--label-column", label,
                      "--epochs", 60, "--lr", 0.05, "--val-split", 0.3, "--seed", 1, "--metrics", path("m.jsonl"))
            classes = frame["target"].nunique()
            check(f"-128-{classes} " in out, f"pandas: {name}{variant}.csv gets {classes} outputs")
            check(f"on {round(len(frame) * 0.7)} samples" in out,
                  f"pandas: {name}{variant}.csv: {round(len(frame) * 0.7)} training samples (no header row taken as data)")
            accuracy = last_metrics(path("m.jsonl"))["val_accuracy"]
            check(accuracy >= 0.9, f"pandas: {name}{variant}.csv validation accuracy {accuracy:.4f} >= 0.9")

    # Scaling against PyTorch, on wine (features 1,000x apart).
    frame = datasets.load_wine(as_frame=True).frame
    model = path("wine.safetensors")
    mlp(binary, "train", "--data", path("wine.csv"), "--label-column", "target", "--scale", "standard",
        "--epochs", 60, "--lr", 0.05, "--seed", 1, "--out", model, "--quiet")
    net, meta = mlp_torch.load_model(model)
    entry = json.loads(meta["preprocessing"])
    features = [c for c in frame.columns if c != "target"]
    raw = frame[features].to_numpy(np.float64)
    x32 = raw.astype(np.float32)
    centers = np.array([c["center"] for c in entry["columns"]], dtype=np.float32)
    scales = np.array([c["scale"] for c in entry["columns"]], dtype=np.float32)
    mean32 = x32.astype(np.float64).mean(0).astype(np.float32)
    std32 = x32.astype(np.float64).std(0).astype(np.float32)
    ulps = max(int(np.max(np.abs(centers.view(np.int32) - mean32.view(np.int32)))),
               int(np.max(np.abs(scales.view(np.int32) - std32.view(np.int32)))))
    check(ulps <= 1, f"scaling: stored centers and scales are the float32 mean and std (within {ulps} ulp)")
    by_hand = (torch.tensor(x32) - torch.tensor(centers)) / torch.tensor(scales)
    inputs = mlp_torch.preprocess(meta, raw)
    check(torch.equal(inputs, by_hand), "scaling: mlp_torch.preprocess is (x - center) / scale in float32, bit for bit")
    frame[features].to_csv(path("wine-raw.csv"), index=False)
    predicted = json.loads(mlp(binary, "predict", "--model", model, "--input", path("wine-raw.csv"), "--json"))
    ours = torch.tensor([item["probabilities"] for item in predicted["predictions"]])
    theirs = mlp_torch.predict(net, "multiclass", by_hand)
    difference = float((ours - theirs).abs().max() / theirs.abs().max())
    check(difference <= 1e-5, f"scaling: mlp predict on raw rows = PyTorch on scaled features (max rel. {difference:.2e})")
    same = int((ours.argmax(1) == theirs.argmax(1)).sum())
    check(same == len(frame), f"scaling: the same class for {same} of {len(frame)} samples")
    evaluation = json.loads(mlp(binary, "eval", "--model", model, "--data", path("wine.csv"), "--json"))
    truth = torch.tensor(frame["target"].to_numpy())
    expected = float((theirs.argmax(1) == truth).double().mean())
    check(abs(evaluation["accuracy"] - expected) < 1e-12,
          f"scaling: mlp eval accuracy {evaluation['accuracy']:.4f} = PyTorch's {expected:.4f}")

    # Class names.
    iris = datasets.load_iris(as_frame=True)
    named = iris.frame.assign(target=[iris.target_names[t] for t in iris.frame["target"]])
    named.to_csv(path("iris-named.csv"), index=False)
    model = path("iris.safetensors")
    mlp(binary, "train", "--data", path("iris-named.csv"), "--label-column", "target", "--epochs", 60, "--lr", 0.05,
        "--out", model, "--quiet")
    named.drop(columns="target").iloc[[0, 60, 120]].to_csv(path("iris-three.csv"), index=False)
    text = mlp(binary, "predict", "--model", model, "--input", path("iris-three.csv"))
    check(text.split("\n")[0].startswith("0 class setosa probability"), "names: predict prints 'class setosa'")
    check("virginica" in text, "names: predict names virginica")
    table = mlp(binary, "eval", "--model", model, "--data", path("iris-named.csv"))
    check("versicolor" in table and "virginica" in table, "names: eval's confusion matrix is labelled by name")


if __name__ == "__main__":
    sys.exit(main())
