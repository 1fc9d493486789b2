#!/usr/bin/env python3
"""mlp proven against PyTorch: the same files, the same numbers.

usage: /usr/bin/python3 tests/torch/cross_check.py --mlp build/mlp --data data/mnist [--keep DIR]

For every hidden activation (relu, sigmoid, tanh, linear), every task (binary "is it a 3",
multiclass digits, regression on the digit value from IDX pixels, and regression on float
CSV features picked out with --label-column) and every depth 1-4 (784-k, 784-12-k,
784-12-9-k, 784-12-9-8-k; 8-... for the CSV features):

  forward   a model with random weights written by PyTorch in the mlp layout, and one written
            by `mlp train --epochs 0 --out`: `mlp predict --json` gives the outputs of the
            nn.Sequential loaded from the same file. Measure: max|mlp - torch| / max|torch|
            over all outputs of the model. Tolerance 1e-5.
  eval      the same models: `mlp eval --json` loss equals the PyTorch loss
            (BCEWithLogitsLoss / CrossEntropyLoss / MSELoss/2), |mlp - torch| / |torch|,
            tolerance 1e-5; the accuracy is exactly the same.
  train     from one initial file written by PyTorch, `mlp train --init --no-shuffle` against
            torch.optim.SGD over the same batches of 203 samples: batch size 1 for 1 epoch (at
            a fifth of the learning rate, see BATCH_1_LR_FACTOR), 32 for 3 epochs and 50 for 2
            (last batches of 11 and 3). Measures: the saved weights, max|W_mlp - W_torch| /
            max|W_torch| per tensor, tolerance 1e-4; the training steps themselves,
            max|W_mlp - W_torch| / max|W_torch - W_init| over all parameters, tolerance 1e-3
            (the weights check alone would pass a run whose steps were wrong but small); the
            per-epoch train_loss of --metrics, tolerance 1e-5. A ReLU case that disagrees after
            a unit came within rounding of its kink runs again from new weights (see
            check_training), and the summary lists it.
  mnist     both ways on the whole MNIST test split of --data: a model trained by mlp gives
            the same class as PyTorch for every image, and a model trained by PyTorch (Adam,
            shuffled) is evaluated by `mlp eval --json` to the accuracy PyTorch reports, with
            the same loss within 1e-5.
  bce       the binary task: PyTorch's BCEWithLogitsLoss on the "is it a 3" labels equals
            mlp's loss, both `mlp eval --json` "loss" and --metrics "train_loss" (a summary of
            the binary rows of the checks above).

Prints one line per case with the worst difference, then the worst of each check. Exits 0 when
all agree, 1 when any disagree (or mlp fails), 77 (CTest SKIP_RETURN_CODE) when PyTorch cannot
be imported.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

try:
    import torch
    from torch import nn
except ImportError as e:  # the only reason to skip: everything else that goes wrong is a failure
    print(f"SKIP: PyTorch cannot be imported by {sys.executable} ({e}); "
          "install python3-torch (scripts/install-deps.sh --tests does)")
    sys.exit(SKIP)

sys.path.insert(0, os.path.join(REPO, "python"))
import mlp_torch  # noqa: E402

ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")
TASKS = ("binary", "multiclass", "regression", "regression-csv")  # the last: float features
DEPTHS = (1, 2, 3, 4)
HIDDEN = (12, 9, 8)          # 784-12-9-8-k at depth 4
# Batch size: epochs. With 203 samples an epoch is 203 steps; 6 x 32 + 11; 4 x 50 + 3.
EPOCHS = {1: 1, 32: 3, 50: 2}
N_TRAIN, N_TEST = 203, 100   # the small sets of the forward, eval and train checks
POSITIVE = 3                 # binary: "is it a 3?"
CSV_FEATURES = 8
LEARNING_RATES = {"binary": 0.05, "multiclass": 0.05, "regression": 0.005, "regression-csv": 0.02}
# One step per sample at those rates makes deep tanh and linear nets train chaotically: there
# PyTorch in float32 ends 10% away from PyTorch in float64 (and from itself with one weight
# changed by 1e-7). A fifth of the rate keeps every case within 1e-5 of float64.
BATCH_1_LR_FACTOR = 0.2

TOL_OUTPUT = 1e-5
TOL_LOSS = 1e-5
TOL_WEIGHTS = 1e-4
TOL_STEPS = 1e-3
KINK = 1e-5        # see check_training
KINK_RETRIES = 3

CHECKS = {
    "forward": "mlp predict --json vs nn.Sequential, same file (max|d| / max|torch| of the outputs)",
    "eval": "mlp eval --json loss vs torch loss (|d| / |torch|), accuracy identical",
    "train-weights": "weights after mlp train --init --no-shuffle vs torch SGD (max|d| / max|W| per tensor)",
    "train-steps": "the same, relative to how far training moved the weights (max|d| / max|W - W_init|)",
    "train-loss": "per-epoch train_loss of --metrics vs torch (|d| / |torch|)",
    "mnist": "whole MNIST test split, models trained by mlp and by PyTorch (classes, accuracy, loss)",
    "bce": "binary task: BCEWithLogitsLoss vs mlp's loss (eval loss and train_loss)",
}


# --------------------------------------------------------------------------- bookkeeping


class Disagreement(Exception):
    pass


class Results:
    def __init__(self):
        self.rows = []        # (check, case, measure, value, tolerance)
        self.failures = []    # (case, message)
        self.retried = []     # (case, notes): training cases run again from new weights

    def record(self, check, case, measure, value, tolerance):
        """A measured difference; a failure when it is above tolerance (or not a number)."""
        self.rows.append((check, case, measure, value, tolerance))
        if not value <= tolerance:
            self.failures.append((case, f"{check} {measure} = {value:.3e} > {tolerance:.0e}"))
        return value

    def fail(self, case, message):
        self.failures.append((case, message))

    def cases(self, check):
        return len({r[1] for r in self.rows if r[0] == check})

    def worst(self, check):
        rows = [r for r in self.rows if r[0] == check]
        if not rows:
            return None
        return max(rows, key=lambda r: (not r[3] <= math.inf, r[3] / r[4]))


def rel(a, b, floor=1e-30):
    """max|a - b| / max|b| over all elements, in float64."""
    a = torch.as_tensor(a, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    if a.shape != b.shape:
        raise Disagreement(f"shapes differ: mlp {list(a.shape)}, torch {list(b.shape)}")
    if a.numel() == 0:
        return 0.0
    return (a - b).abs().max().item() / max(b.abs().max().item(), floor)


def rel_scalar(a, b, floor=1e-12):
    """|a - b| / |b|; a None (mlp writes null for a loss that is not finite) gives NaN."""
    if a is None or b is None:
        return math.nan
    return abs(a - b) / max(abs(b), floor)


# --------------------------------------------------------------------------- running mlp


class Mlp:
    def __init__(self, binary):
        self.binary = binary
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, *args, threads=1):
        """Runs mlp; one thread unless told otherwise: the small cases gain nothing from more,
        and busy OpenMP threads slow everything down when ctest -j runs tests side by side."""
        cmd = [self.binary, *(["--threads", str(threads)] if threads else []), *map(str, args)]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        if done.returncode != 0:
            raise Disagreement(f"`{' '.join(cmd)}` exited with {done.returncode}:\n"
                               f"{done.stdout}{done.stderr}")
        return done.stdout

    def json(self, *args, threads=1):
        out = self(*args, threads=threads)
        try:
            return json.loads(out)
        except ValueError as e:
            raise Disagreement(f"mlp {' '.join(map(str, args))}: not JSON ({e}):\n{out[:2000]}") from None


# --------------------------------------------------------------------------- data


def write_idx(path, tensor):
    """A uint8 tensor as an IDX file (gzip-compressed when path ends in .gz)."""
    t = tensor.to(torch.uint8).contiguous()
    blob = struct.pack(f">BBBB{t.dim()}I", 0, 0, 8, t.dim(), *t.shape) + t.numpy().tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(blob, mtime=0) if path.endswith(".gz") else blob)


class Data:
    """The small sets of one task, as mlp reads them (files) and as torch holds them."""

    def __init__(self, n0, mlp_args, predict_args, x_train, y_train, x_test, y_test):
        self.n0 = n0
        self.mlp_args = mlp_args          # --data ... for train and eval
        self.predict_args = predict_args  # --input ... for predict
        self.x_train, self.y_train = x_train, y_train   # x float32 [n, n0]; y raw labels/targets
        self.x_test, self.y_test = x_test, y_test


def make_data(mnist, work):
    """IDX digits (the first 203 train and 100 t10k images of --data) and a CSV regression set."""
    digits = os.path.join(work, "digits")
    os.makedirs(digits)
    sets = {}
    for split, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        images = mlp_torch.read_idx(find(mnist, f"{split}-images-idx3-ubyte"))[:n]
        labels = mlp_torch.read_idx(find(mnist, f"{split}-labels-idx1-ubyte"))[:n]
        # The training images compressed, the rest not: mlp reads both.
        write_idx(os.path.join(digits, f"{split}-images-idx3-ubyte" + (".gz" if split == "train" else "")), images)
        write_idx(os.path.join(digits, f"{split}-labels-idx1-ubyte"), labels)
        sets[split] = (images.reshape(n, -1).float() / 255, labels.long())
    test_images = os.path.join(digits, "t10k-images-idx3-ubyte")
    idx = Data(784, ["--data", digits], ["--input", test_images], *sets["train"], *sets["t10k"])

    # Float features, target in the middle column "y", a header line: y = f(x) + noise.
    gen = torch.Generator().manual_seed(4)
    paths = {}
    csv_sets = {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        x = torch.randn(n, CSV_FEATURES, generator=gen)
        y = torch.tanh(x[:, 0] - 0.5 * x[:, 1]) + 0.3 * x[:, 2] * x[:, 3] + 0.1 * torch.randn(n, generator=gen)
        cols = [f"f{i}" for i in range(CSV_FEATURES)]
        cols.insert(4, "y")
        path = os.path.join(work, f"{split}.csv")
        with open(path, "w") as f:
            f.write(",".join(cols) + "\n")
            for row, target in zip(x.tolist(), y.tolist()):
                values = row[:4] + [target] + row[4:]
                # Values that are float32 numbers, printed so that mlp's from_chars and
                # Python's float() give back exactly that float32.
                f.write(",".join(repr(float(torch.tensor(v, dtype=torch.float32))) for v in values) + "\n")
        paths[split] = path
        # Read back what was written, as float32, as mlp will.
        with open(path) as f:
            rows = [[float(v) for v in line.split(",")] for line in f.read().splitlines()[1:]]
        t = torch.tensor(rows, dtype=torch.float32)
        csv_sets[split] = (torch.cat([t[:, :4], t[:, 5:]], dim=1), t[:, 4])
    csv = Data(CSV_FEATURES, ["--data", paths["train"], "--test", paths["test"], "--label-column", "y"],
               ["--input", paths["test"], "--label-column", "y"], *csv_sets["train"], *csv_sets["test"])
    return {"binary": idx, "multiclass": idx, "regression": idx, "regression-csv": csv}


def find(folder, name):
    for candidate in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(f"{os.path.join(folder, name)}[.gz] not found: run scripts/fetch-mnist.sh {folder}")


# --------------------------------------------------------------------------- the tasks in torch


def file_task(task):
    return "regression" if task == "regression-csv" else task


def targets(task, labels):
    """What torch's loss takes for mlp's labels: [label == 3], class indices, or targets."""
    if task == "binary":
        return (labels == POSITIVE).float().reshape(-1, 1)
    if task == "multiclass":
        return labels.long()
    return labels.float().reshape(-1, 1)


def loss_fn(task, z, t):
    """mlp's loss, from PyTorch's own losses: BCEWithLogitsLoss on the logit, CrossEntropyLoss
    on the class logits, and for regression (1/2m) sum ||a - y||^2 = MSELoss / 2 (one output)."""
    if task == "multiclass":
        return nn.functional.cross_entropy(z, t)
    if task == "binary":
        return nn.functional.binary_cross_entropy_with_logits(z, t.to(z.dtype))
    return 0.5 * nn.functional.mse_loss(z, t.to(z.dtype))


def outputs(task, z):
    """mlp's A[L] from the logits."""
    if task == "binary":
        return torch.sigmoid(z)
    if task == "multiclass":
        return torch.softmax(z, dim=1)
    return z


def classes(task, a):
    if task == "binary":
        return (a[:, 0] > 0.5).long()
    return a.argmax(dim=1)


def sizes_of(task, data, depth):
    k = 10 if task == "multiclass" else 1
    return [data.n0, *HIDDEN[: depth - 1], k]


def random_linears(sizes, seed):
    """nn.Linear layers with He-scaled normal weights and nonzero normal biases."""
    gen = torch.Generator().manual_seed(seed)
    linears = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        lin = nn.Linear(n_in, n_out)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(n_out, n_in, generator=gen) * math.sqrt(2.0 / n_in))
            lin.bias.copy_(torch.randn(n_out, generator=gen) * 0.1)
        linears.append(lin)
    return linears


def save(path, linears, activation, task):
    mlp_torch.save_model(path, linears, activation, file_task(task),
                         positive=POSITIVE if task == "binary" else None,
                         input="features" if task == "regression-csv" else "pixels")


def mlp_outputs(task, prediction):
    """A[L] from `mlp predict --json`, [m, n[L]], and the classes it printed."""
    items = prediction["predictions"]
    if [p["index"] for p in items] != list(range(len(items))):
        raise Disagreement("predict --json: indices are not 0..m-1 in order")
    if file_task(task) == "regression":
        return torch.tensor([p["output"] for p in items], dtype=torch.float64), None
    key = "probability" if task == "binary" else "probabilities"
    values = [[p[key]] if task == "binary" else p[key] for p in items]
    return torch.tensor(values, dtype=torch.float64), torch.tensor([p["class"] for p in items])


# --------------------------------------------------------------------------- the checks


def check_forward_and_eval(res, mlp, data, work, task, activation, depth, written_by, seed):
    """Check 1 (forward) and the eval part of check 4 for one model file."""
    d = data[task]
    sizes = sizes_of(task, d, depth)
    layers = "-".join(map(str, sizes))
    case = f"{task:<14} {activation:<7} {layers:<16} file by {written_by}"
    path = os.path.join(work, f"fwd-{task}-{activation}-{depth}-{written_by}.safetensors")
    if written_by == "torch":
        save(path, random_linears(sizes, seed), activation, task)
    else:
        args = ["train", *d.mlp_args, "--layers", layers, "--activation", activation,
                "--task", file_task(task), "--epochs", 0, "--seed", seed, "--out", path, "--quiet"]
        if task == "binary":
            args += ["--positive", POSITIVE]
        mlp(*args)

    model, meta = mlp_torch.load_model(path)
    want_meta = {"layers": layers, "activation": activation, "task": file_task(task)}
    if any(meta.get(k) != v for k, v in want_meta.items()):
        raise Disagreement(f"{path}: metadata {meta}, expected {want_meta}")
    if meta.get("input", "pixels") != ("features" if task == "regression-csv" else "pixels"):
        raise Disagreement(f"{path}: metadata input={meta.get('input')!r}")

    with torch.no_grad():
        z = model(d.x_test)
    a_torch = outputs(task, z)
    a_mlp, c_mlp = mlp_outputs(task, mlp.json("predict", "--model", path, *d.predict_args, "--json"))
    v_out = res.record("forward", case, "outputs", rel(a_mlp, a_torch), TOL_OUTPUT)
    line = f"outputs {v_out:.1e}"
    if c_mlp is not None:
        c_torch = classes(task, a_torch)
        differ = int((c_mlp != c_torch).sum())
        if differ:
            res.fail(case, f"forward: {differ} of {len(c_torch)} predicted classes differ")
        line += f", classes {len(c_torch) - differ}/{len(c_torch)} same"

    evaluation = mlp.json("eval", "--model", path, *d.mlp_args, "--json")
    t = targets(task, d.y_test)
    with torch.no_grad():
        loss_torch = loss_fn(task, z, t).item()
    v_loss = res.record("eval", case, "loss", rel_scalar(evaluation["loss"], loss_torch), TOL_LOSS)
    if task == "binary":
        res.record("bce", case + " eval", "loss", v_loss, TOL_LOSS)
    line += f"; eval loss {v_loss:.1e}"
    if evaluation["count"] != len(t):
        res.fail(case, f"eval: count {evaluation['count']}, expected {len(t)}")
    if c_mlp is not None:
        acc_torch = (classes(task, a_torch) == (t[:, 0].long() if task == "binary" else t)).double().mean().item()
        if evaluation["accuracy"] != acc_torch:
            res.fail(case, f"eval: accuracy {evaluation['accuracy']} vs torch {acc_torch}")
        line += f", accuracy {acc_torch:.2f} both"
    elif evaluation["accuracy"] is not None:
        res.fail(case, f"eval: regression accuracy {evaluation['accuracy']}, expected null")
    return case, line


def torch_sgd(model, task, x, y, batch_size, epochs, lr):
    """Plain SGD on the mean loss over the same batches as `mlp train --no-shuffle`: file
    order, the last partial batch included.

    Returns (losses, kink): losses, per epoch, the mean loss of the batches as they were
    computed (before each step), weighted by batch size; kink, the smallest |z| / sum|w a|
    of any hidden pre-activation that goes into a ReLU (1 without ReLU): how close a unit
    came to a kink, where float32 rounding alone decides the sign and with it the gradient.
    """
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    t = targets(task, y)
    n = len(x)
    modules = list(model)
    watched = {i for i, m in enumerate(modules[:-1]) if isinstance(m, nn.Linear)
               and isinstance(modules[i + 1], nn.ReLU)}
    kink = 1.0
    losses = []
    for _ in range(epochs):
        total = 0.0
        for start in range(0, n, batch_size):
            h, tb = x[start : start + batch_size], t[start : start + batch_size]
            for i, module in enumerate(modules):
                z = module(h)
                if i in watched:
                    with torch.no_grad():
                        scale = h.abs() @ module.weight.abs().t() + module.bias.abs()
                        kink = min(kink, (z.abs() / scale).min().item())
                h = z
            loss = loss_fn(task, h, tb)
            total += loss.item() * len(tb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses.append(total / n)
    model.eval()
    return losses, kink


def train_case(mlp, d, work, name, task, activation, sizes, seed, batch, epochs, lr):
    """One training case: the same initial file through mlp and through torch.optim.SGD.
    Returns the measured differences, the losses and how close ReLU came to a kink."""
    init = os.path.join(work, f"init-{name}-{seed}.safetensors")
    out = os.path.join(work, f"trained-{name}-{seed}.safetensors")
    metrics = os.path.join(work, f"metrics-{name}-{seed}.jsonl")
    save(init, random_linears(sizes, seed), activation, task)
    mlp("train", "--init", init, *d.mlp_args, "--no-shuffle", "--batch-size", batch, "--epochs", epochs,
        "--lr", lr, "--out", out, "--metrics", metrics, "--quiet")
    model, _ = mlp_torch.load_model(init)
    losses_torch, kink = torch_sgd(model, task, d.x_train, d.y_train, batch, epochs, lr)

    w_init, _ = mlp_torch.load_state(init)
    w_mlp, _ = mlp_torch.load_state(out)
    w_torch = {f"layers.{i}.{p}": getattr(lin, p).detach()
               for i, lin in enumerate(m for m in model if isinstance(m, nn.Linear)) for p in ("weight", "bias")}
    if set(w_mlp) != set(w_torch):
        raise Disagreement(f"{out}: tensors {sorted(w_mlp)}, expected {sorted(w_torch)}")
    flat = lambda w: torch.cat([w[k].reshape(-1).double() for k in sorted(w_torch)])  # noqa: E731
    moved = (flat(w_torch) - flat(w_init)).abs().max().item()
    with open(metrics) as f:
        losses_mlp = [json.loads(line)["train_loss"] for line in f if line.strip()]
    if len(losses_mlp) != epochs:
        raise Disagreement(f"{metrics}: {len(losses_mlp)} epochs, expected {epochs}")
    return {
        "weights": max(rel(w_mlp[k], w_torch[k]) for k in w_torch),
        "steps": (flat(w_mlp) - flat(w_torch)).abs().max().item() / max(moved, 1e-30),
        "train_loss": max(rel_scalar(a, b) for a, b in zip(losses_mlp, losses_torch)),
        "moved": moved, "losses": losses_torch, "kink": kink,
    }


def check_training(res, mlp, data, work, task, activation, depth, seed):
    """Check 2 for one architecture: every batch size from the same initial file.

    With ReLU, a pre-activation within rounding of 0 sends the gradient one way in one
    program and the other way in the other: both right, and far apart after it. A case that
    disagrees is run again from other initial weights when, and only when, PyTorch's run came
    that close to a kink (|z| < 1e-5 sum|w a|); the line says so."""
    d = data[task]
    sizes = sizes_of(task, d, depth)
    layers = "-".join(map(str, sizes))
    lines = []
    for batch, epochs in EPOCHS.items():
        lr = LEARNING_RATES[task] * (BATCH_1_LR_FACTOR if batch == 1 else 1)
        case = f"{task:<14} {activation:<7} {layers:<16} batch {batch:<2} x {epochs} epochs"
        name = f"{task}-{activation}-{depth}-{batch}"
        notes = []
        try:
            for attempt in range(KINK_RETRIES + 1):
                r = train_case(mlp, d, work, name, task, activation, sizes, seed + 1000 * attempt, batch, epochs, lr)
                agree = r["weights"] <= TOL_WEIGHTS and r["steps"] <= TOL_STEPS and r["train_loss"] <= TOL_LOSS
                if agree or r["kink"] >= KINK or attempt == KINK_RETRIES:
                    break
                notes.append(f"[init seed {seed + 1000 * attempt}: ReLU kink |z|/sum|wa| = {r['kink']:.0e}, "
                             f"weights {r['weights']:.0e} apart; new initial weights]")
            res.record("train-weights", case, "weights", r["weights"], TOL_WEIGHTS)
            res.record("train-steps", case, "steps", r["steps"], TOL_STEPS)
            res.record("train-loss", case, "train_loss", r["train_loss"], TOL_LOSS)
            if task == "binary":
                res.record("bce", case + " train", "train_loss", r["train_loss"], TOL_LOSS)
            if notes:
                res.retried.append((case, notes))
            lines.append((case, f"weights {r['weights']:.1e}, steps {r['steps']:.1e} (moved {r['moved']:.1e}), "
                                f"train_loss {r['train_loss']:.1e} ({', '.join(f'{v:.4f}' for v in r['losses'])})"
                                + "".join(" " + n for n in notes)))
        except Disagreement as e:
            res.fail(case, str(e))
            lines.append((case, "FAILED"))
    return lines


def check_mnist(res, mlp, mnist, work):
    """Check 3: both ways on the whole test split of --data."""
    x_test, y_test = mlp_torch.load_mnist(mnist, "t10k")
    x_train, y_train = mlp_torch.load_mnist(mnist, "train")
    lines = []

    def compare(case, path, task):
        model, meta = mlp_torch.load_model(path)
        with torch.no_grad():
            z = model(x_test)
        a = outputs(task, z)
        c_torch = classes(task, a)
        t = targets(task, y_test)
        truth = t[:, 0].long() if task == "binary" else t
        acc_torch = (c_torch == truth).double().mean().item()
        loss_torch = loss_fn(task, z, t).item()

        a_mlp, c_mlp = mlp_outputs(task, mlp.json("predict", "--model", path, "--input",
                                                  find(mnist, "t10k-images-idx3-ubyte"), "--json", threads=None))
        evaluation = mlp.json("eval", "--model", path, "--data", mnist, "--json", threads=None)
        differ = int((c_mlp != c_torch).sum())
        if differ:
            res.fail(case, f"mnist: {differ} of {len(c_torch)} predicted classes differ")
        if evaluation["accuracy"] != acc_torch:
            res.fail(case, f"mnist: mlp eval accuracy {evaluation['accuracy']} vs torch {acc_torch}")
        v_out = res.record("mnist", case, "outputs", rel(a_mlp, a), TOL_OUTPUT)
        v_loss = res.record("mnist", case, "loss", rel_scalar(evaluation["loss"], loss_torch), TOL_LOSS)
        if task == "binary":
            res.record("bce", case, "loss", v_loss, TOL_LOSS)
        # How close the nearest call was: the smallest gap between the top two outputs.
        if task == "binary":
            margin = (a[:, 0] - 0.5).abs().min().item()
        else:
            top = a.topk(2, dim=1).values
            margin = (top[:, 0] - top[:, 1]).min().item()
        lines.append((case, f"classes {len(c_torch) - differ}/{len(c_torch)} same, accuracy mlp "
                            f"{evaluation['accuracy']:.4f} torch {acc_torch:.4f}, loss {v_loss:.1e}, "
                            f"outputs {v_out:.1e}, closest call {margin:.1e}"))
        return evaluation

    # mlp -> PyTorch: trained by mlp (shuffled minibatches), classified by both.
    for task, layers, activation in (("multiclass", "784-32-10", "relu"), ("binary", "784-16-8-1", "tanh")):
        case = f"trained by mlp   {task:<10} {activation:<5} {layers}"
        try:
            path = os.path.join(work, f"mnist-mlp-{task}.safetensors")
            args = ["train", "--data", mnist, "--layers", layers, "--activation", activation, "--task", task,
                    "--epochs", 2, "--batch-size", 32, "--lr", 0.1, "--seed", 7, "--out", path, "--quiet"]
            if task == "binary":
                args += ["--positive", POSITIVE]
            mlp(*args, threads=None)
            compare(case, path, task)
        except Disagreement as e:
            res.fail(case, str(e))

    # PyTorch -> mlp: trained by PyTorch (Adam, shuffled), evaluated by mlp.
    for task, sizes, activation in (("multiclass", (784, 32, 16, 10), "sigmoid"), ("binary", (784, 16, 1), "relu")):
        layers = "-".join(map(str, sizes))
        case = f"trained by torch {task:<10} {activation:<5} {layers}"
        try:
            torch.manual_seed(11)
            linears = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]
            mods = [linears[0]]
            for lin in linears[1:]:
                mods += [mlp_torch.ACTIVATIONS[activation](), lin]
            model = nn.Sequential(*mods)
            opt = torch.optim.Adam(model.parameters(), lr=3e-3)
            t = targets(task, y_train)
            for _ in range(3):
                for batch in torch.randperm(len(x_train)).split(64):
                    loss = loss_fn(task, model(x_train[batch]), t[batch])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            path = os.path.join(work, f"mnist-torch-{task}.safetensors")
            mlp_torch.save_model(path, model, activation, task, positive=POSITIVE if task == "binary" else None)
            compare(case, path, task)
        except Disagreement as e:
            res.fail(case, str(e))
    return lines


# --------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mlp", required=True, help="the mlp binary")
    parser.add_argument("--data", required=True, help="MNIST folder (data/mnist from scripts/fetch-mnist.sh)")
    parser.add_argument("--keep", metavar="DIR", help="write the model files, data and metrics here and keep them")
    args = parser.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(1)  # small matrices; and no contention with the other tests under ctest -j
    mlp = Mlp(os.path.abspath(args.mlp))
    if not os.access(mlp.binary, os.X_OK):
        sys.exit(f"FAIL: {mlp.binary} is not an executable mlp")
    for split in ("train", "t10k"):
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            try:
                find(args.data, f"{split}-{kind}")
            except FileNotFoundError as e:
                sys.exit(f"FAIL: {e}")

    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        os.makedirs(args.keep)
        work = args.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="mlp-torch-")
        work = tmp.name
    print(f"mlp {mlp.binary}\ntorch {torch.__version__} ({sys.executable}), data {args.data}, work {work}")
    res = Results()
    data = make_data(args.data, work)

    def section(title):
        print(f"\n== {title}")

    section("forward and eval: random models written by PyTorch and by mlp train --epochs 0")
    seed = 100
    for task in TASKS:
        for activation in ACTIVATIONS:
            for depth in DEPTHS:
                for written_by in ("torch", "mlp"):
                    seed += 1
                    case = f"{task} {activation} depth {depth} {written_by}"
                    try:
                        case, line = check_forward_and_eval(res, mlp, data, work, task, activation, depth,
                                                            written_by, seed)
                    except Disagreement as e:
                        res.fail(case, str(e))
                        line = "FAILED"
                    print(f"{case}  {line}", flush=True)

    section(f"training: mlp train --init --no-shuffle vs torch.optim.SGD on {N_TRAIN} samples, "
            f"batch size x epochs: {', '.join(f'{b} x {e}' for b, e in EPOCHS.items())}")
    for task in TASKS:
        for activation in ACTIVATIONS:
            for depth in DEPTHS:
                seed += 1
                try:
                    lines = check_training(res, mlp, data, work, task, activation, depth, seed)
                except Disagreement as e:
                    res.fail(f"{task} {activation} depth {depth}", str(e))
                    lines = [(f"{task} {activation} depth {depth}", "FAILED")]
                for case, line in lines:
                    print(f"{case}  {line}", flush=True)

    section(f"MNIST test split of {args.data}, both ways")
    for case, line in check_mnist(res, mlp, args.data, work):
        print(f"{case}  {line}", flush=True)

    elapsed = time.perf_counter() - started
    section("summary: the worst case of each check")
    for check, what in CHECKS.items():
        worst = res.worst(check)
        if worst is None:
            print(f"{check:<14} no measurements")
            continue
        _, case, measure, value, tol = worst
        print(f"{check:<14} {res.cases(check):>4} cases  worst {measure} {value:.2e} (tolerance {tol:.0e})  "
              f"in {' '.join(case.split())}\n{'':<14} {what}")
    if res.retried:
        print(f"\n{len(res.retried)} training case(s) ran again from new initial weights after a ReLU unit "
              f"came within {KINK:.0e} of its kink (float32 rounding then decides the gradient):")
        for case, notes in res.retried:
            print(f"  {' '.join(case.split())}: {' '.join(notes)}")
    print(f"\n{mlp.calls} runs of mlp ({mlp.seconds:.1f} s), {elapsed:.1f} s in all")

    if res.failures:
        print(f"\nFAIL: mlp and PyTorch disagree in {len(res.failures)} place(s):", file=sys.stderr)
        for case, message in res.failures:
            print(f"  {' '.join(case.split())}: {message}", file=sys.stderr)
        return 1
    print("\nPASS: mlp and PyTorch agree in every case")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException:  # a crash of the harness is a failure too, never a pass or a skip
        traceback.print_exc()
        sys.exit(1)
