#!/usr/bin/python3
"""PyTorch on the same benchmarks as bench/mlp_bench, by the same procedure.

Run with /usr/bin/python3: Debian's python3-torch as users run it, with libopenblas0-pthread
providing the BLAS. Refuses to run (exit 3) unless OpenBLAS is the BLAS actually loaded: without
it Debian's PyTorch uses the reference BLAS and is many times slower, which would flatter mlp.
PyTorch is left at its default threading (torch.get_num_threads(), one ATen thread on this
2-core machine, while OpenBLAS uses both cores); set_num_threads(2) oversubscribes the cores.

    torch_bench.py --list
    torch_bench.py --config NAME [--data DIR] [--epochs N] [--reps N] [--reps-batch N]
                   [--peak-gflops G] [--seed S]

Procedure, as in mlp_bench: the uint8 images are held in memory; each epoch draws a new random
order; each batch is gathered in that order, converted to float and divided by 255; then
zero_grad, forward through nn.Sequential(Linear, ReLU, ..., Linear), BCEWithLogitsLoss (binary)
or CrossEntropyLoss (multiclass), backward, SGD(lr=0.1) step. One JSON line per configuration on
stdout, a human line on stderr. Exit codes: 0 done, 2 usage, 3 OpenBLAS not active,
77 MNIST not found (skipped).
"""

import argparse
import ctypes
import gzip
import json
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

EXIT_NO_OPENBLAS = 3
EXIT_SKIPPED = 77

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MNIST = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "mnist"))

# name: (layers, task, positive, batch, kind, description); the same list as mlp_bench.cpp.
CONFIGS = {
    "small-b32": ([784, 16, 32, 1], "binary", 3, 32, "train", "784-16-32-1 binary (positive 3), batch 32"),
    "mid-b64": ([784, 128, 64, 10], "multiclass", 1, 64, "train", "784-128-64-10, batch 64"),
    "mid-b256": ([784, 128, 64, 10], "multiclass", 1, 256, "train", "784-128-64-10, batch 256"),
    "wide-b128": ([784, 800, 10], "multiclass", 1, 128, "train", "784-800-10, batch 128"),
    "large1024-b256": ([784, 1024, 1024, 10], "multiclass", 1, 256, "train", "784-1024-1024-10, batch 256"),
    "large2048-b512": ([784, 2048, 2048, 10], "multiclass", 1, 512, "train", "784-2048-2048-10, batch 512"),
    "infer-1": ([784, 128, 64, 10], "multiclass", 1, 1, "latency", "784-128-64-10 inference, single image latency"),
    "infer-b1024": ([784, 128, 64, 10], "multiclass", 1, 1024, "throughput",
                    "784-128-64-10 inference, batch 1024 throughput"),
}


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def cpu_sample():
    """(busy, total) seconds of all CPUs from /proc/stat (steal counted busy), and this process's
    own CPU time, OpenBLAS threads included."""
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    hz = os.sysconf("SC_CLK_TCK")
    busy = (user + nice + system + irq + softirq + steal) / hz
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return busy, busy + (idle + iowait) / hz, usage.ru_utime + usage.ru_stime


def others_share(a, b):
    """The share of all CPUs' time that went to other processes (or the hypervisor) from a to b."""
    total = b[1] - a[1]
    if total <= 0:
        return 0.0
    return min(1.0, max(0.0, (b[0] - a[0] - (b[2] - a[2])) / total))


def blas_libraries():
    """The BLAS-like shared objects mapped into this process."""
    found = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path)
            if "blas" in name or "lapack" in name or "mkl" in name:
                found.add(path)
    return sorted(found)


def require_openblas():
    """Runs a matrix product through torch's BLAS path, then checks what is mapped."""
    a = torch.randn(256, 256)
    b = torch.randn(256, 256)
    torch.mm(a, b)
    nn.functional.linear(a, b)  # nn.Linear's path (addmm)
    libs = blas_libraries()
    if not any("openblas" in p for p in libs):
        sys.stderr.write(
            "torch_bench: OpenBLAS is not the active BLAS (mapped: %s).\n"
            "Debian's PyTorch then falls back to the reference BLAS and the comparison would be\n"
            "meaningless. Install libopenblas0-pthread (or select it with update-alternatives\n"
            "--config libblas.so.3-x86_64-linux-gnu). Refusing to run.\n" % (", ".join(libs) or "none"))
        sys.exit(EXIT_NO_OPENBLAS)
    return libs


def openblas_kernels(libs):
    """The kernel family OpenBLAS chose for this CPU ("Cooperlake", "Haswell", ...), or None."""
    for path in libs:
        try:
            corename = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return corename().decode()
    return None


def idx_path(folder, name):
    plain = os.path.join(folder, name)
    if os.path.exists(plain):
        return plain
    if os.path.exists(plain + ".gz"):
        return plain + ".gz"
    return None


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return array.reshape(dims[0], -1) if ndim > 1 else array


def load_mnist(folder):
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte"]
    paths = [idx_path(folder, n) for n in names]
    if None in paths:
        return None
    # torch tensors own copies; the file buffers are dropped.
    arrays = [torch.from_numpy(read_idx(p).copy()) for p in paths]
    return {"train_x": arrays[0], "train_y": arrays[1], "test_x": arrays[2], "test_y": arrays[3]}


def build_model(layers):
    modules = []
    for i in range(1, len(layers)):
        modules.append(nn.Linear(layers[i - 1], layers[i]))
        if i < len(layers) - 1:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def run(name, args, data, rss_start_kb, rss_loaded_kb, load_seconds, blas):
    layers, task, positive, batch, kind, what = CONFIGS[name]
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = build_model(layers)
    params = sum(p.numel() for p in model.parameters())
    images = data["train_x"]  # (60000, 784) uint8
    n = images.shape[0]
    final_value = 0.0
    seconds = []
    cpu_before = cpu_sample()

    if kind == "train":
        if task == "binary":
            targets = (data["train_y"] == positive).float().unsqueeze(1)  # (N, 1)
            loss_fn = nn.BCEWithLogitsLoss()
        else:
            targets = data["train_y"].long()
            loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model.train()
        for _ in range(args.epochs):
            start = time.perf_counter()
            order = torch.randperm(n, generator=generator)
            for first in range(0, n, batch):
                idx = order[first:first + batch]
                x = images.index_select(0, idx).float().div_(255)
                y = targets.index_select(0, idx)
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
            seconds.append(time.perf_counter() - start)
            final_value = float(loss)  # the last batch's loss, outside the timing
        samples_per_unit, unit = n, "epoch"
    elif kind == "latency":
        model.eval()
        x = data["test_x"][0:1].float().div_(255)  # one already-scaled image, (1, 784)
        with torch.no_grad():
            for _ in range(2000):  # warm-up
                model(x)
            clock = time.perf_counter_ns
            for _ in range(args.reps):
                start = clock()
                out = model(x)
                seconds.append((clock() - start) * 1e-9)
            final_value = float(out[0, 0])
        samples_per_unit, unit = 1, "forward call"
    else:
        model.eval()
        outputs = torch.empty(n, layers[-1])

        def predict():
            for first in range(0, n, batch):
                x = images[first:first + batch].float().div_(255)
                outputs[first:first + batch] = model(x)

        with torch.no_grad():
            predict()  # warm-up
            for _ in range(args.reps_batch):
                start = time.perf_counter()
                predict()
                seconds.append(time.perf_counter() - start)
        final_value = float(outputs[0, 0])
        samples_per_unit, unit = n, "predict pass"

    others = others_share(cpu_before, cpu_sample())
    hwm_kb, rss_kb = status_kb("VmHWM"), status_kb("VmRSS")
    med = statistics.median(seconds)
    best = min(seconds)
    sps, sps_best = samples_per_unit / med, samples_per_unit / best
    gflops = (6.0 if kind == "train" else 2.0) * params * sps * 1e-9
    share = gflops / args.peak_gflops if args.peak_gflops > 0 else 0.0
    record = {
        "bench": "torch", "config": name, "what": what, "layers": "-".join(map(str, layers)), "batch": batch,
        "kind": kind, "parameters": params, "torch_version": torch.__version__,
        "aten_threads": torch.get_num_threads(), "blas": blas, "openblas_kernels": openblas_kernels(blas),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "unit": unit, "units_timed": len(seconds), "samples_per_unit": samples_per_unit,
        "seconds": None if kind == "latency" else [round(s, 6) for s in seconds],
        "seconds_median": med, "samples_per_s_median": sps, "samples_per_s_best": sps_best,
        "latency_us_median": med * 1e6 if kind == "latency" else 0.0,
        "latency_us_best": best * 1e6 if kind == "latency" else 0.0,
        "gflops_median": gflops, "peak_gflops": args.peak_gflops, "share_of_peak": share,
        "final_value": final_value, "rss_start_mib": rss_start_kb / 1024, "rss_loaded_mib": rss_loaded_kb / 1024,
        "peak_rss_mib": hwm_kb / 1024, "rss_end_mib": rss_kb / 1024,
        "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "load_seconds": load_seconds,
        "others_cpu_share": others,
    }
    print(json.dumps(record), flush=True)
    if kind == "latency":
        sys.stderr.write("torch %-15s %s: median %.2f us (best %.2f us) over %d calls, others used %.0f%% "
                         "of the CPUs\n" % (name, what, med * 1e6, best * 1e6, len(seconds), 100 * others))
    else:
        sys.stderr.write("torch %-15s %s: %.0f samples/s, median of %d x %s (best %.0f), %.1f GFLOP/s%s, "
                         "peak RSS %.0f MiB, others used %.0f%% of the CPUs\n"
                         % (name, what, sps, len(seconds), unit, sps_best, gflops,
                            ", %.0f%% of peak" % (100 * share) if share else "", hwm_kb / 1024, 100 * others))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="a configuration (--list) or 'all' (one process: shared peak RSS)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--data", default=os.environ.get("MLP_MNIST") or DEFAULT_MNIST)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--reps", type=int, default=20000)
    parser.add_argument("--reps-batch", type=int, default=7)
    parser.add_argument("--peak-gflops", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.list:
        for name, c in CONFIGS.items():
            print("%-15s %s" % (name, c[5]))
        return 0
    names = list(CONFIGS) if args.config == "all" else [args.config]
    if args.config is None or any(n not in CONFIGS for n in names) or min(args.epochs, args.reps, args.reps_batch) < 1:
        parser.print_usage(sys.stderr)
        sys.stderr.write("torch_bench: give --config NAME (see --list) and counts of at least 1\n")
        return 2
    blas = require_openblas()
    rss_start_kb = status_kb("VmRSS")
    start = time.perf_counter()
    data = load_mnist(args.data)
    if data is None:
        sys.stderr.write("torch_bench: MNIST not found in %s (the four train-/t10k- IDX files, optionally .gz);\n"
                         "             set MLP_MNIST or pass --data DIR. Skipping the benchmark.\n" % args.data)
        return EXIT_SKIPPED
    load_seconds = time.perf_counter() - start
    rss_loaded_kb = status_kb("VmRSS")
    for name in names:
        run(name, args, data, rss_start_kb, rss_loaded_kb, load_seconds, blas)
    return 0


if __name__ == "__main__":
    sys.exit(main())
