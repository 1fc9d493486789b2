#!/usr/bin/python3
"""Train an mlp model file with PyTorch, with the options of `mlp train`.

usage: /usr/bin/python3 bench/torch_train.py --init init.safetensors --data DIR [options]

The counterpart of `mlp train --init FILE` for bench/optimizer_table.py: the same network (read
from an mlp model file by python/mlp_torch.py), the same data (the four MNIST IDX files of a
folder, pixel/255 in float32), the same batches of --batch-size (the last one shorter), the same
loss (CrossEntropyLoss; BCEWithLogitsLoss on (label == positive) for binary models; MSELoss/2 for
regression) and the torch.optim rule and lr_scheduler that docs/training.md maps each option to.
Only the order of the samples and the dropout masks differ: PyTorch draws them from its own RNG
(torch.Generator seeded with --seed for the order, torch.manual_seed(--seed) for dropout).

Options not listed in --help behave as in mlp train, except --val-split: it holds out the LAST
fraction of the training set (no shuffling first), where mlp train draws it after a shuffle
seeded by --seed; --keep-best/--patience compare validation loss. Writes
--metrics as JSON lines with mlp's keys (epoch, train_loss, train_accuracy, test_loss,
test_accuracy, seconds, samples_per_second, learning_rate, val_loss, val_accuracy), where
"seconds" is the training passes only, and ends with mlp's line "test accuracy: ...".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import mlp_torch  # noqa: E402

DATASETS = {"mnist": "data/mnist", "fashion": "/usr/share/datasets/fashion-mnist"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--init", required=True, help="mlp model file with the initial weights")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", help="folder with the four MNIST IDX files (default data/mnist)")
    src.add_argument("--dataset", choices=DATASETS, help="mnist (data/mnist) or fashion (Debian's)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-shuffle", action="store_true")
    p.add_argument("--val-split", type=float, default=0.0)
    p.add_argument("--optimizer", default="sgd",
                   choices=("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"))
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.999)
    p.add_argument("--rho", type=float, default=0.99, help="RMSprop's alpha")
    p.add_argument("--eps", type=float, default=1e-8)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--lr-schedule", default="constant", choices=("constant", "step", "cosine"))
    p.add_argument("--lr-step", type=int, default=10)
    p.add_argument("--lr-gamma", type=float, default=0.1)
    p.add_argument("--min-lr", type=float, default=0.0)
    p.add_argument("--warmup-epochs", type=int, default=0)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--clip-norm", type=float, default=0.0)
    p.add_argument("--patience", type=int, default=0)
    p.add_argument("--keep-best", action="store_true")
    p.add_argument("--metrics", help="write one JSON object per epoch here")
    p.add_argument("--out", help="write the trained model here (mlp layout)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--double", action="store_true",
                   help="train in float64: how far float32 rounding alone moves a run")
    p.add_argument("--quiet", action="store_true", help="print only the final line")
    args = p.parse_args(argv)
    if (args.keep_best or args.patience > 0) and not args.val_split > 0:
        p.error("--keep-best and --patience need --val-split")
    return args


def make_optimizer(args, params):
    o = args.optimizer
    wd = args.weight_decay
    if o == "sgd":
        return torch.optim.SGD(params, lr=args.lr, weight_decay=wd)
    if o in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=args.lr, momentum=args.momentum, dampening=0,
                               nesterov=(o == "nesterov"), weight_decay=wd)
    if o == "adam":
        return torch.optim.Adam(params, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
                                weight_decay=wd)
    if o == "adamw":
        return torch.optim.AdamW(params, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
                                 weight_decay=wd)
    return torch.optim.RMSprop(params, lr=args.lr, alpha=args.rho, eps=args.eps, weight_decay=wd,
                               momentum=0, centered=False)


def make_schedule(args, opt):
    """As include/mlp/schedules.hpp says, and as tests/torch/optim_check.py checks."""
    S = torch.optim.lr_scheduler
    warmup = args.warmup_epochs

    def main():
        if args.lr_schedule == "step":
            return S.StepLR(opt, step_size=args.lr_step, gamma=args.lr_gamma)
        if args.lr_schedule == "cosine":
            return S.CosineAnnealingLR(opt, T_max=max(args.epochs - warmup, 1), eta_min=args.min_lr)
        return S.ConstantLR(opt, factor=1.0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if warmup:
            warm = S.LinearLR(opt, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1)
            return S.SequentialLR(opt, [warm, main()], milestones=[warmup])
        return main()


def insert_dropout(model: nn.Sequential, rate: float) -> nn.Sequential:
    """Linear, act, Dropout, Linear, ..., Linear: inverted dropout on every hidden layer's output.

    mlp_torch.load_model puts an activation module (nn.Identity for "linear") between every two
    Linear layers, so the dropout goes after each module that is not a Linear.
    """
    if rate <= 0:
        return model
    layers = []
    for m in model.children():
        layers.append(m)
        if not isinstance(m, nn.Linear):
            layers.append(nn.Dropout(rate))
    return nn.Sequential(*layers)


class Task:
    def __init__(self, meta):
        self.kind = meta["task"]
        self.positive = int(meta["positive"]) if self.kind == "binary" else None
        if self.kind == "binary":
            self.loss = nn.BCEWithLogitsLoss()
        elif self.kind == "multiclass":
            self.loss = nn.CrossEntropyLoss()
        else:
            self.loss = nn.MSELoss()

    def target(self, y):
        if self.kind == "binary":
            return (y == self.positive).float()
        if self.kind == "regression":
            return y.float()
        return y

    def batch_loss(self, out, t):
        if t.is_floating_point():
            t = t.to(out.dtype)
        if self.kind == "binary":
            return self.loss(out[:, 0], t)
        if self.kind == "regression":
            return 0.5 * self.loss(out[:, 0], t)  # mlp: (1/2m) sum (a - y)^2, one output
        return self.loss(out, t)

    def correct(self, out, y):
        if self.kind == "binary":
            return int(((out[:, 0] > 0).long() == (y == self.positive).long()).sum())
        if self.kind == "multiclass":
            return int((out.argmax(dim=1) == y).sum())
        return None


def evaluate(model, task, x, y, batch=1024):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(x), batch):
            out = model(x[s:s + batch])
            yb = y[s:s + batch]
            loss_sum += float(task.batch_loss(out, task.target(yb))) * len(yb)
            c = task.correct(out, yb)
            correct = None if c is None else correct + c
    model.train()
    n = len(x)
    return loss_sum / n, (None if correct is None else correct / n)


def main(argv=None):
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    folder = args.data or DATASETS[args.dataset or "mnist"]
    x_train, y_train = mlp_torch.load_mnist(folder, "train")
    x_test, y_test = mlp_torch.load_mnist(folder, "t10k")
    x_val = y_val = None
    if args.val_split > 0:
        held = round(args.val_split * len(x_train))  # llround as split_off, but the last samples
        kept = len(x_train) - held
        x_val, y_val = x_train[kept:], y_train[kept:]
        x_train, y_train = x_train[:kept], y_train[:kept]

    base, meta = mlp_torch.load_model(args.init)
    model = insert_dropout(base, args.dropout).train()
    if args.double:
        model = model.double()
        x_train, x_test = x_train.double(), x_test.double()
        x_val = None if x_val is None else x_val.double()
    task = Task(meta)
    opt = make_optimizer(args, model.parameters())
    sched = make_schedule(args, opt)
    gen = torch.Generator().manual_seed(args.seed)

    n = len(x_train)
    lines = []
    best = (math.inf, 0, None)
    since_best = 0
    track_best = args.keep_best or args.patience > 0
    stop_reason = ""
    for epoch in range(1, args.epochs + 1):
        lr = opt.param_groups[0]["lr"]
        order = torch.arange(n) if args.no_shuffle else torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        start = time.perf_counter()
        for s in range(0, n, args.batch_size):
            idx = order[s:s + args.batch_size]
            xb, yb = x_train[idx], y_train[idx]
            out = model(xb)
            loss = task.batch_loss(out, task.target(yb))
            if not math.isfinite(float(loss)):
                sys.exit(f"training diverged: the loss is {float(loss)} at epoch {epoch}, "
                         f"batch {s // args.batch_size + 1}")
            loss_sum += float(loss) * len(idx)
            c = task.correct(out.detach(), yb)
            correct = None if c is None else correct + c
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip_norm)
            opt.step()
        seconds = time.perf_counter() - start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched.step()

        line = {"epoch": epoch, "train_loss": loss_sum / n,
                "train_accuracy": None if correct is None else correct / n}
        test_loss, test_acc = evaluate(model, task, x_test, y_test)
        line.update(test_loss=test_loss, test_accuracy=test_acc, seconds=seconds,
                    samples_per_second=n / seconds if seconds > 0 else 0, learning_rate=lr)
        if x_val is not None:
            val_loss, val_acc = evaluate(model, task, x_val, y_val)
            line.update(val_loss=val_loss, val_accuracy=val_acc)
            if track_best:
                if val_loss < best[0]:
                    best = (val_loss, epoch, {k: v.clone() for k, v in model.state_dict().items()})
                    since_best = 0
                else:
                    since_best += 1
                    if args.patience > 0 and since_best >= args.patience:
                        stop_reason = (f"early stopping: no lower validation loss for {args.patience} "
                                       f"epochs (the best, {best[0]:.6f}, was at epoch {best[1]})")
        lines.append(line)
        if args.metrics:
            with open(args.metrics, "w") as f:
                f.write("".join(json.dumps(l) + "\n" for l in lines))
        if not args.quiet:
            print(f"epoch {epoch}: train loss {line['train_loss']:.4f}, test accuracy "
                  f"{100 * (test_acc or 0):.2f}%, lr {lr:g}, {seconds:.1f} s", flush=True)
        if stop_reason:
            break

    if track_best and best[2] is not None:
        model.load_state_dict(best[2])
        if not args.quiet:
            if stop_reason:
                print(stop_reason)
            print(f"kept the parameters of epoch {best[1]} (validation loss {best[0]:.6f})")
    if args.out:
        mlp_torch.save_model(args.out, [m for m in model if isinstance(m, nn.Linear)],
                             meta["activation"], meta["task"], positive=meta.get("positive"),
                             input=meta.get("input"))
    test_loss, test_acc = evaluate(model, task, x_test, y_test)
    if test_acc is not None:
        print(f"test accuracy: {100 * test_acc:.2f}% ({len(x_test)} samples, loss {test_loss:.4f})")
    else:
        print(f"test loss: {test_loss:.6f} ({len(x_test)} samples)")


if __name__ == "__main__":
    main()
