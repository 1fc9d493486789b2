#!/usr/bin/env python3
"""Tables of docs/distributed.md from the JSON lines of bench/mpi_bench.sh: the exchange times, the
1 rank x 2 threads against 2 ranks x 1 thread comparison, and the cost model (compute per step
measured here, communication per step at 10 and 100 Gbit/s).

    bench/mpi_report.py results.jsonl
"""
import json
import statistics
import sys


def median(values):
    return statistics.median(values) if values else float("nan")


def parameters(layers):
    sizes = [int(n) for n in layers.split("-")]
    return sum(sizes[i] * (sizes[i - 1] + 1) for i in range(1, len(sizes)))


def main(path):
    records = [json.loads(line) for line in open(path) if line.startswith("{")]
    exchange = [r for r in records if r["bench"] == "exchange"]
    train = [r for r in records if r["bench"] == "train"]

    print("| floats | MPI_Allreduce median (best) | fold in shard order median (best) | rounds |")
    print("| ---: | ---: | ---: | ---: |")
    for n in sorted({r["floats"] for r in exchange}):
        rs = [r for r in exchange if r["floats"] == n]
        print(f"| {n:,} | {median([r['allreduce_s_median'] for r in rs]) * 1e3:.1f} ms "
              f"({min(r['allreduce_s_best'] for r in rs) * 1e3:.1f}) | "
              f"{median([r['fold_s_median'] for r in rs]) * 1e3:.1f} ms ({min(r['fold_s_best'] for r in rs) * 1e3:.1f}) | {len(rs)} |")

    print()
    print("| run | samples/s, median of rounds | rounds | step median (best), ms | share of the step in the exchange |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for ranks, threads in ((1, 2), (2, 1)):
        rs = [r for r in train if r["layers"] == "784-1024-1024-10" and r["batch"] == 256 and r["ranks"] == ranks
              and r["threads"] == threads and r["steps"] != 30]
        if not rs:
            continue
        print(f"| {ranks} rank{'s' if ranks > 1 else ''} x {threads} thread{'s' if threads > 1 else ''} | {median([r['samples_per_s'] for r in rs]):,.0f} "
              f"| {len(rs)} | {median([r['step_s_median'] for r in rs]) * 1e3:.1f} ({min(r['step_s_best'] for r in rs) * 1e3:.1f}) "
              f"| {median([r['exchange_share_median'] for r in rs]) * 100:.0f}% |")

    # Communication per step: the fold sends the running sum down the chain and the total back,
    # 2 x 4P bytes over the slowest link, plus the latency of the pieces of the chain; at b bit/s:
    # 2 * 4P * 8 / b. Compute per step with N ranks: the one-rank step / N.
    print()
    print("| network, batch | parameters | compute per step, 1 rank x 1 thread (2 threads) | exchange at 10 Gbit/s | ranks where it dominates | at 100 Gbit/s | ranks |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for layers, batch in sorted({(r["layers"], r["batch"]) for r in train if r["steps"] == 30}, key=lambda lb: parameters(lb[0])):
        one = [r for r in train if r["steps"] == 30 and r["layers"] == layers and r["batch"] == batch and r["ranks"] == 1]
        t1 = median([r["step_s_median"] for r in one if r["threads"] == 1])
        t2 = median([r["step_s_median"] for r in one if r["threads"] == 2])
        P = parameters(layers)
        row = f"| {layers}, {batch} | {P:,} | {t1 * 1e3:.2f} ms ({t2 * 1e3:.2f}) |"
        for gbit in (10, 100):
            seconds = 2 * 4 * P * 8 / (gbit * 1e9)
            # compute / N < exchange from N = compute / exchange on; never below 2 ranks
            ranks = max(2, int(t1 / seconds) + 1)
            # A batch has ceil(batch / 64) shards: more ranks than that have nothing to compute.
            row += f" {seconds * 1e3:.3f} ms | {ranks} (shards: {-(-batch // 64)}) |"
        print(row)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/dev/stdin")
