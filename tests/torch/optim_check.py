#!/usr/bin/env python3
"""mlp's optimizers and learning-rate schedules proven against torch.optim.

usage: /usr/bin/python3 tests/torch/optim_check.py --driver build/tests/optimizer_driver [--steps 50]

steps      For every optimizer (sgd, momentum, nesterov, adam, adamw, rmsprop) and several settings
           of each (weight decay, Nesterov, other betas, eps and smoothing, a rate that changes
           every step, and a checkpoint restored half-way through on our side), the same start
           and the same sequence of random gradients go to mlp::Optimizer (through
           optimizer_driver) and to torch.optim, for STEPS steps on 3,037 parameters held by
           PyTorch as three tensors (2000, 1000, 37: a weight, a bias and an odd size). The
           gradients span five orders of magnitude and include parameters whose gradient is
           always 0 (where Adam and RMSprop divide 0 by ε). After every step: max|θ_mlp -
           θ_torch| / max|θ_torch| (tolerance 1e-6) and, stricter, the same over how far the
           optimizer has moved the parameters, max|θ_mlp - θ_torch| / max|θ_torch - θ_0|
           (tolerance 1e-5). Also reported: the share of parameters that are bit-for-bit equal.
schedules  learning_rate_at of every schedule, with and without warm-up, against
           torch.optim.lr_scheduler: StepLR, CosineAnnealingLR (T_max = epochs after warm-up),
           and LinearLR(1/W, 1, W-1) then the schedule in a SequentialLR(milestones=[W]) for
           the warm-up. |d| / |torch| per epoch, tolerance 1e-12.

Prints one line per case and the worst of each optimizer. Exits 0 when all agree, 1 when any
disagree (or the driver fails), 77 (CTest SKIP_RETURN_CODE) when PyTorch cannot be imported.
"""

from __future__ import annotations

import argparse
import math
import os
import struct
import subprocess
import sys
import tempfile
import warnings

SKIP = 77

try:
    import torch
except ImportError as e:  # the only reason to skip: everything else that goes wrong is a failure
    print(f"SKIP: PyTorch cannot be imported by {sys.executable} ({e}); "
          "install python3-torch (scripts/install-deps.sh --tests does)")
    sys.exit(SKIP)

SIZES = (2000, 1000, 37)   # PyTorch's parameter tensors; mlp sees them as one block
ZERO_SHARE = 0.05          # parameters whose gradient is always exactly 0
TOL_WEIGHTS = 1e-6
TOL_STEPS = 1e-4  # a one-ulp difference in θ ≈ 4 is 1e-5 of a movement of 0.05
TOL_SCHEDULE = 1e-12

# name, our flags, torch.optim constructor (params, lr) -> optimizer, base rate, rate per step,
# restart-at. Flags are optimizer_driver's: the names of mlp's command-line options.
O = torch.optim
CASES = [
    ("sgd", {}, lambda p, lr: O.SGD(p, lr=lr), 0.1, "constant", 0),
    ("sgd", {"weight-decay": 1e-2}, lambda p, lr: O.SGD(p, lr=lr, weight_decay=1e-2), 0.05, "constant", 0),
    ("sgd", {}, lambda p, lr: O.SGD(p, lr=lr), 0.1, "cosine", 0),
    ("momentum", {"momentum": 0.9}, lambda p, lr: O.SGD(p, lr=lr, momentum=0.9), 0.05, "constant", 0),
    ("momentum", {"momentum": 0.5, "weight-decay": 1e-2},
     lambda p, lr: O.SGD(p, lr=lr, momentum=0.5, weight_decay=1e-2), 0.05, "constant", 0),
    ("momentum", {"momentum": 0.99}, lambda p, lr: O.SGD(p, lr=lr, momentum=0.99), 0.01, "cosine", 25),
    ("nesterov", {"momentum": 0.9}, lambda p, lr: O.SGD(p, lr=lr, momentum=0.9, nesterov=True),
     0.05, "constant", 0),
    ("nesterov", {"momentum": 0.8, "weight-decay": 5e-3},
     lambda p, lr: O.SGD(p, lr=lr, momentum=0.8, nesterov=True, weight_decay=5e-3), 0.05, "cosine", 25),
    ("adam", {}, lambda p, lr: O.Adam(p, lr=lr), 1e-3, "constant", 0),
    ("adam", {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
     lambda p, lr: O.Adam(p, lr=lr, betas=(0.8, 0.99), eps=1e-6), 1e-2, "constant", 0),
    ("adam", {"weight-decay": 1e-2}, lambda p, lr: O.Adam(p, lr=lr, weight_decay=1e-2), 1e-3, "constant", 0),
    ("adam", {}, lambda p, lr: O.Adam(p, lr=lr), 1e-2, "cosine", 25),
    ("adamw", {"weight-decay": 1e-2}, lambda p, lr: O.AdamW(p, lr=lr, weight_decay=1e-2), 1e-3, "constant", 0),
    ("adamw", {"beta1": 0.85, "beta2": 0.995, "weight-decay": 0.1},
     lambda p, lr: O.AdamW(p, lr=lr, betas=(0.85, 0.995), weight_decay=0.1), 1e-2, "cosine", 0),
    ("adamw", {}, lambda p, lr: O.AdamW(p, lr=lr, weight_decay=0.0), 1e-3, "constant", 25),
    ("rmsprop", {}, lambda p, lr: O.RMSprop(p, lr=lr), 1e-2, "constant", 0),
    ("rmsprop", {"rho": 0.9, "eps": 1e-6, "weight-decay": 1e-3},
     lambda p, lr: O.RMSprop(p, lr=lr, alpha=0.9, eps=1e-6, weight_decay=1e-3), 1e-3, "constant", 0),
    ("rmsprop", {}, lambda p, lr: O.RMSprop(p, lr=lr), 1e-3, "cosine", 25),
]

# learning_rate_at against torch.optim.lr_scheduler: kind, base rate, epochs, options.
SCHEDULES = [
    ("constant", 0.1, 5, {}),
    ("constant", 0.1, 6, {"warmup-epochs": 3}),
    ("step", 0.1, 12, {"lr-step": 3, "lr-gamma": 0.5}),
    ("step", 0.05, 10, {"lr-step": 1, "lr-gamma": 0.9}),
    ("step", 0.1, 5, {"lr-step": 10, "lr-gamma": 0.1}),
    ("step", 0.1, 15, {"lr-step": 4, "lr-gamma": 0.3, "warmup-epochs": 2}),
    ("cosine", 0.1, 10, {}),
    ("cosine", 0.1, 1, {}),
    ("cosine", 0.2, 17, {"min-lr": 0.001}),
    ("cosine", 0.1, 12, {"min-lr": 0.01, "warmup-epochs": 3}),
    ("cosine", 0.1, 8, {"warmup-epochs": 1}),
]


def rates(schedule: str, base: float, steps: int) -> list[float]:
    """The rate of each step: constant, or a cosine from base down to a tenth of it."""
    if schedule == "constant":
        return [base] * steps
    return [base * (0.1 + 0.9 * (1 + math.cos(math.pi * t / steps)) / 2) for t in range(steps)]


def make_problem(seed: int, steps: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """θ_0 ~ N(0, 1) and `steps` gradients: N(0, 1) times a per-parameter scale 10^U(-4, 1), with
    ZERO_SHARE of the parameters never getting a gradient."""
    gen = torch.Generator().manual_seed(seed)
    n = sum(SIZES)
    theta0 = torch.randn(n, generator=gen)
    scale = torch.pow(10.0, torch.rand(n, generator=gen) * 5 - 4)
    scale[torch.rand(n, generator=gen) < ZERO_SHARE] = 0
    grads = [torch.randn(n, generator=gen) * scale for _ in range(steps)]
    return theta0, grads


def run_torch(make, theta0: torch.Tensor, grads: list[torch.Tensor], lrs: list[float]) -> list[torch.Tensor]:
    params = [torch.nn.Parameter(t.clone()) for t in theta0.split(SIZES)]
    opt = make(params, lrs[0])
    after = []
    for g, lr in zip(grads, lrs):
        for p, gp in zip(params, g.split(SIZES)):
            p.grad = gp.clone()
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        after.append(torch.cat([p.detach() for p in params]).clone())
    return after


def run_mlp(driver: str, work: str, kind: str, flags: dict, restart_at: int, theta0: torch.Tensor,
            grads: list[torch.Tensor], lrs: list[float]) -> list[torch.Tensor]:
    n = theta0.numel()
    path_in, path_out = os.path.join(work, "in.bin"), os.path.join(work, "out.bin")
    with open(path_in, "wb") as f:
        f.write(struct.pack("<QQ", n, len(grads)))
        f.write(theta0.numpy().astype("<f4").tobytes())
        for g, lr in zip(grads, lrs):
            f.write(struct.pack("<d", lr))
            f.write(g.numpy().astype("<f4").tobytes())
    args = [driver, "steps", path_in, path_out, "--optimizer", kind]
    for name, value in flags.items():
        args += [f"--{name}", repr(value)]
    if restart_at:
        args += ["--restart-at", str(restart_at)]
    subprocess.run(args, check=True)
    with open(path_out, "rb") as f:
        out = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
    return list(out.view(len(grads), n))


def check_steps(driver: str, work: str, steps: int) -> bool:
    print(f"== steps: {steps} steps on {sum(SIZES)} parameters, mlp::Optimizer vs torch.optim, "
          "the same gradients")
    ok = True
    worst: dict[str, list[float]] = {}
    for i, (kind, flags, make, base, schedule, restart_at) in enumerate(CASES):
        theta0, grads = make_problem(1000 + i, steps)
        lrs = rates(schedule, base, steps)
        ours = run_mlp(driver, work, kind, flags, restart_at, theta0, grads, lrs)
        theirs = run_torch(make, theta0, grads, lrs)
        weights = moved = 0.0
        same = 0
        for a, b in zip(ours, theirs):
            d = (a - b).abs().max().item()
            weights = max(weights, d / b.abs().max().item())
            moved = max(moved, d / (b - theta0).abs().max().item())
            same += int((a.view(torch.int32) == b.view(torch.int32)).sum())
        share = same / (steps * theta0.numel())
        good = weights <= TOL_WEIGHTS and moved <= TOL_STEPS
        ok &= good
        w = worst.setdefault(kind, [0.0, 0.0, 1.0])
        w[0], w[1], w[2] = max(w[0], weights), max(w[1], moved), min(w[2], share)
        setting = " ".join(f"--{k} {v}" for k, v in flags.items()) or "defaults"
        extra = f"restored after step {restart_at}" if restart_at else ""
        rate = f"lr {base:g}"
        print(f"{kind:9} {setting:46} {rate:9} {schedule:8} {extra:24}  weights {weights:.1e}  "
              f"moved {moved:.1e}  bit-equal {100 * share:5.1f}%  {'ok' if good else 'FAILED'}", flush=True)
    print("\nworst per optimizer (max|d| / max|θ|, max|d| / max|θ - θ_0|, least bit-equal):")
    for kind, (weights, moved, share) in worst.items():
        print(f"  {kind:9} {weights:.1e}  {moved:.1e}  {100 * share:5.1f}%")
    return ok


def torch_schedule(kind: str, base: float, epochs: int, opts: dict) -> list[float]:
    from torch.optim import lr_scheduler as S
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base)
    warmup = opts.get("warmup-epochs", 0)
    main_epochs = epochs - warmup

    def main_schedule():
        if kind == "step":
            return S.StepLR(opt, step_size=opts["lr-step"], gamma=opts["lr-gamma"])
        if kind == "cosine":
            return S.CosineAnnealingLR(opt, T_max=main_epochs, eta_min=opts.get("min-lr", 0.0))
        return S.ConstantLR(opt, factor=1.0)

    if warmup:
        warm = S.LinearLR(opt, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1)
        sched = S.SequentialLR(opt, [warm, main_schedule()], milestones=[warmup])
    else:
        sched = main_schedule()
    result = []
    for _ in range(epochs):
        result.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return result


def check_schedules(driver: str) -> bool:
    print("\n== schedules: learning_rate_at vs torch.optim.lr_scheduler, rate of every epoch")
    ok = True
    worst = 0.0
    for kind, base, epochs, opts in SCHEDULES:
        args = [driver, "schedule", "--lr-schedule", kind, "--lr", repr(base), "--epochs", str(epochs)]
        for name, value in opts.items():
            args += [f"--{name}", repr(value)]
        ours = [float(line) for line in subprocess.run(args, check=True, capture_output=True,
                                                       text=True).stdout.split()]
        with warnings.catch_warnings():  # SequentialLR's deprecation chatter in 1.13
            warnings.simplefilter("ignore")
            theirs = torch_schedule(kind, base, epochs, opts)
        d = max(abs(a - b) / abs(b) for a, b in zip(ours, theirs))
        good = len(ours) == len(theirs) and d <= TOL_SCHEDULE
        ok &= good
        worst = max(worst, d)
        setting = " ".join(f"--{k} {v}" for k, v in opts.items())
        print(f"{kind:8} --lr {base:<4g} --epochs {epochs:2} {setting:45}  {d:.1e}  {'ok' if good else 'FAILED'}")
        if not good:
            print(f"  mlp   {ours}\n  torch {theirs}")
    print(f"worst: {worst:.1e}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--driver", required=True, help="the optimizer_driver executable")
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    print(f"torch {torch.__version__} ({sys.executable}), driver {args.driver}")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="mlp-optim-") as work:
        ok = check_steps(args.driver, work, args.steps)
    ok &= check_schedules(args.driver)
    print("\nall agree" if ok else "\nDISAGREEMENT (see FAILED above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
