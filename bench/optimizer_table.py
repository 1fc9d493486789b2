#!/usr/bin/python3
"""Every optimizer of `mlp train` against the same torch.optim run: test accuracy and time.

usage: /usr/bin/python3 bench/optimizer_table.py [--mlp build/mlp] [--datasets fashion,mnist]
           [--seeds 1,2,3] [--epochs 10] [--layers 784-128-10] [--batch-size 64] [--threads 1]
           [--optimizers sgd,momentum,...] [--common="--lr-schedule cosine"] [--results DIR]
           [--name NAME]
       /usr/bin/python3 bench/optimizer_table.py --from-raw bench/results/optimizers-*.txt

For each dataset and seed S, `mlp train --layers L --seed S --epochs 0 --out init.safetensors`
writes the initial weights. For each optimizer, from that same file, with the same batch size,
epochs, learning rate, schedule and weight decay:

    mlp train --init init.safetensors --seed S --optimizer O --lr ... --metrics m.jsonl
    bench/torch_train.py --init init.safetensors --seed S --optimizer O --lr ... --metrics t.jsonl

Only the sample order and (with --dropout) the masks differ: each program draws them from its
own random generator. The test accuracy after the last epoch is compared; "seconds" is the sum
of the per-epoch training times of --metrics (the passes over the training set, without
loading and evaluation), median over seeds. Both run with --threads threads (mlp --threads,
torch.set_num_threads, OPENBLAS_NUM_THREADS and OMP_NUM_THREADS).

Datasets: fashion is Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), mnist
the full MNIST at ../shared/data/mnist (override with --mnist DIR).

Each run's command, output and metrics go to DIR/optimizers-[NAME-]<dataset>.txt (default
bench/results), with one "RESULT {json}" line per run; --from-raw rebuilds the table from those
lines. The markdown table is printed and written to DIR/optimizers-[NAME-]table.txt. Disagreements
larger than --tolerance points (0.5) are marked with "!" and make the exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# name: (options of both programs), the defaults of docs/training.md's table.
OPTIMIZERS = {
    "sgd": ["--optimizer", "sgd", "--lr", "0.1"],
    "momentum": ["--optimizer", "momentum", "--lr", "0.01", "--momentum", "0.9"],
    "nesterov": ["--optimizer", "nesterov", "--lr", "0.01", "--momentum", "0.9"],
    "adam": ["--optimizer", "adam", "--lr", "0.001"],
    "adamw": ["--optimizer", "adamw", "--lr", "0.001", "--weight-decay", "0.01"],
    "rmsprop": ["--optimizer", "rmsprop", "--lr", "0.001"],
}
DATASETS = {
    "fashion": ("Fashion-MNIST", ["--dataset", "fashion"]),
    "mnist": ("MNIST", None),  # --data from --mnist
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mlp", default=os.path.join(REPO, "build", "mlp"))
    p.add_argument("--mnist", default=os.path.normpath(os.path.join(REPO, "..", "shared", "data", "mnist")))
    p.add_argument("--datasets", default="fashion,mnist")
    p.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    p.add_argument("--seeds", default="1")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--layers", default="784-128-10")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--common", default="", help="more options for both programs; write it with =, e.g. --common=\"--lr-schedule cosine\"")
    p.add_argument("--tolerance", type=float, default=0.5, help="points of accuracy")
    p.add_argument("--results", default=os.path.join(HERE, "results"))
    p.add_argument("--name", default="", help="files are DIR/optimizers-NAME-<dataset>.txt (default no NAME)")
    p.add_argument("--from-raw", nargs="+", metavar="FILE", help="only rebuild the table from raw files")
    return p.parse_args()


def prefix(args):
    return "optimizers-" + (args.name + "-" if args.name else "")


def run(cmd, env, log):
    log.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    log.write(proc.stdout + proc.stderr)
    log.write(f"(exit {proc.returncode}, {wall:.1f} s wall)\n")
    log.flush()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed with exit {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return wall


def read_metrics(path, log):
    with open(path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    log.write(f"--- {os.path.basename(path)}\n")
    for l in lines:
        log.write(json.dumps(l, sort_keys=True) + "\n")
    return lines


def run_all(args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               OMP_WAIT_POLICY="passive")
    seeds = [int(s) for s in args.seeds.split(",")]
    common = shlex.split(args.common)
    os.makedirs(args.results, exist_ok=True)
    records = []
    work = tempfile.mkdtemp(prefix="optimizer_table.")
    datasets = args.datasets.split(",")
    logs = {}
    for dataset in datasets:
        logs[dataset] = open(os.path.join(args.results, f"{prefix(args)}{dataset}.txt"), "w")
        logs[dataset].write(
            f"# bench/optimizer_table.py, {time.strftime('%Y-%m-%d %H:%M:%S')}, {DATASETS[dataset][0]}, "
            f"{args.layers}, batch {args.batch_size}, {args.epochs} epochs, seeds {args.seeds}, "
            f"threads {args.threads}, common options: {args.common or '(none)'}\n")
    # Seeds outermost: a run stopped early still has every dataset and optimizer for the first seeds.
    for seed in seeds:
        for dataset in datasets:
            log = logs[dataset]
            data = DATASETS[dataset][1] or ["--data", args.mnist]
            init = os.path.join(work, f"init-{dataset}-{seed}.safetensors")
            run([args.mlp, "--threads", str(args.threads), "train", *data, "--layers", args.layers,
                 "--seed", str(seed), "--epochs", "0", "--out", init, "--quiet"], env, log)
            for name in args.optimizers.split(","):
                shared = [*data, "--init", init, "--seed", str(seed), "--epochs", str(args.epochs),
                          "--batch-size", str(args.batch_size), *OPTIMIZERS[name], *common]
                m_path = os.path.join(work, "mlp.jsonl")
                t_path = os.path.join(work, "torch.jsonl")
                run([args.mlp, "--threads", str(args.threads), "train", *shared, "--metrics", m_path,
                     "--quiet"], env, log)
                m = read_metrics(m_path, log)
                run([sys.executable, os.path.join(HERE, "torch_train.py"), *shared, "--metrics", t_path,
                     "--threads", str(args.threads), "--quiet"], env, log)
                t = read_metrics(t_path, log)
                rec = {"dataset": dataset, "optimizer": name, "seed": seed,
                       "settings": " ".join(OPTIMIZERS[name][2:] + common),
                       "mlp_accuracy": m[-1]["test_accuracy"], "torch_accuracy": t[-1]["test_accuracy"],
                       "mlp_seconds": sum(l["seconds"] for l in m),
                       "torch_seconds": sum(l["seconds"] for l in t)}
                log.write("RESULT " + json.dumps(rec) + "\n")
                log.flush()
                records.append(rec)
                print(f"{dataset:8} {name:9} seed {seed}: mlp {100 * rec['mlp_accuracy']:.2f}%  "
                      f"torch {100 * rec['torch_accuracy']:.2f}%", file=sys.stderr, flush=True)
    for log in logs.values():
        log.close()
    return records


def records_from(files):
    records = []
    for path in files:
        with open(path) as f:
            records += [json.loads(l[len("RESULT "):]) for l in f if l.startswith("RESULT ")]
    return records


def table(records, tolerance):
    rows = ["| data | optimizer | settings | seeds | mlp | PyTorch | mlp − PyTorch | mlp s | PyTorch s |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    bad = []
    groups = {}
    for r in records:
        groups.setdefault((r["dataset"], r["optimizer"]), []).append(r)
    for (dataset, name), rs in groups.items():
        def acc(key):
            values = [100 * r[key] for r in rs]
            med = statistics.median(values)
            if len(values) == 1:
                return med, f"{med:.2f}%"
            return med, f"{med:.2f}% ({', '.join(f'{v:.2f}' for v in values)})"
        m, m_text = acc("mlp_accuracy")
        t, t_text = acc("torch_accuracy")
        d = m - t
        mark = "" if abs(d) <= tolerance else " !"
        if mark:
            bad.append((dataset, name, d))
        rows.append(f"| {DATASETS[dataset][0]} | {name} | {rs[0]['settings']} | {len(rs)} | {m_text} | {t_text} | "
                    f"{d:+.2f}{mark} | {statistics.median(r['mlp_seconds'] for r in rs):.1f} | "
                    f"{statistics.median(r['torch_seconds'] for r in rs):.1f} |")
    return "\n".join(rows), bad


def main():
    args = parse_args()
    records = records_from(args.from_raw) if args.from_raw else run_all(args)
    text, bad = table(records, args.tolerance)
    print(text)
    if not args.from_raw:
        with open(os.path.join(args.results, f"{prefix(args)}table.txt"), "w") as f:
            f.write(text + "\n")
    for dataset, name, d in bad:
        print(f"! {dataset} {name}: medians differ by {d:+.2f} points (> {args.tolerance})", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
