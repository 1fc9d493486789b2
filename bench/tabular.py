#!/usr/bin/python3
"""mlp against scikit-learn and PyTorch on scikit-learn's own small tables.

usage: /usr/bin/python3 bench/tabular.py --mlp build/mlp [--seeds 5] [--epochs 200] [--out FILE.jsonl]

For iris, wine, breast_cancer, digits (classification) and diabetes (regression), as Debian's
python3-sklearn ships them: each table is written to CSV with pandas (raw features, header, the
label in a column "target"), split once (train_test_split, test_size 0.25, random_state 0,
stratified for classes), and trained by

  mlp      mlp train --data train.csv --label-column target (features standardized by mlp itself,
           statistics of the training file, stored in the model), then mlp eval --json on test.csv
  sklearn  make_pipeline(StandardScaler(), MLPClassifier / MLPRegressor)
  torch    StandardScaler, then nn.Sequential(Linear, ReLU, Linear) trained by the same rule

with the same network (one hidden layer of --hidden ReLU units), optimizer (Adam, lr --lr, betas
0.9/0.999, eps 1e-8, no weight decay: scikit-learn's alpha=0), batch size --batch-size, epochs
(scikit-learn: max_iter with early stopping and the tol test switched off), shuffled each epoch,
over --seeds seeds. Reports the test accuracy (R^2 for diabetes) as mean and standard deviation
over the seeds, and the wall time of one training, median over the seeds: for mlp both the whole
`mlp train` process as Python starts it (start-up, reading the CSV, writing the model included)
and its training alone (the sum of the epochs' `seconds` in --metrics: what fit() times);
scikit-learn: fit() (scaling and training, the data already in memory); PyTorch: the training loop.

Not a test: it takes minutes. The results go in docs/tabular.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np


def datasets():
    from sklearn import datasets as d

    return {
        "iris": (d.load_iris, "classification"),
        "wine": (d.load_wine, "classification"),
        "breast_cancer": (d.load_breast_cancer, "classification"),
        "digits": (d.load_digits, "classification"),
        "diabetes": (lambda **kw: d.load_diabetes(scaled=False, **kw), "regression"),
    }


def write_split(name, load, task, folder):
    """train.csv and test.csv of one table; returns (x_train, y_train, x_test, y_test)."""
    from sklearn.model_selection import train_test_split

    frame = load(as_frame=True).frame
    y = frame["target"]
    train, test = train_test_split(frame, test_size=0.25, random_state=0,
                                   stratify=y if task == "classification" else None)
    train.to_csv(os.path.join(folder, f"{name}-train.csv"), index=False)
    test.to_csv(os.path.join(folder, f"{name}-test.csv"), index=False)
    features = [c for c in frame.columns if c != "target"]
    return (train[features].to_numpy(np.float64), train["target"].to_numpy(),
            test[features].to_numpy(np.float64), test["target"].to_numpy())


def run_mlp(args, name, task, folder, n_in, n_out, seed):
    model = os.path.join(folder, f"{name}-{seed}.safetensors")
    metrics = os.path.join(folder, f"{name}-{seed}.jsonl")
    command = [args.mlp, "train", "--data", os.path.join(folder, f"{name}-train.csv"), "--label-column", "target",
               "--layers", f"{n_in}-{args.hidden}-{n_out}", "--optimizer", "adam", "--lr", str(args.lr),
               "--batch-size", str(args.batch_size), "--epochs", str(args.epochs), "--seed", str(seed),
               "--out", model, "--metrics", metrics, "--quiet"]
    if task == "regression":
        command += ["--task", "regression"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    out = subprocess.run([args.mlp, "eval", "--model", model, "--data", os.path.join(folder, f"{name}-test.csv"),
                          "--json"], check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    with open(metrics) as f:
        training = sum(json.loads(line)["seconds"] for line in f)
    return (result["r2"] if task == "regression" else result["accuracy"]), seconds, training


def run_sklearn(args, task, data, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, y_train, x_test, y_test = data
    kind = MLPRegressor if task == "regression" else MLPClassifier
    net = kind(hidden_layer_sizes=(args.hidden,), activation="relu", solver="adam", alpha=0.0,
               batch_size=args.batch_size, learning_rate_init=args.lr, max_iter=args.epochs, shuffle=True,
               random_state=seed, tol=0.0, n_iter_no_change=args.epochs + 1, early_stopping=False)
    pipeline = make_pipeline(StandardScaler(), net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        pipeline.fit(x_train, y_train)
        seconds = time.perf_counter() - start
    return pipeline.score(x_test, y_test), seconds


def run_torch(args, task, data, seed):
    import torch
    from sklearn.metrics import r2_score
    from sklearn.preprocessing import StandardScaler
    from torch import nn

    torch.set_num_threads(args.torch_threads)
    x_train, y_train, x_test, y_test = data
    scaler = StandardScaler().fit(x_train)
    xt = torch.tensor(scaler.transform(x_train), dtype=torch.float32)
    xv = torch.tensor(scaler.transform(x_test), dtype=torch.float32)
    if task == "regression":
        yt = torch.tensor(y_train, dtype=torch.float32).reshape(-1, 1)
        n_out, loss_fn = 1, (lambda out, y: 0.5 * nn.functional.mse_loss(out, y))
    else:
        classes = np.unique(y_train)
        yt = torch.tensor(np.searchsorted(classes, y_train), dtype=torch.long)
        n_out, loss_fn = len(classes), nn.functional.cross_entropy
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(xt.shape[1], args.hidden), nn.ReLU(), nn.Linear(args.hidden, n_out))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(len(xt), generator=generator)
        for i in range(0, len(xt), args.batch_size):
            batch = order[i:i + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[batch]), yt[batch])
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        out = model(xv)
    if task == "regression":
        return r2_score(y_test, out[:, 0].numpy()), seconds
    predicted = classes[out.argmax(1).numpy()]
    return float((predicted == y_test).mean()), seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mlp", required=True, help="the mlp binary")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("--only", nargs="*", help="some of the data sets")
    p.add_argument("--out", help="also write one JSON object per data set and framework here")
    args = p.parse_args()
    try:
        import sklearn  # noqa: F401
    except ImportError:
        sys.exit("bench/tabular.py needs scikit-learn: apt-get install python3-sklearn python3-pandas")

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (load, task) in datasets().items():
            if args.only and name not in args.only:
                continue
            data = write_split(name, load, task, folder)
            n_in = data[0].shape[1]
            n_out = 1 if task == "regression" else len(np.unique(data[1]))
            results = {"mlp": [], "sklearn": [], "torch": []}
            for seed in range(1, args.seeds + 1):
                results["mlp"].append(run_mlp(args, name, task, folder, n_in, n_out, seed))
                results["sklearn"].append(run_sklearn(args, task, data, seed))
                results["torch"].append(run_torch(args, task, data, seed))
            for framework, runs in results.items():
                scores = [r[0] for r in runs]
                row = {"data": name, "framework": framework, "metric": "r2" if task == "regression" else "accuracy",
                       "mean": statistics.mean(scores), "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
                       "scores": scores, "seconds_median": statistics.median(r[1] for r in runs),
                       "training_seconds_median": statistics.median(r[-1] for r in runs),
                       "train_samples": len(data[0]), "test_samples": len(data[2]), "epochs": args.epochs,
                       "layers": f"{n_in}-{args.hidden}-{n_out}"}
                rows.append(row)
                print(f"{name:14s} {framework:8s} {row['metric']:8s} {row['mean']:.4f} ± {row['std']:.4f}  "
                      f"{row['seconds_median']:.4f} s  {row['training_seconds_median']:.4f} s", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")

    print("\n| data | layers | metric | mlp | scikit-learn | PyTorch |")
    print("| --- | --- | --- | --- | --- | --- |")
    groups = {name: {r["framework"]: r for r in rows if r["data"] == name} for name in dict.fromkeys(r["data"] for r in rows)}
    for name, by in groups.items():
        cell = lambda r: f"{r['mean']:.4f} ± {r['std']:.4f}"  # noqa: E731
        print(f"| {name} | {by['mlp']['layers']} | {by['mlp']['metric']} | {cell(by['mlp'])} | {cell(by['sklearn'])} | "
              f"{cell(by['torch'])} |")
    print("\n| data | mlp process | mlp training | scikit-learn fit() | PyTorch loop | scikit-learn / mlp process | "
          "scikit-learn / mlp training |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, by in groups.items():
        mlp, sklearn = by["mlp"], by["sklearn"]["seconds_median"]
        print(f"| {name} | {1e3 * mlp['seconds_median']:.1f} ms | {1e3 * mlp['training_seconds_median']:.1f} ms | "
              f"{1e3 * sklearn:.1f} ms | {1e3 * by['torch']['seconds_median']:.1f} ms | "
              f"{sklearn / mlp['seconds_median']:.1f}x | {sklearn / mlp['training_seconds_median']:.1f}x |")


if __name__ == "__main__":
    main()
